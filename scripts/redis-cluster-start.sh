#!/usr/bin/env bash
# Starts a throwaway Redis Cluster for tests: three masters, each with one
# replica (six redis-server processes on free loopback ports, each in its
# own directory under one temporary directory), configured like the
# production state store (noeviction, AOF fsynced every second) and with
# ACLs: the default user is off, the bridge authenticates as user
# "scimbridge" with a random password. A killed master is replaced by its
# replica within about two seconds (cluster-node-timeout 1000 ms).
# Installs redis-server with apt-get when it is missing (scripts/redis-start.sh's way).
#
# stdout is only `export NAME=value` lines, for `eval "$(scripts/redis-cluster-start.sh)"`:
#   SCIMBRIDGE_REDIS_CLUSTER_ADDRS     the six nodes, host:port, comma-separated
#   SCIMBRIDGE_REDIS_CLUSTER_USER      the ACL user (scimbridge)
#   SCIMBRIDGE_REDIS_CLUSTER_PASSWORD  its password
#   SCIMBRIDGE_REDIS_CLUSTER_DIR       the cluster's directory (node-N/redis.pid, node-N/redis.log)
# Stop it with scripts/redis-cluster-stop.sh "$SCIMBRIDGE_REDIS_CLUSTER_DIR".
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	apt_install redis-server
fi
SERVER=$(command -v redis-server)
CLI=$(command -v redis-cli)

DIR=$(mktemp -d "${TMPDIR:-/tmp}/scimbridge-redis-cluster.XXXXXX")
keep=""
on_exit() {
	[ -z "$keep" ] || return 0
	for p in "$DIR"/node-*/redis.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	rm -rf "$DIR"
}
trap on_exit EXIT
echo "scimbridge throwaway redis cluster" >"$DIR/.scimbridge-redis-cluster"
chmod 700 "$DIR"
USER_NAME=scimbridge
PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

# start_node N: a cluster node on a free port (its bus on another).
start_node() {
	local n=$1 d="$DIR/node-$1" port bus attempt
	mkdir -p "$d"
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		bus=$(free_port)
		[ "$port" != "$bus" ] || continue
		rm -f "$d/redis.pid"
		if "$SERVER" --bind 127.0.0.1 --port "$port" --cluster-port "$bus" --dir "$d" \
			--daemonize yes --pidfile "$d/redis.pid" --logfile "$d/redis.log" \
			--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
			--appendonly yes --appendfsync everysec --save "" --maxmemory-policy noeviction \
			--user default off --user "$USER_NAME" on ">$PASSWORD" '~*' '&*' '+@all' \
			--masteruser "$USER_NAME" --masterauth "$PASSWORD" </dev/null; then
			for _ in $(seq 1 100); do
				if [ "$("$CLI" -h 127.0.0.1 -p "$port" --user "$USER_NAME" --pass "$PASSWORD" --no-auth-warning ping 2>/dev/null)" = PONG ]; then
					echo "$port"
					return 0
				fi
				sleep 0.1
			done
		fi
		log "node $n did not start on port $port (attempt $attempt)"
		[ -f "$d/redis.pid" ] && kill "$(cat "$d/redis.pid")" 2>/dev/null || true
		sleep 0.2
	done
	die "node $n did not start; log: $d/redis.log"
}

addrs=()
for n in 1 2 3 4 5 6; do
	addrs+=("127.0.0.1:$(start_node "$n")")
done
"$CLI" --user "$USER_NAME" --pass "$PASSWORD" --no-auth-warning --cluster create "${addrs[@]}" \
	--cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 || { cat "$DIR/create.log" >&2; die "redis-cli --cluster create failed"; }

# Ready when every node sees the whole cluster as ok and every replica has
# finished its first sync.
ready() {
	local a host port info
	for a in "${addrs[@]}"; do
		host=${a%:*} port=${a#*:}
		info=$("$CLI" -h "$host" -p "$port" --user "$USER_NAME" --pass "$PASSWORD" --no-auth-warning cluster info 2>/dev/null) || return 1
		grep -q '^cluster_state:ok' <<<"$info" || return 1
		grep -q '^cluster_known_nodes:6' <<<"$info" || return 1
		info=$("$CLI" -h "$host" -p "$port" --user "$USER_NAME" --pass "$PASSWORD" --no-auth-warning info replication 2>/dev/null) || return 1
		if grep -q '^role:slave' <<<"$info"; then
			grep -q '^master_link_status:up' <<<"$info" || return 1
		fi
	done
}
for _ in $(seq 1 200); do
	if ready; then
		keep=1
		break
	fi
	sleep 0.1
done
[ -n "$keep" ] || die "the cluster did not become ready in 20 s; logs: $DIR/node-*/redis.log"

log "redis cluster (3 masters, 3 replicas) on ${addrs[*]} in $DIR"
echo "export SCIMBRIDGE_REDIS_CLUSTER_ADDRS='$(IFS=,; echo "${addrs[*]}")'"
echo "export SCIMBRIDGE_REDIS_CLUSTER_USER='$USER_NAME'"
echo "export SCIMBRIDGE_REDIS_CLUSTER_PASSWORD='$PASSWORD'"
echo "export SCIMBRIDGE_REDIS_CLUSTER_DIR='$DIR'"
