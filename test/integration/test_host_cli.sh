#!/bin/sh
# `molecule host` as a process: a bad host file exits non-zero with the field or line; /health,
# an agent's /health and /metrics answer with what they document while it runs (agents, turns
# counted, a turn in flight); SIGTERM while a turn is in flight (echo with delay_ms) turns
# /health to 503 "stopping", answers that turn and exits 0; the snapshot is written on the way
# out.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molhost-cli-XXXXXX)
PORT=$((10000 + $$ % 22000))
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$DIR"/*.log 2>/dev/null; exit 1; }

# ---- bad files: non-zero exit, a message naming the problem ----
bad() { # yaml, expected text
  printf '%s' "$1" >"$DIR/bad.yaml"
  if "$MOLECULE" host -c "$DIR/bad.yaml" >"$DIR/bad.out" 2>"$DIR/bad.err"; then
    fail "accepted: $1"
  fi
  grep -q "$2" "$DIR/bad.err" || fail "message for '$1': $(cat "$DIR/bad.err")"
}
bad "agents:
  - name: a
    executor: magic
" "agents\[0\].executor: unknown executor 'magic'"
bad "agents:
  - name: a
   oops: [
" "bad.yaml: line"
bad "listen: 127.0.0.1:1
agents: [{name: a, heartbeat_seconds: -3}]
" "agents\[0\].heartbeat_seconds"
"$MOLECULE" host -c "$DIR/missing.yaml" 2>"$DIR/bad.err" && fail "missing file accepted"
grep -q "missing.yaml" "$DIR/bad.err" || fail "missing file message"

# ---- SIGTERM drains a turn in flight ----
cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:$PORT
agents:
  - name: slow
    executor: echo
    delay_ms: 3000
    snapshot_path: slow.snapshot.json
  - name: quick
YAML
"$MOLECULE" host -c "$DIR/host.yaml" --log-json >"$DIR/host.log" 2>&1 &
PID=$!
for _ in $(seq 50); do grep -q "listening on" "$DIR/host.log" && break; sleep 0.1; done
grep -q "listening on" "$DIR/host.log" || fail "host did not start"
grep -q '"msg"\|^{' "$DIR/host.log" || fail "--log-json"
"$MOLECULE" call "http://127.0.0.1:$PORT/agents/quick/" "ping" | grep -q "echo: ping" || fail "quick agent"
BASE="http://127.0.0.1:$PORT"
[ "$(curl -s -o "$DIR/health" -w '%{http_code}' "$BASE/health")" = 200 ] || fail "/health status"
grep -q '"status":"ok"' "$DIR/health" && grep -q '"agents":2' "$DIR/health" ||
  fail "/health: $(cat "$DIR/health")"
curl -fs "$BASE/agents/quick/health" | grep -q '"status":"ok"' || fail "agent /health"
metric() { # name{labels} value: the series is in /metrics with that value
  curl -fs "$BASE/metrics" >"$DIR/metrics" || fail "/metrics"
  grep -qx "$1 $2" "$DIR/metrics"
}
metric molecule_host_agents 2 || fail "/metrics: $(grep host_agents "$DIR/metrics")"
metric 'molecule_agent_turns_total{agent="quick"}' 1 || fail "quick turns: $(grep turns_total "$DIR/metrics")"
metric 'molecule_agent_up{agent="slow"}' 1 || fail "slow up: $(grep agent_up "$DIR/metrics")"
"$MOLECULE" call "http://127.0.0.1:$PORT/agents/slow/" "in flight" >"$DIR/call.log" 2>&1 &
CALL=$!
for _ in $(seq 100); do metric 'molecule_agent_live_turns{agent="slow"}' 1 && break; sleep 0.05; done
metric 'molecule_agent_live_turns{agent="slow"}' 1 || fail "the slow turn never started"
kill -TERM "$PID"
# Draining: the turn has seconds left; /health says the host is stopping.
for _ in $(seq 40); do
  code=$(curl -s -o "$DIR/health" -w '%{http_code}' "$BASE/health" || true)
  [ "$code" = 503 ] && break
  sleep 0.05
done
[ "$code" = 503 ] && grep -q stopping "$DIR/health" || fail "/health while stopping: $code $(cat "$DIR/health")"
wait "$CALL" || fail "the turn in flight was not answered: $(cat "$DIR/call.log")"
grep -q "echo: in flight" "$DIR/call.log" || fail "reply: $(cat "$DIR/call.log")"
wait "$PID" || fail "host exit status"
PID=
[ -s "$DIR/slow.snapshot.json" ] || fail "no snapshot"
grep -q '"user: in flight"' "$DIR/slow.snapshot.json" || fail "snapshot transcript"
echo ok
