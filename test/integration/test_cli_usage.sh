#!/bin/sh
# Every `molecule` command as a user meets it at the edges: bad usage exits 2 with a message that
# names the flag or argument at fault, and starts nothing; --help exits 0 with the usage on
# stdout; a call that fails exits 1 with the reason. And the success paths the other shell
# tests leave out: `molecule call` with --v1, --header, --timeout-ms and --stream against
# `molecule serve --task-mode --name --public-url --delay-ms`, every listener (serve, host,
# platform, dev) refusing a port in use, `host --check`.
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molusage-XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$DIR"/*.log; do [ -e "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
unset PLATFORM_URL MOLECULE_PLATFORM_URL WORKSPACE_ID MOLECULE_WORKSPACE_ID \
  MOLECULE_WORKSPACE_TOKEN MOLECULE_REPORTED_URL MOLECULE_AGENT_NAME 2>/dev/null || true
wait_for() { # seconds command...: polls every 0.05 s
  n=$(($1 * 20)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done
  return 1
}

# expect STATUS TEXT ARGS...: `molecule ARGS` exits STATUS with TEXT (a fixed string) on stderr.
# `timeout` is only a guard: a command that wrongly accepts its arguments and starts serving is
# stopped there and fails the check with 124.
expect() {
  want=$1 text=$2
  shift 2
  set +e
  timeout 30 "$MOLECULE" "$@" </dev/null >"$DIR/out" 2>"$DIR/err"
  got=$?
  set -e
  [ "$got" = "$want" ] || fail "molecule $*: exit $got, want $want: $(cat "$DIR/err")"
  grep -qF -- "$text" "$DIR/err" || fail "molecule $*: stderr lacks '$text': $(cat "$DIR/err")"
}

# ---- the command itself -----------------------------------------------------------------------
expect 2 "usage: molecule [--help] [--version] <command>"
expect 2 "molecule: unknown command 'nope'" nope
grep -qx "Try 'molecule --help'" "$DIR/err" || fail "unknown command: no Try line"
for c in serve host dev mcp bench peers connect platform call task plugin; do
  expect 2 "molecule $c: unknown option '--bogus'" $c --bogus
  [ "$(sed -n 2p "$DIR/err")" = "Try 'molecule $c --help'" ] && [ "$(wc -l <"$DIR/err")" = 2 ] ||
    fail "molecule $c --bogus: want the error and one Try line: $(cat "$DIR/err")"
done
expect 2 "molecule host: missing -c FILE (the host file)" host
[ "$(sed -n 2p "$DIR/err")" = "Try 'molecule host --help'" ] && [ "$(wc -l <"$DIR/err")" = 2 ] ||
  fail "molecule host without a file: want the error and one Try line: $(cat "$DIR/err")"
expect 2 "molecule host: unexpected argument 'extra'" host -c "$DIR/x.yaml" extra
for h in --help -h help; do
  "$MOLECULE" $h >"$DIR/out" || fail "molecule $h exit status"
  for c in dev serve plugin platform call host connect peers delegate notify secrets status; do
    grep -q "^  $c " "$DIR/out" || fail "molecule $h does not list $c"
  done
done
for v in --version -V; do
  "$MOLECULE" $v | grep -Eqx 'molecule [0-9]+\.[0-9]+\.[0-9]+' || fail "molecule $v"
done
for c in dev serve plugin platform call host connect; do
  "$MOLECULE" $c --help >"$DIR/out" 2>"$DIR/err" || fail "$c --help exit status"
  head -1 "$DIR/out" | grep -q "^usage: molecule $c" || fail "$c --help: $(head -1 "$DIR/out")"
  [ ! -s "$DIR/err" ] || fail "$c --help wrote to stderr: $(cat "$DIR/err")"
done

# ---- call -------------------------------------------------------------------------------------
expect 2 "molecule call: missing URL (and TEXT, or an action)" call
expect 2 "molecule call: missing TEXT after URL 'http://127.0.0.1:1/'" call http://127.0.0.1:1/
expect 2 "molecule call: unexpected argument 'extra'" call http://127.0.0.1:1/ hi extra
for t in 0 x 86400001; do
  expect 2 "molecule call: bad --timeout-ms '$t': want a whole number from 1 to 86400000" \
    call --timeout-ms "$t" http://127.0.0.1:1/ hi
done
expect 2 "molecule call: bad --header 'nocolon': want NAME:VALUE" call --header nocolon http://127.0.0.1:1/ hi
expect 2 "molecule call: bad --header ':empty-name': want NAME:VALUE" call --header ":empty-name" http://127.0.0.1:1/ hi
expect 2 "molecule call: unknown option '--bogus'" call --bogus http://127.0.0.1:1/ hi
expect 2 "molecule call: bad URL 'not a url': want an http:// or https:// URL" call "not a url" hi
expect 2 "molecule call: bad URL 'ftp://x/': want an http:// or https:// URL" call ftp://x/ hi
expect 1 "molecule call: HTTP request failed: connection refused (ECONNREFUSED)" \
  call http://127.0.0.1:1/ hi

# ---- serve, and call's options against it ------------------------------------------------------
"$MOLECULE" serve --listen 127.0.0.1:0 --task-mode --delay-ms 10 --name taskbot \
  --public-url http://agents.test/taskbot/ >"$DIR/serve.log" 2>&1 &
SERVE=$!
PIDS="$PIDS $SERVE"
wait_for 10 grep -q "^listening on " "$DIR/serve.log" || fail "serve did not start"
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/serve.log")
URL="http://127.0.0.1:$PORT/"
grep -q "A2A agent 'taskbot' on http://agents.test/taskbot/" "$DIR/serve.log" || fail "serve's banner"
curl -fsS "${URL}.well-known/agent-card.json" >"$DIR/card"
grep -q '"name":"taskbot"' "$DIR/card" && grep -q '"url":"http://agents.test/taskbot/"' "$DIR/card" ||
  fail "card: $(cat "$DIR/card")"
[ "$("$MOLECULE" call --v1 --header "X-Trace: t1" --timeout-ms 30000 "$URL" hi)" = "echo: hi" ] ||
  fail "call --v1 --header --timeout-ms"
"$MOLECULE" call --stream "$URL" "streamed" >"$DIR/stream.out" 2>"$DIR/stream.err" || fail "call --stream"
[ "$(cat "$DIR/stream.out")" = "echo: streamed" ] || fail "call --stream: $(cat "$DIR/stream.out")"
[ "$(tr '\n' ' ' <"$DIR/stream.err")" = "[submitted] [working] [completed] " ] ||
  fail "call --stream states: $(cat "$DIR/stream.err")"
# every listener refuses the port serve holds, naming the address, exit 1
expect 1 "molecule serve: address already in use" serve --listen "127.0.0.1:$PORT"
printf 'listen: 127.0.0.1:%s\nagents:\n  - name: a\n    executor: echo\n' "$PORT" >"$DIR/busy.yaml"
expect 1 "molecule host: address already in use" host -c "$DIR/busy.yaml"
expect 1 "molecule platform: address already in use" platform --listen "127.0.0.1:$PORT" --db "$DIR/busy.db"
expect 1 "molecule dev: platform on 127.0.0.1:$PORT: address already in use (try --platform-listen)" \
  dev --once --db "$DIR/dev.db" --platform-listen "127.0.0.1:$PORT"
expect 1 "molecule dev: agents on 127.0.0.1:$PORT: address already in use (try --listen)" \
  dev --once --db "$DIR/dev.db" --platform-listen 127.0.0.1:0 --listen "127.0.0.1:$PORT"
kill -TERM "$SERVE"
wait "$SERVE" || fail "serve's exit status after SIGTERM"
grep -q "serve: stopped" "$DIR/serve.log" || fail "serve did not say it stopped"

expect 2 "molecule serve: bad --listen 'nohost' (want HOST:PORT)" serve --listen nohost
expect 2 "molecule serve: unknown executor 'magic' (available: echo, command)" serve --executor magic
expect 2 "molecule serve: --executor command needs --handler CMD" serve --executor command
expect 2 "molecule serve: --handler is for --executor command" serve --handler cat
expect 2 "molecule serve: unexpected argument 'extra'" serve extra
expect 2 "molecule serve: unknown option '--bogus'" serve --bogus
expect 2 "molecule serve: --max-handlers wants a whole number from 1 to 100000, not '0'" \
  serve --executor command --handler cat --max-handlers 0
expect 2 "molecule serve: --max-queued wants a whole number from 1 to 1000000, not '-1'" \
  serve --executor command --handler cat --max-queued -1
expect 2 "molecule serve: --handler-timeout-s wants a whole number from 1 to 604800, not '1s'" \
  serve --executor command --handler cat --handler-timeout-s 1s
expect 2 "molecule serve: --max-output-bytes wants a whole number from 1 to 1073741824, not '1073741825'" \
  serve --executor command --handler cat --max-output-bytes 1073741825
expect 2 "molecule serve: --delay-ms wants a whole number from 0 to 86400000, not 'x'" \
  serve --listen 127.0.0.1:0 --delay-ms x

# ---- host -------------------------------------------------------------------------------------
cat >"$DIR/host.yaml" <<'YAML'
listen: 127.0.0.1:0
agents:
  - name: one
    executor: echo
  - name: two
    executor: echo
    task_mode: true
YAML
[ "$("$MOLECULE" host --check -c "$DIR/host.yaml" --listen 127.0.0.1:0)" = "$DIR/host.yaml: 2 agents, ok" ] ||
  fail "host --check"
expect 2 "molecule host: bad --listen 'bad' (want HOST:PORT)" host --listen bad -c "$DIR/host.yaml"
expect 2 "molecule host: $DIR/missing.yaml" host --check -c "$DIR/missing.yaml"
expect 2 "molecule host: unknown option '--bogus'" host --bogus

# ---- dev, platform ------------------------------------------------------------------------------
expect 2 "molecule dev: bad address 'bad' (want HOST:PORT)" dev --listen bad
expect 2 "molecule dev: bad address 'x:y' (want HOST:PORT)" dev --platform-listen x:y
expect 2 "molecule dev: unknown option '--bogus'" dev --bogus
expect 2 "molecule platform: --listen wants HOST:PORT, got 'bad'" platform --listen bad
expect 2 "molecule platform: unexpected argument 'extra'" platform --dev extra
expect 2 "molecule platform: unknown subcommand 'frob'" platform frob
expect 2 "molecule platform: --rate-limit wants a whole number from 1 to 1000000, not 'x'" \
  platform --listen 127.0.0.1:0 --db "$DIR/p.db" --rate-limit x
expect 1 "molecule platform: GET http://127.0.0.1:1/workspaces: connection refused" \
  platform workspace list --platform http://127.0.0.1:1 --admin-token t

# ---- connect ------------------------------------------------------------------------------------
P="--platform-url http://127.0.0.1:1 --workspace-id 0f9e8d7c-1111-4222-8333-444455556666"
expect 2 "molecule connect: --handler CMD is required" connect
expect 2 "molecule connect: the platform URL and workspace id are required" connect --handler cat
expect 2 "molecule connect: unexpected argument 'extra'" connect --handler cat extra
expect 2 "molecule connect: unknown option '--bogus'" connect --bogus
# shellcheck disable=SC2086 # P: two flags and their values
expect 2 "molecule connect: --reported-url is for push mode: add --listen HOST:PORT" \
  connect --handler cat $P --reported-url http://agent.test/
expect 2 "molecule connect: --max-handlers is for push mode" connect --handler cat $P --max-handlers 2
expect 2 "molecule connect: --listen 0.0.0.0:0 listens on every address" \
  connect --handler cat $P --listen 0.0.0.0:0
expect 2 "molecule connect: bad --listen 'nope' (want HOST:PORT)" connect --handler cat $P --listen nope
expect 2 "molecule connect: --max-handlers wants a whole number from 1 to 100000, not '0'" \
  connect --handler cat $P --listen 127.0.0.1:0 --max-handlers 0
expect 2 "molecule connect: --agent-name wants 1 to 256 bytes and no control characters" \
  connect --handler cat $P --listen 127.0.0.1:0 --agent-name "$(printf 'a\tb')"
expect 2 "molecule connect: --reported-url 'http://agent.test/?q' is not a plain URL" \
  connect --handler cat $P --listen 127.0.0.1:0 --reported-url 'http://agent.test/?q'
expect 2 "molecule connect: --interval-s wants a whole number from 1 to 86400, not 'x'" \
  connect --handler cat $P --interval-s x
expect 2 "molecule connect: --heartbeat-s wants a whole number from 1 to 86400, not '-1'" \
  connect --handler cat $P --heartbeat-s -1
expect 2 "molecule connect: --handler-timeout-s wants a whole number from 1 to 604800, not '0'" \
  connect --handler cat $P --handler-timeout-s 0

# ---- plugin -------------------------------------------------------------------------------------
expect 2 "molecule plugin: missing subcommand (install, list, remove or hash)" plugin
expect 2 "molecule plugin: unknown subcommand 'frob'" plugin frob
expect 2 "molecule plugin install: missing NAME" plugin install
expect 2 "molecule plugin: unknown option '--bogus'" plugin install demo --bogus
expect 2 "molecule plugin: option '--sha256': needs a value" plugin install demo --sha256
expect 2 "molecule plugin list: unexpected argument 'b'" plugin list a b --plugins-dir "$DIR/plugins"
expect 2 "molecule plugin: give --plugins-dir or --workspace-id" plugin list
expect 2 "molecule plugin: invalid workspace id '../x'" plugin list --workspace-id ../x
expect 2 "molecule plugin: bad --setup-timeout 'x': want a whole number from 1 to 86400" \
  plugin install demo --plugins-dir "$DIR/plugins" --platform-url http://127.0.0.1:1 --setup-timeout x
expect 2 "molecule plugin: bad --max-size '1MB': want a whole number from 1 to" \
  plugin install demo --plugins-dir "$DIR/plugins" --platform-url http://127.0.0.1:1 --max-size 1MB
expect 1 "/nonexistent is not a directory" plugin hash "$DIR/nonexistent"
# ---- the workspace verbs: what a handler script meets when its setup is wrong --------------------
W=0f9e8d7c-1111-4222-8333-444455556666
verb() { # status text args...: the verb as a handler would run it, token and all
  want=$1 text=$2
  shift 2
  PLATFORM_URL=http://127.0.0.1:1 WORKSPACE_ID=$W MOLECULE_WORKSPACE_TOKEN=tok HOME="$DIR" \
    expect "$want" "$text" "$@"
}
for t in 0 x 86401; do
  verb 2 "molecule peers: --timeout wants seconds (> 0, at most 86400), got '$t'" peers --timeout "$t"
done
verb 2 "molecule peers: --async is an option of delegate only" peers --async
verb 2 "molecule peers: bad platform URL 'ftp://x'" peers --platform-url ftp://x
verb 2 "molecule peers: bad workspace id '../x'" peers --workspace-id ../x
set +e
env -u HOME PLATFORM_URL=http://127.0.0.1:1 WORKSPACE_ID=$W MOLECULE_WORKSPACE_TOKEN=tok \
  "$MOLECULE" secrets >"$DIR/out" 2>"$DIR/err"
got=$?
set -e
[ "$got" = 2 ] && grep -qF "molecule secrets: no token directory: HOME is not set" "$DIR/err" ||
  fail "secrets without HOME: exit $got: $(cat "$DIR/err")"
# the platform cannot be reached: exit 1, the address named, for every verb
verb 1 "molecule peers: http://127.0.0.1:1: connection refused" peers
verb 1 "molecule secrets: http://127.0.0.1:1: connection refused" secrets
verb 1 "molecule status: http://127.0.0.1:1: connection refused" status "working on it"
verb 1 "molecule notify: http://127.0.0.1:1: connection refused" notify "hello"
verb 1 "molecule delegate: http://127.0.0.1:1: connection refused" delegate "$W" "a task"
verb 1 "molecule delegate: http://127.0.0.1:1: connection refused" delegate --async "$W" "a task"
echo ok
