#!/bin/sh
# Hosted chat agents act through their core tools, as processes over real sockets:
# `molecule platform --dev`, `molecule host` with chat agents whose model is @dwmkerr/mock-llm
# (scripted replies that call tools), and an echo agent in the same host as a delegation target.
#  - boss (inline entry, every core tool): the model is offered the six core tools in order; it
#    calls commit_memory, and the memory is on the platform (GET memories with boss's token);
#    the A2A reply is the model's final answer;
#  - boss again: the model calls delegate_to_workspace to the hosted echo agent, then
#    check_delegation_status; the reply is the model's answer and the platform's ledger shows
#    the delegation completed with the echo agent's reply;
#  - picky (config_dir whose config.yaml says `tools: [search_memory, commit_memory]`): the model
#    is offered exactly those two (in the core set's order);
#  - a `tools:` entry naming an unknown tool (or not a list of names) stops the host from
#    starting, the field named.
# Needs node, curl and `npm ci` in test/interop/mock-llm; missing any of them fails the test.
set -eu
MOLECULE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=${MOL_SOURCE_ROOT:?}
LLM="$ROOT/test/interop/mock-llm"
DIR=$(mktemp -d /tmp/molhosttools-XXXXXX)
PORT=$((10000 + ($$ + 7919) % 22000))
LPORT=$((10000 + ($$ + 13331) % 22000))
URL="http://127.0.0.1:$PORT"
cleanup() {
  for p in ${HPID:-} ${LPID:-} ${PID:-}; do kill "$p" 2>/dev/null || :; done
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
[ -d "$LLM/node_modules/@dwmkerr/mock-llm" ] || fail "run npm ci in $LLM"

# ---- a tools: list naming an unknown tool is refused, the field named ----
# (--check reads the file as a start does, then exits: a file it accepts exits 0). Executors
# other than chat offer no tools: their list is not checked, as upstream ignores it.
bad() { # yaml, expected text
  printf '%s' "$1" >"$DIR/bad.yaml"
  "$MOLECULE" host -c "$DIR/bad.yaml" --check >"$DIR/bad.out" 2>&1 && fail "accepted: $1"
  grep -q "$2" "$DIR/bad.out" || fail "message for '$1': $(cat "$DIR/bad.out")"
}
printf 'agents:\n  - {name: a, executor: chat, tools: [run_code, commit_memory]}\n  - {name: b, tools: [web_search]}\n' >"$DIR/good.yaml"
"$MOLECULE" host -c "$DIR/good.yaml" --check >"$DIR/good.out" 2>&1 ||
  fail "a valid tools list refused: $(cat "$DIR/good.out")"
bad "agents:
  - name: a
    executor: chat
    tools: [commit_memory, read_minds]
" "agents\[0\].tools: unknown tool 'read_minds'"
bad "agents:
  - {name: a, executor: chat, tools: commit_memory}
" "agents\[0\].tools: must be a list of tool names"
mkdir "$DIR/badcfg"
printf 'name: Bad\ntools: [run_code, 7]\n' >"$DIR/badcfg/config.yaml"
bad "agents:
  - {name: a, executor: chat, config_dir: badcfg}
" "agents\[0\].tools: must be a list of tool names"

# ---- the platform and the workspaces ----
"$MOLECULE" platform --listen "127.0.0.1:$PORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 100 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
op() { MOLECULE_PLATFORM_URL="$URL" "$MOLECULE" platform "$@" --db "$DIR/p.db"; }
TEAM=$(op workspace create --name team | sed 's/.*"id":"\([^"]*\)".*/\1/')
workspace() { # name -> WID and WTOK, the token saved in $DIR/tok-<name>
  out=$(op workspace create --name "$1" --parent "$TEAM" --external)
  WID=$(echo "$out" | sed 's/.*"id":"\([^"]*\)".*/\1/')
  WTOK=$(echo "$out" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
  [ -n "$WID" ] && [ -n "$WTOK" ] || fail "workspace $1: $out"
  mkdir -m 700 "$DIR/tok-$1"
  printf '%s' "$WTOK" >"$DIR/tok-$1/.auth_token"
  chmod 600 "$DIR/tok-$1/.auth_token"
}
workspace boss; BOSS=$WID; BTOKEN=$WTOK
workspace helper; HELPER=$WID
workspace picky; PICKY=$WID

# ---- the model: mock-llm scripts keyed on what the agent sent ----
OK='{"id":"x","object":"chat.completion","created":1,"model":"mock","choices":[{"index":0,"message":{"role":"assistant","content":'
CALL='{"id":"x","object":"chat.completion","created":1,"model":"mock","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"type":"function","id":'
CORE="'delegate_to_workspace,check_delegation_status,request_approval,commit_memory,search_memory,run_code'"
USER="to_string(body.messages[?role=='user'].content)"
cat >"$DIR/llm.yaml" <<YAML
rules:
  # boss, "remember": commit_memory, then the answer once the tool said it succeeded.
  - path: "^/boss/v1/chat/completions$"
    method: "POST"
    match: "contains($USER, 'remember') && body.messages[-1].role == 'user' && body.tool_choice == 'auto' && join(',', body.tools[*].function.name) == $CORE"
    response:
      status: 200
      content: '$CALL"m1","function":{"name":"commit_memory","arguments":"{\"content\":\"The launch colour is teal.\",\"scope\":\"LOCAL\"}"}}]},"finish_reason":"tool_calls"}]}'
  - path: "^/boss/v1/chat/completions$"
    method: "POST"
    match: "contains($USER, 'remember') && body.messages[-1].role == 'tool' && body.messages[-1].tool_call_id == 'm1' && contains(body.messages[-1].content, 'success') && !contains(body.messages[-1].content, 'error')"
    response:
      status: 200
      content: '$OK"Noted: the launch colour is teal."},"finish_reason":"stop"}]}'
  # boss, "ask the helper": delegate_to_workspace, check_delegation_status, the answer.
  - path: "^/boss/v1/chat/completions$"
    method: "POST"
    match: "contains($USER, 'helper') && body.messages[-1].role == 'user' && join(',', body.tools[*].function.name) == $CORE"
    response:
      status: 200
      content: '$CALL"d1","function":{"name":"delegate_to_workspace","arguments":"{\"workspace_id\":\"$HELPER\",\"task\":\"ping from boss\"}"}}]},"finish_reason":"tool_calls"}]}'
  - path: "^/boss/v1/chat/completions$"
    method: "POST"
    match: "contains($USER, 'helper') && body.messages[-1].tool_call_id == 'd1' && contains(body.messages[-1].content, 'delegated') && contains(body.messages[-1].content, 'task_id')"
    response:
      status: 200
      content: '$CALL"d2","function":{"name":"check_delegation_status","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}'
  - path: "^/boss/v1/chat/completions$"
    method: "POST"
    match: "contains($USER, 'helper') && body.messages[-1].tool_call_id == 'd2' && contains(body.messages[-1].content, '$HELPER')"
    response:
      status: 200
      content: '$OK"I asked the helper."},"finish_reason":"stop"}]}'
  # picky: offered exactly its two tools, in the core set's order.
  - path: "^/picky/v1/chat/completions$"
    method: "POST"
    match: "join(',', body.tools[*].function.name) == 'commit_memory,search_memory'"
    response:
      status: 200
      content: '$OK"two tools"},"finish_reason":"stop"}]}'
YAML
(cd "$LLM" && HOST=127.0.0.1 PORT=$LPORT exec node node_modules/@dwmkerr/mock-llm/dist/main.js \
  --config "$DIR/llm.yaml") >"$DIR/llm.log" 2>&1 &
LPID=$!
wait_for 100 grep -q " running on " "$DIR/llm.log" || fail "mock-llm did not start"

# ---- the host: two chat agents and an echo agent ----
mkdir "$DIR/picky"
printf 'name: Picky\ntools:\n  - search_memory\n  - commit_memory\n' >"$DIR/picky/config.yaml"
cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:0
platform_url: $URL
agents:
  - name: boss
    workspace_id: $BOSS
    token_dir: $DIR/tok-boss
    executor: chat
    api_base: http://127.0.0.1:$LPORT/boss/v1
  - name: helper
    workspace_id: $HELPER
    token_dir: $DIR/tok-helper
  - name: picky
    config_dir: picky
    workspace_id: $PICKY
    token_dir: $DIR/tok-picky
    executor: chat
    api_base: http://127.0.0.1:$LPORT/picky/v1
YAML
"$MOLECULE" host -c "$DIR/host.yaml" >"$DIR/host.log" 2>&1 &
HPID=$!
wait_for 100 grep -q "listening on" "$DIR/host.log" || fail "host did not start"
HPORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/host.log")
for a in boss helper picky; do
  wait_for 100 grep -q "$a: registered as" "$DIR/host.log" || fail "$a did not register"
done
ask() { # agent, text -> the JSON-RPC reply
  curl -fs -X POST "http://127.0.0.1:$HPORT/agents/$1/" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"m-$$-$1-$(date +%s%N)\",\"parts\":[{\"kind\":\"text\",\"text\":\"$2\"}]}}}"
}

# ---- commit_memory: the model's call reaches the platform ----
REPLY=$(ask boss "Please remember the launch colour.") || fail "boss did not answer"
echo "$REPLY" | grep -q '"text":"Noted: the launch colour is teal."' || fail "boss reply: $REPLY"
MEM=$(curl -fs "$URL/workspaces/$BOSS/memories" -H "Authorization: Bearer $BTOKEN") ||
  fail "memories of boss"
echo "$MEM" | grep -q '"content":"The launch colour is teal."' || fail "memory not on the platform: $MEM"
echo "$MEM" | grep -q '"scope":"LOCAL"' || fail "memory scope: $MEM"

# ---- delegate_to_workspace: the hosted echo agent answers the delegation ----
REPLY=$(ask boss "Ask the helper to ping.") || fail "boss did not answer"
echo "$REPLY" | grep -q '"text":"I asked the helper."' || fail "boss reply: $REPLY"
ledger_done() {
  curl -fs "$URL/workspaces/$BOSS/delegations" -H "Authorization: Bearer $BTOKEN" >"$DIR/ledger.json" &&
    grep -q '"status":"completed"' "$DIR/ledger.json"
}
wait_for 100 ledger_done || fail "the delegation did not complete: $(cat "$DIR/ledger.json")"
grep -q "\"target_id\":\"$HELPER\"" "$DIR/ledger.json" || fail "delegation target: $(cat "$DIR/ledger.json")"
grep -q 'echo: ping from boss' "$DIR/ledger.json" || fail "helper's reply: $(cat "$DIR/ledger.json")"

# ---- picky: the config.yaml list is what the model is offered ----
REPLY=$(ask picky "Which tools?") || fail "picky did not answer"
echo "$REPLY" | grep -q '"text":"two tools"' || fail "picky reply: $REPLY"

kill -TERM "$HPID"
wait "$HPID" || fail "host exit status"
HPID=
echo "host tools: passed"
