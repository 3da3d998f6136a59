package scim

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestParsePath(t *testing.T) {
	work := Compare{Path: Path{Attr: "type"}, Op: "eq", Value: "work"}
	tests := []struct {
		name string
		kind Kind
		in   string
		want Path
		text string // canonical String(); "" = same as in
	}{
		{name: "simple", kind: User, in: "userName", want: Path{Attr: "userName"}},
		{name: "case folded", kind: User, in: "USERNAME", want: Path{Attr: "userName"}, text: "userName"},
		{name: "active", kind: User, in: "active", want: Path{Attr: "active"}},
		{name: "sub-attribute", kind: User, in: "name.givenName", want: Path{Attr: "name", Sub: "givenName"}},
		{name: "sub-attribute case", kind: User, in: "Name.FamilyName", want: Path{Attr: "name", Sub: "familyName"}, text: "name.familyName"},
		{name: "value filter with sub", kind: User, in: `emails[type eq "work"].value`, want: Path{Attr: "emails", Filter: work, Sub: "value"}},
		{name: "value filter casing", kind: User, in: `Emails[Type eq "work"].Value`, want: Path{Attr: "emails", Filter: work, Sub: "value"}, text: `emails[type eq "work"].value`},
		{name: "proxy addresses capital V", kind: User, in: `emails[type eq "other"].Value`,
			want: Path{Attr: "emails", Filter: Compare{Path: Path{Attr: "type"}, Op: "eq", Value: "other"}, Sub: "value"}, text: `emails[type eq "other"].value`},
		{name: "addresses capital F", kind: User, in: `addresses[type eq "other"].Formatted`,
			want: Path{Attr: "addresses", Filter: Compare{Path: Path{Attr: "type"}, Op: "eq", Value: "other"}, Sub: "formatted"}, text: `addresses[type eq "other"].formatted`},
		{name: "phone mobile", kind: User, in: `phoneNumbers[type eq "mobile"].value`,
			want: Path{Attr: "phoneNumbers", Filter: Compare{Path: Path{Attr: "type"}, Op: "eq", Value: "mobile"}, Sub: "value"}},
		{name: "roles primary string boolean", kind: User, in: `roles[primary eq "True"].display`,
			want: Path{Attr: "roles", Filter: Compare{Path: Path{Attr: "primary"}, Op: "eq", Value: true}, Sub: "display"}, text: `roles[primary eq true].display`},
		{name: "core URN dropped", kind: User, in: "urn:ietf:params:scim:schemas:core:2.0:User:userName", want: Path{Attr: "userName"}, text: "userName"},
		{name: "core URN with sub", kind: User, in: "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", want: Path{Attr: "name", Sub: "givenName"}, text: "name.givenName"},
		{name: "group core URN dropped", kind: Group, in: "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", want: Path{Attr: "displayName"}, text: "displayName"},
		{name: "enterprise department", kind: User, in: SchemaEnterprise + ":department", want: Path{URN: SchemaEnterprise, Attr: "department"}},
		{name: "enterprise employeeNumber", kind: User, in: SchemaEnterprise + ":employeeNumber", want: Path{URN: SchemaEnterprise, Attr: "employeeNumber"}},
		{name: "enterprise manager", kind: User, in: SchemaEnterprise + ":manager", want: Path{URN: SchemaEnterprise, Attr: "manager"}},
		{name: "enterprise manager value", kind: User, in: SchemaEnterprise + ":manager.value", want: Path{URN: SchemaEnterprise, Attr: "manager", Sub: "value"}},
		{name: "enterprise URN case", kind: User, in: strings.ToLower(SchemaEnterprise) + ":DEPARTMENT", want: Path{URN: SchemaEnterprise, Attr: "department"}, text: SchemaEnterprise + ":department"},
		{name: "legacy dotted enterprise path", kind: User, in: SchemaEnterprise + ".manager", want: Path{URN: SchemaEnterprise, Attr: "manager"}, text: SchemaEnterprise + ":manager"},
		{name: "bare manager", kind: User, in: "manager", want: Path{URN: SchemaEnterprise, Attr: "manager"}, text: SchemaEnterprise + ":manager"},
		{name: "bare department", kind: User, in: "Department", want: Path{URN: SchemaEnterprise, Attr: "department"}, text: SchemaEnterprise + ":department"},
		{name: "bare costCenter organization division employeeNumber", kind: User, in: "costcenter", want: Path{URN: SchemaEnterprise, Attr: "costCenter"}, text: SchemaEnterprise + ":costCenter"},
		{name: "manager filter", kind: User, in: `manager[value eq "m1"]`,
			want: Path{URN: SchemaEnterprise, Attr: "manager", Filter: Compare{Path: Path{Attr: "value"}, Op: "eq", Value: "m1"}}, text: SchemaEnterprise + `:manager[value eq "m1"]`},
		{name: "bare enterprise name on group stays", kind: Group, in: "department", want: Path{Attr: "department"}},
		{name: "enterprise URN alone", kind: User, in: SchemaEnterprise, want: Path{URN: SchemaEnterprise}},
		{name: "custom extension", kind: User, in: "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute",
			want: Path{URN: "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User", Attr: "CustomAttribute"}},
		{name: "custom extension with underscore", kind: User, in: "urn:ietf:params:scim:schemas:extension:Custom_X:2.0:User:attr_1",
			want: Path{URN: "urn:ietf:params:scim:schemas:extension:Custom_X:2.0:User", Attr: "attr_1"}},
		{name: "members", kind: Group, in: "members", want: Path{Attr: "members"}},
		{name: "members value filter", kind: Group, in: `members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]`,
			want: Path{Attr: "members", Filter: Compare{Path: Path{Attr: "value"}, Op: "eq", Value: "7f4bc1a3-285e-48ae-8202-5accb43efb0e"}}},
		{name: "members ref", kind: Group, in: `members[value eq "a"].$ref`,
			want: Path{Attr: "members", Filter: Compare{Path: Path{Attr: "value"}, Op: "eq", Value: "a"}, Sub: "$ref"}},
		{name: "unknown kept as written", kind: User, in: "fooBar.Baz", want: Path{Attr: "fooBar", Sub: "Baz"}},
		{name: "unknown sub of known kept", kind: User, in: "name.Nope", want: Path{Attr: "name", Sub: "Nope"}},
		{name: "two-term value filter", kind: User, in: `emails[type eq "work" and primary eq true].value`,
			want: Path{Attr: "emails", Filter: Logical{Op: "and", Left: work, Right: Compare{Path: Path{Attr: "primary"}, Op: "eq", Value: true}}, Sub: "value"}},
		{name: "three-term value filter", kind: User, in: `emails[type eq "work" and primary eq true and display pr].value`,
			want: Path{Attr: "emails", Filter: Logical{Op: "and", Left: Logical{Op: "and", Left: work, Right: Compare{Path: Path{Attr: "primary"}, Op: "eq", Value: true}}, Right: Compare{Path: Path{Attr: "display"}, Op: "pr"}}, Sub: "value"}},
		{name: "spaces around", kind: User, in: "  userName ", want: Path{Attr: "userName"}, text: "userName"},
		{name: "lower-case unicode escape in filter", kind: User, in: `emails[type eq "w\u00e9rk"].value`,
			want: Path{Attr: "emails", Filter: Compare{Path: Path{Attr: "type"}, Op: "eq", Value: "wérk"}, Sub: "value"}, text: `emails[type eq "wérk"].value`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePath(tc.kind, tc.in)
			require.NoError(t, err)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("ParsePath(%q) mismatch (-want +got):\n%s", tc.in, d)
			}
			text := tc.text
			if text == "" {
				text = tc.in
			}
			require.Equal(t, text, got.String())
			// The canonical text parses back to the same path.
			again, err := ParsePath(tc.kind, got.String())
			require.NoError(t, err)
			require.True(t, again.Equal(got), "%q reparsed as %q", got.String(), again.String())
		})
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		fragments []string
	}{
		{"empty", "", []string{"empty"}},
		{"blank", "   ", []string{"empty"}},
		{"digit start", "1abc", []string{`"1abc"`, "position 1"}},
		{"two subs", "name.givenName.x", []string{"not an attribute path"}},
		{"unclosed bracket", `emails[type eq "work"`, []string{"closing ']'", "position 7"}},
		{"unterminated string", `emails[type eq "work].value`, []string{"no closing double quote", "position 16"}},
		{"missing operator", `emails[type "work"].value`, []string{"expected an operator", "position 13"}},
		{"nested brackets", `emails[x[y eq 1] eq 2]`, []string{"cannot be nested"}},
		{"trailing garbage", `userName foo`, []string{"unexpected", `"foo"`}},
		{"core URN alone", SchemaUser, []string{"names a schema"}},
		{"URN with nothing after", "urn:foo:bar:", []string{"nothing follows"}},
		{"bad escape", `emails[type eq "a\qb"].value`, []string{`unknown escape \q`}},
		{"bad unicode escape", `emails[type eq "a\u12"].value`, []string{`\u escape`}},
		{"filter after sub", `name.givenName[type eq "x"]`, []string{"must follow a plain attribute name"}},
		{"bad sub after filter", `emails[type eq "work"].1x`, []string{"not a sub-attribute name"}},
		{"too long", strings.Repeat("a", MaxFilterLength+1), []string{"at most 4096"}},
		{"URN in value filter", `emails[` + SchemaUser + `:type eq "x"]`, []string{"sub-attributes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePath(User, tc.in)
			requireSCIMError(t, err, InvalidPath, tc.fragments...)
		})
	}
}

func TestPathEqual(t *testing.T) {
	a := MustParsePath(User, `emails[type eq "work"].value`)
	require.True(t, a.Equal(MustParsePath(User, `EMAILS[TYPE EQ "work"].VALUE`)))
	require.False(t, a.Equal(MustParsePath(User, `emails[type eq "home"].value`)))
	require.False(t, a.Equal(MustParsePath(User, `emails.value`)))
	require.False(t, a.Equal(MustParsePath(User, `emails[type eq "work"].display`)))
	require.True(t, MustParsePath(User, "manager").Equal(MustParsePath(User, SchemaEnterprise+":manager")))
	require.Equal(t, Path{Attr: "emails"}, a.Attribute())
	require.Panics(t, func() { MustParsePath(User, "") })
}
