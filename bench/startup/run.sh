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

rows=()
for i in "${!cmds[@]}"; do
  # shellcheck disable=SC2086
  perf stat -x, -r "$runs" -e task-clock,page-faults ${cmds[$i]} >/dev/null 2>"$dir/stat"
  # shellcheck disable=SC2086
  { /usr/bin/time -f '%e' bash -c "for _ in \$(seq $runs); do ${cmds[$i]} >/dev/null; done"; } 2>"$dir/wall"
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
  rows+=("${names[$i]}|$(awk -F, '$3 == "task-clock" {print $1} $3 == "page-faults" {print $1}' "$dir/stat" | paste -sd'|')|$(tail -1 "$dir/wall")|$libs|$ir")
  echo "${rows[-1]}"
done

python3 - "$runs" "${rows[@]}" >"$dir/result.md" <<'PY'
import sys
runs = int(sys.argv[1])
rows = [r.split('|') for r in sys.argv[2:]]
cpu = [l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')]
load = open('/proc/loadavg').read().split()[0]
print('## Start-up: molecule --version\n')
print('Command: `bench/startup/run.sh %d` (`BEFORE_BIN=<older build>` adds a second binary to the same run).' % runs)
print('perf stat -r %d: task-clock is the CPU time of one run; wall is %d runs back to back from a' % (runs, runs))
print('shell loop, divided; shared objects are those the dynamic loader initialised (LD_DEBUG=libs);')
print('instructions are those of one run under callgrind, the dynamic loader included.')
print('/bin/true is the cost of any process on this machine in the same run. Machine: %s, %d CPUs,' % (cpu[0] if cpu else '?', len(cpu)))
print('shared; load average at the end: %s. Release build.\n' % load)
print('| command | CPU (task-clock) | wall per run | page faults | shared objects | instructions |')
print('|---|---|---|---|---|---|')
base = float(rows[0][1])
def thousands(ir):
    return '{:,}'.format(int(ir.replace(',', ''))) if ir.replace(',', '').isdigit() else ir
for name, clock, faults, wall, libs, ir in rows:
    print('| %s | %.2f ms | %.2f ms | %s | %s | %s |'
          % (name, float(clock), float(wall) * 1e3 / runs, faults, libs, thousands(ir)))
print()
for name, clock, faults, wall, libs, ir in rows[1:]:
    print('- **%s: %.2f ms of CPU, %.2f ms more than /bin/true** (%s shared objects, %s instructions).'
          % (name, float(clock), float(clock) - base, libs, thousands(ir)))
print('- Target: under 1.5 ms.')
if float(load) > 2:
    print('- The machine was loaded (load average above 2 on 2 CPUs): /bin/true itself took %.2f ms of' % base)
    print('  CPU, several times its cost on an idle machine, and every row is inflated alike; the')
    print('  difference to /bin/true and the shared objects are the comparable figures.')
PY
cat "$dir/result.md"
if [[ -n ${BENCH_BIN:-} ]]; then cp "$dir/result.md" "$BENCH_OUT/startup.md"; else doc_update startup "$dir/result.md"; fi
