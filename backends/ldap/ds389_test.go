package ldap

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
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

// TestDS389ServiceAccountACIs: the ACIs configs/389ds.yaml documents let a
// service account (not Directory Manager) do everything the bridge does:
// create, read, filter, rename, disable, manage members and delete.
func TestDS389ServiceAccountACIs(t *testing.T) {
	s := require389(t)
	ou := newTestOU(t, s)
	l := adminConn(t, s)
	svc := "uid=scimbridge-" + randomName() + "," + ou
	add := goldap.NewAddRequest(svc, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{strings.TrimPrefix(strings.SplitN(svc, ",", 2)[0], "uid=")})
	add.Attribute("cn", []string{"scimbridge"})
	add.Attribute("sn", []string{"service"})
	add.Attribute("userPassword", []string{"Svc-Passw0rd-1"})
	require.NoError(t, l.Add(add))
	for _, container := range []string{"ou=people," + ou, "ou=groups," + ou} {
		mod := goldap.NewModifyRequest(container, nil)
		mod.Add("aci", []string{
			`(targetattr="*")(version 3.0; acl "scimbridge"; allow (read, search, compare, add, delete, write) userdn="ldap:///` + svc + `";)`,
			`(targetattr="entryUUID || nsUniqueId || createTimestamp || modifyTimestamp")(version 3.0; acl "scimbridge operational"; allow (read, search, compare) userdn="ldap:///` + svc + `";)`,
		})
		require.NoError(t, l.Modify(mod))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := Open(ctx, backends.Config{"url": s.url, "bindDN": svc, "password": "Svc-Passw0rd-1", "baseDN": ou, "timeout": "5s"},
		schema389(), hclog.NewNullLogger())
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Ping(ctx))

	u, err := b.Create(ctx, backends.User, map[string][]string{"uid": {"ann@example.org"}, "cn": {"Ann"}, "sn": {"A"}, "scimExternalId": {"x-ann"}, "scimActive": {"TRUE"}})
	require.NoError(t, err)
	require.NotEmpty(t, u.ID, "entryUUID readable")
	recs, total, err := b.Find(ctx, backends.Query{Kind: backends.User, Filter: backends.Cmp{Attr: "scimExternalId", Op: backends.Eq, Value: "x-ann"}, Limit: 5})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, u.ID, recs[0].ID)
	g, err := b.Create(ctx, backends.Group, map[string][]string{"cn": {"team"}, backends.AttrMembers: {u.ID}})
	require.NoError(t, err)
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{
		{Op: backends.Replace, Attr: "uid", Values: []string{"ann.renamed@example.org"}},
		{Op: backends.Replace, Attr: "scimActive", Values: []string{"FALSE"}},
	}))
	got, err := b.Get(ctx, backends.Group, g.ID, backends.Read{Members: true})
	require.NoError(t, err)
	require.Equal(t, []string{u.ID}, got.Attrs[backends.AttrMembers], "the member follows the rename")
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Remove, Attr: backends.AttrMembers, Values: []string{u.ID}}}))
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{u.ID}}}))
	require.NoError(t, b.Delete(ctx, backends.User, u.ID))
	got, err = b.Get(ctx, backends.Group, g.ID, backends.Read{Members: true})
	require.NoError(t, err)
	require.Empty(t, got.Attrs[backends.AttrMembers])
	require.NoError(t, b.Delete(ctx, backends.Group, g.ID))
}
