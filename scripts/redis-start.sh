#!/usr/bin/env bash
# Starts a throwaway redis-server for tests and benchmarks: installs the
# distribution's redis-server (and redis-cli) if missing, without starting the
# system service, and starts a private instance in a fresh temporary
# directory on a free loopback port. It never touches a system instance: no
# /etc/redis, no system port, no unix socket.
#
# The instance is configured the way scimbridge wants its state store in
# production: no eviction (maxmemory-policy noeviction, so a full Redis
# refuses writes instead of dropping queued jobs or locks) and AOF
# persistence fsynced every second, RDB snapshots off (so a kill -9 and a
# restart on the same directory keep what was acknowledged more than a
# second before).
#
# stdout is only `export NAME=value` lines, for `eval "$(scripts/redis-start.sh)"`:
#   SCIMBRIDGE_REDIS_URL   redis://127.0.0.1:PORT/0
#   SCIMBRIDGE_REDIS_DIR   the instance directory (redis.pid, redis.log, the AOF)
# Stop it with scripts/redis-stop.sh "$SCIMBRIDGE_REDIS_DIR".
# $SCIMBRIDGE_REDIS_DIR/restart starts the same instance again (same port and
# data) after a fault test killed it; it returns once the server answers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	# Debian's redis-server package depends on redis-tools (redis-cli).
	apt_install redis-server
	command -v redis-server >/dev/null || die "redis-server installed, but not found on PATH"
	command -v redis-cli >/dev/null || die "redis-cli installed, but not found on PATH"
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/scimbridge-redis.XXXXXX")
started="" keep=""
on_exit() {
	[ -z "$keep" ] || return 0
	if [ -n "$started" ] && [ -f "$DIR/redis.pid" ]; then
		kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
	fi
	rm -rf "$DIR"
}
trap on_exit EXIT
# The marker tells redis-stop.sh this directory is ours to remove.
echo "scimbridge throwaway redis-server" >"$DIR/.scimbridge-redis"
chmod 700 "$DIR"

for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	# restart starts the same instance (same port, same directory, so the
	# same AOF) and waits until it answers PING, which it does only after
	# the AOF is loaded. The options are the command line rather than a
	# config file so that `ps` shows them.
	cat >"$DIR/restart" <<RUN
#!/bin/sh
# Written by scripts/redis-start.sh: starts this throwaway redis-server again.
rm -f "$DIR/redis.pid"
$(command -v redis-server) --bind 127.0.0.1 --port $PORT --dir "$DIR" \\
	--daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" \\
	--appendonly yes --appendfsync everysec --save "" \\
	--maxmemory-policy noeviction </dev/null || exit 1
i=0
while [ \$i -lt 100 ]; do
	if [ "\$($(command -v redis-cli) -h 127.0.0.1 -p $PORT ping 2>/dev/null)" = PONG ]; then
		exit 0
	fi
	i=\$((i + 1))
	sleep 0.1
done
echo "redis-server on port $PORT did not answer PING within 10 s; see $DIR/redis.log" >&2
exit 1
RUN
	chmod 755 "$DIR/restart"
	started=1
	if "$DIR/restart" 2>/dev/null; then
		break
	fi
	log "redis-server did not answer on port $PORT (attempt $attempt), trying another port"
	tail -n 5 "$DIR/redis.log" >&2 2>/dev/null || true
	[ -f "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
	sleep 0.2
	started=""
done
[ -n "$started" ] || die "redis-server did not start; log: $DIR/redis.log"
keep=1

log "redis-server $(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p') on 127.0.0.1:$PORT in $DIR"
echo "export SCIMBRIDGE_REDIS_URL='redis://127.0.0.1:$PORT/0'"
echo "export SCIMBRIDGE_REDIS_DIR='$DIR'"
