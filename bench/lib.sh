# Shared helpers for the benchmark scripts (sourced).
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_OUT=$BENCH_ROOT/bench/out
mkdir -p "$BENCH_OUT"

bench_build() { # [targets...]: a release build of what the benchmark runs
  bash "$BENCH_ROOT/tools/setup.sh" --bench
  [[ -f $BENCH_ROOT/build-bench/build.ninja ]] ||
    meson setup "$BENCH_ROOT/build-bench" -Dbuildtype=release -Dtests=false >/dev/null
  if ! ninja -C "$BENCH_ROOT/build-bench" "$@" >"$BENCH_OUT/build.log" 2>&1; then
    tail -30 "$BENCH_OUT/build.log" >&2
    return 1
  fi
}

wait_port() { # port: wait until something accepts on 127.0.0.1:port (10 s)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on port $1" >&2
  return 1
}

# Runs wrk and prints "<requests/s> <p50 us> <p99 us>".
wrk_run() { # url duration connections script [cpu]
  local out
  out=$(taskset -c "${5:-1}" wrk -t1 -c"$3" -d"$2"s --latency -s "$4" "$1")
  echo "$out" >>"$BENCH_OUT/wrk.log"
  python3 - "$out" <<'PY'
import re, sys
t = sys.argv[1]
def us(v):
    n, u = re.match(r'([\d.]+)(us|ms|s)', v).groups()
    return float(n) * {'us': 1, 'ms': 1e3, 's': 1e6}[u]
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', t).group(1))
# Anchored: "96.50%" in the stdev column must not pass for the 50th percentile.
p50 = us(re.search(r'^\s*50%\s+(\S+)', t, re.M).group(1))
p99 = us(re.search(r'^\s*99%\s+(\S+)', t, re.M).group(1))
errs = re.search(r'Non-2xx or 3xx responses: (\d+)', t)
sock = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', t)
if errs or (sock and sum(map(int, sock.groups()[:3]))):
    sys.stderr.write('wrk reported errors: %s %s\n' % (errs and errs.group(0), sock and sock.group(0)))
    sys.exit(1)
if sock and int(sock.group(4)):
    # wrk's 2 s request timeout: a slow server, not a broken one. Counted in its latency.
    sys.stderr.write('note: %s requests took over 2 s\n' % sock.group(4))
print(rps, p50, p99)
PY
}

# Replaces the block between <!-- bench:NAME:begin --> and <!-- bench:NAME:end --> in
# docs/benchmarks.md with the contents of a file (appends the block when absent).
doc_update() { # name file
  python3 - "$BENCH_ROOT/docs/benchmarks.md" "$1" "$2" <<'PY'
import os, re, sys
doc, name, src = sys.argv[1:]
block = open(src).read().rstrip() + '\n'
begin, end = '<!-- bench:%s:begin -->' % name, '<!-- bench:%s:end -->' % name
text = open(doc).read() if os.path.exists(doc) else '# Benchmarks\n'
new = begin + '\n' + block + end
if begin in text:
    text = re.sub(re.escape(begin) + '.*?' + re.escape(end), lambda m: new, text, flags=re.S)
else:
    text = text.rstrip() + '\n\n' + new + '\n'
open(doc, 'w').write(text)
PY
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() { # pid
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}
