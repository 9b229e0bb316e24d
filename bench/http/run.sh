#!/usr/bin/env bash
# bench/http: molecule's HTTP server vs nginx (one worker) on the same request, same run.
# POST of a ~300-byte JSON body answered with a ~200-byte JSON body, keep-alive, 50
# connections, wrk with one thread. Servers are pinned to CPU 0, wrk to CPU 1; the two
# targets alternate over several rounds and the medians are compared.
# Usage: bench/http/run.sh [duration_s=10] [rounds=3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
duration=${1:-10} rounds=${2:-3} conns=50
bench_build bench/bench_http_server

body='{"jsonrpc":"2.0","id":"7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b","result":{"kind":"message","messageId":"a1b2c3d4-e5f6-4789-9abc-def012345678","role":"agent","parts":[{"kind":"text","text":"ok"}]}}'
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|18080|" -e "s|@BODY@|$body|" "$here/nginx.conf.in" >"$dir/nginx.conf"
taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir" & pids+=($!)
nginx_master=$!
taskset -c 0 "$BENCH_ROOT/build-bench/bench/bench_http_server" --port 18081 --body "$body" & pids+=($!)
declare -A pid=([molecule]=$!)
wait_port 18080; wait_port 18081
pid[nginx]=$(pgrep -P "$nginx_master" | head -1) # the worker does the work

: >"$BENCH_OUT/wrk.log"
declare -A rps p50 p99 cpu
for r in $(seq "$rounds"); do
  for t in nginx molecule; do
    port=18080; [[ $t == molecule ]] && port=18081
    c0=$(cpu_seconds "${pid[$t]}")
    read -r a b c < <(wrk_run "http://127.0.0.1:$port/" "$duration" "$conns" "$here/post.lua")
    c1=$(cpu_seconds "${pid[$t]}")
    us=$(python3 -c "print('%.2f' % (($c1 - $c0) * 1e6 / ($a * $duration)))")
    rps[$t]+="$a "; p50[$t]+="$b "; p99[$t]+="$c "; cpu[$t]+="$us "
    echo "round $r $t: $a req/s, p50 ${b}us, p99 ${c}us, server CPU ${us}us/request"
  done
done

python3 - "${rps[nginx]}" "${rps[molecule]}" "${p99[nginx]}" "${p99[molecule]}" \
  "${p50[nginx]}" "${p50[molecule]}" "$duration" "$rounds" "${cpu[nginx]}" "${cpu[molecule]}" \
  >"$dir/result.md" <<'PY'
import statistics as st, sys, subprocess
f = lambda s: [float(x) for x in s.split()]
rn, rm, qn, qm, mn, mm = map(f, sys.argv[1:7])
dur, rounds = sys.argv[7:9]
cn, cm = map(f, sys.argv[9:11])
R = st.median(rm) / st.median(rn)
L = st.median(qm) / st.median(qn)
cpu = subprocess.run(['sh', '-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
print('## HTTP server: molecule vs nginx\n')
print('Command: `bench/http/run.sh %s %s` (wrk -t1 -c50 -d%ss, POST ~300 B JSON -> ~200 B JSON,' % (dur, rounds, dur))
print('keep-alive; each server one thread pinned to CPU 0, wrk on CPU 1; %s alternating rounds,' % rounds)
print('medians). Machine: %s.\n' % cpu)
print('| server | req/s (median) | p50 latency | p99 latency | server CPU per request |')
print('|---|---|---|---|---|')
print('| nginx 1 worker | %.0f | %.0f us | %.0f us | %.2f us |' % (st.median(rn), st.median(mn), st.median(qn), st.median(cn)))
print('| molecule | %.0f | %.0f us | %.0f us | %.2f us |' % (st.median(rm), st.median(mm), st.median(qm), st.median(cm)))
print('\n**Throughput ratio molecule/nginx: %.2fx** (target >= 0.8x: %s). ' % (R, 'met' if R >= 0.8 else 'NOT met'))
print('**p99 ratio: %.2fx** (target <= 1.5x: %s).' % (L, 'met' if L <= 1.5 else 'NOT met'))
print('**CPU per request ratio molecule/nginx: %.2fx** (lower is better; unlike req/s it does not move' % (st.median(cm) / st.median(cn)))
print('when other processes take the core).')
print('\nPer round req/s: nginx %s; molecule %s.' % (', '.join('%.0f' % x for x in rn), ', '.join('%.0f' % x for x in rm)))
PY
cat "$dir/result.md"
doc_update http "$dir/result.md"
