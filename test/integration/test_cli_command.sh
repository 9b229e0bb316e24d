#!/bin/sh
# The command executor as processes: `molecule serve --executor command --handler CMD` and a
# `molecule host` agent with `executor: command`, driven by `molecule call`, curl and the real
# @a2a-js/sdk client over loopback:
#  - a reply (tr a-z A-Z), the handler's environment (ids, the message file and its mode, the
#    secrets scrubbed) and the message file removed after the turn;
#  - a failing handler fails the task with stderr's last line (or its exit status);
#  - the deadline kills the handler's process group (a TERM-ignoring shell and its child);
#  - tasks/cancel of a running turn kills the group and ends the task canceled, once;
#  - at most --max-handlers run at once (a marker file per handler process), the FIFO holds
#    --max-queued more, and past that a turn fails at once with "busy";
#  - streaming: each stdout line reaches `molecule call --stream` before the next is printed;
#  - the output cap kills the handler and fails the task;
#  - the host file's `executor: command` and `handler:` keys (and their errors), and a stop
#    that cancels a handler still running.
# shellcheck disable=SC2016 # handlers are single-quoted: their own shell expands them
set -eu
MOLECULE=$1
ROOT=${MOL_SOURCE_ROOT:?MOL_SOURCE_ROOT must name the source tree}
DIR=$(mktemp -d /tmp/molcommand-XXXXXX)
MARK="$DIR/mark"
mkdir "$MARK"
export MARK
PIDS=""
cleanup() {
  # A server stopped this way cancels its turns, which kills their handlers.
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$DIR"/*.log; do echo "--- $f"; cat "$f"; done
  exit 1
}
wait_for() { # seconds command...: polls every 0.05 s
  n=$(($1 * 20)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done
  return 1
}
# A process is gone once it no longer exists or is a zombie waiting for its reaper.
gone() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
all_gone() { for p in "$@"; do gone "$p" || return 1; done; }

# serve NAME ARGS...: starts `molecule serve` on a free port; URL is then its address.
serve() {
  name=$1; shift
  # shellcheck disable=SC2086 # SERVE_ENV: NAME=VALUE words for the server's environment
  env ${SERVE_ENV:-} "$MOLECULE" serve --listen 127.0.0.1:0 --executor command "$@" >"$DIR/$name.log" 2>&1 &
  PIDS="$PIDS $!"
  wait_for 10 grep -qs "listening on" "$DIR/$name.log" || fail "$name did not start"
  URL="http://127.0.0.1:$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/$name.log")/"
}
rpc() { # url method params-json
  curl -fsS "$1" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}"
}
send_async() { # url text: message/send without waiting; prints the task id
  rpc "$1" message/send "{\"configuration\":{\"blocking\":false},\"message\":{\"role\":\"user\",\"messageId\":\"m-$$-$2\",\"parts\":[{\"kind\":\"text\",\"text\":\"$2\"}]}}" |
    sed -n 's/.*"kind":"task","id":"\([^"]*\)".*/\1/p'
}
state_of() { rpc "$1" tasks/get "{\"id\":\"$2\"}" | sed -n 's/.*"status":{"state":"\([a-z-]*\)".*/\1/p'; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }

# ---- a reply; the environment; the message file ----
serve upper --handler 'tr a-z A-Z'
[ "$("$MOLECULE" call "$URL" hello)" = "HELLO" ] || fail "reply: $("$MOLECULE" call "$URL" hello 2>&1)"

SERVE_ENV="MOLECULE_A2A_PLATFORM_SHARED_SECRET=s3cret API_SERVER_KEY=k3y MOLECULE_ADMIN_TOKEN=adm
  ADMIN_TOKEN=adm2 MOLECULE_WORKSPACE_TOKEN=wtok KEEP_ME=kept"
serve env --name envy --handler 'echo "task=$MOLECULE_TASK_ID ctx=$MOLECULE_CONTEXT_ID msg=$MOLECULE_MESSAGE_ID stream=$MOLECULE_STREAMING name=$MOLECULE_AGENT_NAME keep=${KEEP_ME-} secrets=${MOLECULE_A2A_PLATFORM_SHARED_SECRET-}${API_SERVER_KEY-}${MOLECULE_ADMIN_TOKEN-}${ADMIN_TOKEN-}${MOLECULE_WORKSPACE_TOKEN-}. mode=$(stat -c %a "$MOLECULE_MESSAGE_FILE")"; echo "$MOLECULE_MESSAGE_FILE" >"$MARK/msgfile"; cat "$MOLECULE_MESSAGE_FILE"'
SERVE_ENV=
OUT=$(rpc "$URL" message/send '{"message":{"role":"user","messageId":"m-env","contextId":"ctx-env","parts":[{"kind":"text","text":"env please"}]}}')
printf '%s\n' "$OUT" | grep -q 'msg=m-env stream=0 name=envy keep=kept secrets=\. mode=600' || fail "environment: $OUT"
printf '%s\n' "$OUT" | grep -q 'ctx=ctx-env ' || fail "context id: $OUT"
TASK=$(printf '%s\n' "$OUT" | sed -n 's/.*"taskId":"\([^"]*\)".*/\1/p')
printf '%s\n' "$OUT" | grep -q "task=$TASK " || fail "task id: $OUT"
printf '%s\n' "$OUT" | grep -q '\\"messageId\\":\\"m-env\\"' || fail "message file content: $OUT"
printf '%s\n' "$OUT" | grep -q '\\"text\\":\\"env please\\"' || fail "message file text: $OUT"
MSGFILE=$(cat "$MARK/msgfile")
wait_for 10 test ! -e "$MSGFILE" || fail "message file $MSGFILE left behind"

# ---- failure: stderr's last line, else the exit status ----
serve failing --handler 'echo first >&2; echo; echo oops >&2; exit 3'
if "$MOLECULE" call "$URL" hello >"$DIR/call.out" 2>"$DIR/call.err"; then fail "a failed task exited 0"; fi
grep -q "failed.*oops\|oops.*failed" "$DIR/call.err" || fail "failure message: $(cat "$DIR/call.err")"
OUT=$(rpc "$URL" message/send '{"message":{"role":"user","messageId":"m-f","parts":[{"kind":"text","text":"x"}]}}')
printf '%s\n' "$OUT" | grep -q '"state":"failed",[^{]*"message":{[^}]*"parts":\[{"kind":"text","text":"oops"}\]' ||
  fail "failed task: $OUT"
serve silent --handler 'exit 4'
OUT=$(rpc "$URL" message/send '{"message":{"role":"user","messageId":"m-s","parts":[{"kind":"text","text":"x"}]}}')
printf '%s\n' "$OUT" | grep -q '"state":"failed".*"text":"handler exit status 4"' || fail "exit status: $OUT"

# ---- the deadline kills the whole group, TERM-ignoring or not ----
serve slow --handler-timeout-s 1 \
  --handler 'trap "" TERM; echo $$ >"$MARK/deadline-sh.pid"; sleep 100 & echo $! >"$MARK/deadline.pid"; wait'
if "$MOLECULE" call "$URL" hello >"$DIR/call.out" 2>"$DIR/call.err"; then fail "a timed-out task exited 0"; fi
grep -q "timed out after 1 s" "$DIR/call.err" || fail "deadline message: $(cat "$DIR/call.err")"
wait_for 10 all_gone "$(cat "$MARK/deadline-sh.pid")" "$(cat "$MARK/deadline.pid")" ||
  fail "the handler or its child survived the deadline"

# ---- cancel of a running turn ----
serve cancel --handler 'echo $$ >"$MARK/cancel-sh.pid"; sleep 100 & echo $! >"$MARK/cancel.pid"; wait'
TASK=$(send_async "$URL" cancelme)
[ -n "$TASK" ] || fail "no task id from a non-blocking send"
wait_for 10 test -s "$MARK/cancel.pid" || fail "the handler did not start"
OUT=$(rpc "$URL" tasks/cancel "{\"id\":\"$TASK\"}")
printf '%s\n' "$OUT" | grep -q '"state":"canceled"' || fail "cancel: $OUT"
wait_for 10 all_gone "$(cat "$MARK/cancel-sh.pid")" "$(cat "$MARK/cancel.pid")" ||
  fail "the handler or its child survived the cancel"
rpc "$URL" tasks/cancel "{\"id\":\"$TASK\"}" | grep -q '"error"' || fail "a second cancel was accepted"
state_is "$URL" "$TASK" canceled || fail "state after cancel: $(state_of "$URL" "$TASK")"

# ---- the concurrency bound: 5 turns, at most 2 handlers at once ----
# Each handler notes how many run beside it, then waits for the gate: two are running (and a
# third would show in "seen") before the gate opens.
serve bounded --max-handlers 2 --max-queued 10 \
  --handler 'touch "$MARK/run.$$"; ls "$MARK" | grep -c "^run\." >>"$MARK/seen"; while [ ! -e "$MARK/gate" ]; do sleep 0.05; done; rm "$MARK/run.$$"; echo done'
CALLS=""
for i in 1 2 3 4 5; do
  "$MOLECULE" call "$URL" "turn $i" >"$DIR/bound.$i.out" 2>&1 &
  CALLS="$CALLS $!"
done
wait_for 10 sh -c '[ "$(ls "$MARK" | grep -c "^run\.")" -eq 2 ]' || fail "two handlers did not start"
touch "$MARK/gate"
for c in $CALLS; do wait "$c" || fail "a bounded turn failed"; done
for i in 1 2 3 4 5; do [ "$(cat "$DIR/bound.$i.out")" = "done" ] || fail "turn $i: $(cat "$DIR/bound.$i.out")"; done
[ "$(wc -l <"$MARK/seen")" -eq 5 ] || fail "handlers run: $(cat "$MARK/seen")"
[ "$(sort -n "$MARK/seen" | tail -1)" -eq 2 ] || fail "handlers at once (want at most and at least once 2): $(cat "$MARK/seen")"

# ---- the FIFO bound: one running, one waiting, the third is busy ----
serve busy --max-handlers 1 --max-queued 1 \
  --handler 'touch "$MARK/busy.$$"; while [ ! -e "$MARK/go" ]; do sleep 0.05; done; echo finished'
T1=$(send_async "$URL" first)
wait_for 10 sh -c 'ls "$MARK" | grep -q "^busy\."' || fail "the first busy turn did not start"
T2=$(send_async "$URL" second)
state_is "$URL" "$T2" submitted || fail "the second turn should wait: $(state_of "$URL" "$T2")"
if "$MOLECULE" call "$URL" third >"$DIR/call.out" 2>"$DIR/call.err"; then fail "the third turn was accepted"; fi
grep -q "busy: 1 handlers running and 1 turns waiting" "$DIR/call.err" || fail "busy: $(cat "$DIR/call.err")"
touch "$MARK/go"
wait_for 20 state_is "$URL" "$T1" completed || fail "first: $(state_of "$URL" "$T1")"
wait_for 20 state_is "$URL" "$T2" completed || fail "second: $(state_of "$URL" "$T2")"

# ---- streaming: each line arrives while the handler still runs ----
serve stream --handler 'echo "line 1"; while [ ! -e "$MARK/s1" ]; do sleep 0.05; done
  echo "line 2"; while [ ! -e "$MARK/s2" ]; do sleep 0.05; done; echo "line 3"'
"$MOLECULE" call --stream "$URL" go >"$DIR/stream.out" 2>"$DIR/stream.err" &
CALL=$!
wait_for 10 grep -q "line 1" "$DIR/stream.out" || fail "line 1 was not streamed"
grep -q "line 2" "$DIR/stream.out" && fail "line 2 before it was printed"
touch "$MARK/s1"
wait_for 10 grep -q "line 2" "$DIR/stream.out" || fail "line 2 was not streamed"
touch "$MARK/s2"
wait "$CALL" || fail "stream call: $(cat "$DIR/stream.err")"
[ "$(grep -c '^line [123]$' "$DIR/stream.out")" -eq 3 ] || fail "stream output: $(cat "$DIR/stream.out")"
grep -q '^\[completed\]$' "$DIR/stream.err" || fail "the stream did not complete: $(cat "$DIR/stream.err")"

# ---- the output cap ----
serve chatty --max-output-bytes 100 --handler 'yes'
if "$MOLECULE" call "$URL" hello >"$DIR/call.out" 2>"$DIR/call.err"; then fail "oversized output accepted"; fi
grep -q "output passed the limit of 100 bytes" "$DIR/call.err" || fail "cap: $(cat "$DIR/call.err")"

# ---- the real @a2a-js/sdk client ----
serve js --handler 'tr a-z A-Z'
JSDIR="$ROOT/test/interop/a2a-js"
[ -d "$JSDIR/node_modules" ] || fail "$JSDIR/node_modules is missing: run npm ci there"
(cd "$JSDIR" && node reply.mjs "$URL" "hello from a2a-js" "HELLO FROM A2A-JS") >"$DIR/node.log" 2>&1 ||
  fail "a2a-js client: $(cat "$DIR/node.log")"

# ---- the host file ----
bad() { # yaml, expected text
  printf '%s' "$1" >"$DIR/bad.yaml"
  if "$MOLECULE" host -c "$DIR/bad.yaml" --check >"$DIR/bad.out" 2>"$DIR/bad.err"; then fail "accepted: $1"; fi
  grep -q "$2" "$DIR/bad.err" || fail "message for '$1': $(cat "$DIR/bad.err")"
}
bad "agents: [{name: a, executor: command}]" "agents\[0\].handler: required with executor: command"
bad "agents: [{name: a, handler: cat}]" "agents\[0\].handler: only for executor: command"
bad "agents: [{name: a, executor: command, handler: cat, max_handlers: -1}]" "agents\[0\].max_handlers"
cat >"$DIR/host.yaml" <<'YAML'
listen: 127.0.0.1:0
grace_seconds: 1
agents:
  - name: shout
    executor: command
    handler: 'printf "%s from %s" "$(tr a-z A-Z)" "$MOLECULE_AGENT_NAME"'
    handler_timeout_seconds: 30
    max_handlers: 2
    max_queued: 4
    max_output_bytes: 4096
  - name: sleeper
    executor: command
    handler: 'echo $$ >"$MARK/host-sh.pid"; sleep 100 & echo $! >"$MARK/host.pid"; wait'
YAML
"$MOLECULE" host -c "$DIR/host.yaml" >"$DIR/host.log" 2>&1 &
HPID=$!
PIDS="$PIDS $HPID"
wait_for 10 grep -qs "listening on" "$DIR/host.log" || fail "host did not start"
HURL="http://127.0.0.1:$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/host.log")/agents/shout/"
[ "$("$MOLECULE" call "$HURL" hi)" = "HI from shout" ] || fail "host agent: $("$MOLECULE" call "$HURL" hi 2>&1)"
# A stop with a handler still running past the grace period: its turn is canceled, which
# kills the handler's group, and the host exits 0.
TASK=$(send_async "${HURL%shout/}sleeper/" "sleep")
[ -n "$TASK" ] || fail "no task from the sleeper"
wait_for 10 test -s "$MARK/host.pid" || fail "the sleeper handler did not start"
kill -TERM "$HPID"
wait "$HPID" || fail "host exit status"
wait_for 10 all_gone "$(cat "$MARK/host-sh.pid")" "$(cat "$MARK/host.pid")" ||
  fail "a handler survived the host"
echo ok
