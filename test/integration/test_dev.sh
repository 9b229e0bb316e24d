#!/bin/sh
# The main job: `molecule dev --once` brings up the platform and three agents, the canvas asks
# the coordinator through the platform, the coordinator finds its team (its children on the
# platform) and sends the task to each member with the route_task_to_team tool, which waits for
# each member's reply; each worker commits a memory and recalls it (commit_memory,
# search_memory), and the answer names both. A second run on the same database reuses the
# organisation, and the workers recall the first run's memories too. A third, without --once
# and on ports the OS picks, shows the agents' status until SIGINT stops it (exit 0). A fourth,
# with HERMES_API_BASE at @dwmkerr/mock-llm, has a model drive the workers' core tools.
# Usage: test_dev.sh MOLECULE_BIN (MOL_SOURCE_ROOT set; needs node and `npm ci` in
# test/interop/mock-llm)
set -eu
molecule=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() {
  # A proxy in the environment that nothing listens on: the demo's platform and agents are
  # local, and the platform's dispatch never goes through a proxy (its SSRF check would not hold).
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
  HOME="$dir" timeout 60 "$molecule" dev --once --db "$dir/dev.db" \
    --platform-listen "127.0.0.1:$(free_port)" --listen "127.0.0.1:$(free_port)" >"$dir/out" 2>"$dir/err" || {
    echo "molecule dev failed:"; cat "$dir/out" "$dir/err"; exit 1; }
}
expect() { grep -q -- "$1" "$dir/out" || { echo "missing: $1"; cat "$dir/out"; exit 1; }; }

run
expect "created workspace coordinator"
expect "all three agents registered and online"
expect "\[coordinator\] route_task_to_team: 2 team members"
expect "\[coordinator\] route_task_to_team -> researcher: answered"
expect "\[researcher\] commit_memory: memory "
expect "\[writer\] search_memory: 1 memories"
expect "\[coordinator\] route_task_to_team -> writer: answered"
expect "- researcher: as the researcher, I noted it (memory .*) and recall 1 memories, the newest: \"the researcher was asked: "
expect "- writer: as the writer, I noted it"
expect "stopped"
if grep -q "401 from" "$dir/out" "$dir/err"; then echo "a call raced its agent's registration:"; cat "$dir/err"; exit 1; fi
# The demo keeps its tokens beside its database, never in ~/.molecule.
[ ! -e "$dir/.molecule" ] || { echo "molecule dev wrote to ~/.molecule:"; find "$dir/.molecule"; exit 1; }
ntokens=$(find "$dir/dev.db.tokens" -name .auth_token 2>/dev/null | wc -l)
[ "$ntokens" = 3 ] || { echo "expected 3 tokens under dev.db.tokens, found $ntokens"; exit 1; }
run
expect "found workspace coordinator"
expect "- writer: as the writer, I noted it (memory .*) and recall 2 memories"

# Until Ctrl-C, on ports the OS picks: the agents' URLs carry the port they got.
HOME="$dir" "$molecule" dev --db "$dir/dev.db" --platform-listen 127.0.0.1:0 --listen 127.0.0.1:0 \
  >"$dir/out" 2>"$dir/err" &
pid=$!
online() { [ "$(grep -c '^  [a-z]* *[a-z]* *online ' "$dir/out")" -ge 3 ]; }
n=400
while [ "$n" -gt 0 ] && ! online; do
  kill -0 "$pid" 2>/dev/null || { echo "molecule dev exited:"; cat "$dir/out" "$dir/err"; exit 1; }
  sleep 0.05
  n=$((n - 1))
done
online || { echo "the status view never showed three agents online:"; cat "$dir/out" "$dir/err"; kill "$pid"; exit 1; }
expect "agents started on http://127.0.0.1:[1-9][0-9]*/agents/<name>/"
expect "- researcher: as the researcher"
kill -INT "$pid"
wait "$pid" || { echo "molecule dev: exit status $? after SIGINT"; cat "$dir/out" "$dir/err"; exit 1; }
expect "stopping..."
expect "stopped"
# With HERMES_API_BASE the workers are chat agents and a model drives their core tools: the
# model (@dwmkerr/mock-llm) is offered the six core tools, calls commit_memory, and answers
# only once the tool's result says the platform stored it.
llm="${MOL_SOURCE_ROOT:?}/test/interop/mock-llm"
[ -d "$llm/node_modules/@dwmkerr/mock-llm" ] || { echo "run npm ci in $llm"; exit 1; }
core="'delegate_to_workspace,check_delegation_status,request_approval,commit_memory,search_memory,run_code'"
reply='{"id":"x","object":"chat.completion","created":1,"model":"mock","choices":[{"index":0,"message":{"role":"assistant",'
cat >"$dir/llm.yaml" <<YAML
rules:
  - path: "^/dev/v1/chat/completions$"
    method: "POST"
    match: "body.messages[-1].role == 'user' && body.tool_choice == 'auto' && join(',', body.tools[*].function.name) == $core"
    response:
      status: 200
      content: '$reply"content":null,"tool_calls":[{"id":"k1","type":"function","function":{"name":"commit_memory","arguments":"{\"content\":\"asked by the coordinator\"}"}}]},"finish_reason":"tool_calls"}]}'
  - path: "^/dev/v1/chat/completions$"
    method: "POST"
    match: "body.messages[-1].tool_call_id == 'k1' && contains(body.messages[-1].content, 'success') && !contains(body.messages[-1].content, 'error')"
    response:
      status: 200
      content: '$reply"content":"the model noted it in memory"},"finish_reason":"stop"}]}'
YAML
lport=$(free_port)
(cd "$llm" && HOST=127.0.0.1 PORT=$lport exec node node_modules/@dwmkerr/mock-llm/dist/main.js \
  --config "$dir/llm.yaml") >"$dir/llm.log" 2>&1 &
lpid=$!
trap 'kill "$lpid" 2>/dev/null; rm -rf "$dir"' EXIT
n=100
while [ "$n" -gt 0 ] && ! grep -q " running on " "$dir/llm.log"; do sleep 0.1; n=$((n - 1)); done
grep -q " running on " "$dir/llm.log" || { echo "mock-llm did not start:"; cat "$dir/llm.log"; exit 1; }
HERMES_API_BASE="http://127.0.0.1:$lport/dev/v1" run
expect "workers answer with HERMES_API_BASE"
expect "- researcher: the model noted it in memory"
expect "- writer: the model noted it in memory"
echo "ok: molecule dev answered twice, reusing its organisation, and ran until SIGINT; a model drove the workers' tools"
