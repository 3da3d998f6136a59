package ldap

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/backends/backendtest"
)

// require389 returns the test 389 Directory Server that
// scripts/389ds-start.sh started (SCIMBRIDGE_389DS_* in the environment),
// or skips (fails under CI=true) when none was started.
func require389(tb testing.TB) server {
	tb.Helper()
	s := server{
		url:      os.Getenv("SCIMBRIDGE_389DS_URL"),
		ldapsURL: os.Getenv("SCIMBRIDGE_389DS_LDAPS_URL"),
		caFile:   os.Getenv("SCIMBRIDGE_389DS_CA_FILE"),
		bindDN:   envOr("SCIMBRIDGE_389DS_BIND_DN", "cn=Directory Manager"),
		password: envOr("SCIMBRIDGE_389DS_PASSWORD", "Passw0rd-DM"),
		baseDN:   envOr("SCIMBRIDGE_389DS_BASE_DN", "dc=example,dc=org"),
		dir:      os.Getenv("SCIMBRIDGE_389DS_DIR"),
	}
	if s.url == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("SCIMBRIDGE_389DS_URL is not set: CI must run these tests against the 389 DS that scripts/389ds-start.sh starts (make test does)")
		}
		tb.Skip("SCIMBRIDGE_389DS_URL is not set: run `make test`, or eval \"$(scripts/389ds-start.sh)\" first")
	}
	return s
}

// schema389 is the shape of configs/mappings/entra-to-389ds.yaml: the
// OpenLDAP layout, but groupOfNames may be empty (member is MAY in 389's
// schema), so no placeholder.
func schema389() backends.Schema {
	sc := testSchema()
	sc.Groups.Layout["member"] = map[string]any{"attribute": "member", "format": "dn", "allowEmpty": true}
	return sc
}

// openOn opens a backend on a fresh OU of s.
func openOn(tb testing.TB, s server, schema backends.Schema, tweak func(backends.Config)) (*Backend, string) {
	tb.Helper()
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

// TestContract389DS runs the backend contract against a real 389 DS, each
// case in an OU of its own, with the shipped 389 DS layout.
func TestContract389DS(t *testing.T) {
	s := require389(t)
	backendtest.Run(t, backendtest.Fixture{
		UserName: "uid", ExternalID: "scimExternalId", Mail: "mail", Multi: "description",
		GroupName: "cn", GroupExternalID: "scimExternalId",
		UserExtra:   map[string][]string{"sn": {"Tester"}, "cn": {"Test User"}},
		ConflictIDs: true,
	}, func(tb testing.TB) backends.Backend {
		b, _ := openOn(tb, s, schema389(), nil)
		return b
	})
}
