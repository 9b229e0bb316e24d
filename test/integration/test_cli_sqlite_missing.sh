#!/bin/sh
# Without libsqlite3 (a broken install): `molecule` still starts, as it loads SQLite only when a
# database is opened, and the commands that open one fail with the loader's reason and exit 1
# (the dev platform's --db, a durable task store's --data-dir), no crash, no hang.
# The library is hidden by bind-mounting an empty file over it in a private mount namespace
# (unshare -rm): where user namespaces are not allowed, the test is reported skipped (77).
set -eu
MOLECULE=$1
DIR=$(mktemp -d /tmp/molnosqlite-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

lib=$(ldconfig -p | sed -n 's/^[[:space:]]*libsqlite3\.so\.0 .* => //p' | head -1)
[ -n "$lib" ] || fail "ldconfig -p lists no libsqlite3.so.0"
if ! unshare -rm sh -c "mount --bind /dev/null '$lib'" 2>/dev/null; then
  echo "SKIP: cannot hide $lib here (unshare -rm and a bind mount need user namespaces)"
  exit 77
fi

without_sqlite() { # args...: molecule args in a namespace where libsqlite3 cannot be loaded
  rc=0
  # shellcheck disable=SC2016 # $1 and $@ are the inner shell's: the library, then the command
  unshare -rm sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" \
    "$MOLECULE" "$@" >"$DIR/out" 2>&1 </dev/null || rc=$?
}

without_sqlite --version
[ "$rc" -eq 0 ] || fail "--version without libsqlite3: exit $rc: $(cat "$DIR/out")"
grep -q '^molecule ' "$DIR/out" || fail "--version without libsqlite3: $(cat "$DIR/out")"

without_sqlite platform --dev --listen 127.0.0.1:0 --db "$DIR/p.db"
[ "$rc" -eq 1 ] || fail "platform without libsqlite3: exit $rc: $(cat "$DIR/out")"
grep -q "cannot open $DIR/p.db: cannot load libsqlite3.so.0" "$DIR/out" ||
  fail "platform without libsqlite3 does not say why: $(cat "$DIR/out")"

without_sqlite serve --listen 127.0.0.1:0 --data-dir "$DIR/d"
[ "$rc" -eq 1 ] || fail "serve --data-dir without libsqlite3: exit $rc: $(cat "$DIR/out")"
grep -q "a2a-tasks.db: cannot load libsqlite3.so.0" "$DIR/out" ||
  fail "serve --data-dir without libsqlite3 does not say why: $(cat "$DIR/out")"
echo "ok"
