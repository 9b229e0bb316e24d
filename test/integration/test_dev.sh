#!/bin/sh
# The main job: `molecule dev --once` brings up the platform and three agents, the canvas asks
# the coordinator through the platform, the coordinator finds its team (its children on the
# platform) and sends the task to each member with the route_task_to_team tool, which waits for
# each member's reply; each worker commits a memory and recalls it (commit_memory,
# search_memory), and the answer names both. A second run on the same database reuses the
# organisation, and the workers recall the first run's memories too. A third, without --once
# and on ports the OS picks, shows the agents' status until SIGINT stops it (exit 0).
# Usage: test_dev.sh MOLECULE_BIN
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
expect "\[coordinator\] route_task_to_team: 2 team members"
expect "\[coordinator\] route_task_to_team -> researcher: answered"
expect "\[researcher\] commit_memory: memory "
expect "\[writer\] search_memory: 1 memories"
expect "\[coordinator\] route_task_to_team -> writer: answered"
expect "- researcher: as the researcher, I noted it (memory .*) and recall 1 memories, the newest: \"the researcher was asked: "
expect "- writer: as the writer, I noted it"
expect "stopped"
if grep -q "401 from" "$dir/out" "$dir/err"; then echo "a call raced its agent's registration:"; cat "$dir/err"; exit 1; fi
run
expect "found workspace coordinator"
expect "- writer: as the writer, I noted it (memory .*) and recall 2 memories"

# Until Ctrl-C, on ports the OS picks: the agents' URLs carry the port they got.
HOME="$dir" "$molecule" dev --db "$dir/dev.db" --platform-listen 127.0.0.1:0 --listen 127.0.0.1:0 \
  >"$dir/out" 2>"$dir/err" &
pid=$!
online() { [ "$(grep -c '^  [a-z]* *[a-z]* *online ' "$dir/out")" -ge 3 ]; }
n=400
while [ "$n" -gt 0 ] && ! online; do
  kill -0 "$pid" 2>/dev/null || { echo "molecule dev exited:"; cat "$dir/out" "$dir/err"; exit 1; }
  sleep 0.05
  n=$((n - 1))
done
online || { echo "the status view never showed three agents online:"; cat "$dir/out" "$dir/err"; kill "$pid"; exit 1; }
expect "agents started on http://127.0.0.1:[1-9][0-9]*/agents/<name>/"
expect "- researcher: as the researcher"
kill -INT "$pid"
wait "$pid" || { echo "molecule dev: exit status $? after SIGINT"; cat "$dir/out" "$dir/err"; exit 1; }
expect "stopping..."
expect "stopped"
echo "ok: molecule dev answered twice, reusing its organisation, and ran until SIGINT"
