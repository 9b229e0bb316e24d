#!/bin/sh
# Agents that look after themselves, as processes over real sockets (`molecule host` with
# `molecule platform --dev`; needs curl and python3):
#  - wedge: a chat agent whose gateway never binds its port is reported "wedged" (the
#    platform shows the workspace degraded, /metrics says so) once the probe budget is spent;
#    the gateway coming up clears it (online again);
#  - initial_prompt reaches the executor exactly once across a restart; idle_prompt fires only
#    while no turn runs (a command executor logs what it is sent);
#  - sessions: the transcript survives a restart (GET /transcript), and a conversation goes on
#    by contextId with the earlier turns in what the model receives (a recording backend);
#  - lru: past 1,000 contexts the least recently used one is forgotten first;
#  - turns: three consecutive turns that cannot reach the backend wedge the agent too;
#  - preflight: `molecule host --check FILE` prints [FAIL]/[WARN] lines with a Fix: each.
set -eu
MOLECULE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/molcare-XXXXXX)
cleanup() {
  for p in ${HPID:-} ${LLM:-} ${FBPID:-} ${RLLM:-} ${PID:-}; do kill "$p" 2>/dev/null || :; done
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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# CARE_ONLY=preflight|wedge|sessions|rotate|lru|turns|prompts runs one part (to see it fail alone); default all.
want() { [ -z "${CARE_ONLY:-}" ] || [ "$CARE_ONLY" = "$1" ]; }

# ---- preflight: `molecule host --check FILE` ----
if want preflight; then
mkdir -p "$DIR/conf/skills/real"
echo "# Real" >"$DIR/conf/skills/real/SKILL.md"
echo "You are careful." >"$DIR/conf/system-prompt.md"
cat >"$DIR/conf/config.yaml" <<YAML
name: Careful
runtime: hermes
skills: [real, ghost]
prompt_files: [system-prompt.md, rules.md]
runtime_config:
  required_env: [CARE_MISSING_VAR, HOME]
YAML
cat >"$DIR/check.yaml" <<YAML
agents:
  - config_dir: conf
    executor: chat
    api_base: http://127.0.0.1:$(free_port)/v1
YAML
st=0
"$MOLECULE" host --check "$DIR/check.yaml" >"$DIR/check.out" 2>&1 || st=$?
[ "$st" = 1 ] || fail "preflight exit status $st: $(cat "$DIR/check.out")"
cat >"$DIR/check.want" <<TXT
Preflight checks (agent careful):
[FAIL] Required env: Missing required environment variable: CARE_MISSING_VAR
  Fix: Set CARE_MISSING_VAR via the secrets API (global or workspace-level).
[WARN] Prompt file: Missing prompt file: rules.md
  Fix: Add the file or remove it from prompt_files.
[WARN] Skill: Missing skill package: ghost
  Fix: Restore the skill folder or remove it from config.yaml.
TXT
head -7 "$DIR/check.out" | diff "$DIR/check.want" - || fail "preflight report"
grep -q "^\[WARN\] Gateway: nothing accepts connections at http://127.0.0.1:" "$DIR/check.out" ||
  fail "gateway warning: $(cat "$DIR/check.out")"
grep -q "check.yaml: 1 agents, preflight failed" "$DIR/check.out" || fail "summary line"
# All there: warnings only (the gateway), exit 0.
echo "Rules." >"$DIR/conf/rules.md"
mkdir -p "$DIR/conf/skills/ghost" && echo "# Ghost" >"$DIR/conf/skills/ghost/SKILL.md"
CARE_MISSING_VAR=1 "$MOLECULE" host --check "$DIR/check.yaml" >"$DIR/check.out" 2>&1 ||
  fail "preflight with warnings only: $(cat "$DIR/check.out")"
grep -q "FAIL" "$DIR/check.out" && fail "a failure left: $(cat "$DIR/check.out")"
grep -q "check.yaml: 1 agents, ok" "$DIR/check.out" || fail "summary ok"
fi

# ---- the platform, and a workspace per agent ----
PPORT=$(free_port)
URL="http://127.0.0.1:$PPORT"
"$MOLECULE" platform --listen "127.0.0.1:$PPORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 100 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
op() { MOLECULE_PLATFORM_URL="$URL" "$MOLECULE" platform "$@" --db "$DIR/p.db"; }
workspace() { # name -> "id token"; the token goes to $DIR/<name>.tok/.auth_token
  out=$(op workspace create --name "$1" --external)
  id=$(echo "$out" | sed 's/.*"id":"\([^"]*\)".*/\1/')
  mkdir -p "$DIR/$1.tok"
  echo "$out" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/' >"$DIR/$1.tok/.auth_token"
  chmod 600 "$DIR/$1.tok/.auth_token"
  echo "$id"
}
status_is() { # workspace status
  op workspace list | tr '{' '\n' | grep "\"id\":\"$1\"" | grep -q "\"status\":\"$2\""
}
WEDGE=$(workspace wedge)
TALK=$(workspace talk)
PLUGIN=$(workspace plugin)
FB=$(workspace fallback)
FB_PORT=$(free_port)
GW=$(free_port) # nothing listens here: the gateway that never binds its port
LLM_PORT=$(free_port)
HPORT=$(free_port)
BASE="http://127.0.0.1:$HPORT"
mkdir -p "$DIR/talk.data"
cat >"$DIR/handler.sh" <<'SH'
text=$(cat)
echo "start $text" >>"$CARE_LOG"
case "$text" in long*) sleep 4 ;; esac
echo "end $text" >>"$CARE_LOG"
echo "done: $text"
SH
cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:$HPORT
platform_url: $URL
agents:
  - name: wedge
    workspace_id: $WEDGE
    token_dir: $DIR/wedge.tok
    executor: chat
    api_base: http://127.0.0.1:$GW/v1
    heartbeat_seconds: 1
    gateway_ready_budget_seconds: 2
  - name: talk
    workspace_id: $TALK
    token_dir: $DIR/talk.tok
    executor: chat
    model: mock
    api_base: http://127.0.0.1:$LLM_PORT/v1
    data_dir: $DIR/talk.data
    heartbeat_seconds: 1
    snapshot_path: $DIR/talk.snapshot.json
  - name: plugin
    workspace_id: $PLUGIN
    token_dir: $DIR/plugin.tok
    executor: hermes
    hermes_plugin_port: $GW
    hermes_reply_port: $(free_port)
    heartbeat_seconds: 1
    gateway_ready_budget_seconds: 2
  - name: fallback
    config_dir: fbconf
    workspace_id: $FB
    token_dir: $DIR/fallback.tok
    executor: hermes
    hermes_plugin_port: $(free_port)
    hermes_reply_port: $(free_port)
    hermes_fallback: chat
    api_base: http://127.0.0.1:$FB_PORT/v1
    gateway_ready_budget_seconds: 2
YAML
mkdir -p "$DIR/fbconf"
echo "You are the fallback's persona." >"$DIR/fbconf/persona.md"
cat >"$DIR/fbconf/config.yaml" <<YAML
name: fallback
prompt_files: [persona.md]
YAML
mkdir -p "$DIR/cmdconf"
printf '\n  hello from initial_prompt\n\n' >"$DIR/cmdconf/init.md"
cat >"$DIR/cmdconf/config.yaml" <<YAML
name: cmd
initial_prompt_file: init.md
idle_prompt: "idle check"
idle_interval_seconds: 1
YAML
cat >"$DIR/cmd.yaml" <<YAML
listen: 127.0.0.1:$(free_port)
agents:
  - config_dir: cmdconf
    executor: command
    handler: sh $DIR/handler.sh
YAML
started() { [ "$(grep -c "listening on" "$1")" -gt "$2" ]; }
host_up() { # yaml log: the log is appended to, so this start is one more "listening on"
  : >>"$2"
  before=$(grep -c "listening on" "$2" || :)
  "$MOLECULE" host -c "$1" >>"$2" 2>&1 &
  HPID=$!
  wait_for 300 started "$2" "$before" || fail "host $1 did not start"
}
host_down() {
  kill -TERM "$HPID"
  wait "$HPID" || fail "host exit status"
  HPID=
}
metric() { curl -fs "$BASE/metrics" | grep -qx "$1 $2"; }

# ---- wedge: reported once the probe budget is spent, cleared by the first success ----
python3 "$HERE/llm_recorder.py" "$DIR/model.jsonl" "$LLM_PORT" >"$DIR/llm.log" 2>&1 &
LLM=$!
wait_for 100 grep -qs "running on" "$DIR/llm.log" || fail "recorder did not start"
python3 "$HERE/llm_recorder.py" "$DIR/fb.jsonl" "$FB_PORT" >"$DIR/fb.log" 2>&1 &
FBPID=$!
wait_for 100 grep -qs "running on" "$DIR/fb.log" || fail "fallback backend did not start"
host_up "$DIR/host.yaml" "$DIR/host.log"
if want wedge; then
wait_for 100 status_is "$WEDGE" online || fail "wedge agent never online"
wait_for 300 status_is "$WEDGE" degraded || fail "a gateway that never listens is not reported"
grep -q "wedged: hermes-agent surface not reachable at http://127.0.0.1:$GW/v1/models" \
  "$DIR/host.log" || fail "the reason"
metric 'molecule_agent_wedged{agent="wedge"}' 1 || fail "/metrics wedged"
# the upstream incident itself: the hermes plugin never binds its port
wait_for 300 status_is "$PLUGIN" degraded || fail "a plugin that never listens is not reported"
grep -q "plugin: wedged: hermes-agent surface not reachable at http://127.0.0.1:$GW/a2a/health" \
  "$DIR/host.log" || fail "the plugin's reason"
# ... unless it may fall back to chat-completions: then it answers, and is not wedged
wait_for 300 metric 'molecule_agent_fallback{agent="fallback"}' 1 || fail "no fallback"
grep -q "fallback: the hermes plugin at .* falling back to chat-completions at http://127.0.0.1:$FB_PORT/v1/models" \
  "$DIR/host.log" || fail "the fallback is not logged"
"$MOLECULE" call "$BASE/agents/fallback/" "through chat" | grep -q "reply-1: through chat" ||
  fail "the fallback does not answer"
# ... as a chat agent would: the assembled prompt (its config dir's prompt file) and the core tools
python3 - "$DIR/fb.jsonl" <<'PY' || fail "the fallback's request: $(cat "$DIR/fb.jsonl")"
import json, sys
req = [json.loads(l) for l in open(sys.argv[1])][-1]
system = req["messages"][0]
assert system["role"] == "system" and "You are the fallback's persona." in system["content"], system
names = [t["function"]["name"] for t in req.get("tools", [])]
assert "delegate_to_workspace" in names, names
PY
metric 'molecule_agent_wedged{agent="fallback"}' 0 || fail "/metrics: the fallback is wedged"
metric 'molecule_agent_wedged{agent="talk"}' 0 || fail "/metrics: talk is not wedged"
status_is "$TALK" online || fail "a healthy agent is degraded"
# the gateway comes up: the next probe clears it
python3 "$HERE/llm_recorder.py" "$DIR/gw.jsonl" "$GW" >"$DIR/gw.log" 2>&1 &
GWPID=$!
wait_for 100 grep -qs "running on" "$DIR/gw.log" || fail "gateway did not start"
wait_for 300 status_is "$WEDGE" online || { kill "$GWPID"; fail "not cleared"; }
wait_for 300 status_is "$PLUGIN" online || { kill "$GWPID"; fail "plugin not cleared"; }
kill "$GWPID"
metric 'molecule_agent_wedged{agent="wedge"}' 0 || fail "/metrics still wedged"
fi

# ---- sessions: the transcript and the conversation survive a restart ----
say() { # context text -> the reply
  curl -fsS "$BASE/agents/talk/" -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,
    \"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"m$(date +%s%N)\",
    \"contextId\":\"$1\",\"kind\":\"message\",\"parts\":[{\"kind\":\"text\",\"text\":\"$2\"}]}}}"
}
if want sessions; then
say ctx-a "the sky is green" | grep -q "reply-1: the sky is green" || fail "first turn"
say ctx-b "unrelated" >/dev/null || fail "other context"
host_down
SESS="$DIR/talk.data/.sessions/transcript.jsonl"
[ "$(wc -l <"$SESS")" = 4 ] || fail "sessions file: $(cat "$SESS")"
printf '{"ctx":"ctx-a","who":"user","text":"torn by a cr' >>"$SESS" # a crash mid-write
host_up "$DIR/host.yaml" "$DIR/host.log"
say ctx-a "what colour is the sky" | grep -q "reply-3" || fail "turn after the restart"
tail -1 "$DIR/model.jsonl" | python3 -c '
import json, sys
m = [(x["role"], x["content"]) for x in json.load(sys.stdin)["messages"]]
want = [("user", "the sky is green"), ("assistant", "reply-1: the sky is green"),
        ("user", "what colour is the sky")]
sys.exit(0 if m == want else "the model saw %r" % m)' || fail "history after the restart"
TTOK=$(cat "$DIR/talk.tok/.auth_token")
curl -fs -H "Authorization: Bearer $TTOK" "$BASE/agents/talk/transcript" >"$DIR/transcript.out" ||
  fail "GET /transcript"
grep -q "user: the sky is green" "$DIR/transcript.out" || fail "transcript: $(cat "$DIR/transcript.out")"
grep -q "agent: reply-1: the sky is green" "$DIR/transcript.out" || fail "transcript agent line"
grep -q "user: what colour is the sky" "$DIR/transcript.out" || fail "transcript new line"
grep -q "torn by" "$DIR/transcript.out" && fail "a torn line was read back"
# the torn line stays alone on its line: the next one, written after the restart, is whole
python3 - "$SESS" <<'PY' || fail "the line after the torn one: $(cat "$SESS")"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[4].startswith('{"ctx":"ctx-a","who":"user","text":"torn by a cr'), lines[4]
assert json.loads(lines[5])["text"] == "what colour is the sky", lines[5]
PY
host_down
grep -q "the sky is green" "$DIR/talk.snapshot.json" || fail "snapshot lost the old turns"
fi
[ -z "$HPID" ] || host_down

# ---- rotate: past the line limit the sessions file turns into transcript.jsonl.1 ----
if want rotate; then
ROT_LLM=$(free_port)
python3 "$HERE/llm_recorder.py" "$DIR/rot.jsonl" "$ROT_LLM" >"$DIR/rotllm.log" 2>&1 &
RLLM=$!
wait_for 100 grep -qs "running on" "$DIR/rotllm.log" || fail "rotate: recorder did not start"
RPORT=$(free_port)
mkdir -p "$DIR/rot.data"
cat >"$DIR/rot.yaml" <<YAML
listen: 127.0.0.1:$RPORT
agents:
  - name: rot
    executor: chat
    model: mock
    api_base: http://127.0.0.1:$ROT_LLM/v1
    data_dir: $DIR/rot.data
YAML
rsay() { # text -> the reply, in context ctx-r
  curl -fsS "http://127.0.0.1:$RPORT/agents/rot/" -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,
    \"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"m$(date +%s%N)\",
    \"contextId\":\"ctx-r\",\"kind\":\"message\",\"parts\":[{\"kind\":\"text\",\"text\":\"$1\"}]}}}"
}
export MOLECULE_SESSIONS_MAX_LINES=4
host_up "$DIR/rot.yaml" "$DIR/rot.log"
for i in 1 2 3 4 5; do rsay "turn $i" | grep -q "reply-$i: turn $i" || fail "rotate: turn $i"; done
host_down
RS="$DIR/rot.data/.sessions/transcript.jsonl"
# 10 lines, 4 a file: turns 1-2 were rotated away, 3-4 are in .1, 5 is in the current file
python3 - "$RS" <<'PY' || fail "rotate: the files: $(cat "$RS.1" "$RS")"
import json, sys
texts = lambda p: [json.loads(l)["text"] for l in open(p)]
old, cur = texts(sys.argv[1] + ".1"), texts(sys.argv[1])
assert old == ["turn 3", "reply-3: turn 3", "turn 4", "reply-4: turn 4"], old
assert cur == ["turn 5", "reply-5: turn 5"], cur
PY
# a restart continues the conversation from the newest lines, the rotated ones included
host_up "$DIR/rot.yaml" "$DIR/rot.log"
rsay "turn 6" | grep -q "reply-6: turn 6" || fail "rotate: the turn after the restart"
host_down
unset MOLECULE_SESSIONS_MAX_LINES
tail -1 "$DIR/rot.jsonl" | python3 -c '
import json, sys
m = [x["content"] for x in json.load(sys.stdin)["messages"]]
want = ["turn 3", "reply-3: turn 3", "turn 4", "reply-4: turn 4", "turn 5", "reply-5: turn 5",
        "turn 6"]
sys.exit(0 if m == want else "the model saw %r" % m)' || fail "rotate: history after the restart"
kill "$RLLM"
fi

# ---- lru: past 1,000 contexts the least recently used one goes, not the oldest ----
if want lru; then
LRU_LLM=$(free_port)
python3 "$HERE/llm_recorder.py" "$DIR/lru.jsonl" "$LRU_LLM" >"$DIR/lrullm.log" 2>&1 &
RLLM=$!
wait_for 100 grep -qs "running on" "$DIR/lrullm.log" || fail "lru: recorder did not start"
LPORT=$(free_port)
mkdir -p "$DIR/lru.data/.sessions"
cat >"$DIR/lru.yaml" <<YAML
listen: 127.0.0.1:$LPORT
agents:
  - name: lru
    executor: chat
    model: mock
    api_base: http://127.0.0.1:$LRU_LLM/v1
    data_dir: $DIR/lru.data
YAML
# ctx-old and ctx-keep first, then 998 contexts (1,000 in all), then ctx-keep used again, then
# two more: ctx-old and c1 are the ones evicted, ctx-keep and c2 stay.
python3 - "$DIR/lru.data/.sessions/transcript.jsonl" <<'PY'
import json, sys
line = lambda c, w, t: json.dumps({"ctx": c, "who": w, "text": t}, separators=(",", ":"))
out = [line("ctx-old", "user", "old one"), line("ctx-keep", "user", "keep one")]
out += [line("c%d" % i, "user", "t%d" % i) for i in range(1, 999)]
out += [line("ctx-keep", "agent", "keep answer"), line("c999", "user", "t999"),
        line("c1000", "user", "t1000")]
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
lsay() { # context text -> the reply
  curl -fsS "http://127.0.0.1:$LPORT/agents/lru/" -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,
    \"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"m$(date +%s%N)\",
    \"contextId\":\"$1\",\"kind\":\"message\",\"parts\":[{\"kind\":\"text\",\"text\":\"$2\"}]}}}"
}
saw() { # what the model was sent last, as "role:content|..." -> compared with $1
  got=$(tail -1 "$DIR/lru.jsonl" | python3 -c '
import json, sys
print("|".join(x["role"] + ":" + x["content"] for x in json.load(sys.stdin)["messages"]))')
  [ "$got" = "$1" ] || fail "lru: the model saw $got, not $1"
}
host_up "$DIR/lru.yaml" "$DIR/lru.log"
lsay ctx-keep "keep two" >/dev/null || fail "lru: ctx-keep"
saw "user:keep one|assistant:keep answer|user:keep two"
lsay c2 "x" >/dev/null || fail "lru: c2"
saw "user:t2|user:x"
lsay c1 "y" >/dev/null || fail "lru: c1"
saw "user:y"
lsay ctx-old "old two" >/dev/null || fail "lru: ctx-old"
saw "user:old two"
host_down
kill "$RLLM"
fi

# ---- turns: consecutive backend failures wedge the agent, the backend's return clears it ----
if want turns; then
host_up "$DIR/host.yaml" "$DIR/host.log"
wait_for 100 status_is "$TALK" online || fail "talk not online"
kill "$LLM"
wait "$LLM" 2>/dev/null || :
for i in 1 2 3; do
  say ctx-c "anyone there $i" | grep -q "hermes-agent unreachable" || fail "turn $i, backend down"
done
wait_for 300 status_is "$TALK" degraded || fail "3 failed turns do not wedge the agent"
grep -q "talk: wedged: 3 consecutive backend failures; last: connection refused" "$DIR/host.log" ||
  fail "the turns' reason"
python3 "$HERE/llm_recorder.py" "$DIR/model.jsonl" "$LLM_PORT" >"$DIR/llm2.log" 2>&1 &
LLM=$!
wait_for 100 grep -qs "running on" "$DIR/llm2.log" || fail "recorder did not restart"
wait_for 300 status_is "$TALK" online || fail "not cleared once the backend is back"
host_down
fi
kill "$LLM"
LLM=

# ---- initial_prompt once across a restart; idle_prompt only while idle ----
if want prompts; then
export CARE_LOG="$DIR/cmd.out"
CBASE=$(sed -n 's/^listen: \(.*\)$/http:\/\/\1/p' "$DIR/cmd.yaml")
host_up "$DIR/cmd.yaml" "$DIR/cmd.log"
wait_for 100 grep -qs "end hello from initial_prompt" "$CARE_LOG" || fail "initial prompt never ran"
[ "$(cat "$DIR/cmdconf/.initial_prompt_done")" = attempted ] || fail "the marker in the config dir"
"$MOLECULE" call "$CBASE/agents/cmd/" "long turn" >/dev/null || fail "long turn"
wait_for 100 sh -c "awk '/end long turn/{f=1} f && /start idle check/{ok=1} END{exit !ok}' '$CARE_LOG'" ||
  fail "no idle prompt after the long turn"
host_down
host_up "$DIR/cmd.yaml" "$DIR/cmd.log"
wait_for 100 grep -q "Initial prompt: already sent" "$DIR/cmd.log" || fail "restart: marker not seen"
host_down
[ "$(grep -c "start hello from initial_prompt" "$CARE_LOG")" = 1 ] ||
  fail "initial prompt not exactly once: $(cat "$CARE_LOG")"
# While the long turn ran, no idle prompt started.
awk '/start long turn/{busy=1} /end long turn/{busy=0} busy && /start idle check/{bad=1}
     END{exit bad}' "$CARE_LOG" || fail "idle prompt while busy: $(cat "$CARE_LOG")"
grep -q "start idle check" "$CARE_LOG" || fail "idle never fired"
# A host listening on a loopback address other than 127.0.0.1 still reaches its own agent:
# the prompt goes to the address it listens on, delivered at the first attempt.
mkdir -p "$DIR/addrconf"
printf 'name: addr\ninitial_prompt: "hello over 127.0.0.2"\n' >"$DIR/addrconf/config.yaml"
printf 'listen: 127.0.0.2:%s\nagents:\n  - config_dir: addrconf\n    executor: command\n    handler: sh %s\n' \
  "$(free_port)" "$DIR/handler.sh" >"$DIR/addr.yaml"
host_up "$DIR/addr.yaml" "$DIR/addr.log"
wait_for 100 grep -qs "end hello over 127.0.0.2" "$CARE_LOG" ||
  fail "initial prompt not delivered on 127.0.0.2: $(grep "Initial prompt" "$DIR/addr.log")"
wait_for 100 grep -q "Initial prompt: completed" "$DIR/addr.log" || fail "not completed"
host_down
grep -q "Initial prompt: attempt" "$DIR/addr.log" && fail "retried: $(cat "$DIR/addr.log")"
[ "$(grep -c "start hello over 127.0.0.2" "$CARE_LOG")" = 1 ] || fail "not exactly once"
fi
echo "ok"
