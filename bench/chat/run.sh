#!/usr/bin/env bash
# bench/chat: the `chat` bridge against @dwmkerr/mock-llm. A `molecule host` with one chat agent
# whose api_base is mock-llm (test/interop/mock-llm/safe-echo.yaml: the reply repeats the user
# message), both pinned to CPU 0, answers message/send (bench/a2a/send.lua) from wrk -t1 -c50
# keep-alive on CPU 1: each turn is one chat-completions request to mock-llm and its reply.
# The control is wrk posting that same chat-completions request to mock-llm directly, alone on
# CPU 0. Targets: host CPU per turn (from /proc/<pid>/stat) <= 20 us; turns/s >= 0.9x the
# direct calls/s (mock-llm shares its core with the host, as it would on a small machine).
# Rounds alternate the order of the runs. BASE_BIN=<build dir> adds the same host from another
# build to every round (a before/after in one run); BENCH_BIN=<build dir> uses an existing
# build for "ours". Results go to bench/out/chat.md (docs/benchmarks.md is edited by hand).
# Usage: bench/chat/run.sh [duration_s=10] [rounds=3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
duration=${1:-10} rounds=${2:-3} conns=50
if [[ -n ${BENCH_BIN:-} ]]; then
  bin=$BENCH_BIN
else
  bench_build src/cli/molecule
  bin=$BENCH_ROOT/build-bench
fi
llm=$BENCH_ROOT/test/interop/mock-llm
[[ -f $llm/node_modules/@dwmkerr/mock-llm/dist/main.js ]] || { echo "run npm ci in $llm" >&2; exit 1; }
base=${PORT_BASE:-18170} # mock-llm, ours, base
mport=$base

dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$llm" && PORT=$mport HOST=127.0.0.1 exec taskset -c 0 node node_modules/@dwmkerr/mock-llm/dist/main.js \
  --config safe-echo.yaml >"$dir/llm.log" 2>&1) & pids+=($!)
declare -A pid url
pid[direct]=$!
wait_port "$mport"
url[direct]="http://127.0.0.1:$mport/v1/chat/completions"

start_host() { # name build_dir port
  printf 'listen: 127.0.0.1:%s\nlog: {level: warn}\nagents:\n  - {name: a0, executor: chat, model: mock, api_base: "http://127.0.0.1:%s/v1"}\n' \
    "$3" "$mport" >"$dir/$1.yaml"
  env -u PLATFORM_URL -u HERMES_API_BASE taskset -c 0 "$2/src/cli/molecule" host -c "$dir/$1.yaml" \
    >"$dir/$1.log" 2>&1 & pids+=($!)
  pid[$1]=$!
  wait_port "$3"
  url[$1]="http://127.0.0.1:$3/agents/a0/"
  # one turn through, so that a broken bridge fails here and not as a fast error reply
  local r
  r=$(curl -sf -X POST "${url[$1]}" -H 'Content-Type: application/json' -d \
        '{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","messageId":"m1","parts":[{"kind":"text","text":"list the three biggest risks"}]}}}' || true)
  grep -q 'biggest risks' <<<"$r" || { echo "$1: the bridge did not answer: $r" >&2; cat "$dir/$1.log" >&2; exit 1; }
}

targets="direct ours"
start_host ours "$bin" $((base + 1))
if [[ -n ${BASE_BIN:-} ]]; then
  start_host base "$BASE_BIN" $((base + 2))
  targets="direct base ours"
fi

: >"$BENCH_OUT/wrk.log"
declare -A rps p50 cpu cpu_llm
for r in $(seq "$rounds"); do
  order=$targets
  ((r % 2)) || order=$(tr ' ' '\n' <<<"$targets" | tac | tr '\n' ' ')
  for t in $order; do
    script=$here/../a2a/send.lua
    [[ $t == direct ]] && script=$here/chat.lua
    c0=$(cpu_seconds "${pid[$t]}") l0=$(cpu_seconds "${pid[direct]}")
    read -r a b c < <(wrk_run "${url[$t]}" "$duration" "$conns" "$script")
    c1=$(cpu_seconds "${pid[$t]}") l1=$(cpu_seconds "${pid[direct]}")
    us=$(python3 -c "print('%.2f' % (($c1 - $c0) * 1e6 / ($a * $duration)))")
    lus=$(python3 -c "print('%.2f' % (($l1 - $l0) * 1e6 / ($a * $duration)))")
    rps[$t]+="$a " p50[$t]+="$b " cpu[$t]+="$us " cpu_llm[$t]+="$lus "
    echo "round $r $t: $a req/s, p50 ${b}us, CPU ${us}us/request (mock-llm ${lus}us)"
  done
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$duration" "$rounds" "$load" "$targets" "${rps[direct]}" "${cpu[direct]}" "${rps[ours]}" "${cpu[ours]}" \
  "${cpu_llm[ours]}" "${rps[base]:-}" "${cpu[base]:-}" >"$BENCH_OUT/chat.md" <<'PY'
import statistics as st, sys
dur, rounds, load, targets = sys.argv[1:5]
f = lambda s: [float(x) for x in s.split()]
d_rps, d_cpu, o_rps, o_cpu, o_llm = map(f, sys.argv[5:10])
b_rps, b_cpu = f(sys.argv[10]), f(sys.argv[11])
md = st.median
ok = lambda c: 'met' if c else '**NOT met**'
print('Command: `bench/chat/run.sh %s %s`; wrk -t1 -c50 for %s s per run, %s rounds, medians; load average %s.' % (dur, rounds, dur, rounds, load))
print()
print('| | turns (calls) / s | host CPU per turn | vs direct | target |')
print('|---|---|---|---|---|')
print('| mock-llm called directly | %.0f | - | 1.00x | |' % md(d_rps))
if b_rps:
    print('| `chat` bridge, before | %.0f | %.1f us | %.2fx | |' % (md(b_rps), md(b_cpu), md(b_rps) / md(d_rps)))
r = md(o_rps) / md(d_rps)
print('| `chat` bridge | %.0f | **%.1f us** | **%.2fx** | <= 20 us: %s; >= 0.9x: %s |' % (
    md(o_rps), md(o_cpu), r, ok(md(o_cpu) <= 20), ok(r >= 0.9)))
print()
print('Per round: direct %s calls/s; bridge %s turns/s, %s us per turn%s; mock-llm %s us per call under the bridge.' % (
    ', '.join('%.0f' % x for x in d_rps), ', '.join('%.0f' % x for x in o_rps), ', '.join('%.1f' % x for x in o_cpu),
    ('; before %s turns/s, %s us' % (', '.join('%.0f' % x for x in b_rps), ', '.join('%.1f' % x for x in b_cpu))) if b_rps else '',
    ', '.join('%.0f' % x for x in o_llm)))
PY
cat "$BENCH_OUT/chat.md"
