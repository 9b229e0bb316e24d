#!/usr/bin/env bash
# bench/a2a/workers.sh: `molecule serve --workers 1` against `--workers 2` in one run, the same
# message/send as bench/a2a/run.sh (wrk -c50 keep-alive, send.lua), rounds alternating ABBA.
# For each: req/s, and the server's CPU per request (utime + stime of the whole process from
# /proc, over the requests wrk counted), and how the kernel spread the connections (each
# worker thread's share of the CPU). Nothing is pinned: two workers need two CPUs, and wrk
# shares them, so req/s is what the machine has left; CPU per request is the number that says
# whether a worker got slower (a shared lock on the hot path would show there).
# TARGET=host: the same for `molecule host` with two echo agents (a0 on worker 0, a1 on worker
# 1), every connection calling both in turn (send_agents.lua), so that half the calls that
# reach a worker are for the other worker's agent and are passed on to it: the price of the
# hand-over, for clients that do not keep to their agent's worker.
# Usage: [TARGET=serve|host] bench/a2a/workers.sh [duration_s=10] [rounds=3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
duration=${1:-10} rounds=${2:-3} conns=50 target=${TARGET:-serve}
bench_build src/cli/molecule
mol=$BENCH_ROOT/build-bench/src/cli/molecule
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

declare -A port=([1]=18095 [2]=18096) pid
script=$here/send.lua path=/
printf 'agents:\n  - name: a0\n  - name: a1\n' >"$dir/host.yaml"
for n in 1 2; do
  if [[ $target == host ]]; then
    "$mol" host -c "$dir/host.yaml" --workers "$n" --listen "127.0.0.1:${port[$n]}" >/dev/null 2>&1 & pids+=($!)
  else
    "$mol" serve --workers "$n" --listen "127.0.0.1:${port[$n]}" >/dev/null & pids+=($!)
  fi
  pid[$n]=$!
done
[[ $target == host ]] && script=$here/send_agents.lua
wait_port 18095; wait_port 18096

ticks=$(getconf CLK_TCK)
cpu_of() { # pid [tid]: utime + stime in clock ticks
  local f=/proc/$1/stat
  [[ -n ${2:-} ]] && f=/proc/$1/task/$2/stat
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$f"
}
threads_cpu() { # pid: "tid:ticks ..." for every thread
  local t out=""
  for t in /proc/"$1"/task/*; do out+="${t##*/}:$(cpu_of "$1" "${t##*/}") "; done
  echo "$out"
}

# One measurement: prints "<req/s> <server CPU us per request> <busiest worker's share %>".
measure() { # workers
  local n=$1 before after tb ta out
  before=$(cpu_of "${pid[$n]}"); tb=$(threads_cpu "${pid[$n]}")
  out=$(wrk -t1 -c"$conns" -d"$duration"s -s "$script" "http://127.0.0.1:${port[$n]}/")
  after=$(cpu_of "${pid[$n]}"); ta=$(threads_cpu "${pid[$n]}")
  echo "$out" >>"$BENCH_OUT/wrk.log"
  python3 - "$out" "$before" "$after" "$ticks" "$tb" "$ta" <<'PY'
import re, sys
t, b, a, hz, tb, ta = sys.argv[1:]
if re.search(r'Non-2xx or 3xx responses', t):
    sys.exit('wrk saw error statuses')
n = int(re.search(r'(\d+) requests in', t).group(1))
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', t).group(1))
cpu_us = (int(a) - int(b)) * 1e6 / int(hz)
d = lambda s: dict(x.split(':') for x in s.split())
before, after = d(tb), d(ta)
per = sorted((int(after[k]) - int(before.get(k, 0)) for k in after), reverse=True)
share = 100.0 * per[0] / max(1, sum(per))
print('%.0f %.2f %.0f' % (rps, cpu_us / n, share))
PY
}

declare -A rps cpu share
for r in $(seq "$rounds"); do
  order="1 2"; ((r % 2)) || order="2 1"
  for n in $order; do
    read -r a c s < <(measure "$n")
    rps[$n]+="$a "; cpu[$n]+="$c "; share[$n]+="$s "
    echo "round $r, $n worker(s): $a req/s, ${c} us CPU/request, busiest thread ${s}% of the CPU"
  done
done

python3 - "${rps[1]}" "${rps[2]}" "${cpu[1]}" "${cpu[2]}" "${share[2]}" "$duration" "$rounds" "$target" >"$dir/workers.md" <<'PY'
import statistics as st, sys
f = lambda s: [float(x) for x in s.split()]
r1, r2, c1, c2, sh2 = map(f, sys.argv[1:6])
dur, rounds, target = sys.argv[6:9]
med = st.median
if target == 'host':
    print('## `molecule host --workers`: two agents, every connection calling both\n')
    print('Command: `TARGET=host bench/a2a/workers.sh %s %s`. `molecule host` with two echo agents' % (dur, rounds))
    print('(a0 on worker 0, a1 on worker 1) with `--workers 1` and `--workers 2` side by side, each')
    print('driven in turn by wrk -t1 -c50 whose every connection alternates between the two agents, so')
    print('that half the calls reaching a worker are passed on to the other one. %s rounds of %s s' % (rounds, dur))
    print('alternating ABBA, medians. Nothing pinned: the two')
else:
    print('## `molecule serve --workers`: one loop per core\n')
    print('Command: `bench/a2a/workers.sh %s %s`. `molecule serve --executor echo --workers 1` and' % (dur, rounds))
    print('`--workers 2` side by side, each driven in turn by wrk -t1 -c50 (keep-alive, the message/send')
    print('of bench/a2a/run.sh), %s rounds of %s s alternating ABBA, medians. Nothing pinned: the two' % (rounds, dur))
print('workers and wrk share the machine\'s CPUs. CPU per request is the whole server process\'s')
print('utime + stime over the requests wrk counted.')
cpu = [l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')]
print('Machine: %s, %d CPUs, shared; load average at the end: %s. Release build.\n'
      % (cpu[0] if cpu else '?', len(cpu), open('/proc/loadavg').read().split()[0]))
print('| workers | req/s | server CPU per request |')
print('|---|---|---|')
print('| 1 | %.0f | %.2f us |' % (med(r1), med(c1)))
print('| 2 | %.0f | %.2f us |' % (med(r2), med(c2)))
print()
ratio = st.median([b / a for a, b in zip(c1, c2)])
if target == 'host':
    print('- **CPU per request, 2 workers / 1: %.2fx**; req/s %.2fx. Half the calls crossed to the other'
          % (ratio, med(r2) / med(r1)))
    print('  worker: the extra CPU is that loopback hand-over (a client keeping to its agent\'s worker,')
    print('  as `molecule serve` clients do for message/send, pays none).')
else:
    print('- **CPU per request, 2 workers / 1: %.2fx** (target: no growth, <= 1.1x: %s); req/s %.2fx.'
          % (ratio, 'met' if ratio <= 1.1 else 'NOT met', med(r2) / med(r1)))
print('- The busiest of the 2-worker server\'s threads took %.0f%% of its CPU (50%% = an even' % med(sh2))
print('  spread of the 50 connections by SO_REUSEPORT).')
PY
cat "$dir/workers.md"
doc_update "workers${target/serve/}" "$dir/workers.md"
