#!/usr/bin/env bash
# Starts a throwaway OpenLDAP slapd for tests and benchmarks: installs the
# distribution's slapd and ldap-utils if slapd is missing (without starting
# the system service), writes its own config and mdb database in a fresh
# temporary directory, and starts it on free loopback ports: plain LDAP (with
# StartTLS) and LDAPS, with a throwaway CA. It never touches a system
# instance: no /etc/ldap/slapd.d, no ldapi socket, no system port.
#
# The directory: suffix dc=example,dc=org with ou=people and ou=groups, the
# core, cosine, inetorgperson and nis schemas plus every configs/schema/*.schema
# file (scimbridge.schema: scimExternalId, scimActive), equality indexes on
# the attributes the shipped mapping matches and filters on, and entryUUID.
# Root DN cn=admin,dc=example,dc=org, password admin.
#
# stdout is only `export NAME=value` lines, for `eval "$(scripts/slapd-start.sh)"`:
#   SCIMBRIDGE_LDAP_URL        ldap://127.0.0.1:PORT
#   SCIMBRIDGE_LDAPS_URL       ldaps://127.0.0.1:PORT2 (certificate for 127.0.0.1 and localhost)
#   SCIMBRIDGE_LDAP_CA_FILE    the CA that signed it
#   SCIMBRIDGE_LDAP_BIND_DN, SCIMBRIDGE_LDAP_PASSWORD, SCIMBRIDGE_LDAP_BASE_DN
#   SCIMBRIDGE_LDAP_DIR        the instance directory (slapd.pid, slapd.log, client.crt/key)
# Stop it with scripts/slapd-stop.sh "$SCIMBRIDGE_LDAP_DIR".
# $SCIMBRIDGE_LDAP_DIR/restart starts the same instance again (fault tests).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
SUFFIX="dc=example,dc=org"
ROOTDN="cn=admin,$SUFFIX"
ROOTPW=admin

if ! command -v slapd >/dev/null || ! command -v ldapsearch >/dev/null; then
	apt_install slapd ldap-utils
	command -v slapd >/dev/null || die "slapd installed, but not found on PATH or in /usr/sbin"
fi
command -v openssl >/dev/null || apt_install openssl
SCHEMA_DIR=/etc/ldap/schema
[ -f "$SCHEMA_DIR/core.schema" ] || die "no $SCHEMA_DIR/core.schema (is the slapd package complete?)"
MODULE_DIR=/usr/lib/ldap
[ -d "$MODULE_DIR" ] || MODULE_DIR=$(dirname "$(ls /usr/lib/*/ldap/back_mdb.so* 2>/dev/null | head -n 1)")

DIR=$(mktemp -d "${TMPDIR:-/tmp}/scimbridge-slapd.XXXXXX")
started="" keep=""
on_exit() {
	[ -z "$keep" ] || return 0
	if [ -n "$started" ] && [ -f "$DIR/slapd.pid" ]; then
		kill "$(cat "$DIR/slapd.pid")" 2>/dev/null || true
	fi
	rm -rf "$DIR"
}
trap on_exit EXIT
# The marker tells slapd-stop.sh this directory is ours to remove.
echo "scimbridge throwaway slapd" >"$DIR/.scimbridge-slapd"
mkdir -p "$DIR/data"

# A throwaway CA, a server certificate for 127.0.0.1 and localhost, and a
# client certificate (slapd asks for one and checks it when presented).
(
	cd "$DIR"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=scimbridge test CA" \
		-keyout ca.key -out ca.crt
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile server.ext -out server.crt
	openssl req -newkey rsa:2048 -nodes -subj "/CN=scimbridge test client" -keyout client.key -out client.csr
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile client.ext -out client.crt
	chmod 600 ./*.key
) >"$DIR/openssl.log" 2>&1 || { cat "$DIR/openssl.log" >&2; die "openssl failed"; }

{
	echo "# throwaway slapd written by scripts/slapd-start.sh"
	for s in core cosine inetorgperson nis; do echo "include $SCHEMA_DIR/$s.schema"; done
	for s in "$ROOT"/configs/schema/*.schema; do [ -f "$s" ] && echo "include $s"; done
	cat <<CONF
pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
modulepath $MODULE_DIR
moduleload back_mdb
TLSCACertificateFile $DIR/ca.crt
TLSCertificateFile $DIR/server.crt
TLSCertificateKeyFile $DIR/server.key
TLSVerifyClient try
sizelimit unlimited

database mdb
maxsize 1073741824
suffix "$SUFFIX"
rootdn "$ROOTDN"
rootpw $(slappasswd -s "$ROOTPW")
directory $DIR/data
index objectClass eq
index entryUUID eq
index uid,mail,cn,sn,givenName,displayName eq,sub
index scimExternalId,employeeNumber eq,sub
index scimBadgeCard eq
index member,uniqueMember,memberUid,manager eq

database monitor
CONF
} >"$DIR/slapd.conf"

cat >"$DIR/base.ldif" <<LDIF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: example
o: example

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=groups,$SUFFIX
objectClass: organizationalUnit
ou: groups
LDIF

# The base entries go in offline, then the config is converted to cn=config
# form (slaptest opens the mdb read-only, so it must exist first).
slapadd -f "$DIR/slapd.conf" -l "$DIR/base.ldif" >"$DIR/slapadd.log" 2>&1 ||
	{ cat "$DIR/slapadd.log" >&2; die "slapadd failed"; }
mkdir -p "$DIR/slapd.d"
slaptest -f "$DIR/slapd.conf" -F "$DIR/slapd.d" >"$DIR/slaptest.log" 2>&1 ||
	{ cat "$DIR/slaptest.log" >&2; die "slaptest failed"; }

for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	TLSPORT=$(free_port)
	[ "$PORT" != "$TLSPORT" ] || continue
	URL="ldap://127.0.0.1:$PORT"
	LDAPS_URL="ldaps://127.0.0.1:$TLSPORT"
	# restart brings the same instance back (same ports and data) after a
	# fault test stopped it.
	cat >"$DIR/restart" <<RUN
#!/bin/sh
exec $(command -v slapd) -F "$DIR/slapd.d" -h "$URL/ $LDAPS_URL/" >>"$DIR/slapd.log" 2>&1 </dev/null
RUN
	chmod 755 "$DIR/restart"
	rm -f "$DIR/slapd.pid"
	# slapd daemonises and writes slapd.pid; what it says before that
	# (a config error) lands in slapd.log.
	sh "$DIR/restart" || true
	started=1
	for i in $(seq 1 100); do
		if ldapsearch -x -H "$URL" -b "" -s base namingContexts >/dev/null 2>&1; then
			break 2
		fi
		sleep 0.1
	done
	log "slapd did not answer on $URL (attempt $attempt), trying other ports"
	tail -n 5 "$DIR/slapd.log" >&2 2>/dev/null || true
	[ -f "$DIR/slapd.pid" ] && kill "$(cat "$DIR/slapd.pid")" 2>/dev/null || true
	sleep 0.2
	started=""
done
[ -n "$started" ] || die "slapd did not start; log: $DIR/slapd.log"
keep=1

log "slapd $(slapd -VV 2>&1 | sed -n 's/.*slapd \([0-9.]*\).*/\1/p' | head -n 1) on $URL and $LDAPS_URL in $DIR"
echo "export SCIMBRIDGE_LDAP_URL='$URL'"
echo "export SCIMBRIDGE_LDAPS_URL='$LDAPS_URL'"
echo "export SCIMBRIDGE_LDAP_CA_FILE='$DIR/ca.crt'"
echo "export SCIMBRIDGE_LDAP_BIND_DN='$ROOTDN'"
echo "export SCIMBRIDGE_LDAP_PASSWORD='$ROOTPW'"
echo "export SCIMBRIDGE_LDAP_BASE_DN='$SUFFIX'"
echo "export SCIMBRIDGE_LDAP_DIR='$DIR'"
