#!/usr/bin/env bash
# bench/tools: a coordinator agent with the tool loop (bench/bench_tools.c: the chat executor
# and a tool registry on one loop, turns started on an A2A task store) against a scripted model
# (bench/bench_tools_model.c) that fans each turn out to K tool calls, each a real A2A
# message/send to one of three echo workers (`molecule serve --executor echo`) over loopback.
# The coordinator runs on CPU 1, the model, the workers (and the platform) on CPU 0
# (COORD_CPU, PEER_CPU), each a process of its own; CPU is read per process, so the
# coordinator's numbers are its own.
#
# The tool (TOOL, one line below):
#   a2a_echo      message/send straight to the worker, through the A2A client
#   a2a_platform  the same through `molecule platform --dev`'s A2A proxy, as the coordinator
#                 workspace (the platform is started and the workspaces created for it)
#   delegate_to_workspace  the built-in tool (with the rest of the core set): it POSTs the
#                 delegation to the platform, which sends the task to the worker itself
#   any other     a tool of bench_tools.c's table that runs against the platform
#
# Per round, each run with fresh processes:
#   steady K=3        the model answers after DELAY ms +/- 25 % (it "thinks", 2 s by default,
#                     as a real model does) and the counted turns start evenly over 2 x DELAY,
#                     so CONC independent turns stay in flight: the latency a tool step adds,
#                     one call's round trip, RSS per in-flight turn
#   burst K=0, 3, 6   the model answers at once and the turns start together, the loop busy:
#                     turns/s, and CPU per tool call = (K=6 - K=3) / 3 per turn
#   noop              steady K=3 and burst K=3, 6 with a tool that answers at once: the tool
#                     loop's own latency and CPU, without the A2A round trip
# ISOLATE=1 runs the steady runs' processes under SCHED_FIFO (chrt -f 10), so that the
# latency measured is ours and not the wait behind other work on this shared machine (the
# steady runs use a fraction of a CPU; burst runs never run that way).
# Added latency of a tool step = what the model sees between handing over its tool-call reply
# and receiving the request with the results (the K calls run concurrently, so this is what the
# calls add to the turn, the A2A round trips included). Medians over the rounds.
# Usage: bench/tools/run.sh [turns=6000] [concurrency=1000] [rounds=3] [delay_ms=2000]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
turns=${1:-6000} conc=${2:-1000} rounds=${3:-3} delay=${4:-2000}
tool=${TOOL:-a2a_echo} # the tool every fan-out call goes to (see above)
isolate=${ISOLATE:-0}
warmup=1000 port=18130 pport=18140 coord_cpu=${COORD_CPU:-1} peer_cpu=${PEER_CPU:-0}
bench_build bench/bench_tools bench/bench_tools_model src/cli/molecule
bin=$BENCH_ROOT/build-bench
dir=$(mktemp -d)
pids=() platform_pid=
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
cleanup() { stop_all; [[ -n $platform_pid ]] && kill "$platform_pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM # through the EXIT trap: only the pids this script started
ulimit -n "$(ulimit -Hn)" # every in-flight turn may hold a model and a worker connection

# The platform, when the tool goes through it: a coordinator workspace (its token) and one
# child workspace per worker, whose URL is the worker's.
coord_args=() ids=
if [[ $tool != a2a_echo ]]; then
  taskset -c "$peer_cpu" "$bin/src/cli/molecule" platform --listen "127.0.0.1:$pport" \
    --db "$dir/p.db" --dev >"$dir/platform.log" 2>&1 &
  platform_pid=$!
  wait_port "$pport"
  create() { # json -> "id token"
    curl -sf -X POST "http://127.0.0.1:$pport/workspaces" -H 'Content-Type: application/json' -d "$1" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d.get("connection",{}).get("auth_token",""))'
  }
  read -r coord token < <(create '{"name":"bench-coordinator","external":true}')
  coord_args=(--platform "http://127.0.0.1:$pport" --workspace-id "$coord" --token "$token")
  for i in 0 1 2; do
    read -r wid _ < <(create "{\"name\":\"bench-worker-$i\",\"external\":true,\"parent_id\":\"$coord\",\"url\":\"http://127.0.0.1:$((port + 1 + i))/\"}")
    ids+=${ids:+,}$wid
  done
fi

rt=() # the steady runs' scheduling (ISOLATE)
workers=()
start_workers() { # tool
  workers=()
  for i in 0 1 2; do
    local p=$((port + 1 + i))
    "${rt[@]}" taskset -c "$peer_cpu" "$bin/src/cli/molecule" serve --listen "127.0.0.1:$p" >/dev/null 2>&1 & pids+=($!)
    wait_port "$p"
    if [[ $1 == a2a_echo || $1 == noop ]]; then workers+=(--worker "w$i=http://127.0.0.1:$p/")
    else local id; id=$(cut -d, -f$((i + 1)) <<<"$ids"); workers+=(--worker "$id=$id"); fi
  done
}

# One coordinator run against a fresh model and fresh workers; prints its line.
run_one() { # tool k delay ramp_ms
  start_workers "$1"
  local model_ids=()
  [[ $1 != a2a_echo && $1 != noop ]] && model_ids=(--ids "$ids")
  "${rt[@]}" taskset -c "$peer_cpu" "$bin/bench/bench_tools_model" --listen "$port" --k "$2" --delay-ms "$3" \
    --tool "$1" "${model_ids[@]}" & pids+=($!)
  wait_port "$port"
  local out extra=()
  [[ $1 != a2a_echo && $1 != noop ]] && extra=("${coord_args[@]}")
  out=$("${rt[@]}" taskset -c "$coord_cpu" "$bin/bench/bench_tools" --model "http://127.0.0.1:$port" "${workers[@]}" \
        --tool "$1" --k "$2" --turns "$turns" --concurrency "$conc" --warmup "$warmup" \
        --ramp-ms "$4" "${extra[@]}") ||
    { echo "$out" >&2; stop_all; echo "bench_tools failed: not every turn resolved" >&2; exit 1; }
  stop_all
  echo "$out"
}

load0=$(cut -d' ' -f1 /proc/loadavg)
declare -A m
add() { m[$1]+="$2 "; }
kv() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2"; }
keys="throughput call_p50_us call_p99_us step_p50_us step_p99_us cpu_per_turn_us rss_per_turn_b heap_per_turn_b"
cfgs="steady3 nsteady3 burst0 burst3 burst6 nburst3 nburst6"
for r in $(seq "$rounds"); do
  for cfg in $cfgs; do
    k=${cfg: -1} t=$tool d=$delay ramp=$((2 * delay)) # a turn lasts about two model delays
    rt=()
    [[ $isolate == 1 ]] && rt=(chrt -f 10)
    [[ $cfg == *burst* ]] && d=0 ramp=0 rt=()
    [[ $cfg == n* ]] && t=noop
    line=$(run_one "$t" "$k" "$d" "$ramp")
    echo "round $r $cfg: $line"
    for key in $keys; do add "$cfg.$key" "$(kv "$key" "$line")"; done
  done
done
load1=$(cut -d' ' -f1 /proc/loadavg)

args=()
for cfg in $cfgs; do for key in $keys; do args+=("${m[$cfg.$key]}"); done; done
python3 - "$turns" "$conc" "$rounds" "$delay" "$tool" "$warmup" "$load0 / $load1" "$isolate" "${args[@]}" >"$dir/result.md" <<'PY'
import statistics as st, sys, subprocess
turns, conc, rounds, delay, tool, warmup, load, isolate = sys.argv[1:9]
keys = ['tput', 'c50', 'c99', 's50', 's99', 'cpu', 'rss', 'heap']
names = ['s3', 'n3', 'b0', 'b3', 'b6', 'nb3', 'nb6']
vals = [[float(x) for x in s.split()] for s in sys.argv[9:]]
C = {name: dict(zip(keys, vals[i * len(keys):(i + 1) * len(keys)])) for i, name in enumerate(names)}
md = st.median
S3, N3, B0, B3, B6, NB3, NB6 = (C[x] for x in names)
per_call = [(b - a) / 3 for a, b in zip(B3['cpu'], B6['cpu'])]
per_call_loop = [(b - a) / 3 for a, b in zip(NB3['cpu'], NB6['cpu'])]
cpuname = subprocess.run(['sh', '-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
ok = lambda c: 'met' if c else '**NOT met**'
n = '{:,}'.format
how = {'a2a_echo': 'a real A2A message/send straight to one of three echo workers (`molecule serve`)',
       'a2a_platform': 'a real A2A message/send to one of three echo workers (`molecule serve`) through the A2A proxy of `molecule platform --dev`',
       'delegate_to_workspace': 'the built-in tool: a POST of the delegation to `molecule platform --dev`, which answers with its id and sends the task to one of three echo workers (`molecule serve`) itself'}
print('## Tools (`%s`): %s concurrent turns, each fanning out to 3 tool calls%s\n' % (tool, n(int(conc)), ', steady runs isolated' if isolate == '1' else ''))
print('Command: `%s%sbench/tools/run.sh %s %s %s %s` (bench/bench_tools.c, bench/bench_tools_model.c).' % (
    '' if tool == 'a2a_echo' else 'TOOL=%s ' % tool, 'ISOLATE=1 ' if isolate == '1' else '', turns, conc, rounds, delay))
print('A coordinator (the chat executor with a tool registry on one loop, CPU 1) runs %s turns,' % n(int(turns)))
print('%s in flight at any time, against a scripted model process that answers each turn\'s first' % n(int(conc)))
print('request with K tool calls and the request bringing their results with an answer naming every')
print('result. Each call of `%s` is %s,' % (tool, how.get(tool, 'the tool\'s own work')))
print('over loopback; `noop` answers at once (the loop\'s own cost). Model and workers run on CPU 0,')
print('each process on its own; CPU is read per process. **steady**: the model answers after %s ms' % delay)
print('+/- 25 %%, as a real model takes its time, and the counted turns start evenly over %s ms' % (2 * int(delay)))
print('(each ending turn is replaced at once), so %s independent turns are in flight; **burst**: the' % n(int(conc)))
print('model answers at once and the turns start together, the loop busy. The first %s turns warm' % n(int(warmup)))
print('the pools and are not counted; %s rounds, fresh processes for every run, medians. Every turn' % rounds)
print('of every run resolved with every tool result (the program exits non-zero otherwise).')
print('Machine: %s, 2 CPUs, shared with other work (load average %s at the start / end).' % (cpuname, load))
if isolate == '1':
    print('The steady runs\' processes ran under SCHED_FIFO (`chrt -f 10`): their latency is the')
    print('program\'s, not the wait behind other work on this machine (burst runs ran as usual).')
print()
print('| measure | `%s` | `noop` | target |' % tool)
print('|---|---|---|---|')
print('| turns resolved | all | all | all |')
print('| turns per second, steady (the model\'s pace) / burst | %.0f / **%.0f** | %.0f / %.0f | |' % (
    md(S3['tput']), md(B3['tput']), md(N3['tput']), md(NB3['tput'])))
print('| added latency of a tool step (3 calls at once, as the model sees it), steady p50 | %.2f ms | %.2f ms | |' % (md(S3['s50']) / 1e3, md(N3['s50']) / 1e3))
print('| added latency of a tool step, steady **p99** | **%.2f ms** | %.2f ms | <= 5 ms: %s |' % (md(S3['s99']) / 1e3, md(N3['s99']) / 1e3, ok(md(S3['s99']) <= 5000)))
if md(S3['c50']) > 0:
    print('| one tool call (its round trip to the worker), steady p50 / p99 | %.2f / %.2f ms | | |' % (md(S3['c50']) / 1e3, md(S3['c99']) / 1e3))
else:  # a built-in tool: the registry runs its calls, bench_tools does not time them
    print('| one tool call, steady p50 / p99 | not timed (a built-in tool) | | |')
print('| coordinator CPU per turn, burst, K = 0 / 3 / 6 | %.0f / %.0f / %.0f us | - / %.0f / %.0f us | |' % (
    md(B0['cpu']), md(B3['cpu']), md(B6['cpu']), md(NB3['cpu']), md(NB6['cpu'])))
print('| **coordinator CPU per tool call** ((K=6 - K=3) / 3, burst) | **%.1f us** | **%.1f us** | <= 30 us: %s / %s |' % (
    md(per_call), md(per_call_loop), ok(md(per_call) <= 30), ok(md(per_call_loop) <= 30)))
print('| coordinator CPU per turn, steady K=3 (every event wakes the loop alone) | %.0f us | %.0f us | |' % (md(S3['cpu']), md(N3['cpu'])))
print('| RSS per in-flight turn (heap in use), steady | %.2f KB (%.2f KB) | | |' % (md(S3['rss']) / 1024, md(S3['heap']) / 1024))
print()
print('Per round: steady step p99 %s ms; CPU per tool call %s us (noop %s us); burst %s turns/s.' % (
    ', '.join('%.2f' % (x / 1e3) for x in S3['s99']), ', '.join('%.1f' % x for x in per_call),
    ', '.join('%.1f' % x for x in per_call_loop), ', '.join('%.0f' % x for x in B3['tput'])))
PY
cat "$dir/result.md"
name=tools
[[ $tool != a2a_echo ]] && name+="-$tool"
[[ $isolate == 1 ]] && name+="-isolated"
doc_update "$name" "$dir/result.md"
