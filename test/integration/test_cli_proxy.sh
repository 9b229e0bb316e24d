#!/bin/sh
# Networks users actually have, through the real binary over loopback: `molecule call` through
# a real forward proxy (Debian's tinyproxy, started here in the foreground with its own config,
# pid and log in a temporary directory): an https agent reached through a CONNECT tunnel, a
# plain http agent through an absolute-form request, NO_PROXY's forms bypassing the proxy (its
# log shows, or does not show, each request), credentials in the proxy URL, a proxy that
# refuses the tunnel (407) and one that cannot be reached, each a clear error naming the proxy.
# Then the trust store: an https agent whose certificate nobody trusts fails, and works with
# --cacert, SSL_CERT_FILE, SSL_CERT_DIR, REQUESTS_CA_BUNDLE, or --insecure (which warns).
# Every check runs and the failures are listed together.
set -u
MOLECULE=$1
command -v tinyproxy >/dev/null || { echo "tinyproxy is not installed (tools/setup.sh installs it)"; exit 1; }
command -v openssl >/dev/null || { echo "openssl is not installed (tools/setup.sh installs it)"; exit 1; }
HERE=$(dirname "$0")
DIR=$(mktemp -d /tmp/molproxy-XXXXXX)
PIDS=""
FAILED=0
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || :; done; rm -rf "$DIR"; }
trap cleanup EXIT
bad() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
wait_for() { # seconds command...: polls every 0.05 s
  n=$(($1 * 20)); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.05; n=$((n - 1)); done
  return 1
}
# run ARGS...: molecule ARGS (with the environment given by `env` in front) -> $OUT $ERR $RC
run() {
  timeout 60 "$@" </dev/null >"$DIR/out" 2>"$DIR/err"
  RC=$?
  OUT=$(cat "$DIR/out") ERR=$(cat "$DIR/err")
}
ok() { # WHAT WANT: exit 0 and WANT on stdout
  [ "$RC" = 0 ] && [ "$OUT" = "$2" ] || bad "$1: exit $RC, stdout '$OUT', want '$2'; stderr: $ERR"
}
fails() { # WHAT PATTERN: exit 1 and PATTERN (grep -E) on stderr
  [ "$RC" = 1 ] && echo "$ERR" | grep -Eq "$2" || bad "$1: exit $RC, want 1 and /$2/ on stderr: $ERR"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_open() { python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null; }
# proxy NAME [CONFIG LINES...]: tinyproxy on a free port; its port in $PORT_<NAME>, log DIR/NAME.log
proxy() {
  name=$1
  shift
  port=$(free_port)
  {
    echo "Port $port"; echo "Listen 127.0.0.1"; echo "Timeout 30"; echo "MaxClients 20"
    echo "Allow 127.0.0.1"; echo "LogLevel Info"
    echo "LogFile \"$DIR/$name.log\""; echo "PidFile \"$DIR/$name.pid\""
    for line in "$@"; do echo "$line"; done
  } >"$DIR/$name.conf"
  tinyproxy -d -c "$DIR/$name.conf" >"$DIR/$name.out" 2>&1 &
  PIDS="$PIDS $!"
  wait_for 10 port_open "$port" || { echo "tinyproxy $name did not start: $(cat "$DIR/$name.out")"; exit 1; }
  eval "PORT_$name=$port"
}
seen() { grep -c "Request (file descriptor [0-9]*): $2" "$DIR/$1.log"; } # PROXY PATTERN: count

# ---- the agents: plain http (molecule serve) and https (a self-signed certificate) ----------
"$MOLECULE" serve --listen 127.0.0.1:0 >"$DIR/plain.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 10 grep -qs "^listening on " "$DIR/plain.log" || { echo "serve did not start"; exit 1; }
PLAIN_PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/plain.log")
PLAIN=http://127.0.0.1:$PLAIN_PORT/
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$DIR/key.pem" -out "$DIR/cert.pem" >/dev/null 2>&1 || { echo "openssl req failed"; exit 1; }
mkdir "$DIR/certs" && cp "$DIR/cert.pem" "$DIR/certs/agent.pem"
python3 "$HERE/tls_agent.py" "$DIR/cert.pem" "$DIR/key.pem" >"$DIR/tls.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 10 grep -qs "^listening on " "$DIR/tls.log" || { echo "tls agent did not start"; exit 1; }
TLS_PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/tls.log")
# by name: mbedTLS 2.28 matches DNS names only, not IP addresses (docs/tls.md)
TLS=https://localhost:$TLS_PORT/
M="$MOLECULE"
NOENV="env -u SSL_CERT_FILE -u SSL_CERT_DIR -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE -u https_proxy -u HTTPS_PROXY -u http_proxy -u HTTP_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY"

# ---- the trust store --------------------------------------------------------------------------
run $NOENV "$M" call "$TLS" hi
fails "untrusted certificate" "MOL_ETLSVERIFY"
run $NOENV "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
ok "--cacert" "tls echo: hi"
run $NOENV SSL_CERT_FILE="$DIR/cert.pem" "$M" call "$TLS" hi
ok "SSL_CERT_FILE" "tls echo: hi"
run $NOENV SSL_CERT_DIR="$DIR/nowhere:$DIR/certs" "$M" call "$TLS" hi
fails "SSL_CERT_DIR naming a missing directory" "cannot read $DIR/nowhere"
run $NOENV SSL_CERT_DIR="$DIR/certs" "$M" call "$TLS" hi
ok "SSL_CERT_DIR" "tls echo: hi"
run $NOENV REQUESTS_CA_BUNDLE="$DIR/cert.pem" "$M" call "$TLS" hi
ok "REQUESTS_CA_BUNDLE" "tls echo: hi"
run $NOENV SSL_CERT_FILE="$DIR/missing.pem" "$M" call "$TLS" hi
fails "SSL_CERT_FILE naming a missing file" "SSL_CERT_FILE cannot be used"
run $NOENV SSL_CERT_FILE="$DIR/missing.pem" "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
ok "--cacert before SSL_CERT_FILE" "tls echo: hi"
run $NOENV "$M" call --insecure "$TLS" hi
ok "--insecure" "tls echo: hi"
echo "$ERR" | grep -q "warning: --insecure" || bad "--insecure gave no warning: $ERR"
run $NOENV "$M" call -k "$TLS" hi
ok "-k" "tls echo: hi"
run $NOENV "$M" call --cacert "$DIR/missing.pem" "$TLS" hi
[ "$RC" = 2 ] && echo "$ERR" | grep -q "^molecule call: bad --cacert '$DIR/missing.pem': No such file" ||
  bad "--cacert of a missing file: exit $RC: $ERR"

# ---- through a proxy --------------------------------------------------------------------------
proxy open
P=http://127.0.0.1:$PORT_open
run $NOENV HTTPS_PROXY="$P" "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
ok "https through HTTPS_PROXY" "tls echo: hi"
[ "$(seen open "CONNECT localhost:$TLS_PORT ")" = 1 ] || bad "no CONNECT in the proxy's log: $(cat "$DIR/open.log")"
run $NOENV https_proxy="$P" "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
ok "https through https_proxy" "tls echo: hi"
[ "$(seen open "CONNECT localhost:$TLS_PORT ")" = 2 ] || bad "https_proxy: no second CONNECT in the proxy's log"
run $NOENV HTTPS_PROXY="$P" "$M" call "$TLS" hi
fails "an untrusted certificate through the tunnel is still refused" "MOL_ETLSVERIFY"
run $NOENV HTTP_PROXY="$P" "$M" call "$PLAIN" hi
ok "http through HTTP_PROXY" "echo: hi"
[ "$(seen open "POST http://127.0.0.1:$PLAIN_PORT/ ")" = 1 ] || bad "no absolute-form POST in the proxy's log: $(cat "$DIR/open.log")"
run $NOENV http_proxy="${P#http://}" "$M" call "$PLAIN" hi
ok "http through http_proxy (no scheme)" "echo: hi"
[ "$(seen open "POST http://127.0.0.1:$PLAIN_PORT/ ")" = 2 ] || bad "http_proxy: no second POST in the proxy's log"
before=$(grep -c "Request (file" "$DIR/open.log")
for np in "127.0.0.1" "*" "localhost, 127.0.0.0/8" "127.0.0.1:$PLAIN_PORT" ".0.0.1"; do
  run $NOENV HTTP_PROXY="$P" NO_PROXY="$np" "$M" call "$PLAIN" hi
  [ "$np" = ".0.0.1" ] && continue # not a name suffix of an address: checked below
  ok "NO_PROXY='$np'" "echo: hi"
done
run $NOENV http_proxy="$P" no_proxy="127.0.0.1" "$M" call "$PLAIN" hi
ok "no_proxy" "echo: hi"
run $NOENV HTTPS_PROXY="$P" NO_PROXY="[::1],localhost:$TLS_PORT" "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
ok "NO_PROXY for https" "tls echo: hi"
after=$(grep -c "Request (file" "$DIR/open.log")
[ "$after" = $((before + 1)) ] || bad "NO_PROXY: $((after - before)) requests reached the proxy, want 1 (the '.0.0.1' one)"
run $NOENV HTTP_PROXY="$P" NO_PROXY="127.0.0.1:1" "$M" call "$PLAIN" hi
ok "NO_PROXY with another port" "echo: hi"
[ "$(grep -c "Request (file" "$DIR/open.log")" = $((after + 1)) ] || bad "NO_PROXY with another port bypassed the proxy"

# ---- proxies that fail ------------------------------------------------------------------------
DEAD=$(free_port)
run $NOENV HTTPS_PROXY="http://127.0.0.1:$DEAD" "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
fails "an unreachable proxy" "cannot reach proxy 127.0.0.1:$DEAD \(from HTTPS_PROXY\)"
echo "$ERR" | grep -q "MOL_EPROXY" || bad "an unreachable proxy: no MOL_EPROXY: $ERR"
run $NOENV HTTPS_PROXY="socks5://127.0.0.1:$DEAD" "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
fails "a proxy URL we cannot use" "HTTPS_PROXY: not a proxy URL we can use"
proxy auth "BasicAuth alice s3cret"
run $NOENV HTTPS_PROXY="http://127.0.0.1:$PORT_auth" "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
fails "a proxy refusing CONNECT" "proxy 127.0.0.1:$PORT_auth \(from HTTPS_PROXY\) refused the tunnel to localhost:$TLS_PORT: HTTP 407"
run $NOENV HTTPS_PROXY="http://alice:s3cret@127.0.0.1:$PORT_auth" "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
ok "https through a proxy with credentials" "tls echo: hi"
run $NOENV HTTP_PROXY="http://alice:s3cr%65t@127.0.0.1:$PORT_auth" "$M" call "$PLAIN" hi
ok "http through a proxy with (percent-encoded) credentials" "echo: hi"
echo "$ERR" | grep -q "s3cr" && bad "the proxy's password reached stderr: $ERR"
run $NOENV HTTPS_PROXY="http://alice:wrong@127.0.0.1:$PORT_auth" "$M" call --cacert "$DIR/cert.pem" "$TLS" hi
fails "wrong proxy credentials" "refused the tunnel .*HTTP 40[17]"
echo "$ERR" | grep -q "wrong" && bad "the proxy's password reached stderr: $ERR"

[ "$FAILED" = 0 ] || { echo "$FAILED check(s) failed"; exit 1; }
echo "all proxy and trust store checks passed"
