#!/bin/sh
# The main job: `molecule dev --once` brings up the platform and three agents, the canvas asks
# the coordinator through the platform, the coordinator asks both workers through the
# platform, and the answer names both. A second run on the same database reuses the
# organisation. Usage: test_dev.sh MOLECULE_BIN
set -eu
molecule=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() {
  HOME="$dir" timeout 60 "$molecule" dev --once --db "$dir/dev.db" \
    --platform-listen "127.0.0.1:$(free_port)" --listen "127.0.0.1:$(free_port)" >"$dir/out" 2>"$dir/err" || {
    echo "molecule dev failed:"; cat "$dir/out" "$dir/err"; exit 1; }
}
expect() { grep -q -- "$1" "$dir/out" || { echo "missing: $1"; cat "$dir/out"; exit 1; }; }

run
expect "created workspace coordinator"
expect "all three agents registered and online"
expect "- researcher: as the researcher"
expect "- writer: as the writer"
expect "stopped"
run
expect "found workspace coordinator"
expect "- writer: as the writer"
echo "ok: molecule dev answered twice, reusing its organisation"
