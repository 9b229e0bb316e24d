#!/usr/bin/env bash
# bench/plugin: `molecule plugin install` of a large plugin vs the plain tools line
#   curl -o f.tgz URL && sha256sum f.tgz && tar xzf f.tgz
# on the same tarball, served by the same nginx, in the same run (alternating rounds, medians).
# The tarball holds SIZE_MB of random (incompressible) bytes plus a plugin.yaml. molecule
# verifies the content hash against --sha256 and computes the archive's SHA-256 on the way, so
# it does at least the work of the tools line. Peak RSS comes from /usr/bin/time -v (GNU time);
# a smaller tarball is installed too, to show the RSS does not grow with the size.
# Usage: bench/plugin/run.sh [size_mb=200] [rounds=3]
# (MOL=<path of a molecule binary> skips the release build and uses that binary.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
size=${1:-200} rounds=${2:-3} port=18091
if [[ -z ${MOL:-} ]]; then
  bench_build
  MOL=$BENCH_ROOT/build-bench/src/cli/molecule
else
  MOL_NOTE=${MOL_NOTE:-$MOL}
fi
need=()
command -v curl >/dev/null || need+=(curl)
[[ -x /usr/bin/time ]] || need+=(time)
if [[ ${#need[@]} -gt 0 ]]; then
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mol=$MOL

dir=$(mktemp -d)
chmod 755 "$dir" # nginx's worker runs as an unprivileged user
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

make_tarball() { # mb out.tgz -> prints the content hash
  rm -rf "$dir/src" && mkdir "$dir/src"
  echo "name: big" >"$dir/src/plugin.yaml"
  head -c "${1}M" /dev/urandom >"$dir/src/data.bin"
  tar -C "$dir/src" -cf - . | gzip -1 >"$2"
  chmod 644 "$2"
  "$mol" plugin hash "$dir/src" | awk '{print $3}'
  rm -rf "$dir/src"
}

hash_small=$(make_tarball 20 "$dir/small.tgz")
hash_big=$(make_tarball "$size" "$dir/big.tgz")
bytes=$(stat -c %s "$dir/big.tgz")

sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|" -e "s|@FILE@|$dir/big.tgz|" "$here/nginx.conf.in" >"$dir/nginx.conf"
sed -e "s|@DIR@|$dir/s|g" -e "s|@PORT@|$((port + 1))|" -e "s|@FILE@|$dir/small.tgz|" "$here/nginx.conf.in" >"$dir/nginx-small.conf"
mkdir -p "$dir/s"
nginx -c "$dir/nginx.conf" -p "$dir" & pids+=($!)
nginx -c "$dir/nginx-small.conf" -p "$dir/s" & pids+=($!)
wait_port "$port"; wait_port $((port + 1))
url=http://127.0.0.1:$port/workspaces/ws/plugins/big/download

# Prints "<wall s> <peak rss KiB>" for a command run under GNU time.
timed() {
  /usr/bin/time -f '%e %M' -o "$dir/time.out" "$@" >/dev/null 2>"$dir/cmd.err" ||
    { cat "$dir/cmd.err" >&2; return 1; }
  cat "$dir/time.out"
}

install_args() { # plugins_dir port hash
  echo plugin install big --platform-url "http://127.0.0.1:$2" --workspace-id ws \
    --plugins-dir "$1" --sha256 "$3" --no-report --no-setup --quiet
}

tools=() molw=() molrss=() toolsrss=()
for r in $(seq "$rounds"); do
  rm -rf "$dir/ref" "$dir/plugins"; mkdir "$dir/ref"; sync
  read -r t m < <(cd "$dir/ref" && timed bash -c "curl -sf -o f.tgz '$url' && sha256sum f.tgz && tar xzf f.tgz")
  tools+=("$t"); toolsrss+=("$m")
  rm -rf "$dir/ref"; sync
  read -r t m < <(timed "$mol" $(install_args "$dir/plugins" "$port" "$hash_big"))
  molw+=("$t"); molrss+=("$m")
  echo "round $r: tools ${tools[-1]} s, molecule ${molw[-1]} s (peak RSS ${molrss[-1]} KiB)"
done
rm -rf "$dir/plugins"
read -r _ small_rss < <(timed "$mol" $(install_args "$dir/plugins" $((port + 1)) "$hash_small"))
echo "20 MB tarball: peak RSS $small_rss KiB"

python3 - "${tools[*]}" "${molw[*]}" "${molrss[*]}" "${toolsrss[*]}" "$small_rss" "$size" "$bytes" \
  "$rounds" "${MOL_NOTE:-release build of molecule}" >"$dir/result.md" <<'PY'
import statistics as st, sys, subprocess
f = lambda s: [float(x) for x in s.split()]
tools, mol, rss, trss = map(f, sys.argv[1:5])
small_rss, size, nbytes, rounds = float(sys.argv[5]), sys.argv[6], int(sys.argv[7]), sys.argv[8]
binary = sys.argv[9]
R = st.median(mol) / st.median(tools)
peak = max(rss + [small_rss]) / 1024
cpu = subprocess.run(['sh', '-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
ncpu = subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()
print('## Plugin install: molecule vs curl + sha256sum + tar\n')
print('Command: `bench/plugin/run.sh %s %s`. A %s MB plugin of random bytes (tar.gz: %.1f MB),'
      % (size, rounds, size, nbytes / 1e6))
print('served by nginx (sendfile) on loopback to both clients; %s alternating rounds, medians.' % rounds)
print('molecule streams the body through a pipe into libarchive on a worker thread (which tees it')
print('into a temporary file), hashing the stream and every extracted file on the way, then')
print('verifies the content hash and swaps the plugin in atomically. Machine: %s, %s CPUs;' % (cpu, ncpu))
print('load average at the end: %s. Binary: %s.\n' % (open('/proc/loadavg').read().split()[0], binary))
print('| client | wall time (median) | peak RSS |')
print('|---|---|---|')
print('| `curl -o f.tgz URL && sha256sum f.tgz && tar xzf f.tgz` | %.2f s | %.1f MiB (largest process) |'
      % (st.median(tools), max(trss) / 1024))
print('| `molecule plugin install` (%s MB) | %.2f s | %.1f MiB |' % (size, st.median(mol), max(rss) / 1024))
print('| `molecule plugin install` (20 MB) | | %.1f MiB |' % (small_rss / 1024))
print('\n**Wall-time ratio molecule/tools: %.2fx** (target <= 0.8x: %s). ' % (R, 'met' if R <= 0.8 else 'NOT met'))
print('**Peak RSS: %.1f MiB** (target <= 16 MiB whatever the size: %s).' % (peak, 'met' if peak <= 16 else 'NOT met'))
print('\nPer round (s): tools %s; molecule %s.' % (', '.join('%.2f' % x for x in tools), ', '.join('%.2f' % x for x in mol)))
PY
cat "$dir/result.md"
doc_update plugin "$dir/result.md"
