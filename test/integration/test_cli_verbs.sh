#!/bin/sh
# The platform verbs a handler script calls (`molecule peers|delegate|notify|secrets|status`),
# as processes against a real `molecule platform --dev`:
#  - each verb, run as workspace A, does what it says, checked in the platform itself: peers
#    lists the parent and the siblings (table and --json), delegate reaches a push-mode sibling (its reply is
#    printed) and a poll-mode one (the message is in its inbound feed), notify lands in A's
#    activity, secrets shows what the operator set, status becomes A's current task;
#  - --async delegate posts the platform's /delegate shape (to a recording fake);
#  - failures: no WORKSPACE_ID or no platform URL -> 2 with the missing name; a wrong token ->
#    1 with the platform's 401 body; an unknown peer -> 1 with the platform's error;
#  - `molecule connect` hands its handler what the verbs need: a handler on a connect started
#    with flags only (no PLATFORM_URL / WORKSPACE_ID in its environment) runs
#    `molecule peers --json` and `molecule status`, and gets the raw message JSON, the peer's
#    role and card URL; the status survives connect's own heartbeats.
set -eu
MOLECULE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DIR=$(mktemp -d /tmp/molverbs-XXXXXX)
PORT=$((10000 + ($$ + 4099) % 22000))
EPORT=$((10000 + ($$ + 8111) % 22000))
URL="http://127.0.0.1:$PORT"
cleanup() {
  for p in ${CPID:-} ${SPID:-} ${FPID:-} ${PID:-}; do kill "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- platform"; cat "$DIR/platform.log"
  echo "--- connect"; cat "$DIR/connect.log" 2>/dev/null || true
  echo "--- last verb"; cat "$DIR/out" "$DIR/err" 2>/dev/null || true
  exit 1
}
wait_for() { # seconds command...: polls every 0.1 s
  n=$(($1 * 10)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}
"$MOLECULE" platform --listen "127.0.0.1:$PORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 10 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
ADMIN=$(cat "$DIR/p.db.admin_token")
op() { "$MOLECULE" platform "$@" --platform "$URL" --db "$DIR/p.db"; }
id_of() { sed 's/.*"id":"\([^"]*\)".*/\1/'; }
tok_of() { sed 's/.*"auth_token":"\([^"]*\)".*/\1/'; }
register() { # id token url name
  curl -fs -X POST "$URL/registry/register" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $2" \
    -d "{\"id\":\"$1\",\"url\":\"$3\",\"agent_card\":{\"name\":\"$4\",\"url\":\"$3\"}}" >/dev/null
}
P=$(op workspace create --name team | id_of)
OUT=$(op workspace create --name agent-a --role lead --parent "$P" --external)
A=$(echo "$OUT" | id_of) TOKA=$(echo "$OUT" | tok_of)
OUT=$(op workspace create --name agent-b --role reviewer --parent "$P" --external)
B=$(echo "$OUT" | id_of) TOKB=$(echo "$OUT" | tok_of)
OUT=$(op workspace create --name echo-c --parent "$P" --external)
C=$(echo "$OUT" | id_of) TOKC=$(echo "$OUT" | tok_of)
OTHER=$(op workspace create --name loner | id_of)
[ -n "$TOKA" ] && [ -n "$TOKB" ] && [ -n "$TOKC" ] || fail "external workspaces come with tokens"
register "$A" "$TOKA" remote://no-inbound a || fail "register A"
register "$B" "$TOKB" remote://no-inbound b || fail "register B"
# C is a real push-mode A2A agent (the echo executor) registered with its loopback URL.
"$MOLECULE" serve --listen "127.0.0.1:$EPORT" --name echo-c >"$DIR/serve.log" 2>&1 &
SPID=$!
wait_for 10 curl -fs "http://127.0.0.1:$EPORT/.well-known/agent-card.json" >/dev/null ||
  fail "echo agent did not start"
register "$C" "$TOKC" "http://127.0.0.1:$EPORT" echo-c || fail "register C"

# A's identity: the token file in a token dir, the URL and id from the environment.
mkdir -m 700 "$DIR/a"
printf '%s\n' "$TOKA" >"$DIR/a/.auth_token"
chmod 600 "$DIR/a/.auth_token"
export MOLECULE_PLATFORM_URL="$URL" WORKSPACE_ID="$A" MOLECULE_TOKEN_DIR="$DIR/a"
run() { # expected-status command...: runs it, output in $DIR/out and $DIR/err
  want=$1; shift
  set +e
  "$@" >"$DIR/out" 2>"$DIR/err"
  got=$?
  set -e
  [ "$got" = "$want" ] || fail "$*: exit $got, wanted $want"
}
verb() { w=$1; shift; run "$w" "$MOLECULE" "$@"; } # expected-status verb args...
json() { # python expression over `d`, the JSON document on stdin; exit 1 when it is false
  python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"
}

# ---- peers --------------------------------------------------------------------------------
verb 0 peers
head -1 "$DIR/out" | grep -q '^ID  *NAME  *ROLE  *STATUS  *URL' || fail "peers: no table header"
grep "^$B " "$DIR/out" | grep -q 'agent-b  *reviewer' || fail "peers: B's row (name, role)"
grep "^$C " "$DIR/out" | grep -q "echo-c .*http://127.0.0.1:$EPORT" || fail "peers: C's row (URL)"
! grep -q "^$A " "$DIR/out" || fail "peers: A lists itself"
grep -q "^$P  *team " "$DIR/out" || fail "peers: the parent's row"
[ "$(wc -l <"$DIR/out")" -eq 4 ] || fail "peers: header + 3 rows expected"
verb 0 peers --json
json "sorted(p['id'] for p in d) == sorted(['$P', '$B', '$C'])" <"$DIR/out" || fail "peers --json ids"
json "[p['role'] for p in d if p['id'] == '$B'] == ['reviewer']" <"$DIR/out" ||
  fail "peers --json: B's role"

# ---- delegate -----------------------------------------------------------------------------
verb 0 delegate "$C" "ping from a"
[ "$(cat "$DIR/out")" = "echo: ping from a" ] || fail "delegate to the push-mode peer: reply"
verb 0 delegate "$C" "ping again" --json
json "'echo: ping again' in json.dumps(d['result'])" <"$DIR/out" || fail "delegate --json"
verb 0 delegate "$B" "review this"
[ ! -s "$DIR/out" ] || fail "delegate to a poll-mode peer printed a reply"
grep -q "queued" "$DIR/err" || fail "delegate to a poll-mode peer does not say queued"
curl -fs "$URL/workspaces/$B/activity?type=a2a_receive" -H "Authorization: Bearer $TOKB" |
  json "any(r['data']['text'] == 'review this' and r['source_id'] == '$A' for r in d)" ||
  fail "the delegation is not in B's inbound feed"
printf 'from stdin' | "$MOLECULE" delegate "$C" - >"$DIR/out" 2>"$DIR/err" || fail "delegate -"
[ "$(cat "$DIR/out")" = "echo: from stdin" ] || fail "delegate - reads the text from stdin"
verb 1 delegate "$OTHER" "not my team"
grep -q "HTTP 403" "$DIR/err" || fail "delegate to a stranger: status"
grep -q "cannot communicate" "$DIR/err" || fail "delegate to a stranger: the platform's error"
verb 1 delegate 00000000-0000-4000-8000-000000000000 "nobody"
grep -q "HTTP 403" "$DIR/err" || fail "delegate to an unknown peer: the platform's status"

# --async: the platform's POST /workspaces/<self>/delegate, against a recording fake.
FPORT=$((10000 + ($$ + 12007) % 22000))
python3 - "$FPORT" "$DIR/fake.req" <<'EOF' >"$DIR/fake.log" 2>&1 &
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(sys.argv[2] + '.tmp', 'w') as f:
            json.dump({'path': self.path, 'auth': self.headers.get('Authorization'),
                       'ctype': self.headers.get('Content-Type'), 'body': json.loads(body)}, f)
        import os; os.rename(sys.argv[2] + '.tmp', sys.argv[2])
        out = json.dumps({'delegation_id': 'd-123', 'status': 'delegated',
                          'target_id': json.loads(body)['target_id']}).encode()
        self.send_response(202)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def do_GET(self):
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
EOF
FPID=$!
wait_for 10 curl -fs "http://127.0.0.1:$FPORT/" >/dev/null || fail "fake platform did not start"
verb 0 delegate --async "$B" "later please" --platform-url "http://127.0.0.1:$FPORT"
[ "$(cat "$DIR/out")" = "d-123" ] || fail "delegate --async prints the delegation id"
json "d['path'] == '/workspaces/$A/delegate' and d['auth'] == 'Bearer $TOKA' and
      d['ctype'] == 'application/json' and d['body']['target_id'] == '$B' and
      d['body']['task'] == 'later please' and len(d['body']['idempotency_key']) == 64" \
  <"$DIR/fake.req" || fail "delegate --async request: $(cat "$DIR/fake.req")"
kill "$FPID"; FPID=

# ---- notify -------------------------------------------------------------------------------
verb 0 notify "halfway there"
[ ! -s "$DIR/out" ] || fail "notify printed something on stdout (a handler's reply)"
curl -fs "$URL/workspaces/$A/activity" -H "Authorization: Bearer $TOKA" |
  json "any(r['method'] == 'notify' and r['data']['text'] == 'halfway there' for r in d)" ||
  fail "notify is not in A's activity"

# ---- secrets ------------------------------------------------------------------------------
op secret set "$A" API_KEY 's3cr3t value' >/dev/null || fail "operator secret set"
op secret set --global REGION eu-west >/dev/null || fail "operator global secret set"
verb 0 secrets
[ "$(cat "$DIR/out")" = "API_KEY=s3cr3t value
REGION=eu-west" ] || fail "secrets: NAME=VALUE lines, sorted"
verb 0 secrets API_KEY
[ "$(cat "$DIR/out")" = "s3cr3t value" ] || fail "secrets NAME prints the value"
verb 1 secrets NOPE
grep -q "NOPE" "$DIR/err" || fail "secrets NAME: a missing name is named"
verb 0 secrets --json
json "d == {'API_KEY': 's3cr3t value', 'REGION': 'eu-west'}" <"$DIR/out" || fail "secrets --json"

# ---- status -------------------------------------------------------------------------------
ws_get() { curl -fs "$URL/workspaces/$1" -H "Authorization: Bearer $ADMIN"; }
verb 0 status "reviewing PR 7"
[ ! -s "$DIR/out" ] || fail "status printed something on stdout"
ws_get "$A" | json "d.get('current_task') == 'reviewing PR 7'" ||
  fail "status is not A's current task: $(ws_get "$A")"
curl -fs "$URL/workspaces/$A" | json "'current_task' not in d" ||
  fail "the open view shows the current task (upstream strips it)"
verb 0 status "" --json
json "d['status'] == 'ok'" <"$DIR/out" || fail "status --json"
ws_get "$A" | json "d.get('current_task', 'x') == ''" || fail "status '' clears the task"

# ---- usage errors and refusals --------------------------------------------------------------
verb 0 peers --help
grep -q "usage: molecule peers" "$DIR/out" || fail "peers --help"
for v in delegate notify secrets status; do
  verb 0 "$v" --help
  grep -q "usage: molecule $v" "$DIR/out" || fail "$v --help"
done
"$MOLECULE" --help | grep -q "^  delegate " || fail "molecule --help does not list the verbs"
run 2 env -u WORKSPACE_ID -u MOLECULE_WORKSPACE_ID "$MOLECULE" peers
grep -q "WORKSPACE_ID" "$DIR/err" || fail "no WORKSPACE_ID: not named"
[ "$(grep -c "Try 'molecule peers --help'" "$DIR/err")" = 1 ] || fail "no WORKSPACE_ID: try line"
run 2 env -u MOLECULE_PLATFORM_URL -u PLATFORM_URL "$MOLECULE" notify hi
grep -q "PLATFORM_URL" "$DIR/err" || fail "no platform URL: not named"
verb 2 notify
grep -q "Try 'molecule notify --help'" "$DIR/err" || fail "notify without TEXT"
verb 2 delegate "$B"
verb 2 delegate ../etc "hi"
grep -q "TARGET must be a workspace id" "$DIR/err" || fail "delegate to a bad id"
head -c 1100000 /dev/zero | tr '\0' a >"$DIR/big"
run 2 sh -c "'$MOLECULE' notify - <'$DIR/big'"
grep -q "at most" "$DIR/err" || fail "notify -: more than 1 MiB is refused, not cut"
verb 2 peers --bogus
grep -q "Try 'molecule peers --help'" "$DIR/err" || fail "unknown option"
verb 2 peers --token-dir "$DIR/none"
grep -q "token" "$DIR/err" || fail "no token: not named"
mkdir -m 700 "$DIR/wrong"
echo not-the-token >"$DIR/wrong/.auth_token"
verb 1 peers --token-dir "$DIR/wrong"
grep -q "HTTP 401" "$DIR/err" || fail "wrong token: no status"
grep -q "invalid workspace auth token" "$DIR/err" || fail "wrong token: the platform's body"
run 1 env MOLECULE_WORKSPACE_TOKEN=not-the-token "$MOLECULE" notify "x" --token-dir "$DIR/none"
grep -q "HTTP 401" "$DIR/err" || fail "wrong token (notify): no status"
verb 1 peers --platform-url "http://127.0.0.1:$FPORT" --timeout 5
grep -q "127.0.0.1:$FPORT" "$DIR/err" || fail "unreachable platform: the URL is named"

# ---- a handler run by `molecule connect` ----------------------------------------------------
# connect gets everything by flag; its handler's environment has no PLATFORM_URL/WORKSPACE_ID
# but what connect exports.
# B's backlog ("review this", delegated above) comes first: only "please handle" is recorded.
cat >"$DIR/handler.sh" <<EOF
#!/bin/sh
[ "\$(cat)" = "please handle" ] || { echo "not this one"; exit 0; }
"$MOLECULE" peers --json >"$DIR/h.peers" 2>"$DIR/h.err" || exit 1
"$MOLECULE" status "working on it" 2>>"$DIR/h.err" || exit 1
cp "\$MOLECULE_MESSAGE_FILE" "$DIR/h.msg"
printf '%s\n%s\n' "\$MOLECULE_PEER_ROLE" "\$MOLECULE_PEER_CARD_URL" >"$DIR/h.env.tmp"
mv "$DIR/h.env.tmp" "$DIR/h.env"
echo done
EOF
chmod +x "$DIR/handler.sh"
env -u MOLECULE_PLATFORM_URL -u WORKSPACE_ID -u MOLECULE_TOKEN_DIR \
  "$MOLECULE" connect --platform-url "$URL" --workspace-id "$B" --token "$TOKB" \
  --token-dir "$DIR/b" --handler "$DIR/handler.sh" --interval-s 1 --heartbeat-s 1 \
  >"$DIR/connect.log" 2>&1 &
CPID=$!
wait_for 10 grep -q 'connected as' "$DIR/connect.log" || fail "connect did not start"
verb 0 delegate "$B" "please handle"
wait_for 20 test -s "$DIR/h.env" || fail "the handler did not finish: $(cat "$DIR/h.err" 2>/dev/null)"
json "sorted(p['id'] for p in d) == sorted(['$P', '$A', '$C'])" <"$DIR/h.peers" ||
  fail "peers --json inside the handler: $(cat "$DIR/h.peers")"
json "d['data']['text'] == 'please handle' and d['source_id'] == '$A'" <"$DIR/h.msg" ||
  fail "MOLECULE_MESSAGE_FILE: $(cat "$DIR/h.msg")"
[ "$(sed -n 1p "$DIR/h.env")" = lead ] || fail "MOLECULE_PEER_ROLE: $(cat "$DIR/h.env")"
sed -n 2p "$DIR/h.env" | grep -q "/registry/discover/$A" || fail "MOLECULE_PEER_CARD_URL"
# connect's own heartbeats (uptime > 0; the verb's one-shot beat says 0) keep the status.
kept() { ws_get "$B" | json "d.get('current_task') == 'working on it' and d['uptime_seconds'] > 0"; }
wait_for 15 kept || fail "connect's heartbeats dropped the handler's status: $(ws_get "$B")"
a_got_done() {
  curl -fs "$URL/workspaces/$A/activity?type=a2a_receive" -H "Authorization: Bearer $TOKA" |
    json "any(r['data']['text'] == 'done' and r['source_id'] == '$B' for r in d)"
}
wait_for 15 a_got_done || fail "the handler's reply did not reach A"
kill -TERM "$CPID"
wait "$CPID" || fail "connect exit status after SIGTERM"
CPID=
echo ok
