#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: `molecule dev` - the development
# platform with a coordinator and two worker agents talking A2A through it. Ctrl-C stops it.
# Extra arguments go to `molecule dev` (e.g. --once, --question "...").
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build src/cli/molecule >/dev/null
exec ./build/src/cli/molecule dev "$@"
