package ldap

import (
	"errors"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

func validConfig() backends.Config {
	// Port 1 on loopback: Validate must not dial it.
	return backends.Config{"url": "ldap://127.0.0.1:1", "bindDN": "cn=svc,dc=example,dc=org", "password": "pw", "baseDN": "dc=example,dc=org"}
}

// TestValidate: every problem of the backend block and the layouts is
// reported, at once and without I/O, by its key.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(backends.Config)
		schema func(*backends.Schema)
		want   []string // substrings of the error; none means valid
	}{
		{"valid", nil, nil, nil},
		{"valid ldaps with everything", func(c backends.Config) {
			c["url"] = "ldaps://ldap.example.org"
			c["timeout"] = "30s"
			c["poolSize"] = 8
			c["maxConcurrent"] = 100
			c["pageSize"] = 1000
			c["permissiveModify"] = "off"
			c["serverName"] = "ldap.example.org"
		}, nil, nil},
		{"unknown key", func(c backends.Config) { c["bindDn"] = "x" }, nil, []string{`unknown field "bindDn"`}},
		{"everything missing", func(c backends.Config) { clear(c) }, nil,
			[]string{"config.url: required", "config.bindDN: required", "config.password: required", "config.baseDN: required"}},
		{"bad scheme", func(c backends.Config) { c["url"] = "http://x" }, nil, []string{"must start with ldap:// or ldaps://"}},
		{"starttls on ldaps", func(c backends.Config) { c["url"] = "ldaps://x"; c["startTLS"] = true }, nil, []string{"config.startTLS"}},
		{"bad DN", func(c backends.Config) { c["baseDN"] = "not a dn" }, nil, []string{"config.baseDN"}},
		{"cert without key", func(c backends.Config) { c["certFile"] = "/etc/hostname" }, nil, []string{"certFile and keyFile go together"}},
		{"missing CA file", func(c backends.Config) { c["caFile"] = "/no/such/ca.pem" }, nil, []string{"config.caFile"}},
		{"bad duration", func(c backends.Config) { c["timeout"] = "soon" }, nil, []string{"not a duration"}},
		{"bad permissive", func(c backends.Config) { c["permissiveModify"] = "yes" }, nil, []string{"config.permissiveModify"}},
		{"pool over cap", func(c backends.Config) { c["poolSize"] = 10; c["maxConcurrent"] = 5 }, nil, []string{"config.maxConcurrent"}},
		{"layout unknown key", nil, func(s *backends.Schema) { s.Users.Layout["rnd"] = "uid" }, []string{`users.target: unknown field "rnd"`}},
		{"layout missing", nil, func(s *backends.Schema) { s.Users.Layout = nil }, []string{"users.target: required"}},
		{"layout needs parent, rdn, classes", nil, func(s *backends.Schema) {
			s.Users.Layout = map[string]any{"id": "entryUUID"}
		}, []string{"users.target.parent: required", "users.target.rdn: required", "users.target.objectClasses: required"}},
		{"rdn not written", nil, func(s *backends.Schema) { s.Users.Layout["rdn"] = "employeeNumber" }, []string{"writes no employeeNumber attribute"}},
		{"member key in other case", nil, func(s *backends.Schema) { s.Groups.Layout["Member"] = map[string]any{"allowEmpty": true} }, []string{`unknown field "Member"`}},
		{"bad filter", nil, func(s *backends.Schema) { s.Users.Layout["filter"] = "(objectClass=user" }, []string{"users.target.filter"}},
		{"empty group undecided", nil, func(s *backends.Schema) { s.Groups.Layout["member"] = map[string]any{"attribute": "member"} }, []string{"say what an empty group holds"}},
		{"placeholder and allowEmpty", nil, func(s *backends.Schema) {
			s.Groups.Layout["member"] = map[string]any{"placeholder": "cn=x", "allowEmpty": true}
		}, []string{"exclude each other"}},
		{"bad member format", nil, func(s *backends.Schema) {
			s.Groups.Layout["member"] = map[string]any{"format": "uid", "allowEmpty": true}
		}, []string{`"uid" is not dn, id or attribute`}},
		{"attribute format needs userAttribute", nil, func(s *backends.Schema) {
			s.Groups.Layout["member"] = map[string]any{"attribute": "memberUid", "format": "attribute"}
		}, []string{"member.userAttribute: required"}},
		{"active needs bit or moveTo", nil, func(s *backends.Schema) { s.Users.Layout["active"] = map[string]any{"attribute": "scimActive"} }, []string{"needs bit or moveTo"}},
		{"active attribute not mapped", nil, func(s *backends.Schema) {
			s.Users.Layout["active"] = map[string]any{"attribute": "userAccountControl", "bit": 2}
		}, []string{`no attribute "userAccountControl"`}},
		{"active bit not a bit", nil, func(s *backends.Schema) {
			s.Users.Layout["active"] = map[string]any{"attribute": "scimActive", "bit": 6}
		}, []string{"not a single bit"}},
		{"moveTo outside searchBase", nil, func(s *backends.Schema) {
			s.Users.Layout["active"] = map[string]any{"attribute": "scimActive", "moveTo": "ou=disabled"}
		}, []string{"outside the searchBase"}},
		{"moveTo with searchBase", nil, func(s *backends.Schema) {
			s.Users.Layout["active"] = map[string]any{"attribute": "scimActive", "moveTo": "ou=disabled"}
			s.Users.Layout["searchBase"] = ""
		}, nil},
		{"id written", nil, func(s *backends.Schema) {
			s.Users.Attrs = append(s.Users.Attrs, backends.AttrSchema{Name: "entryUUID"})
		}, []string{"never written"}},
		{"same entries for both kinds", nil, func(s *backends.Schema) {
			s.Groups.Layout["objectClasses"] = []any{"inetOrgPerson"}
			s.Groups.Layout["parent"] = "ou=people"
		}, []string{"select the same entries"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			if tc.cfg != nil {
				tc.cfg(cfg)
			}
			schema := testSchema()
			if tc.schema != nil {
				tc.schema(&schema)
			}
			start := time.Now()
			err := Driver{}.Validate(cfg, schema)
			require.Less(t, time.Since(start), time.Second, "Validate did I/O")
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

// TestClassify: result codes become the backends' sentinels where they
// first appear, with the attribute the server's message names.
func TestClassify(t *testing.T) {
	ldapErr := func(code uint16, msg string) error { return goldap.NewError(code, errors.New(msg)) }
	tests := []struct {
		name string
		err  error
		want error
		attr string
	}{
		{"68", ldapErr(68, ""), backends.ErrConflict, ""},
		{"32", ldapErr(32, ""), backends.ErrNotFound, ""},
		{"51 busy", ldapErr(51, ""), backends.ErrUnavailable, ""},
		{"52 unavailable", ldapErr(52, ""), backends.ErrUnavailable, ""},
		{"53 unwilling", ldapErr(53, ""), backends.ErrUnavailable, ""},
		{"network", ldapErr(goldap.ErrorNetwork, "ldap: connection timed out"), backends.ErrUnavailable, ""},
		{"50 rights", ldapErr(50, ""), backends.ErrUnavailable, ""},
		{"19 constraint", ldapErr(19, "attribute 'mail' cannot have multiple values"), backends.ErrInvalid, "mail"},
		{"21 syntax", ldapErr(21, "givenName: value #0 invalid per syntax"), backends.ErrInvalid, "givenName"},
		{"65 missing must", ldapErr(65, "object class 'inetOrgPerson' requires attribute 'sn'"), backends.ErrInvalid, "sn"},
		{"12 critical extension", ldapErr(12, ""), backends.ErrUnsupported, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := classify("op", tc.err, []string{"mail", "givenName", "name", "cn"})
			require.ErrorIs(t, err, tc.want)
			var ie *backends.InvalidError
			if errors.As(err, &ie) {
				require.Equal(t, tc.attr, ie.Attr)
			}
		})
	}
}

// TestGUID: objectGUID bytes render as Windows shows them and convert back.
func TestGUID(t *testing.T) {
	raw := []byte{0x26, 0xb2, 0xf0, 0x4b, 0x2c, 0x51, 0xb7, 0x47, 0xa7, 0x30, 0x9d, 0xdb, 0x2b, 0x1b, 0x9a, 0x4d}
	s := guidString(raw)
	require.Equal(t, "4bf0b226-512c-47b7-a730-9ddb2b1b9a4d", s)
	u, err := parseUUID(s)
	require.NoError(t, err)
	require.Equal(t, raw, guidBytes(u))
	k := &kindLayout{idAttr: "objectGUID", idKind: idGUID}
	f, ok := k.idFilter(s)
	require.True(t, ok)
	require.Equal(t, `(objectGUID=\26\b2\f0\4b\2c\51\b7\47\a7\30\9d\db\2b\1b\9a\4d)`, f)
	_, ok = k.idFilter("*")
	require.False(t, ok)
}

func TestParseGeneralizedTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"20261126184457Z", "2026-11-26T18:44:57Z"},
		{"20261126184457.0Z", "2026-11-26T18:44:57Z"},
		{"20261126184457.5Z", "2026-11-26T18:44:57.5Z"},
		{"20261126194457+0100", "2026-11-26T18:44:57Z"},
		{"garbage", "0001-01-01T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, parseGeneralizedTime(tc.in).Format(time.RFC3339Nano))
		})
	}
}
