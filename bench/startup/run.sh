#!/usr/bin/env bash
# bench/startup: what `molecule --version` costs to start, next to /bin/true (the cost of a
# process at all on this machine) in the same run: perf stat -r N (task-clock = CPU time,
# elapsed, page faults) and the shared objects the dynamic loader maps (LD_DEBUG=libs).
# BEFORE_BIN=<build dir or binary> adds that build's command to the same run (to compare two
# builds); BENCH_BIN=<build dir> measures that build instead of building build-bench (the
# default build: libuv, jansson, libyaml and mbedTLS linked from their static archives);
# SHARED=1 adds a build with -Dstatic_deps=false (build-bench-shared: those linked as shared
# libraries, as the Debian packages do; SHARED=<build dir> uses that one).
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
  before=$BEFORE_BIN
  [[ -d $before ]] && before=$before/src/cli/molecule
  names+=("molecule --version (before)"); cmds+=("$before --version")
fi
names+=("molecule --version"); cmds+=("$bin/src/cli/molecule --version")
if [[ -n ${SHARED:-} ]]; then
  shared=$SHARED
  if [[ ! -d $shared ]]; then
    shared=$BENCH_ROOT/build-bench-shared
    [[ -f $shared/build.ninja ]] ||
      meson setup "$shared" -Dbuildtype=release -Dtests=false -Dstatic_deps=false >/dev/null
  fi
  ninja -C "$shared" src/cli/molecule >"$BENCH_OUT/build-shared.log" 2>&1 ||
    { tail -30 "$BENCH_OUT/build-shared.log" >&2; exit 1; }
  names+=("molecule --version, -Dstatic_deps=false"); cmds+=("$shared/src/cli/molecule --version")
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

buildtype=$(python3 -c 'import json, sys
print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' \
  "$bin/meson-info/intro-buildoptions.json" 2>/dev/null || echo "?")
python3 - "$runs" "$rounds" "$per" "$dir/rounds" "$buildtype" "${rows[@]}" >"$dir/result.md" <<'PY'
import statistics, sys
runs, rounds, per = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
buildtype = sys.argv[5]
samples = {}
for line in open(sys.argv[4]):
    i, clock, faults, wall = line.strip().split('|')
    samples.setdefault(int(i), []).append((float(clock), float(faults), float(wall) * 1e3 / per))
rows = []
for i, r in enumerate(sys.argv[6:]):
    name, libs, ir = r.split('|')
    med = [statistics.median(s[k] for s in samples[i]) for k in range(3)]
    low = [min(s[k] for s in samples[i]) for k in range(3)]
    rows.append((name, med[0], low[0], '%d' % med[1], med[2], low[2], libs, ir))
cpu = [l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')]
load = open('/proc/loadavg').read().split()[0]
print('## Start-up: molecule --version\n')
print('Command: `bench/startup/run.sh %d` (`BEFORE_BIN=<older build>` adds a second binary to the same run,' % runs)
print('`SHARED=1` a `-Dstatic_deps=false` build). The commands take turns, %d rounds of %d runs each;' % (rounds, per))
print('each figure is the median of its rounds, and the lowest round next to it. perf stat: task-clock')
print('is the CPU time of one run; wall is %d runs back to back from a shell loop, divided (the' % per)
print('shell\'s fork and wait included); shared objects are those the dynamic loader initialised')
print('(LD_DEBUG=libs); instructions are those of one run under callgrind, the dynamic loader included.')
print('/bin/true is the cost of any process on this machine in the same run. Machine: %s, %d CPUs,' % (cpu[0] if cpu else '?', len(cpu)))
print('shared; load average at the end: %s. Build type: %s.\n' % (load, buildtype))
print('| command | CPU (task-clock), median / lowest | wall per run, median / lowest | page faults | shared objects | instructions |')
print('|---|---|---|---|---|---|')
base, base_low = rows[0][1], rows[0][2]
def thousands(ir):
    return '{:,}'.format(int(ir.replace(',', ''))) if ir.replace(',', '').isdigit() else ir
for name, clock, clock_low, faults, wall, wall_low, libs, ir in rows:
    print('| %s | %.2f / %.2f ms | %.2f / %.2f ms | %s | %s | %s |'
          % (name, clock, clock_low, wall, wall_low, faults, libs, thousands(ir)))
print()
def times(ir):
    a, b = ir.replace(',', ''), rows[0][7].replace(',', '')
    return ', %.1fx /bin/true\'s' % (int(a) / int(b)) if a.isdigit() and b.isdigit() else ''
for name, clock, clock_low, faults, wall, wall_low, libs, ir in rows[1:]:
    print('- **%s: %.2f ms of CPU, %+.2f ms against /bin/true** (lowest rounds: %.2f ms, %+.2f ms); %s shared objects, %s instructions%s.'
          % (name, clock, clock - base, clock_low, clock_low - base_low, libs, thousands(ir), times(ir)))
print('- Target: under 1.5 ms.')
if float(load) > 2:
    print('- The machine was loaded (load average above 2 on 2 CPUs): /bin/true itself took %.2f ms of' % base)
    print('  CPU, several times its cost on an idle machine, and every row is inflated alike; the')
    print('  differences to /bin/true, the instructions and the shared objects are the comparable figures.')
PY
cat "$dir/result.md"
if [[ -n ${BENCH_BIN:-} ]]; then cp "$dir/result.md" "$BENCH_OUT/startup.md"; else doc_update startup "$dir/result.md"; fi
