package mapping

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// alice is a Pharos row as the store returns it.
func alice() backends.Record {
	return backends.Record{Kind: backends.User, ID: "7", Attrs: map[string][]string{
		"external_id": {"e-1"}, "login": {"alice@contoso.com"}, "email": {"alice@contoso.com"},
		"display_name": {"Alice Smith"}, "title": {"Engineer"}, "active": {"1"}, "cards": {"C1", "C2"},
	}}
}

func mustPatch(tb testing.TB, kind scim.Kind, body string) []scim.PatchOp {
	tb.Helper()
	ops, err := scim.DecodePatch(kind, []byte(body))
	require.NoError(tb, err)
	return ops
}

// PATCH: only what the operations change is written, whatever Entra's
// spelling; members go through as they are, in order.
func TestPatchChanges(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	for _, tc := range []struct {
		name string
		kind scim.Kind
		cur  backends.Record
		ops  string
		want []backends.Change
	}{
		{"Entra's disable", scim.User, alice(),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
			[]backends.Change{{Op: backends.Replace, Attr: "active", Values: []string{"0"}}}},
		{"no change is no write", scim.User, alice(),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Engineer"}]}`,
			nil},
		{"a removed attribute is cleared", scim.User, alice(),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"title"}]}`,
			[]backends.Change{{Op: backends.Replace, Attr: "title"}}},
		{"pathless replace", scim.User, alice(),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","value":{"displayName":"Alice S.","title":"Lead"}}]}`,
			[]backends.Change{
				{Op: backends.Replace, Attr: "display_name", Values: []string{"Alice S."}},
				{Op: backends.Replace, Attr: "title", Values: []string{"Lead"}}}},
		{"members in order, an empty add dropped", scim.Group,
			backends.Record{Kind: backends.Group, ID: "g", Attrs: map[string][]string{"name": {"Sales"}}},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
				{"op":"Add","path":"members","value":[{"value":"1"},{"value":"2"}]},
				{"op":"Add","path":"members","value":[]},
				{"op":"Remove","path":"members[value eq \"1\"]"},
				{"op":"replace","path":"displayName","value":"Sales EU"}]}`,
			[]backends.Change{
				{Op: backends.Replace, Attr: "name", Values: []string{"Sales EU"}},
				{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{"1", "2"}},
				{Op: backends.Remove, Attr: backends.AttrMembers, Values: []string{"1"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.PatchChanges(tc.kind, tc.cur, mustPatch(t, tc.kind, tc.ops))
			require.NoError(t, err)
			require.Equal(t, tc.want, got.List)
		})
	}

	t.Run("a bad operation is a 400 naming it", func(t *testing.T) {
		ops := append(mustPatch(t, scim.User, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"T"}]}`),
			scim.PatchOp{Op: "frobnicate", Value: "x"})
		_, err := m.PatchChanges(scim.User, alice(), ops)
		var se *scim.Error
		require.ErrorAs(t, err, &se)
		require.Equal(t, http.StatusBadRequest, se.Status)
		require.Contains(t, se.Detail, "Operations[1]")
	})

	t.Run("a mapping without members never writes them", func(t *testing.T) {
		nm := mustParse(t, minimalUsers+`
groups:
  target: {table: groups, key: id}
  members: false
  attributes:
    - {scim: displayName, target: name, match: 1}
`)
		got, err := nm.PatchChanges(scim.Group, backends.Record{Kind: backends.Group, ID: "g", Attrs: map[string][]string{"name": {"S"}}},
			mustPatch(t, scim.Group, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"1"}]}]}`))
		require.NoError(t, err)
		require.Empty(t, got.List)
	})
}

// PUT replaces every mapped attribute (an omitted one is cleared) and
// leaves what the mapping does not name, and the attributes of an
// extension the body does not carry (the badge cards); members only when
// carried.
func TestReplaceChanges(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, `{
		"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"], "externalId":"e-1",
		"userName":"alice@contoso.com", "active":true, "displayName":"Alice Smith",
		"emails":[{"type":"work","value":"alice@contoso.com"}]}`))
	require.NoError(t, err)
	got, err := m.ReplaceChanges(alice(), req)
	require.NoError(t, err)
	require.Equal(t, []backends.Change{
		{Op: backends.Replace, Attr: "title"},
	}, got.List, "a PUT without the Pharos extension keeps the cards")

	const pharosExt = "urn:ietf:params:scim:schemas:extension:pharos:2.0:User"
	for _, tc := range []struct {
		name, ext string
		want      []backends.Change
	}{
		{"the extension carried empty clears the cards", `"` + pharosExt + `":{}`,
			[]backends.Change{{Op: backends.Replace, Attr: "cards"}}},
		{"the extension carried replaces the cards", `"` + pharosExt + `":{"badgeCards":["C3"]}`,
			[]backends.Change{{Op: backends.Replace, Attr: "cards", Values: []string{"C3"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, `{
				"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"], "externalId":"e-1",
				"userName":"alice@contoso.com", "active":true, "displayName":"Alice Smith", "title":"Engineer",
				"emails":[{"type":"work","value":"alice@contoso.com"}], `+tc.ext+`}`))
			require.NoError(t, err)
			got, err := m.ReplaceChanges(alice(), req)
			require.NoError(t, err)
			require.Equal(t, tc.want, got.List)
		})
	}

	groups := func(body string) []backends.Change {
		t.Helper()
		req, err := m.NewRequest(scim.Group, mustDecode(t, scim.Group, body))
		require.NoError(t, err)
		got, err := m.ReplaceChanges(backends.Record{Kind: backends.Group, ID: "g", Attrs: map[string][]string{"name": {"Sales"}}}, req)
		require.NoError(t, err)
		return got.List
	}
	require.Empty(t, groups(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales"}`))
	require.Equal(t, []backends.Change{{Op: backends.Replace, Attr: backends.AttrMembers, Values: []string{}}},
		groups(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales","members":[]}`))

	t.Run("a body without a required attribute is refused before anything is read", func(t *testing.T) {
		_, err := m.NewRequest(scim.User, mustDecode(t, scim.User, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.c"}`))
		var se *scim.Error
		require.ErrorAs(t, err, &se)
		require.Equal(t, scim.InvalidValue, se.ScimType)
		require.Contains(t, se.Detail, "is required")
	})
}

// A retried create writes only what it carries and adds its members.
func TestRetriedCreateChanges(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, `{
		"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"], "externalId":"e-1",
		"userName":"alice@contoso.com", "displayName":"Alice Jones",
		"emails":[{"type":"work","value":"alice@contoso.com"}]}`))
	require.NoError(t, err)
	got, err := m.RetriedCreateChanges(alice(), req)
	require.NoError(t, err)
	require.Equal(t, []backends.Change{{Op: backends.Replace, Attr: "display_name", Values: []string{"Alice Jones"}}}, got.List,
		"title and cards, which the create does not carry, are kept")

	greq, err := m.NewRequest(scim.Group, mustDecode(t, scim.Group,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales","members":[{"value":"1"}]}`))
	require.NoError(t, err)
	got, err = m.RetriedCreateChanges(backends.Record{Kind: backends.Group, ID: "g", Attrs: map[string][]string{"name": {"Sales"}}}, greq)
	require.NoError(t, err)
	require.Equal(t, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{"1"}}}, got.List)
}

// Disabling writes what the mapping stores for active=false, and nothing
// else; an inactive record needs no write.
func TestDisableChanges(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	got, err := m.DisableChanges(scim.User, alice())
	require.NoError(t, err)
	require.Equal(t, []backends.Change{{Op: backends.Replace, Attr: "active", Values: []string{"0"}}}, got)

	off := alice()
	off.Attrs["active"] = []string{"0"}
	got, err = m.DisableChanges(scim.User, off)
	require.NoError(t, err)
	require.Empty(t, got)
}
