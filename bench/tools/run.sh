#!/usr/bin/env bash
# bench/tools: a coordinator agent with the tool loop (bench/bench_tools.c: the chat executor
# and a tool registry on one loop, turns started on an A2A task store) against a scripted model
# (bench/bench_tools_model.c) that fans each turn out to K tool calls, each a real A2A
# message/send to one of three echo workers (`molecule serve --executor echo`) over loopback.
# The model, the workers and the coordinator are processes of their own, all pinned to CPU 1
# (on this virtual machine a hop to a process waiting on an idle CPU costs a wake-up of that
# CPU, milliseconds, which is the host's and not ours); CPU is read per process (getrusage),
# so the coordinator's numbers are its own.
#
# Per round, each run with a fresh set of processes:
#   steady K=3, K=6, K=0  the model answers after DELAY ms (it "thinks"), so CONC turns stay in
#                         flight while the tool steps happen at a rate the loop can serve:
#                         latency, CPU per turn (K=6 minus K=3 = three more tool calls), RSS
#   noop K=3, K=6         the same with a tool that answers at once: the tool loop's own CPU
#                         per call, without the A2A round trip
#   burst K=3             the model answers at once: turns/s with CONC in flight.
# Added latency of a tool step = what the model sees between handing over its tool-call reply
# and receiving the request with the results (the K calls run concurrently, so this is what each
# call adds to the turn, the A2A round trip to the worker included). Medians over the rounds.
# Usage: bench/tools/run.sh [turns=10000] [concurrency=1000] [rounds=3] [delay_ms=500]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
turns=${1:-10000} conc=${2:-1000} rounds=${3:-3} delay=${4:-500}
# The tool each fan-out call goes to. a2a_echo: a message/send to the worker named by
# workspace_id. The built-in delegate_to_workspace, once registered in bench_tools.c's tool table:
tool=${TOOL:-a2a_echo}
warmup=1000 port=18130 cpu=1
bench_build bench/bench_tools bench/bench_tools_model src/cli/molecule
bin=$BENCH_ROOT/build-bench
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" # every in-flight turn may hold a model and a worker connection

workers=()
start_workers() {
  workers=()
  for i in 0 1 2; do
    local p=$((port + 1 + i))
    taskset -c "$cpu" "$bin/src/cli/molecule" serve --listen "127.0.0.1:$p" >/dev/null 2>&1 & pids+=($!)
    wait_port "$p"
    workers+=(--worker "w$i=http://127.0.0.1:$p/")
  done
}
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }

# One coordinator run against a fresh model (k, delay) and fresh workers; prints its line.
run_one() { # tool k delay probe_ms
  start_workers
  taskset -c "$cpu" "$bin/bench/bench_tools_model" --listen "$port" --k "$2" --delay-ms "$3" --tool "$1" & pids+=($!)
  wait_port "$port"
  local out
  out=$(taskset -c "$cpu" "$bin/bench/bench_tools" --model "http://127.0.0.1:$port" "${workers[@]}" \
        --tool "$1" --k "$2" --turns "$turns" --concurrency "$conc" --warmup "$warmup" \
        --probe-ms "$4") || { echo "$out" >&2; stop_all; echo "bench_tools failed: not every turn resolved" >&2; exit 1; }
  stop_all
  echo "$out"
}

declare -A m
add() { m[$1]+="$2 "; }
kv() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2"; }
keys="throughput call_p50_us call_p99_us step_p50_us step_p99_us step_max_us cpu_per_turn_us rss_per_turn_b heap_per_turn_b"
for r in $(seq "$rounds"); do
  for cfg in steady3 steady6 steady0 noop3 noop6 burst3; do
    k=${cfg: -1} d=$delay probe=$((delay / 2)) t=$tool
    [[ $cfg == burst* ]] && d=0 probe=0
    [[ $cfg == noop* ]] && t=noop
    line=$(run_one "$t" "$k" "$d" "$probe")
    echo "round $r $cfg: $line"
    for key in $keys; do add "$cfg.$key" "$(kv "$key" "$line")"; done
  done
done

args=()
for cfg in steady3 steady6 steady0 noop3 noop6 burst3; do for key in $keys; do args+=("${m[$cfg.$key]}"); done; done
python3 - "$turns" "$conc" "$rounds" "$delay" "$tool" "$warmup" "${args[@]}" >"$dir/result.md" <<'PY'
import statistics as st, sys, subprocess
turns, conc, rounds, delay, tool, warmup = sys.argv[1:7]
keys = ['tput', 'c50', 'c99', 's50', 's99', 'smax', 'cpu', 'rss', 'heap']
vals = [[float(x) for x in s.split()] for s in sys.argv[7:]]
cfg = {}
for i, name in enumerate(['s3', 's6', 's0', 'n3', 'n6', 'b3']):
    cfg[name] = dict(zip(keys, vals[i * 9:(i + 1) * 9]))
md = st.median
S3, S6, S0, N3, N6, B3 = cfg['s3'], cfg['s6'], cfg['s0'], cfg['n3'], cfg['n6'], cfg['b3']
per_call = [(b - a) / 3 for a, b in zip(S3['cpu'], S6['cpu'])]
per_call_loop = [(b - a) / 3 for a, b in zip(N3['cpu'], N6['cpu'])]
per_call_all = [(b - a) / 3 for a, b in zip(S0['cpu'], S3['cpu'])]
cpuname = subprocess.run(['sh', '-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
ok = lambda c: 'met' if c else '**NOT met**'
n = '{:,}'.format
print('## Tools: %s concurrent turns, each fanning out to 3 tool calls\n' % n(int(conc)))
print('Command: `bench/tools/run.sh %s %s %s %s` (bench/bench_tools.c, bench/bench_tools_model.c), tool `%s`.' % (turns, conc, rounds, delay, tool))
print('A coordinator (the chat executor with a tool registry on one loop) runs %s turns, %s in' % (n(int(turns)), n(int(conc))))
print('flight at any time, against a scripted model process that answers each turn\'s first request')
print('with K tool calls and the request bringing their results with an answer naming every result;')
print('each call of `%s` is a real A2A message/send to one of three echo workers (`molecule serve`)' % tool)
print('over loopback through the A2A client (`noop`: a tool that answers at once, for the loop\'s own')
print('cost). Coordinator, model and workers are separate processes pinned to one CPU (on this')
print('virtual machine a hop to a process waiting on an idle CPU costs that CPU\'s wake-up, which is')
print('the host\'s latency, not ours); CPU is read per process. **steady**: the model answers after')
print('%s ms, so %s turns wait on it while the tool steps run; **burst**: it answers at once.' % (delay, n(int(conc))))
print('The first %s turns warm the pools and are not counted; %s rounds, fresh processes for every' % (n(int(warmup)), rounds))
print('run, medians. Every turn of every run resolved with every tool result (the program exits')
print('non-zero otherwise). Machine: %s, 2 CPUs, shared with other work.\n' % cpuname)
print('| measure | steady | burst | target |')
print('|---|---|---|---|')
print('| turns resolved | all | all | all |')
print('| turns per second | %.0f (the model\'s pace) | **%.0f** | |' % (md(S3['tput']), md(B3['tput'])))
print('| added latency of a tool step (3 calls at once, as the model sees it), p50 | %.2f ms | %.0f ms | |' % (md(S3['s50']) / 1e3, md(B3['s50']) / 1e3))
print('| added latency of a tool step, **p99** | **%.2f ms** | %.0f ms | <= 5 ms: %s (steady) |' % (md(S3['s99']) / 1e3, md(B3['s99']) / 1e3, ok(md(S3['s99']) <= 5000)))
print('| the same with the noop tool, p50 / p99 | %.2f / %.2f ms | | |' % (md(N3['s50']) / 1e3, md(N3['s99']) / 1e3))
print('| one tool call (the A2A round trip to the worker), p50 / p99 | %.2f / %.2f ms | %.0f / %.0f ms | |' % (
    md(S3['c50']) / 1e3, md(S3['c99']) / 1e3, md(B3['c50']) / 1e3, md(B3['c99']) / 1e3))
print('| coordinator CPU per turn, K = 0 / 3 / 6 | %.0f / %.0f / %.0f us | | |' % (md(S0['cpu']), md(S3['cpu']), md(S6['cpu'])))
print('| **coordinator CPU per tool call**, the tool loop alone (noop, (K=6 - K=3) / 3) | **%.1f us** | | <= 30 us: %s |' % (md(per_call_loop), ok(md(per_call_loop) <= 30)))
print('| **coordinator CPU per tool call**, with its A2A call ((K=6 - K=3) / 3) | **%.1f us** | | <= 30 us: %s |' % (md(per_call), ok(md(per_call) <= 30)))
print('| the same with its share of the extra model round ((K=3 - K=0) / 3) | %.1f us | | |' % md(per_call_all))
print('| RSS per in-flight turn (heap in use) | %.2f KB (%.2f KB) | | |' % (md(S3['rss']) / 1024, md(S3['heap']) / 1024))
print()
print('Per round: steady step p99 %s ms; CPU per tool call %s us (loop alone %s us); burst %s turns/s.' % (
    ', '.join('%.2f' % (x / 1e3) for x in S3['s99']), ', '.join('%.1f' % x for x in per_call),
    ', '.join('%.1f' % x for x in per_call_loop), ', '.join('%.0f' % x for x in B3['tput'])))
PY
cat "$dir/result.md"
doc_update tools "$dir/result.md"
