#!/bin/sh
# Runs the embedding example against a real `molecule platform --dev` process.
# Usage: embed_test.sh MOLECULE_BIN EMBED_POLL_BIN
set -eu
molecule=$1 example=$2
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$molecule" platform --dev --listen "127.0.0.1:$port" --db "$dir/db.sqlite" >"$dir/platform.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  "$molecule" platform workspace list --platform "http://127.0.0.1:$port" >/dev/null 2>&1 && break
  sleep 0.1
done
ws=$("$molecule" platform workspace create --name embedded --platform "http://127.0.0.1:$port" |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$example" "http://127.0.0.1:$port" "$ws" "$dir/token"
