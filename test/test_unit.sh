#!/bin/sh
# test_unit.sh - dist/molecule-host.service (as meson configured it) is a unit systemd accepts
# (`systemd-analyze verify` prints nothing: it exits 0 even on unknown keys and bad values),
# keeps its sandbox (`systemd-analyze security` exposure at most 2.0, "OK"), and runs the
# command it names. ExecStart points at the build's molecule, since the install's is not there.
# Usage: test_unit.sh UNIT_FILE MOLECULE_BIN
set -eu
unit=$1
bin=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

grep -q '^ExecStart=/[^ ]*/molecule host -c /[^ ]*/molecule/host.yaml$' "$unit" ||
  fail "ExecStart: $(grep ExecStart "$unit")"
sed "s#^ExecStart=[^ ]*/molecule #ExecStart=$bin #" "$unit" >"$dir/molecule-host.service"
findings=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$dir/molecule-host.service" 2>&1) ||
  fail "systemd-analyze verify failed: $findings"
[ -z "$findings" ] || fail "systemd-analyze verify: $findings"
systemd-analyze security --offline=yes --threshold=20 "$dir/molecule-host.service" >"$dir/security" 2>&1 ||
  fail "exposure above 2.0: $(grep -E 'Overall|✗' "$dir/security")"
grep 'Overall exposure' "$dir/security"
