#!/bin/sh
# The logging options every command shares, through the real binary (needs curl, python3):
#  - --log-level and --log-format (and MOLECULE_LOG_LEVEL / MOLECULE_LOG_FORMAT) in every
#    command's and subcommand's --help;
#  - a bad --log-level / --log-format is a usage error (exit 2, one "Try" line); a bad
#    MOLECULE_LOG_LEVEL / MOLECULE_LOG_FORMAT is warned about, and the command still runs;
#  - --log-format json lines carry structured fields: agent, workspace_id and status on the
#    registration, duration_ms and status on a turn (--log-level debug), workspace_id, status
#    and err on a failed heartbeat once the platform is gone;
#  - --log-level error keeps the info lines out; the flags win over the environment.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/mollog-XXXXXX)
cleanup() {
  for p in ${HPID:-} ${PID:-}; do kill "$p" 2>/dev/null || :; done
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

# ---- --help of every command and subcommand lists the shared options ----
for cmd in "" dev serve call task host platform connect mcp bench peers delegate notify \
  secrets status "plugin install" "plugin list" plugin "task get"; do
  # shellcheck disable=SC2086
  "$MOLECULE" $cmd --help >"$DIR/help.out" 2>"$DIR/help.err" || fail "molecule $cmd --help exit"
  for want in --log-level --log-format MOLECULE_LOG_LEVEL MOLECULE_LOG_FORMAT; do
    grep -q -- "$want" "$DIR/help.out" || fail "molecule $cmd --help: no $want"
  done
done

# ---- bad values ----
st=0
"$MOLECULE" serve --log-level verbose >"$DIR/bad.out" 2>"$DIR/bad.err" || st=$?
[ "$st" = 2 ] || fail "bad --log-level: exit $st"
grep -q "^molecule serve: bad --log-level 'verbose': want trace, debug, info, warn, error or off$" \
  "$DIR/bad.err" || fail "bad --log-level message: $(cat "$DIR/bad.err")"
[ "$(wc -l <"$DIR/bad.err")" = 2 ] && grep -q "^Try 'molecule serve --help'$" "$DIR/bad.err" ||
  fail "bad --log-level: not two lines: $(cat "$DIR/bad.err")"
st=0
"$MOLECULE" call --log-format=xml http://127.0.0.1:1/ hi >"$DIR/bad.out" 2>"$DIR/bad.err" || st=$?
[ "$st" = 2 ] && grep -q "bad --log-format 'xml': want plain or json" "$DIR/bad.err" ||
  fail "bad --log-format: exit $st, $(cat "$DIR/bad.err")"
st=0
"$MOLECULE" serve --log-level >"$DIR/bad.out" 2>"$DIR/bad.err" || st=$?
[ "$st" = 2 ] && grep -q "option '--log-level': needs a value" "$DIR/bad.err" ||
  fail "--log-level without a value: exit $st, $(cat "$DIR/bad.err")"
# A bad environment value is warned about; the command runs (here: its help).
MOLECULE_LOG_LEVEL=loud MOLECULE_LOG_FORMAT=yaml "$MOLECULE" serve --help >"$DIR/env.out" \
  2>"$DIR/env.err" || fail "a bad MOLECULE_LOG_LEVEL stopped the command"
grep -q "MOLECULE_LOG_LEVEL 'loud' ignored: want trace, debug, info, warn, error or off" \
  "$DIR/env.err" || fail "no warning for MOLECULE_LOG_LEVEL: $(cat "$DIR/env.err")"
grep -q "MOLECULE_LOG_FORMAT 'yaml' ignored: want plain or json" "$DIR/env.err" ||
  fail "no warning for MOLECULE_LOG_FORMAT: $(cat "$DIR/env.err")"

# ---- serve: the flags win over the environment ----
SPORT=$(free_port)
MOLECULE_LOG_FORMAT=plain "$MOLECULE" serve --listen "127.0.0.1:$SPORT" --log-format json \
  >"$DIR/serve.out" 2>"$DIR/serve.log" &
PID=$!
wait_for 100 grep -q "listening on" "$DIR/serve.out" || fail "serve did not start"
kill -TERM "$PID"
wait "$PID" || fail "serve exit status"
PID=
python3 - "$DIR/serve.log" <<'PY' || fail "serve --log-format json: not JSON lines"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert lines, "no lines"
for l in lines:
    o = json.loads(l)
    assert o["scope"] and o["msg"] and o["level"] and o["ts"], l
PY
MOLECULE_LOG_LEVEL=debug "$MOLECULE" serve --listen "127.0.0.1:$SPORT" --log-level error \
  >"$DIR/quiet.out" 2>"$DIR/quiet.log" &
PID=$!
wait_for 100 grep -q "listening on" "$DIR/quiet.out" || fail "serve did not start (quiet)"
kill -TERM "$PID"
wait "$PID" || fail "serve exit status (quiet)"
PID=
[ ! -s "$DIR/quiet.log" ] || fail "--log-level error still logs: $(cat "$DIR/quiet.log")"

# ---- structured fields: a host agent on the platform ----
PPORT=$(free_port)
URL="http://127.0.0.1:$PPORT"
"$MOLECULE" platform --listen "127.0.0.1:$PPORT" --db "$DIR/p.db" --dev >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 100 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
out=$(MOLECULE_PLATFORM_URL="$URL" "$MOLECULE" platform workspace create --name logged --external --db "$DIR/p.db")
WS=$(echo "$out" | sed 's/.*"id":"\([^"]*\)".*/\1/')
mkdir -p "$DIR/tok"
echo "$out" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/' >"$DIR/tok/.auth_token"
chmod 600 "$DIR/tok/.auth_token"
HPORT=$(free_port)
cat >"$DIR/host.yaml" <<YAML
listen: 127.0.0.1:$HPORT
platform_url: $URL
agents:
  - name: logged
    workspace_id: $WS
    token_dir: $DIR/tok
    heartbeat_seconds: 1
YAML
"$MOLECULE" host -c "$DIR/host.yaml" --log-format json --log-level debug >"$DIR/host.out" \
  2>"$DIR/host.log" &
HPID=$!
wait_for 100 grep -q "listening on" "$DIR/host.out" || fail "host did not start"
has_line() { # python condition on the JSON object o
  python3 - "$DIR/host.log" "$1" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    try:
        o = json.loads(l)
    except ValueError:
        continue
    if eval(sys.argv[2]):
        sys.exit(0)
sys.exit(1)
PY
}
wait_for 100 has_line "o.get('agent') == 'logged' and o.get('workspace_id') == '$WS' and o.get('status') == 'online'" ||
  fail "no registration line with agent, workspace_id and status"
"$MOLECULE" call "http://127.0.0.1:$HPORT/agents/logged/" "hello" >/dev/null || fail "call"
wait_for 50 has_line "o.get('agent') == 'logged' and o.get('status') == 'completed' and isinstance(o.get('duration_ms'), int)" ||
  fail "no turn line with status and duration_ms"
kill "$PID"
wait "$PID" || :
PID=
wait_for 100 has_line "o.get('workspace_id') == '$WS' and o.get('level') == 'warn' and 'err' in o and 'status' in o" ||
  fail "no failed-heartbeat line with workspace_id, status and err"
kill -TERM "$HPID"
wait "$HPID" || :
HPID=
echo ok
