#!/bin/sh
# Errors that say what is wrong, through the real binary: a --db that cannot be opened is named
# as the database (no hint at --platform-listen), an --admin-token-file that cannot be read is
# an error, every `platform` subcommand answers --help, `connect` names the argument it
# refuses and takes upstream's --poll-interval, and `dev --once` exits 1 when a worker failed.
# Every check runs and the failures are listed together.
set -u
MOLECULE=$1
DIR=$(mktemp -d /tmp/molerrors-XXXXXX)
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
unset PLATFORM_URL MOLECULE_PLATFORM_URL WORKSPACE_ID MOLECULE_WORKSPACE_ID \
  MOLECULE_WORKSPACE_TOKEN MOLECULE_REPORTED_URL MOLECULE_ADMIN_TOKEN HERMES_API_BASE 2>/dev/null || :
run() { # molecule ARGS... -> $RC, $OUT, $ERR
  HOME="$DIR" timeout 60 "$MOLECULE" "$@" </dev/null >"$DIR/out" 2>"$DIR/err"
  RC=$?
  OUT=$(cat "$DIR/out") ERR=$(cat "$DIR/err")
}
has_err() { grep -qF -- "$1" "$DIR/err"; }

# ---- a database that cannot be opened is the database's fault ----------------------------------
run dev --once --db "$DIR/no/such/dir/dev.db" --platform-listen 127.0.0.1:0 --listen 127.0.0.1:0
[ "$RC" = 1 ] && has_err "molecule dev: cannot open the database '$DIR/no/such/dir/dev.db'" &&
  ! has_err "try --platform-listen" || bad "dev with a bad --db: exit $RC: $ERR"
run platform --db "$DIR/no/such/dir/p.db" --listen 127.0.0.1:0
[ "$RC" = 1 ] && has_err "molecule platform: cannot open the database '$DIR/no/such/dir/p.db'" ||
  bad "platform with a bad --db: exit $RC: $ERR"

# ---- platform's operator subcommands -------------------------------------------------------------
for sub in "workspace" "workspace list" "secret" "pause" "resume" "delete" "approvals" "approve"; do
  # shellcheck disable=SC2086 # sub: a subcommand and its verb
  run platform $sub --help
  [ "$RC" = 0 ] && head -1 "$DIR/out" | grep -q "^usage: molecule platform" ||
    bad "platform $sub --help: exit $RC: $ERR"
done
run platform workspace list --admin-token-file "$DIR/missing-token" --platform http://127.0.0.1:1
[ "$RC" = 2 ] && [ "$(head -1 "$DIR/err")" = "molecule platform: cannot read --admin-token-file '$DIR/missing-token': No such file or directory" ] &&
  [ "$(sed -n 2p "$DIR/err")" = "Try 'molecule platform --help'" ] ||
  bad "an unreadable --admin-token-file: exit $RC: $ERR"
run platform workspace list --bogus
[ "$RC" = 2 ] && has_err "molecule platform: unknown option '--bogus'" || bad "platform workspace list --bogus: $RC $ERR"

# ---- connect names what it refuses ---------------------------------------------------------------
W=0f9e8d7c-1111-4222-8333-444455556666
run connect --handler cat --platform-url http://127.0.0.1:1 --workspace-id ../x
[ "$RC" = 2 ] && has_err "molecule connect: bad workspace id '../x' (--workspace-id or WORKSPACE_ID)" ||
  bad "connect with a bad workspace id: exit $RC: $ERR"
run connect --handler cat --platform-url ftp://x --workspace-id "$W"
[ "$RC" = 2 ] && has_err "molecule connect: bad platform URL 'ftp://x' (--platform-url or PLATFORM_URL)" ||
  bad "connect with a bad platform URL: exit $RC: $ERR"
run connect --handler cat --platform-url http://127.0.0.1:1 --workspace-id "$W" --poll-interval 0.5
[ "$RC" = 2 ] && has_err "molecule connect: bad --poll-interval '0.5': want seconds from 1 to 86400" ||
  bad "connect --poll-interval 0.5: exit $RC: $ERR"

# --poll-interval against a real platform: the agent polls at that interval
PORT=$((10000 + ($$ + 6173) % 22000))
P="http://127.0.0.1:$PORT"
"$MOLECULE" platform --listen "127.0.0.1:$PORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 10 curl -fs "$P/health" >/dev/null || { echo "platform did not start"; cat "$DIR/platform.log"; exit 1; }
WS=$("$MOLECULE" platform workspace create --name polled --external --db "$DIR/p.db" --platform "$P")
A=$(echo "$WS" | sed 's/.*"id":"\([^"]*\)".*/\1/') TOK=$(echo "$WS" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
MOLECULE_WORKSPACE_TOKEN=$TOK HOME="$DIR" "$MOLECULE" connect --handler cat --platform-url "$P" \
  --workspace-id "$A" --token-dir "$DIR/tok" --poll-interval 2.4 >"$DIR/connect.log" 2>&1 &
CPID=$!
PIDS="$PIDS $CPID"
wait_for 10 grep -q "connected as" "$DIR/connect.log" || bad "connect --poll-interval 2.4 did not start: $(cat "$DIR/connect.log")"
grep -q "interval=2s)" "$DIR/connect.log" || bad "connect --poll-interval 2.4: $(cat "$DIR/connect.log")"
kill -TERM "$CPID" 2>/dev/null
wait "$CPID" || bad "connect: exit $? after SIGTERM"

# ---- dev --once fails when a worker did --------------------------------------------------------------
HERMES_API_BASE=http://127.0.0.1:1/v1 run dev --once --db "$DIR/dev.db" --platform-listen 127.0.0.1:0 --listen 127.0.0.1:0
[ "$RC" = 1 ] && grep -q "demo failed: a worker failed" "$DIR/out" ||
  bad "dev --once with unreachable workers: exit $RC: $(tail -5 "$DIR/out")"

[ "$FAILED" = 0 ] || { echo "$FAILED check(s) failed"; exit 1; }
echo ok
