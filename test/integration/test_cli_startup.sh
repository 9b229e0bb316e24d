#!/bin/sh
# What `molecule` maps at start-up: commands that install no plugin (--version, --help, serve's
# help) never load libarchive, whose dependencies (libxml2, ICU, a dozen compression
# libraries) cost most of a short command's start-up in the dynamic loader. The commands that
# install plugins load it when they first extract one (test_cli_plugin.sh installs through it).
# Nor libsqlite3, the largest of the rest in relocations: it is loaded when the dev platform or
# a durable task store opens its first database (test_devplatform_cli.sh, test_dev.sh and the
# a2a_durable tests open theirs through it).
# And by default (static_deps, second argument static_deps) the command maps nothing but the C
# library: libuv, jansson, libyaml and mbedTLS are linked in from their static archives, so the
# dynamic loader resolves almost no symbols before main. shared_deps: the build asked for their
# shared libraries (-Dstatic_deps=false, as the Debian packages do). Third argument sanitizers:
# the ASan/UBSan runtimes (and what they pull in) are allowed besides the C library. Needs
# readelf (binutils).
set -eu
MOLECULE=$1
DEPS=${2:-static_deps}
SANITIZERS=${3:-no_sanitizers}
DIR=$(mktemp -d /tmp/molstartup-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

loads() { # args...: the shared objects the dynamic loader opened for `molecule args`
  LD_DEBUG=libs "$MOLECULE" "$@" >"$DIR/out" 2>"$DIR/libs" || true
  grep -q 'calling init' "$DIR/libs" || fail "LD_DEBUG=libs printed nothing for $*"
  sed -n 's/.*calling init: //p' "$DIR/libs"
}

for args in "--version" "--help" "serve --help" "host --help"; do
  # shellcheck disable=SC2086
  libs=$(loads $args)
  echo "molecule $args: $(echo "$libs" | wc -l) shared objects"
  case $libs in *libarchive*) fail "molecule $args loads libarchive: $libs" ;; esac
  case $libs in *libicu*|*libxml2*) fail "molecule $args loads ICU or libxml2: $libs" ;; esac
  case $libs in *libsqlite3*) fail "molecule $args loads libsqlite3: $libs" ;; esac
  if [ "$DEPS" = static_deps ]; then
    others=$(echo "$libs" | grep -v -e '/libc\.so' -e '/ld-linux' || true)
    if [ "$SANITIZERS" = sanitizers ]; then
      others=$(echo "$others" |
        grep -v -e '/libasan\.so' -e '/libubsan\.so' -e '/libstdc++\.so' -e '/libgcc_s\.so' \
          -e '/libm\.so' || true)
    fi
    [ -z "$others" ] || fail "molecule $args loads more than libc: $others" \
      "(the default build links libuv, jansson, libyaml and mbedTLS statically: did meson setup" \
      "warn that their static archives are missing? -Dstatic_deps=false links them shared)"
  fi
done
# Thread-local storage: the C library zeroes the command's whole TLS block for every thread as it
# starts, the main thread's before main, so each 4 KB of it is a page fault for every command,
# --version included. Large per-thread buffers are allocated on first use instead.
tls=$(readelf -lW "$MOLECULE" | awk '$1 == "TLS" {print $6}')
[ -n "$tls" ] || tls=0
tls=$(printf '%d' "$tls")
echo "thread-local storage: $tls bytes"
[ "$tls" -le 16384 ] || fail "molecule has $tls bytes of thread-local storage (at most 16384):" \
  "$(readelf -sW "$MOLECULE" | awk '$4 == "TLS" && $3 >= 4096 {print $8 " " $3}' | tr '\n' ' ')"
"$MOLECULE" --version | grep -q '^molecule ' || fail "--version: $(cat "$DIR/out")"
echo "ok"
