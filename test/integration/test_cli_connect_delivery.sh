#!/bin/sh
# `molecule connect`'s delivery promises, end to end as processes against a real
# `molecule platform --dev` (needs curl and python3):
#  - exactly once within a run: when the platform loses the cursor row while older rows remain
#    (a restore from backup, say), it answers 410, the cursor is reset, and the newest-first
#    listing that follows brings already handled messages again; none reaches the handler twice;
#  - at least once across a restart: SIGTERM while a slow handler runs and more messages wait;
#    after a restart every message whose handler had not finished is delivered, in order, and
#    none that had finished is replayed;
#  - nothing lost to a full queue: 155 messages behind a slow handler (connect started with
#    --max-queued 150, fetching 100 at a time) are all handled, each once.
# The handler (a script) logs "start ID TEXT" and "done ID TEXT"; a message whose text begins
# with "block" waits on a FIFO while $GATE is set, so a slow handler is under the test's control.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molconnd-XXXXXX)
PORT=$((10000 + ($$ + 4099) % 22000))
URL="http://127.0.0.1:$PORT"
LOG=$DIR/handled.log
cleanup() {
  [ -z "${CPID:-}" ] || kill "$CPID" 2>/dev/null || :
  [ -z "${PID:-}" ] || kill "$PID" 2>/dev/null || :
  [ -n "${KEEP:-}" ] || rm -rf "$DIR" # KEEP=1 keeps the logs for a look after a failure
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- platform"; cat "$DIR/platform.log"
  echo "--- connect"; cat "$DIR/connect.log" 2>/dev/null || true
  echo "--- handler"; cat "$LOG" 2>/dev/null || true
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
OUT=$("$MOLECULE" platform workspace create --name agent --external --platform "$URL" --db "$DIR/p.db")
A=$(echo "$OUT" | sed 's/.*"id":"\([^"]*\)".*/\1/')
TOKA=$(echo "$OUT" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
[ -n "$A" ] && [ -n "$TOKA" ] || fail "workspace create: $OUT"

mkfifo "$DIR/gate"
cat >"$DIR/handler.sh" <<'EOF'
IFS= read -r text || : # the text comes without a newline; read is a builtin: no fork
echo "start $MOLECULE_ACTIVITY_ID $text" >>"$LOG"
case "$text" in block*) [ -z "${GATE:-}" ] || cat "$GATE" >/dev/null ;; esac
echo "done $MOLECULE_ACTIVITY_ID $text" >>"$LOG"
EOF
: >"$LOG"
start_connect() { # [gate [connect options...]]: with a gate, "block" messages wait on it
  gate=${1:-}
  [ $# -gt 0 ] && shift
  env LOG="$LOG" ${gate:+GATE=$gate} PLATFORM_URL="$URL" WORKSPACE_ID="$A" MOLECULE_WORKSPACE_TOKEN="$TOKA" \
    "$MOLECULE" connect --token-dir "$DIR/a" --handler "sh $DIR/handler.sh" --interval-s 1 \
    --verbose "$@" >>"$DIR/connect.log" 2>&1 &
  CPID=$!
}
connected() { [ "$(grep -c 'connected as' "$DIR/connect.log")" -ge "$1" ]; }
send() { # text -> the activity id of the queued message (a canvas message: no caller)
  curl -fs -X POST "$URL/workspaces/$A/a2a" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"$1\",\"parts\":[{\"kind\":\"text\",\"text\":\"$1\"}]}}}" |
    sed -n 's/.*"activity_id":"\([^"]*\)".*/\1/p'
}
logged() { grep -q "^$1 $2 " "$LOG"; }  # start|done id
count() { grep -c "^$1 $2 " "$LOG" || true; }
cursor_is() { [ "$(cat "$DIR/a/.inbound_cursor" 2>/dev/null)" = "$1" ]; }

start_connect "$DIR/gate"
wait_for 10 connected 1 || fail "connect did not start"

# ---- 1. a cursor row lost while older rows remain: the replayed rows are not handled again --
D1=$(send d1) D2=$(send d2)
[ -n "$D1" ] && [ -n "$D2" ] || fail "the proxy did not queue d1/d2"
wait_for 15 logged done "$D2" || fail "d1, d2 were not handled"
wait_for 10 cursor_is "$D2" || fail "the cursor did not reach d2"
python3 - "$DIR/p.db" "$D2" <<'EOF' || fail "cannot delete the cursor row"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
with db:
    n = db.execute("DELETE FROM activity WHERE id = ?", (sys.argv[2],)).rowcount
sys.exit(0 if n == 1 else 1)
EOF
D3=$(send d3)
wait_for 15 logged done "$D3" || fail "d3 was not handled after the cursor reset"
grep -q "activity cursor $D2 is gone (410)" "$DIR/connect.log" ||
  fail "the platform did not answer 410 for the lost cursor row (the replay was not exercised)"
for id in "$D1" "$D2" "$D3"; do
  [ "$(count start "$id")" -eq 1 ] || fail "message $id reached the handler $(count start "$id") times"
done

# ---- 2. SIGTERM with a slow handler and messages waiting; restart delivers the rest ---------
R1=$(send r1)
wait_for 15 logged done "$R1" || fail "r1 was not handled"
R2=$(send block-r2) R3=$(send r3) R4=$(send r4)
wait_for 15 logged start "$R2" || fail "the slow handler did not start"
wait_for 10 cursor_is "$R4" || fail "connect did not fetch r3, r4"
kill -TERM "$CPID"
wait "$CPID" || fail "connect exit status after SIGTERM: $?"
CPID=
! logged done "$R2" || fail "the slow handler was not stopped"
echo "--- restart" >>"$LOG"
start_connect # no gate now: the slow message goes through
wait_for 10 connected 2 || fail "connect did not restart"
R5=$(send r5)
wait_for 15 logged done "$R5" || fail "r5 was not handled after the restart"
after=$(sed -n '/^--- restart$/,$p' "$LOG" | sed -n 's/^done \([^ ]*\) .*/\1/p' | tr '\n' ' ')
[ "$after" = "$R2 $R3 $R4 $R5 " ] ||
  fail "after the restart, want r2 r3 r4 r5 ($R2 $R3 $R4 $R5), handled: $after"
kill -TERM "$CPID"
wait "$CPID" || fail "connect exit status after the second SIGTERM: $?"
CPID=

# ---- 3. more messages than connect holds (--max-queued 150): none is lost --------------------
start_connect "$DIR/gate" --max-queued 150
wait_for 10 connected 3 || fail "connect did not start a third time"
Q0=$(send block-q0)
wait_for 15 logged start "$Q0" || fail "the slow handler did not start"
# 154 more in one curl (keep-alive) while the handler is held: more than connect may hold.
curl -fs -X POST "$URL/workspaces/$A/a2a?n=[1-154]" -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":"1","method":"message/send","params":{"message":{"role":"user","messageId":"q","parts":[{"kind":"text","text":"q"}]}}}' |
  grep -o '"activity_id":"[^"]*"' | cut -d'"' -f4 >"$DIR/q.ids" || fail "posting the burst"
[ "$(wc -l <"$DIR/q.ids")" -eq 154 ] || fail "the proxy queued $(wc -l <"$DIR/q.ids") of 154"
wait_for 60 grep -q "messages waiting for the handler" "$DIR/connect.log" ||
  fail "connect never held a full queue"
held=$(sed -n 's/.* \([0-9]*\) messages waiting for the handler.*/\1/p' "$DIR/connect.log" | tail -1)
[ "$held" -gt 50 ] && [ "$held" -le 150 ] ||
  fail "connect paused with $held messages waiting (want 51-150: room for less than a batch of 100)"
echo >"$DIR/gate" # the slow handler finishes; the queue drains
QL=$(send q-last)
wait_for 240 logged done "$QL" || fail "the message after the burst was not handled"
sed -n 's/^done \([^ ]*\) q$/\1/p' "$LOG" | sort >"$DIR/q.handled"
sort "$DIR/q.ids" >"$DIR/q.want"
lost=$(comm -23 "$DIR/q.want" "$DIR/q.handled" | wc -l)
twice=$(uniq -d "$DIR/q.handled" | wc -l)
[ "$lost" -eq 0 ] && [ "$twice" -eq 0 ] ||
  fail "of the 154 burst messages, $lost were lost and $twice handled twice"
kill -TERM "$CPID"
wait "$CPID" || fail "connect exit status after the third SIGTERM: $?"
CPID=
echo ok
