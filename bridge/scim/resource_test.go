package scim

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		body string
		want string // canonical resource as JSON
	}{
		{
			name: "entra create user",
			kind: User,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"externalId":"0a21f0f2","userName":"Test_User","active":true,
				"emails":[{"primary":true,"type":"work","value":"t@testuser.com"}],
				"meta":{"resourceType":"User"},"name":{"formatted":"g f","familyName":"f","givenName":"g"},"roles":[]}`,
			want: `{"externalId":"0a21f0f2","userName":"Test_User","active":true,
				"emails":[{"primary":true,"type":"work","value":"t@testuser.com"}],
				"name":{"formatted":"g f","familyName":"f","givenName":"g"},"roles":[]}`,
		},
		{
			name: "nulls dropped and typo URN ignored",
			kind: User,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
				"externalId":"jyoung","userName":"jyoung@testuser.com","active":true,"addresses":null,"displayName":"Joy Young",
				"emails":[{"type":"work","value":"jyoung@Contoso.com","primary":true}],"meta":{"resourceType":"User"},
				"name":{"familyName":"Young","givenName":"Joy"},"phoneNumbers":null,"preferredLanguage":null,"title":null,
				"department":null,"manager":null}`,
			want: `{"externalId":"jyoung","userName":"jyoung@testuser.com","active":true,"displayName":"Joy Young",
				"emails":[{"type":"work","value":"jyoung@Contoso.com","primary":true}],"name":{"familyName":"Young","givenName":"Joy"}}`,
		},
		{
			name: "active string True and primary string",
			kind: User,
			body: `{"userName":"u","active":"True","emails":[{"type":"work","value":"a@b","primary":"TRUE"}]}`,
			want: `{"userName":"u","active":true,"emails":[{"type":"work","value":"a@b","primary":true}]}`,
		},
		{
			name: "active lower false",
			kind: User,
			body: `{"userName":"u","active":"false"}`,
			want: `{"userName":"u","active":false}`,
		},
		{
			name: "key casing folded",
			kind: User,
			body: `{"USERNAME":"u","Name":{"GivenName":"g"},"Emails":[{"Value":"a@b","TYPE":"work"}],"Custom":"x"}`,
			want: `{"userName":"u","name":{"givenName":"g"},"emails":[{"value":"a@b","type":"work"}],"Custom":"x"}`,
		},
		{
			name: "read-only removed",
			kind: User,
			body: `{"id":"evil","userName":"u","meta":{"created":"x"},"groups":[{"value":"g"}],"Schemas":["x"]}`,
			want: `{"userName":"u"}`,
		},
		{
			name: "enterprise extension with complex manager",
			kind: User,
			body: `{"userName":"bjensen","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","costCenter":"4130",
				"organization":"Universal Studios","division":"Theme Park","department":"Tour Operations",
				"manager":{"value":"26118915","$ref":"../Users/26118915","displayName":"John Smith"}},
				"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User":{"CustomAttribute":"701984"}}`,
			want: `{"userName":"bjensen","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","costCenter":"4130",
				"organization":"Universal Studios","division":"Theme Park","department":"Tour Operations","manager":{"value":"26118915"}},
				"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User":{"CustomAttribute":"701984"}}`,
		},
		{
			name: "manager as bare string in extension",
			kind: User,
			body: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"myuser"}}`,
			want: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"myuser"}}}`,
		},
		{
			name: "enterprise attributes at top level",
			kind: User,
			body: `{"userName":"u","department":"Retail","Manager":"m1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"7",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.costCenter":"cc"}`,
			want: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Retail","manager":{"value":"m1"},"employeeNumber":"7","costCenter":"cc"}}`,
		},
		{
			name: "enterprise URN key in other case",
			kind: User,
			body: `{"userName":"u","URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER":{"Department":"D"}}`,
			want: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
		},
		{
			name: "dotted top-level key",
			kind: User,
			body: `{"userName":"u","name.givenName":"g","name":{"familyName":"f"}}`,
			want: `{"userName":"u","name":{"givenName":"g","familyName":"f"}}`,
		},
		{
			name: "group create with extra schema",
			kind: Group,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
				"externalId":"8aa1a0c0","displayName":"displayName","meta":{"resourceType":"Group"}}`,
			want: `{"externalId":"8aa1a0c0","displayName":"displayName"}`,
		},
		{
			name: "group members reduced",
			kind: Group,
			body: `{"displayName":"g","members":[{"value":"u1","$ref":null,"type":"User"},{"value":"u2","display":"U Two","$ref":"../Users/u2"},"u3"]}`,
			want: `{"displayName":"g","members":[{"value":"u1"},{"value":"u2","display":"U Two"},{"value":"u3"}]}`,
		},
		{
			name: "empty members kept",
			kind: Group,
			body: `{"displayName":"g","members":[]}`,
			want: `{"displayName":"g","members":[]}`,
		},
		{
			name: "manager on group is just unknown",
			kind: Group,
			body: `{"displayName":"g","manager":"x"}`,
			want: `{"displayName":"g","manager":"x"}`,
		},
		{
			name: "roles with JSON string value",
			kind: User,
			body: `{"userName":"u","roles":[{"primary":"True","type":"WindowsAzureActiveDirectoryRole","value":"{\"id\":\"06b0\"}"}]}`,
			want: `{"userName":"u","roles":[{"primary":true,"type":"WindowsAzureActiveDirectoryRole","value":"{\"id\":\"06b0\"}"}]}`,
		},
		{
			name: "unknown URN keys kept as sent",
			kind: User,
			body: `{"userName":"u","urn:A000:A":{},"urn:ietf:params:scim:schemas:extension:Custom:2.0:User:Attr":"x","urn:x:Group":{"a":null}}`,
			want: `{"userName":"u","urn:A000:A":{},"urn:ietf:params:scim:schemas:extension:Custom:2.0:User:Attr":"x","urn:x:Group":{"a":null}}`,
		},
		{
			name: "empty complex dropped",
			kind: User,
			body: `{"userName":"u","name":{"givenName":null}}`,
			want: `{"userName":"u"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.kind, []byte(tc.body))
			require.NoError(t, err)
			want := mustJSON(t, tc.want)
			if d := cmp.Diff(want, map[string]any(got)); d != "" {
				t.Fatalf("Decode mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	tests := []struct {
		name      string
		kind      Kind
		body      string
		scimType  string
		fragments []string
	}{
		{"not JSON", User, `userName=x`, InvalidSyntax, []string{"not valid JSON"}},
		{"empty", User, ``, InvalidSyntax, []string{"empty"}},
		{"truncated", User, `{"userName":"x"`, InvalidSyntax, []string{"ends in the middle"}},
		{"array", User, `[{"userName":"x"}]`, InvalidSyntax, []string{"must be a JSON object", "a list"}},
		{"string", User, `"x"`, InvalidSyntax, []string{"must be a JSON object"}},
		{"two objects", User, `{"userName":"x"}{"userName":"y"}`, InvalidSyntax, []string{"exactly one object"}},
		{"trailing comma", User, `{"userName":"x",}`, InvalidSyntax, []string{"not valid JSON at byte"}},
		{"userName number", User, `{"userName":5}`, InvalidValue, []string{"userName must be a string", "a number"}},
		{"emails not a list", User, `{"userName":"u","emails":{"value":"a@b"}}`, InvalidValue, []string{"emails must be a list"}},
		{"email element not object", User, `{"userName":"u","emails":["a@b"]}`, InvalidValue, []string{"emails must be an object"}},
		{"email value number", User, `{"userName":"u","emails":[{"value":1}]}`, InvalidValue, []string{"emails.value must be a string"}},
		{"active word", User, `{"userName":"u","active":"yes"}`, InvalidValue, []string{"active must be true or false", `"yes"`}},
		{"active number", User, `{"userName":"u","active":1}`, InvalidValue, []string{"active must be true or false", "a number"}},
		{"primary word", User, `{"userName":"u","emails":[{"value":"a","primary":"maybe"}]}`, InvalidValue, []string{"emails.primary"}},
		{"name not object", User, `{"userName":"u","name":"Joy"}`, InvalidValue, []string{"name must be an object"}},
		{"manager number", User, `{"userName":"u","manager":5}`, InvalidValue, []string{"manager"}},
		{"manager two", User, `{"userName":"u","manager":[{"value":"a"},{"value":"b"}]}`, InvalidValue, []string{"one manager"}},
		{"manager value number", User, `{"userName":"u","manager":{"value":3}}`, InvalidValue, []string{"manager.value must be a string"}},
		{"member without value", Group, `{"displayName":"g","members":[{"display":"x"}]}`, InvalidValue, []string{"members", `"value"`}},
		{"member number", Group, `{"displayName":"g","members":[5]}`, InvalidValue, []string{"members"}},
		{"conflicting spellings", User, `{"userName":"a","USERNAME":"b"}`, InvalidValue, []string{"userName is given twice"}},
		{"conflicting enterprise", User, `{"userName":"a","department":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"y"}}`, InvalidValue, []string{"department is given twice"}},
		{"deep nesting", User, deep, InvalidSyntax, []string{"not valid JSON"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.kind, []byte(tc.body))
			requireSCIMError(t, err, tc.scimType, tc.fragments...)
		})
	}
}

func TestResourceGet(t *testing.T) {
	r, err := Decode(User, []byte(`{"userName":"u","name":{"givenName":"g"},"active":false,
		"emails":[{"type":"other","value":"o@x"},{"type":"work","value":"w@x","primary":true}],
		"phoneNumbers":[{"type":"mobile","value":"+1"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":"m1"},
		"urn:ietf:params:scim:schemas:extension:Custom:2.0:User":{"Attr":"c"},
		"CustomTop":"t"}`))
	require.NoError(t, err)
	tests := []struct {
		path  string
		want  any
		found bool
	}{
		{"userName", "u", true},
		{"USERNAME", "u", true},
		{"active", false, true},
		{"name.givenName", "g", true},
		{"name.familyName", nil, false},
		{"title", nil, false},
		{`emails[type eq "work"].value`, "w@x", true},
		{`emails[TYPE eq "WORK"].value`, "w@x", true},
		{`emails[type eq "work" and primary eq true].value`, "w@x", true},
		{`emails[type eq "home" or type eq "other"].value`, "o@x", true},
		{`emails[type eq "home"].value`, nil, false},
		{`emails[type eq "work"]`, map[string]any{"type": "work", "value": "w@x", "primary": true}, true},
		{`emails.value`, []any{"o@x", "w@x"}, true},
		{`phoneNumbers[type eq "mobile"].value`, "+1", true},
		{`phoneNumbers[type eq "work"].value`, nil, false},
		{"department", "D", true},
		{SchemaEnterprise + ":department", "D", true},
		{"manager", map[string]any{"value": "m1"}, true},
		{"manager.value", "m1", true},
		{`manager[value eq "m1"]`, map[string]any{"value": "m1"}, true},
		{`manager[value eq "m2"]`, nil, false},
		{"urn:ietf:params:scim:schemas:extension:Custom:2.0:User:Attr", "c", true},
		{"urn:ietf:params:scim:schemas:extension:Other:2.0:User:Attr", nil, false},
		{"customtop", "t", true},
		{SchemaEnterprise, map[string]any{"department": "D", "manager": map[string]any{"value": "m1"}}, true},
		{"userName.x", nil, false},
		{`userName[value eq "x"]`, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			got, ok := r.Get(MustParsePath(User, tc.path))
			require.Equal(t, tc.found, ok)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("Get(%s) mismatch (-want +got):\n%s", tc.path, d)
			}
		})
	}
}

func TestBoolValue(t *testing.T) {
	for in, want := range map[any]bool{true: true, false: false, "True": true, "False": false, "false": false, "TRUE": true, " true ": true} {
		got, ok := BoolValue(in)
		require.True(t, ok, "%v", in)
		require.Equal(t, want, got, "%v", in)
	}
	for _, in := range []any{nil, "yes", "1", json.Number("1"), 1, []any{}} {
		_, ok := BoolValue(in)
		require.False(t, ok, "%v", in)
	}
}
