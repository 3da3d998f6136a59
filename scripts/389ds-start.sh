#!/usr/bin/env bash
# Starts a throwaway 389 Directory Server for tests: installs 389-ds-base and
# ldap-utils if missing (without starting any service), builds an instance
# in a private prefix tree under a fresh temporary directory, and starts
# ns-slapd on free loopback ports (LDAP with StartTLS, and LDAPS). It never
# touches a system instance: nothing under /etc/dirsrv, /var/lib/dirsrv,
# /var/log/dirsrv or /run/dirsrv, and no systemd.
#
# Why a prefix tree: dscreate starts the new instance once through
# `systemctl start dirsrv@NAME` unless lib389 reads with_systemd = 0 from
# $PREFIX/share/dirsrv/inf/defaults.inf, so the script copies that tree,
# rewrites its paths under the instance directory and runs dscreate with
# PREFIX set (lib389 ignores the INF's `systemd = False` outside container mode).
#
# The directory: suffix dc=example,dc=org with ou=people and ou=groups, the
# scimbridge auxiliary schema (configs/schema/scimbridge.schema, converted),
# the MemberOf and referential integrity plugins on, entryUUID (on by
# default in 389 DS 2.x), equality indexes on what the shipped mapping
# matches, and a self-signed CA whose server certificate names localhost.
# Root DN cn=Directory Manager.
#
# stdout is only `export NAME=value` lines, for `eval "$(scripts/389ds-start.sh)"`:
#   SCIMBRIDGE_389DS_URL          ldap://127.0.0.1:PORT
#   SCIMBRIDGE_389DS_LDAPS_URL    ldaps://127.0.0.1:PORT2
#   SCIMBRIDGE_389DS_CA_FILE      the CA of the server certificate
#   SCIMBRIDGE_389DS_SERVER_NAME  the name in it (localhost; it has no IP SAN)
#   SCIMBRIDGE_389DS_BIND_DN, SCIMBRIDGE_389DS_PASSWORD, SCIMBRIDGE_389DS_BASE_DN
#   SCIMBRIDGE_389DS_DIR          the instance directory
# Stop it with scripts/389ds-stop.sh "$SCIMBRIDGE_389DS_DIR".
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
SUFFIX="dc=example,dc=org"
ROOTDN="cn=Directory Manager"
ROOTPW="Passw0rd-DM"
t0=$(date +%s%N)

if ! command -v dscreate >/dev/null || ! command -v ns-slapd >/dev/null || ! command -v ldapmodify >/dev/null; then
	apt_install 389-ds-base ldap-utils
	command -v ns-slapd >/dev/null || die "389-ds-base installed, but ns-slapd not found"
fi
[ "$(id -u)" = 0 ] || die "389 DS needs root here (ns-slapd starts as root and drops to dirsrv)"
id dirsrv >/dev/null 2>&1 || die "no dirsrv user (is 389-ds-base installed completely?)"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/scimbridge-389ds.XXXXXX")
started="" keep="" PIDFILE="" INST=""
on_exit() {
	[ -z "$keep" ] || return 0
	if [ -n "$started" ] && [ -f "$PIDFILE" ]; then
		kill "$(cat "$PIDFILE")" 2>/dev/null || true
		sleep 3
	fi
	[ -z "$INST" ] || rm -f "/dev/shm/sem.slapd-$INST.stats"
	rm -rf "$DIR"
}
trap on_exit EXIT
# The marker tells 389ds-stop.sh this directory is ours to remove.
echo "scimbridge throwaway 389 DS" >"$DIR/.scimbridge-389ds"
# ns-slapd runs as dirsrv: every parent must be traversable (mktemp makes 0700).
chmod 755 "$DIR"

PORT=$(free_port)
TLSPORT=$(free_port)
while [ "$TLSPORT" = "$PORT" ]; do TLSPORT=$(free_port); done
# The instance name names a POSIX semaphore (/dev/shm/sem.slapd-NAME.stats):
# unique per port, so two instances never share one.
INST=scim$PORT
PIDFILE=$DIR/run/dirsrv/slapd-$INST.pid

# The prefix tree: lib389's defaults with every writable path under $DIR.
mkdir -p "$DIR/share" "$DIR/etc/dirsrv"
cp -r /usr/share/dirsrv "$DIR/share/dirsrv"
cp -r /etc/dirsrv/config /etc/dirsrv/schema "$DIR/etc/dirsrv/" 2>/dev/null || true
sed -i \
	-e "s|^with_systemd = .*|with_systemd = 0|" \
	-e "s|^with_selinux = .*|with_selinux = no|" \
	-e "s|^data_dir = .*|data_dir = $DIR/share|" \
	-e "s|^sysconf_dir = .*|sysconf_dir = $DIR/etc|" \
	-e "s|^initconfig_dir = .*|initconfig_dir = $DIR/etc/default|" \
	-e "s|^config_dir = .*|config_dir = $DIR/etc/dirsrv/slapd-{instance_name}|" \
	-e "s|^local_state_dir = .*|local_state_dir = $DIR/var|" \
	-e "s|^run_dir = .*|run_dir = $DIR/run/dirsrv|" \
	-e "s|^ldapi = .*|ldapi = $DIR/run/slapd-{instance_name}.socket|" \
	-e "s|^pid_file = .*|pid_file = $DIR/run/dirsrv/slapd-{instance_name}.pid|" \
	-e "s|^tmpfiles_d = .*|tmpfiles_d = $DIR/etc/tmpfiles.d|" \
	-e "s|^schema_dir = .*|schema_dir = $DIR/etc/dirsrv/slapd-{instance_name}/schema|" \
	-e "s|^cert_dir = .*|cert_dir = $DIR/etc/dirsrv/slapd-{instance_name}|" \
	-e "s|^lock_dir = .*|lock_dir = $DIR/run/lock/dirsrv/slapd-{instance_name}|" \
	-e "s|^log_dir = .*|log_dir = $DIR/var/log/dirsrv/slapd-{instance_name}|" \
	-e "s|^access_log = .*|access_log = $DIR/var/log/dirsrv/slapd-{instance_name}/access|" \
	-e "s|^audit_log = .*|audit_log = $DIR/var/log/dirsrv/slapd-{instance_name}/audit|" \
	-e "s|^error_log = .*|error_log = $DIR/var/log/dirsrv/slapd-{instance_name}/errors|" \
	-e "s|^security_log = .*|security_log = $DIR/var/log/dirsrv/slapd-{instance_name}/security|" \
	-e "s|^db_dir = .*|db_dir = $DIR/var/lib/dirsrv/slapd-{instance_name}/db|" \
	-e "s|^db_home_dir = .*|db_home_dir = $DIR/var/lib/dirsrv/slapd-{instance_name}/dbhome|" \
	-e "s|^backup_dir = .*|backup_dir = $DIR/var/lib/dirsrv/slapd-{instance_name}/bak|" \
	-e "s|^ldif_dir = .*|ldif_dir = $DIR/var/lib/dirsrv/slapd-{instance_name}/ldif|" \
	"$DIR/share/dirsrv/inf/defaults.inf"
# Loopback only, even for dscreate's own temporary start (the INF has no
# listen-host option).
for t in "$DIR"/share/dirsrv/data/template-dse*.ldif; do
	sed -i -e 's|^nsslapd-port: %ds_port%|nsslapd-port: %ds_port%\nnsslapd-listenhost: 127.0.0.1\nnsslapd-securelistenhost: 127.0.0.1|' "$t"
done
for d in var/log/dirsrv var/lib/dirsrv run/dirsrv run/lock/dirsrv; do
	mkdir -p "$DIR/$d"
	chown dirsrv:dirsrv "$DIR/$d"
	chmod 770 "$DIR/$d"
done
for d in var var/log var/lib run run/lock etc etc/dirsrv share; do chmod 755 "$DIR/$d"; done

cat >"$DIR/instance.inf" <<INF
[general]
config_version = 2
full_machine_name = localhost
strict_host_checking = False
systemd = False
selinux = False
start = False
[slapd]
instance_name = $INST
port = $PORT
secure_port = $TLSPORT
root_dn = $ROOTDN
root_password = $ROOTPW
self_sign_cert = True
self_sign_cert_valid_months = 1
[backend-userroot]
suffix = $SUFFIX
create_suffix_entry = True
sample_entries = no
INF

PREFIX=$DIR dscreate from-file "$DIR/instance.inf" >"$DIR/dscreate.log" 2>&1 ||
	{ tail -n 30 "$DIR/dscreate.log" >&2; die "dscreate failed (log above)"; }
CONF=$DIR/etc/dirsrv/slapd-$INST
# The plugins a directory Entra writes to wants, switched on in the stopped
# instance's dse.ldif: memberOf on users, member values following renames
# and deletes. The 7-bit check (on by default: uid, mail and userPassword
# must be ASCII) is switched off, since a SCIM userName may be any Unicode
# text and the contract suite writes such names to uid (configs/389ds.yaml
# says so for real directories).
python3 - "$CONF/dse.ldif" <<'PY'
import re, sys
path = sys.argv[1]
blocks = open(path).read().split("\n\n")
for i, b in enumerate(blocks):
    first = b.lstrip("\n").split("\n", 1)[0].lower()
    if first in ("dn: cn=memberof plugin,cn=plugins,cn=config",
                 "dn: cn=referential integrity postoperation,cn=plugins,cn=config"):
        blocks[i] = re.sub(r"(?mi)^nsslapd-pluginenabled: off$", "nsslapd-pluginEnabled: on", b)
    if first == "dn: cn=7-bit check,cn=plugins,cn=config":
        blocks[i] = re.sub(r"(?mi)^nsslapd-pluginenabled: on$", "nsslapd-pluginEnabled: off", b)
open(path, "w").write("\n\n".join(blocks))
PY
grep -q '^nsslapd-listenhost: 127.0.0.1' "$CONF/dse.ldif" || die "the instance would listen beyond loopback ($CONF/dse.ldif)"
for p in "MemberOf Plugin" "referential integrity postoperation"; do
	awk -v dn="dn: cn=$p,cn=plugins,cn=config" 'tolower($0) == tolower(dn) { f = 1 } f && /^$/ { exit } f && tolower($0) == "nsslapd-pluginenabled: on" { ok = 1 } END { exit !ok }' "$CONF/dse.ldif" ||
		die "plugin $p is not enabled in $CONF/dse.ldif"
done

# The scimbridge auxiliary schema, from the OpenLDAP file to 389's LDIF form.
{
	echo "dn: cn=schema"
	sed -e '/^#/d' "$ROOT/configs/schema/scimbridge.schema" | awk '
		/^attributetype|^objectclass/ { if (cur != "") print cur; kw = ($1 == "attributetype") ? "attributeTypes:" : "objectClasses:"; sub(/^[a-z]+[ \t]+/, ""); cur = kw " " $0; next }
		/^[ \t]+/ { sub(/^[ \t]+/, " "); cur = cur $0; next }
		END { if (cur != "") print cur }'
} >"$CONF/schema/99scimbridge.ldif"
chown dirsrv:dirsrv "$CONF/schema/99scimbridge.ldif"

rm -f "$PIDFILE" "/dev/shm/sem.slapd-$INST.stats"
/usr/sbin/ns-slapd -D "$CONF" -i "$PIDFILE" >"$DIR/ns-slapd.out" 2>&1 ||
	{ cat "$DIR/ns-slapd.out" "$DIR/var/log/dirsrv/slapd-$INST/errors" >&2 2>/dev/null; die "ns-slapd did not start"; }
started=1
URL="ldap://127.0.0.1:$PORT"
ready=""
for _ in $(seq 1 150); do
	if ldapsearch -x -H "$URL" -D "$ROOTDN" -w "$ROOTPW" -b "$SUFFIX" -s base dn >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.1
done
[ -n "$ready" ] || { tail -n 20 "$DIR/var/log/dirsrv/slapd-$INST/errors" >&2 || true; die "389 DS did not answer on $URL"; }

# The containers, and equality indexes on what the mappings match and
# filter on (389 indexes uid, mail, cn, member, entryUUID out of the box).
ldapmodify -x -H "$URL" -D "$ROOTDN" -w "$ROOTPW" >"$DIR/setup.log" 2>&1 <<LDIF ||
dn: ou=people,$SUFFIX
changetype: add
objectClass: organizationalUnit
ou: people

dn: ou=groups,$SUFFIX
changetype: add
objectClass: organizationalUnit
ou: groups

dn: cn=scimExternalId,cn=index,cn=userRoot,cn=ldbm database,cn=plugins,cn=config
changetype: add
objectClass: top
objectClass: nsIndex
cn: scimExternalId
nsSystemIndex: false
nsIndexType: eq

dn: cn=employeeNumber,cn=index,cn=userRoot,cn=ldbm database,cn=plugins,cn=config
changetype: add
objectClass: top
objectClass: nsIndex
cn: employeeNumber
nsSystemIndex: false
nsIndexType: eq

dn: cn=manager,cn=index,cn=userRoot,cn=ldbm database,cn=plugins,cn=config
changetype: add
objectClass: top
objectClass: nsIndex
cn: manager
nsSystemIndex: false
nsIndexType: eq
LDIF
	{ cat "$DIR/setup.log" >&2; die "setting up the suffix failed"; }
keep=1

CA=$CONF/ca.crt
[ -f "$CA" ] || CA=$(ls "$CONF"/ssca/ca.crt 2>/dev/null || true)
log "389 DS $(ns-slapd -v 2>/dev/null | sed -n 's|.*389-Directory/\([0-9.]*\).*|\1|p' | head -n 1) on $URL and ldaps://127.0.0.1:$TLSPORT in $DIR ($(((($(date +%s%N) - t0) / 1000000)))ms)"
echo "export SCIMBRIDGE_389DS_URL='$URL'"
echo "export SCIMBRIDGE_389DS_LDAPS_URL='ldaps://127.0.0.1:$TLSPORT'"
echo "export SCIMBRIDGE_389DS_CA_FILE='$CA'"
echo "export SCIMBRIDGE_389DS_SERVER_NAME='localhost'"
echo "export SCIMBRIDGE_389DS_BIND_DN='$ROOTDN'"
echo "export SCIMBRIDGE_389DS_PASSWORD='$ROOTPW'"
echo "export SCIMBRIDGE_389DS_BASE_DN='$SUFFIX'"
echo "export SCIMBRIDGE_389DS_DIR='$DIR'"
