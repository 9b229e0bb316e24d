#!/bin/sh
# `molecule serve --workers N` as a process, over loopback with curl (every call a fresh
# connection, so SO_REUSEPORT spreads them over the workers):
#  - task ids name their worker, and tasks are made on more than one worker;
#  - tasks/get, tasks/cancel, tasks/resubscribe, the push-config methods and the REST binding
#    answer for every task on every connection, whichever worker holds the task;
#  - a message continuing a task (input-required) reaches it from any connection;
#  - /metrics is one view: the sums of every worker's counters, exact;
#  - SIGTERM drains every worker: turns in flight on each finish, the exit status is 0;
#  - --workers with --data-dir, and bad --workers values, are refused with a clear error.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molworkers-XXXXXX)
PIDS=""
cleanup() {
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

# serve NAME ARGS...: starts `molecule serve` on a free port; URL is then its address.
serve() {
  name=$1; shift
  "$MOLECULE" serve --listen 127.0.0.1:0 "$@" >"$DIR/$name.log" 2>&1 &
  PID=$!
  PIDS="$PIDS $PID"
  wait_for 10 grep -qs "listening on" "$DIR/$name.log" || fail "$name did not start"
  URL="http://127.0.0.1:$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$DIR/$name.log")/"
}
rpc() { # method params-json: one JSON-RPC call on a fresh connection (counted in $DIR/calls)
  echo "$1" >>"$DIR/calls"
  curl -sS --max-time 20 "$URL" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}"
}
msg() { # text [extra message fields]
  echo "{\"role\":\"user\",\"messageId\":\"m-$$-$(date +%s%N)\",\"parts\":[{\"kind\":\"text\",\"text\":\"$1\"}]${2:-}}"
}
task_id_of() { sed -n 's/.*"kind":"task","id":"\([^"]*\)".*/\1/p; s/^{"jsonrpc":"2.0","id":1,"result":{"id":"\([^"]*\)".*/\1/p' | head -1; }
state_in() { sed -n 's/.*"status":{"state":"\([a-z-]*\)".*/\1/p' | head -1; }

# ---- bad flags ----
"$MOLECULE" serve --workers 0 >"$DIR/bad.log" 2>&1 && fail "--workers 0 accepted"
grep -q "\-\-workers wants a whole number from 1 to 256 or 'auto', not '0'" "$DIR/bad.log" || fail "--workers 0: $(cat "$DIR/bad.log")"
"$MOLECULE" serve --workers two >"$DIR/bad.log" 2>&1 && fail "--workers two accepted"
"$MOLECULE" serve --workers 2 --data-dir "$DIR/data" >"$DIR/bad.log" 2>&1 && fail "--workers 2 --data-dir accepted"
grep -q "data-dir keeps the tasks of one worker: use --workers 1" "$DIR/bad.log" || fail "--data-dir: $(cat "$DIR/bad.log")"

# ---- a port taken by a server that does not share it: a clear error, nothing left running ----
serve plain --workers 1
TAKEN=$(echo "$URL" | sed 's|.*:\([0-9]*\)/$|\1|')
"$MOLECULE" serve --workers 2 --listen "127.0.0.1:$TAKEN" >"$DIR/inuse.log" 2>&1 && fail "port in use accepted"
grep -qi "address already in use" "$DIR/inuse.log" || fail "port in use: $(cat "$DIR/inuse.log")"
kill -TERM "$PID"
wait "$PID" || fail "plain did not exit 0"

# ---- tasks on every worker, read from every connection ----
: >"$DIR/calls"
serve w2 --workers 2 --task-mode --allow-private-webhooks
IDS=""
i=0
while [ $i -lt 24 ]; do
  T=$(rpc message/send "{\"message\":$(msg "task $i")}" | task_id_of)
  [ -n "$T" ] || fail "message/send $i gave no task"
  IDS="$IDS $T"
  i=$((i + 1))
done
OWNERS=$(for t in $IDS; do echo "$t" | cut -c1-2; done | sort -u | tr '\n' ' ')
[ "$OWNERS" = "00 01 " ] || fail "task ids name workers '$OWNERS', not both 00 and 01: $IDS"
for t in $IDS; do
  for k in 1 2 3 4; do
    OUT=$(rpc tasks/get "{\"id\":\"$t\"}")
    [ "$(echo "$OUT" | state_in)" = completed ] || fail "tasks/get $t (try $k): $OUT"
    echo "$OUT" | grep -q "\"id\":\"$t\"" || fail "tasks/get $t answered another task: $OUT"
  done
  echo rest >>"$DIR/calls"
  OUT=$(curl -sS --max-time 20 "${URL}v1/tasks/$t")
  echo "$OUT" | grep -q '"state":"TASK_STATE_COMPLETED"' || fail "GET /v1/tasks/$t: $OUT"
done
OUT=$(rpc tasks/get '{"id":"01000000-0000-4000-8000-000000000000"}')
echo "$OUT" | grep -q '"code":-32001' || fail "unknown task of worker 1: $OUT"
OUT=$(rpc tasks/get '{"id":"zz"}')
echo "$OUT" | grep -q '"code":-32001' || fail "unknown task id: $OUT"
OUT=$(rpc tasks/list '{}')
echo "$OUT" | grep -q '"code":-32601\|"code":-32004' || fail "tasks/list with two workers: $OUT"

# ---- push configs set on one connection, read on others ----
for t in $IDS; do
  OUT=$(rpc tasks/pushNotificationConfig/set "{\"taskId\":\"$t\",\"pushNotificationConfig\":{\"id\":\"c1\",\"url\":\"http://127.0.0.1:9/hook\"}}")
  echo "$OUT" | grep -q '"result"' || fail "push set $t: $OUT"
  for k in 1 2; do
    OUT=$(rpc tasks/pushNotificationConfig/get "{\"id\":\"$t\",\"pushNotificationConfigId\":\"c1\"}")
    echo "$OUT" | grep -q 'http://127.0.0.1:9/hook' || fail "push get $t: $OUT"
  done
done

# ---- one view in /metrics: every JSON-RPC call counted once, every task once ----
CALLS=$(wc -l <"$DIR/calls")
M=$(curl -sS "${URL}metrics")
echo "$M" | grep -qx "molecule_a2a_requests_total $CALLS" || fail "requests_total is not $CALLS: $M"
echo "$M" | grep -qx "molecule_a2a_tasks 24" || fail "tasks is not 24: $M"
echo "$M" | grep -qx "molecule_a2a_push_configs 24" || fail "push_configs is not 24: $M"
# the listener's requests: every call once (a call handed to its task's worker is counted
# where it arrived, not again on the owner's private listener), the process's series once
HTTP=$(echo "$M" | awk '/^molecule_http_requests_total\{/ && !/route="\/metrics"/ {n += $2} END {print n + 0}')
[ "$HTTP" = "$CALLS" ] || fail "http requests_total sums to $HTTP, not $CALLS: $M"
for f in molecule_build_info process_cpu_seconds_total process_resident_memory_bytes process_open_fds; do
  [ "$(echo "$M" | grep -c "^$f[ {]")" = 1 ] || fail "$f not once: $M"
  [ "$(echo "$M" | grep -c "^# TYPE $f ")" = 1 ] || fail "TYPE $f not once: $M"
done
[ "$(echo "$M" | grep -c '^# TYPE ')" = "$(echo "$M" | grep '^# TYPE ' | sort -u | wc -l)" ] ||
  fail "a family twice: $M"
kill -TERM "$PID"
wait "$PID" || fail "w2 did not exit 0"

# ---- cancel, resubscribe and continue across workers (tasks that stay live) ----
serve slow --workers 2 --task-mode --delay-ms 600
i=0
while [ $i -lt 8 ]; do
  t=$(rpc message/send "{\"configuration\":{\"blocking\":false},\"message\":$(msg "live $i")}" | task_id_of)
  [ -n "$t" ] || fail "non-blocking send $i gave no task"
  if [ $((i % 2)) -eq 0 ]; then
    OUT=$(rpc tasks/cancel "{\"id\":\"$t\"}")
    [ "$(echo "$OUT" | state_in)" = canceled ] || fail "tasks/cancel $t: $OUT"
    OUT=$(rpc tasks/get "{\"id\":\"$t\"}")
    [ "$(echo "$OUT" | state_in)" = canceled ] || fail "tasks/get after cancel $t: $OUT"
  else
    curl -sS -N --max-time 20 "$URL" -H 'Content-Type: application/json' \
      -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/resubscribe\",\"params\":{\"id\":\"$t\"}}" \
      >"$DIR/resub.out" || fail "resubscribe $t: curl failed"
    grep -q '"state":"completed"' "$DIR/resub.out" || fail "resubscribe $t: $(cat "$DIR/resub.out")"
    grep -q '"final":true' "$DIR/resub.out" || fail "resubscribe $t did not end: $(cat "$DIR/resub.out")"
  fi
  i=$((i + 1))
done
kill -TERM "$PID"
wait "$PID" || fail "slow did not exit 0"

serve multi --workers 2 --task-mode=input-required
for i in 1 2 3 4 5 6; do
  T=$(rpc message/send "{\"message\":$(msg "first $i")}" | task_id_of)
  OUT=$(rpc tasks/get "{\"id\":\"$T\"}")
  [ "$(echo "$OUT" | state_in)" = input-required ] || fail "turn 1 of $T: $OUT"
  for k in 1 2; do
    OUT=$(rpc message/send "{\"message\":$(msg "more $k" ",\"taskId\":\"$T\"")}")
    [ "$(echo "$OUT" | state_in)" = input-required ] || fail "turn $((k + 1)) of $T: $OUT"
  done
  OUT=$(rpc message/send "{\"message\":$(msg done ",\"taskId\":\"$T\"")}")
  [ "$(echo "$OUT" | state_in)" = completed ] || fail "last turn of $T: $OUT"
done
kill -TERM "$PID"
wait "$PID" || fail "multi did not exit 0"

# ---- graceful drain: turns and streams in flight on both workers finish, exit 0; streams
# passed on from one worker to another included ----
serve drain --workers 2 --task-mode --delay-ms 1500
i=0
while [ $i -lt 8 ]; do
  curl -sS --max-time 20 "$URL" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"message/send\",\"params\":{\"message\":$(msg "drain $i")}}" \
    >"$DIR/drain.$i.out" 2>&1 &
  PIDS="$PIDS $!"
  i=$((i + 1))
done
i=0
while [ $i -lt 4 ]; do
  t=$(rpc message/send "{\"configuration\":{\"blocking\":false},\"message\":$(msg "watched $i")}" | task_id_of)
  curl -sS -N --max-time 20 "$URL" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/resubscribe\",\"params\":{\"id\":\"$t\"}}" \
    >"$DIR/watch.$i.out" 2>&1 &
  PIDS="$PIDS $!"
  i=$((i + 1))
done
wait_for 10 sh -c "curl -sS '${URL}metrics' | grep -qx 'molecule_a2a_open_streams 4'" ||
  fail "4 streams never open at once: $(curl -sS "${URL}metrics")"
kill -TERM "$PID"
wait "$PID" || fail "drain did not exit 0"
i=0
while [ $i -lt 8 ]; do
  [ "$(state_in <"$DIR/drain.$i.out")" = completed ] || fail "turn $i in flight lost: $(cat "$DIR/drain.$i.out")"
  i=$((i + 1))
done
i=0
while [ $i -lt 4 ]; do
  grep -q '"state":"completed"' "$DIR/watch.$i.out" && grep -q '"final":true' "$DIR/watch.$i.out" ||
    fail "stream $i cut: $(cat "$DIR/watch.$i.out")"
  i=$((i + 1))
done
echo "ok"
