#!/usr/bin/env bash
# bench/a2a/moonshot.sh: message/send answered by `molecule serve --executor echo` against nginx
# returning a fixed JSON-RPC reply, per request, in one session:
#   1. user-space instructions (valgrind --tool=callgrind, counters zeroed after a warm-up, one
#      wrk run, dumped): this machine's VM exposes no hardware counters, so perf stat cannot
#      count instructions; callgrind counts exactly what runs in user space;
#   2. system calls (strace -c on the running server);
#   3. CPU, user and system apart (/proc/PID/stat), and req/s, in alternating wrk rounds.
# Requests are counted on the server's side: each answer is one write(2) (molecule) or one
# writev(2) (nginx), so the requests still in flight when wrk stops are counted too.
# nginx runs as one process (master_process off) so that callgrind and strace see the worker.
# BASE=<molecule binary> adds an earlier build to every part, in the same rounds.
# The table replaces the a2a-moonshot block of docs/benchmarks.md; the per-function profiles
# stay in bench/out/moonshot-cg-*.txt.
# PORT_BASE=<port> moves the three servers' ports (default 18190, 18191, 18192).
# Usage: bench/a2a/moonshot.sh [duration_s=5] [rounds=3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
duration=${1:-5} rounds=${2:-3} conns=50
bench_build src/cli/molecule
mol=$BENCH_ROOT/build-bench/src/cli/molecule
base=${BASE:-}
pb=${PORT_BASE:-18190}

reply='{"jsonrpc":"2.0","id":"7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b","result":{"kind":"message","messageId":"a1b2c3d4-e5f6-4789-9abc-def012345678","role":"agent","parts":[{"kind":"text","text":"echo: Summarise the quarterly report and list the three biggest risks."}],"contextId":"c"}}'
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$pb|" -e "s|@BODY@|$reply|" "$here/../http/nginx.conf.in" |
  sed 's/^daemon off;/daemon off;\nmaster_process off;/' >"$dir/nginx.conf"

servers=(nginx molecule)
[[ -n $base ]] && servers+=(base)
declare -A port=([nginx]=$pb [molecule]=$((pb + 1)) [base]=$((pb + 2)))
start() { # name [wrapper...]: starts the server on CPU 0, prints its pid
  local name=$1
  shift
  case $name in
    nginx) taskset -c 0 "$@" nginx -c "$dir/nginx.conf" -p "$dir" >/dev/null 2>&1 & ;;
    molecule) taskset -c 0 "$@" "$mol" serve --listen "127.0.0.1:${port[$name]}" >/dev/null 2>&1 & ;;
    base) taskset -c 0 "$@" "$base" serve --listen "127.0.0.1:${port[$name]}" >/dev/null 2>&1 & ;;
  esac
  echo $!
}
load() { # name seconds: wrk from CPU 1; prints req/s
  taskset -c 1 wrk -t1 -c"$conns" -d"$2"s -s "$here/send.lua" "http://127.0.0.1:${port[$1]}/" |
    awk '/Requests\/sec/ {print $2}'
}
answers_fn() { [[ $1 == nginx ]] && echo writev || echo write; }

# 1. instructions per request under callgrind
declare -A ir
for s in "${servers[@]}"; do
  p=$(start "$s" valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$s")
  pids+=("$p")
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/${port[$s]}") 2>/dev/null && break; sleep 0.1; done
  load "$s" 1 >/dev/null
  callgrind_control -z "$p" >/dev/null
  load "$s" "$duration" >/dev/null
  sleep 0.5
  callgrind_control -d run "$p" >/dev/null
  kill "$p"; wait "$p" 2>/dev/null || true
  f=$(ls "$dir"/cg."$s".* | grep -v "cg.$s$" | head -1)
  total=$(awk '/^summary:/ {print $2}' "$f")
  fn=$(answers_fn "$s")
  n=$(callgrind_annotate --tree=caller --threshold=100 "$f" 2>/dev/null | python3 -c '
import re, sys
fn = sys.argv[1]
for block in re.split(r"\n\s*\n", sys.stdin.read()):  # callers ("<"), then the function ("*")
    lines = block.strip().splitlines()
    if any(re.search(r"\*  \S*/%s\.c:%s " % (fn, fn), l) for l in lines):
        print(sum(int(m.group(1).replace(",", "")) for l in lines
                  for m in [re.search(r"< .*\(([\d,]+)x\)", l)] if m))
        break' "$fn")
  ir[$s]=$((total / n))
  callgrind_annotate --threshold=100 "$f" 2>/dev/null >"$BENCH_OUT/moonshot-cg-$s.txt"
  echo "$s: $total instructions, $n answers: ${ir[$s]} per request"
done

# 2. and 3. on the servers themselves
declare -A pid
for s in "${servers[@]}"; do
  pid[$s]=$(start "$s")
  pids+=("${pid[$s]}")
done
for s in "${servers[@]}"; do wait_port "${port[$s]}"; done
declare -A sys
for s in "${servers[@]}"; do
  strace -c -f -p "${pid[$s]}" -o "$dir/st.$s" 2>/dev/null &
  sp=$!
  sleep 0.5
  load "$s" 3 >/dev/null
  kill -INT "$sp"; wait "$sp" 2>/dev/null || true
  sys[$s]=$(python3 - "$dir/st.$s" "$(answers_fn "$s")" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 5 and f[-1] != 'total' and f[0][0].isdigit() and f[3].isdigit():
        rows[f[-1]] = int(f[3])
n = rows[sys.argv[2]]
print(' '.join('%s=%.3f' % (k, v / n) for k, v in sorted(rows.items(), key=lambda kv: -kv[1]) if v / n >= 0.005))
PY
)
  echo "$s syscalls per request: ${sys[$s]}"
done

tck=$(getconf CLK_TCK)
declare -A rps usr krn
for r in $(seq "$rounds"); do
  order=("${servers[@]}")
  ((r % 2)) || order=($(printf '%s\n' "${servers[@]}" | tac))
  for s in "${order[@]}"; do
    read -r u0 k0 < <(awk '{print $14, $15}' "/proc/${pid[$s]}/stat")
    a=$(load "$s" "$duration")
    read -r u1 k1 < <(awk '{print $14, $15}' "/proc/${pid[$s]}/stat")
    rps[$s]+="$a "
    usr[$s]+="$(python3 -c "print('%.3f' % (($u1 - $u0) * 1e6 / $tck / ($a * $duration)))") "
    krn[$s]+="$(python3 -c "print('%.3f' % (($k1 - $k0) * 1e6 / $tck / ($a * $duration)))") "
    echo "round $r $s: $a req/s"
  done
done

args=()
for s in "${servers[@]}"; do args+=("$s" "${ir[$s]}" "${sys[$s]}" "${rps[$s]}" "${usr[$s]}" "${krn[$s]}"); done
python3 - "$duration" "$rounds" "${args[@]}" >"$dir/result.md" <<'PY'
import statistics as st, sys
dur, rounds = sys.argv[1:3]
a = sys.argv[3:]
rows = {a[i]: a[i + 1:i + 6] for i in range(0, len(a), 6)}
med = lambda s: st.median([float(x) for x in s.split()])
names = {'nginx': 'nginx, fixed reply', 'molecule': 'molecule serve --executor echo',
         'base': 'molecule, before (BASE)'}
print('Command: `%sbench/a2a/moonshot.sh %s %s` (wrk -t1 -c50, send.lua; servers on CPU 0, wrk on'
      % ('BASE=<earlier molecule> ' if 'base' in rows else '', dur, rounds))
print('CPU 1; instructions: callgrind over one %s s run after a 1 s warm-up; system calls: strace -c'
      % dur)
print('over 3 s; CPU: /proc/PID/stat over %s alternating rounds of %s s, medians).\n' % (rounds, dur))
print('| server | user instructions / request | system calls / request | req/s | user CPU / request | system CPU / request |')
print('|---|---|---|---|---|---|')
for k, (ir, sc, rps, usr, krn) in rows.items():
    print('| %s | %s | %s | %.0f | %.2f us | %.2f us |' % (names[k], '{:,}'.format(int(ir)),
          ', '.join(x.replace('=', ' ') for x in sc.split()), med(rps), med(usr), med(krn)))
n, m = rows['nginx'], rows['molecule']
cpu = lambda r: med(r[3]) + med(r[4])
print()
print('- **molecule / nginx: %.2fx req/s**, CPU per request %.2fx (user %.2fx, system %.2fx); user'
      % (med(m[2]) / med(n[2]), cpu(m) / cpu(n), med(m[3]) / med(n[3]), med(m[4]) / med(n[4])))
print('  instructions per request %.2fx.' % (float(m[0]) / float(n[0])))
if 'base' in rows:
    b = rows['base']
    print('- molecule now / before: user instructions per request %.2fx, CPU per request %.2fx, req/s %.2fx.'
          % (float(m[0]) / float(b[0]), cpu(m) / cpu(b), med(m[2]) / med(b[2])))
print('- Per round req/s: %s.' % '; '.join('%s %s' % (k, ', '.join('%.0f' % float(x) for x in r[2].split()))
                                          for k, r in rows.items()))
PY
cat "$dir/result.md"
doc_update a2a-moonshot "$dir/result.md"
