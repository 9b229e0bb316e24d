#!/usr/bin/env bash
# bench/hostscale/beats.sh: the dev platform's CPU per heartbeat and state poll with a large
# registry - what one `molecule host` of N agents asks of it every 30 s (N heartbeats and N
# state polls). `molecule platform --dev` on CPU 1 opens a copy of DB (a platform database
# with the workspaces registered, as `SAVE=<dir> mem.sh 100000` keeps it); wrk on CPU 0 with
# 16 connections (the host's pool) sends heartbeats and state polls in turn, rotating over
# every workspace of TOKENS ("<id> <token>" lines) with its own bearer. Platform CPU (user +
# sys, from /proc) per request over the measured window; rounds alternate the binaries.
# The copy's heartbeats are dated now (a saved database's would be past the liveness TTL, and
# the first sweep would turn every workspace offline), and a warm-up of WARM seconds (default
# 60: at ~3,000 requests/s, one pass over 100,000 workspaces) runs before the window, so that
# the window sees the platform as a host's second round of heartbeats does.
# Usage: bench/hostscale/beats.sh DB TOKENS [seconds=10] [rounds=3]
# MOL=<molecule binary> (default: the release build); BEFORE=<another molecule binary> is
# measured in the same rounds for a ratio. The result goes to bench/out/hostbeats.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
db=$1 tokens=$2 seconds=${3:-10} rounds=${4:-3}
if [[ -z ${MOL:-} ]]; then
  bench_build src/cli/molecule
  MOL=$BENCH_ROOT/build-bench/src/cli/molecule
fi
port=${PORT_BASE:-18170}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
export BENCH_TOKENS=$tokens
out=$BENCH_OUT/hostbeats.md
: >"$out"
say() { echo "$*" | tee -a "$out"; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # label binary -> "<req/s> <platform us per request> <p99 us>"
  local label=$1 bin=$2
  rm -f "$dir"/p.db*
  cp "$db" "$dir/p.db"
  sqlite3 "$dir/p.db" "UPDATE workspaces SET last_heartbeat_at = strftime('%s','now') * 1000"
  taskset -c 1 "$bin" platform --listen "127.0.0.1:$port" --db "$dir/p.db" --dev \
    >"$dir/platform-$label.log" 2>&1 & pids+=($!)
  local plat=$!
  wait_port "$port"
  # a pass over the workspaces first: the first touch of each row and token is not the
  # steady cost
  taskset -c 0 wrk -t1 -c16 -d"${WARM:-60}"s -s "$here/beat_poll.lua" "http://127.0.0.1:$port/" >/dev/null
  local c0 rps p50 p99 c1
  c0=$(ticks "$plat")
  read -r rps p50 p99 < <(wrk_run "http://127.0.0.1:$port/" "$seconds" 16 \
    "$here/beat_poll.lua" 0)
  c1=$(ticks "$plat")
  kill "$plat"
  wait "$plat" 2>/dev/null || true
  python3 -c "
hz = $(getconf CLK_TCK)
print('%.0f %.1f %.0f' % ($rps, ($c1 - $c0) / hz * 1e6 / ($rps * $seconds), $p99))"
}

say "dev platform, $(wc -l <"$tokens") workspaces, heartbeat + state poll in turn, 16 connections, ${seconds}s x $rounds"
for r in $(seq "$rounds"); do
  [[ -n ${BEFORE:-} ]] && say "round $r before: $(measure before "$BEFORE") (req/s, platform CPU us/request, p99 us)"
  say "round $r after:  $(measure after "$MOL") (req/s, platform CPU us/request, p99 us)"
done
