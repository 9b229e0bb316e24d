#!/bin/sh
# `molecule plugin install|list|remove|hash` as processes against a real `molecule platform
# --dev --plugins SRC` (the plugin served from SRC as a tar.gz):
#  - hash prints the content hash; --expect with the same hash passes, another one fails with
#    "sha256 mismatch", a malformed one is a usage error (2);
#  - install with that hash installs the files (and the default plugins dir is under $HOME),
#    install with a wrong hash fails because of the hash and leaves nothing behind;
#  - list shows the installed plugin (an absent plugins dir lists nothing, exit 0);
#  - remove deletes it; removing it again fails naming it; names that are not one path
#    component are usage errors (2) that say the name is invalid, for install and remove;
#  - usage: no subcommand, an unknown one, a missing NAME, an unknown option: exit 2 with the
#    reason;
#  - setup.sh runs in the installed dir with PLUGIN_DIR set and without the token, and its
#    result is printed (a failing one is a warning, not a failed install); the token comes
#    from ~/.molecule/<id>/.auth_token when the environment has none, and a wrong one fails
#    the install with the platform's 401; list cleans what an interrupted install left.
set -eu
MOLECULE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DIR=$(mktemp -d /tmp/molplugin-XXXXXX)
PORT=$((10000 + ($$ + 5153) % 22000))
URL="http://127.0.0.1:$PORT"
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- platform"; cat "$DIR/platform.log"
  echo "--- last command"; cat "$DIR/out" "$DIR/err" 2>/dev/null || true
  exit 1
}
wait_for() { # seconds command...: polls every 0.1 s
  n=$(($1 * 10)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}
run() { # expected-status command...: runs it, output in $DIR/out and $DIR/err
  want=$1; shift
  set +e
  "$@" >"$DIR/out" 2>"$DIR/err"
  got=$?
  set -e
  [ "$got" = "$want" ] || fail "$*: exit $got, wanted $want"
}
has() { grep -q -- "$2" "$DIR/$1" || fail "expected '$2' in $1"; }

# The plugin as the platform serves it.
mkdir -p "$DIR/src/notes/skills/summarise" "$DIR/home"
printf 'name: notes\nversion: 1.0.0\n' >"$DIR/src/notes/plugin.yaml"
printf '# Always write notes\n' >"$DIR/src/notes/rules.md"
printf -- '---\nname: summarise\n---\nSummarise.\n' >"$DIR/src/notes/skills/summarise/SKILL.md"
mkdir -p "$DIR/src/tools" "$DIR/src/broken"
printf 'name: tools\n' >"$DIR/src/tools/plugin.yaml"
printf 'echo "ran in $(pwd) dir=${PLUGIN_DIR:-unset} token=${MOLECULE_WORKSPACE_TOKEN:-none}" >setup-ran\n' \
  >"$DIR/src/tools/setup.sh"
printf 'name: broken\n' >"$DIR/src/broken/plugin.yaml"
printf 'echo "cannot set up" >&2\nexit 3\n' >"$DIR/src/broken/setup.sh"
# The manifest trust mode: plugins whose own plugin.yaml declares their content hash (the hash
# leaves the root plugin.yaml out, so it can be written into it), a wrong one, a malformed one.
for p in signed forged malformed; do
  mkdir -p "$DIR/src/$p"
  printf 'do the %s thing\n' "$p" >"$DIR/src/$p/rules.md"
done
SIGNED=$("$MOLECULE" plugin hash "$DIR/src/signed" | sed -n 's/^Computed SHA256: //p')
printf 'name: signed\n"sha256": "%s"  # written by the author\n' "$SIGNED" >"$DIR/src/signed/plugin.yaml"
printf 'name: forged\nsha256: %s\n' "$SIGNED" >"$DIR/src/forged/plugin.yaml"
printf 'name: malformed\nsha256: abc\n' >"$DIR/src/malformed/plugin.yaml"

"$MOLECULE" platform --listen "127.0.0.1:$PORT" --db "$DIR/p.db" --dev --plugins "$DIR/src" \
  >"$DIR/platform.log" 2>&1 &
PID=$!
wait_for 10 curl -fs "$URL/health" >/dev/null || fail "platform did not start"
OUT=$("$MOLECULE" platform workspace create --name plug --external --platform "$URL" --db "$DIR/p.db")
WS=$(echo "$OUT" | sed 's/.*"id":"\([^"]*\)".*/\1/')
TOK=$(echo "$OUT" | sed 's/.*"auth_token":"\([^"]*\)".*/\1/')
[ -n "$WS" ] && [ -n "$TOK" ] || fail "workspace: $OUT"
export HOME="$DIR/home" PLATFORM_URL="$URL" WORKSPACE_ID="$WS" MOLECULE_WORKSPACE_TOKEN="$TOK"

# hash
run 0 "$MOLECULE" plugin hash "$DIR/src/notes"
HASH=$(sed -n 's/^Computed SHA256: \([0-9a-f]\{64\}\)$/\1/p' "$DIR/out")
[ -n "$HASH" ] || fail "hash printed no digest"
run 0 "$MOLECULE" plugin hash "$DIR/src/notes" --expect "$HASH"
BAD=$(echo "$HASH" | tr '0-9a-f' '1-9a-f0')
run 1 "$MOLECULE" plugin hash "$DIR/src/notes" --expect "$BAD"
has err "sha256 mismatch: expected $BAD"
run 2 "$MOLECULE" plugin hash "$DIR/src/notes" --expect abc
has err "--expect needs 64 hex digits"
run 1 "$MOLECULE" plugin hash "$DIR/nowhere"
has err "nowhere"

# list before anything is installed: the plugins dir does not exist yet
run 0 "$MOLECULE" plugin list
[ ! -s "$DIR/out" ] || fail "list of nothing printed something"

# install: a wrong hash fails because of the hash and installs nothing
run 1 "$MOLECULE" plugin install notes --sha256 "$BAD" --no-setup -q
has err "$BAD"
[ ! -e "$HOME/.molecule/$WS/plugins/notes" ] || fail "a rejected plugin was installed"
run 0 "$MOLECULE" plugin install notes --sha256 "$HASH" --no-setup -q
has out "installed $HOME/.molecule/$WS/plugins/notes"
has out "content sha256: $HASH (verified)"
cmp -s "$DIR/src/notes/rules.md" "$HOME/.molecule/$WS/plugins/notes/rules.md" || fail "rules.md differs"
cmp -s "$DIR/src/notes/skills/summarise/SKILL.md" \
  "$HOME/.molecule/$WS/plugins/notes/skills/summarise/SKILL.md" || fail "SKILL.md differs"
run 0 "$MOLECULE" plugin hash "$HOME/.molecule/$WS/plugins/notes" --expect "$HASH"

# list, with the plugins dir given either way
run 0 "$MOLECULE" plugin list
[ "$(cat "$DIR/out")" = "notes" ] || fail "list: $(cat "$DIR/out")"
run 0 "$MOLECULE" plugin list --plugins-dir "$HOME/.molecule/$WS/plugins"
[ "$(cat "$DIR/out")" = "notes" ] || fail "list --plugins-dir: $(cat "$DIR/out")"

# names that are not one path component fail because of the name
for bad in ../notes a/b .hidden; do
  run 2 "$MOLECULE" plugin remove "$bad"
  has err "molecule plugin remove: invalid plugin name '$bad'"
  [ -d "$HOME/.molecule/$WS/plugins/notes" ] || fail "remove $bad touched notes"
  run 2 "$MOLECULE" plugin install "$bad" --allow-unverified --no-setup -q
  has err "molecule plugin install: invalid plugin name '$bad'"
done

# remove
run 0 "$MOLECULE" plugin remove notes
has out "removed notes"
[ ! -e "$HOME/.molecule/$WS/plugins/notes" ] || fail "notes is still there"
run 1 "$MOLECULE" plugin remove notes
has err "notes"
run 0 "$MOLECULE" plugin list
[ ! -s "$DIR/out" ] || fail "list after remove: $(cat "$DIR/out")"

# usage errors
run 2 "$MOLECULE" plugin
has err "molecule plugin: missing subcommand"
run 2 "$MOLECULE" plugin frobnicate x
has err "unknown subcommand 'frobnicate'"
run 2 "$MOLECULE" plugin remove
has err "molecule plugin remove: missing NAME"
run 2 "$MOLECULE" plugin list --bogus
has err "unknown option '--bogus'"
run 2 "$MOLECULE" plugin list --plugins-dir
has err "option '--plugins-dir': needs a value"
env -u WORKSPACE_ID "$MOLECULE" plugin list >"$DIR/out" 2>"$DIR/err" && fail "list without a workspace passed"
has err "give --plugins-dir or --workspace-id"

# setup.sh: run in the new dir, told where it is, without the token
run 0 "$MOLECULE" plugin hash "$DIR/src/tools"
THASH=$(sed -n 's/^Computed SHA256: \([0-9a-f]\{64\}\)$/\1/p' "$DIR/out")
run 0 "$MOLECULE" plugin install tools --sha256 "$THASH" -q
has out "installed $HOME/.molecule/$WS/plugins/tools"
has out "setup.sh: ok (log: $HOME/.molecule/$WS/plugins/.setup-tools.log)"
has out "install report: HTTP 503" # an external workspace: the platform cannot restart it
[ "$(cat "$HOME/.molecule/$WS/plugins/tools/setup-ran")" = \
  "ran in $HOME/.molecule/$WS/plugins/tools dir=$HOME/.molecule/$WS/plugins/tools token=none" ] ||
  fail "setup.sh: $(cat "$HOME/.molecule/$WS/plugins/tools/setup-ran")"
# a failing setup.sh is reported, and the plugin stays installed
run 0 "$MOLECULE" plugin hash "$DIR/src/broken"
BHASH=$(sed -n 's/^Computed SHA256: \([0-9a-f]\{64\}\)$/\1/p' "$DIR/out")
run 0 "$MOLECULE" plugin install broken --sha256 "$BHASH" -q
has out "setup.sh: FAILED (log: $HOME/.molecule/$WS/plugins/.setup-broken.log)"
has err "warning: setup.sh"
grep -q "cannot set up" "$HOME/.molecule/$WS/plugins/.setup-broken.log" || fail "setup log"
[ -f "$HOME/.molecule/$WS/plugins/broken/plugin.yaml" ] || fail "broken was not kept"

# the token from the token file when the environment has none; a wrong one is refused
mkdir -p "$HOME/.molecule/$WS"
printf '%s\n' "$TOK" >"$HOME/.molecule/$WS/.auth_token"
run 0 env -u MOLECULE_WORKSPACE_TOKEN "$MOLECULE" plugin install notes --sha256 "$HASH" --no-setup -q
has out "installed $HOME/.molecule/$WS/plugins/notes"
printf 'not-the-token\n' >"$HOME/.molecule/$WS/.auth_token"
run 1 env -u MOLECULE_WORKSPACE_TOKEN "$MOLECULE" plugin install notes --sha256 "$HASH" --no-setup -q
has err "401"
run 2 env -u WORKSPACE_ID "$MOLECULE" plugin install notes --sha256 "$HASH"
has err "molecule plugin install: NAME, --platform-url and --workspace-id are needed"

# list: what an interrupted install left is cleaned first
mkdir "$HOME/.molecule/$WS/plugins/.staging-notes-0badf00d"
run 0 "$MOLECULE" plugin list
has err "cleaned 1 leftover(s) of interrupted installs"
[ "$(sort "$DIR/out" | tr '\n' ' ')" = "broken notes tools " ] || fail "list: $(cat "$DIR/out")"
[ ! -e "$HOME/.molecule/$WS/plugins/.staging-notes-0badf00d" ] || fail "the leftover is still there"
# --trust-manifest: checked against the plugin's own declared sha256, said to be weaker
T="--plugins-dir $DIR/trust --no-setup --no-report -q"
run 1 "$MOLECULE" plugin install signed $T
has err "no expected sha256"
run 0 "$MOLECULE" plugin install signed $T --trust-manifest
has out "content sha256: $SIGNED (verified against its own plugin.yaml only)"
has err "warning: verified only against the sha256 in the plugin's own plugin.yaml"
run 1 "$MOLECULE" plugin install forged $T --trust-manifest
has err "plugin forged sha256 mismatch - its plugin.yaml declares $SIGNED, got "
[ ! -e "$DIR/trust/forged" ] || fail "a plugin whose manifest digest is wrong was installed"
run 1 "$MOLECULE" plugin install malformed $T --trust-manifest
has err "plugin malformed: the sha256 in its plugin.yaml cannot be read"
[ ! -e "$DIR/trust/malformed" ] || fail "a plugin with a malformed manifest digest was installed"
run 1 "$MOLECULE" plugin install notes $T --trust-manifest
has err "plugin notes: trusting the manifest, but its plugin.yaml declares no sha256"
run 0 "$MOLECULE" plugin install notes $T --trust-manifest --allow-unverified
has out "(NOT verified)"
# the out-of-band digest stays the strong mode: it wins over the manifest's
run 1 "$MOLECULE" plugin install signed $T --trust-manifest --sha256 "$HASH"
has err "plugin signed sha256 mismatch - expected $HASH"
echo "plugin CLI: ok"
