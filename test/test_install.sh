#!/bin/sh
# test_install.sh - `meson install` into a temporary DESTDIR gives an application what it
# needs: every public header, libmolecule.so with its soname links, and molecule.pc. Then each
# example is compiled against that install with `pkg-config molecule` alone (nothing from the
# source or build tree), linked to the installed libmolecule.so, and run by its own script
# against the installed `molecule` binary.
# Usage: test_install.sh MESON BUILD_DIR SOURCE_DIR "CC" SOVERSION VERSION [NAME RUNNER]...
#   NAME is examples/NAME.c; RUNNER is run as `sh RUNNER MOLECULE_BIN EXAMPLE_BIN`.
#   EXAMPLE_CFLAGS (env) is added to the compile line (the sanitizer flags of an ASan build).
set -eu
meson=$1 build=$2 src=$3 cc=$4 soversion=$5 version=$6
shift 6
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "test_install: $*" >&2; exit 1; }

"$meson" install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$dest/install.log" 2>&1 ||
  { cat "$dest/install.log" >&2; fail "meson install failed"; }

pc=$(find "$dest" -name molecule.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || fail "no molecule.pc installed"
export PKG_CONFIG_PATH="$(dirname "$pc")"
prefix=$(pkg-config --variable=prefix molecule)
root="$dest$prefix"
pkg() { pkg-config --define-variable=prefix="$root" "$@" molecule; }
[ "$(pkg --modversion)" = "$version" ] || fail "molecule.pc says $(pkg --modversion), not $version"
incdir=$(pkg --variable=includedir)
libdir=$(pkg --variable=libdir)

# Every public header of the source tree, and the generated version header.
for h in $(cd "$src/include" && find . -name '*.h') ./molecule/version.h; do
  [ -f "$incdir/$h" ] || fail "header $h not installed under $incdir"
done
grep -q "MOL_VERSION_STRING \"$version\"" "$incdir/molecule/version.h" ||
  fail "the installed molecule/version.h is not $version"

# libmolecule.so -> libmolecule.so.SOVERSION -> libmolecule.so.VERSION, soname the middle one.
[ -L "$libdir/libmolecule.so" ] || fail "no libmolecule.so link in $libdir"
[ "$(readlink "$libdir/libmolecule.so")" = "libmolecule.so.$soversion" ] ||
  fail "libmolecule.so points at $(readlink "$libdir/libmolecule.so")"
[ "$(readlink "$libdir/libmolecule.so.$soversion")" = "libmolecule.so.$version" ] ||
  fail "libmolecule.so.$soversion points at $(readlink "$libdir/libmolecule.so.$soversion")"
readelf -d "$libdir/libmolecule.so.$version" | grep -q "Library soname: \[libmolecule.so.$soversion\]" ||
  fail "the soname of libmolecule.so.$version is not libmolecule.so.$soversion"

molecule="$root/bin/molecule"
[ -x "$molecule" ] || fail "no molecule binary under $root/bin"

while [ $# -ge 2 ]; do
  name=$1 runner=$2
  shift 2
  exe="$dest/$name"
  # shellcheck disable=SC2086 # word splitting of CC and the pkg-config flags is meant
  $cc -Wall -Wextra -Werror ${EXAMPLE_CFLAGS:-} $(pkg --cflags) \
    -o "$exe" "$src/examples/$name.c" $(pkg --libs) -pthread ||
    fail "$name.c does not build against the install"
  LD_LIBRARY_PATH="$libdir" ldd "$exe" | grep -q "libmolecule.so.$soversion => $libdir/" ||
    fail "$name does not load the installed libmolecule.so"
  echo "== $name"
  LD_LIBRARY_PATH="$libdir" sh "$runner" "$molecule" "$exe" || fail "$name failed"
done
[ $# -eq 0 ] || fail "odd example arguments: $*"
echo "install: headers, library, molecule.pc and the examples are fine"
