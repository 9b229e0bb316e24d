#!/bin/sh
# `molecule call` and `molecule task` as a daily tool, through the real binary over loopback:
# getopt's parsing (options anywhere, '--', "-" reads TEXT from stdin, --help everywhere), the
# one error style ("molecule CMD: WHAT 'VALUE': WHY" and one Try line, never the whole usage),
# --json, --context-id, --task-id, a card URL resolved to the endpoint it names, `task get` and
# `task cancel`, a deadline said as a deadline, a poll-mode workspace's "queued" with its id,
# and an HTTP error shown with the body the server sent.
# Every check runs and the failures are listed together.
set -u
MOLECULE=$1
DIR=$(mktemp -d /tmp/molcall-XXXXXX)
PIDS=""
FAILED=0
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || :; done; rm -rf "$DIR"; }
trap cleanup EXIT
bad() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
wait_for() { # seconds command...: polls every 0.05 s
  n=$(($1 * 20)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done
  return 1
}
# run ARGS...: molecule ARGS (stdin from $IN, default /dev/null) -> $OUT, $ERR, $RC
run() {
  timeout 60 "$MOLECULE" "$@" <"${IN:-/dev/null}" >"$DIR/out" 2>"$DIR/err"
  RC=$?
  OUT=$(cat "$DIR/out") ERR=$(cat "$DIR/err")
}
# usage_err TEXT ARGS...: exit 2, TEXT on stderr's first line, then exactly one Try line
usage_err() {
  text=$1
  shift
  run "$@"
  cmd=$(echo "$text" | sed 's/^molecule \([^:]*\):.*/\1/')
  [ "$RC" = 2 ] || { bad "molecule $*: exit $RC, want 2: $ERR"; return; }
  [ "$(head -1 "$DIR/err")" = "$text" ] || bad "molecule $*: stderr '$ERR', want '$text'"
  [ "$(sed -n 2p "$DIR/err")" = "Try 'molecule $cmd --help'" ] && [ "$(wc -l <"$DIR/err")" = 2 ] ||
    bad "molecule $*: want one Try line after the error: $ERR"
}
serve() { # NAME ARGS...: starts `molecule serve ARGS`; its URL in $URL_<NAME>
  name=$1
  shift
  "$MOLECULE" serve --listen 127.0.0.1:0 "$@" >"$DIR/$name.log" 2>&1 &
  PIDS="$PIDS $!"
  wait_for 10 grep -qs "^listening on " "$DIR/$name.log" || { echo "serve $name did not start"; exit 1; }
  eval "URL_$name=http://127.0.0.1:$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/$name.log")/"
}

# ---- --help on every command and subcommand, on stdout, exit 0 ------------------------------
for c in "call" "task" "plugin" "plugin install" "plugin list" "plugin remove" "plugin hash"; do
  # shellcheck disable=SC2086 # c: a command and its subcommand
  run $c --help
  [ "$RC" = 0 ] && [ -z "$ERR" ] && head -1 "$DIR/out" | grep -q "^usage: molecule $c" ||
    bad "molecule $c --help: exit $RC, stdout '$(head -1 "$DIR/out")', stderr '$ERR'"
done

# ---- the error style --------------------------------------------------------------------------
usage_err "molecule call: bad --timeout-ms '0': want a whole number from 1 to 86400000" \
  call --timeout-ms 0 http://127.0.0.1:1/ hi
usage_err "molecule call: unknown option '--bogus'" call --bogus http://127.0.0.1:1/ hi
usage_err "molecule call: option '--header': needs a value" call http://127.0.0.1:1/ hi --header
usage_err "molecule call: bad --header 'nocolon': want NAME:VALUE" call --header nocolon http://127.0.0.1:1/ hi
usage_err "molecule call: bad URL 'not a url': want an http:// or https:// URL" call "not a url" hi
usage_err "molecule call: missing TEXT after URL 'http://127.0.0.1:1/' (or give an action)" call http://127.0.0.1:1/
usage_err "molecule call: unexpected argument 'extra'" call http://127.0.0.1:1/ hi extra
usage_err "molecule call: one action per call: '--cancel' after another" call --get t1 --cancel t2 http://127.0.0.1:1/
usage_err "molecule task: unknown subcommand 'frob': want get or cancel" task frob http://127.0.0.1:1/ x
usage_err "molecule task: missing URL and ID" task get http://127.0.0.1:1/
usage_err "molecule task: bad URL 'ftp://x/': want an http:// or https:// URL" task get ftp://x/ t1
usage_err "molecule plugin: unknown option '--bogus'" plugin install demo --bogus
usage_err "molecule plugin: option '--sha256': needs a value" plugin install demo --sha256
usage_err "molecule plugin: unknown subcommand 'frob': want install, list, remove or hash" plugin frob
usage_err "molecule plugin install: missing NAME" plugin install
usage_err "molecule plugin list: unexpected argument 'b'" plugin list a b --plugins-dir "$DIR/p"
# an install that fails says so once, on one line
run plugin install demo --plugins-dir "$DIR/p" --platform-url http://127.0.0.1:1 --workspace-id w1 --allow-unverified
[ "$RC" = 1 ] && [ "$(wc -l <"$DIR/err")" = 1 ] && echo "$ERR" | grep -q "^molecule plugin install: .*connection refused" ||
  bad "plugin install against a closed port: exit $RC, want one line: $ERR"

# ---- call: parsing, stdin, --json, --context-id, --task-id ------------------------------------
serve echo --task-mode
run call -- "$URL_echo" -dash
[ "$RC" = 0 ] && [ "$OUT" = "echo: -dash" ] || bad "call -- URL -dash: $RC '$OUT' '$ERR'"
printf 'from stdin\n' >"$DIR/in"
IN="$DIR/in" run call "$URL_echo" -
[ "$RC" = 0 ] && [ "$OUT" = "echo: from stdin" ] || bad "call URL -: $RC '$OUT' '$ERR'"
run call "$URL_echo" hi --json --context-id ctx-42
[ "$RC" = 0 ] && echo "$OUT" | grep -q '"kind":"task"' && echo "$OUT" | grep -q '"contextId":"ctx-42"' &&
  echo "$OUT" | grep -q '"text":"echo: hi"' || bad "call --json --context-id: $RC '$OUT' '$ERR'"
run call --task-id no-such-task "$URL_echo" more
[ "$RC" = 1 ] && echo "$ERR" | grep -qi "task.*not found\|-32001" || bad "call --task-id unknown: $RC '$ERR'"

# ---- a card URL: the call goes to the endpoint the card names ---------------------------------
serve front --public-url "$URL_echo"  # an agent whose card names the task-mode one
run call "${URL_front}.well-known/agent-card.json" via-card
[ "$RC" = 0 ] && [ "$OUT" = "echo: via-card" ] && echo "$ERR" | grep -q '^\[task ' ||
  bad "call CARD-URL: $RC '$OUT' '$ERR' (want the task-mode agent's answer)"
run call "${URL_front}.well-known/agent.json" --card
[ "$RC" = 0 ] && echo "$OUT" | grep -q "\"url\":\"$URL_echo\"" || bad "call agent.json --card: $RC '$OUT' '$ERR'"

# ---- task get / cancel --------------------------------------------------------------------------
serve slow --task-mode --delay-ms 5000
run call --return-immediately --json "$URL_slow" "long job"
TID=$(echo "$ERR" | sed -n 's/^\[task \(.*\)\]$/\1/p')
[ "$RC" = 0 ] && [ -n "$TID" ] || bad "call --return-immediately --json: $RC '$OUT' '$ERR'"
run task get "$URL_slow" "$TID"
[ "$RC" = 0 ] && echo "$OUT" | grep -q "\"id\":\"$TID\"" || bad "task get: $RC '$OUT' '$ERR'"
run task cancel "$URL_slow" "$TID"
[ "$RC" = 0 ] && echo "$OUT" | grep -q '"state":"canceled"' || bad "task cancel: $RC '$OUT' '$ERR'"
run task get "$URL_slow" no-such-task
[ "$RC" = 1 ] || bad "task get unknown: exit $RC, want 1: '$ERR'"

# ---- a deadline is a deadline ---------------------------------------------------------------------
serve late --delay-ms 10000
run call --timeout-ms 300 "$URL_late" hi
[ "$RC" = 1 ] && [ "$ERR" = "molecule call: $URL_late: no answer within 300 ms (the call's deadline; raise it with --timeout-ms)" ] ||
  bad "call past its deadline: $RC '$ERR'"

# ---- a platform: a poll-mode workspace queues; an HTTP error shows its body -----------------------
PORT=$((10000 + ($$ + 4421) % 22000))
P="http://127.0.0.1:$PORT"
"$MOLECULE" platform --listen "127.0.0.1:$PORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 10 curl -fs "$P/health" >/dev/null || { echo "platform did not start"; cat "$DIR/platform.log"; exit 1; }
WS=$("$MOLECULE" platform workspace create --name poller --external --db "$DIR/p.db" --platform "$P")
A=$(echo "$WS" | sed 's/.*"id":"\([^"]*\)".*/\1/') TOK=$(echo "$WS" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
curl -fs -X POST "$P/registry/register" -H 'Content-Type: application/json' -H "Authorization: Bearer $TOK" \
  -d "{\"id\":\"$A\",\"url\":\"remote://no-inbound\",\"agent_card\":{\"name\":\"poller\"}}" >/dev/null ||
  bad "register the poll-mode workspace"
run call "$P/workspaces/$A/a2a" "for the poller"
[ "$RC" = 0 ] && [ -z "$OUT" ] && echo "$ERR" | grep -q "^molecule call: queued (queue id [0-9a-f-]\{36\})" ||
  bad "call to a poll-mode workspace: $RC '$OUT' '$ERR'"
run call "$P/workspaces/00000000-0000-4000-8000-000000000000/a2a" hi
[ "$RC" = 1 ] && echo "$ERR" | grep -q "HTTP 404" && echo "$ERR" | grep -q '^  the server said: {.*"error"' ||
  bad "call answered 404: $RC '$ERR'"

[ "$FAILED" = 0 ] || { echo "$FAILED check(s) failed"; exit 1; }
echo ok
