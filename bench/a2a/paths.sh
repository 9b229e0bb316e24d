#!/usr/bin/env bash
# bench/a2a/paths.sh: server CPU per request of the A2A paths off the headline one, each as a
# ratio to a v0.3 message/send measured in the same run: v1.0 SendMessage, a direct-message
# stream (message/stream answered by the echo executor's Message: the task, then its
# completion), a 4-event task stream (--task-mode: the task, working, the artifact,
# completed) and tasks/get of such a task. With BASE=<molecule binary> (default
# build-base/src/cli/molecule, when there is one) the same paths of that build run beside
# this one's, in alternating rounds (ABBA), so "before" and "after" share the machine's load.
# Servers pinned to CPU 0, wrk -t1 -c50 on CPU 1; CPU from /proc/PID/stat (utime + stime).
# NEW=<molecule binary> measures that build instead of building build-bench.
# Usage: bench/a2a/paths.sh [duration_s=5] [rounds=3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"
duration=${1:-5} rounds=${2:-3} conns=50
if [[ -n ${NEW:-} ]]; then
  new=$NEW
else
  bench_build src/cli/molecule
  new=$BENCH_ROOT/build-bench/src/cli/molecule
fi
base=${BASE:-$BENCH_ROOT/build-base/src/cli/molecule}
builds=(new)
[[ -x $base ]] && builds+=(base)

dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

# Per build: one server answering with a Message (sends, the direct stream) and one in task
# mode (the 4-event stream, tasks/get).
declare -A pid port bin=([new]=$new [base]=$base)
p=${PORT0:-28140}
for b in "${builds[@]}"; do
  for mode in msg task; do
    extra=()
    [[ $mode == task ]] && extra=(--task-mode)
    taskset -c 0 "${bin[$b]}" serve --listen "127.0.0.1:$p" "${extra[@]}" >/dev/null & pids+=($!)
    pid[$b.$mode]=$! port[$b.$mode]=$p
    wait_port "$p"
    p=$((p + 1))
  done
done

# A task of the task-mode server, finished (its history, artifact and status as a client reads
# them back). Made fresh before each tasks/get run: the streams fill the store meanwhile.
new_task() { # server key
  curl -s -X POST "http://127.0.0.1:${port[$1]}/" -H 'Content-Type: application/json' -d \
    '{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","messageId":"m","parts":[{"kind":"text","text":"Summarise the quarterly report and list the three biggest risks."}]}}}' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; assert r["status"]["state"]=="completed", r; print(r["id"])'
}

# Runs wrk and prints "<requests> <server CPU us per request>".
measure() { # server key, script, [script args...]
  local key=$1 script=$2
  shift 2
  local c0 c1 out n
  c0=$(cpu_seconds "${pid[$key]}")
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" -s "$here/$script" "http://127.0.0.1:${port[$key]}/" ${1+--} "$@")
  c1=$(cpu_seconds "${pid[$key]}")
  echo "$out" >>"$BENCH_OUT/wrk-paths.log"
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
    echo "wrk reported errors against $key ($script):" >&2
    echo "$out" >&2
    return 1
  fi
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  python3 -c "print($n, '%.2f' % (($c1 - $c0) * 1e6 / $n))"
}

kinds=(send send_v10 stream_direct stream_task get)
declare -A cpu
: >"$BENCH_OUT/wrk-paths.log"
for r in $(seq "$rounds"); do
  order=("${builds[@]}")
  ((r % 2)) || order=($(printf '%s\n' "${builds[@]}" | tac))
  for b in "${order[@]}"; do
    for k in "${kinds[@]}"; do
      case $k in
        send) read -r n us < <(measure "$b.msg" send.lua) ;;
        send_v10) read -r n us < <(measure "$b.msg" send_v10.lua) ;;
        stream_direct) read -r n us < <(measure "$b.msg" stream.lua) ;;
        stream_task) read -r n us < <(measure "$b.task" stream.lua) ;;
        get) read -r n us < <(measure "$b.task" get.lua "$(new_task "$b.task")") ;;
      esac
      cpu[$b.$k]+="$us "
      echo "round $r $b $k: $n requests, server CPU ${us} us/request"
    done
  done
done

args=()
for b in new base; do for k in "${kinds[@]}"; do args+=("${cpu[$b.$k]:-}"); done; done
python3 - "$duration" "$rounds" "${args[@]}" >"$dir/paths.md" <<'PY'
import statistics as st, sys
dur, rounds = sys.argv[1:3]
vals = sys.argv[3:]
kinds = ['send', 'send_v10', 'stream_direct', 'stream_task', 'get']
med = lambda s: st.median([float(x) for x in s.split()]) if s.strip() else None
new = dict(zip(kinds, map(med, vals[:5])))
base = dict(zip(kinds, map(med, vals[5:10])))
names = {'send': 'v0.3 `message/send`', 'send_v10': 'v1.0 `SendMessage`',
         'stream_direct': '`message/stream`, direct Message (2 events)',
         'stream_task': '`message/stream`, 4-event task', 'get': '`tasks/get` of that task'}
target = {'send': None, 'send_v10': 1.2, 'stream_direct': 1.5, 'stream_task': 3.0, 'get': 1.2}
print('## A2A paths: CPU per request against v0.3 message/send\n')
print('Command: `bench/a2a/paths.sh %s %s` (wrk -t1 -c50 -d%ss keep-alive against `molecule serve`,' % (dur, rounds, dur))
print('the echo executor answering with a Message, and `--task-mode` for the task stream and')
print('tasks/get; servers pinned to CPU 0, wrk on CPU 1; server CPU from /proc/PID/stat over each')
print('run; %s rounds, medians).' % rounds)
have_base = base['send'] is not None
if have_base:
    print('"Before" is a release build of the commit this work started from, run beside this one in')
    print('the same rounds (alternating which goes first).')
print()
if have_base:
    print('| request | before: CPU | before: vs send | after: CPU | after: vs send | target |')
    print('|---|---|---|---|---|---|')
else:
    print('| request | CPU per request | vs send | target |')
    print('|---|---|---|---|')
for k in kinds:
    t = target[k]
    tgt = '—' if t is None else '<= %.1fx: %s' % (t, 'met' if new[k] / new['send'] <= t else 'NOT met')
    row = '| %s |' % names[k]
    if have_base:
        row += ' %.2f us | %.2fx |' % (base[k], base[k] / base['send'])
    row += ' %.2f us | %.2fx | %s |' % (new[k], new[k] / new['send'], tgt)
    print(row)
PY
cat "$dir/paths.md"
doc_update a2a-paths "$dir/paths.md"
