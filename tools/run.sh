#!/usr/bin/env bash
# Installs what is missing, builds, and runs molecule.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build >/dev/null
exec ./build/src/cli/molecule --help
