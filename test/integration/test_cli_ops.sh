#!/bin/sh
# /metrics and sd_notify on the commands that listen, through the real binary over real
# sockets (needs curl and python3):
#  - serve, platform and dev answer GET /metrics with molecule_build_info, the process's
#    process_cpu_seconds_total / process_resident_memory_bytes / process_open_fds and
#    molecule_http_requests_total by route and status;
#  - under systemd ($NOTIFY_SOCKET, a path or an abstract '@' name) each sends READY=1 once
#    it serves and STOPPING=1 on SIGTERM, in that order;
#  - dev: a worker paused on the platform comes back when it is resumed.
# CLI_OPS_ONLY=serve|platform|dev runs one part; default all.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molcliops-XXXXXX)
cleanup() {
  for p in ${PID:-} ${LISTENER:-}; do kill "$p" 2>/dev/null || :; done
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
want() { [ -z "${CLI_OPS_ONLY:-}" ] || [ "$CLI_OPS_ONLY" = "$1" ]; }

# A unix datagram socket that appends each datagram it receives as a line to a file, as
# systemd's notify socket would take them. The caller waits for the socket (or, abstract, the file) to appear.
listen_notify() { # address (a path, or @name) file
  python3 -u - "$1" "$2" >/dev/null <<'PY' &
import socket, sys
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
open(out, "a").close()

while True:
    data = s.recv(4096)
    with open(out, "a") as f:
        f.write(data.decode() + "\n")
PY
  LISTENER=$!
}
stop_listener() { kill "$LISTENER" 2>/dev/null || :; wait "$LISTENER" 2>/dev/null || :; LISTENER=; }
notified() { grep -qx "$2" "$1" 2>/dev/null; } # file line

# The series every listener's /metrics has; then the requests line given.
check_metrics() { # url requests-line-regex what
  curl -fs "$1" >"$DIR/metrics.txt" || fail "$3: GET $1"
  grep -q '^molecule_build_info{version="[^"]*"} 1$' "$DIR/metrics.txt" || fail "$3: molecule_build_info"
  grep -q '^# TYPE process_cpu_seconds_total counter$' "$DIR/metrics.txt" &&
    grep -q '^process_cpu_seconds_total [0-9.]*$' "$DIR/metrics.txt" || fail "$3: process_cpu_seconds_total"
  grep -q '^process_resident_memory_bytes [1-9][0-9]*$' "$DIR/metrics.txt" || fail "$3: process_resident_memory_bytes"
  grep -q '^process_open_fds [1-9][0-9]*$' "$DIR/metrics.txt" || fail "$3: process_open_fds"
  grep -q '^# TYPE molecule_http_requests_total counter$' "$DIR/metrics.txt" || fail "$3: requests TYPE"
  grep -q "$2" "$DIR/metrics.txt" || fail "$3: no '$2' in $(grep http_requests "$DIR/metrics.txt")"
}

# ---- serve ----
if want serve; then
listen_notify "$DIR/notify.sock" "$DIR/serve.notify"
wait_for 50 test -S "$DIR/notify.sock" || fail "notify listener"
SPORT=$(free_port)
NOTIFY_SOCKET="$DIR/notify.sock" "$MOLECULE" serve --listen "127.0.0.1:$SPORT" >"$DIR/serve.out" 2>"$DIR/serve.log" &
PID=$!
wait_for 100 notified "$DIR/serve.notify" READY=1 || fail "serve: no READY=1"
grep -q "listening on" "$DIR/serve.out" || fail "serve: READY=1 before it listens"
"$MOLECULE" call "http://127.0.0.1:$SPORT/" hello >/dev/null || fail "serve: call"
curl -s -o /dev/null "http://127.0.0.1:$SPORT/no/such/path" || :
curl -fs "http://127.0.0.1:$SPORT/metrics" >/dev/null || fail "serve: first scrape"
check_metrics "http://127.0.0.1:$SPORT/metrics" '^molecule_http_requests_total{route="/metrics",status="200"} 1$' serve
grep -q '^molecule_http_requests_total{route="/",status="200"} 1$' "$DIR/metrics.txt" ||
  fail "serve: the call not counted: $(grep http_requests "$DIR/metrics.txt")"
grep -q '^molecule_a2a_turns_total 1$' "$DIR/metrics.txt" || fail "serve: its own series"
grep -q 'STOPPING' "$DIR/serve.notify" && fail "serve: STOPPING=1 before a signal"
kill -TERM "$PID"
wait "$PID" || fail "serve exit status"
PID=
wait_for 50 notified "$DIR/serve.notify" STOPPING=1 || fail "serve: no STOPPING=1"
[ "$(cat "$DIR/serve.notify")" = "READY=1
STOPPING=1" ] || fail "serve: notifications: $(cat "$DIR/serve.notify")"
stop_listener
fi

# ---- platform (an abstract notify socket) ----
if want platform; then
ABSTRACT="@molecule-test-notify-$$"
listen_notify "$ABSTRACT" "$DIR/platform.notify"
wait_for 50 test -e "$DIR/platform.notify" || fail "abstract notify listener"
PPORT=$(free_port)
NOTIFY_SOCKET="$ABSTRACT" "$MOLECULE" platform --listen "127.0.0.1:$PPORT" --db "$DIR/p.db" --dev \
  >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 100 notified "$DIR/platform.notify" READY=1 || fail "platform: no READY=1"
MOLECULE_PLATFORM_URL="http://127.0.0.1:$PPORT" "$MOLECULE" platform workspace list --db "$DIR/p.db" \
  >/dev/null || fail "platform: workspace list"
curl -fs "http://127.0.0.1:$PPORT/health" >/dev/null || fail "platform: /health"
check_metrics "http://127.0.0.1:$PPORT/metrics" \
  '^molecule_http_requests_total{route="/workspaces",status="200"} 1$' platform
grep -q '^molecule_http_requests_total{route="/health",status="200"} 1$' "$DIR/metrics.txt" ||
  fail "platform: /health not counted by its pattern: $(grep http_requests "$DIR/metrics.txt")"
kill -TERM "$PID"
wait "$PID" || fail "platform exit status"
PID=
wait_for 50 notified "$DIR/platform.notify" STOPPING=1 || fail "platform: no STOPPING=1"
stop_listener
fi

# ---- dev: /metrics on both listeners, READY/STOPPING, pause and resume a worker ----
if want dev; then
listen_notify "$DIR/dev.sock" "$DIR/dev.notify"
wait_for 50 test -S "$DIR/dev.sock" || fail "notify listener (dev)"
PPORT=$(free_port)
APORT=$(free_port)
NOTIFY_SOCKET="$DIR/dev.sock" HOME="$DIR" "$MOLECULE" dev --db "$DIR/dev.db" \
  --platform-listen "127.0.0.1:$PPORT" --listen "127.0.0.1:$APORT" >"$DIR/dev.log" 2>&1 &
PID=$!
wait_for 100 notified "$DIR/dev.notify" READY=1 || fail "dev: no READY=1"
wait_for 300 grep -q "Coordinator routed" "$DIR/dev.log" || fail "dev: no demo answer"
check_metrics "http://127.0.0.1:$APORT/metrics" 'route="/agents/{name}/",status="200"' "dev agents"
check_metrics "http://127.0.0.1:$PPORT/metrics" 'route="/registry/heartbeat",status="200"' "dev platform"
op() { MOLECULE_PLATFORM_URL="http://127.0.0.1:$PPORT" "$MOLECULE" platform "$@" --db "$DIR/dev.db"; }
R=$(op workspace list | python3 -c 'import json,sys; print([w["id"] for w in json.load(sys.stdin) if w["name"] == "researcher"][0])')
[ -n "$R" ] || fail "dev: no researcher workspace"
op pause "$R" >/dev/null || fail "dev: pause"
wait_for 100 grep -q "agent researcher ended: paused" "$DIR/dev.log" || fail "dev: researcher not paused"
op resume "$R" >/dev/null || fail "dev: resume"
wait_for 100 grep -q "agent researcher resumed" "$DIR/dev.log" || fail "dev: researcher not revived"
status_online() { op workspace list | tr '{' '\n' | grep "\"id\":\"$R\"" | grep -q '"status":"online"'; }
wait_for 100 status_online || fail "dev: researcher not online again"
"$MOLECULE" call "http://127.0.0.1:$APORT/agents/researcher/" "still there?" >"$DIR/call.out" 2>&1 ||
  fail "dev: researcher after resume: $(cat "$DIR/call.out")"
kill -TERM "$PID"
wait "$PID" || fail "dev exit status"
PID=
wait_for 50 notified "$DIR/dev.notify" STOPPING=1 || fail "dev: no STOPPING=1"
stop_listener
fi
echo ok
