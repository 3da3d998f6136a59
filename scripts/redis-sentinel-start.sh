#!/usr/bin/env bash
# Starts a throwaway Redis Sentinel group for tests: a master and a replica
# (redis-server, configured like the production state store: noeviction,
# AOF fsynced every second, ACLs with the default user off and user
# "scimbridge" with a random password) and three Sentinels (redis-server
# --sentinel, quorum 2, their own password) that monitor the master as
# "scimbridge". A killed master is replaced by the replica within a few
# seconds (down-after-milliseconds 1000). Each process has its own
# directory under one temporary directory, on free loopback ports.
# Installs redis-server with apt-get when it is missing.
#
# stdout is only `export NAME=value` lines, for `eval "$(scripts/redis-sentinel-start.sh)"`:
#   SCIMBRIDGE_REDIS_SENTINEL_ADDRS     the three Sentinels, host:port, comma-separated
#   SCIMBRIDGE_REDIS_SENTINEL_MASTER    the master name (scimbridge)
#   SCIMBRIDGE_REDIS_SENTINEL_PASSWORD  the Sentinels' password
#   SCIMBRIDGE_REDIS_SENTINEL_USER      the data nodes' ACL user (scimbridge)
#   SCIMBRIDGE_REDIS_SENTINEL_USER_PASSWORD  its password
#   SCIMBRIDGE_REDIS_SENTINEL_DIR       the group's directory (data-N/ and sentinel-N/, each with redis.pid and redis.log)
# Stop it with scripts/redis-sentinel-stop.sh "$SCIMBRIDGE_REDIS_SENTINEL_DIR".
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	apt_install redis-server
fi
SERVER=$(command -v redis-server)
CLI=$(command -v redis-cli)

DIR=$(mktemp -d "${TMPDIR:-/tmp}/scimbridge-redis-sentinel.XXXXXX")
keep=""
on_exit() {
	[ -z "$keep" ] || return 0
	for p in "$DIR"/*/redis.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	rm -rf "$DIR"
}
trap on_exit EXIT
echo "scimbridge throwaway redis sentinel group" >"$DIR/.scimbridge-redis-sentinel"
chmod 700 "$DIR"
MASTER=scimbridge
USER_NAME=scimbridge
PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
SENTINEL_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

# wait_ping PORT [AUTH...]: until the server answers PING (10 s).
wait_ping() {
	local port=$1
	shift
	for _ in $(seq 1 100); do
		[ "$("$CLI" -h 127.0.0.1 -p "$port" --no-auth-warning "$@" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	return 1
}

# start_data N [REPLICAOF_PORT]: a data node; prints its port.
start_data() {
	local n=$1 of=${2:-} d="$DIR/data-$1" port attempt extra=()
	mkdir -p "$d"
	[ -z "$of" ] || extra=(--replicaof 127.0.0.1 "$of")
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		rm -f "$d/redis.pid"
		if "$SERVER" --bind 127.0.0.1 --port "$port" --dir "$d" \
			--daemonize yes --pidfile "$d/redis.pid" --logfile "$d/redis.log" \
			--appendonly yes --appendfsync everysec --save "" --maxmemory-policy noeviction \
			--user default off --user "$USER_NAME" on ">$PASSWORD" '~*' '&*' '+@all' \
			--masteruser "$USER_NAME" --masterauth "$PASSWORD" "${extra[@]}" </dev/null &&
			wait_ping "$port" --user "$USER_NAME" --pass "$PASSWORD"; then
			echo "$port"
			return 0
		fi
		log "data node $n did not start on port $port (attempt $attempt)"
		[ -f "$d/redis.pid" ] && kill "$(cat "$d/redis.pid")" 2>/dev/null || true
		sleep 0.2
	done
	die "data node $n did not start; log: $d/redis.log"
}

# start_sentinel N MASTER_PORT: prints its port.
start_sentinel() {
	local n=$1 mport=$2 d="$DIR/sentinel-$1" port attempt
	mkdir -p "$d"
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		rm -f "$d/redis.pid"
		# Sentinel rewrites its configuration file: it must be its own.
		cat >"$d/sentinel.conf" <<CONF
bind 127.0.0.1
port $port
dir $d
daemonize yes
pidfile $d/redis.pid
logfile $d/redis.log
requirepass $SENTINEL_PASSWORD
sentinel monitor $MASTER 127.0.0.1 $mport 2
sentinel auth-user $MASTER $USER_NAME
sentinel auth-pass $MASTER $PASSWORD
sentinel down-after-milliseconds $MASTER 1000
sentinel failover-timeout $MASTER 10000
sentinel parallel-syncs $MASTER 1
CONF
		if "$SERVER" "$d/sentinel.conf" --sentinel </dev/null && wait_ping "$port" -a "$SENTINEL_PASSWORD"; then
			echo "$port"
			return 0
		fi
		log "sentinel $n did not start on port $port (attempt $attempt)"
		[ -f "$d/redis.pid" ] && kill "$(cat "$d/redis.pid")" 2>/dev/null || true
		sleep 0.2
	done
	die "sentinel $n did not start; log: $d/redis.log"
}

mport=$(start_data 1)
rport=$(start_data 2 "$mport")
sentinels=()
for n in 1 2 3; do
	sentinels+=("127.0.0.1:$(start_sentinel "$n" "$mport")")
done

# Ready when the replica has synced and every Sentinel knows the replica
# and the two other Sentinels (so that a failover can be agreed).
ready() {
	local s info
	"$CLI" -h 127.0.0.1 -p "$rport" --user "$USER_NAME" --pass "$PASSWORD" --no-auth-warning info replication 2>/dev/null |
		grep -q '^master_link_status:up' || return 1
	for s in "${sentinels[@]}"; do
		info=$("$CLI" -h 127.0.0.1 -p "${s#*:}" -a "$SENTINEL_PASSWORD" --no-auth-warning sentinel master "$MASTER" 2>/dev/null) || return 1
		grep -A1 -x 'num-slaves' <<<"$info" | tail -n1 | grep -qx 1 || return 1
		grep -A1 -x 'num-other-sentinels' <<<"$info" | tail -n1 | grep -qx 2 || return 1
	done
}
for _ in $(seq 1 300); do
	if ready; then
		keep=1
		break
	fi
	sleep 0.1
done
[ -n "$keep" ] || die "the Sentinel group did not become ready in 30 s; logs: $DIR/*/redis.log"

log "redis master 127.0.0.1:$mport, replica 127.0.0.1:$rport, sentinels ${sentinels[*]} in $DIR"
echo "export SCIMBRIDGE_REDIS_SENTINEL_ADDRS='$(IFS=,; echo "${sentinels[*]}")'"
echo "export SCIMBRIDGE_REDIS_SENTINEL_MASTER='$MASTER'"
echo "export SCIMBRIDGE_REDIS_SENTINEL_PASSWORD='$SENTINEL_PASSWORD'"
echo "export SCIMBRIDGE_REDIS_SENTINEL_USER='$USER_NAME'"
echo "export SCIMBRIDGE_REDIS_SENTINEL_USER_PASSWORD='$PASSWORD'"
echo "export SCIMBRIDGE_REDIS_SENTINEL_DIR='$DIR'"
