package mapping

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// Entra's create requests (docs/entra.md §2.2, §2.16, §2.7), replayed
// through the shipped Pharos mapping.
const (
	// MS-SCIM "Create User", verbatim.
	entraCreateUser = `{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": true,
    "emails": [{
        "primary": true,
        "type": "work",
        "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
    }],
    "meta": {
        "resourceType": "User"
    },
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "roles": []
}`
	// MS-SCIM "Example 2. Provision a user", verbatim: nulls, read-only
	// meta and a misspelt extension URN.
	entraCreateUserNulls = `{
   "schemas":
   [
     "urn:ietf:params:scim:schemas:core:2.0:User",
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
   "externalId":"jyoung",
   "userName":"jyoung@testuser.com",
   "active":true,
   "addresses":null,
   "displayName":"Joy Young",
   "emails": [
     {
       "type":"work",
       "value":"jyoung@Contoso.com",
       "primary":true}],
   "meta": {
     "resourceType":"User"},
    "name":{
     "familyName":"Young",
     "givenName":"Joy"},
   "phoneNumbers":null,
   "preferredLanguage":null,
   "title":null,
   "department":null,
   "manager":null}`
	// Every attribute of the Pharos mapping, with Entra's quirks: the
	// string "True", the bare-string manager, phone numbers Pharos has no
	// column for, and a second (home) email.
	entraCreateFull = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "58342554-38d6-4ec8-948c-50044d0a33fd",
    "userName": "bjensen@example.com",
    "active": "True",
    "displayName": "Barbara Jensen",
    "title": "Tour Guide",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "babs@home.example", "type": "home"}, {"value": "bjensen@example.com", "type": "work", "primary": true}],
    "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}, {"value": "+1 555 0101", "type": "mobile"}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "department": "Tour Operations",
        "manager": "26118915-6090-4610-87e4-49d8ca9f808d"
    },
    "urn:ietf:params:scim:schemas:extension:pharos:2.0:User": {"badgeCards": ["0042", "0043"]}
}`
)

func TestToAttrsEntraCreate(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	tests := []struct {
		name string
		body string
		want map[string][]string
	}{
		{"create user", entraCreateUser, map[string][]string{
			"external_id": {"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"},
			"login":       {"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"},
			"email":       {"Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"},
			"first_name":  {"givenName"},
			"last_name":   {"familyName"},
			"active":      {"1"},
		}},
		{"create user with nulls", entraCreateUserNulls, map[string][]string{
			"external_id":  {"jyoung"},
			"login":        {"jyoung@testuser.com"},
			"email":        {"jyoung@Contoso.com"},
			"first_name":   {"Joy"},
			"last_name":    {"Young"},
			"display_name": {"Joy Young"},
			"active":       {"1"},
		}},
		{"every attribute", entraCreateFull, map[string][]string{
			"external_id":     {"58342554-38d6-4ec8-948c-50044d0a33fd"},
			"login":           {"bjensen@example.com"},
			"email":           {"bjensen@example.com"},
			"first_name":      {"Barbara"},
			"last_name":       {"Jensen"},
			"display_name":    {"Barbara Jensen"},
			"title":           {"Tour Guide"},
			"active":          {"1"},
			"department":      {"Tour Operations"},
			"employee_number": {"701984"},
			"cost_center":     {"4130"},
			"manager_id":      {"26118915-6090-4610-87e4-49d8ca9f808d"},
			"cards":           {"0042", "0043"},
		}},
		{"disabled", `{"userName": "u", "externalId": "e", "active": false}`, map[string][]string{
			"login": {"u"}, "external_id": {"e"}, "active": {"0"},
		}},
		{"disabled with Entra's string False", `{"userName": "u", "externalId": "e", "active": "False"}`, map[string][]string{
			"login": {"u"}, "external_id": {"e"}, "active": {"0"},
		}},
		{"manager as an object", `{"userName": "u", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1", "$ref": "../Users/m1", "displayName": "M"}}}`,
			map[string][]string{"login": {"u"}, "manager_id": {"m1"}}},
		{"read-only and unknown attributes are not read", `{"userName": "u", "id": "i", "groups": [{"value": "g"}], "nickName": "n", "urn:example:other:2.0:User": {"x": "y"}}`,
			map[string][]string{"login": {"u"}}},
		{"empty strings are no value", `{"userName": "u", "title": "", "displayName": ""}`, map[string][]string{"login": {"u"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustDecode(t, scim.User, tt.body)
			got, err := m.ToAttrs(scim.User, r)
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("ToAttrs (-want +got):\n%s", diff)
			}
			if strings.Contains(tt.body, "emails") {
				require.NoError(t, m.CheckRequired(scim.User, r), "the Entra bodies carry every required attribute")
			}
		})
	}
}

// TestWorkEmailFallback: emails[type eq "work"].value reads the primary
// email, then the only email, when no email has type work.
func TestWorkEmailFallback(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	tests := []struct {
		name   string
		emails string
		want   []string
	}{
		{"work", `[{"value": "h@x", "type": "home", "primary": true}, {"value": "w@x", "type": "work"}]`, []string{"w@x"}},
		{"work type in other case", `[{"value": "w@x", "type": "Work"}]`, []string{"w@x"}},
		{"primary", `[{"value": "o@x", "type": "other"}, {"value": "p@x", "primary": true}]`, []string{"p@x"}},
		{"primary as Entra's string", `[{"value": "o@x", "type": "other"}, {"value": "p@x", "primary": "True"}]`, []string{"p@x"}},
		{"only", `[{"value": "only@x"}]`, []string{"only@x"}},
		{"only, typed home", `[{"value": "only@x", "type": "home"}]`, []string{"only@x"}},
		{"two untyped, none primary", `[{"value": "a@x"}, {"value": "b@x"}]`, nil},
		{"work without value", `[{"type": "work"}, {"value": "p@x", "primary": true}]`, nil},
		{"none", `[]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustDecode(t, scim.User, `{"userName": "u", "externalId": "e", "emails": `+tt.emails+`}`)
			got, err := m.ToAttrs(scim.User, r)
			require.NoError(t, err)
			require.Equal(t, tt.want, got["email"])
			if tt.want == nil {
				require.Error(t, m.CheckRequired(scim.User, r))
			} else {
				require.NoError(t, m.CheckRequired(scim.User, r))
			}
		})
	}
}

// mailRequired is the 400 detail of a user without a work email on the
// Pharos mapping: the same for a create, a PUT and a PATCH removing it.
const mailRequired = `attribute emails[type eq "work"].value (email) is required: map Entra's mail to emails[type eq "work"].value in the provisioning app's attribute mapping`

func TestCheckRequired(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	tests := []struct {
		name string
		body string
		want string // "" for no error
	}{
		{"complete", `{"userName": "u", "emails": [{"type": "work", "value": "w@x"}]}`, ""},
		{"no mail", `{"userName": "u", "externalId": "e"}`, mailRequired},
		{"mail empty", `{"userName": "u", "emails": [{"type": "work", "value": ""}]}`, mailRequired},
		{"nothing", `{"externalId": "e"}`, `attribute userName (login) is required: map Entra's userPrincipalName to userName in the provisioning app's attribute mapping; ` + mailRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.CheckRequired(scim.User, mustDecode(t, scim.User, tt.body))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			var se *scim.Error
			require.True(t, errors.As(err, &se), "%v", err)
			require.Equal(t, scim.Error{Status: http.StatusBadRequest, ScimType: scim.InvalidValue, Detail: tt.want}, *se)
		})
	}
	require.Error(t, m.CheckRequired(scim.Group, scim.Resource{"externalId": "e"}))
	require.NoError(t, m.CheckRequired(scim.Group, scim.Resource{"displayName": "g"}))
	_, err := m.ToAttrs("Device", scim.Resource{})
	require.Error(t, err)
	require.Error(t, m.CheckRequired("Device", scim.Resource{}))
}

func TestToAttrsGroups(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	tests := []struct {
		name string
		body string
		want map[string][]string
	}{
		// docs/entra.md §2.9, verbatim.
		{"Entra create group", `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {
        "resourceType": "Group"
    }
}`, map[string][]string{"external_id": {"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}, "name": {"displayName"}}},
		{"empty members", `{"displayName": "g", "members": []}`, map[string][]string{"name": {"g"}, backends.AttrMembers: {}}},
		{"members", `{"displayName": "g", "members": [{"value": "u1", "$ref": null}, {"value": "u2"}]}`,
			map[string][]string{"name": {"g"}, backends.AttrMembers: {"u1", "u2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.ToAttrs(scim.Group, mustDecode(t, scim.Group, tt.body))
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("ToAttrs (-want +got):\n%s", diff)
			}
		})
	}

	noMembers := mustParse(t, minimalUsers+"groups:\n  target: {t: 1}\n  members: false\n  attributes:\n    - {scim: displayName, target: n, match: 1}\n")
	require.False(t, noMembers.Members())
	got, err := noMembers.ToAttrs(scim.Group, scim.Resource{"displayName": "g", "members": []any{map[string]any{"value": "u1"}}})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"n": {"g"}}, got)
	res, err := noMembers.ToResource(scim.Group, backends.Record{ID: "1", Attrs: map[string][]string{"n": {"g"}, backends.AttrMembers: {"u1"}}})
	require.NoError(t, err)
	require.NotContains(t, res, "members")

	_, err = m.ToAttrs(scim.Group, scim.Resource{"displayName": "g", "members": []any{map[string]any{"display": "no value"}}})
	requireSCIMError(t, err, http.StatusBadRequest, scim.InvalidValue, "attribute members: every member needs a value holding the member's id")
}

// requireSCIMError checks a *scim.Error in full.
func requireSCIMError(tb testing.TB, err error, status int, scimType, detail string) {
	tb.Helper()
	var se *scim.Error
	require.True(tb, errors.As(err, &se), "want *scim.Error, got %v", err)
	require.Equal(tb, scim.Error{Status: status, ScimType: scimType, Detail: detail}, *se)
}

// TestToResource pins the canonical resources built from Pharos records:
// the answer Entra gets for a GET, a filter and a create.
func TestToResource(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	created := time.Date(2018, 3, 27, 19, 59, 26, 0, time.UTC)
	tests := []struct {
		name string
		kind scim.Kind
		rec  backends.Record
		want string
	}{
		{"Entra's create user answer", scim.User, backends.Record{
			ID: "48af03ac28ad4fb88478", Created: created, Modified: created,
			Attrs: map[string][]string{
				"external_id": {"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"},
				"login":       {"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"},
				"email":       {"Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"},
				"first_name":  {"givenName"},
				"last_name":   {"familyName"},
				"active":      {"1"},
			},
		}, `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "48af03ac28ad4fb88478",
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "meta": {
        "resourceType": "User",
        "created": "2018-03-27T19:59:26Z",
        "lastModified": "2018-03-27T19:59:26Z"
    },
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "name": {
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "active": true,
    "emails": [{
        "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
        "type": "work",
        "primary": true
    }]
}`},
		{"every attribute, disabled", scim.User, backends.Record{
			ID: "7",
			Attrs: map[string][]string{
				"external_id":     {"58342554-38d6-4ec8-948c-50044d0a33fd"},
				"login":           {"bjensen@example.com"},
				"email":           {"bjensen@example.com"},
				"first_name":      {"Barbara"},
				"last_name":       {"Jensen"},
				"display_name":    {"Barbara Jensen"},
				"title":           {"Tour Guide"},
				"active":          {"0"},
				"department":      {"Tour Operations"},
				"employee_number": {"701984"},
				"cost_center":     {"4130"},
				"manager_id":      {"26118915-6090-4610-87e4-49d8ca9f808d"},
				"cards":           {"0042", "0043"},
			},
		}, `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "urn:ietf:params:scim:schemas:extension:pharos:2.0:User"],
    "id": "7",
    "meta": {"resourceType": "User"},
    "externalId": "58342554-38d6-4ec8-948c-50044d0a33fd",
    "userName": "bjensen@example.com",
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "displayName": "Barbara Jensen",
    "title": "Tour Guide",
    "active": false,
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "department": "Tour Operations",
        "employeeNumber": "701984",
        "costCenter": "4130",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
    },
    "urn:ietf:params:scim:schemas:extension:pharos:2.0:User": {"badgeCards": ["0042", "0043"]}
}`},
		{"only what has a value", scim.User, backends.Record{
			ID:    "8",
			Attrs: map[string][]string{"login": {"u"}, "title": {""}, "cards": {}, "active": {"maybe"}},
		}, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "8", "meta": {"resourceType": "User"}, "userName": "u"}`},
		{"nil attributes", scim.User, backends.Record{ID: "9"},
			`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "9", "meta": {"resourceType": "User"}}`},
		{"group without members read", scim.Group, backends.Record{
			ID: "40734ae655284ad3abcc", Created: created, Modified: created.Add(time.Hour),
			Attrs: map[string][]string{"name": {"displayName"}, "external_id": {"60f1bb27-2e1e-402d-bcc4-ec999564a194"}},
		}, `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "id": "40734ae655284ad3abcc",
    "externalId": "60f1bb27-2e1e-402d-bcc4-ec999564a194",
    "meta": {"resourceType": "Group", "created": "2018-03-27T19:59:26Z", "lastModified": "2018-03-27T20:59:26Z"},
    "displayName": "displayName"
}`},
		{"group with no members", scim.Group, backends.Record{
			ID: "g", Attrs: map[string][]string{"name": {"n"}, backends.AttrMembers: {}},
		}, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "meta": {"resourceType": "Group"}, "displayName": "n", "members": []}`},
		{"group with members", scim.Group, backends.Record{
			ID: "g", Attrs: map[string][]string{"name": {"n"}, backends.AttrMembers: {"u1", "u2"}},
		}, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "meta": {"resourceType": "Group"}, "displayName": "n",
		     "members": [{"value": "u1"}, {"value": "u2"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := m.ToResource(tt.kind, tt.rec)
			require.NoError(t, err)
			requireJSONEqual(t, tt.want, res)
		})
	}
	_, err := m.ToResource("Device", backends.Record{})
	require.Error(t, err)
}

// requireJSONEqual compares a resource with the JSON it must marshal to.
func requireJSONEqual(tb testing.TB, want string, got scim.Resource) {
	tb.Helper()
	gotJSON, err := json.Marshal(got)
	require.NoError(tb, err)
	var w, g any
	require.NoError(tb, json.Unmarshal([]byte(want), &w))
	require.NoError(tb, json.Unmarshal(gotJSON, &g))
	if diff := cmp.Diff(w, g); diff != "" {
		tb.Fatalf("resource (-want +got):\n%s", diff)
	}
}

// TestRoundTrip: what is written reads back as the same resource, and the
// resource read back writes the same attributes, so that a PATCH diff of
// an unchanged user is empty.
func TestRoundTrip(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	for name, body := range map[string]string{"create": entraCreateUser, "nulls": entraCreateUserNulls, "full": entraCreateFull} {
		t.Run(name, func(t *testing.T) {
			attrs, err := m.ToAttrs(scim.User, mustDecode(t, scim.User, body))
			require.NoError(t, err)
			res, err := m.ToResource(scim.User, backends.Record{ID: "1", Attrs: attrs})
			require.NoError(t, err)
			again, err := m.ToAttrs(scim.User, res)
			require.NoError(t, err)
			if diff := cmp.Diff(attrs, again); diff != "" {
				t.Fatalf("round trip (-first +second):\n%s", diff)
			}
			require.Empty(t, Diff(attrs, again))
			// The answer decodes as a SCIM request body would.
			raw, err := json.Marshal(res)
			require.NoError(t, err)
			_ = mustDecode(t, scim.User, string(raw))
		})
	}
}

func TestTransforms(t *testing.T) {
	m := mustParse(t, usersWith(`
    - scim: active
      target: enabled
      toTarget: 'Switch(value, "FALSE", true, "TRUE")'
      fromTarget: 'value == nil ? nil : value == "TRUE"'
    - scim: displayName
      target: display
      toTarget: 'ToUpper(value)'
      fromTarget: 'Join(" ", attrs["given"], attrs["family"])'
    - {scim: name.givenName, target: given}
    - {scim: name.familyName, target: family}
    - target: cn
      toTarget: 'Join(" ", attr("name.givenName"), attr("name.familyName"))'
    - target: uid
      toTarget: 'ToLower(NormalizeDiacritics(Word(attr("userName"), 1, "@")))'
    - target: mailbox
      toTarget: 'Append(Left(attr("name.givenName"), 1) + attr("name.familyName"), "@example.org")'
    - scim: urn:example:2.0:User:tags
      target: tags
      multiValued: true
      toTarget: 'ToLower(value)'
      fromTarget: 'map(value, {"#" + #})'
    - scim: title
      target: title
      toTarget: 'value == "" ? nil : Trim(value)'
      fromTarget: 'value + " (HQ)"'
    - scim: manager
      target: boss
      fromTarget: 'value == nil ? nil : "m-" + value'
`))
	r := mustDecode(t, scim.User, `{"userName": "Zoë.Łukasz@example.org", "active": true, "displayName": "Zoë Ł",
		"name": {"givenName": "Zoë", "familyName": "Łukasz"}, "title": " Chief ",
		"urn:example:2.0:User": {"tags": ["A", "b"]}}`)
	got, err := m.ToAttrs(scim.User, r)
	require.NoError(t, err)
	want := map[string][]string{
		"login":   {"Zoë.Łukasz@example.org"},
		"enabled": {"TRUE"},
		"display": {"ZOË Ł"},
		"given":   {"Zoë"},
		"family":  {"Łukasz"},
		"cn":      {"Zoë Łukasz"},
		"uid":     {"zoe.lukasz"},
		"mailbox": {"ZŁukasz@example.org"},
		"tags":    {"a", "b"},
		"title":   {"Chief"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ToAttrs (-want +got):\n%s", diff)
	}

	rec := backends.Record{ID: "1", Attrs: map[string][]string{
		"login": {"z"}, "enabled": {"FALSE"}, "display": {"IGNORED"}, "given": {"Zoë"}, "family": {"Ł"},
		"cn": {"not read back"}, "tags": {"a", "b"}, "title": {"Chief"}, "boss": {"42"},
	}}
	res, err := m.ToResource(scim.User, rec)
	require.NoError(t, err)
	requireJSONEqual(t, `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "urn:example:2.0:User"],
		"id": "1", "meta": {"resourceType": "User"},
		"userName": "z", "active": false, "displayName": "Zoë Ł", "name": {"givenName": "Zoë", "familyName": "Ł"},
		"title": "Chief (HQ)",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m-42"}},
		"urn:example:2.0:User": {"tags": ["#a", "#b"]}
	}`, res)

	// A transform on an absent attribute does not run; a computed one
	// always does, and gives nothing when its inputs are absent.
	got, err = m.ToAttrs(scim.User, scim.Resource{"userName": "x"})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"login": {"x"}, "uid": {"x"}}, got)
}

func TestToAttrsErrors(t *testing.T) {
	m := mustParse(t, usersWith(`
    - {scim: active, target: enabled, toTarget: 'value ? "1" : "0"'}
    - {scim: title, target: title, toTarget: 'Split(value, ",")'}
    - {scim: displayName, target: dn, toTarget: '{"a": value}'}
    - {target: cn, toTarget: 'attr("nickName") + 1'}
`))
	tests := []struct {
		name   string
		r      scim.Resource
		detail string
	}{
		{"transform fails at run time", scim.Resource{"active": "yes"},
			"attribute active (enabled): the mapping's toTarget transform failed: interface conversion: interface {} is string, not bool"},
		{"several values for a single-valued target", scim.Resource{"title": "a,b"}, "attribute title (title) takes one value, got 2"},
		{"an object result", scim.Resource{"displayName": "d"}, "attribute displayName (dn): an object with no value member cannot be stored"},
		{"computed attribute fails", scim.Resource{"nickName": "n"},
			"attribute computed attribute cn: the mapping's toTarget transform failed: invalid operation: string + int"},
		{"a list for a single-valued attribute", scim.Resource{"userName": []any{"a", "b"}}, "attribute userName (login) takes one value, got 2"},
		{"an object for a string", scim.Resource{"userName": map[string]any{"x": "y"}}, "attribute userName (login): an object with no value member cannot be stored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.ToAttrs(scim.User, tt.r)
			requireSCIMError(t, err, http.StatusBadRequest, scim.InvalidValue, tt.detail)
		})
	}
}

func TestToResourceErrors(t *testing.T) {
	m := mustParse(t, usersWith(`
    - {scim: title, target: title, fromTarget: 'value == nil ? nil : value + 1'}
    - {scim: displayName, target: dn, fromTarget: '["a", "b"]'}
`))
	_, err := m.ToResource(scim.User, backends.Record{ID: "1", Attrs: map[string][]string{"title": {"t"}}})
	require.EqualError(t, err, "mapping: attribute title (title): fromTarget: invalid operation: string + int")
	_, err = m.ToResource(scim.User, backends.Record{ID: "1", Attrs: map[string][]string{"dn": {"t"}}})
	require.EqualError(t, err, "mapping: attribute displayName (dn): fromTarget: returned a list for a single-valued attribute")
}

// TestMultiValuedComplex: a whole multi-valued attribute maps to a
// multi-valued target through the values of its elements.
func TestMultiValuedComplex(t *testing.T) {
	m := mustParse(t, usersWith(`
    - {scim: emails, target: mail, multiValued: true}
    - {scim: roles.value, target: role, multiValued: true}
`))
	r := mustDecode(t, scim.User, `{"emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}], "roles": [{"value": "admin"}]}`)
	got, err := m.ToAttrs(scim.User, r)
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"mail": {"a@x", "b@x"}, "role": {"admin"}}, got)
	res, err := m.ToResource(scim.User, backends.Record{ID: "1", Attrs: got})
	require.NoError(t, err)
	require.Equal(t, []any{map[string]any{"value": "a@x"}, map[string]any{"value": "b@x"}}, res["emails"])
	require.Equal(t, []any{map[string]any{"value": "admin"}}, res["roles"])
}

func TestPasswordIsNeverReturned(t *testing.T) {
	m := mustParse(t, usersWith("    - {scim: password, target: pw}\n"))
	got, err := m.ToAttrs(scim.User, scim.Resource{"password": "s3cret"})
	require.NoError(t, err)
	require.Equal(t, []string{"s3cret"}, got["pw"])
	res, err := m.ToResource(scim.User, backends.Record{ID: "1", Attrs: got})
	require.NoError(t, err)
	require.NotContains(t, res, "password")
}

// TestConcurrentUse: a *Mapping is shared by every request.
func TestConcurrentUse(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	r := mustDecode(t, scim.User, entraCreateFull)
	want, err := m.ToAttrs(scim.User, r)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				got, err := m.ToAttrs(scim.User, r)
				if err == nil && !maps.EqualFunc(want, got, slices.Equal) {
					err = errors.New("different result under concurrency")
				}
				if err == nil {
					_, err = m.ToResource(scim.User, backends.Record{ID: "1", Attrs: got})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, new map[string][]string
		want     []backends.Change
	}{
		{"nothing", nil, nil, nil},
		{"equal", map[string][]string{"a": {"1"}}, map[string][]string{"a": {"1"}}, nil},
		{"changed", map[string][]string{"a": {"1"}}, map[string][]string{"a": {"2"}},
			[]backends.Change{{Op: backends.Replace, Attr: "a", Values: []string{"2"}}}},
		{"case is a change", map[string][]string{"a": {"x"}}, map[string][]string{"a": {"X"}},
			[]backends.Change{{Op: backends.Replace, Attr: "a", Values: []string{"X"}}}},
		{"added", nil, map[string][]string{"a": {"1"}},
			[]backends.Change{{Op: backends.Replace, Attr: "a", Values: []string{"1"}}}},
		{"removed", map[string][]string{"a": {"1"}}, map[string][]string{},
			[]backends.Change{{Op: backends.Replace, Attr: "a"}}},
		{"emptied", map[string][]string{"a": {"1"}}, map[string][]string{"a": {}},
			[]backends.Change{{Op: backends.Replace, Attr: "a"}}},
		{"empty both ways", map[string][]string{"a": {""}}, map[string][]string{"b": nil}, nil},
		{"reordered multi-valued", map[string][]string{"c": {"1", "2"}}, map[string][]string{"c": {"2", "1"}}, nil},
		{"multi-valued changed", map[string][]string{"c": {"1", "2"}}, map[string][]string{"c": {"2", "3"}},
			[]backends.Change{{Op: backends.Replace, Attr: "c", Values: []string{"2", "3"}}}},
		{"duplicates count", map[string][]string{"c": {"1", "1"}}, map[string][]string{"c": {"1", "2"}},
			[]backends.Change{{Op: backends.Replace, Attr: "c", Values: []string{"1", "2"}}}},
		{"members never diffed", map[string][]string{backends.AttrMembers: {"u1"}}, map[string][]string{backends.AttrMembers: {"u2"}}, nil},
		{"sorted by attribute", map[string][]string{"z": {"1"}, "m": {"1"}, "a": {"1"}}, map[string][]string{"b": {"1"}, "m": {"2"}},
			[]backends.Change{
				{Op: backends.Replace, Attr: "a"},
				{Op: backends.Replace, Attr: "b", Values: []string{"1"}},
				{Op: backends.Replace, Attr: "m", Values: []string{"2"}},
				{Op: backends.Replace, Attr: "z"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Diff(tt.old, tt.new)); diff != "" {
				t.Fatalf("Diff (-want +got):\n%s", diff)
			}
		})
	}
	// Diff never aliases the caller's slices.
	n := map[string][]string{"a": {"2"}}
	ch := Diff(map[string][]string{"a": {"1"}}, n)
	ch[0].Values[0] = "x"
	require.Equal(t, "2", n["a"][0])
}
