package mapping

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

func eq(attr, v string) backends.Cmp { return backends.Cmp{Attr: attr, Op: backends.Eq, Value: v} }

// filterMapping is the Pharos mapping plus attributes that exercise the
// translation rules: a transformed string, a computed-from-others value
// and a multi-valued complex attribute.
const filterMapping = `
users:
  target: {table: users, key: id}
  attributes:
    - {scim: externalId, target: external_id, match: 1}
    - {scim: userName, target: login, match: 2}
    - {scim: 'emails[type eq "work"].value', target: email}
    - {scim: 'emails[type eq "home"].value', target: home_email}
    - {scim: active, target: active, toTarget: 'value ? "1" : "0"'}
    - {scim: title, target: title}
    - {scim: displayName, target: display_name, toTarget: 'ToLower(value)'}
    - {scim: nickName, target: nick, toTarget: 'Join(" ", value, attr("title"))'}
    - {scim: manager, target: manager_id}
    - {scim: 'urn:example:2.0:User:badgeCards', target: cards, multiValued: true}
    - {scim: 'roles[primary eq true].value', target: role}
    - {scim: 'addresses[type eq "work"].country', target: country, toTarget: 'value == "" ? nil : ["a", "b"]'}
groups:
  target: {table: groups, key: id}
  attributes:
    - {scim: displayName, target: name, match: 1}
    - {scim: externalId, target: external_id}
`

func TestFilter(t *testing.T) {
	m := mustParse(t, filterMapping)
	tests := []struct {
		name   string
		kind   scim.Kind
		filter string
		want   backends.Expr
	}{
		// Every filter shape Entra sends (docs/entra.md §2.1, §2.4, §2.11, §8).
		{"probe by userName", scim.User, `userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"`, eq("login", "7d420df3-9995-4831-a406-ecf8166f5f6a")},
		{"userName, attribute in other case", scim.User, `USERNAME eq "Test_User"`, eq("login", "Test_User")},
		{"externalId unquoted", scim.User, `externalId eq jyoung`, eq("external_id", "jyoung")},
		{"externalId quoted", scim.User, `externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`, eq("external_id", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")},
		{"manager check", scim.User, `id eq 54D382A4-2050-4C03-94D1-E769F1D15682 and manager eq 2819c223-7f76-453a-919d-413861904646`,
			backends.And{Left: backends.Cmp{Attr: backends.AttrID, Op: backends.Eq, Value: "54D382A4-2050-4C03-94D1-E769F1D15682"}, Right: eq("manager_id", "2819c223-7f76-453a-919d-413861904646")}},
		{"manager check, terms swapped", scim.User, `manager eq "m" and id eq "i"`,
			backends.And{Left: eq("manager_id", "m"), Right: backends.Cmp{Attr: backends.AttrID, Op: backends.Eq, Value: "i"}}},
		{"manager by URN path", scim.User, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "m"`, eq("manager_id", "m")},
		{"manager.value", scim.User, `manager.value eq "m"`, eq("manager_id", "m")},
		{"work email", scim.User, `emails[type eq "work"].value eq "user@contoso.com"`, eq("email", "user@contoso.com")},
		{"work email, RFC form", scim.User, `emails[type eq "work" and value eq "user@contoso.com"]`, eq("email", "user@contoso.com")},
		{"any email", scim.User, `emails.value eq "a@x"`, backends.Or{Left: eq("email", "a@x"), Right: eq("home_email", "a@x")}},
		{"group probe", scim.Group, `displayName eq "5b0f4b30-25d5-4d3c-a5a8-c5e2f0c8c5a0"`, eq("name", "5b0f4b30-25d5-4d3c-a5a8-c5e2f0c8c5a0")},
		{"group by externalId", scim.Group, `externalId eq "MyGroup"`, eq("external_id", "MyGroup")},
		{"group member", scim.Group, `members eq "u1"`, backends.Cmp{Attr: backends.AttrMembers, Op: backends.Eq, Value: "u1"}},
		{"group member value", scim.Group, `members.value eq "u1"`, backends.Cmp{Attr: backends.AttrMembers, Op: backends.Eq, Value: "u1"}},
		{"group member, value path", scim.Group, `members[value eq "u1"]`, backends.Cmp{Attr: backends.AttrMembers, Op: backends.Eq, Value: "u1"}},
		{"group has members", scim.Group, `members pr`, backends.Cmp{Attr: backends.AttrMembers, Op: backends.Pr}},

		// Values are converted exactly as a write converts them.
		{"active true", scim.User, `active eq true`, eq("active", "1")},
		{"active false", scim.User, `active eq false`, eq("active", "0")},
		{"active as Entra's string", scim.User, `active eq "False"`, eq("active", "0")},
		{"active ne", scim.User, `active ne true`, backends.Cmp{Attr: "active", Op: backends.Ne, Value: "1"}},
		{"transformed eq", scim.User, `displayName eq "Ada LOVELACE"`, eq("display_name", "ada lovelace")},
		{"multi-valued", scim.User, `urn:example:2.0:User:badgeCards eq "0042"`, eq("cards", "0042")},
		{"boolean element filter", scim.User, `roles[primary eq true].value eq "admin"`, eq("role", "admin")},
		{"number compared with a string attribute", scim.User, `title eq 42`, eq("title", "42")},
		{"eq empty string", scim.User, `title eq ""`, backends.None{}},
		{"ne empty string", scim.User, `title ne ""`, backends.Cmp{Attr: "title", Op: backends.Pr}},
		{"eq null", scim.User, `title eq null`, backends.Not{X: backends.Cmp{Attr: "title", Op: backends.Pr}}},
		{"ne null", scim.User, `title ne null`, backends.Cmp{Attr: "title", Op: backends.Pr}},

		// Other operators on untransformed strings pass through.
		{"co", scim.User, `title co "eng"`, backends.Cmp{Attr: "title", Op: backends.Co, Value: "eng"}},
		{"sw", scim.User, `userName sw "J"`, backends.Cmp{Attr: "login", Op: backends.Sw, Value: "J"}},
		{"ew", scim.User, `userName ew "@contoso.com"`, backends.Cmp{Attr: "login", Op: backends.Ew, Value: "@contoso.com"}},
		{"gt", scim.User, `title gt "m"`, backends.Cmp{Attr: "title", Op: backends.Gt, Value: "m"}},
		{"le", scim.User, `title le "m"`, backends.Cmp{Attr: "title", Op: backends.Le, Value: "m"}},
		{"pr", scim.User, `title pr`, backends.Cmp{Attr: "title", Op: backends.Pr}},
		{"pr on a transformed attribute", scim.User, `active pr`, backends.Cmp{Attr: "active", Op: backends.Pr}},
		{"id ne", scim.User, `id ne "x"`, backends.Cmp{Attr: backends.AttrID, Op: backends.Ne, Value: "x"}},
		{"id pr", scim.User, `id pr`, backends.Cmp{Attr: backends.AttrID, Op: backends.Pr}},

		// Logic is kept; terms that cannot match collapse.
		{"or", scim.User, `userName eq "a" or externalId eq "b"`, backends.Or{Left: eq("login", "a"), Right: eq("external_id", "b")}},
		{"not", scim.User, `not (title eq "x")`, backends.Not{X: eq("title", "x")}},
		{"precedence", scim.User, `title eq "a" or title eq "b" and userName eq "c"`,
			backends.Or{Left: eq("title", "a"), Right: backends.And{Left: eq("title", "b"), Right: eq("login", "c")}}},
		{"id eq empty", scim.User, `id eq ""`, backends.None{}},
		{"and with a term no record satisfies", scim.User, `userName eq "a" and id eq ""`, backends.None{}},
		{"or with a term no record satisfies", scim.User, `id eq "" or userName eq "a"`, eq("login", "a")},
		{"not of a term no record satisfies is not everything", scim.User, `not (id eq "")`, backends.None{}},
		{"members eq null", scim.Group, `members eq null`, backends.None{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := scim.ParseFilter(tt.kind, tt.filter)
			require.NoError(t, err)
			got, err := m.Filter(tt.kind, f)
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Filter(%s) (-want +got):\n%s", tt.filter, diff)
			}
		})
	}
}

// TestFilterHostileValues: filter values are data. Quotes, parentheses,
// wildcards, backslashes and NULs reach the backend unchanged as a value,
// never as query syntax; escaping is the backend's job.
func TestFilterHostileValues(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	tests := []struct {
		name   string
		filter string
		value  string
	}{
		{"quote", `userName eq "a\"b"`, `a"b`},
		{"single quote", `userName eq "O'Brien"`, `O'Brien`},
		{"parentheses", `userName eq "x)(objectClass=*"`, `x)(objectClass=*`},
		{"wildcard", `userName eq "*"`, `*`},
		{"backslash", `userName eq "a\\b"`, `a\b`},
		{"LDAP escape", `userName eq "\\2a"`, `\2a`},
		{"SQL", `userName eq "x' OR '1'='1"`, `x' OR '1'='1`},
		{"percent and underscore", `userName eq "100%_"`, `100%_`},
		{"NUL", `userName eq "a\u0000b"`, "a\x00b"},
		{"unicode", `userName eq "Zoë@exämple.org"`, `Zoë@exämple.org`},
		{"keywords", `userName eq "x and y or not z"`, `x and y or not z`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := scim.ParseFilter(scim.User, tt.filter)
			require.NoError(t, err)
			got, err := m.Filter(scim.User, f)
			require.NoError(t, err)
			require.Equal(t, eq("login", tt.value), got)

			co, err := m.Filter(scim.User, scim.Compare{Path: scim.MustParsePath(scim.User, "title"), Op: "co", Value: tt.value})
			require.NoError(t, err)
			require.Equal(t, backends.Cmp{Attr: "title", Op: backends.Co, Value: tt.value}, co)
		})
	}
}

func TestFilterErrors(t *testing.T) {
	m := mustParse(t, filterMapping)
	tests := []struct {
		name   string
		filter string
		detail string
	}{
		{"gt on a boolean", `active gt true`, "cannot filter on active with gt: a boolean supports eq, ne and pr only"},
		{"co on a transformed attribute", `displayName co "a"`, "cannot filter on displayName with co: the mapping transforms the value (toTarget), so the stored text cannot be compared that way"},
		{"sw on a transformed attribute", `displayName sw "a"`, "cannot filter on displayName with sw: the mapping transforms the value (toTarget), so the stored text cannot be compared that way"},
		{"value computed from other attributes", `nickName eq "a"`, "cannot filter on nickName with eq: its target value is computed from other attributes"},
		{"boolean that is not one", `active eq "maybe"`, "cannot filter on active with eq: the value must be true or false"},
		{"co on a reference", `manager co "a"`, "cannot filter on urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager with co: a reference supports eq, ne and pr only"},
		{"transform giving several values", `addresses[type eq "work"].country eq "x"`, `cannot filter on addresses[type eq "work"].country with eq: attribute addresses[type eq "work"].country (country) takes one value, got 2`},
		{"gt null", `title gt null`, "cannot filter on title with gt: null can only be compared with eq or ne"},
		{"co on id", `id co "a"`, "id supports eq, ne and pr, not co"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := scim.ParseFilter(scim.User, tt.filter)
			require.NoError(t, err)
			_, err = m.Filter(scim.User, f)
			requireSCIMError(t, err, http.StatusBadRequest, scim.InvalidFilter, tt.detail)
		})
	}

	f, err := scim.ParseFilter(scim.Group, `members gt "u"`)
	require.NoError(t, err)
	_, err = m.Filter(scim.Group, f)
	requireSCIMError(t, err, http.StatusBadRequest, scim.InvalidFilter, "members supports eq, ne and pr, not gt")

	// Filters built in code rather than parsed.
	_, err = m.Filter(scim.User, scim.Logical{Op: "xor", Left: scim.Compare{Path: scim.MustParsePath(scim.User, "title"), Op: "pr"}, Right: scim.Compare{Path: scim.MustParsePath(scim.User, "title"), Op: "pr"}})
	requireSCIMError(t, err, http.StatusBadRequest, scim.InvalidFilter, `unknown logical operator "xor"`)
	_, err = m.Filter(scim.User, scim.Compare{Path: scim.MustParsePath(scim.User, "title"), Op: "like", Value: "x"})
	requireSCIMError(t, err, http.StatusBadRequest, scim.InvalidFilter, `unknown operator "like"`)
	_, err = m.Filter(scim.User, scim.Not{})
	requireSCIMError(t, err, http.StatusBadRequest, scim.InvalidFilter, "empty filter term")
	var deep scim.Filter = scim.Compare{Path: scim.MustParsePath(scim.User, "title"), Op: "pr"}
	for range maxFilterDepth + 1 {
		deep = scim.Not{Filter: deep}
	}
	_, err = m.Filter(scim.User, deep)
	requireSCIMError(t, err, http.StatusBadRequest, scim.InvalidFilter, "the filter is nested too deeply")

	got, err := m.Filter(scim.User, nil)
	require.NoError(t, err)
	require.Nil(t, got)
	_, err = m.Filter("Device", nil)
	require.Error(t, err)
}

// TestFilterWithoutMembers: with membership not provisioned, a member
// filter is a 400 saying so, not an empty list.
func TestFilterWithoutMembers(t *testing.T) {
	m := mustParse(t, minimalUsers+"groups:\n  target: {t: 1}\n  members: false\n  attributes:\n    - {scim: displayName, target: n, match: 1}\n")
	f, err := scim.ParseFilter(scim.Group, `members eq "u1"`)
	require.NoError(t, err)
	_, err = m.Filter(scim.Group, f)
	var se *scim.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, scim.InvalidFilter, se.ScimType)
	require.Contains(t, se.Detail, "groups.members is false")
}

// TestFilterOnWhatIsNotStored: a filter the target cannot answer is a 400
// naming the attribute, never a silent empty list (a client would take it
// for "no such user"), wherever the term stands.
func TestFilterOnWhatIsNotStored(t *testing.T) {
	m := mustParse(t, filterMapping)
	for _, tc := range []struct {
		name, filter, want string
	}{
		{"unmapped attribute", `preferredLanguage eq "en"`, "cannot filter on preferredLanguage: this tenant's mapping does not store it"},
		{"unknown attribute", `favouriteColour eq "blue"`, "cannot filter on favouriteColour:"},
		{"unknown extension", `urn:example:other:2.0:User:x eq "1"`, "cannot filter on urn:example:other:2.0:User:x:"},
		{"unmapped element", `phoneNumbers[type eq "work"].value eq "1"`, `cannot filter on phoneNumbers[type eq "work"].value:`},
		{"meta", `meta.lastModified gt "2011-05-13T04:42:34Z"`, "cannot filter on meta.lastModified:"},
		{"and with unmapped", `userName eq "a" and nickName2 eq "b"`, "cannot filter on nickName2:"},
		{"or with unmapped", `nickName2 eq "b" or userName eq "a"`, "cannot filter on nickName2:"},
		{"not unmapped", `not (nickName2 eq "b")`, "cannot filter on nickName2:"},
		{"members is not a user attribute", `members eq "x"`, "cannot filter on members:"},
		{"any email, ne", `emails.value ne "a@x"`, "cannot filter on emails.value with ne: this tenant's mapping stores only some elements of emails"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := scim.ParseFilter(scim.User, tc.filter)
			require.NoError(t, err)
			_, err = m.Filter(scim.User, f)
			var se *scim.Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, http.StatusBadRequest, se.Status)
			require.Equal(t, scim.InvalidFilter, se.ScimType)
			require.Contains(t, se.Detail, tc.want)
		})
	}
}
