#!/bin/sh
# test_man.sh - the man pages rendered from docs/cli.md (dist/meson.build, tools/cli_man.py)
# cover the real binary: molecule(1), and molecule-CMD(1) for every command `molecule --help`
# lists, each naming the others in SEE ALSO; groff renders every page without a warning; a
# command's page carries its synopsis and its options from docs/cli.md.
# Usage: test_man.sh MOLECULE_BIN MAN_DIR (the build directory holding the *.1 files)
set -eu
bin=$1 man=$2
failed=0
fail() { echo "FAIL: $*"; failed=1; }
render() { LC_ALL=C.UTF-8 groff -man -Tutf8 -rLL=300n -P-cbou "$1" 2>&1; }   # long lines: no wraps

commands=$("$bin" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p')
[ -n "$commands" ] || { echo "FAIL: no commands in molecule --help"; exit 1; }
[ -f "$man/molecule.1" ] || fail "no molecule.1"
main=$(render "$man/molecule.1")
for c in $commands; do
  page=$man/molecule-$c.1
  if [ ! -f "$page" ]; then
    fail "no man page for 'molecule $c': give it a section in docs/cli.md"
    continue
  fi
  echo "$main" | grep -q "molecule-$c(1)" || fail "molecule(1) does not refer to molecule-$c(1)"
  text=$(render "$page")
  echo "$text" | grep -q "^NAME" || fail "molecule-$c.1 has no NAME"
  echo "$text" | grep -q "^ *molecule $c" || fail "molecule-$c.1 has no synopsis for 'molecule $c'"
done
for page in "$man"/*.1; do
  warn=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1) || fail "groff failed on $page"
  [ -z "$warn" ] || fail "groff warns on $page: $warn"
done
# A section's synopsis block and its option table make it into the page.
render "$man/molecule-call.1" | grep -q '^ *molecule call \[options\] URL TEXT$' ||
  fail "molecule-call(1) lacks the synopsis"
render "$man/molecule-call.1" | grep -q '^ *--timeout-ms N$' || fail "molecule-call(1) lacks --timeout-ms"
echo "$main" | grep -q '^CONVENTIONS' || fail "molecule(1) lacks the conventions"
[ $failed -eq 0 ] && echo "man pages: molecule(1) and $(echo "$commands" | wc -l) command pages"
exit $failed
