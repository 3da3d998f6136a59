package mapping

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

const keepingSrc = `
users:
  target: {table: users, key: id}
  attributes:
    - {scim: externalId, target: external_id, match: 1}
    - {scim: userName, target: login, match: 2}
    - {scim: active, target: active, toTarget: 'value ? "1" : "0"'}
    - {scim: title, target: title}
groups:
  target: {table: groups, key: id}
  attributes:
    - {scim: displayName, target: name, match: 1}
deprovision:
  onDelete: disable
  marker: {target: gone, value: "Yes"}
  groups: {onDelete: keep, marker: {target: gone, value: "1"}}
`

func TestDeprovisionMarker(t *testing.T) {
	m := mustParse(t, keepingSrc)
	require.Equal(t, OnDeleteDisable, m.OnDelete(scim.User))
	require.Equal(t, OnDeleteKeep, m.OnDelete(scim.Group))
	require.True(t, m.HasMarker(scim.User))
	require.Contains(t, m.Schema().Users.Attrs, backends.AttrSchema{Name: "gone"}, "the backend is told of the marker")

	cur := backends.Record{Kind: backends.User, ID: "1", Attrs: map[string][]string{
		"external_id": {"e"}, "login": {"a@b.c"}, "active": {"1"}, "title": {"T"}}}
	require.False(t, m.Deprovisioned(scim.User, cur))
	changes, err := m.DeprovisionChanges(scim.User, cur)
	require.NoError(t, err)
	require.Equal(t, []backends.Change{
		{Op: backends.Replace, Attr: "active", Values: []string{"0"}},
		{Op: backends.Replace, Attr: "gone", Values: []string{"Yes"}},
	}, changes)

	cur.Attrs["active"], cur.Attrs["gone"] = []string{"0"}, []string{"yes"}
	require.True(t, m.Deprovisioned(scim.User, cur), "compared as the directories compare it")
	req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, `{"externalId":"e","userName":"a@b.c","title":"New"}`))
	require.NoError(t, err)
	restored, err := m.RestoreChanges(cur, req)
	require.NoError(t, err)
	changes = restored.List
	require.Equal(t, []backends.Change{
		{Op: backends.Replace, Attr: "active", Values: []string{"1"}},
		{Op: backends.Replace, Attr: "title", Values: []string{"New"}},
		{Op: backends.Replace, Attr: "gone"},
	}, changes, "enabled although the POST does not say active, the marker removed")

	off, err := m.NewRequest(scim.User, mustDecode(t, scim.User, `{"externalId":"e","userName":"a@b.c","active":false}`))
	require.NoError(t, err)
	restored, err = m.RestoreChanges(cur, off)
	require.NoError(t, err)
	changes = restored.List
	require.Equal(t, backends.Change{Op: backends.Replace, Attr: "gone"}, changes[len(changes)-1])
	require.NotContains(t, changes, backends.Change{Op: backends.Replace, Attr: "active", Values: []string{"1"}}, "a POST saying active=false is restored disabled")

	g, err := m.DeprovisionChanges(scim.Group, backends.Record{Kind: backends.Group, ID: "g", Attrs: map[string][]string{"name": {"S"}}})
	require.NoError(t, err)
	require.Equal(t, []backends.Change{{Op: backends.Replace, Attr: "gone", Values: []string{"1"}}}, g, "a group keeps everything but gets the marker")
}

// Every query of a kind with a marker leaves the kept entries out.
func TestFilterHidesDeprovisioned(t *testing.T) {
	m := mustParse(t, keepingSrc)
	hidden := backends.Not{X: backends.Cmp{Attr: "gone", Op: backends.Eq, Value: "Yes"}}
	got, err := m.Filter(scim.User, nil)
	require.NoError(t, err)
	require.Equal(t, hidden, got)
	f, err := scim.ParseFilter(scim.User, `userName eq "a"`)
	require.NoError(t, err)
	got, err = m.Filter(scim.User, f)
	require.NoError(t, err)
	require.Equal(t, backends.And{Left: backends.Cmp{Attr: "login", Op: backends.Eq, Value: "a"}, Right: hidden}, got)
	f, err = scim.ParseFilter(scim.User, `id eq ""`)
	require.NoError(t, err)
	got, err = m.Filter(scim.User, f)
	require.NoError(t, err)
	require.Equal(t, backends.None{}, got)

	plain := mustParse(t, minimalUsers+minimalGroups)
	got, err = plain.Filter(scim.User, nil)
	require.NoError(t, err)
	require.Nil(t, got, "no marker: no restriction")
}
