#!/bin/sh
# Operating `molecule host` as processes over real sockets, against `molecule platform --dev`
# (needs curl and python3):
#  - pause/resume: an agent the platform pauses ends; `molecule platform resume` brings it
#    back (registered again, answering), the other agent untouched; /health lists it as paused
#    meanwhile and stays 200;
#  - SIGHUP: the file read again: an agent added answers, one removed is gone, one changed
#    answers with its new handler, one unchanged keeps running (its turn in flight across the
#    reload is answered, its turn counter is not reset); a bad file is logged and changes
#    nothing; a name removed by one reload and brought back by the next serves again;
#  - /health: 503 "degraded" naming the agent whose platform is unreachable once the platform
#    is gone.
# HOST_OPS_ONLY=pause|reload|health runs one part (to see it fail alone); default all.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molops-XXXXXX)
cleanup() {
  for p in ${HPID:-} ${PID:-} ${CALL:-}; do kill "$p" 2>/dev/null || :; done
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
want() { [ -z "${HOST_OPS_ONLY:-}" ] || [ "$HOST_OPS_ONLY" = "$1" ]; }

PPORT=$(free_port)
URL="http://127.0.0.1:$PPORT"
"$MOLECULE" platform --listen "127.0.0.1:$PPORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 100 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
op() { MOLECULE_PLATFORM_URL="$URL" "$MOLECULE" platform "$@" --db "$DIR/p.db"; }
workspace() { # name -> id; the token goes to $DIR/<name>.tok/.auth_token
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
A=$(workspace alpha)
B=$(workspace beta)
HPORT=$(free_port)
BASE="http://127.0.0.1:$HPORT"
agent() { # name workspace [extra yaml lines]
  printf '  - name: %s\n    workspace_id: %s\n    token_dir: %s\n    heartbeat_seconds: 1\n' \
    "$1" "$2" "$DIR/$1.tok"
}
{
  printf 'listen: 127.0.0.1:%s\nplatform_url: %s\nagents:\n' "$HPORT" "$URL"
  agent alpha "$A"
  agent beta "$B"
} >"$DIR/host.yaml"
"$MOLECULE" host -c "$DIR/host.yaml" >"$DIR/host.out" 2>"$DIR/host.log" &
HPID=$!
wait_for 100 grep -q "listening on" "$DIR/host.out" || fail "host did not start"
wait_for 100 status_is "$A" online || fail "alpha never online"
wait_for 100 status_is "$B" online || fail "beta never online"
ask() { "$MOLECULE" call "$BASE/agents/$1/" "$2" 2>&1; }
answers() { ask "$1" "$2" | grep -q "$3"; } # agent text expected
code_is() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = "$2" ]; }
health() { curl -s -o "$DIR/health.json" -w '%{http_code}' "$BASE/health"; }
metric() { curl -fs "$BASE/metrics" | grep -qx "$1 $2"; }
[ "$(health)" = 200 ] && grep -q '"status":"ok"' "$DIR/health.json" ||
  fail "/health at start: $(cat "$DIR/health.json")"

# ---- pause, then resume ----
if want pause; then
op pause "$A" >/dev/null || fail "pause"
wait_for 100 metric 'molecule_agent_up{agent="alpha"}' 0 || fail "alpha did not end on pause"
ask beta "still here" | grep -q "echo: still here" || fail "beta during alpha's pause"
[ "$(health)" = 200 ] && grep -q '"paused":\["alpha"\]' "$DIR/health.json" ||
  fail "/health while alpha is paused: $(cat "$DIR/health.json")"
op resume "$A" >/dev/null || fail "resume"
wait_for 100 metric 'molecule_agent_up{agent="alpha"}' 1 || fail "alpha not revived after resume"
wait_for 100 status_is "$A" online || fail "alpha not online again after resume"
ask alpha "back" | grep -q "echo: back" || fail "alpha after resume: $(ask alpha back)"
[ "$(health)" = 200 ] && ! grep -q paused "$DIR/health.json" ||
  fail "/health after resume: $(cat "$DIR/health.json")"
fi

# ---- SIGHUP reload ----
if want reload; then
C=$(workspace gamma)
{
  printf 'listen: 127.0.0.1:%s\nplatform_url: %s\nagents:\n' "$HPORT" "$URL"
  agent alpha "$A"
  printf '    executor: command\n    handler: echo changed\n'
  agent beta "$B"
  printf '    delay_ms: 1500\n'
} >"$DIR/host.yaml"
kill -HUP "$HPID"
wait_for 100 answers alpha x changed ||
  fail "alpha did not change on reload: $(ask alpha x)"
# beta changed too (delay_ms): a turn now takes 1.5 s. Make beta the unchanged one next.
wait_for 100 metric 'molecule_agent_up{agent="beta"}' 1 || fail "beta not back after its change"
ask beta one | grep -q "echo: one" || fail "beta after change"
metric 'molecule_agent_turns_total{agent="beta"}' 1 || fail "beta's counter: $(curl -fs "$BASE/metrics" | grep 'turns_total{agent="beta"')"
ask beta "in flight" >"$DIR/inflight.out" &
CALL=$!
wait_for 50 metric 'molecule_agent_live_turns{agent="beta"}' 1 || fail "beta's turn not in flight"
{
  printf 'listen: 127.0.0.1:%s\nplatform_url: %s\nagents:\n' "$HPORT" "$URL"
  agent beta "$B"
  printf '    delay_ms: 1500\n'
  agent gamma "$C"
} >"$DIR/host.yaml"
kill -HUP "$HPID"
wait_for 100 answers gamma hi "echo: hi" ||
  fail "gamma (added) does not answer"
wait "$CALL" || fail "beta's turn in flight across the reload"
CALL=
grep -q "echo: in flight" "$DIR/inflight.out" || fail "beta's reply: $(cat "$DIR/inflight.out")"
metric 'molecule_agent_turns_total{agent="beta"}' 2 || fail "beta was restarted by a reload that left it unchanged"
wait_for 100 code_is "$BASE/agents/alpha/.well-known/agent-card.json" 404 ||
  fail "alpha (removed) still served"
grep -q "reloaded: 1 added, 1 removed, 0 changed, 1 unchanged" "$DIR/host.log" ||
  fail "no reload summary"
# A bad file: an error line, nothing changes.
printf 'agents:\n  - name: beta\n    executor: magic\n' >"$DIR/host.yaml"
kill -HUP "$HPID"
wait_for 100 grep -q "reload refused, the agents keep running as they were: .*agents\[0\].executor" "$DIR/host.log" ||
  fail "bad file on reload not reported"
ask gamma "after bad" | grep -q "echo: after bad" || fail "gamma after a bad reload"
ask beta "after bad" | grep -q "echo: after bad" || fail "beta after a bad reload"
kill -0 "$HPID" || fail "host died on a bad reload"
# A name removed earlier comes back.
{
  printf 'listen: 127.0.0.1:%s\nplatform_url: %s\nagents:\n' "$HPORT" "$URL"
  agent beta "$B"
  printf '    delay_ms: 1500\n'
  agent gamma "$C"
  agent alpha "$A"
} >"$DIR/host.yaml"
kill -HUP "$HPID"
wait_for 100 answers alpha again "echo: again" || fail "alpha (back) does not answer"
wait_for 100 status_is "$A" online || fail "alpha (back) not online"
fi

# ---- /health degraded once the platform is gone ----
if want health; then
[ "$(health)" = 200 ] || fail "/health before the platform goes: $(cat "$DIR/health.json")"
kill "$PID"
wait "$PID" || :
PID=
health_503() { [ "$(health)" = 503 ]; }
wait_for 100 health_503 ||
  fail "/health with the platform gone: $(cat "$DIR/health.json")"
grep -q '"status":"degraded"' "$DIR/health.json" &&
  grep -q '"problem":"platform unreachable"' "$DIR/health.json" ||
  fail "/health body: $(cat "$DIR/health.json")"
fi

kill -TERM "$HPID"
wait "$HPID" || fail "host exit status"
HPID=
echo ok
