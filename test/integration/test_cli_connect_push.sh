#!/bin/sh
# `molecule connect --listen` (push mode) end to end as processes, against a real
# `molecule platform --dev`:
#  - connect listens, registers its URL (derived from --listen, port chosen by the OS) and the
#    platform stores it in push mode;
#  - a sibling's message through the platform's A2A proxy is answered synchronously (not
#    queued) by the handler (tr a-z A-Z), and `molecule call` straight to the agent works too;
#  - the handler has the workspace identity: `molecule peers` and `molecule status` work in it
#    (and connect's own heartbeats keep the status);
#  - pausing the workspace ends connect with exit status 0;
#  - --reported-url and MOLECULE_REPORTED_URL are what the platform stores; SIGTERM lets the
#    running handler finish (its reply reaches the caller) and ends connect with 0;
#  - errors: a wildcard --listen without a reported URL, a reported URL that is not http(s),
#    a reported URL without --listen, a port already taken, a refused registration.
set -eu
MOLECULE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DIR=$(mktemp -d /tmp/molpush-XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
cleanup() {
  for p in ${CPID:-} ${SPID:-} ${PID:-}; do kill "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- platform"; cat "$DIR/platform.log"
  echo "--- connect"; cat "$DIR/connect.log" 2>/dev/null || true
  exit 1
}
wait_for() { # seconds command...: polls every 0.1 s
  n=$(($1 * 10)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }
"$MOLECULE" platform --listen "127.0.0.1:$PORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 10 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
ADMIN=$(cat "$DIR/p.db.admin_token")
op() { "$MOLECULE" platform "$@" --platform "$URL" --db "$DIR/p.db"; }
id_of() { sed 's/.*"id":"\([^"]*\)".*/\1/'; }
tok_of() { sed 's/.*"auth_token":"\([^"]*\)".*/\1/'; }
P=$(op workspace create --name team | id_of)
OUT_A=$(op workspace create --name agent-a --parent "$P" --external)
OUT_B=$(op workspace create --name agent-b --parent "$P" --external)
A=$(echo "$OUT_A" | id_of) TOKA=$(echo "$OUT_A" | tok_of)
B=$(echo "$OUT_B" | id_of) TOKB=$(echo "$OUT_B" | tok_of)
[ -n "$TOKA" ] && [ -n "$TOKB" ] || fail "external workspaces come with tokens"
# B, the caller, is driven by hand: it registers in poll mode with its token.
curl -fs -X POST "$URL/registry/register" -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKB" \
  -d "{\"id\":\"$B\",\"url\":\"remote://no-inbound\",\"agent_card\":{\"name\":\"b\"}}" >/dev/null ||
  fail "register B"
ws_get() { curl -fs "$URL/workspaces/$A" -H "Authorization: Bearer $ADMIN"; }
from_b() { # text id: B's message to A through the platform's A2A proxy; prints the answer
  curl -fsS -X POST "$URL/workspaces/$A/a2a" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TOKB" -H "X-Workspace-ID: $B" \
    -d "{\"jsonrpc\":\"2.0\",\"id\":\"$2\",\"method\":\"message/send\",\"params\":{\"message\":{\"role\":\"user\",\"messageId\":\"$2\",\"parts\":[{\"kind\":\"text\",\"text\":\"$1\"}]}}}"
}
connected() { [ "$(grep -c 'connected as' "$DIR/connect.log")" -ge "$1" ]; }
agent_url() { sed -n 's/.*connected as .*url=\([^ )]*\).*/\1/p' "$DIR/connect.log" | tail -n 1; }

# The handler: uppercases, except for the words that look at its environment.
cat >"$DIR/handler.sh" <<EOF
#!/bin/sh
text=\$(cat)
case "\$text" in
  whoami)
    "$MOLECULE" peers --json >"$DIR/h.peers" 2>"$DIR/h.err" || exit 1
    "$MOLECULE" status "pushing on" 2>>"$DIR/h.err" || exit 1
    echo "\$WORKSPACE_ID \$PLATFORM_URL \$MOLECULE_TOKEN_DIR \${MOLECULE_WORKSPACE_TOKEN:-no-token-var}" ;;
  slow)
    : >"$DIR/slow.started"
    while [ ! -e "$DIR/slow.go" ]; do sleep 0.05; done
    echo "slow and done" ;;
  *) printf '%s\n' "\$text" | tr a-z A-Z ;;
esac
EOF
chmod +x "$DIR/handler.sh"

# ---- usage errors (no platform call is made) --------------------------------------------------
usage_err() { # expected-stderr-fragment args...
  want=$1; shift
  rc=0
  env PLATFORM_URL="$URL" WORKSPACE_ID="$A" "$MOLECULE" connect --handler cat "$@" \
    >"$DIR/usage.out" 2>"$DIR/usage.err" || rc=$?
  [ "$rc" = 2 ] || fail "connect $*: exit status $rc, want 2: $(cat "$DIR/usage.err")"
  grep -q -- "$want" "$DIR/usage.err" || fail "connect $*: stderr lacks '$want': $(cat "$DIR/usage.err")"
}
usage_err "--reported-url" --listen "0.0.0.0:$(free_port)"
usage_err "--reported-url" --listen "[::]:$(free_port)"
usage_err "http:// or https://" --listen "127.0.0.1:0" --reported-url "remote://no-inbound"
usage_err "--listen" --reported-url "http://127.0.0.1:9/"
rc=0
env PLATFORM_URL="$URL" WORKSPACE_ID="$A" MOLECULE_REPORTED_URL="http://127.0.0.1:9/" \
  "$MOLECULE" connect --handler cat >"$DIR/usage.out" 2>"$DIR/usage.err" || rc=$?
[ "$rc" = 2 ] && grep -q "MOLECULE_REPORTED_URL" "$DIR/usage.err" ||
  fail "MOLECULE_REPORTED_URL without --listen: exit status $rc: $(cat "$DIR/usage.err")"
usage_err "bad --listen" --listen "nowhere"
usage_err "--max-handlers wants" --listen "127.0.0.1:0" --max-handlers 0
usage_err "--listen" --max-handlers 2
"$MOLECULE" connect --help | grep -q -- "--listen HOST:PORT" || fail "--help does not show --listen"
# A refused registration (a wrong token) ends it at once with 2, as in poll mode.
rc=0
env PLATFORM_URL="$URL" WORKSPACE_ID="$A" MOLECULE_WORKSPACE_TOKEN=not-the-token "$MOLECULE" connect \
  --token-dir "$DIR/wrong" --handler cat --listen 127.0.0.1:0 >"$DIR/usage.out" 2>"$DIR/usage.err" || rc=$?
[ "$rc" = 2 ] && grep -q "register failed" "$DIR/usage.err" ||
  fail "a refused registration: exit status $rc: $(cat "$DIR/usage.err")"
grep -q "status 401" "$DIR/usage.err" || fail "a refused registration: no HTTP status: $(cat "$DIR/usage.err")"

# ---- push mode on an OS-chosen port -------------------------------------------------------------
start_connect() { # args...: appended to the command line
  env -u MOLECULE_PLATFORM_URL PLATFORM_URL="$URL" WORKSPACE_ID="$A" MOLECULE_WORKSPACE_TOKEN="$TOKA" \
    MALLOC_PERTURB_=190 ${EXTRA_ENV:-} \
    "$MOLECULE" connect --token-dir "$DIR/a" --handler "$DIR/handler.sh" --interval-s 1 \
    --heartbeat-s 1 "$@" >>"$DIR/connect.log" 2>&1 &
  CPID=$!
}
start_connect --listen 127.0.0.1:0
wait_for 10 connected 1 || fail "connect did not start"
AURL=$(agent_url)
case "$AURL" in http://127.0.0.1:[1-9]*/) ;; *) fail "the derived URL: '$AURL'" ;; esac
[ "${AURL%/}" != "http://127.0.0.1:0" ] || fail "the URL names port 0, not the port chosen"
ws_get | json "d['url'] == '$AURL' and d['delivery_mode'] == 'push'" ||
  fail "the platform does not store the push URL: $(ws_get)"
curl -fs "${AURL}.well-known/agent-card.json" | json "d['url'] == '$AURL'" ||
  fail "the agent card does not name the URL"

# A sibling through the proxy: the reply comes back in the answer, not queued.
from_b "hello from b" m-1 >"$DIR/r1" || fail "proxy call: $(cat "$DIR/r1")"
json "d['result']['parts'][0]['text'] == 'HELLO FROM B'" <"$DIR/r1" ||
  fail "the proxy's answer is not the handler's reply: $(cat "$DIR/r1")"
! grep -q '"queued"' "$DIR/r1" || fail "the message was queued for polling"

# `molecule call` straight to the agent.
"$MOLECULE" call "$AURL" "straight in" >"$DIR/r2" 2>"$DIR/r2.err" || fail "molecule call: $(cat "$DIR/r2.err")"
[ "$(cat "$DIR/r2")" = "STRAIGHT IN" ] || fail "molecule call's reply: $(cat "$DIR/r2")"

# The handler's environment: the identity and the token file, not the token variable.
from_b whoami m-2 >"$DIR/r3" || fail "whoami: $(cat "$DIR/r3")"
json "d['result']['parts'][0]['text'] == '$A $URL $DIR/a no-token-var'" <"$DIR/r3" ||
  fail "the handler's environment: $(cat "$DIR/r3") $(cat "$DIR/h.err" 2>/dev/null)"
json "sorted(p['id'] for p in d) == sorted(['$P', '$B'])" <"$DIR/h.peers" ||
  fail "molecule peers in the handler: $(cat "$DIR/h.peers")"
# connect's own heartbeats (uptime > 0; the verb's one-shot beat says 0) keep the status.
kept() { ws_get | json "d.get('current_task') == 'pushing on' and d['uptime_seconds'] > 0"; }
wait_for 15 kept || fail "connect's heartbeats dropped the handler's status: $(ws_get)"

# Pause ends it with 0.
op pause "$A" >/dev/null || fail "pause"
wait_for 15 sh -c "! kill -0 $CPID 2>/dev/null" || fail "connect did not exit after pause"
wait "$CPID" || fail "connect exit status after pause: $?"
CPID=
grep -q "workspace paused" "$DIR/connect.log" || fail "pause not reported"
op resume "$A" >/dev/null || fail "resume"

# ---- --reported-url is what the platform stores ---------------------------------------------------
APORT=$(free_port)
# The wildcard listener cannot name itself; the platform reaches it as localhost.
start_connect --listen "0.0.0.0:$APORT" --reported-url "http://localhost:$APORT/"
wait_for 10 connected 2 || fail "connect with --reported-url did not start"
ws_get | json "d['url'] == 'http://localhost:$APORT/' and d['delivery_mode'] == 'push'" ||
  fail "the platform does not store --reported-url: $(ws_get)"
from_b "via localhost" m-3 >"$DIR/r4" || fail "proxy call to the reported URL: $(cat "$DIR/r4")"
json "d['result']['parts'][0]['text'] == 'VIA LOCALHOST'" <"$DIR/r4" || fail "reply: $(cat "$DIR/r4")"

# SIGTERM while a handler runs: it is let finish, its reply reaches the caller, exit 0.
from_b slow m-4 >"$DIR/r5" 2>&1 &
SPID=$!
wait_for 15 test -e "$DIR/slow.started" || fail "the slow handler did not start"
kill -TERM "$CPID"
wait_for 10 grep -q "shutting down" "$DIR/connect.log" || fail "SIGTERM not reported"
: >"$DIR/slow.go"
wait "$SPID" || fail "the caller of the slow handler: $(cat "$DIR/r5")"
SPID=
json "d['result']['parts'][0]['text'] == 'slow and done'" <"$DIR/r5" ||
  fail "SIGTERM did not let the running handler finish: $(cat "$DIR/r5")"
wait "$CPID" || fail "connect exit status after SIGTERM: $?"
CPID=

# MOLECULE_REPORTED_URL does the same; a trailing slash is added.
EXTRA_ENV="MOLECULE_REPORTED_URL=http://localhost:$APORT"
start_connect --listen "127.0.0.1:$APORT"
EXTRA_ENV=
wait_for 10 connected 3 || fail "connect with MOLECULE_REPORTED_URL did not start"
ws_get | json "d['url'] == 'http://localhost:$APORT/'" ||
  fail "the platform does not store MOLECULE_REPORTED_URL: $(ws_get)"
# The port is taken now: a second connect says so and exits 2 without registering.
rc=0
env PLATFORM_URL="$URL" WORKSPACE_ID="$A" "$MOLECULE" connect --token-dir "$DIR/a" \
  --handler cat --listen "127.0.0.1:$APORT" >"$DIR/busy.out" 2>"$DIR/busy.err" || rc=$?
[ "$rc" = 2 ] || fail "a taken port: exit status $rc: $(cat "$DIR/busy.err")"
grep -q "127.0.0.1:$APORT" "$DIR/busy.err" || fail "a taken port is not named: $(cat "$DIR/busy.err")"
ws_get | json "d['url'] == 'http://localhost:$APORT/'" || fail "a connect that could not listen registered: $(ws_get)"
kill -TERM "$CPID"
wait "$CPID" || fail "connect exit status after SIGTERM (idle): $?"
CPID=
echo ok
