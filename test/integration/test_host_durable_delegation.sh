#!/bin/sh
# Delegations that outlive their caller, as processes over real sockets: `molecule platform
# --dev`, a slow worker agent that holds each task until released, and the caller, a
# `molecule host` agent with data_dir, driven through its /mcp by the official MCP SDK client.
#  - delegate_task_async to the worker; once the worker has the task the caller's host is
#    killed (-9) and started again; the worker is released; check_task_status, asked of the
#    restarted caller, reports the delegation completed with the worker's reply;
#  - delegate_task (the waiting one) in flight when the caller is killed: after the restart the
#    delegation is in the caller's ledger (check_task_status lists it) and completes there
#    once the worker answers - the result is not lost with the call that waited for it.
# Needs node, curl, python3 and `npm ci` in test/interop/mcp-sdk; missing any fails the test.
set -eu
MOLECULE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
WORKER=$2
ROOT=${MOL_SOURCE_ROOT:?}
PEERS="$ROOT/test/interop/mcp-sdk"
DIR=$(mktemp -d /tmp/moldeleg-XXXXXX)
PORT=$((10000 + ($$ + 6271) % 22000))
URL="http://127.0.0.1:$PORT"
cleanup() {
  for p in ${CPID:-} ${HPID:-} ${WPID:-} ${PID:-}; do kill -9 "$p" 2>/dev/null || :; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$DIR"/*.log; do echo "--- $f"; cat "$f"; done
  exit 1
}
wait_for() { # tenths of a second, command...
  n=$1; shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}
[ -d "$PEERS/node_modules/@modelcontextprotocol/sdk" ] || fail "run npm ci in $PEERS"

"$MOLECULE" platform --listen "127.0.0.1:$PORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 100 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
op() { MOLECULE_PLATFORM_URL="$URL" "$MOLECULE" platform "$@" --db "$DIR/p.db"; }
TEAM=$(op workspace create --name team | sed 's/.*"id":"\([^"]*\)".*/\1/')
workspace() { # name -> WID, WTOK
  out=$(op workspace create --name "$1" --parent "$TEAM" --external)
  WID=$(echo "$out" | sed 's/.*"id":"\([^"]*\)".*/\1/')
  WTOK=$(echo "$out" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
  [ -n "$WID" ] && [ -n "$WTOK" ] || fail "workspace $1: $out"
}
workspace boss; BOSS=$WID; BTOKEN=$WTOK
workspace worker; WORKER_ID=$WID; WTOKEN=$WTOK

# ---- the worker: registered in push mode, holds every task until $DIR/release exists ----
python3 "$WORKER" "$DIR" >"$DIR/worker.log" 2>&1 &
WPID=$!
wait_for 100 grep -q "listening on" "$DIR/worker.log" || fail "worker did not start"
WURL="http://127.0.0.1:$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/worker.log")"
curl -fs -X POST "$URL/registry/register" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $WTOKEN" \
  -d "{\"id\":\"$WORKER_ID\",\"url\":\"$WURL\",\"agent_card\":{\"name\":\"worker\",\"url\":\"$WURL\"}}" \
  >/dev/null || fail "register the worker"

# ---- the caller: a hosted agent with data_dir ----
mkdir -m 700 "$DIR/tok"
printf '%s' "$BTOKEN" >"$DIR/tok/.auth_token"
chmod 600 "$DIR/tok/.auth_token"
cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:0
platform_url: $URL
data_dir: data
agents:
  - name: boss
    workspace_id: $BOSS
    token_dir: $DIR/tok
YAML
start_host() {
  : >"$DIR/host.log"
  "$MOLECULE" host -c "$DIR/host.yaml" >"$DIR/host.log" 2>&1 &
  HPID=$!
  wait_for 100 grep -q "^listening on" "$DIR/host.log" || fail "host did not start"
  MCP="http://127.0.0.1:$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/host.log")/agents/boss/mcp"
}
kill_host() {
  kill -9 "$HPID"
  wait "$HPID" 2>/dev/null || :
  HPID=
}
tool() { (cd "$PEERS" && exec node delegation.mjs "$MCP" "$BTOKEN" "$@"); }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }
got() { [ "$(wc -l <"$DIR/got" 2>/dev/null || echo 0)" -ge "$1" ]; }

start_host

# ---- delegate_task_async pending across a kill -9 of the caller ----
tool async "$WORKER_ID" "sum the ledger" >"$DIR/async.json" 2>"$DIR/async.log" ||
  fail "delegate_task_async: $(cat "$DIR/async.log")"
ID=$(field delegation_id <"$DIR/async.json")
[ -n "$ID" ] || fail "no delegation_id: $(cat "$DIR/async.json")"
wait_for 100 got 1 || fail "the worker never got the task"

# ---- delegate_task in flight when the caller dies ----
(cd "$PEERS" && exec node delegation.mjs "$MCP" "$BTOKEN" sync "$WORKER_ID" "count the stars") \
  >"$DIR/sync.out" 2>"$DIR/sync.log" &
CPID=$!
wait_for 100 got 2 || fail "the worker never got the waiting task"

kill_host
# The SDK client would retry the lost call's stream for a long time: it is ended here. Its
# answer never came (the call died with the agent); the ledger keeps the delegation.
kill -9 "$CPID"
wait "$CPID" 2>/dev/null || :
CPID=
[ ! -s "$DIR/sync.out" ] || fail "delegate_task answered although its agent was killed: $(cat "$DIR/sync.out")"
start_host

tool check "$ID" >"$DIR/before.json" || fail "check_task_status after the restart"
[ "$(field status <"$DIR/before.json")" != completed ] ||
  fail "completed before the worker answered: $(cat "$DIR/before.json")"
touch "$DIR/release"
tool wait "$ID" >"$DIR/after.json" 2>"$DIR/check.log" ||
  fail "the delegation did not complete: $(cat "$DIR/check.log")"
[ "$(field status <"$DIR/after.json")" = completed ] || fail "status: $(cat "$DIR/after.json")"
[ "$(field response_preview <"$DIR/after.json")" = "done: sum the ledger" ] ||
  fail "result: $(cat "$DIR/after.json")"

# The waiting call's delegation, found by listing the ledger (its id died with the call).
tool wait-list "done: count the stars" >"$DIR/list.json" 2>"$DIR/check.log" ||
  fail "the waiting delegation did not complete: $(cat "$DIR/check.log")"

kill "$HPID"
wait "$HPID" || fail "host exit status $?"
HPID=
echo ok
