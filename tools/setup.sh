#!/usr/bin/env bash
# Installs the Debian 12 packages molecule needs, only those missing. Idempotent; prints
# nothing when everything is already there. Usage: tools/setup.sh [--bench|--coverage]
set -euo pipefail

pkgs=(
  gcc clang libclang-rt-14-dev meson ninja-build pkg-config git ca-certificates openssl curl
  python3 procps bubblewrap strace tinyproxy
  # The -dev packages of libuv, mbedTLS, jansson and libyaml also ship the static archives
  # the default build links into the molecule command (meson.build, static_deps).
  libuv1-dev node-llhttp libmbedtls-dev libarchive-dev libjansson-dev libyaml-dev
  libsqlite3-dev libcmocka-dev uthash-dev
  nodejs npm
)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(wrk nginx-light)
fi
if [[ "${1:-}" == "--coverage" ]]; then
  pkgs+=(gcovr)
fi
# The Debian packages (tools/deb_test.sh): dpkg-buildpackage with debhelper, groff to check the
# man pages, systemd-analyze to verify the unit, zsh to load its completion.
pkgs+=(build-essential debhelper dpkg-dev fakeroot groff-base systemd zsh)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# node and npm may come from elsewhere than Debian (e.g. a newer node already on PATH).
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq >/dev/null
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
