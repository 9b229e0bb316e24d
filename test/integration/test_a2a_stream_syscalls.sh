#!/bin/sh
# The writes of an A2A stream, counted with strace on `molecule serve --task-mode`: the task
# goes out with the response head, then working, the artifact, completed and the end of the
# stream, all raised in one timer pass, go out in one write. Before, the server wrote each
# event as it came (five writes a stream). Skipped (exit 77, reported as SKIP) only where
# strace or curl is missing or ptrace is not allowed.
set -eu
MOLECULE=$1
N=100
DIR=$(mktemp -d /tmp/molstream-XXXXXX)
SP=""
cleanup() {
  [ -n "$SP" ] && kill "$SP" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$DIR"/*; do echo "--- $f"; tail -30 "$f"; done
  exit 1
}
command -v strace >/dev/null || { echo "SKIP: no strace"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: no curl"; exit 77; }
strace -f -o /dev/null true 2>/dev/null || { echo "SKIP: ptrace not allowed"; exit 77; }

"$MOLECULE" serve --listen 127.0.0.1:0 --task-mode >"$DIR/serve.log" 2>&1 &
SP=$!
n=400
while [ "$n" -gt 0 ] && ! grep -qs "listening on" "$DIR/serve.log"; do sleep 0.05; n=$((n - 1)); done
PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$DIR/serve.log" | head -1)
[ -n "$PORT" ] || fail "serve did not start"
# Attached to the running server; strace says when it is (a readiness signal, not a delay).
strace -f -c -e trace=write,writev,sendmsg,sendto -o "$DIR/strace.txt" -p "$SP" 2>"$DIR/strace.err" &
TP=$!
n=400
while [ "$n" -gt 0 ] && ! grep -qs "attached" "$DIR/strace.err"; do sleep 0.05; n=$((n - 1)); done
grep -qs "attached" "$DIR/strace.err" || fail "strace did not attach"

BODY='{"jsonrpc":"2.0","id":1,"method":"message/stream","params":{"message":{"role":"user","messageId":"m","parts":[{"kind":"text","text":"hi"}]}}}'
URLS=$(i=0; while [ $i -lt $N ]; do echo "http://127.0.0.1:$PORT/"; i=$((i + 1)); done)
# One curl, one keep-alive connection, N streams one after the other. (The server is not run
# under a sanitizer's leak check here: it is killed, not stopped, once counted.)
# shellcheck disable=SC2086
curl -sS -N -H 'Content-Type: application/json' -d "$BODY" $URLS >"$DIR/streams.txt" ||
  fail "curl failed"
kill -INT "$TP" # detaches and writes the counts
wait "$TP" || true
EVENTS=$(grep -c '^data: ' "$DIR/streams.txt" || true)
[ "$EVENTS" -eq $((N * 4)) ] || fail "got $EVENTS events for $N streams (want 4 each)"
FINALS=$(grep -c '"state":"completed".*"final":true' "$DIR/streams.txt" || true)
[ "$FINALS" -eq "$N" ] || fail "$FINALS of $N streams ended completed"
calls() { awk -v s="$1" '$NF == s { print ($4 ~ /^[0-9]+$/) ? $4 : 0 }' "$DIR/strace.txt"; }
W=$(calls write); WV=$(calls writev); SM=$(calls sendmsg); ST=$(calls sendto)
WRITES=$(( ${W:-0} + ${WV:-0} + ${SM:-0} + ${ST:-0} ))
echo "streams $N: $WRITES writes"
# Two per stream (the head with the task; everything after it), and a few for the logs.
[ "$WRITES" -le $((N * 2 + 20)) ] || fail "$WRITES writes for $N streams (want at most 2 each)"
echo "ok"
