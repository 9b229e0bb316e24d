#!/bin/sh
# `molecule bench` as a process against real servers on loopback:
#  - `molecule serve` (echo, and --task-mode): every workload, --json parsed, nothing lost;
#  - the @a2a-js/sdk server (its card, v0.3 and v1.0 JSON-RPC, HTTP+JSON, task and message
#    modes);
#  - open loop measures from the intended send time: one connection to an agent that takes
#    200 ms per answer, at 20 requests/s, must show p99 >= 200 ms and a median far above
#    200 ms (measured from the actual send, every answer would take about 200 ms);
#  - fast wrong answers (wrong id, not JSON, wrong role, HTTP 500, JSON-RPC error, a blocking
#    send left working) are errors of their kind, never successes;
#  - 10,000 requests in flight at once, and --max-in-flight bounding them;
#  - --compare in alternating rounds; SIGINT ends a run early with its report; --platform
#    against `molecule platform --dev`;
#  - bad usage and an unreachable agent.
set -eu
MOLECULE=$1
ROOT=${MOL_SOURCE_ROOT:?MOL_SOURCE_ROOT must name the source tree}
DIR=$(mktemp -d /tmp/molbench-XXXXXX)
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$DIR"/*.log; do echo "--- $f"; tail -20 "$f"; done
  exit 1
}
wait_for() { # seconds command...: polls every 0.05 s
  n=$(($1 * 20)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done
  return 1
}
port_of() { sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$1" | head -1; }
# start NAME CMD...: runs a server that prints "listening on HOST:PORT"; PORT is then its port
start() {
  name=$1; shift
  "$@" >"$DIR/$name.log" 2>&1 &
  PIDS="$PIDS $!"
  wait_for 20 grep -qs "listening on" "$DIR/$name.log" || fail "$name did not start"
  PORT=$(port_of "$DIR/$name.log")
}
# bench NAME ARGS...: molecule bench --json into $DIR/NAME.json (exit status kept in RC)
bench() {
  name=$1; shift
  RC=0
  "$MOLECULE" bench --json --no-progress "$@" >"$DIR/$name.json" 2>"$DIR/$name.err" || RC=$?
}
# expect NAME PYTHON-EXPR: the expression over j (the parsed --json) must hold
expect() {
  python3 - "$DIR/$1.json" "$2" <<'PY' || fail "$1: $2: $(cat "$DIR/$1.json" "$DIR/$1.err")"
import json, sys
j = json.load(open(sys.argv[1]))
w = j.get('workloads', {})
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

# ---- molecule serve: echo, every workload ----
start echo "$MOLECULE" serve --listen 127.0.0.1:0
ECHO=http://127.0.0.1:$PORT/
bench send "$ECHO" -n 300 -c 4
[ "$RC" = 0 ] || fail "send exit $RC"
expect send "j['requests'] == 300 and j['ok'] == 300 and j['errors'] == 0 and j['agent'] == 'echo'"
expect send "0 < j['latency_us']['p50'] <= j['latency_us']['p99'] <= j['latency_us']['max']"
bench mix "$ECHO" -n 400 -c 8 --workload send=1,stream=1,task=1,conversation=1 --turns 2
expect mix "j['errors'] == 0 and set(w) == {'send', 'stream', 'task', 'conversation'}"
expect mix "w['stream']['events'] >= w['stream']['ok'] > 0 and 'first_event_us' in w['stream']"
# a conversation counts each turn: 100 conversations of 2 turns
expect mix "w['conversation']['ok'] == 200 and w['send']['ok'] == 100"
bench v1 "$ECHO" -n 100 --protocol 1.0 --workload send=1,stream=1
expect v1 "j['ok'] == 100 and j['errors'] == 0"
bench big "$ECHO" -n 50 --size 100000
expect big "j['ok'] == 50"
printf 'first prompt\nsecond "quoted" prompt\n' >"$DIR/prompts.txt"
bench prompts "$ECHO" -n 20 --prompts "$DIR/prompts.txt" --workload conversation
expect prompts "j['ok'] == 60" # 20 conversations of 3 turns

# ---- molecule serve --task-mode: tasks walk their lifecycle ----
start task "$MOLECULE" serve --listen 127.0.0.1:0 --task-mode --delay-ms 20
TASK=http://127.0.0.1:$PORT/
bench task "$TASK" -n 60 -c 8 --workload task=1,send=1,stream=1
expect task "j['errors'] == 0 and w['task']['ok'] == 20 and w['task']['polls'] >= 20"
expect task "w['task']['latency_us']['p50'] >= 40000" # three steps of 20 ms
# an input-required task is an answer; a text that makes the echo agent fail is not needed here

# a task that ends failed is an error of its own kind, whichever workload saw it
start failing "$MOLECULE" serve --listen 127.0.0.1:0 --executor command --handler 'echo broken >&2; exit 3'
FAILING=http://127.0.0.1:$PORT/
bench failing "$FAILING" -n 30 -c 3 --workload send=1,stream=1,task=1
expect failing "j['ok'] == 0 and j['errors_by_kind'] == {'task failed': 30}"

# ---- the @a2a-js/sdk server ----
JSDIR="$ROOT/test/interop/a2a-js"
[ -d "$JSDIR/node_modules" ] || fail "run npm ci in $JSDIR"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for mode in task message; do
  port=$(free_port) # the sample server builds its card from PORT, so it cannot take port 0
  (cd "$JSDIR" && PORT=$port MODE=$mode exec node server.mjs) >"$DIR/js-$mode.log" 2>&1 &
  PIDS="$PIDS $!"
  wait_for 20 grep -qs "a2a-js peer on" "$DIR/js-$mode.log" || fail "a2a-js ($mode) did not start"
  eval "JS_$mode=http://127.0.0.1:$port/"
done
# its card offers v1.0 JSON-RPC and the legacy 0.3 interface; both are driven through it
bench js-task "$JS_task" -n 200 -c 8 --workload send=1,stream=1,task=1
expect js-task "j['ok'] == 200 and j['errors'] == 0 and j['agent'] == 'js-echo'"
bench js-task-v1 "$JS_task" -n 100 -c 8 --protocol 1.0 --workload send=1,stream=1
expect js-task-v1 "j['ok'] == 100 and j['errors'] == 0"
bench js-message "$JS_message" -n 200 -c 8 --workload send=1,conversation=1
expect js-message "j['ok'] == 400 and j['errors'] == 0"
# the card offers no HTTP+JSON interface: said clearly, exit 1
bench js-rest "$JS_task" -n 10 --binding http+json
[ "$RC" = 1 ] && grep -q "offers no http+json" "$DIR/js-rest.err" || fail "http+json: exit $RC: $(cat "$DIR/js-rest.err")"
# with REST=1 it serves the HTTP+JSON binding too, and names it in its card
port=$(free_port)
(cd "$JSDIR" && PORT=$port MODE=task REST=1 exec node server.mjs) >"$DIR/js-rest-server.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 20 grep -qs "a2a-js peer on" "$DIR/js-rest-server.log" || fail "a2a-js (REST) did not start"
bench js-rest-ok "http://127.0.0.1:$port/" -n 90 -c 4 --binding http+json --workload send=1,stream=1,task=1
expect js-rest-ok "j['ok'] == 90 and j['errors'] == 0 and j['endpoint'].endswith('/rest')"

# ---- open loop: latency from the intended send time ----
start slow "$MOLECULE" serve --listen 127.0.0.1:0 --delay-ms 200
SLOW=http://127.0.0.1:$PORT/
bench stall "$SLOW" --rate 20 -d 1 --warmup 0 -c 1
expect stall "j['ok'] == 20 and j['errors'] == 0"
expect stall "j['latency_us']['p99'] >= 200000"
# answer k leaves the one connection at (k + 1) * 200 ms, but was due at k * 50 ms
expect stall "j['latency_us']['p50'] >= 1000000"
# closed loop on the same agent: each request waits only for its own 200 ms
bench stall-closed "$SLOW" -n 5 -c 1
expect stall-closed "j['ok'] == 5 and j['latency_us']['p99'] >= 200000"

# ---- fast wrong answers are errors ----
start bad python3 "$ROOT/test/integration/bench_bad_agent.py"
BAD=http://127.0.0.1:$PORT
for case in "wrong-id:invalid reply" "not-json:invalid reply" "user-role:invalid reply" \
            "http-500:HTTP 500" "rpc-error:JSON-RPC -32603" "working-task:invalid reply"; do
  path=${case%%:*} kind=${case#*:}
  bench "bad-$path" "$BAD/$path" --no-card -n 50 -c 4
  [ "$RC" = 0 ] || fail "$path: exit $RC"
  expect "bad-$path" "j['ok'] == 0 and j['errors'] == 50 and j['errors_by_kind'] == {'$kind': 50}"
done
bench bad-good "$BAD/good" --no-card -n 50 -c 4
expect bad-good "j['ok'] == 50 and j['errors'] == 0"
bench bad-stream "$BAD/wrong-id" --no-card -n 10 --workload stream
expect bad-stream "j['ok'] == 0 and j['errors'] == 10"

# ---- 10,000 in flight at once, in bounded memory ----
start hold "$MOLECULE" serve --listen 127.0.0.1:0 --delay-ms 1000
HOLD=http://127.0.0.1:$PORT/
bench hold "$HOLD" --rate 12000 -d 1 --warmup 0 -c 2000 --timeout-ms 60000
expect hold "j['ok'] == 12000 and j['errors'] == 0 and j['in_flight_max'] >= 10000"
expect hold "j['rss_max_kb'] < 256 * 1024"
# past --max-in-flight an op is counted as overload, not queued without end
bench bound "$HOLD" --rate 2000 -d 1 --warmup 0 -c 100 --max-in-flight 300
expect bound "j['in_flight_max'] <= 300 and j['errors_by_kind'].get('overload', 0) > 0"
expect bound "j['requests'] == 2000 and j['ok'] + j['errors'] == 2000"

# ---- side by side ----
bench compare "$ECHO" --compare "$TASK" -d 0.3 --warmup 0 --rounds 2 -c 4
expect compare "j['rounds'] == 2 and j['a']['ok'] > 0 and j['b']['ok'] > 0 and j['ratio_b_to_a']['requests_per_s'] > 0"
"$MOLECULE" bench --no-progress "$ECHO" --compare "$ECHO" -d 0.2 --warmup 0 --rounds 1 >"$DIR/compare.txt" ||
  fail "compare text"
grep -q "compare (B / A" "$DIR/compare.txt" || fail "compare text: $(cat "$DIR/compare.txt")"

# ---- SIGINT ends the run early, and it still reports what it measured ----
"$MOLECULE" bench "$ECHO" -d 600 --warmup 0 -c 2 --json --progress >"$DIR/int.json" 2>"$DIR/int.err" &
BP=$!
wait_for 20 grep -qs "req/s" "$DIR/int.err" || fail "no progress line: $(cat "$DIR/int.err")"
kill -INT "$BP"
RC=0; wait "$BP" || RC=$?
[ "$RC" = 0 ] || fail "interrupted bench: exit $RC"
expect int "j['ok'] > 0 and j['errors'] == 0 and 0 < j['seconds'] < 600"

# ---- --platform against the development platform ----
start platform "$MOLECULE" platform --listen 127.0.0.1:0 --db "$DIR/p.db" --dev
PLAT=http://127.0.0.1:$PORT
bench plat --platform "$PLAT" --agents 20 --heartbeat-ms 200 --poll-ms 200 --a2a-rate 50 -d 1 --warmup 0.2
python3 - "$DIR/plat.json" <<'PY' || fail "platform: $(cat "$DIR/plat.json" "$DIR/plat.err")"
import json, sys
c = json.load(open(sys.argv[1]))['calls']
assert c['register']['ok'] == 20 and c['register']['errors'] == 0, c['register']
for k in ('heartbeat', 'state', 'a2a'):
    assert c[k]['ok'] >= 40 and c[k]['errors'] == 0, (k, c[k])
PY

# workspaces that already exist: --tokens FILE ("<id> <token>" per line)
for i in 1 2 3; do
  curl -fsS "$PLAT/workspaces" -H 'Content-Type: application/json' -d "{\"name\":\"pre-$i\",\"external\":true}"
  echo
done | python3 -c 'import json, sys
for line in sys.stdin:
    w = json.loads(line)
    print(w["id"], w["connection"]["auth_token"])' >"$DIR/tokens"
bench plat-tokens --platform "$PLAT" --tokens "$DIR/tokens" --agents 3 --heartbeat-ms 100 --no-poll -d 0.5 --warmup 0
expect plat-tokens "j['calls']['register']['ok'] == 3 and j['calls']['heartbeat']['ok'] >= 9 and j['calls']['heartbeat']['errors'] == 0"
bench plat-short --platform "$PLAT" --tokens "$DIR/tokens" --agents 4 -d 0.2
[ "$RC" = 1 ] && grep -q "holds 3 workspaces, 4 wanted" "$DIR/plat-short.err" || fail "short tokens file: $RC $(cat "$DIR/plat-short.err")"

# ---- bad usage, unreachable agents ----
"$MOLECULE" bench >/dev/null 2>&1 && fail "no URL accepted"
RC=0; "$MOLECULE" bench "$ECHO" --workload nope >/dev/null 2>"$DIR/usage.err" || RC=$?
[ "$RC" = 2 ] || fail "bad workload: exit $RC"
RC=0; "$MOLECULE" bench "$ECHO" --rate 10 --concurrency 5 >/dev/null 2>&1 || RC=$?
[ "$RC" = 2 ] || fail "--rate with --concurrency: exit $RC"
bench gone "http://127.0.0.1:1/" -n 5
[ "$RC" = 1 ] && grep -q "no agent card" "$DIR/gone.err" || fail "unreachable: exit $RC $(cat "$DIR/gone.err")"
bench gone-nocard "http://127.0.0.1:1/" --no-card -n 5
expect gone-nocard "j['errors'] == 5 and list(j['errors_by_kind'])[0].startswith('transport')"
"$MOLECULE" bench --help | grep -q -- "--rate" || fail "help"
"$MOLECULE" bench --platform --help | grep -q -- "--agents" || fail "platform help"
RC=0; "$MOLECULE" bench --platform not-a-url >/dev/null 2>&1 || RC=$?
[ "$RC" = 2 ] || fail "--platform not-a-url: exit $RC"
echo "bench: all passed"
