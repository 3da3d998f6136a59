package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"
)

// These tests replay Entra's catalogue through HTTP → mapping → a real 389
// Directory Server (scripts/389ds-start.sh) with the shipped 389 DS mapping,
// and read the directory back with a plain LDAP client: DNs, entryUUID ids,
// member values (389 keeps empty groups empty), memberOf and the disabled
// state.

// newDS389Stack is the bridge on a fresh subtree of the test 389 DS, with
// configs/mappings/entra-to-389ds.yaml.
func newDS389Stack(t testing.TB) *ldapStack {
	t.Helper()
	return newDirectoryStack(t, "SCIMBRIDGE_389DS", "389 DS", "configs/mappings/entra-to-389ds.yaml")
}

func TestDS389EntraUserLifecycle(t *testing.T) {
	s := newDS389Stack(t)
	a := s.must(200, "GET", "/Users?filter=userName+eq+%22"+probeGUID+"%22", nil)
	require.Empty(t, resources(t, a))

	create := fixture(t, "create-user")
	upn := create["userName"].(string)
	id := s.must(201, "POST", "/Users", create).body["id"].(string)
	e := s.entry("uid", upn)
	require.Equal(t, id, e.GetAttributeValue("entryUUID"), "the SCIM id is 389's entryUUID")
	require.Equal(t, "uid="+upn+",ou=people,"+s.base, e.DN)
	require.Equal(t, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", e.GetAttributeValue("scimExternalId"))
	require.Equal(t, "TRUE", e.GetAttributeValue("scimActive"))
	require.Equal(t, id, s.must(201, "POST", "/Users", create).body["id"], "the same POST again is the same user")
	other := fixture(t, "create-user")
	other["externalId"], other["userName"] = "other", strings.ToUpper(upn)
	require.Equal(t, "uniqueness", s.must(409, "POST", "/Users", other).body["scimType"])

	// Manager set, then removed.
	mgr := s.must(201, "POST", "/Users", fixture(t, "create-user-nulls")).body["id"].(string)
	const mgrPath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
	patch := func(ops ...map[string]any) {
		t.Helper()
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops})
	}
	patch(map[string]any{"op": "add", "path": mgrPath, "value": mgr})
	require.Equal(t, "uid=jyoung@testuser.com,ou=people,"+s.base, s.entry("uid", upn).GetAttributeValue("manager"))
	patch(map[string]any{"op": "remove", "path": mgrPath})
	require.Empty(t, s.entry("uid", upn).GetAttributeValues("manager"))

	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-user-multi"))
	require.Equal(t, "updatedEmail@microsoft.com", s.entry("uid", upn).GetAttributeValue("mail"))

	for _, c := range []struct{ fixture, want string }{
		{"patch-disable-user-string", "FALSE"}, {"patch-enable-user-string", "TRUE"}, {"patch-disable-user", "FALSE"},
	} {
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, c.fixture))
		require.Equal(t, c.want, s.entry("uid", upn).GetAttributeValue("scimActive"), c.fixture)
	}
	require.Equal(t, false, s.must(200, "GET", "/Users/"+url.PathEscape(id), nil).body["active"])

	// Rename the UPN: a ModifyDN; entryUUID stays.
	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-user-username"))
	newUPN := "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
	e = s.entry("uid", newUPN)
	require.Equal(t, "uid="+newUPN+",ou=people,"+s.base, e.DN)
	require.Equal(t, id, e.GetAttributeValue("entryUUID"))
	require.Empty(t, s.entries("(uid="+goldap.EscapeFilter(upn)+")"))

	s.must(204, "DELETE", "/Users/"+url.PathEscape(id), nil)
	s.must(404, "GET", "/Users/"+url.PathEscape(id), nil)
	require.Empty(t, s.entries("(entryUUID="+id+")"))
}

func TestDS389EntraGroupLifecycle(t *testing.T) {
	s := newDS389Stack(t)
	var users, dns []string
	for i := range 3 {
		u := fixture(t, "create-user")
		u["externalId"], u["userName"] = fmt.Sprintf("ext-%d", i), fmt.Sprintf("member%d@contoso.com", i)
		users = append(users, s.must(201, "POST", "/Users", u).body["id"].(string))
		dns = append(dns, fmt.Sprintf("uid=member%d@contoso.com,ou=people,%s", i, s.base))
	}
	group := "dm_group_a"
	members := func() []string {
		v := s.entry("cn", group).GetAttributeValues("member")
		slices.Sort(v)
		return v
	}
	memberOf := func(i int) []string {
		return s.entry("entryUUID", users[i]).GetAttributeValues("memberOf")
	}

	gid := s.must(201, "POST", "/Groups", fixture(t, "create-group-empty-members")).body["id"].(string)
	e := s.entry("cn", group)
	require.Equal(t, "cn=dm_group_a,ou=groups,"+s.base, e.DN)
	require.Equal(t, gid, e.GetAttributeValue("entryUUID"))
	require.Empty(t, members(), "389's groupOfNames may be empty: no placeholder")

	patch := func(ops ...map[string]any) {
		t.Helper()
		s.must(204, "PATCH", "/Groups/"+url.PathEscape(gid), map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops})
	}
	ref := func(ids ...string) []any {
		out := []any{}
		for _, id := range ids {
			out = append(out, map[string]any{"value": id})
		}
		return out
	}
	patch(map[string]any{"op": "Add", "path": "members", "value": ref(users...)})
	require.Equal(t, dns, members())
	require.Equal(t, []string{"cn=dm_group_a,ou=groups," + s.base}, memberOf(0), "the MemberOf plugin is on")
	// 389 answers 20 to this without the Permissive Modify control it
	// lacks; the backend re-reads and succeeds.
	patch(map[string]any{"op": "Add", "path": "members", "value": ref(users[0])})
	require.Equal(t, dns, members(), "adding a present member is a success")

	patch(map[string]any{"op": "Remove", "path": "members", "value": ref(users[0])})
	require.Equal(t, dns[1:], members())
	require.Empty(t, memberOf(0))
	// 389 answers 16 to this; the backend re-reads and succeeds.
	patch(map[string]any{"op": "Remove", "path": "members", "value": ref(users[0])})
	require.Equal(t, dns[1:], members(), "removing an absent member is a success")
	patch(map[string]any{"op": "Remove", "path": "members"})
	require.Empty(t, members(), "emptied")
	patch(map[string]any{"op": "Add", "path": "members", "value": ref(users...)})
	require.Equal(t, dns, members(), "refilled")

	// Rename the group: RDN follows, id stays, memberOf follows.
	group = "renamed"
	patch(map[string]any{"op": "Replace", "path": "displayName", "value": group})
	e = s.entry("cn", group)
	require.Equal(t, "cn=renamed,ou=groups,"+s.base, e.DN)
	require.Equal(t, gid, e.GetAttributeValue("entryUUID"))
	require.Equal(t, []string{"cn=renamed,ou=groups," + s.base}, memberOf(1))

	// Rename a member: its DN in the group follows.
	s.must(200, "PATCH", "/Users/"+url.PathEscape(users[1]), map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "Replace", "path": "userName", "value": "moved1@contoso.com"}}})
	require.Equal(t, []string{dns[0], dns[2], "uid=moved1@contoso.com,ou=people," + s.base}, members())

	// A user deleted while in the group leaves it.
	s.must(204, "DELETE", "/Users/"+url.PathEscape(users[0]), nil)
	require.Equal(t, []string{dns[2], "uid=moved1@contoso.com,ou=people," + s.base}, members())
	a := s.must(200, "GET", "/Groups/"+url.PathEscape(gid), nil)
	require.Len(t, a.body["members"], 2)

	s.must(204, "DELETE", "/Groups/"+url.PathEscape(gid), nil)
	s.must(404, "GET", "/Groups/"+url.PathEscape(gid), nil)
	require.Empty(t, s.entries("(cn=renamed)"))
	require.Empty(t, memberOf(2))
}
