package ldap

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/scimbridge/scimbridge/backends"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server is a slapd the tests may use: the one scripts/slapd-start.sh
// started (SCIMBRIDGE_LDAP_* in the environment).
type server struct {
	url, ldapsURL, caFile, bindDN, password, baseDN, dir string
	// tlsConfig, when set, is used to dial url (an ldaps:// one).
	tlsConfig *tls.Config
}

// dial connects to s.url, with s.tlsConfig when it is set.
func (s server) dial() (*goldap.Conn, error) {
	if s.tlsConfig != nil {
		return goldap.DialURL(s.url, goldap.DialWithTLSConfig(s.tlsConfig))
	}
	return goldap.DialURL(s.url)
}

// requireServer returns the test slapd, or skips (fails under CI=true)
// when none was started.
func requireServer(tb testing.TB) server {
	tb.Helper()
	s := server{
		url:      os.Getenv("SCIMBRIDGE_LDAP_URL"),
		ldapsURL: os.Getenv("SCIMBRIDGE_LDAPS_URL"),
		caFile:   os.Getenv("SCIMBRIDGE_LDAP_CA_FILE"),
		bindDN:   envOr("SCIMBRIDGE_LDAP_BIND_DN", "cn=admin,dc=example,dc=org"),
		password: envOr("SCIMBRIDGE_LDAP_PASSWORD", "admin"),
		baseDN:   envOr("SCIMBRIDGE_LDAP_BASE_DN", "dc=example,dc=org"),
		dir:      os.Getenv("SCIMBRIDGE_LDAP_DIR"),
	}
	if s.url == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("SCIMBRIDGE_LDAP_URL is not set: CI must run these tests against the slapd that scripts/slapd-start.sh starts (make test does)")
		}
		tb.Skip("SCIMBRIDGE_LDAP_URL is not set: run `make test`, or eval \"$(scripts/slapd-start.sh)\" first")
	}
	return s
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// adminConn is a raw go-ldap connection as the root DN, for seeding and
// checking what the backend wrote.
func adminConn(tb testing.TB, s server) *goldap.Conn {
	tb.Helper()
	l, err := s.dial()
	require.NoError(tb, err)
	require.NoError(tb, l.Bind(s.bindDN, s.password))
	tb.Cleanup(func() { _ = l.Close() })
	return l
}

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newTestOU creates ou=t-<random> under the server's base with ou=people
// and ou=groups inside, removed with everything in it when tb ends: each
// test has a directory of its own.
func newTestOU(tb testing.TB, s server) string {
	tb.Helper()
	l := adminConn(tb, s)
	ou := "ou=t-" + randomName() + "," + s.baseDN
	for _, dn := range []string{ou, "ou=people," + ou, "ou=groups," + ou} {
		req := goldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"organizationalUnit"})
		req.Attribute("ou", []string{strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "ou=")})
		require.NoError(tb, l.Add(req), "add %s", dn)
	}
	tb.Cleanup(func() { removeTree(tb, s, ou) })
	return ou
}

// removeTree deletes dn and everything below it, deepest first.
func removeTree(tb testing.TB, s server, dn string) {
	l, err := s.dial()
	if err != nil {
		tb.Logf("cleanup of %s: %v", dn, err)
		return
	}
	defer l.Close()
	if err := l.Bind(s.bindDN, s.password); err != nil {
		tb.Logf("cleanup of %s: %v", dn, err)
		return
	}
	res, err := l.SearchWithPaging(goldap.NewSearchRequest(dn, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil), 500)
	if err != nil {
		tb.Logf("cleanup of %s: %v", dn, err)
		return
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	sort.Slice(dns, func(i, j int) bool { return strings.Count(dns[i], ",") > strings.Count(dns[j], ",") })
	for _, d := range dns {
		if err := l.Del(goldap.NewDelRequest(d, nil)); err != nil {
			tb.Logf("cleanup: delete %s: %v", d, err)
		}
	}
}

// testSchema is the shape of configs/mappings/entra-to-openldap.yaml:
// inetOrgPerson users named by uid, groupOfNames groups named by cn with a
// placeholder member, externalId in scimExternalId.
func testSchema() backends.Schema {
	return backends.Schema{
		Users: backends.KindSchema{
			Layout: map[string]any{
				"parent": "ou=people", "rdn": "uid", "objectClasses": []any{"inetOrgPerson"},
				"auxiliaryClasses": []any{"scimBridgeUser"}, "id": "entryUUID",
				"longNames": map[string]any{"attribute": "scimBridgeKey"},
			},
			Attrs: []backends.AttrSchema{
				{Name: "scimExternalId", Unique: true},
				{Name: "uid", Unique: true},
				{Name: "mail"},
				{Name: "description", Multi: true},
				{Name: "sn"}, {Name: "cn"}, {Name: "givenName"}, {Name: "displayName"}, {Name: "title"},
				{Name: "scimActive"},
				{Name: "manager", Ref: backends.User},
			},
		},
		Groups: backends.KindSchema{
			Layout: map[string]any{
				"parent": "ou=groups", "rdn": "cn", "objectClasses": []any{"groupOfNames"},
				"auxiliaryClasses": []any{"scimBridgeGroup"},
				"longNames":        map[string]any{"attribute": "scimBridgeKey"},
				"member":           map[string]any{"attribute": "member", "format": "dn", "placeholder": "cn=empty-membership-placeholder"},
			},
			Attrs: []backends.AttrSchema{
				{Name: "cn", Unique: true},
				{Name: "scimExternalId", Unique: true},
				{Name: backends.AttrMembers, Multi: true},
			},
		},
	}
}

func testConfig(s server, base string) backends.Config {
	return backends.Config{"url": s.url, "bindDN": s.bindDN, "password": s.password, "baseDN": base, "timeout": "5s"}
}

// newTestBackend opens a backend on a fresh OU of its own.
func newTestBackend(tb testing.TB) (*Backend, string) {
	tb.Helper()
	return newTestBackendWith(tb, testSchema(), nil)
}

func newTestBackendWith(tb testing.TB, schema backends.Schema, tweak func(backends.Config)) (*Backend, string) {
	tb.Helper()
	s := requireServer(tb)
	ou := newTestOU(tb, s)
	cfg := testConfig(s, ou)
	if tweak != nil {
		tweak(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg, schema, hclog.NewNullLogger())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = b.Close() })
	return b, ou
}
