#!/usr/bin/env bash
# bench/tools/compare.sh: the coordinator's CPU per tool call and per turn of two builds in one
# run (before/after a change), the burst runs of bench/tools/run.sh only: the model answers at
# once, the turns start together, K = 0, 3, 6 tool calls per turn of TOOL (a2a_echo: a real A2A
# message/send to one of three echo workers; noop: the tool loop alone). Builds alternate
# inside every round (ABBA), fresh processes for every run, medians over the rounds.
# CPU per tool call = (K=6 - K=3) / 3 per turn, as in run.sh.
# Usage: bench/tools/compare.sh BASE_BUILD_DIR OURS_BUILD_DIR [turns=6000] [conc=1000] [rounds=5]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
base_bin=$1 ours_bin=$2 turns=${3:-6000} conc=${4:-1000} rounds=${5:-5}
tool=${TOOL:-a2a_echo}
warmup=1000 port=18130 coord_cpu=${COORD_CPU:-1} peer_cpu=${PEER_CPU:-0}
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap stop_all EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)"

run_one() { # bin tool k: prints the coordinator's CPU per turn (us)
  local bin=$1 workers=() out
  for i in 0 1 2; do
    taskset -c "$peer_cpu" "$bin/src/cli/molecule" serve --listen "127.0.0.1:$((port + 1 + i))" >/dev/null 2>&1 &
    pids+=($!)
    wait_port $((port + 1 + i))
    workers+=(--worker "w$i=http://127.0.0.1:$((port + 1 + i))/")
  done
  taskset -c "$peer_cpu" "$bin/bench/bench_tools_model" --listen "$port" --k "$3" --delay-ms 0 --tool "$2" &
  pids+=($!)
  wait_port "$port"
  out=$(taskset -c "$coord_cpu" "$bin/bench/bench_tools" --model "http://127.0.0.1:$port" "${workers[@]}" \
        --tool "$2" --k "$3" --turns "$turns" --concurrency "$conc" --warmup "$warmup" --ramp-ms 0) ||
    { echo "$out" >&2; echo "bench_tools failed: not every turn resolved" >&2; exit 1; }
  stop_all
  sed -n 's/.*[ ^]cpu_per_turn_us=\([^ ]*\).*/\1/p' <<<" $out"
}

declare -A cpu
load0=$(cut -d' ' -f1 /proc/loadavg)
for r in $(seq "$rounds"); do
  order="base ours"
  ((r % 2)) || order="ours base"
  for b in $order; do
    bin=$base_bin
    [[ $b == ours ]] && bin=$ours_bin
    for t in "$tool" noop; do
      for k in 0 3 6; do
        [[ $t == noop && $k == 0 ]] && continue
        v=$(run_one "$bin" "$t" "$k")
        cpu[$b.$t.$k]+="$v "
        echo "round $r $b $t K=$k: $v us per turn"
      done
    done
  done
done
load1=$(cut -d' ' -f1 /proc/loadavg)
python3 - "$tool" "$turns" "$conc" "$rounds" "$load0 / $load1" \
  "${cpu[base.$tool.0]}" "${cpu[base.$tool.3]}" "${cpu[base.$tool.6]}" "${cpu[base.noop.3]}" "${cpu[base.noop.6]}" \
  "${cpu[ours.$tool.0]}" "${cpu[ours.$tool.3]}" "${cpu[ours.$tool.6]}" "${cpu[ours.noop.3]}" "${cpu[ours.noop.6]}" <<'PY'
import statistics as st, sys
tool, turns, conc, rounds, load = sys.argv[1:6]
v = [[float(x) for x in s.split()] for s in sys.argv[6:]]
md = st.median
def view(b0, b3, b6, n3, n6):
    call = [(y - x) / 3 for x, y in zip(b3, b6)]
    loop = [(y - x) / 3 for x, y in zip(n3, n6)]
    return md(b0), md(b3), md(b6), md(call), md(loop), call
B, O = view(*v[0:5]), view(*v[5:10])
print('Command: `bench/tools/compare.sh BASE OURS %s %s %s` (TOOL=%s); load average %s at the start / end.' % (turns, conc, rounds, tool, load))
print()
print('| coordinator CPU, burst | before | after | after / before |')
print('|---|---|---|---|')
for i, name in enumerate(['per turn, K = 0', 'per turn, K = 3', 'per turn, K = 6',
                          'per tool call of `%s` ((K=6 - K=3) / 3)' % tool, 'per tool call of `noop` (the loop alone)']):
    print('| %s | %.1f us | %.1f us | %.2fx |' % (name, B[i], O[i], O[i] / B[i] if B[i] else 0))
print()
print('Per round, per tool call: before %s us; after %s us.' % (', '.join('%.1f' % x for x in B[5]), ', '.join('%.1f' % x for x in O[5])))
PY
