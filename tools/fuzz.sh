#!/bin/sh
# tools/fuzz.sh [RUNS] [TARGET...]: the long fuzz campaign. Builds the clang fuzz build
# (build-fuzz/) if needed and runs each target (default: all) for RUNS executions (default
# 10,000,000) from its committed seed corpus; new inputs collect in build-fuzz, crashes in
# build-fuzz/crashes/. Prints one line per target (executions, seconds, executions a second,
# corpus inputs/bytes at the end) and exits non-zero if any target failed. FUZZ_MAX_SECONDS=S also stops
# each target after S seconds (a campaign that must end by a given time); the line says so.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
MAX_SECONDS=${FUZZ_MAX_SECONDS:-0}
[ $# -gt 0 ] && shift
if [ ! -d build-fuzz ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Dsanitize=false -Db_lundef=false >/dev/null
fi
TARGETS=${*:-$(ls test/fuzz/corpus)}
# Only the executables this campaign runs: the whole fuzz build is long on a shared machine.
ninja -C build-fuzz $(for t in $TARGETS; do echo test/fuzz/fuzz_$t; done) >/dev/null
mkdir -p build-fuzz/crashes
failed=0
for t in $TARGETS; do
  exe=build-fuzz/test/fuzz/fuzz_$t
  work=build-fuzz/test/fuzz/corpus-fuzz_$t
  mkdir -p "$work"
  log=build-fuzz/fuzz_$t.log
  start=$(date +%s)
  if "$exe" -runs="$RUNS" -max_total_time="$MAX_SECONDS" -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/"$t"- \
       "$work" "test/fuzz/corpus/$t" >"$log" 2>&1; then
    result=clean
  else
    result="FAILED (see $log)"
    failed=$((failed + 1))
  fi
  secs=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [ "$result" = clean ] && [ "${execs:-0}" -lt "$RUNS" ]; then
    result="clean, stopped by FUZZ_MAX_SECONDS before $RUNS"
  fi
  corpus=$(sed -n 's/.*DONE .* corp: \([^ ]*\) .*/\1/p' "$log")  # inputs/bytes at the end
  echo "fuzz_$t: ${execs:-?} executions in ${secs} s (${rate:-?}/s)," \
       "corpus ${corpus:-?}, $result"
done
echo "$failed target(s) failed"
[ "$failed" = 0 ]
