#!/usr/bin/env bash
# tools/coverage.sh: line and branch coverage of src/ by the whole suite (fuzzing aside), per
# folder and overall. Builds build-cov/ with meson's b_coverage, runs the suite there, then
# gcovr. Installs gcovr if missing (tools/setup.sh --coverage). The HTML report lands in
# build-cov/coverage/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --coverage
for d in test/interop/*/; do [ -d "$d/node_modules" ] || (cd "$d" && npm ci --silent); done
[ -d build-cov ] || meson setup build-cov -Db_coverage=true >/dev/null
ninja -C build-cov >/dev/null
find build-cov -name '*.gcda' -delete
MOL_SOURCE_ROOT=$PWD meson test -C build-cov --num-processes 2 --no-rebuild >build-cov/test.log 2>&1 ||
  { tail -30 build-cov/test.log; echo "coverage: the suite failed; figures below are partial"; }
mkdir -p build-cov/coverage
gcovr -r . --filter 'src/' --object-directory build-cov --json-summary build-cov/coverage/summary.json \
  --html-details build-cov/coverage/index.html >/dev/null
python3 - <<'PY'
import json, collections
s = json.load(open('build-cov/coverage/summary.json'))
agg = collections.defaultdict(lambda: [0, 0, 0, 0])
for f in s['files']:
    parts = f['filename'].split('/')
    folder = '/'.join(parts[:2]) if len(parts) > 2 else parts[0]
    a = agg[folder]
    a[0] += f['line_covered']; a[1] += f['line_total']
    a[2] += f['branch_covered']; a[3] += f['branch_total']
pct = lambda c, t: 100.0 * c / t if t else 100.0
print('%-18s %8s %9s' % ('folder', 'lines', 'branches'))
for k in sorted(agg):
    a = agg[k]
    print('%-18s %7.1f%% %8.1f%%' % (k, pct(a[0], a[1]), pct(a[2], a[3])))
print('%-18s %7.1f%% %8.1f%%' % ('overall', s['line_percent'], s['branch_percent']))
PY
