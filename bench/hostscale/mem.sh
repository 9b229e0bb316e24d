#!/usr/bin/env bash
# bench/hostscale/mem.sh: RSS per hosted agent, with every agent registered with the dev
# platform and heartbeating. `molecule platform --dev` on CPU 1; `molecule host` on CPU 0 with
# N echo agents, each its own workspace (registration creates it and mints its token, kept in
# a token dir under a scratch HOME), at the default 30 s heartbeat. RSS per agent is
# (VmRSS of the N-agent host - VmRSS of a 1-agent host, same platform) / (N - 1), read once
# every agent is online on the platform and again after two more heartbeat intervals (beats
# counted on the platform: last_heartbeat_at of every workspace within the last interval).
# Usage: bench/hostscale/mem.sh [agents=10000] [settle_s=65]
# MAX_WAIT=<s>: stop waiting for registrations after that long (default: no limit).
# STANDALONE=1: no platform (agents without a platform URL); RSS once /health counts them all.
# "online" is the platform's view (a registration it committed); an agent whose answer was lost
# is online there but never heartbeats: read "heartbeats within 35 s" (taken SETTLE_S later) and
# "agents refused 401 at least once" for the agents that are really up.
# SAVE=<dir>: once every agent is online, the platform's database (SAVE/p-LABEL.db) and the
# agents' tokens (SAVE/tokens-LABEL: "<id> <token>" lines) are kept there for beats.sh.
# MOL=<molecule binary> (default: the release build); BEFORE=<another molecule binary> runs the
# same measure with it first, in the same run, for a before/after ratio. The result goes to
# bench/out/hostmem.md; docs/benchmarks.md is edited by hand from it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
agents=${1:-10000} settle=${2:-65}
if [[ -z ${MOL:-} ]]; then
  bench_build src/cli/molecule
  MOL=$BENCH_ROOT/build-bench/src/cli/molecule
fi
base=${PORT_BASE:-18170} # base: platform, base+1: host, base+2: the 1-agent host
pport=$base hport=$((base + 1)) oport=$((base + 2))
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
out=$BENCH_OUT/hostmem.md
: >"$out"
say() { echo "$*" | tee -a "$out"; }

host_file() { # n port first-id -> host file on stdout
  python3 - "$@" <<'PY'
import sys, uuid
n, port, first = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
pport = sys.argv[4]
print('listen: 127.0.0.1:%s' % port)
if pport: print('platform_url: http://127.0.0.1:%s' % pport)
print('log: {level: warn}\nagents:')
for i in range(first, first + n):
    ws = ', workspace_id: %s' % uuid.UUID(int=i + 1) if pport else ''
    print('  - {name: a%d, executor: echo%s}' % (i, ws))
PY
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
online() { # workspaces the platform has online
  sqlite3 "file:$dir/p.db?mode=ro" "select count(*) from workspaces where status='online'" 2>/dev/null || echo 0
}
fresh_beats() { # workspaces whose last heartbeat is under 35 s old
  sqlite3 "file:$dir/p.db?mode=ro" \
    "select count(*) from workspaces where last_heartbeat_at > strftime('%s','now')*1000 - 35000" 2>/dev/null || echo 0
}

save_run() { # label: the database and the tokens, for beats.sh
  mkdir -p "$SAVE"
  sqlite3 "$dir/p.db" ".backup '$SAVE/p-$1.db'"
  python3 - "$dir/home/.molecule" "$SAVE/tokens-$1" <<'PY'
import os, sys
root, out = sys.argv[1:]
with open(out, 'w') as f:
    for ws in sorted(os.listdir(root)):
        try:
            tok = open(os.path.join(root, ws, '.auth_token')).read().strip()
        except OSError:
            continue
        if tok:
            f.write('%s %s\n' % (ws, tok))
PY
}

measure() { # label binary
  local label=$1 bin=$2
  rm -f "$dir"/p.db*
  rm -rf "$dir/home"
  mkdir -p "$dir/home"
  local ppid=$$ purl=$pport
  : >"$dir/platform.log"
  if [[ -n ${STANDALONE:-} ]]; then
    purl=
  else
    taskset -c 1 "$bin" platform --listen "127.0.0.1:$pport" --db "$dir/p.db" --dev \
      >"$dir/platform.log" 2>&1 & pids+=($!)
    ppid=$!
    wait_port "$pport"
  fi
  host_file 1 "$oport" 0 "$purl" >"$dir/one.yaml"
  host_file "$agents" "$hport" 1 "$purl" >"$dir/host.yaml"
  HOME=$dir/home taskset -c 0 "$bin" host -c "$dir/one.yaml" >"$dir/one.log" 2>&1 & pids+=($!)
  local one=$!
  local t0
  t0=$(date +%s.%N)
  HOME=$dir/home taskset -c 0 "$bin" host -c "$dir/host.yaml" >"$dir/host.log" 2>&1 & pids+=($!)
  local hpid=$!
  # Until every workspace is online, or none has come online for 45 s (longer than the
  # register back-off's 30 s cap): those left out are reported, not waited for.
  local want=$((agents + 1)) n=0 last=-1 still=0
  local deadline=$((SECONDS + ${MAX_WAIT:-1000000}))
  while ((n < want && still < 450 && SECONDS < deadline)); do
    if [[ -n ${STANDALONE:-} ]]; then
      [[ $(curl -s "http://127.0.0.1:$hport/health") == *"\"agents\":$agents}"* ]] && n=$want
      [[ $(curl -s "http://127.0.0.1:$oport/health") == *'"agents":1}'* ]] || n=0
    else
      n=$(online)
    fi
    if ((n == last)); then still=$((still + 1)); else still=0 last=$n; fi
    kill -0 "$hpid" 2>/dev/null || { tail "$dir/host.log" >&2; exit 1; }
    sleep 0.1
  done
  local up
  up=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))")
  local r1 o1
  r1=$(rss_kb "$hpid") o1=$(rss_kb "$one")
  [[ -z ${SAVE:-} || -n ${STANDALONE:-} ]] || save_run "$label"
  sleep "$settle"
  local r2 o2 beats fds
  r2=$(rss_kb "$hpid") o2=$(rss_kb "$one") beats=$(fresh_beats)
  fds=$(ls "/proc/$hpid/fd" | wc -l)
  local cpu_host cpu_plat
  cpu_host=$(cpu_seconds "$hpid") cpu_plat=0
  [[ -n ${STANDALONE:-} ]] || cpu_plat=$(cpu_seconds "$ppid")
  say "$label: $((n - 1)) of $agents agents online after ${up}s; host RSS ${r1} kB (1-agent host ${o1} kB) ->" \
    "$(python3 -c "print('%.2f' % (($r1 - $o1) / ($agents - 1)))") KB/agent; after ${settle}s more:" \
    "${r2} kB (${o2} kB) -> $(python3 -c "print('%.2f' % (($r2 - $o2) / ($agents - 1)))") KB/agent;" \
    "heartbeats within 35 s: $beats of $want; host fds $fds; CPU so far host ${cpu_host}s," \
    "platform ${cpu_plat}s; host log: $(grep -c 'register failed' "$dir/host.log" || true) failed" \
    "registrations ($(grep -c 'status 401' "$dir/host.log" || true) refused 401)," \
    "$(grep -c 'heartbeat failed' "$dir/host.log" || true) failed heartbeats;" \
    "agents refused 401 at least once: $(grep -o 'a[0-9]*: register failed ([^)]*status 401' \
      "$dir/host.log" | cut -d: -f1 | sort -u | wc -l)"
  cp "$dir/host.log" "$BENCH_OUT/hostmem-$label-host.log"
  cp "$dir/platform.log" "$BENCH_OUT/hostmem-$label-platform.log"
  kill "$hpid" "$one" 2>/dev/null || true
  [[ -n ${STANDALONE:-} ]] || kill "$ppid" 2>/dev/null || true
  wait "$hpid" "$one" 2>/dev/null || true
}

[[ -n ${BEFORE:-} ]] && measure before "$BEFORE"
measure after "$MOL"
