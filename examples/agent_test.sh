#!/bin/sh
# Runs examples/agent.c as a process registered with a real `molecule platform --dev`, and
# talks to it with `molecule call`, the platform's A2A proxy (a sibling's message), curl and
# the real @a2a-js/sdk client:
#  - it registers its own URL (push mode) with the workspace's token;
#  - a reply (words reversed) straight and through the proxy; the streamed countdown, each
#    chunk arriving while the agent still counts; a2a-js send + stream, and a2a-js canceling
#    a long countdown (the task is canceled only once the agent's turn has stopped);
#  - GET /transcript with the token (and 401 without); SIGTERM ends it with status 0.
# Usage: agent_test.sh MOLECULE_BIN AGENT_BIN (MOL_SOURCE_ROOT names the source tree)
set -eu
MOLECULE=$1 AGENT=$2
ROOT=${MOL_SOURCE_ROOT:?MOL_SOURCE_ROOT must name the source tree}
JSDIR="$ROOT/test/interop/a2a-js"
DIR=$(mktemp -d /tmp/molagent-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
cleanup() {
  for p in ${APID:-} ${PID:-}; do kill "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$DIR"/*.log; do echo "--- $f"; cat "$f"; done
  exit 1
}
wait_for() { # seconds command...: polls every 0.05 s
  n=$(($1 * 20)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done
  return 1
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }
[ -d "$JSDIR/node_modules" ] || fail "$JSDIR/node_modules is missing: run npm ci there"

"$MOLECULE" platform --dev --listen "127.0.0.1:$PORT" --db "$DIR/p.db" >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 10 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
ADMIN=$(cat "$DIR/p.db.admin_token")
op() { "$MOLECULE" platform "$@" --platform "$URL" --db "$DIR/p.db"; }
id_of() { sed 's/.*"id":"\([^"]*\)".*/\1/'; }
tok_of() { sed 's/.*"auth_token":"\([^"]*\)".*/\1/'; }
P=$(op workspace create --name team | id_of)
OUT_A=$(op workspace create --name countdown --parent "$P" --external)
OUT_B=$(op workspace create --name caller --parent "$P" --external)
A=$(echo "$OUT_A" | id_of) TOKA=$(echo "$OUT_A" | tok_of)
B=$(echo "$OUT_B" | id_of) TOKB=$(echo "$OUT_B" | tok_of)
curl -fs -X POST "$URL/registry/register" -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKB" \
  -d "{\"id\":\"$B\",\"url\":\"remote://no-inbound\",\"agent_card\":{\"name\":\"b\"}}" >/dev/null ||
  fail "register B"

# ---- the agent registers -------------------------------------------------------------------
env PLATFORM_URL="$URL" WORKSPACE_ID="$A" MOLECULE_WORKSPACE_TOKEN="$TOKA" MOLECULE_TOKEN_DIR="$DIR/a" \
  "$AGENT" >"$DIR/agent.log" 2>&1 &
APID=$!
wait_for 10 grep -q '^registered ' "$DIR/agent.log" || fail "the agent did not register"
AURL=$(sed -n 's/^registered //p' "$DIR/agent.log")
ws_get() { curl -fs "$URL/workspaces/$A" -H "Authorization: Bearer $ADMIN"; }
ws_get | json "d['url'] == '$AURL' and d['delivery_mode'] == 'push' and d['status'] == 'online'" ||
  fail "the platform does not have the agent's URL: $(ws_get)"

# ---- replies: straight, and a sibling's through the platform's proxy -----------------------
[ "$("$MOLECULE" call "$AURL" "one two  three")" = "three two one" ] ||
  fail "molecule call: $("$MOLECULE" call "$AURL" "one two  three" 2>&1)"
curl -fsS -X POST "$URL/workspaces/$A/a2a" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $TOKB" -H "X-Workspace-ID: $B" \
  -d '{"jsonrpc":"2.0","id":"p1","method":"message/send","params":{"message":{"role":"user","messageId":"p1","parts":[{"kind":"text","text":"from b to a"}]}}}' \
  >"$DIR/proxy.out" || fail "proxy call: $(cat "$DIR/proxy.out")"
json "d['result']['parts'][0]['text'] == 'a to b from'" <"$DIR/proxy.out" ||
  fail "the proxy's answer: $(cat "$DIR/proxy.out")"

# ---- the countdown streams: a chunk arrives while the agent is still counting --------------
"$MOLECULE" call --stream "$AURL" "countdown 20" >"$DIR/stream.out" 2>"$DIR/stream.err" &
CALL=$!
wait_for 10 grep -q '^18$' "$DIR/stream.out" || fail "no chunk streamed: $(cat "$DIR/stream.out")"
grep -q 'liftoff' "$DIR/stream.out" && fail "the whole countdown came at once"
wait "$CALL" || fail "stream call: $(cat "$DIR/stream.err")"
[ "$(tr '\n' ' ' <"$DIR/stream.out" | sed 's/ *$//')" = "$(seq 20 -1 1 | tr '\n' ' ')liftoff" ] ||
  fail "stream output: $(cat "$DIR/stream.out")"
grep -q '^\[completed\]$' "$DIR/stream.err" || fail "the stream did not complete: $(cat "$DIR/stream.err")"

# ---- the real @a2a-js/sdk client: send + stream, and cancel --------------------------------
(cd "$JSDIR" && node reply.mjs "$AURL" "hello from a2a-js" "a2a-js from hello") >"$DIR/node.log" 2>&1 ||
  fail "a2a-js reply"
(cd "$JSDIR" && node countdown.mjs "$AURL" 3) >"$DIR/node-stream.log" 2>&1 || fail "a2a-js countdown"
(cd "$JSDIR" && node cancel.mjs "$AURL" "countdown 100000") >"$DIR/node-cancel.log" 2>&1 ||
  fail "a2a-js cancel"

# ---- the transcript, for the platform holding the token ------------------------------------
curl -fs "${AURL}transcript" -H "Authorization: Bearer $TOKA" >"$DIR/transcript.out" ||
  fail "transcript with the token"
json "'user: one two  three' in d['lines'] and 'agent: three two one' in d['lines']" <"$DIR/transcript.out" ||
  fail "transcript: $(cat "$DIR/transcript.out")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${AURL}transcript")" = 401 ] || fail "transcript without a token"

# ---- SIGTERM: a graceful stop, status 0 -------------------------------------------------------
kill -TERM "$APID"
wait "$APID" || fail "the agent's exit status after SIGTERM: $?"
APID=
grep -q 'agent ended (0)' "$DIR/agent.log" || fail "no graceful end"
echo ok
