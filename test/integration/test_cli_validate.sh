#!/bin/sh
# `molecule validate` through the real binary: a valid plugin (with skills), workspace, org
# and channel file pass with one line each (none with -q); each rule's violation fails with
# exit 1 and the exact message naming the file; secrets in a manifest are found; missing
# paths, files for directories and bad usage say so (exit 1 and 2).
set -eu
MOLECULE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=$(mktemp -d /tmp/molvalidate-XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$D/out"; echo "--- stderr"; cat "$D/err"; exit 1; }
run() { # expected-status args...
  want=$1; shift
  set +e; "$MOLECULE" validate "$@" >"$D/out" 2>"$D/err"; got=$?; set -e
  [ "$got" = "$want" ] || fail "validate $*: exit $got, wanted $want"
}
has() { grep -qF -- "$2" "$D/$1" || fail "expected '$2' in $1"; }
lines() { [ "$(wc -l <"$D/$1")" = "$2" ] || fail "expected $2 lines in $1"; }

# a valid plugin with two skills
P=$D/good
mkdir -p "$P/skills/summarise" "$P/skills/web-search"
printf 'name: good\nversion: "1.0"\nruntimes: [claude-code, langgraph]\ntags: [notes]\nsha256: %s\n' \
  "$(printf '%064d' 0 | tr 0 a)" >"$P/plugin.yaml"
printf -- '---\nname: summarise\ndescription: Summarise a text.\nmetadata: {owner: docs}\n---\nBody.\n' \
  >"$P/skills/summarise/SKILL.md"
printf -- '---\nname: web-search\ndescription: Search.\nallowed-tools: fetch\n---\n' \
  >"$P/skills/web-search/SKILL.md"
run 0 "$P"
has out "✓ $P: valid plugin"
run 0 plugin -q "$P"
[ ! -s "$D/out" ] || fail "-q printed a success line"

# plugin.yaml rules, each with its message
B=$D/bad
mkdir -p "$B/skills/Summarise" "$B/skills/other" "$B/skills/nofront"
printf 'version: 2\nruntimes: [cobol]\nsha256: ABC\nrules: notalist\ndescription: "token AKIAABCDEFGHIJKLMNOP here"\n' >"$B/plugin.yaml"
printf -- '---\nname: Summarise\n---\n' >"$B/skills/Summarise/SKILL.md"
printf -- '---\nname: something-else\ndescription: x\n---\n' >"$B/skills/other/SKILL.md"
printf 'no front matter\n' >"$B/skills/nofront/SKILL.md"
run 1 "$B"
has err "✗ $B/plugin.yaml: 'name' is required"
has err "✗ $B/plugin.yaml: 'version' must be a string"
has err "✗ $B/plugin.yaml: runtime 'cobol' is not one of claude_code"
has err "✗ $B/plugin.yaml: 'sha256' must be 64 lower-case hex digits"
has err "✗ $B/plugin.yaml: 'rules' must be a list"
has err "✗ $B/plugin.yaml: 'description' looks like an AWS access key id"
has err "✗ $B/skills/Summarise/SKILL.md: 'name' must be lower-case letters and digits"
has err "✗ $B/skills/Summarise/SKILL.md: 'description' is required"
has err "✗ $B/skills/other/SKILL.md: 'name' is 'something-else' but the directory is 'other'"
has err "✗ $B/skills/nofront/SKILL.md: must start with a '---' front matter block"
[ ! -s "$D/out" ] || fail "an invalid plugin was called valid"

# the secret scan: one value per pattern, each in its own plugin
i=0
for s in 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' 'sk-abcdefghijklmnopqrstuvwx' \
         'Authorization: Bearer abcdefghijklmnopqrstuvwxyz' 'password=hunter2' \
         "$(printf '%064d' 7)"; do
  i=$((i + 1)); mkdir -p "$D/s$i"
  printf 'name: s%d\nauthor: "%s"\n' "$i" "$s" >"$D/s$i/plugin.yaml"
  run 1 "$D/s$i"
  has err "✗ $D/s$i/plugin.yaml: 'author' looks like"
done
mkdir -p "$D/clean"
printf 'name: clean\ndescription: "the password is asked for at run time"\n' >"$D/clean/plugin.yaml"
run 0 "$D/clean"

# paths: missing, a file where a directory is wanted; several at once, each judged
run 1 "$D/nowhere"
has err "✗ $D/nowhere: does not exist"
run 1 "$P/plugin.yaml"
has err "✗ $P/plugin.yaml: not a directory"
run 1 "$P" "$B"
has out "✓ $P: valid plugin"
lines out 1
mkdir -p "$D/empty"
run 1 "$D/empty"
has err "✗ $D/empty/plugin.yaml: missing"

# workspace templates
mkdir -p "$D/ws" "$D/wsbad"
printf 'name: analyst\nruntime: claude-code\ntier: 2\nruntime_config: {model: x}\nrequired_env: [KEY]\ntimeout: 30\n' \
  >"$D/ws/config.yaml"
run 0 workspace "$D/ws"
has out "✓ $D/ws: valid workspace"
printf 'runtime: fortran\ntier: 4\nruntime_config: []\nrequired_env: KEY\ntimeout: soon\n' >"$D/wsbad/config.yaml"
run 1 workspace "$D/wsbad"
has err "✗ $D/wsbad/config.yaml: 'name' is required"
has err "✗ $D/wsbad/config.yaml: runtime 'fortran' is not one of"
has err "✗ $D/wsbad/config.yaml: 'tier' must be 1, 2 or 3"
has err "✗ $D/wsbad/config.yaml: 'runtime_config' must be a mapping"
has err "✗ $D/wsbad/config.yaml: 'required_env' must be a list"
has err "✗ $D/wsbad/config.yaml: 'timeout' must be a number"
printf 'name: [unclosed\n' >"$D/wsbad/config.yaml"
run 1 workspace "$D/wsbad"
has err "✗ $D/wsbad/config.yaml: not valid YAML: line"

# org templates, nodes checked through children
mkdir -p "$D/org" "$D/orgbad"
cat >"$D/org/org.yaml" <<'YAML'
name: acme
defaults: {runtime: langgraph}
workspaces:
  - name: lead
    tier: 1
    children:
      - name: writer
        workspace_access: read_only
        workspace_dir: /work
        schedules: [{cron_expr: "0 9 * * *", prompt: "standup"}]
        plugins: [notes]
      - name: outside
        external: true
        url: https://agent.example.com
YAML
run 0 org "$D/org"
has out "✓ $D/org: valid org"
cat >"$D/orgbad/org.yaml" <<'YAML'
name: acme
defaults: []
workspaces:
  - name: lead
    children:
      - workspace_access: read_write
        schedules: [{cron_expr: "* * * * *"}]
      - name: outside
        external: true
        channels: [{type: slack, config: {}}]
YAML
run 1 org "$D/orgbad"
has err "✗ $D/orgbad/org.yaml: 'defaults' must be a mapping"
has err "✗ $D/orgbad/org.yaml: workspaces[0].children[0]: 'name' is required"
has err "✗ $D/orgbad/org.yaml: workspaces[0].children[0]: 'workspace_access: read_write' needs 'workspace_dir'"
has err "✗ $D/orgbad/org.yaml: workspaces[0].children[0]: schedules[0] needs 'prompt'"
has err "✗ $D/orgbad/org.yaml: workspaces[0].children[1]: 'external: true' needs 'url'"
has err "✗ $D/orgbad/org.yaml: workspaces[0].children[1]: channels[0]: type 'slack' is not a supported channel"
printf 'name: acme\nworkspaces: []\n' >"$D/orgbad/org.yaml"
run 1 org "$D/orgbad"
has err "'workspaces' must be a non-empty list"

# channel files: one channel or a list
printf 'type: telegram\nconfig: {bot_token: "${TELEGRAM_TOKEN}"}\nenabled: true\n' >"$D/chan.yaml"
run 0 channel "$D/chan.yaml"
has out "✓ $D/chan.yaml: valid channel"
printf -- '- type: telegram\n  config: {}\n- type: telegram\n  config: {bot_token: x}\n  enabled: "yes please"\n' >"$D/chans.yaml"
run 1 channel "$D/chans.yaml"
has err "✗ $D/chans.yaml: channel 0: 'config.bot_token' is required"
has err "✗ $D/chans.yaml: channel 1: 'enabled' must be true or false"
run 1 channel "$D"
has err "✗ $D: not a file"

# usage
run 2
has err "molecule validate: a PATH is required"
has err "Try 'molecule validate --help'"
run 2 --bogus "$P"
has err "molecule validate: unknown option '--bogus'"
run 0 --help
has out "usage: molecule validate"
echo "validate CLI: ok"
