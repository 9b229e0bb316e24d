#!/bin/sh
# Pending hermes replies across a restart: `molecule host` with data_dir runs a hermes agent
# whose plugin takes the turn and never answers. After kill -9 and a restart the turn is not
# left to time out: its task is `failed`, saying the agent restarted; and the reply the plugin
# sends late, for the message id from before the restart, is answered as stale.
set -eu
MOLECULE=$1
PLUGIN=$2
DIR=$(mktemp -d /tmp/molhost-hermes-XXXXXX)
RPORT=$((20000 + $$ % 20000))
SECRET=test-shared-secret-0123456789abcdef
export MOLECULE_A2A_PLATFORM_SHARED_SECRET=$SECRET
cleanup() {
  [ -n "${HPID:-}" ] && kill -9 "$HPID" 2>/dev/null
  [ -n "${PPID_:-}" ] && kill "$PPID_" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$DIR"/*.log 2>/dev/null; exit 1; }
wait_line() { # file pattern
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  fail "no '$2' in $1"
}

python3 "$PLUGIN" "$DIR/inbound" >"$DIR/plugin.log" 2>&1 &
PPID_=$!
wait_line "$DIR/plugin.log" "listening on"
PPORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/plugin.log")
cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: data
agents:
  - name: h
    executor: hermes
    hermes_plugin_port: $PPORT
    hermes_reply_port: $RPORT
YAML

start_host() {
  : >"$DIR/host.log"
  "$MOLECULE" host -c "$DIR/host.yaml" >"$DIR/host.log" 2>&1 &
  HPID=$!
  wait_line "$DIR/host.log" "^listening on"
  HPORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/host.log")
  URL=http://127.0.0.1:$HPORT/agents/h/
}
rpc() { curl -s "$URL" -H 'Content-Type: application/json' -d "$1"; }
state_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["status"]["state"])'; }

start_host
TASK=$(rpc '{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"configuration":{"blocking":false},"message":{"kind":"message","messageId":"u1","role":"user","parts":[{"kind":"text","text":"think hard"}]}}}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["id"])')
wait_line "$DIR/inbound" "message_id"
MID=$(head -1 "$DIR/inbound" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message_id"])')
GET='{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"id":"'$TASK'"}}'
S=$(rpc "$GET" | state_of)
case $S in completed|failed|canceled|rejected) fail "the turn ended before the kill: $S";; esac

kill -9 "$HPID"
wait "$HPID" 2>/dev/null || true
start_host
rpc "$GET" >"$DIR/after.json"
[ "$(state_of <"$DIR/after.json")" = failed ] || fail "after restart: $(cat "$DIR/after.json")"
grep -q "restarted while this task was in progress" "$DIR/after.json" || fail "no reason: $(cat "$DIR/after.json")"

# the plugin's reply, late, for the turn of the process that died
curl -s "http://127.0.0.1:$RPORT/a2a/reply" -H "X-Molecule-A2A-Secret: $SECRET" \
  -H 'Content-Type: application/json' -d '{"reply_to":"'$MID'","content":"too late"}' >"$DIR/reply.json"
grep -q '"stale":true' "$DIR/reply.json" || fail "late reply: $(cat "$DIR/reply.json")"
[ "$(rpc "$GET" | state_of)" = failed ] || fail "the late reply changed the task"
kill "$HPID"
wait "$HPID" || fail "host exit status $?"
HPID=
echo ok
