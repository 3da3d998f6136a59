package ldap

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// tlsCase is one way of reaching a directory: the backend config keys
// beyond bindDN, password and baseDN, and whether Ping succeeds.
type tlsCase struct {
	name string
	cfg  backends.Config
	ok   bool
	// why is part of the error when !ok.
	why string
	// schema replaces the test's schema when set.
	schema *backends.Schema
}

// runTLSCases opens a backend per case on s and pings it (a bind and a
// read of the base entry through that connection).
func runTLSCases(t *testing.T, s server, schema backends.Schema, cases []tlsCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := backends.Config{"bindDN": s.bindDN, "password": s.password, "baseDN": s.baseDN, "timeout": "5s", "poolSize": 1}
			for k, v := range c.cfg {
				cfg[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sc := schema
			if c.schema != nil {
				sc = *c.schema
			}
			b, err := Open(ctx, cfg, sc, hclog.NewNullLogger())
			require.NoError(t, err)
			defer b.Close()
			err = b.Ping(ctx)
			if !c.ok {
				require.ErrorIs(t, err, backends.ErrUnavailable, "a TLS failure is the directory being unreachable (503)")
				require.ErrorContains(t, err, c.why)
				return
			}
			require.NoError(t, err)
		})
	}
}

// hostOf is the host of an LDAP URL, without the port.
func hostOf(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Hostname()
}

// TestTLSAgainstAD: the Samba DC's LDAPS and StartTLS, verified against
// its CA by the URL's address or by serverName, refused with another CA
// or name, and a simple bind without TLS refused as AD does (result 8).
func TestTLSAgainstAD(t *testing.T) {
	s := requireAD(t)
	plain := strings.Replace(s.ldapsURL, "ldaps://", "ldap://", 1)
	ip := hostOf(t, s.ldapsURL)
	// A layout writing no password, which may use plain LDAP.
	noPassword := adSchema()
	noPassword.Users.Layout["active"] = map[string]any{"attribute": "userAccountControl", "bit": 2, "initial": 544}
	runTLSCases(t, s, adSchema(), []tlsCase{
		{name: "ldaps by address", cfg: backends.Config{"url": s.ldapsURL, "caFile": s.caFile}, ok: true},
		{name: "ldaps with serverName", cfg: backends.Config{"url": s.ldapsURL, "caFile": s.caFile, "serverName": "dc1.test.example.org"}, ok: true},
		{name: "starttls", cfg: backends.Config{"url": plain, "startTLS": true, "caFile": s.caFile}, ok: true},
		{name: "starttls with serverName", cfg: backends.Config{"url": plain, "startTLS": true, "caFile": s.caFile, "serverName": "localhost"}, ok: true},
		{name: "ldaps without the CA", cfg: backends.Config{"url": s.ldapsURL}, why: "certificate"},
		{name: "ldaps with a wrong serverName", cfg: backends.Config{"url": s.ldapsURL, "caFile": s.caFile, "serverName": "other.example.org"}, why: "certificate"},
		{name: "starttls without the CA", cfg: backends.Config{"url": plain, "startTLS": true}, why: "certificate"},
		{name: "plain bind refused", cfg: backends.Config{"url": plain}, why: "Strong", schema: &noPassword},
		{name: "ldaps skipping verification", cfg: backends.Config{"url": "ldaps://" + ip, "insecureSkipVerify": true}, ok: true},
	})
}
