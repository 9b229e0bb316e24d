#!/bin/sh
# `molecule call --v1` (and v0.3 where the method exists) against `molecule serve
# --task-mode=input-required --allow-private-webhooks`, as processes over loopback:
#  - a multi-turn task: the first message leaves it input-required ([task ID] on stderr), --task
#    continues it, "done" completes it; --get with --history trims the history;
#  - --list (v1.0 ListTasks) with filters, and its refusal without --v1;
#  - --subscribe follows an input-required task through its next turn (started once the
#    server's /metrics shows the stream open);
#  - push configs: inline with a message (--push-url) and --push-set/get/list/delete; a webhook
#    (python3) receives the task's updates with the token, in the v1.0 body;
#  - --cancel of a live task (exit 0: canceled was the point), again (-32002, exit 1);
#  - --card, --extended-card (-32007 here: exit 1), bad usage (exit 2).
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molcallv1-XXXXXX)
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$DIR"/*.log "$DIR"/*.out "$DIR"/*.err; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
  exit 1
}
wait_for() { # seconds command...: polls every 0.05 s
  n=$(($1 * 20)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done
  return 1
}
json() { # file python-expression-on-v: prints it
  python3 -c "import json,sys; v=json.load(open(sys.argv[1])); print($2)" "$1"
}

"$MOLECULE" serve --listen 127.0.0.1:0 --task-mode=input-required --delay-ms 20 \
  --allow-private-webhooks >"$DIR/serve.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 10 grep -qs "listening on" "$DIR/serve.log" || fail "serve did not start"
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/serve.log")
URL="http://127.0.0.1:$PORT/"

# The webhook: appends "token<TAB>body" lines to hook.out.
cat >"$DIR/hook.py" <<'EOF'
import http.server, sys
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode()
        with open(out, 'a') as f:
            f.write((self.headers.get('X-A2A-Notification-Token') or '') + '\t' + body + '\n')
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$DIR/hook.py" "$DIR/hook.out" >"$DIR/hook.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 10 grep -qs '^[0-9]' "$DIR/hook.log" || fail "webhook did not start"
HOOK="http://127.0.0.1:$(head -1 "$DIR/hook.log")/h"

call() { "$MOLECULE" call "$URL" "$@"; }
task_of() { sed -n 's/^\[task \(.*\)\]$/\1/p' "$1"; }

# ---- multi-turn, get with history --------------------------------------------------------------
call first --v1 --push-url "$HOOK" --push-token tk-inline >"$DIR/t1.out" 2>"$DIR/t1.err" || fail "first turn"
grep -q "echo: first" "$DIR/t1.out" || fail "first reply"
ID=$(task_of "$DIR/t1.err")
[ -n "$ID" ] || fail "no [task ID] on stderr"
call second --v1 --task "$ID" >"$DIR/t2.out" 2>"$DIR/t2.err" || fail "second turn"
call --v1 --get "$ID" --history 2 >"$DIR/get.out" || fail "--get"
[ "$(json "$DIR/get.out" "v['status']['state']")" = input-required ] || fail "state after two turns"
[ "$(json "$DIR/get.out" "len(v['history'])")" = 2 ] || fail "--history 2"
[ "$(json "$DIR/get.out" "v['history'][1]['parts'][0]['text']")" = second ] || fail "history order"
call --get "$ID" >"$DIR/get03.out" || fail "--get in v0.3"
[ "$(json "$DIR/get03.out" "len(v['history'])")" = 3 ] || fail "history: user, agent, user"

# ---- list ----------------------------------------------------------------------------------------
CTX=$(json "$DIR/get.out" "v['contextId']")
call --v1 --list --context "$CTX" --status TASK_STATE_INPUT_REQUIRED --page-size 5 >"$DIR/list.out" || fail "--list"
[ "$(json "$DIR/list.out" "v['tasks'][0]['id']")" = "$ID" ] || fail "--list found the task"
[ "$(json "$DIR/list.out" "v['totalSize']")" = 1 ] || fail "--list total"
set +e
call --list >/dev/null 2>"$DIR/list03.err"; rc=$?
set -e
[ $rc = 2 ] && grep -q "add --v1" "$DIR/list03.err" || fail "--list without --v1: $rc"

# ---- push configs --------------------------------------------------------------------------------
call --v1 --push-set "$ID" --push-url "$HOOK" --push-token tk-set --push-id p1 >"$DIR/pset.out" || fail "--push-set"
[ "$(json "$DIR/pset.out" "v['pushNotificationConfig']['id']")" = p1 ] || fail "--push-set id"
call --v1 --push-get "$ID" --push-id p1 >"$DIR/pget.out" || fail "--push-get"
[ "$(json "$DIR/pget.out" "v['pushNotificationConfig']['token']")" = tk-set ] || fail "--push-get token"
call --push-list "$ID" >"$DIR/plist.out" || fail "--push-list (v0.3)"
[ "$(json "$DIR/plist.out" "len(v)")" = 2 ] || fail "--push-list: the inline one and p1"

# ---- subscribe through the next turn, which completes the task --------------------------------
call --v1 --subscribe "$ID" >"$DIR/sub.out" 2>"$DIR/sub.err" &
SUB=$!
open_streams() { curl -fsS "${URL}metrics" | grep -q '^molecule_a2a_open_streams 1$'; }
wait_for 10 open_streams || fail "the subscription did not open"
call done --v1 --task "$ID" >"$DIR/t3.out" 2>&1 || fail "third turn"
wait "$SUB" || fail "--subscribe"
grep -q '^\[completed\]' "$DIR/sub.err" || fail "--subscribe did not see the task complete"
grep -q "echo: done" "$DIR/sub.out" || fail "--subscribe did not print the artifact"
# the webhooks heard it end, each with its token, in the v1.0 body
done_for() { grep -c "^$1	.*TASK_STATE_COMPLETED" "$DIR/hook.out" 2>/dev/null | grep -q '^[1-9]'; }
wait_for 10 done_for tk-inline || fail "the inline webhook did not hear the end"
wait_for 10 done_for tk-set || fail "the set webhook did not hear the end"
call --v1 --push-delete "$ID" --push-id p1 >"$DIR/pdel.out" || fail "--push-delete"
call --v1 --push-list "$ID" >"$DIR/plist2.out" || fail "--push-list after delete"
[ "$(json "$DIR/plist2.out" "len(v)")" = 1 ] || fail "--push-delete removed p1"

# ---- cancel ---------------------------------------------------------------------------------------
call live --v1 --return-immediately >"$DIR/c.out" 2>"$DIR/c.err" || fail "a live task"
CID=$(task_of "$DIR/c.err")
call --v1 --cancel "$CID" >"$DIR/cancel.out" || fail "--cancel of a live task"
[ "$(json "$DIR/cancel.out" "v['status']['state']")" = canceled ] || fail "--cancel state"
set +e
call --v1 --cancel "$CID" >/dev/null 2>"$DIR/cancel2.err"; rc=$?
set -e
[ $rc = 1 ] && grep -q -- "-32002" "$DIR/cancel2.err" || fail "--cancel again: $rc"

# ---- cards, usage -------------------------------------------------------------------------------
call --v1 --card >"$DIR/card.out" || fail "--card"
[ "$(json "$DIR/card.out" "[i['protocolBinding'] for i in v['supportedInterfaces']][-1]")" = HTTP+JSON ] || fail "--card interfaces"
[ "$(json "$DIR/card.out" "v['capabilities']['pushNotifications']")" = True ] || fail "--card push"
set +e
call --v1 --extended-card >/dev/null 2>"$DIR/ext.err"; rc=$?
call --get >/dev/null 2>&1; rc2=$?
call text --get "$ID" >/dev/null 2>&1; rc3=$?
set -e
[ $rc = 1 ] && grep -q -- "-32007" "$DIR/ext.err" || fail "--extended-card: $rc"
[ $rc2 = 2 ] && [ $rc3 = 2 ] || fail "bad usage: $rc2 $rc3"
echo "cli_call_v1: ok"
