#!/usr/bin/env bash
# bench/a2a/durable.sh: non-blocking message/send (task mode: the agent answers with the task
# as soon as it is stored, then runs the turn) against `molecule serve --task-mode` with the
# in-memory task store, with the durable store (--data-dir, --sync normal) and with the durable
# store fsyncing every commit (--sync full), in one run: wrk -t1 -c50 keep-alive, servers on
# CPU 0, wrk on CPU 1, alternating rounds, medians. Then RSS, WAL and database size of the
# durable agent at every tenth of `calls` more non-blocking sends (its store is bounded by the
# same memory budget, the database mirrors the store, and a commit is capped).
# Usage: bench/a2a/durable.sh [duration_s=10] [rounds=3] [calls=1000000]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
duration=${1:-10} rounds=${2:-3} calls=${3:-1000000} conns=50
bench_build src/cli/molecule
mol=$BENCH_ROOT/build-bench/src/cli/molecule
dir=$(mktemp -d "$BENCH_ROOT/bench/out/durable-XXXXXX") # on the disk, not a tmpfs
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

# DURABLE_PORT (default 18191) and the two ports after it: another port when something else
# already listens there (wrk would measure that instead).
p0=${DURABLE_PORT:-18191}
for p in $p0 $((p0 + 1)) $((p0 + 2)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "port $p is in use: set DURABLE_PORT" >&2
    exit 1
  fi
done
declare -A port=([memory]=$p0 [normal]=$((p0 + 1)) [full]=$((p0 + 2))) pid
taskset -c 0 "$mol" serve --listen 127.0.0.1:${port[memory]} --task-mode >/dev/null 2>&1 & pids+=($!); pid[memory]=$!
taskset -c 0 "$mol" serve --listen 127.0.0.1:${port[normal]} --task-mode --data-dir "$dir/normal" >/dev/null 2>&1 & pids+=($!); pid[normal]=$!
taskset -c 0 "$mol" serve --listen 127.0.0.1:${port[full]} --task-mode --data-dir "$dir/full" --sync full >/dev/null 2>&1 & pids+=($!); pid[full]=$!
wait_port ${port[memory]}; wait_port ${port[normal]}; wait_port ${port[full]}

: >"$BENCH_OUT/wrk.log"
declare -A rps p99
ratio_n= ratio_f=
for r in $(seq "$rounds"); do
  order="memory normal full"; ((r % 2)) || order="full normal memory" # ABBA
  declare -A got=()
  for t in $order; do
    read -r a b c < <(wrk_run "http://127.0.0.1:${port[$t]}/" "$duration" "$conns" "$here/send_nonblocking.lua")
    rps[$t]+="$a "; p99[$t]+="$c "; got[$t]=$a
    echo "round $r $t: $a req/s, p99 ${c}us"
  done
  ratio_n+="$(python3 -c "print(${got[normal]} / ${got[memory]})") "
  ratio_f+="$(python3 -c "print(${got[full]} / ${got[memory]})") "
done

# RSS, WAL and data directory of the durable agent (sync normal) at every tenth of `calls`
# more non-blocking sends, counted by the agent itself (molecule_a2a_requests_total): the
# curve must flatten (the store's budget, SQLite's page cache, the commit's cap).
metric() { curl -s "http://127.0.0.1:${port[normal]}/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
sample() { # sends so far: "sends rss_kB wal_kB dir_kB tasks"
  local wal
  wal=$(stat -c %s "$dir/normal/a2a-tasks.db-wal" 2>/dev/null || echo 0)
  echo "$1 $(awk '/VmRSS/ {print $2}' "/proc/${pid[normal]}/status") $((wal / 1024))" \
    "$(du -sk "$dir/normal" | cut -f1) $(metric molecule_a2a_tasks)"
}
base=$(metric molecule_a2a_requests_total)
samples=$(sample 0 | tr ' ' ,)
step=$((calls / 10)) next=$((calls / 10))
taskset -c 1 wrk -t1 -c"$conns" -d3600s -s "$here/send_nonblocking.lua" \
  "http://127.0.0.1:${port[normal]}/" >/dev/null & wrk_pid=$!
pids+=($wrk_pid)
while ((next <= calls)); do
  sleep 0.5
  kill -0 "$wrk_pid" 2>/dev/null || { echo "wrk stopped before $calls sends" >&2; exit 1; }
  n=$(($(metric molecule_a2a_requests_total) - base))
  if ((n >= next)); then
    row=$(sample "$n")
    samples+=" ${row// /,}"
    echo "after $n sends: $row (sends, RSS kB, WAL kB, data dir kB, tasks)"
    next=$((next + step))
  fi
done
kill "$wrk_pid" 2>/dev/null || true
done_calls=$n

python3 - "${rps[memory]}" "${rps[normal]}" "${rps[full]}" "${p99[memory]}" "${p99[normal]}" \
  "${p99[full]}" "$ratio_n" "$ratio_f" "$duration" "$rounds" "$calls" "$done_calls" "$samples" \
  >"$dir/result.md" <<'PY'
import statistics as st, sys
f = lambda s: st.median([float(x) for x in s.split()])
rm, rn, rf, qm, qn, qf, ratn, ratf = map(f, sys.argv[1:9])
dur, rounds, calls, done = sys.argv[9:13]
rows = [[int(float(v)) for v in x.split(',')] for x in sys.argv[13].split()]
print('## Durable task store: non-blocking message/send, durable vs in memory\n')
print('Command: `bench/a2a/durable.sh %s %s %s` (wrk -t1 -c50 -d%ss keep-alive; `molecule serve' % (dur, rounds, calls, dur))
print('--task-mode`, message/send with `configuration.blocking: false`: the answer is the stored task,')
print('the echo turn runs after it; servers pinned to CPU 0, wrk to CPU 1; %s rounds, the order' % rounds)
print('alternating; medians; a ratio is the median of the rounds\' ratios). The durable agents keep')
print('their database on the disk (ext4), WAL mode, through the storage backend (SQLite, src/devplatform/')
print('taskdb.c), one transaction at a time on the thread pool (group commit), every answer held')
print('until the commit of what it reports.')
cpu = [l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')]
print('Machine: %s, %d CPUs, shared; load average at the end: %s. Release build.\n'
      % (cpu[0] if cpu else '?', len(cpu), open('/proc/loadavg').read().split()[0]))
print('| task store | req/s | p99 latency | vs in memory |')
print('|---|---|---|---|')
print('| in memory (default) | %.0f | %.0f us | 1.00x |' % (rm, qm))
print('| `--data-dir`, `--sync normal` (WAL, synchronous=NORMAL) | %.0f | %.0f us | %.2fx |' % (rn, qn, ratn))
print('| `--data-dir --sync full` (WAL, synchronous=FULL: fsync per commit) | %.0f | %.0f us | %.2fx |' % (rf, qf, ratf))
print()
print('- **durable (normal) / in memory: %.2fx** (target >= 0.5x: %s); with fsync on every commit %.2fx.'
      % (ratn, 'met' if ratn >= 0.5 else 'NOT met', ratf))
print('- fsync policy: `--sync normal` survives kill -9 and crashes of the process, not a power loss')
print('  (the last commits since a checkpoint may roll back); `--sync full` fsyncs the WAL at every')
print('  commit, one commit for all the tasks the answers held meanwhile report, off the loop, and')
print('  survives a power loss. See docs/durability.md.')
mb = lambda kb: kb / 1024
print('- **RSS of the durable agent (`--sync normal`) over %s more non-blocking sends**, sampled'
      % '{:,}'.format(int(done)))
print('  every %s (counted by the agent, molecule_a2a_requests_total), with the WAL file, the data'
      % '{:,}'.format(int(calls) // 10))
print('  directory and the tasks the store kept:\n')
print('| sends | RSS | WAL | data directory | tasks kept |')
print('|---|---|---|---|---|')
for n, rss, wal, d, tasks in rows:
    print('| %s | %.1f MB | %.1f MB | %.1f MB | %d |' % ('{:,}'.format(n), mb(rss), mb(wal), mb(d), tasks))
half = rows[len(rows) // 2:]
print()
print('  RSS %.1f -> %.1f MB over the run; over its second half (%s sends) %.1f -> %.1f MB (max %.1f),'
      % (mb(rows[0][1]), mb(rows[-1][1]), '{:,}'.format(rows[-1][0] - half[0][0]), mb(half[0][1]),
         mb(rows[-1][1]), mb(max(r[1] for r in half))))
print('  WAL at most %.1f MB.' % mb(max(r[2] for r in rows)))
PY
cat "$dir/result.md"
doc_update a2a-durable "$dir/result.md"
