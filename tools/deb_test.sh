#!/usr/bin/env bash
# deb_test.sh - builds the Debian packages of this tree (debian/) with dpkg-buildpackage, installs
# them, and checks the install as a user meets it: `molecule --version`, that it links the shared
# libraries of its Debian dependencies (not the upstream default's static archives), the man
# pages, the bash completion, the systemd unit, and examples/embed_poll.c (the embedding example of
# docs/embedding.md) compiled with `pkg-config molecule` against the installed libmolecule and
# run against the installed `molecule platform --dev`.
# The build runs in a copy of the tree (what git tracks), without network when run as root: the
# package must build from Debian packages alone. The packages it installed are removed at the
# end, so the machine is left as found.
# Usage: tools/deb_test.sh [KEEP_DIR]   (as root, or with sudo; build-deps: tools/setup.sh)
#   KEEP_DIR, if given, receives the .deb files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
keep=${1:-}
work=$(mktemp -d /tmp/molecule-deb-XXXXXX)
pkgs=(molecule libmolecule0 libmolecule-dev)
installed_here=()
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)

cleanup() {
  if ((${#installed_here[@]})); then
    "${sudo_cmd[@]}" dpkg --purge "${installed_here[@]}" >"$work/purge.log" 2>&1 ||
      { echo "deb_test: could not remove ${installed_here[*]}:" >&2; cat "$work/purge.log" >&2; }
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "deb_test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
meson_version=$(sed -n "s/^ *version : '\([^']*\)',.*/\1/p" "$root/meson.build" | head -1)
[[ $version == "$meson_version" ]] ||
  fail "debian/changelog says $version, meson.build $meson_version: add a changelog entry"
for p in "${pkgs[@]}"; do
  if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]]; then
    fail "$p is already installed here; remove it first (this test installs and removes it)"
  fi
done

step "copying the tree (what git tracks) to $work"
src=$work/molecule-$version
mkdir "$src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
  xargs -0 cp --parents -t "$src") || fail "could not copy the tree"

step "dpkg-buildpackage -us -uc -b (nocheck, -j2)"
isolate=()
if [[ $(id -u) -eq 0 ]] && unshare --net true 2>/dev/null; then
  isolate=(unshare --net --)   # no network at all: nothing may be downloaded
else
  echo "   (not root: building with the network available)"
fi
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
      "${isolate[@]}" dpkg-buildpackage -us -uc -b -j2) >"$work/build.log" 2>&1; then
  tail -60 "$work/build.log" >&2
  fail "dpkg-buildpackage failed"
fi
debs=()
for p in "${pkgs[@]}"; do
  deb=$(ls "$work/${p}_${version}_"*.deb 2>/dev/null | head -1)
  [[ -n $deb ]] || fail "no ${p}_${version}_*.deb built"
  debs+=("$deb")
done
[[ -z $keep ]] || cp "${debs[@]}" "$keep/"

step "installing ${pkgs[*]}"
installed_here=("${pkgs[@]}")
"${sudo_cmd[@]}" dpkg -i "${debs[@]}" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "dpkg -i failed"; }

step "molecule --version"
[[ $(command -v molecule) == /usr/bin/molecule ]] || fail "molecule on PATH is $(command -v molecule)"
out=$(/usr/bin/molecule --version)
[[ $out == "molecule $version" ]] || fail "molecule --version says '$out'"

step "molecule links the shared libraries of its Debian dependencies"
# debian/rules sets -Dstatic_deps=false: a security update of libuv or mbedTLS must reach
# /usr/bin/molecule without a rebuild, and the package must depend on them.
needed=$(objdump -p /usr/bin/molecule | sed -n 's/^ *NEEDED *//p' | tr '\n' ' ')
for lib in libuv.so.1 libjansson.so.4 libyaml-0.so.2 libmbedtls.so libmbedx509.so libmbedcrypto.so; do
  [[ " $needed" == *" $lib"* ]] || fail "/usr/bin/molecule does not link $lib (NEEDED: $needed)"
done
deps=$(dpkg-query -W -f='${Depends}' molecule)
for pkg in libuv1 libmbedtls libjansson4; do
  [[ $deps == *"$pkg"* ]] || fail "the molecule package does not depend on $pkg: $deps"
done

step "man pages"
for page in molecule molecule-call molecule-host molecule-plugin molecule-peers; do
  f=/usr/share/man/man1/$page.1.gz
  [[ -f $f ]] || fail "no $f"
  warn=$(zcat "$f" | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z 2>&1) || fail "groff failed on $f"
  [[ -z $warn ]] || fail "groff warns on $f: $warn"
done
zgrep -q -- '\\-\\-timeout\\-ms' /usr/share/man/man1/molecule-call.1.gz ||
  fail "molecule-call(1) does not document --timeout-ms"

step "bash completion"
comp=/usr/share/bash-completion/completions/molecule
[[ -f $comp ]] || fail "no $comp"
got=$(bash -c 'source "$1"; COMP_WORDS=(molecule pl); COMP_CWORD=1; _molecule; printf "%s\n" "${COMPREPLY[@]}"' \
  sh "$comp" | sort | tr '\n' ' ')
[[ $got == "platform plugin " ]] || fail "completing 'molecule pl' gave '$got'"
[[ -f /usr/share/zsh/vendor-completions/_molecule ]] || fail "no zsh completion"

step "systemd unit"
unit=/lib/systemd/system/molecule-host.service
[[ -f $unit ]] || fail "no $unit"
grep -q '^ExecStart=/usr/bin/molecule host -c /etc/molecule/host.yaml$' "$unit" ||
  fail "the unit's ExecStart: $(grep ExecStart "$unit")"
[[ ! -e /etc/systemd/system/multi-user.target.wants/molecule-host.service ]] ||
  fail "the unit was enabled on install"
# verify exits 0 on unknown keys and bad values: anything it prints is a finding.
findings=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$unit" 2>&1) ||
  fail "systemd-analyze verify failed: $findings"
[[ -z $findings ]] || fail "systemd-analyze verify $unit: $findings"

step "the embedding example against the installed library and molecule"
[[ $(pkg-config --modversion molecule) == "$version" ]] ||
  fail "pkg-config molecule says $(pkg-config --modversion molecule)"
# shellcheck disable=SC2046 # the flags are meant to split
cc -Wall -Wextra -Werror $(pkg-config --cflags molecule) -o "$work/embed_poll" \
  "$root/examples/embed_poll.c" $(pkg-config --libs molecule) -pthread ||
  fail "examples/embed_poll.c does not build against the installed package"
libs=$(ldd "$work/embed_poll")   # not piped into grep -q: pipefail would see ldd's SIGPIPE
grep -qE 'libmolecule\.so\.0 => /(usr/)?lib/' <<<"$libs" ||
  fail "embed_poll does not load the installed libmolecule.so.0: $libs"
sh "$root/examples/embed_test.sh" /usr/bin/molecule "$work/embed_poll" || fail "embed_poll failed"

echo "deb_test: built, installed and ran molecule $version from the Debian packages"
