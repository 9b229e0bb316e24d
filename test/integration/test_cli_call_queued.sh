#!/bin/sh
# `molecule call` through the platform's A2A proxy when the proxy queues the message: the 202
# {"queued":true} hand-off and the poll-mode {"status":"queued",...} envelope are successes
# (exit 0, "molecule call: queued (queue id ...)" on stderr), not terminal, and the message is sent exactly once (a
# retry would deliver it twice). A 200 that is neither JSON-RPC nor a hand-off still fails.
set -eu
MOLECULE=$1
FAKE=$2
DIR=$(mktemp -d /tmp/molcall-queued-XXXXXX)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$DIR"/*.err 2>/dev/null; exit 1; }

python3 "$FAKE" "$DIR/posts" >"$DIR/proxy.out" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q "listening on" "$DIR/proxy.out" && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/proxy.out")
[ -n "$PORT" ] || fail "the fake proxy did not start"

for shape in 202 poll; do
  : >"$DIR/posts"
  "$MOLECULE" call "http://127.0.0.1:$PORT/w/$shape/a2a" "hello" >"$DIR/$shape.out" 2>"$DIR/$shape.err" ||
    fail "$shape: exit $? ($(cat "$DIR/$shape.err"))"
  grep -q '^molecule call: queued (queue id' "$DIR/$shape.err" || fail "$shape: no queued note: $(cat "$DIR/$shape.err")"
  [ "$(grep -c "/w/$shape/a2a" "$DIR/posts")" = 1 ] || fail "$shape: sent $(wc -l <"$DIR/posts") times"
done

if "$MOLECULE" call "http://127.0.0.1:$PORT/w/other/a2a" "hello" >"$DIR/other.out" 2>"$DIR/other.err"; then
  fail "a non-JSON-RPC answer passed for a success"
fi
grep -q "not a JSON-RPC response" "$DIR/other.err" || fail "other: $(cat "$DIR/other.err")"
echo ok
