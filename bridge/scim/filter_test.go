package scim

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func cmpEq(attr, v string) Compare { return Compare{Path: Path{Attr: attr}, Op: "eq", Value: v} }

func TestParseFilter(t *testing.T) {
	mgr := Path{URN: SchemaEnterprise, Attr: "manager"}
	workEmail := Path{Attr: "emails", Filter: cmpEq("type", "work"), Sub: "value"}
	tests := []struct {
		name string
		kind Kind
		in   string
		want Filter
		text string // canonical text; "" = same as in
	}{
		{name: "probe userName", kind: User, in: `userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"`, want: cmpEq("userName", "7d420df3-9995-4831-a406-ecf8166f5f6a")},
		{name: "externalId quoted", kind: User, in: `externalId eq "jyoung"`, want: cmpEq("externalId", "jyoung")},
		{name: "unquoted externalId", kind: User, in: `externalId eq jyoung`, want: cmpEq("externalId", "jyoung"), text: `externalId eq "jyoung"`},
		{name: "unquoted id and manager", kind: User,
			in:   `id eq 54D382A4-2050-4C03-94D1-E769F1D15682 and manager eq 2819c223-7f76-453a-919d-413861904646`,
			want: Logical{Op: "and", Left: cmpEq("id", "54D382A4-2050-4C03-94D1-E769F1D15682"), Right: Compare{Path: mgr, Op: "eq", Value: "2819c223-7f76-453a-919d-413861904646"}},
			text: `id eq "54D382A4-2050-4C03-94D1-E769F1D15682" and ` + SchemaEnterprise + `:manager eq "2819c223-7f76-453a-919d-413861904646"`},
		{name: "manager check reversed, case-insensitive names", kind: User,
			in:   `MANAGER eq "m" AND ID eq "u"`,
			want: Logical{Op: "and", Left: Compare{Path: mgr, Op: "eq", Value: "m"}, Right: cmpEq("id", "u")},
			text: SchemaEnterprise + `:manager eq "m" and id eq "u"`},
		{name: "operator case", kind: User, in: `UserName EQ "john"`, want: cmpEq("userName", "john"), text: `userName eq "john"`},
		{name: "work email value path then compare", kind: User, in: `emails[type eq "work"].value eq "user@contoso.com"`,
			want: Compare{Path: workEmail, Op: "eq", Value: "user@contoso.com"}},
		{name: "work email conjunction in brackets", kind: User, in: `emails[type eq "work" and value eq "user@contoso.com"]`,
			want: Compare{Path: workEmail, Op: "eq", Value: "user@contoso.com"}, text: `emails[type eq "work"].value eq "user@contoso.com"`},
		{name: "value term first in brackets", kind: User, in: `emails[value eq "x" and type eq "work"]`,
			want: Compare{Path: workEmail, Op: "eq", Value: "x"}, text: `emails[type eq "work"].value eq "x"`},
		{name: "members value path", kind: Group, in: `members[value eq "u1"]`,
			want: Compare{Path: Path{Attr: "members", Sub: "value"}, Op: "eq", Value: "u1"}, text: `members.value eq "u1"`},
		{name: "value path with or stays pr", kind: User, in: `emails[type eq "work" or type eq "home"]`,
			want: Compare{Path: Path{Attr: "emails", Filter: Logical{Op: "or", Left: cmpEq("type", "work"), Right: cmpEq("type", "home")}}, Op: "pr"},
			text: `emails[type eq "work" or type eq "home"] pr`},
		{name: "group displayName", kind: Group, in: `displayName eq "displayName"`, want: cmpEq("displayName", "displayName")},
		{name: "group id and members", kind: Group, in: `id eq "g" and members eq "u"`,
			want: Logical{Op: "and", Left: cmpEq("id", "g"), Right: cmpEq("members", "u")}},
		{name: "escaped quote and backslash", kind: User, in: `userName eq "a\"b\\c"`, want: cmpEq("userName", `a"b\c`)},
		{name: "lower-case unicode escape", kind: User, in: `userName eq "\u00e9t\u00E9"`, want: cmpEq("userName", "été"), text: `userName eq "été"`},
		{name: "utf-8 passes through", kind: User, in: `displayName eq "Zoë Ünal"`, want: cmpEq("displayName", "Zoë Ünal")},
		{name: "parentheses and star stay data", kind: Group, in: `displayName eq "a(b)*c\\d"`, want: cmpEq("displayName", `a(b)*c\d`)},
		{name: "brackets and and/or stay data", kind: Group, in: `displayName eq "x] and [y or (z"`, want: cmpEq("displayName", `x] and [y or (z`)},
		{name: "slash escape", kind: User, in: `userName eq "a\/b"`, want: cmpEq("userName", "a/b"), text: `userName eq "a/b"`},
		{name: "number on string attribute", kind: User, in: `externalId eq 12345`, want: cmpEq("externalId", "12345"), text: `externalId eq "12345"`},
		{name: "leading zero is a string", kind: User, in: `externalId eq 0123`, want: cmpEq("externalId", "0123"), text: `externalId eq "0123"`},
		{name: "number on unknown attribute", kind: User, in: `age gt 10`, want: Compare{Path: Path{Attr: "age"}, Op: "gt", Value: json.Number("10")}},
		{name: "exponent number", kind: User, in: `x ge 1.5e3`, want: Compare{Path: Path{Attr: "x"}, Op: "ge", Value: json.Number("1.5e3")}},
		{name: "boolean", kind: User, in: `active eq true`, want: Compare{Path: Path{Attr: "active"}, Op: "eq", Value: true}},
		{name: "boolean upper", kind: User, in: `active eq TRUE`, want: Compare{Path: Path{Attr: "active"}, Op: "eq", Value: true}, text: `active eq true`},
		{name: "string boolean on active", kind: User, in: `active eq "False"`, want: Compare{Path: Path{Attr: "active"}, Op: "eq", Value: false}, text: `active eq false`},
		{name: "string boolean on primary", kind: User, in: `roles[primary eq "True"]`,
			want: Compare{Path: Path{Attr: "roles", Sub: "primary"}, Op: "eq", Value: true}, text: `roles.primary eq true`},
		{name: "null", kind: User, in: `title eq null`, want: Compare{Path: Path{Attr: "title"}, Op: "eq"}},
		{name: "present", kind: User, in: `title pr`, want: Compare{Path: Path{Attr: "title"}, Op: "pr"}},
		{name: "enterprise URN attribute", kind: User, in: SchemaEnterprise + `:employeeNumber eq "701984"`,
			want: Compare{Path: Path{URN: SchemaEnterprise, Attr: "employeeNumber"}, Op: "eq", Value: "701984"}},
		{name: "core URN attribute", kind: User, in: SchemaUser + `:userName eq "u"`, want: cmpEq("userName", "u"), text: `userName eq "u"`},
		{name: "sub-attribute", kind: User, in: `name.familyName sw "Je"`, want: Compare{Path: Path{Attr: "name", Sub: "familyName"}, Op: "sw", Value: "Je"}},
		{name: "or binds looser than and", kind: User, in: `a eq "1" or b eq "2" and c eq "3"`,
			want: Logical{Op: "or", Left: cmpEq("a", "1"), Right: Logical{Op: "and", Left: cmpEq("b", "2"), Right: cmpEq("c", "3")}}},
		{name: "parentheses", kind: User, in: `(a eq "1" or b eq "2") and c eq "3"`,
			want: Logical{Op: "and", Left: Logical{Op: "or", Left: cmpEq("a", "1"), Right: cmpEq("b", "2")}, Right: cmpEq("c", "3")}},
		{name: "not", kind: User, in: `not (active eq true)`, want: Not{Filter: Compare{Path: Path{Attr: "active"}, Op: "eq", Value: true}}},
		{name: "not without space", kind: User, in: `NOT(title pr)`, want: Not{Filter: Compare{Path: Path{Attr: "title"}, Op: "pr"}}, text: `not (title pr)`},
		{name: "attribute named not", kind: User, in: `not eq "x"`, want: cmpEq("not", "x")},
		{name: "all operators", kind: User, in: `a ne "1" and b co "2" and c sw "3" and d ew "4" and e gt "5" and f ge "6" and g lt "7" and h le "8"`,
			want: func() Filter {
				var f Filter
				for i, op := range []string{"ne", "co", "sw", "ew", "gt", "ge", "lt", "le"} {
					c := Compare{Path: Path{Attr: string(rune('a' + i))}, Op: op, Value: string(rune('1' + i))}
					if f == nil {
						f = c
					} else {
						f = Logical{Op: "and", Left: f, Right: c}
					}
				}
				return f
			}()},
		{name: "tabs and extra spaces", kind: User, in: "userName  eq\t\"x\"", want: cmpEq("userName", "x"), text: `userName eq "x"`},
		{name: "raw control character escaped", kind: User, in: "userName eq \"a\tb\"", want: cmpEq("userName", "a\tb"), text: `userName eq "a\tb"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFilter(tc.kind, tc.in)
			require.NoError(t, err)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("ParseFilter(%q) mismatch (-want +got):\n%s", tc.in, d)
			}
			text := tc.text
			if text == "" {
				text = tc.in
			}
			require.Equal(t, text, FilterString(got))
			again, err := ParseFilter(tc.kind, FilterString(got))
			require.NoError(t, err)
			if d := cmp.Diff(got, again); d != "" {
				t.Fatalf("canonical text %q does not round-trip (-first +again):\n%s", FilterString(got), d)
			}
		})
	}
}

// TestParseFilterFromQuery checks filters as net/url decodes them from the
// wire: '+' and %20 both become spaces (docs/entra.md §2.4).
func TestParseFilterFromQuery(t *testing.T) {
	for _, raw := range []string{
		"filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22",
		"filter=userName%20eq%20%227d420df3-9995-4831-a406-ecf8166f5f6a%22",
	} {
		q, err := url.ParseQuery(raw)
		require.NoError(t, err)
		f, err := ParseFilter(User, q.Get("filter"))
		require.NoError(t, err)
		require.Equal(t, cmpEq("userName", "7d420df3-9995-4831-a406-ecf8166f5f6a"), f)
	}
	q, err := url.ParseQuery("filter=userName%20eq%20%22Fred.Smith%40mydomain.com%22")
	require.NoError(t, err)
	f, err := ParseFilter(User, q.Get("filter"))
	require.NoError(t, err)
	require.Equal(t, cmpEq("userName", "Fred.Smith@mydomain.com"), f)
	// A '+' inside a value must arrive percent-encoded; decoded, it is data.
	q, err = url.ParseQuery("filter=displayName+eq+%22a%2Bb%22")
	require.NoError(t, err)
	f, err = ParseFilter(Group, q.Get("filter"))
	require.NoError(t, err)
	require.Equal(t, cmpEq("displayName", "a+b"), f)
}

func TestParseFilterErrors(t *testing.T) {
	deep := strings.Repeat("(", MaxFilterDepth+1) + "a pr" + strings.Repeat(")", MaxFilterDepth+1)
	deepNot := strings.Repeat("not (", MaxFilterDepth+1) + "a pr" + strings.Repeat(")", MaxFilterDepth+1)
	tests := []struct {
		name      string
		in        string
		fragments []string
	}{
		{"empty", "", []string{"empty"}},
		{"missing value", `userName eq`, []string{`expected a value after "eq"`, "end of the text"}},
		{"missing operator", `userName "x"`, []string{"expected an operator", "position 10"}},
		{"unknown operator", `userName == "x"`, []string{"expected an operator", `"=="`}},
		{"unterminated string", `userName eq "x`, []string{"no closing double quote", "position 13"}},
		{"lone backslash", `userName eq "x\`, []string{"lone backslash"}},
		{"bad escape", `userName eq "x\q"`, []string{`unknown escape \q`}},
		{"short unicode escape", `userName eq "\u12"`, []string{`\u escape`}},
		{"unclosed parenthesis", `(userName eq "x"`, []string{"closing ')'", "position 1"}},
		{"stray closing parenthesis", `userName eq "x")`, []string{"closes nothing", "position 16"}},
		{"dangling and", `userName eq "x" and`, []string{"ends where a comparison"}},
		{"double and", `a pr and and b pr`, []string{"expected an operator"}},
		{"junk after", `a pr b pr`, []string{"expected 'and', 'or'", `"b"`}},
		{"value is a parenthesis", `a eq (`, []string{"expected a value"}},
		{"single quotes", `userName eq 'x'`, []string{"single quotes"}},
		{"nested value filter", `emails[x[y pr] pr]`, []string{"cannot be nested"}},
		{"unclosed bracket", `emails[type eq "work"`, []string{"closing ']'"}},
		{"sub without operator", `emails[type eq "work"].value`, []string{"expected an operator"}},
		{"bad attribute", `1x eq "a"`, []string{"not an attribute path"}},
		{"schema alone", SchemaEnterprise + ` eq "a"`, []string{"names a schema"}},
		{"too deep", deep, []string{"more than 32 levels"}},
		{"too deep not", deepNot, []string{"more than 32 levels"}},
		{"too long", `userName eq "` + strings.Repeat("x", MaxFilterLength) + `"`, []string{"at most 4096"}},
		{"invalid utf-8", "userName eq \"\xff\"", []string{"not valid UTF-8"}},
		{"starts with and", `and a pr`, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFilter(User, tc.in)
			requireSCIMError(t, err, InvalidFilter, tc.fragments...)
			require.LessOrEqual(t, len(err.(*Error).Detail), 400, "detail should stay short")
		})
	}
}

func TestParseFilterDepthLimitIsExact(t *testing.T) {
	ok := strings.Repeat("(", MaxFilterDepth) + "a pr" + strings.Repeat(")", MaxFilterDepth)
	_, err := ParseFilter(User, ok)
	require.NoError(t, err)
	long := "a pr" + strings.Repeat(" and a pr", 400)
	_, err = ParseFilter(User, long)
	require.NoError(t, err, "long flat chains are fine, only nesting is bounded")
}

func TestMatch(t *testing.T) {
	r, err := Decode(User, []byte(`{
		"userName": "Joy@Contoso.com", "externalId": "jyoung", "active": true,
		"name": {"givenName": "Joy", "familyName": "Young"},
		"emails": [{"type": "work", "value": "joy@contoso.com", "primary": true}, {"type": "other", "value": "jy@x.org"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "m1", "employeeNumber": "42"}
	}`))
	require.NoError(t, err)
	r["id"] = "u1"
	tests := []struct {
		filter string
		want   bool
	}{
		{`userName eq "joy@contoso.com"`, true},
		{`userName eq "other"`, false},
		{`externalId eq jyoung`, true},
		{`id eq "u1" and manager eq "m1"`, true},
		{`id eq "u1" and manager eq "m2"`, false},
		{`manager.value eq "M1"`, true},
		{`emails[type eq "work"].value eq "JOY@contoso.com"`, true},
		{`emails[type eq "other" and value eq "joy@contoso.com"]`, false},
		{`emails[type eq "other"]`, true},
		{`emails.value ew "x.org"`, true},
		{`emails[type eq "home" or primary eq true] pr`, true},
		{`name.familyName sw "you"`, true},
		{`name.familyName co "oun"`, true},
		{`title pr`, false},
		{`title eq null`, true},
		{`title ne null`, false},
		{`userName ne "x"`, true},
		{`active eq true`, true},
		{`active eq "False"`, false},
		{`not (active eq false)`, true},
		{`employeeNumber gt 41`, true},
		{`employeeNumber lt "5"`, true},
		{`employeeNumber ge 42 and employeeNumber le 42`, true},
		{`userName eq "x" or externalId eq "JYOUNG"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			require.Equal(t, tc.want, Match(r, MustParseFilter(User, tc.filter)))
		})
	}
	require.False(t, Match(r, nil))
	require.Panics(t, func() { MustParseFilter(User, "") })
}
