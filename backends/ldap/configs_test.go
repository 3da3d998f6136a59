package ldap_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	ldapbackend "github.com/scimbridge/scimbridge/backends/ldap"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/mapping"
)

// shippedMappings are the LDAP mappings in configs/, each with the base DN
// its config names.
var shippedMappings = []struct{ file, baseDN string }{
	{"entra-to-openldap.yaml", "dc=example,dc=org"},
	{"entra-to-active-directory.yaml", "DC=test,DC=example,DC=org"},
	{"entra-to-389ds.yaml", "dc=example,dc=org"},
}

// TestShippedMappingsValidate: every shipped LDAP mapping compiles and its
// target blocks pass the backend's validation (no I/O).
func TestShippedMappingsValidate(t *testing.T) {
	for _, m := range shippedMappings {
		t.Run(m.file, func(t *testing.T) {
			mp, err := mapping.Load(filepath.Join("..", "..", "configs", "mappings", m.file))
			require.NoError(t, err)
			cfg := backends.Config{"url": "ldaps://dc1.test.example.org", "bindDN": "CN=scimbridge,CN=Users," + m.baseDN,
				"password": "x", "baseDN": m.baseDN}
			require.NoError(t, ldapbackend.Driver{}.Validate(cfg, mp.Schema()))
		})
	}
}

// TestShippedOpenLDAPMapping provisions Entra's create example through the
// shipped OpenLDAP mapping into the test slapd, as the shipped config does.
func TestShippedOpenLDAPMapping(t *testing.T) {
	url := os.Getenv("SCIMBRIDGE_LDAP_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SCIMBRIDGE_LDAP_URL is not set: CI must run against scripts/slapd-start.sh's slapd")
		}
		t.Skip("SCIMBRIDGE_LDAP_URL is not set: run `make test`, or eval \"$(scripts/slapd-start.sh)\" first")
	}
	mp, err := mapping.Load(filepath.Join("..", "..", "configs", "mappings", "entra-to-openldap.yaml"))
	require.NoError(t, err)
	base := "dc=example,dc=org"
	if v := os.Getenv("SCIMBRIDGE_LDAP_BASE_DN"); v != "" {
		base = v
	}
	ctx := context.Background()
	b, err := ldapbackend.Open(ctx, backends.Config{"url": url, "bindDN": envOr("SCIMBRIDGE_LDAP_BIND_DN", "cn=admin,dc=example,dc=org"),
		"password": envOr("SCIMBRIDGE_LDAP_PASSWORD", "admin"), "baseDN": base}, mp.Schema(), hclog.NewNullLogger())
	require.NoError(t, err)
	defer b.Close()

	body, err := os.ReadFile(filepath.Join("testdata", "entra-create-user.json"))
	require.NoError(t, err)
	res, err := scim.Decode(scim.User, body)
	require.NoError(t, err)
	attrs, err := mp.ToAttrs(scim.User, res)
	require.NoError(t, err)
	rec, err := b.Create(ctx, backends.User, attrs)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Delete(ctx, backends.User, rec.ID)) }()
	back, err := mp.ToResource(scim.User, rec)
	require.NoError(t, err)
	require.Equal(t, "jyoung.shipped@testuser.com", back["userName"])
	require.Equal(t, "jyoung-shipped", back["externalId"])
	require.Equal(t, true, back["active"])

	gattrs, err := mp.ToAttrs(scim.Group, scim.Resource{"displayName": "Shipped Mapping Group", "externalId": "g-shipped"})
	require.NoError(t, err)
	g, err := b.Create(ctx, backends.Group, gattrs)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Delete(ctx, backends.Group, g.ID)) }()
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{rec.ID}}}))
	got, err := b.Get(ctx, backends.Group, g.ID, backends.Read{Members: true})
	require.NoError(t, err)
	require.Equal(t, []string{rec.ID}, got.Attrs[backends.AttrMembers])
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
