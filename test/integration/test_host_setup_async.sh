#!/bin/sh
# Config dirs are read in the thread pool: `molecule host` with several agents, each with a
# config dir, serves every one of them (their cards list the skills their dirs hold), and
# while one agent's config dir cannot be read yet (its prompt file is a FIFO no one writes:
# the read blocks, as a slow disk or a large dir would) the loop goes on serving: /health and
# the other agents answer, that agent is not mounted yet. Writing the FIFO lets the read
# finish, and that agent then serves with the skill its dir holds.
# Needs curl and python3.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molsetupasync-XXXXXX)
HPID=""
cleanup() {
  # Without the thread pool the host itself is stuck opening the FIFO: only KILL ends it.
  [ -n "$HPID" ] && kill -KILL "$HPID" 2>/dev/null || :
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

# One config dir per agent, each with a skill of its own name; "slow" names a FIFO as its
# prompt file.
config_dir() { # name, prompt file
  mkdir -p "$DIR/$1/skills/skill-$1"
  printf 'name: %s\nruntime: echo\nprompt_files:\n  - %s\nskills:\n  - skill-%s\n' \
    "$1" "$2" "$1" >"$DIR/$1/config.yaml"
  printf -- '---\nname: Skill %s\ndescription: what %s does\n---\nDo it.\n' "$1" "$1" \
    >"$DIR/$1/skills/skill-$1/SKILL.md"
}
for ag in a b c; do
  config_dir "$ag" prompt.md
  echo "Be $ag." >"$DIR/$ag/prompt.md"
done
config_dir slow wait.md
mkfifo "$DIR/slow/wait.md"
cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:0
agents:
  - {name: a, config_dir: $DIR/a}
  - {name: slow, config_dir: $DIR/slow}
  - {name: b, config_dir: $DIR/b}
  - {name: c, config_dir: $DIR/c}
YAML
"$MOLECULE" host -c "$DIR/host.yaml" >"$DIR/host.log" 2>&1 &
HPID=$!
wait_for 100 grep -q "^listening on" "$DIR/host.log" ||
  fail "the host did not listen while a config dir was being read"
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/host.log")
BASE="http://127.0.0.1:$PORT"

serving() { grep -q "$1: serving at" "$DIR/host.log"; }
card_skill() { # agent: its served card lists exactly its config dir's skill
  curl -fs "$BASE/agents/$1/.well-known/agent-card.json" >"$DIR/card-$1.json" &&
    python3 - "$DIR/card-$1.json" "$1" <<'PY'
import json, sys
skills = [(s["id"], s["name"]) for s in json.load(open(sys.argv[1]))["skills"]]
sys.exit(0 if skills == [("skill-" + sys.argv[2], "Skill " + sys.argv[2])] else 1)
PY
}
for ag in a b c; do
  wait_for 100 serving "$ag" || fail "agent $ag did not serve"
  card_skill "$ag" || fail "agent $ag's card: $(cat "$DIR/card-$ag.json")"
  "$MOLECULE" call "$BASE/agents/$ag/" "hi $ag" >"$DIR/call-$ag.txt" 2>&1 ||
    fail "agent $ag did not answer: $(cat "$DIR/call-$ag.txt")"
done
curl -fs "$BASE/health" >"$DIR/health.json" || fail "/health"
grep -q '"status":"ok"' "$DIR/health.json" || fail "/health: $(cat "$DIR/health.json")"

# The slow agent is still reading its dir: not mounted, and its start logged as pending.
grep -q "slow: reading its config dir" "$DIR/host.log" || fail "the pending read was not logged"
serving slow && fail "slow served before its prompt file could be read"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/agents/slow/.well-known/agent-card.json")
[ "$code" = 404 ] || fail "slow's card while its dir is read: $code"

# The writer opens the FIFO once the reader has (the worker thread): the read completes.
echo "Be patient." >"$DIR/slow/wait.md"
wait_for 100 serving slow || fail "slow did not serve once its prompt file was written"
card_skill slow || fail "slow's card: $(cat "$DIR/card-slow.json")"
grep -q "slow: config dir .*: 0 plugins, 0 rules, 1 skills, 1 prompt texts" "$DIR/host.log" ||
  fail "slow's prompt file was not read"

kill -TERM "$HPID"
wait "$HPID" || fail "host exit status"
HPID=""
echo ok
