package ldap

import (
	"os"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/backends"
)

// TestTLSAgainst389DS: 389's LDAPS and StartTLS with its self-signed CA.
// Its certificate names localhost only (no IP), so reaching it by
// 127.0.0.1 needs serverName; without it, or with another CA, the
// connection is refused.
func TestTLSAgainst389DS(t *testing.T) {
	s := require389(t)
	name := envOr("SCIMBRIDGE_389DS_SERVER_NAME", "localhost")
	if s.ldapsURL == "" || s.caFile == "" {
		t.Fatal("SCIMBRIDGE_389DS_LDAPS_URL and SCIMBRIDGE_389DS_CA_FILE must be set with SCIMBRIDGE_389DS_URL (scripts/389ds-start.sh prints them)")
	}
	otherCA := os.Getenv("SCIMBRIDGE_LDAP_CA_FILE") // slapd's CA, when make test started slapd too
	cases := []tlsCase{
		{name: "ldaps with serverName", cfg: backends.Config{"url": s.ldapsURL, "caFile": s.caFile, "serverName": name}, ok: true},
		{name: "starttls with serverName", cfg: backends.Config{"url": s.url, "startTLS": true, "caFile": s.caFile, "serverName": name}, ok: true},
		{name: "ldaps by address: no IP in the certificate", cfg: backends.Config{"url": s.ldapsURL, "caFile": s.caFile}, why: "IP SANs"},
		{name: "ldaps without the CA", cfg: backends.Config{"url": s.ldapsURL, "serverName": name}, why: "certificate"},
		{name: "starttls by address", cfg: backends.Config{"url": s.url, "startTLS": true, "caFile": s.caFile}, why: "IP SANs"},
		{name: "ldaps by localhost", cfg: backends.Config{"url": strings.Replace(s.ldapsURL, "127.0.0.1", "localhost", 1), "caFile": s.caFile}, ok: true},
	}
	if otherCA != "" {
		cases = append(cases, tlsCase{name: "ldaps with another CA", cfg: backends.Config{"url": s.ldapsURL, "caFile": otherCA, "serverName": name}, why: "certificate"})
	}
	runTLSCases(t, s, schema389(), cases)
}
