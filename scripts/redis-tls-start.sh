#!/usr/bin/env bash
# Starts a throwaway redis-server that speaks only TLS, for the tests of
# state.redis.tls: a CA made for it with openssl, a server certificate for
# 127.0.0.1 and localhost, and a client certificate, which the server
# requires (tls-auth-clients yes). Persistence and eviction are as in
# redis-start.sh (AOF, noeviction), since the bridge refuses anything less.
# It installs redis-server and openssl with apt-get when missing and never
# touches a system instance.
#
# stdout is only `export NAME=value` lines:
#   SCIMBRIDGE_REDIS_TLS_URL   rediss://127.0.0.1:PORT/0
#   SCIMBRIDGE_REDIS_TLS_DIR   the instance directory; tls/ holds ca.pem,
#                              client.pem and client.key
# Stop it with scripts/redis-stop.sh "$SCIMBRIDGE_REDIS_TLS_DIR".
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server
command -v openssl >/dev/null || apt_install openssl

DIR=$(mktemp -d "${TMPDIR:-/tmp}/scimbridge-redis-tls.XXXXXX")
started="" keep=""
on_exit() {
	[ -z "$keep" ] || return 0
	if [ -n "$started" ] && [ -f "$DIR/redis.pid" ]; then
		kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
	fi
	rm -rf "$DIR"
}
trap on_exit EXIT
# The marker lets redis-stop.sh remove this directory.
echo "scimbridge throwaway redis-server" >"$DIR/.scimbridge-redis"
chmod 700 "$DIR"

T=$DIR/tls
mkdir "$T"
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" -subj "/CN=$2" "${@:3}" 2>/dev/null; }
ec ca scimbridge-test-ca -x509 -days 2 -out "$T/ca.pem"
sign() {
	printf '%s\n' "$2" >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
		-days 2 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
ec server localhost -out "$T/server.csr"
sign server "subjectAltName=DNS:localhost,IP:127.0.0.1"
ec client scimbridge -out "$T/client.csr"
sign client "extendedKeyUsage=clientAuth"
rm -f "$T"/*.csr "$T"/*.ext "$T/ca.key"

cli() { redis-cli --tls --cacert "$T/ca.pem" --cert "$T/client.pem" --key "$T/client.key" -h 127.0.0.1 -p "$PORT" "$@"; }
for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	rm -f "$DIR/redis.pid"
	started=1
	redis-server --bind 127.0.0.1 --port 0 --tls-port "$PORT" --dir "$DIR" \
		--tls-cert-file "$T/server.pem" --tls-key-file "$T/server.key" \
		--tls-ca-cert-file "$T/ca.pem" --tls-auth-clients yes \
		--daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" \
		--appendonly yes --appendfsync everysec --save "" \
		--maxmemory-policy noeviction </dev/null || die "redis-server failed; log: $DIR/redis.log"
	for _ in $(seq 100); do
		[ "$(cli ping 2>/dev/null)" = PONG ] && break 2
		sleep 0.1
	done
	log "redis-server did not answer over TLS on port $PORT (attempt $attempt), trying another port"
	[ -f "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
	started=""
	sleep 0.2
done
[ -n "$started" ] || die "redis-server did not start; log: $DIR/redis.log"
keep=1

log "redis-server (TLS only) on 127.0.0.1:$PORT in $DIR"
echo "export SCIMBRIDGE_REDIS_TLS_URL='rediss://127.0.0.1:$PORT/0'"
echo "export SCIMBRIDGE_REDIS_TLS_DIR='$DIR'"
