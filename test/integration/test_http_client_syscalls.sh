#!/bin/sh
# The HTTP client's system calls per request on a keep-alive connection, counted with strace
# while `molecule bench` drives `molecule serve` on loopback: a request costs its write and
# the answer's read, nothing more. Before, libuv re-armed the socket's epoll mask (one
# epoll_ctl) after every request it wrote through uv_write. Skipped (exit 77, reported as
# SKIP) only where strace is missing or ptrace is not allowed.
set -eu
MOLECULE=$1
N=2000
DIR=$(mktemp -d /tmp/molsys-XXXXXX)
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
strace -f -o /dev/null true 2>/dev/null || { echo "SKIP: ptrace not allowed"; exit 77; }

"$MOLECULE" serve --listen 127.0.0.1:0 >"$DIR/serve.log" 2>&1 &
SP=$!
n=400
while [ "$n" -gt 0 ] && ! grep -qs "listening on" "$DIR/serve.log"; do sleep 0.05; n=$((n - 1)); done
PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$DIR/serve.log" | head -1)
[ -n "$PORT" ] || fail "serve did not start"

# LeakSanitizer cannot run under ptrace: in a sanitizer build the traced run checks no leaks
# (the bench's leaks are checked by the cli_bench tests, which run it untraced).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
  strace -f -c -e trace=write,read,epoll_ctl -o "$DIR/strace.txt" \
  "$MOLECULE" bench --json --no-progress "http://127.0.0.1:$PORT/" -n "$N" -c 4 \
  >"$DIR/bench.json" 2>"$DIR/bench.err" || fail "bench failed"
python3 - "$DIR/bench.json" "$N" <<'PY' || fail "bench lost requests"
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j['ok'] == int(sys.argv[2]) and j['errors'] == 0 else 1)
PY
calls() { awk -v s="$1" '$NF == s { print ($4 ~ /^[0-9]+$/) ? $4 : 0 }' "$DIR/strace.txt"; }
EPOLL=$(calls epoll_ctl); WRITES=$(calls write)
EPOLL=${EPOLL:-0}; WRITES=${WRITES:-0}
echo "requests $N: write $WRITES, epoll_ctl $EPOLL"
# Connections, the card fetch and the warm-up account for a few dozen; one per request is
# a regression.
[ "$WRITES" -ge "$N" ] || fail "strace saw only $WRITES writes for $N requests"
[ "$EPOLL" -lt $((N / 10)) ] || fail "$EPOLL epoll_ctl calls for $N requests"
echo "ok"
