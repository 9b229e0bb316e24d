#!/usr/bin/env bash
# bench/proxy: the dev platform's A2A proxy (`POST /workspaces/:id/a2a`) against calling the same
# agent directly, in one run. `molecule serve` (echo) and `molecule platform --dev` (SQLite, WAL)
# share CPU 0, wrk runs on CPU 1 with the message/send body of bench/a2a. Per round and per
# connection count (50, then 1): wrk straight at the agent, then wrk at the proxy; the
# CPU of both servers comes from /proc/<pid>/stat around each run. On a busy machine the wall
# numbers move with everyone else's load; the CPU each call costs moves much less, and agent
# CPU per direct call against agent + platform CPU per proxied call is the ratio one core
# shared by both would reach.
# Usage: bench/proxy/run.sh [duration_s=10] [rounds=3]
# MOLECULE=path uses that binary instead of building build-bench (to measure another build);
# DOC=0 prints the table without updating docs/benchmarks.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
duration=${1:-10} rounds=${2:-3}
if [[ -n ${MOLECULE:-} ]]; then
  mol=$MOLECULE
else
  bench_build src/cli/molecule
  mol=$BENCH_ROOT/build-bench/src/cli/molecule
fi
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

agent_port=${AGENT_PORT:-18471} platform_port=${PLATFORM_PORT:-18472}
taskset -c 0 "$mol" serve --listen 127.0.0.1:$agent_port >/dev/null & pids+=($!)
agent_pid=$!
taskset -c 0 "$mol" platform --dev --listen 127.0.0.1:$platform_port --db "$dir/p.db" \
  >"$dir/platform.log" 2>&1 & pids+=($!)
platform_pid=$!
wait_port $agent_port; wait_port $platform_port
id=$(curl -fs -X POST "http://127.0.0.1:$platform_port/workspaces" -H 'Content-Type: application/json' \
       -d "{\"name\":\"bench\",\"external\":true,\"url\":\"http://127.0.0.1:$agent_port/\"}" |
     python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
direct=http://127.0.0.1:$agent_port/
proxy=http://127.0.0.1:$platform_port/workspaces/$id/a2a
script=$here/../a2a/send.lua
wrk_run "$proxy" 1 4 "$script" >/dev/null # warm-up: connections, statements, caches

# Runs wrk_run and prints its line followed by the CPU seconds each given pid used meanwhile.
counted() { # url connections pid...
  local url=$1 c=$2 line p; shift 2
  local before=()
  for p in "$@"; do before+=("$(cpu_seconds "$p")"); done
  line=$(wrk_run "$url" "$duration" "$c" "$script")
  local i=0
  for p in "$@"; do
    line="$line $(awk -v a="${before[$i]}" -v b="$(cpu_seconds "$p")" 'BEGIN {print b - a}')"
    i=$((i + 1))
  done
  echo "$line"
}

: >"$dir/rows"
for r in $(seq "$rounds"); do
  for c in 50 1; do
    read -r d_rps d_p50 d_p99 d_cpu < <(counted "$direct" "$c" "$agent_pid")
    read -r p_rps p_p50 p_p99 pa_cpu pp_cpu < <(counted "$proxy" "$c" "$agent_pid" "$platform_pid")
    echo "$r $c $d_rps $d_p50 $d_p99 $p_rps $p_p50 $p_p99 $d_cpu $pa_cpu $pp_cpu" >>"$dir/rows"
  done
done

MOLECULE_NOTE=${MOLECULE:+MOLECULE=$MOLECULE } \
python3 - "$dir/rows" "$duration" "$rounds" >"$dir/table.md" <<'PY'
import os, statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
dur, rounds = float(sys.argv[2]), sys.argv[3]
def med(c, i): return st.median(float(r[i]) for r in rows if r[1] == c)
def cpu(c, i, rps):  # us of CPU per call of the pid in column i, median over rounds
    return st.median(float(r[i]) * 1e6 / (float(r[rps]) * dur) for r in rows if r[1] == c)
print('## Dev platform A2A proxy vs calling the agent directly')
print()
print('Command: `%sbench/proxy/run.sh %g %s`. Agent (`molecule serve`, echo) and `molecule platform --dev`'
      ' share CPU 0, wrk -t1 on CPU 1, the bench/a2a message/send body; medians of %s rounds,'
      ' direct and proxied runs alternating.' % (os.environ.get('MOLECULE_NOTE', ''), dur, rounds, rounds))
print()
print('| connections | direct req/s | proxy req/s | **ratio** | direct p50 | proxy p50 | **added p50** | agent CPU per direct call | agent + **platform** CPU per proxied call | **one-core ratio** |')
print('|---|---|---|---|---|---|---|---|---|---|')
for c in ('50', '1'):
    d, p = med(c, 2), med(c, 5)
    ad, ap, pp = cpu(c, 8, 2), cpu(c, 9, 5), cpu(c, 10, 5)
    print('| %s | %.0f | %.0f | **%.2fx** | %.0f us | %.0f us | **%.0f us** | %.1f us | %.1f + **%.1f** us | **%.2fx** |' % (
        c, d, p, p / d, med(c, 3), med(c, 6), med(c, 6) - med(c, 3), ad, ap, pp, ad / (ap + pp)))
print()
print('One-core ratio: agent CPU per direct call / (agent + platform CPU per proxied call), the'
      ' throughput ratio when one core runs both and is the limit.')
print()
print('Per round (connections: direct req/s / proxy req/s): ' + '; '.join(
    '%s: %.0f / %.0f' % (r[1], float(r[2]), float(r[5])) for r in rows) + '.')
PY
cat "$dir/table.md"
[[ ${DOC:-1} == 0 ]] || doc_update proxy "$dir/table.md"
