#!/usr/bin/env bash
# bench/chat/callgrind.sh: instructions per `chat` bridge turn, the number docs/benchmarks.md
# records ("The chat bridge turn at steady state"). The host of bench/chat/run.sh (one chat
# agent whose api_base is mock-llm) runs under callgrind with instrumentation off; wrk -t1 -c50
# sends bench/a2a/send.lua's message/send (no contextId: every turn opens a context) for
# WARM seconds, long enough for the host to hold its 1,000 contexts and evict one per turn
# (the steady state), then instrumentation is on for MEASURE seconds. Prints the instructions
# per turn (per chat_execute call). Callgrind counts do not move with the machine's load, so
# two builds measured one after the other compare.
# Usage: bench/chat/callgrind.sh <build dir> [warm_s=30] [measure_s=20]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
bin=${1:?usage: bench/chat/callgrind.sh <build dir> [warm_s] [measure_s]}
warm=${2:-30} measure=${3:-20}
llm=$BENCH_ROOT/test/interop/mock-llm
[[ -f $llm/node_modules/@dwmkerr/mock-llm/dist/main.js ]] || { echo "run npm ci in $llm" >&2; exit 1; }
base=${PORT_BASE:-18270} # mock-llm, the host
mport=$base hport=$((base + 1))
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$llm" && PORT=$mport HOST=127.0.0.1 exec node node_modules/@dwmkerr/mock-llm/dist/main.js \
  --config safe-echo.yaml >"$dir/llm.log" 2>&1) & pids+=($!)
wait_port "$mport"
printf 'listen: 127.0.0.1:%s\nlog: {level: warn}\nagents:\n  - {name: a0, executor: chat, model: mock, api_base: "http://127.0.0.1:%s/v1"}\n' \
  "$hport" "$mport" >"$dir/host.yaml"
env -u PLATFORM_URL -u HERMES_API_BASE valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$dir/cg.out" "$bin/src/cli/molecule" host -c "$dir/host.yaml" \
  >"$dir/host.log" 2>&1 & pids+=($!)
host=$!
for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$hport") 2>/dev/null && break; sleep 0.2; done
url="http://127.0.0.1:$hport/agents/a0/"
wrk -t1 -c50 -d"${warm}s" -s "$here/../a2a/send.lua" "$url" >/dev/null
callgrind_control -i on "$host" >/dev/null 2>&1
wrk -t1 -c50 -d"${measure}s" -s "$here/../a2a/send.lua" "$url" >/dev/null
callgrind_control -i off "$host" >/dev/null 2>&1
kill "$host"
wait "$host" 2>/dev/null || true
python3 - "$dir/cg.out" <<'PY'
import re, sys
names, calls, total, cfn = {}, 0, 0, None
for line in open(sys.argv[1], errors='replace'):
    m = re.match(r'(c?fn)=\((\d+)\)(?: (.*))?', line)
    if m:
        kind, i, name = m.groups()
        if name: names[i] = name.strip()
        cfn = names.get(i) if kind == 'cfn' else None
        continue
    m = re.match(r'calls=(\d+)', line)
    if m and cfn == 'chat_execute': calls += int(m.group(1))
    m = re.match(r'totals: (\d+)', line)
    if m: total = int(m.group(1))
if not calls: sys.exit('no turn was counted (%s)' % sys.argv[1])
print('%d turns, %d instructions, %.1fk per turn' % (calls, total, total / calls / 1000.0))
PY
