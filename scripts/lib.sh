# shellcheck shell=bash
# Shared helpers for the scripts that start throwaway test servers. Source it;
# it defines functions only. Everything they print goes to stderr, so that a
# script's stdout stays free for the `export NAME=value` lines a Makefile evals.

# log prints a message prefixed with the script's name.
log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

# die logs and exits non-zero.
die() { log "error: $*"; exit 1; }

# port_in_use succeeds when something listens on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints a loopback port nothing listens on, from the range above
# the usual services and below Linux's ephemeral range. A server that loses
# the race for it fails to start, and the caller picks again.
free_port() {
	local port i
	for i in $(seq 1 100); do
		port=$((20000 + RANDOM % 12000))
		if ! port_in_use "$port"; then
			echo "$port"
			return 0
		fi
	done
	die "no free loopback port found"
}

# apt_install installs Debian packages without starting their system
# services: a temporary /usr/sbin/policy-rc.d that exits 101 tells
# invoke-rc.d not to (an existing one is set aside and restored). All output
# goes to stderr.
apt_install() {
	[ "$(id -u)" = 0 ] || die "installing $* needs root (run as root, or install it yourself)"
	command -v apt-get >/dev/null || die "$* missing and apt-get not found: install it yourself"
	local policy=/usr/sbin/policy-rc.d backup=""
	if [ -e "$policy" ]; then
		backup=$(mktemp /usr/sbin/policy-rc.d.scimbridge.XXXXXX)
		cp -p "$policy" "$backup"
	fi
	printf '#!/bin/sh\n# scimbridge scripts: no service starts during a test install\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	local rc=0
	{
		log "installing $* (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" ||
			{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; }
	} >&2 || rc=$?
	if [ -n "$backup" ]; then
		mv -f "$backup" "$policy"
	else
		rm -f "$policy"
	fi
	[ "$rc" = 0 ] || die "apt-get install $* failed"
}

# stop_by_pidfile NAME DIR MARKER PIDFILE: the common stop of a throwaway
# server. It refuses a directory without the start script's MARKER file (so
# a system instance is never touched), signals only the pid in PIDFILE
# (waking it first, in case a fault test left it stopped with SIGSTOP),
# waits up to 10 s before SIGKILL, and removes DIR. Safe to run twice.
stop_by_pidfile() {
	local name=$1 dir=$2 marker=$3 pidfile=$4 pid
	if [ ! -e "$dir" ]; then
		log "$dir is already gone"
		return 0
	fi
	[ -f "$dir/$marker" ] || die "$dir was not created by the matching start script (no $marker marker): not touching it"
	if [ -f "$dir/$pidfile" ]; then
		pid=$(cat "$dir/$pidfile")
		kill -CONT "$pid" 2>/dev/null || true
		if kill -TERM "$pid" 2>/dev/null; then
			for _ in $(seq 1 100); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			if kill -0 "$pid" 2>/dev/null; then
				log "$name $pid did not stop in 10 s; killing it"
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
	fi
	rm -rf "$dir"
	log "stopped and removed $dir"
}

# stop_nodes NAME DIR MARKER: stop_by_pidfile for a group of servers (a
# Redis Cluster, a Sentinel group), each with its pid file in a directory
# of its own under DIR: every one is signalled, then DIR removed.
stop_nodes() {
	local name=$1 dir=$2 marker=$3 pidfile pid pids=()
	if [ ! -e "$dir" ]; then
		log "$dir is already gone"
		return 0
	fi
	[ -f "$dir/$marker" ] || die "$dir was not created by the matching start script (no $marker marker): not touching it"
	for pidfile in "$dir"/*/*.pid; do
		[ -f "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		kill -CONT "$pid" 2>/dev/null || true
		kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "$name $pid did not stop in 10 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$dir"
	log "stopped and removed $dir"
}
