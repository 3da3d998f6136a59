package ldap

import (
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// adSchema is the shape of configs/mappings/entra-to-active-directory.yaml
// (in the test OU's ou=people and ou=groups rather than CN=Users): user
// objects named by CN, objectGUID ids, active as bit 2 of
// userAccountControl with a random password before enabling, groups with a
// groupType and no placeholder.
func adSchema() backends.Schema {
	return backends.Schema{
		Users: backends.KindSchema{
			Layout: map[string]any{
				"parent": "ou=people", "rdn": "cn", "objectClasses": []any{"user"},
				"filter": "(&(objectCategory=person)(objectClass=user))", "id": "objectGUID",
				"active": map[string]any{"attribute": "userAccountControl", "bit": 2, "initial": 512, "password": "unicodePwd"},
			},
			Attrs: []backends.AttrSchema{
				{Name: "userPrincipalName", Unique: true},
				{Name: "employeeNumber", Unique: true},
				{Name: "sAMAccountName"},
				{Name: "cn"}, {Name: "mail"}, {Name: "otherTelephone", Multi: true},
				{Name: "givenName"}, {Name: "sn"}, {Name: "displayName", Unique: true},
				{Name: "userAccountControl"},
				{Name: "manager", Ref: backends.User},
			},
		},
		Groups: backends.KindSchema{
			Layout: map[string]any{
				"parent": "ou=groups", "rdn": "cn", "objectClasses": []any{"group"}, "filter": "(objectClass=group)",
				"id": "objectGUID", "defaults": map[string]any{"groupType": "-2147483646"},
				"member": map[string]any{"attribute": "member", "format": "dn", "allowEmpty": true},
			},
			Attrs: []backends.AttrSchema{
				{Name: "cn", Unique: true},
				{Name: "adminDescription", Unique: true},
				{Name: backends.AttrMembers, Multi: true},
			},
		},
	}
}

// TestPasswordNeedsEncryption: a layout that writes a password is refused
// on a plain ldap:// URL, accepted with ldaps:// or StartTLS.
func TestPasswordNeedsEncryption(t *testing.T) {
	base := backends.Config{"bindDN": "CN=svc,CN=Users,DC=test,DC=example,DC=org", "password": "x", "baseDN": "DC=test,DC=example,DC=org"}
	for _, c := range []struct {
		name, url string
		startTLS  bool
		ok        bool
	}{
		{"ldaps", "ldaps://dc1.test.example.org", false, true},
		{"startTLS", "ldap://dc1.test.example.org", true, true},
		{"plain", "ldap://dc1.test.example.org", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := backends.Config{"url": c.url, "startTLS": c.startTLS}
			for k, v := range base {
				cfg[k] = v
			}
			err := Driver{}.Validate(cfg, adSchema())
			if c.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, "active.password")
		})
	}
	bad := adSchema()
	bad.Users.Layout["active"] = map[string]any{"attribute": "userAccountControl", "moveTo": "CN=Disabled", "password": "unicodePwd"}
	err := Driver{}.Validate(backends.Config{"url": "ldaps://dc1", "bindDN": "CN=a,DC=b", "password": "x", "baseDN": "DC=b"}, bad)
	require.ErrorContains(t, err, "only with bit")
}

// TestRandomPassword: 32 characters with every class AD's complexity rule
// counts, different each time; unicodePwd gets the quoted UTF-16LE form.
func TestRandomPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw, err := randomPassword()
		require.NoError(t, err)
		require.Len(t, pw, 32)
		for _, class := range []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#%+-.:=?@_~"} {
			require.True(t, strings.ContainsAny(pw, class), "%q lacks one of %q", pw, class)
		}
		require.False(t, seen[pw])
		seen[pw] = true
	}
	enc := encodePassword("unicodePwd", "Pässw0rd!")
	require.Zero(t, len(enc)%2)
	u := make([]uint16, len(enc)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16([]byte(enc[2*i:]))
	}
	require.Equal(t, `"Pässw0rd!"`, string(utf16.Decode(u)))
	require.Equal(t, "Pässw0rd!", encodePassword("userPassword", "Pässw0rd!"))
}
