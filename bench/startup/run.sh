#!/usr/bin/env bash
# bench/startup: what `molecule --version` costs to start, next to /bin/true (the cost of a
# process at all on this machine) in the same run: perf stat -r N (task-clock = CPU time,
# elapsed, page faults) and the shared objects the dynamic loader maps (LD_DEBUG=libs).
# BEFORE_BIN=<build dir> adds that build's binary to the same run (to compare two builds);
# BENCH_BIN=<build dir> measures that build instead of building build-bench; STATIC=1 adds a
# build with -Dstatic_deps=true (build-bench-static: libuv, jansson, libyaml, mbedTLS linked
# from their static archives).
# Usage: bench/startup/run.sh [runs=200]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
runs=${1:-200}
if [[ -n ${BENCH_BIN:-} ]]; then
  bin=$BENCH_BIN
else
  bench_build src/cli/molecule
  bin=$BENCH_ROOT/build-bench
fi
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

declare -a names cmds
names+=("/bin/true"); cmds+=("/bin/true")
if [[ -n ${BEFORE_BIN:-} ]]; then
  names+=("molecule --version (before)"); cmds+=("$BEFORE_BIN/src/cli/molecule --version")
fi
names+=("molecule --version"); cmds+=("$bin/src/cli/molecule --version")
if [[ -n ${STATIC:-} ]]; then
  static=$BENCH_ROOT/build-bench-static
  [[ -f $static/build.ninja ]] ||
    meson setup "$static" -Dbuildtype=release -Dtests=false -Dstatic_deps=true >/dev/null
  ninja -C "$static" src/cli/molecule >"$BENCH_OUT/build-static.log" 2>&1 ||
    { tail -30 "$BENCH_OUT/build-static.log" >&2; exit 1; }
  names+=("molecule --version, -Dstatic_deps=true"); cmds+=("$static/src/cli/molecule --version")
fi

# The commands take turns, ROUNDS times runs/ROUNDS runs each, and every figure is the median of
# its rounds: on a shared machine the load moves between one command's runs and the next's.
rounds=${ROUNDS:-5}
per=$(((runs + rounds - 1) / rounds))
for _ in $(seq "$rounds"); do
  for i in "${!cmds[@]}"; do
    # shellcheck disable=SC2086
    perf stat -x, -r "$per" -e task-clock,page-faults ${cmds[$i]} >/dev/null 2>"$dir/stat"
    # shellcheck disable=SC2086
    { /usr/bin/time -f '%e' bash -c "for _ in \$(seq $per); do ${cmds[$i]} >/dev/null; done"; } 2>"$dir/wall"
    echo "$i|$(awk -F, '$3 == "task-clock" {print $1} $3 == "page-faults" {print $1}' "$dir/stat" | paste -sd'|')|$(tail -1 "$dir/wall")" >>"$dir/rounds"
  done
done

rows=()
for i in "${!cmds[@]}"; do
  libs=1
  [[ ${cmds[$i]} == /bin/true ]] || \
    libs=$(LD_DEBUG=libs ${cmds[$i]} 2>&1 >/dev/null | grep -c 'calling init' || true)
  # Instructions, dynamic loader included: steady under load, where the times are not.
  ir=n/a
  if command -v valgrind >/dev/null; then
    # shellcheck disable=SC2086
    ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null ${cmds[$i]} 2>&1 >/dev/null |
           sed -n 's/.*Collected : //p')
  fi
  rows+=("${names[$i]}|$libs|$ir")
  echo "${rows[-1]}"
done

python3 - "$runs" "$rounds" "$per" "$dir/rounds" "${rows[@]}" >"$dir/result.md" <<'PY'
import statistics, sys
runs, rounds, per = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
samples = {}
for line in open(sys.argv[4]):
    i, clock, faults, wall = line.strip().split('|')
    samples.setdefault(int(i), []).append((float(clock), float(faults), float(wall)))
rows = []
for i, r in enumerate(sys.argv[5:]):
    name, libs, ir = r.split('|')
    med = [statistics.median(s[k] for s in samples[i]) for k in range(3)]
    rows.append((name, med[0], '%d' % med[1], med[2], libs, ir))
cpu = [l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')]
load = open('/proc/loadavg').read().split()[0]
print('## Start-up: molecule --version\n')
print('Command: `bench/startup/run.sh %d` (`BEFORE_BIN=<older build>` adds a second binary to the same run,' % runs)
print('`STATIC=1` a `-Dstatic_deps=true` build). The commands take turns, %d rounds of %d runs each,' % (rounds, per))
print('and each figure is the median of its rounds. perf stat: task-clock is the CPU time of one run;')
print('wall is %d runs back to back from a shell loop, divided; shared objects are those the dynamic' % per)
print('loader initialised (LD_DEBUG=libs);')
print('instructions are those of one run under callgrind, the dynamic loader included.')
print('/bin/true is the cost of any process on this machine in the same run. Machine: %s, %d CPUs,' % (cpu[0] if cpu else '?', len(cpu)))
print('shared; load average at the end: %s. Release build.\n' % load)
print('| command | CPU (task-clock) | wall per run | page faults | shared objects | instructions |')
print('|---|---|---|---|---|---|')
base = rows[0][1]
def thousands(ir):
    return '{:,}'.format(int(ir.replace(',', ''))) if ir.replace(',', '').isdigit() else ir
for name, clock, faults, wall, libs, ir in rows:
    print('| %s | %.2f ms | %.2f ms | %s | %s | %s |'
          % (name, clock, wall * 1e3 / per, faults, libs, thousands(ir)))
print()
def times(ir):
    a, b = ir.replace(',', ''), rows[0][5].replace(',', '')
    return ', %.1fx /bin/true\'s' % (int(a) / int(b)) if a.isdigit() and b.isdigit() else ''
for name, clock, faults, wall, libs, ir in rows[1:]:
    print('- **%s: %.2f ms of CPU, %+.2f ms against /bin/true**; %s shared objects, %s instructions%s.'
          % (name, clock, clock - base, libs, thousands(ir), times(ir)))
print('- Target: under 1.5 ms.')
if float(load) > 2:
    print('- The machine was loaded (load average above 2 on 2 CPUs): /bin/true itself took %.2f ms of' % base)
    print('  CPU, several times its cost on an idle machine, and every row is inflated alike; the')
    print('  differences to /bin/true, the instructions and the shared objects are the comparable figures.')
PY
cat "$dir/result.md"
if [[ -n ${BENCH_BIN:-} ]]; then cp "$dir/result.md" "$BENCH_OUT/startup.md"; else doc_update startup "$dir/result.md"; fi
