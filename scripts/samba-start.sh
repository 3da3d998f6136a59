#!/usr/bin/env bash
# Starts a throwaway Samba Active Directory domain controller for tests:
# installs samba, samba-dsdb-modules, samba-vfs-modules, samba-ad-provision
# and ldap-utils if missing (without starting any service), provisions a
# fresh domain TEST.EXAMPLE.ORG in a temporary directory with its own
# smb.conf, and runs only Samba's LDAP server (`server services = ldap`,
# one process). It never touches a system instance: provisioning reads an
# empty smb.conf, every path (state, pid, sockets, log) is under the
# instance directory, and nothing is written to /etc/samba or /var/lib/samba.
#
# Samba's LDAP ports are fixed (389, 636, 3268, 3269; there is no option),
# so the DC listens on a loopback address of its own, 127.0.X.Y, chosen
# where nothing answers on 389, instead of on free ports.
#
# TLS: its own CA and an EC P-256 server certificate naming the address,
# localhost and dc1.test.example.org (Samba's self-made certificate has no
# subjectAltName, which Go cannot verify). The AD default is kept: a simple
# bind without TLS is refused (result 8, strongerAuthRequired), as a
# Windows DC does for password writes; clients use LDAPS or StartTLS with
# the CA. SAMBA_AD_STRONG_AUTH=no allows plain simple binds.
#
# stdout is only `export NAME=value` lines, for `eval "$(scripts/samba-start.sh)"`:
#   SCIMBRIDGE_AD_URL          ldap://127.0.X.Y (StartTLS required for binds)
#   SCIMBRIDGE_AD_LDAPS_URL    ldaps://127.0.X.Y
#   SCIMBRIDGE_AD_CA_FILE      the CA of the server certificate
#   SCIMBRIDGE_AD_BIND_DN, SCIMBRIDGE_AD_PASSWORD (Administrator), SCIMBRIDGE_AD_BASE_DN
#   SCIMBRIDGE_AD_DIR          the instance directory
# Stop it with scripts/samba-stop.sh "$SCIMBRIDGE_AD_DIR".
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
REALM=TEST.EXAMPLE.ORG
DOMAIN=TEST
BASE="DC=test,DC=example,DC=org"
ADMINPW='Passw0rd!Passw0rd'
STRONG=${SAMBA_AD_STRONG_AUTH:-yes}
t0=$(date +%s%N)

if ! command -v samba >/dev/null || ! command -v samba-tool >/dev/null ||
	[ ! -d /usr/share/samba/setup/ad-schema ] || ! command -v ldapsearch >/dev/null; then
	apt_install samba samba-dsdb-modules samba-vfs-modules samba-ad-provision ldap-utils
	command -v samba >/dev/null || die "samba installed, but not found on PATH or in /usr/sbin"
fi
command -v openssl >/dev/null || apt_install openssl
[ "$(id -u)" = 0 ] || die "a Samba DC needs root"

# A loopback address nothing listens on at 389 (a wildcard listener
# answers on every address too, so this also avoids a system LDAP server).
answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
IP=""
for _ in $(seq 1 50); do
	cand="127.0.$((RANDOM % 250 + 2)).$((RANDOM % 250 + 2))"
	if ! answers "$cand" 389 && ! answers "$cand" 636 && ! answers "$cand" 3268 && ! answers "$cand" 3269; then
		IP=$cand
		break
	fi
done
[ -n "$IP" ] || die "no free loopback address found for the DC's fixed ports"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/scimbridge-samba.XXXXXX")
keep="" started=""
on_exit() {
	[ -z "$keep" ] || return 0
	if [ -n "$started" ] && [ -f "$DIR/run/samba.pid" ]; then
		kill "$(cat "$DIR/run/samba.pid")" 2>/dev/null || true
		sleep 2
	fi
	rm -rf "$DIR"
}
trap on_exit EXIT
# The marker tells samba-stop.sh this directory is ours to remove.
echo "scimbridge throwaway Samba AD DC" >"$DIR/.scimbridge-samba"
mkdir -p "$DIR/run" "$DIR/log" "$DIR/tls"

(
	cd "$DIR/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=scimbridge test AD CA" -keyout ca.key -out ca.pem
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=dc1.test.example.org" \
		-keyout key.pem -out server.csr
	printf 'subjectAltName=IP:%s,DNS:localhost,DNS:dc1.test.example.org\nextendedKeyUsage=serverAuth\n' "$IP" >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile server.ext -out cert.pem
	chmod 600 ./*.key key.pem
) >"$DIR/openssl.log" 2>&1 || { cat "$DIR/openssl.log" >&2; die "openssl failed"; }

# -s with an empty file: otherwise provision copies the distribution's
# /etc/samba/smb.conf (log paths, shares) into the new one.
: >"$DIR/empty.conf"
samba-tool domain provision -s "$DIR/empty.conf" --targetdir="$DIR" \
	--realm="$REALM" --domain="$DOMAIN" --server-role=dc --dns-backend=NONE --use-rfc2307 \
	--host-name=dc1 --host-ip="$IP" --adminpass="$ADMINPW" \
	--option="netbios name=DC1" --option="interfaces=$IP/8" --option="bind interfaces only=yes" \
	>"$DIR/provision.log" 2>&1 || { tail -n 30 "$DIR/provision.log" >&2; die "samba-tool domain provision failed"; }

# An LDAP-only DC: keep [global], drop the shares (no smbd), and point every
# runtime path into $DIR.
python3 - "$DIR/etc/smb.conf" "$DIR" "$STRONG" <<'PY'
import sys
path, d, strong = sys.argv[1:]
out, keep = [], False
for line in open(path):
    s = line.strip()
    if s.startswith("["):
        keep = s.lower() == "[global]"
    if keep:
        out.append(line.rstrip("\n"))
out += [
    "\tserver services = ldap",
    "\tldap server require strong auth = " + strong,
    "\tpid directory = " + d + "/run",
    "\tncalrpc dir = " + d + "/run/ncalrpc",
    "\twinbindd socket directory = " + d + "/run/winbindd",
    "\tntp signd socket directory = " + d + "/run/ntp_signd",
    "\tlog file = " + d + "/log/samba.log",
    "\ttls enabled = yes",
    "\ttls keyfile = " + d + "/tls/key.pem",
    "\ttls certfile = " + d + "/tls/cert.pem",
    "\ttls cafile = " + d + "/tls/ca.pem",
]
open(path, "w").write("\n".join(out) + "\n")
PY

# -l: Samba opens its log before it reads smb.conf's "log file", which
# would leave an empty /var/log/samba/log.samba behind.
samba -s "$DIR/etc/smb.conf" -l "$DIR/log" -M single -D >"$DIR/log/start.out" 2>&1 ||
	{ cat "$DIR/log/start.out" "$DIR/log/samba.log" >&2 2>/dev/null; die "samba did not start"; }
started=1
ready=""
for _ in $(seq 1 100); do
	if LDAPTLS_CACERT="$DIR/tls/ca.pem" ldapsearch -x -H "ldaps://$IP" -D "Administrator@$REALM" -w "$ADMINPW" \
		-b "$BASE" -s base dn >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.1
done
[ -n "$ready" ] || { tail -n 20 "$DIR/log/samba.log" >&2 || true; die "the DC did not answer on ldaps://$IP"; }
keep=1

log "Samba $(samba -V 2>/dev/null | sed 's/Version //') AD DC on ldap://$IP and ldaps://$IP in $DIR ($(((($(date +%s%N) - t0) / 1000000)))ms)"
echo "export SCIMBRIDGE_AD_URL='ldap://$IP'"
echo "export SCIMBRIDGE_AD_LDAPS_URL='ldaps://$IP'"
echo "export SCIMBRIDGE_AD_CA_FILE='$DIR/tls/ca.pem'"
echo "export SCIMBRIDGE_AD_BIND_DN='CN=Administrator,CN=Users,$BASE'"
echo "export SCIMBRIDGE_AD_PASSWORD='$ADMINPW'"
echo "export SCIMBRIDGE_AD_BASE_DN='$BASE'"
echo "export SCIMBRIDGE_AD_DIR='$DIR'"
