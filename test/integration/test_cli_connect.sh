#!/bin/sh
# `molecule connect` end to end as processes, against a real `molecule platform --dev`:
#  - configured only through the environment (PLATFORM_URL, WORKSPACE_ID), the variables the
#    upstream CLI names but never reads;
#  - a message a sibling posts to the workspace's A2A proxy reaches the handler (tr a-z A-Z)
#    and the reply lands in the sibling's activity feed; a canvas message is answered through
#    notify; a handler with nothing to say (empty output) sends no reply at all;
#  - pausing the workspace ends connect with exit status 0;
#  - after resume, connect starts again with the saved token (a restart re-registers) and
#    SIGTERM ends it with exit status 0, without replaying the message already handled.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molconnect-XXXXXX)
PORT=$((10000 + ($$ + 7919) % 22000))
URL="http://127.0.0.1:$PORT"
cleanup() {
  [ -z "${CPID:-}" ] || kill "$CPID" 2>/dev/null || : # under set -e a failed kill would end
  [ -z "${PID:-}" ] || kill "$PID" 2>/dev/null || :   # the trap and leave the platform running
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- platform"; cat "$DIR/platform.log"
  echo "--- connect"; cat "$DIR/connect.log" 2>/dev/null || true
  exit 1
}
wait_for() { # seconds command...: polls every 0.1 s
  n=$(($1 * 10)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}
"$MOLECULE" platform --listen "127.0.0.1:$PORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 10 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
export MOLECULE_PLATFORM_URL="$URL"
op() { "$MOLECULE" platform "$@" --db "$DIR/p.db"; }
id_of() { sed 's/.*"id":"\([^"]*\)".*/\1/'; }

tok_of() { sed 's/.*"auth_token":"\([^"]*\)".*/\1/'; }
P=$(op workspace create --name team | id_of)
OUT_A=$(op workspace create --name agent-a --parent "$P" --external)
OUT_B=$(op workspace create --name agent-b --parent "$P" --external)
A=$(echo "$OUT_A" | id_of) TOKA=$(echo "$OUT_A" | tok_of)
B=$(echo "$OUT_B" | id_of) TOKB=$(echo "$OUT_B" | tok_of)
[ -n "$TOKA" ] && [ -n "$TOKB" ] || fail "external workspaces come with tokens"
# B, the caller, is driven by hand: it registers in poll mode with its token.
curl -fs -X POST "$URL/registry/register" -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKB" \
  -d "{\"id\":\"$B\",\"url\":\"remote://no-inbound\",\"agent_card\":{\"name\":\"b\"}}" >/dev/null ||
  fail "register B"

# MALLOC_PERTURB_ fills fresh heap blocks with 'A' (190 ^ 0xff): a reply read from a buffer the
# handler never wrote to would be a run of A's rather than whatever the heap held.
start_connect() { # [token]: the first start gets the token the operator handed out
  env -u MOLECULE_PLATFORM_URL PLATFORM_URL="$URL" WORKSPACE_ID="$A" ${1:+MOLECULE_WORKSPACE_TOKEN=$1} \
    MALLOC_PERTURB_=190 \
    "$MOLECULE" connect --token-dir "$DIR/a" --handler 'tr a-z A-Z' --interval-s 1 \
    >>"$DIR/connect.log" 2>&1 &
  CPID=$!
}
connected() { [ "$(grep -c 'connected as' "$DIR/connect.log")" -ge "$1" ]; }
start_connect "$TOKA"
wait_for 10 connected 1 || fail "connect did not start"
[ "$(stat -c %a "$DIR/a/.auth_token")" = 600 ] || fail "token file mode"

curl -fs -X POST "$URL/workspaces/$A/a2a" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $TOKB" -H "X-Workspace-ID: $B" \
  -d '{"jsonrpc":"2.0","id":"1","method":"message/send","params":{"message":{"role":"user","messageId":"m-1","parts":[{"kind":"text","text":"hello from b"}]}}}' \
  | grep -q '"queued"' || fail "A2A proxy did not queue the message for the poll-mode agent"
b_feed() { curl -fs "$URL/workspaces/$B/activity?type=a2a_receive" -H "Authorization: Bearer $TOKB"; }
wait_for 15 sh -c "$(command -v curl) -fs '$URL/workspaces/$B/activity?type=a2a_receive' -H 'Authorization: Bearer $TOKB' | grep -q 'HELLO FROM B'" ||
  fail "the handler's reply did not reach B's activity feed"
b_feed | grep -q "\"source_id\":\"$A\"" || fail "the reply is not from A"

# A canvas user (no caller id): the reply goes to A's notify feed.
curl -fs -X POST "$URL/workspaces/$A/a2a" -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":"2","method":"message/send","params":{"message":{"role":"user","messageId":"m-2","parts":[{"kind":"text","text":"hi canvas"}]}}}' \
  >/dev/null || fail "canvas message"
[ "$(cat "$DIR/a/.auth_token")" = "$TOKA" ] || fail "the token from the environment was not saved"
wait_for 15 sh -c "$(command -v curl) -fs '$URL/workspaces/$A/activity' -H 'Authorization: Bearer $TOKA' | grep -q 'HI CANVAS'" ||
  fail "the canvas reply was not notified"

# An empty message: `tr` prints nothing, so nothing is sent; the next reply is the only new one.
canvas() {
  curl -fs -X POST "$URL/workspaces/$A/a2a" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":\"3\",\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"$2\",\"parts\":[{\"kind\":\"text\",\"text\":\"$1\"}]}}}" \
    >/dev/null || fail "canvas message '$1'"
}
a_feed() { curl -fs "$URL/workspaces/$A/activity" -H "Authorization: Bearer $TOKA"; }
notifies() { a_feed | grep -o '"method":"notify"' | wc -l; }
before=$(notifies)
canvas "" m-3
canvas "after blank" m-4
wait_for 15 sh -c "$(command -v curl) -fs '$URL/workspaces/$A/activity' -H 'Authorization: Bearer $TOKA' | grep -q 'AFTER BLANK'" ||
  fail "the reply after the blank message was not notified"
[ "$(notifies)" -eq $((before + 1)) ] || fail "a reply was sent for empty handler output: $(a_feed)"
! grep -q "cannot reply" "$DIR/connect.log" || fail "empty handler output was taken for a reply"

op pause "$A" >/dev/null || fail "pause"
wait_for 15 sh -c "! kill -0 $CPID 2>/dev/null" || fail "connect did not exit after pause"
wait "$CPID" || fail "connect exit status after pause: $?"
CPID=
grep -q "workspace paused" "$DIR/connect.log" || fail "pause not reported"

op resume "$A" >/dev/null || fail "resume"
start_connect
wait_for 10 connected 2 || fail "connect did not restart with its saved token"
# A message sent after the restart is handled after anything the restart could replay (one at
# a time, in order): once its reply is in, a replay would have happened.
canvas "after restart" m-5
wait_for 15 sh -c "$(command -v curl) -fs '$URL/workspaces/$A/activity' -H 'Authorization: Bearer $TOKA' | grep -q 'AFTER RESTART'" ||
  fail "the message after the restart was not answered"
kill -TERM "$CPID"
wait "$CPID" || fail "connect exit status after SIGTERM: $?"
CPID=
grep -q "shutting down cleanly" "$DIR/connect.log" || fail "signal not reported"
replies() { b_feed | grep -o '"data":{"source":"peer_agent","kind":"message/send","text":"HELLO FROM B"' | wc -l; }
[ "$(replies)" -eq 1 ] || fail "a handled message was replayed after the restart: $(b_feed)"
echo ok
