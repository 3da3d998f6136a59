package scim

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestParseListParams(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind
		query    string
		filter   string
		start    int
		count    int
		attrs    []string
		excluded []string
	}{
		{name: "defaults", kind: User, query: "", start: 1, count: 100},
		{name: "entra flag ignored", kind: User, query: "aadOptscim062020&filter=userName+eq+%22a%22", filter: `userName eq "a"`, start: 1, count: 100},
		{name: "paging", kind: User, query: "startIndex=21&count=20", start: 21, count: 20},
		{name: "startIndex below one", kind: User, query: "startIndex=0", start: 1, count: 100},
		{name: "negative startIndex", kind: User, query: "startIndex=-4", start: 1, count: 100},
		{name: "count clamped", kind: User, query: "count=5000", start: 1, count: 1000},
		{name: "huge count clamped", kind: User, query: "count=99999999999999999999999", start: 1, count: 1000},
		{name: "negative count is zero", kind: User, query: "count=-3", start: 1, count: 0},
		{name: "zero count", kind: User, query: "count=0", start: 1, count: 0},
		{name: "names case-insensitive", kind: Group, query: "FILTER=displayName+eq+%22g%22&STARTINDEX=2&Count=3&ExcludedAttributes=MEMBERS",
			filter: `displayName eq "g"`, start: 2, count: 3, excluded: []string{"members"}},
		{name: "attributes list", kind: User, query: "attributes=id,userName,%20name.givenName,emails%5Btype+eq+%22a,b%22%5D.value,manager",
			start: 1, count: 100, attrs: []string{"id", "userName", "name.givenName", `emails[type eq "a,b"].value`, SchemaEnterprise + ":manager"}},
		{name: "repeated attributes", kind: User, query: "attributes=id&attributes=userName", start: 1, count: 100, attrs: []string{"id", "userName"}},
		{name: "empty filter", kind: User, query: "filter=", start: 1, count: 100},
		{name: "empty attribute entries skipped", kind: User, query: "attributes=,id,,", start: 1, count: 100, attrs: []string{"id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			require.NoError(t, err)
			lp, err := ParseListParams(tc.kind, q)
			require.NoError(t, err)
			require.Equal(t, tc.filter, FilterString(lp.Filter))
			require.Equal(t, tc.start, lp.StartIndex)
			require.Equal(t, tc.count, lp.Count)
			require.Equal(t, tc.attrs, pathStrings(lp.Attributes))
			require.Equal(t, tc.excluded, pathStrings(lp.ExcludedAttributes))
		})
	}
}

func TestParseListParamsErrors(t *testing.T) {
	tests := []struct {
		name, query, scimType string
		fragments             []string
	}{
		{"bad filter", "filter=userName+eq", InvalidFilter, []string{"expected a value"}},
		{"bad count", "count=ten", InvalidValue, []string{"count must be a whole number"}},
		{"empty count", "count=", InvalidValue, []string{"count is empty"}},
		{"bad startIndex", "startIndex=1.5", InvalidValue, []string{"startIndex"}},
		{"bad attribute", "attributes=1x", InvalidPath, []string{"attributes: "}},
		{"bad excluded", "excludedAttributes=emails%5B", InvalidPath, []string{"excludedAttributes: "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			require.NoError(t, err)
			_, err = ParseListParams(User, q)
			requireSCIMError(t, err, tc.scimType, tc.fragments...)
		})
	}
}

func TestProject(t *testing.T) {
	full := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","externalId":"e","userName":"u","password":"secret",
		"meta":{"resourceType":"User","created":"2018-03-27T19:59:26Z"},
		"name":{"givenName":"g","familyName":"f"},
		"emails":[{"type":"work","value":"w@x","primary":true},{"type":"other","value":"o@x"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`
	group := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"g","members":[{"value":"u1"}],"meta":{"resourceType":"Group","location":"x"}}`
	tests := []struct {
		name     string
		in       string
		kind     Kind
		attrs    []string
		excluded []string
		want     string
	}{
		{name: "nothing asked drops password only", in: full, kind: User,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","externalId":"e","userName":"u",
				"meta":{"resourceType":"User","created":"2018-03-27T19:59:26Z"},"name":{"givenName":"g","familyName":"f"},
				"emails":[{"type":"work","value":"w@x","primary":true},{"type":"other","value":"o@x"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`},
		{name: "attributes=id (manager check)", in: full, kind: User, attrs: []string{"id"},
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","meta":{"resourceType":"User"}}`},
		{name: "attributes with sub and extension", in: full, kind: User, attrs: []string{"userName", "name.givenName", "manager", "emails.value", "emails.type"},
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","meta":{"resourceType":"User"},"userName":"u","name":{"givenName":"g"},
				"emails":[{"value":"w@x","type":"work"},{"value":"o@x","type":"other"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}`},
		{name: "attributes whole extension", in: full, kind: User, attrs: []string{SchemaEnterprise},
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","meta":{"resourceType":"User"},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`},
		{name: "attributes missing ones skipped", in: full, kind: User, attrs: []string{"title", "name.middleName", "phoneNumbers.value"},
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","meta":{"resourceType":"User"}}`},
		{name: "excluded members", in: group, kind: Group, excluded: []string{"members"},
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"g","meta":{"resourceType":"Group","location":"x"}}`},
		{name: "excluded cannot drop always-returned", in: group, kind: Group, excluded: []string{"id", "meta.resourceType", "meta.location", "displayName"},
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","members":[{"value":"u1"}],"meta":{"resourceType":"Group"}}`},
		{name: "excluded meta keeps resourceType", in: group, kind: Group, excluded: []string{"meta"},
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"g","members":[{"value":"u1"}],"meta":{"resourceType":"Group"}}`},
		{name: "excluded extension attribute", in: full, kind: User, excluded: []string{"manager", "department", "emails", "name.familyName"},
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","externalId":"e","userName":"u",
				"meta":{"resourceType":"User","created":"2018-03-27T19:59:26Z"},"name":{"givenName":"g"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustResource(t, []byte(tc.in))
			before := r.Clone()
			var attrs, excl []Path
			for _, a := range tc.attrs {
				attrs = append(attrs, MustParsePath(tc.kind, a))
			}
			for _, e := range tc.excluded {
				excl = append(excl, MustParsePath(tc.kind, e))
			}
			got := Project(r, attrs, excl)
			if d := cmp.Diff(mustJSON(t, tc.want), map[string]any(got)); d != "" {
				t.Fatalf("Project mismatch (-want +got):\n%s", d)
			}
			require.Equal(t, before, r, "Project must not modify its input")
			if len(got) > 0 {
				// The copy is deep: changing it leaves r alone.
				for k := range got {
					got[k] = "changed"
				}
				require.Equal(t, before, r)
			}
		})
	}
	require.Nil(t, Resource(nil).Clone())
}

func TestDiscovery(t *testing.T) {
	base := "https://bridge.example.com/scim/default/v2/"
	d := StandardDiscovery()
	spc := ServiceProviderConfig(base, d)
	require.Equal(t, true, spc["patch"].(map[string]any)["supported"])
	require.Equal(t, MaxCount, spc["filter"].(map[string]any)["maxResults"])
	for _, k := range []string{"bulk", "changePassword", "sort", "etag"} {
		require.Equal(t, false, spc[k].(map[string]any)["supported"], k)
	}
	require.Equal(t, "oauthbearertoken", spc["authenticationSchemes"].([]any)[0].(map[string]any)["type"])
	require.Equal(t, true, spc["authenticationSchemes"].([]any)[0].(map[string]any)["primary"])
	require.Equal(t, "https://bridge.example.com/scim/default/v2/ServiceProviderConfig", spc["meta"].(map[string]any)["location"])

	// A tenant's own schemes, the first primary, the others not.
	two := ServiceProviderConfig(base, Discovery{AuthenticationSchemes: []AuthenticationScheme{
		{Type: "oauthbearertoken", Name: "first"}, {Type: "oauth2", Name: "second", SpecURI: "https://www.rfc-editor.org/info/rfc6749"},
	}})["authenticationSchemes"].([]any)
	require.Len(t, two, 2)
	require.Equal(t, map[string]any{"type": "oauthbearertoken", "name": "first", "description": "", "primary": true}, two[0])
	require.Equal(t, map[string]any{"type": "oauth2", "name": "second", "description": "", "primary": false,
		"specUri": "https://www.rfc-editor.org/info/rfc6749"}, two[1])

	rts := ResourceTypes(base, d)
	require.Len(t, rts, 2)
	require.Equal(t, "/Users", rts[0]["endpoint"])
	require.Equal(t, SchemaEnterprise, rts[0]["schemaExtensions"].([]any)[0].(map[string]any)["schema"])
	require.Equal(t, "/Groups", rts[1]["endpoint"])

	schemas := Schemas(base, d)
	require.Len(t, schemas, 3)
	ids := []string{}
	for _, s := range schemas {
		ids = append(ids, s["id"].(string))
		require.Equal(t, "https://bridge.example.com/scim/default/v2/Schemas/"+s["id"].(string), s["meta"].(map[string]any)["location"])
	}
	require.Equal(t, []string{SchemaUser, SchemaGroup, SchemaEnterprise}, ids)
	// No nulls anywhere, camelCase characteristic values (docs/entra.md §2.19).
	for _, doc := range []any{spc, rts, schemas} {
		b, err := json.Marshal(doc)
		require.NoError(t, err)
		require.NotContains(t, string(b), "null")
		require.NotContains(t, string(b), `"ReadWrite"`)
	}
	userName := findSchemaAttr(t, schemas[0], "userName")
	require.Equal(t, false, userName["caseExact"])
	require.Equal(t, "server", userName["uniqueness"])
	require.Equal(t, true, userName["required"])
	require.Equal(t, "readWrite", userName["mutability"])
	require.Equal(t, "readOnly", findSchemaAttr(t, schemas[0], "groups")["mutability"])
	require.Equal(t, "always", findSchemaAttr(t, schemas[0], "id")["returned"])
	require.Equal(t, "never", findSchemaAttr(t, schemas[0], "password")["returned"])
	require.Equal(t, "complex", findSchemaAttr(t, schemas[2], "manager")["type"])
	require.Equal(t, true, findSchemaAttr(t, schemas[1], "members")["multiValued"])
}

func findSchemaAttr(tb testing.TB, schema map[string]any, name string) map[string]any {
	tb.Helper()
	for _, a := range schema["attributes"].([]any) {
		if m := a.(map[string]any); m["name"] == name {
			return m
		}
	}
	tb.Fatalf("schema %v has no attribute %s", schema["id"], name)
	return nil
}

func TestLookupAttribute(t *testing.T) {
	require.Equal(t, "userName", LookupAttribute(User, "", "USERNAME").Name)
	require.Nil(t, LookupAttribute(Group, "", "userName"))
	require.Equal(t, "members", LookupAttribute(Group, "", "Members").Name)
	require.Equal(t, "manager", LookupAttribute(User, SchemaEnterprise, "MANAGER").Name)
	require.Nil(t, LookupAttribute(Group, SchemaEnterprise, "manager"))
	require.Nil(t, LookupAttribute(User, "urn:x", "manager"))
	require.Equal(t, "givenName", LookupAttribute(User, "", "name").Sub("givenname").Name)
	require.Nil(t, (*Attribute)(nil).Sub("x"))
}
