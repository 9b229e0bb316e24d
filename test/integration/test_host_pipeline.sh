#!/bin/sh
# The setup pipeline as processes: a config dir in the shape of an upstream workspace template
# (test/data/workspace-template) runs under `molecule host` against `molecule platform --dev`,
# its chat agent pointed at the real @dwmkerr/mock-llm, which answers "show prompt" with the
# system message it RECEIVED. Checked:
#  - that prompt, byte for byte: platform instructions, prompt files, MEMORY.md, plugin rules
#    (the workspace's plugins then the shared PLUGINS_DIR, a shadowed copy ignored), fragments,
#    the coordinator's team, skills (config.yaml's, runtime-filtered, then the plugin's from
#    <plugin>/skills/<id>), peers, the delegation-failure block, in upstream's order;
#  - the agent card (served and registered) lists the skills;
#  - the Agentskills install: rules in CLAUDE.md once per file, however often the agent starts;
#    the plugin's skill, command and settings fragment installed; a broken plugin reported;
#  - a peer that joins later reaches the prompt on the heartbeat's cadence;
#  - a parent's shared context (its config.yaml's shared_context files, served by the platform
#    from --configs) in its child's prompt;
#  - coordinator mode: the model is offered route_task_to_team, calls it for its child, and
#    the child's answer comes back to the model and out as the reply; the coordinator's /mcp
#    offers the same tool to the MCP SDK client (test/interop/mcp-sdk/route.mjs), a peer that
#    coordinates no one does not.
# Needs node, curl, python3 and `npm ci` in test/interop/mock-llm and test/interop/mcp-sdk.
set -eu
MOLECULE=$1
ROOT=${MOL_SOURCE_ROOT:?MOL_SOURCE_ROOT must name the source tree}
MOCK="$ROOT/test/interop/mock-llm/node_modules/@dwmkerr/mock-llm/dist/main.js"
TEMPLATE="$ROOT/test/data/workspace-template"
DIR=$(mktemp -d /tmp/molpipeline-XXXXXX)
MPORT=$((10000 + ($$ + 7321) % 22000))
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || :; done
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
[ -f "$MOCK" ] || fail "run npm ci in test/interop/mock-llm"
command -v node >/dev/null || fail "node is needed"

# ---- the platform, its workspaces, an instruction ----
# The workspaces' config dirs the platform reads a parent's shared context from (--configs):
# the writer shares team notes with its child, the scribe; a path climbing out, a FIFO and a
# missing file are skipped.
mkdir -p "$DIR/configs/writer"
printf 'name: Writer\nshared_context:\n  - team-notes.md\n  - ../outside.md\n  - pipe.md\n  - missing.md\n' \
  >"$DIR/configs/writer/config.yaml"
printf 'Ship the summary by Friday.\n' >"$DIR/configs/writer/team-notes.md"
printf 'Not shared.\n' >"$DIR/configs/outside.md"
mkfifo "$DIR/configs/writer/pipe.md"
"$MOLECULE" platform --dev --listen 127.0.0.1:0 --db "$DIR/p.db" --configs "$DIR/configs" \
  >"$DIR/platform.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 100 grep -q '^molecule platform: http://' "$DIR/platform.log" || fail "platform did not start"
URL=$(sed -n 's|^molecule platform: \(http://127.0.0.1:[0-9]*\) .*|\1|p' "$DIR/platform.log")
op() { MOLECULE_PLATFORM_URL="$URL" "$MOLECULE" platform "$@" --db "$DIR/p.db"; }
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
token_dir() { # workspace-create output, dir: the token file the agent starts with
  mkdir -m 700 "$2"
  printf '%s' "$(echo "$1" | field auth_token)" >"$2/.auth_token"
  chmod 600 "$2/.auth_token"
}
OUT=$(op workspace create --name researcher --external); R=$(echo "$OUT" | field id)
token_dir "$OUT" "$DIR/tok-r"
OUT=$(op workspace create --name writer --external); W=$(echo "$OUT" | field id)
token_dir "$OUT" "$DIR/tok-w"
OUT=$(op workspace create --name analyst --parent "$R" --external); A=$(echo "$OUT" | field id)
token_dir "$OUT" "$DIR/tok-a"
OUT=$(op workspace create --name scribe --parent "$W" --external); S=$(echo "$OUT" | field id)
token_dir "$OUT" "$DIR/tok-s"
[ -n "$R" ] && [ -n "$W" ] && [ -n "$A" ] && [ -n "$S" ] || fail "workspaces"
curl -fs -X POST "$URL/instructions" -H 'Content-Type: application/json' \
  -d '{"scope":"global","title":"Be kind","content":"Be polite to users."}' >/dev/null ||
  fail "instruction"

# ---- the model: echoes the system prompt; the coordinator's script ----
cat >"$DIR/mock.yaml" <<YAML
rules:
  - path: "/v1/chat/completions"
    method: "POST"
    match: "body.messages[-1].content == 'show prompt' && body.messages[0].role == 'system'"
    response:
      status: 200
      content: '{"id":"p","object":"chat.completion","created":1,"model":"mock","choices":[{"index":0,"message":{{jmes request body.messages[0]}},"finish_reason":"stop"}]}'
  - path: "/v1/chat/completions"
    method: "POST"
    match: "body.messages[-1].content == 'delegate please' && body.tool_choice == 'auto' && length(body.tools[?function.name == 'route_task_to_team']) == \`1\`"
    response:
      status: 200
      content: '{"id":"r0","object":"chat.completion","created":1,"model":"mock","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_r1","type":"function","function":{"name":"route_task_to_team","arguments":"{\"task\":\"draft the summary\",\"preferred_member_id\":\"$A\"}"}}]},"finish_reason":"tool_calls"}]}'
  - path: "/v1/chat/completions"
    method: "POST"
    match: "body.messages[-1].role == 'tool' && body.messages[-1].tool_call_id == 'call_r1'"
    response:
      status: 200
      content: '{"id":"r1","object":"chat.completion","created":1,"model":"mock","choices":[{"index":0,"message":{{jmes request body.messages[-1]}},"finish_reason":"stop"}]}'
YAML
HOST=127.0.0.1 PORT=$MPORT node "$MOCK" --config "$DIR/mock.yaml" >"$DIR/mock.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 100 grep -q " running on " "$DIR/mock.log" || fail "mock-llm did not start"

# ---- the peers first (echo agents), so the researcher's first platform round sees them; and
# the writer's child, the scribe, a chat agent with a config dir of its own ----
mkdir "$DIR/scribe"
printf 'name: Scribe\n' >"$DIR/scribe/config.yaml"
cat >"$DIR/peers.yaml" <<YAML
listen: 127.0.0.1:0
platform_url: $URL
agents:
  - {name: Writer, workspace_id: $W, token_dir: $DIR/tok-w, heartbeat_seconds: 1}
  - {name: Analyst, workspace_id: $A, token_dir: $DIR/tok-a, heartbeat_seconds: 1}
  - {name: Scribe, workspace_id: $S, token_dir: $DIR/tok-s, heartbeat_seconds: 1,
     config_dir: $DIR/scribe, executor: chat, api_base: "http://127.0.0.1:$MPORT/v1"}
YAML
"$MOLECULE" host -c "$DIR/peers.yaml" >"$DIR/peers.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 100 grep -q "Writer: registered" "$DIR/peers.log" || fail "Writer did not register"
wait_for 100 grep -q "Analyst: registered" "$DIR/peers.log" || fail "Analyst did not register"
wait_for 100 grep -q "Scribe: system prompt built (platform)" "$DIR/peers.log" ||
  fail "the scribe's prompt was not built from the platform"
PPORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/peers.log")

# ---- the parent's shared context reaches the child's prompt ----
"$MOLECULE" call "http://127.0.0.1:$PPORT/agents/Scribe/" "show prompt" >"$DIR/scribe.txt" \
  2>"$DIR/call.err" || fail "scribe: show prompt: $(cat "$DIR/call.err")"
python3 - "$DIR/scribe.txt" <<'PY' || fail "the scribe's prompt: $(cat "$DIR/scribe.txt")"
import sys
got = open(sys.argv[1]).read()
want = ("\n## Parent Context\n\nThe following context was shared by your parent workspace:\n\n"
        "### team-notes.md\nShip the summary by Friday.\n")
sys.exit(0 if want in got and "Not shared" not in got and "pipe.md" not in got else 1)
PY

# ---- the researcher, from a copy of the template ----
cp -R "$TEMPLATE/researcher" "$DIR/researcher"
# A broken plugin is reported and skipped; it stops nothing.
mkdir -p "$DIR/researcher/plugins/zz-broken"
printf '{"hooks": [not json' >"$DIR/researcher/plugins/zz-broken/settings-fragment.json"
cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:0
platform_url: $URL
agents:
  - name: researcher
    config_dir: researcher
    workspace_id: $R
    token_dir: $DIR/tok-r
    executor: chat
    api_base: http://127.0.0.1:$MPORT/v1
    heartbeat_seconds: 1
YAML
start_researcher() {
  PLUGINS_DIR="$TEMPLATE/shared-plugins" "$MOLECULE" host -c "$DIR/host.yaml" >"$DIR/host.log" 2>&1 &
  HPID=$!
  PIDS="$PIDS $HPID"
  wait_for 100 grep -q "researcher: system prompt built (platform)" "$DIR/host.log" ||
    fail "the researcher's prompt was not built from the platform"
  HPORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/host.log")
  AGENT="http://127.0.0.1:$HPORT/agents/researcher/"
}
start_researcher

# What the model received, against the expected prompt (either order of the two peers).
"$MOLECULE" call "$AGENT" "show prompt" >"$DIR/prompt.txt" 2>"$DIR/call.err" ||
  fail "show prompt: $(cat "$DIR/call.err")"
python3 - "$TEMPLATE/expected-prompt.txt" "$DIR/prompt.txt" "$W" "$A" <<'PY' || fail "prompt"
import sys
exp = open(sys.argv[1]).read().replace("@WRITER@", sys.argv[3]).replace("@ANALYST@", sys.argv[4])
got = open(sys.argv[2]).read()
w = "- **Writer** (id: `%s`, status: online)\n\n" % sys.argv[3]
a = "- **Analyst** (id: `%s`, status: online)\n\n" % sys.argv[4]
swapped = exp.replace(w + a, a + w)
# `molecule call` prints the reply and a newline; the prompt itself ends with one.
if got not in (exp + "\n", swapped + "\n"):
    import difflib
    sys.stdout.writelines(difflib.unified_diff(exp.splitlines(True), got.splitlines(True),
                                               "expected", "received"))
    sys.exit(1)
PY

grep -q "plugin zz-broken: settings not merged" "$DIR/host.log" || fail "broken plugin not reported"

# ---- the card lists the skills (served, and registered with the platform) ----
curl -fs "${AGENT}.well-known/agent-card.json" >"$DIR/card.json" || fail "card"
python3 - "$DIR/card.json" <<'PY' || fail "card skills: $(cat "$DIR/card.json")"
import json, sys
skills = [(s["id"], s["name"]) for s in json.load(open(sys.argv[1]))["skills"]]
sys.exit(0 if skills == [("summarize", "Summarize"), ("cite", "Cite")] else 1)
PY
op workspace list >"$DIR/list.json"
grep -q '"name":"Summarize"' "$DIR/list.json" || fail "registered card without skills"

# ---- the Agentskills install ----
C="$DIR/researcher"
[ "$(grep -c '^# Plugin: house-rules / rule: 01-git.md' "$C/CLAUDE.md")" = 1 ] || fail "CLAUDE.md rule"
[ "$(grep -c '^# Plugin: extra / rule: audit.md' "$C/CLAUDE.md")" = 1 ] || fail "CLAUDE.md shared rule"
grep -q 'shadowed copy' "$C/CLAUDE.md" && fail "a shadowed plugin was installed"
[ -f "$C/skills/cite/SKILL.md" ] || fail "plugin skill not copied to skills/cite"
[ -e "$C/skills/skills" ] && fail "skills/skills"
[ -f "$C/.claude/commands/cite.md" ] || fail "command not installed"
python3 - "$C/.claude/settings.json" "$C" <<'PY' || fail "settings: $(cat "$C/.claude/settings.json")"
import json, sys
s = json.load(open(sys.argv[1]))
cmds = [h["command"] for e in s["hooks"]["PreToolUse"] for h in e["hooks"]]
ok = cmds == [sys.argv[2] + "/.claude/hooks/guard.sh"] and s["mcpServers"]["house"] and \
    s["model"] == "fragment-model"
sys.exit(0 if ok else 1)
PY

# ---- a peer that joins later reaches the prompt (heartbeat cadence) ----
OUT=$(op workspace create --name critic --external); K=$(echo "$OUT" | field id)
KT=$(echo "$OUT" | field auth_token)
curl -fs -X POST "$URL/registry/register" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $KT" \
  -d "{\"id\":\"$K\",\"url\":\"http://127.0.0.1:9/\",\"agent_card\":{\"name\":\"Critic\"}}" \
  >/dev/null || fail "register the critic"
# (The workspace row and its card arrive in two steps, each possibly its own rebuild: what
# counts is the prompt the model receives, asked again until the critic is in it.)
critic_in_prompt() {
  "$MOLECULE" call "$AGENT" "show prompt" >"$DIR/prompt2.txt" 2>/dev/null &&
    grep -q "^- \*\*Critic\*\* (id: \`$K\`, status: " "$DIR/prompt2.txt"
}
wait_for 200 critic_in_prompt || fail "new peer not in the prompt: $(cat "$DIR/prompt2.txt")"
grep -q "researcher: system prompt built (peers changed)" "$DIR/host.log" || fail "no rebuild logged"

# ---- coordinator: route_task_to_team to the child, whose answer comes back ----
"$MOLECULE" call "$AGENT" "delegate please" >"$DIR/route.txt" 2>"$DIR/call.err" ||
  fail "route: $(cat "$DIR/call.err")"
grep -q "echo: draft the summary" "$DIR/route.txt" || fail "route reply: $(cat "$DIR/route.txt")"
# The same tool on the coordinator's /mcp, through the MCP SDK client; a peer that coordinates
# no one (the Analyst) does not offer it.
SDK="$ROOT/test/interop/mcp-sdk"
(cd "$SDK" && node route.mjs "${AGENT}mcp" "$(cat "$DIR/tok-r/.auth_token")" "$A") \
  >"$DIR/mcp-route.log" 2>&1 || fail "route_task_to_team over /mcp: $(cat "$DIR/mcp-route.log")"
grep -q "^ok route" "$DIR/mcp-route.log" || fail "route over /mcp did not finish"
(cd "$SDK" && node route.mjs "http://127.0.0.1:$PPORT/agents/Analyst/mcp" \
  "$(cat "$DIR/tok-a/.auth_token")" "$A" absent) >"$DIR/mcp-noroute.log" 2>&1 ||
  fail "a non-coordinator's /mcp: $(cat "$DIR/mcp-noroute.log")"

# ---- a restart installs nothing twice ----
kill -TERM "$HPID"
wait "$HPID" || fail "host exit status"
start_researcher
[ "$(grep -c '^# Plugin: house-rules / rule: 01-git.md' "$C/CLAUDE.md")" = 1 ] ||
  fail "rules doubled in CLAUDE.md after a restart"
[ "$(grep -c 'guard.sh' "$C/.claude/settings.json")" = 1 ] || fail "hook doubled after a restart"
echo ok
