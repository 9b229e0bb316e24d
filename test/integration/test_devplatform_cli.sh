#!/bin/sh
# `molecule platform` end to end as processes: a non-dev server with its generated admin token,
# and the operator subcommands reading that token from the file beside the database; then a
# --dev server with --public-host, where a wrong admin token is still refused (needs curl);
# the log settings from the environment.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/moldevp-cli-XXXXXX)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$DIR/server.log"; exit 1; }
wait_for() { # seconds command...: polls every 0.05 s
  n=$(($1 * 20)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done
  return 1
}
# started: the line `molecule platform` prints once it listens (on a port the OS picked)
# Waits for the whole line (the port and the space after it): a line read while it is being
# written would give a partial port.
listening() {
  wait_for 10 grep -q '^molecule platform: http://127.0.0.1:[0-9]* ' "$DIR/server.log" || fail "the platform did not start"
  PORT=$(sed -n 's|^molecule platform: http://127.0.0.1:\([0-9]*\) .*|\1|p' "$DIR/server.log")
  export MOLECULE_PLATFORM_URL="http://127.0.0.1:$PORT"
}
"$MOLECULE" platform --listen 127.0.0.1:0 --db "$DIR/p.db" >"$DIR/server.log" 2>&1 &
PID=$!
listening
op() { "$MOLECULE" platform "$@" --db "$DIR/p.db"; }

# no token -> refused
if "$MOLECULE" platform workspace list --admin-token-file /nonexistent >/dev/null 2>&1; then
  fail "list without the admin token succeeded"
fi
[ "$(stat -c %a "$DIR/p.db.admin_token")" = 600 ] || fail "token file mode"
P=$(op workspace create --name parent | sed 's/.*"id":"\([^"]*\)".*/\1/')
C=$(op workspace create --name child --parent "$P" | sed 's/.*"id":"\([^"]*\)".*/\1/')
op workspace list | grep -q "\"$C\"" || fail "child not listed"
op secret set "$C" K V | grep -q '"saved"' || fail "secret set"
op secret set --global G 1 | grep -q '"saved"' || fail "global secret set"
op pause "$P" | grep -q '"paused_count":2' || fail "pause cascade"
op resume "$P" | grep -q '"resumed_count":2' || fail "resume"
# approvals: an agent asks over HTTP with its token, the operator decides with the CLI
AJ=$(op workspace create --name asker --external)
A=$(echo "$AJ" | sed 's/.*"id":"\([^"]*\)".*/\1/')
AT=$(echo "$AJ" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
ask() {
  curl -sS -H "Authorization: Bearer $AT" -H 'Content-Type: application/json' \
    -d "{\"action\":\"$1\"}" "$MOLECULE_PLATFORM_URL/workspaces/$A/approvals" |
    sed -n 's/.*"approval_id":"\([^"]*\)".*/\1/p'
}
mine() { curl -sS -H "Authorization: Bearer $AT" "$MOLECULE_PLATFORM_URL/workspaces/$A/approvals"; }
AP1=$(ask deploy)
AP2=$(ask "drop table")
[ -n "$AP1" ] && [ -n "$AP2" ] || fail "approval create"
op approvals | grep -q "\"$AP2\"" || fail "pending approvals not listed"
op approve "$AP1" | grep -q '"approved"' || fail "approve"
if op approve "$AP1" >/dev/null 2>&1; then fail "a decided approval was decided again"; fi
if op deny 00000000-0000-4000-8000-000000000000 >/dev/null 2>&1; then fail "deny unknown id"; fi
op deny "$AP2" --reason "not on a Friday" | grep -q '"denied"' || fail "deny"
mine | grep -q "\"id\":\"$AP1\",[^}]*\"status\":\"approved\"" || fail "agent sees approved: $(mine)"
mine | grep -q '"decision_reason":"not on a Friday"' || fail "agent sees the reason: $(mine)"
op approvals | grep -q "$AP2" && fail "decided approval still pending"
if op delete "$P" >/dev/null 2>&1; then fail "delete with children needs --cascade"; fi
op delete "$P" --cascade | grep -q '"cascade_deleted":2' || fail "delete cascade"
kill -TERM "$PID"
wait "$PID" || fail "server exit status"
PID=
grep -q "shutting down" "$DIR/server.log" || fail "graceful shutdown"

# --public-host must be a bare name
if "$MOLECULE" platform --dev --listen 127.0.0.1:0 --db "$DIR/q.db" \
     --public-host "http://platform.test" >"$DIR/bad.log" 2>&1; then
  fail "a URL as --public-host was accepted"
fi
grep -q "public host 'http://platform.test'" "$DIR/bad.log" || fail "no clear --public-host error"

# MOLECULE_LOG_LEVEL and MOLECULE_LOG_FORMAT apply as in the other commands: the same failing
# start logs its error as JSON and leaves out the info lines before it
if MOLECULE_LOG_LEVEL=error MOLECULE_LOG_FORMAT=json "$MOLECULE" platform --dev \
     --listen 127.0.0.1:0 --db "$DIR/l.db" --public-host "http://platform.test" \
     >"$DIR/bad.log" 2>&1; then
  fail "a URL as --public-host was accepted"
fi
grep -q '^{.*"level":"error".*public host' "$DIR/bad.log" || fail "MOLECULE_LOG_FORMAT ignored"
if grep -q "generated admin token" "$DIR/bad.log"; then fail "MOLECULE_LOG_LEVEL ignored"; fi

"$MOLECULE" platform --dev --listen 127.0.0.1:0 --db "$DIR/d.db" \
  --public-host platform.test >"$DIR/server.log" 2>&1 &
PID=$!
listening
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
code=$(status -H "Host: platform.test:$PORT" "$MOLECULE_PLATFORM_URL/health")
[ "$code" = 200 ] ||
  fail "--public-host name refused ($code): $(curl -s -H "Host: platform.test:$PORT" "$MOLECULE_PLATFORM_URL/health")"
[ "$(status -H "Host: other.test:$PORT" "$MOLECULE_PLATFORM_URL/health")" = 403 ] ||
  fail "a foreign Host was served"
# dev + loopback: no token is fine, a wrong one is not
"$MOLECULE" platform workspace list --db "$DIR/no-token.db" >/dev/null || fail "dev list without a token"
if op workspace create --name x --admin-token bogus >/dev/null 2>&1; then
  fail "dev accepted a wrong admin token"
fi
kill -TERM "$PID"
wait "$PID" || fail "dev server exit status"
PID=
echo ok
