#!/bin/sh
# `molecule host --workers 2` as a process, over loopback with curl (every call a fresh
# connection, so SO_REUSEPORT spreads them over the workers, each running half the agents):
#  - every agent answers message/send, its card and its /health on every connection, whichever
#    worker runs it; an unknown agent is 404;
#  - /health and /metrics are one view: every agent once, each family's HELP/TYPE once,
#    molecule_host_agents the sum, each agent's turns exact;
#  - the process's series once, molecule_http_requests_total counting every request once;
#  - SIGHUP is logged and ignored (no reload with workers), the host serves on;
#  - under systemd ($NOTIFY_SOCKET) READY=1 once every worker listens, then STOPPING=1;
#  - SIGTERM drains every worker: turns in flight finish, the exit status is 0.
# (needs curl and python3)
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molhostworkers-XXXXXX)
PID=""
LISTENER=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$DIR"/*.log 2>/dev/null; exit 1; }
wait_for() { # seconds command...: polls every 0.05 s
  n=$(($1 * 20)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done
  return 1
}
send() { # agent text: message/send on a fresh connection
  curl -sS --max-time 20 "$BASE/agents/$1/" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"m-$(date +%s%N)\",\"parts\":[{\"kind\":\"text\",\"text\":\"$2\"}]}}}"
}

"$MOLECULE" host -c /dev/null --workers nope >"$DIR/bad.log" 2>&1 && fail "--workers nope accepted"
grep -q "\-\-workers wants a whole number from 1 to 256 or 'auto', not 'nope'" "$DIR/bad.log" ||
  fail "--workers nope: $(cat "$DIR/bad.log")"
rm "$DIR/bad.log"

cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:0
agents:
  - name: a0
  - name: a1
  - name: a2
  - name: a3
  - name: a4
  - name: slow
    delay_ms: 1500
YAML
# a port taken by a server that does not share it: a clear error, exit 1, no hang
"$MOLECULE" serve --listen 127.0.0.1:0 >"$DIR/plain.log" 2>&1 &
PID=$!
wait_for 10 grep -qs "listening on" "$DIR/plain.log" || fail "plain serve did not start"
TAKEN=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/plain.log")
"$MOLECULE" host -c "$DIR/host.yaml" --workers 2 --listen "127.0.0.1:$TAKEN" >"$DIR/inuse.out" 2>&1 &&
  fail "port in use accepted"
grep -qi "address already in use" "$DIR/inuse.out" || fail "port in use: $(cat "$DIR/inuse.out")"
rm "$DIR/inuse.out"
kill -TERM "$PID"
wait "$PID" || fail "plain serve did not exit 0"
rm "$DIR/plain.log"

# systemd's notify socket: each datagram a line of $DIR/notify
python3 -u - "$DIR/notify.sock" "$DIR/notify" >/dev/null <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "a").close()
while True:
    data = s.recv(4096)
    with open(sys.argv[2], "a") as f:
        f.write(data.decode() + "\n")
PY
LISTENER=$!
wait_for 10 test -S "$DIR/notify.sock" || fail "notify listener"
NOTIFY_SOCKET="$DIR/notify.sock" "$MOLECULE" host -c "$DIR/host.yaml" --workers 2 >"$DIR/host.log" 2>&1 &
PID=$!
wait_for 10 grep -qs "listening on" "$DIR/host.log" || fail "host did not start"
BASE="http://127.0.0.1:$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/host.log")"
wait_for 10 grep -qx READY=1 "$DIR/notify" || fail "no READY=1"

for a in a0 a1 a2 a3 a4; do
  for k in 1 2 3 4 5 6; do
    OUT=$(send "$a" "hi $a $k")
    echo "$OUT" | grep -q "\"text\":\"echo: hi $a $k\"" || fail "$a call $k: $OUT"
  done
  OUT=$(curl -sS "$BASE/agents/$a/.well-known/agent-card.json")
  echo "$OUT" | grep -q "\"name\":\"$a\"" || fail "$a card: $OUT"
  curl -fsS "$BASE/agents/$a/health" | grep -q '"status":"ok"' || fail "$a /health"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/agents/nope/health")" = 404 ] || fail "unknown agent not 404"

OUT=$(curl -sS "$BASE/health")
[ "$OUT" = '{"status":"ok","agents":6}' ] || fail "/health: $OUT"
curl -fsS "$BASE/metrics" >"$DIR/metrics" || fail "/metrics"
grep -qx "molecule_host_agents 6" "$DIR/metrics" || fail "host agents: $(cat "$DIR/metrics")"
for a in a0 a1 a2 a3 a4; do
  grep -qx "molecule_agent_turns_total{agent=\"$a\"} 6" "$DIR/metrics" || fail "$a turns: $(grep "$a" "$DIR/metrics")"
done
grep -qx 'molecule_agent_up{agent="slow"} 1' "$DIR/metrics" || fail "slow missing from /metrics"
# the listener's requests, every one once however many workers it crossed (5 agents x 8
# requests, the unknown agent, /health), summed over the workers; the process's series once
HTTP=$(awk '/^molecule_http_requests_total\{/ && !/route="\/metrics"/ {n += $2} END {print n + 0}' "$DIR/metrics")
[ "$HTTP" = 42 ] || fail "http requests_total sums to $HTTP, not 42: $(grep http_requests "$DIR/metrics")"
for f in molecule_build_info process_cpu_seconds_total process_resident_memory_bytes process_open_fds; do
  [ "$(grep -c "^$f[ {]" "$DIR/metrics")" = 1 ] || fail "$f not once: $(grep "$f" "$DIR/metrics")"
done
# SIGHUP with workers: logged, nothing changes, the host serves on
kill -HUP "$PID"
wait_for 10 grep -qs "reload is not supported with --workers" "$DIR/host.log" || fail "SIGHUP not logged"
OUT=$(send a1 "after hup")
echo "$OUT" | grep -q '"text":"echo: after hup"' || fail "a1 after SIGHUP: $OUT"
[ "$(grep -c '^# TYPE ' "$DIR/metrics")" = "$(grep '^# TYPE ' "$DIR/metrics" | sort -u | wc -l)" ] ||
  fail "a family twice: $(grep '^# TYPE ' "$DIR/metrics" | sort | uniq -d)"
# a family's samples follow its TYPE line: every sample's name matches the last TYPE seen
awk '/^# TYPE /{f=$3; next} /^#/{next} {n=$1; sub(/\{.*/, "", n); sub(/_(bucket|sum|count)$/, "", n); if (n != f) {print "stray " $0; exit 1}}' \
  "$DIR/metrics" || fail "samples outside their family"

# ---- SIGTERM: turns in flight on both workers finish, exit 0 ----
i=0
while [ $i -lt 6 ]; do
  send slow "drain $i" >"$DIR/drain.$i.out" 2>&1 &
  i=$((i + 1))
done
wait_for 10 sh -c "curl -s '$BASE/metrics' | grep -qx 'molecule_agent_live_turns{agent=\"slow\"} 6'" ||
  fail "6 turns never ran at once: $(grep slow "$DIR/metrics")"
kill -TERM "$PID"
wait "$PID" || fail "host did not exit 0"
PID=""
wait_for 10 grep -qx STOPPING=1 "$DIR/notify" || fail "no STOPPING=1"
[ "$(cat "$DIR/notify")" = "READY=1
STOPPING=1" ] || fail "notifications: $(cat "$DIR/notify")"
kill "$LISTENER"
wait "$LISTENER" 2>/dev/null || :
LISTENER=""
wait
i=0
while [ $i -lt 6 ]; do
  grep -q "\"text\":\"echo: drain $i\"" "$DIR/drain.$i.out" || fail "turn $i lost: $(cat "$DIR/drain.$i.out")"
  i=$((i + 1))
done
echo ok
