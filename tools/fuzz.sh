#!/bin/sh
# tools/fuzz.sh [RUNS] [TARGET...]: the long fuzz campaign. Builds the clang fuzz build
# (build-fuzz/) if needed and runs each target (default: all) for RUNS executions (default
# 10,000,000) from its committed seed corpus; new inputs collect in build-fuzz, crashes in
# build-fuzz/crashes/. Prints one line per target and exits non-zero if any target failed.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
[ $# -gt 0 ] && shift
if [ ! -d build-fuzz ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Dsanitize=false -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz >/dev/null
TARGETS=${*:-$(ls test/fuzz/corpus)}
mkdir -p build-fuzz/crashes
failed=0
for t in $TARGETS; do
  exe=build-fuzz/test/fuzz/fuzz_$t
  work=build-fuzz/test/fuzz/corpus-fuzz_$t
  mkdir -p "$work"
  log=build-fuzz/fuzz_$t.log
  if "$exe" -runs="$RUNS" -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix=build-fuzz/crashes/"$t"- "$work" "test/fuzz/corpus/$t" >"$log" 2>&1; then
    result=clean
  else
    result="FAILED (see $log)"
    failed=$((failed + 1))
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz_$t: ${execs:-?} executions, $result"
done
echo "$failed target(s) failed"
[ "$failed" = 0 ]
