#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite three ways:
#   build/        the normal build (-Wall -Wextra -Werror: every build here gets -Dwerror=true)
#   build-asan/   the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   build-fuzz/   clang + libFuzzer targets, each run for a bounded time
# then builds the Debian packages, installs them and runs them (tools/deb_test.sh). Each build
# runs in the background while the tests of the one before it run.
# Ends with one line "N passed, N failed" (skips are counted and named, never silent).
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

# python3 straight, not through a version manager's shim (pyenv's is a bash script that costs
# about a second of a loaded 2-core machine per start, and the shell tests start hundreds): a
# link to the interpreter the shim picks, first on PATH, before any build is configured.
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
if [[ -n $py && -x $py && $(command -v python3) != "$py" ]]; then
  mkdir -p build-bin && ln -sfn "$py" build-bin/python3 && PATH=$PWD/build-bin:$PATH
fi

# The npm peers used by the interop tests, pinned by their lock files: installed while the
# normal build runs (npm ci is mostly waiting on the network and the disk).
npm_peers() {
  for lock in test/interop/*/package-lock.json; do
    dir=$(dirname "$lock")
    if [[ ! -f $dir/node_modules/.package-lock.json || $lock -nt $dir/node_modules/.package-lock.json ]]; then
      echo "== npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || echo "!! npm ci failed in $dir"
    fi
  done
}

passed=0 failed=0 skipped=0
broken=()

configure() { # dir, meson options... (warnings are errors here; meson.build's default is off)
  local dir=$1; shift
  if [[ -f "$dir/build.ninja" ]]; then
    meson configure "$dir" -Dwerror=true "$@"
  else
    meson setup "$dir" -Dwerror=true "$@"
  fi
}

count() { # dir label
  local log=$1/meson-logs/testlog.json
  [[ -f $log ]] || { failed=$((failed + 1)); broken+=("$2: no test log"); return; }
  local ok bad skip
  ok=$(grep -c -E '"result": "(OK|EXPECTEDFAIL)"' "$log")
  bad=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")
  skip=$(grep -c -E '"result": "SKIP"' "$log")
  passed=$((passed + ok)); failed=$((failed + bad)); skipped=$((skipped + skip))
  if ((skip > 0)); then
    echo "== $2: skipped tests:"; grep -E '"result": "SKIP"' "$log" | grep -o '"name": "[^"]*"'
  fi
  echo "== $2: $ok passed, $bad failed, $skip skipped (at ${SECONDS} s)"
}

# Each build runs in the background (niced) while the previous build's tests run: most of a test
# run's wall time is waiting on sockets, timers and child processes, not CPU.
declare -A builder
split_args() { # [VAR=value | meson option ...] -> env[] and opts[]
  env=() opts=()
  for a in "$@"; do [[ $a == *=* && $a != -* ]] && env+=("$a") || opts+=("$a"); done
}

start_build() { # label dir [VAR=value ...] [meson options ...]
  local label=$1 dir=$2; shift 2
  local env opts; split_args "$@"
  echo "== $label: building in $dir (at ${SECONDS} s)"
  (
    if ((${#env[@]})); then export "${env[@]}"; fi
    configure "$dir" "${opts[@]}" && nice -n 10 ninja -C "$dir" ${BUILD_TARGETS:-}
  ) >"$dir.build.log" 2>&1 &
  builder[$label]=$!
}

built() { # label dir: waits for the build; a failed build counts as one failure
  local rc=0
  wait "${builder[$1]}" || rc=$?
  echo "== $1: built (at ${SECONDS} s)"
  if ((rc)); then
    tail -40 "$2.build.log" 2>/dev/null
    failed=$((failed + 1)); broken+=("$1: build failed"); return 1
  fi
}

run_tests() { # label dir [VAR=value ...]: the tests of a finished build
  local label=$1 dir=$2; shift 2
  local env opts; split_args "$@"
  rm -f "$dir/meson-logs/testlog.json"
  (
    if ((${#env[@]})); then export "${env[@]}"; fi
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 ${TEST_ARGS:-} \
      >"$dir.test.log" 2>&1
  )
  grep -E '^ *[0-9]+/[0-9]+ ' "$dir.test.log" | grep -v -E ' OK | EXPECTEDFAIL ' || true
  count "$dir" "$label"
}

asan_env=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1)
# Everything else already ran twice; of the fuzz build only the fuzz suite is new, so only the
# fuzz targets (and what they link) are built.
fuzz=(CC=clang BUILD_TARGETS=fuzzers -Dfuzz=true -Dsanitize=false -Db_lundef=false)
have_clang=$(command -v clang || true)

start_build normal build
npm_peers
normal_ok=0; built normal build && normal_ok=1
start_build sanitize build-asan -Dsanitize=true -Dbuildtype=debug
((normal_ok)) && run_tests normal build
if built sanitize build-asan; then
  [[ -n $have_clang ]] && start_build fuzz build-fuzz "${fuzz[@]}"
  run_tests sanitize build-asan "${asan_env[@]}"
elif [[ -n $have_clang ]]; then
  start_build fuzz build-fuzz "${fuzz[@]}"
fi

# The Debian packages built with dpkg-buildpackage, installed, and run (tools/deb_test.sh):
# counted as one test; built while the fuzz suite runs.
fuzz_ok=0
if [[ -n $have_clang ]] && built fuzz build-fuzz; then fuzz_ok=1; fi
echo "== package: building, installing and running the .debs (log: build-deb.log; at ${SECONDS} s)"
nice -n 10 bash tools/deb_test.sh >build-deb.log 2>&1 &
deb_pid=$!
((fuzz_ok)) && TEST_ARGS="--suite fuzz" run_tests fuzz build-fuzz
if wait $deb_pid; then
  passed=$((passed + 1)); echo "== package: 1 passed, 0 failed (at ${SECONDS} s)"
else
  tail -40 build-deb.log
  failed=$((failed + 1)); broken+=("package: tools/deb_test.sh failed (build-deb.log)")
fi

for b in "${broken[@]+"${broken[@]}"}"; do echo "!! $b"; done
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
