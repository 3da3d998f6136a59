package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// These tests replay Entra's request catalogue (docs/entra.md §2,
// the fixtures in bridge/scim/testdata/entra) through the whole stack into
// a real Pharos database, and check the stored rows, not only the answers.

const probeGUID = "7d420df3-9995-4831-a406-ecf8166f5f6a"

func filterQ(f string) string { return "?filter=" + url.QueryEscape(f) }

func resources(t *testing.T, a answer) []map[string]any {
	t.Helper()
	raw, ok := a.body["Resources"].([]any)
	require.True(t, ok, "Resources must be a list: %s", a.raw)
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

func TestEntraUserLifecycle(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		// Test Connection: a random GUID, '+' for spaces, no Accept header.
		a := s.must(200, "GET", "/Users?filter=userName+eq+%22"+probeGUID+"%22", nil)
		require.Equal(t, float64(0), a.body["totalResults"])
		require.Empty(t, resources(t, a))
		a = s.must(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "`+probeGUID+`"`), nil)
		require.Empty(t, resources(t, a))

		// Match, then create (§2.2).
		create := fixture(t, "create-user")
		upn := create["userName"].(string)
		s.must(200, "GET", "/Users"+filterQ(`userName eq "`+upn+`"`), nil)
		a = s.must(201, "POST", "/Users", create)
		id := a.body["id"].(string)
		require.NotEmpty(t, id)
		require.Equal(t, s.base+"/Users/"+url.PathEscape(id), strings.Replace(a.header.Get("Location"), "http://scim.example.test", s.srv.URL, 1))
		row := s.row("SELECT login, external_id, email, first_name, last_name, active FROM users WHERE id = ?", id)
		require.Equal(t, map[string]string{
			"login": upn, "external_id": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
			"email":      "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
			"first_name": "givenName", "last_name": "familyName", "active": "1",
		}, row)

		// The same POST again (its answer was lost): same id, one row.
		a = s.must(201, "POST", "/Users", create)
		require.Equal(t, id, a.body["id"])
		require.Equal(t, 1, s.count("SELECT COUNT(*) FROM users WHERE external_id = ?", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"))

		// Same userName (other case), other externalId: 409, and the filter
		// that Entra sends next sees the user (no create loop).
		other := fixture(t, "create-user")
		other["externalId"] = "ffffffff-0000-0000-0000-000000000000"
		other["userName"] = strings.ToUpper(upn)
		a = s.must(409, "POST", "/Users", other)
		require.Equal(t, "uniqueness", a.body["scimType"])
		require.Equal(t, "409", a.body["status"])
		a = s.must(200, "GET", "/Users"+filterQ(`userName eq "`+strings.ToUpper(upn)+`"`), nil)
		require.Len(t, resources(t, a), 1)
		require.Equal(t, id, resources(t, a)[0]["id"])
		require.Equal(t, 1, s.count("SELECT COUNT(*) FROM users"))

		// externalId eq, unquoted (§2.4 Example 1) and quoted; case-insensitive attribute name.
		for _, q := range []string{"?filter=externalId+eq+0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", filterQ(`EXTERNALID eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`)} {
			a = s.must(200, "GET", "/Users"+q, nil)
			require.Len(t, resources(t, a), 1, q)
		}

		// GET by id, and an unknown id.
		a = s.must(200, "GET", "/Users/"+url.PathEscape(id), nil)
		require.Equal(t, upn, a.body["userName"])
		require.Equal(t, true, a.body["active"])
		s.must(404, "GET", "/Users/5171a35d82074e068ce2", nil)

		// A manager (the nulls example, §2.2 Example 2), linked by a later PATCH (§2.16).
		mgr := s.must(201, "POST", "/Users", fixture(t, "create-user-nulls")).body["id"].(string)
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "add",
				"path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": mgr}},
		})
		require.Equal(t, mgr, s.row("SELECT manager_id FROM users WHERE id = ?", id)["manager_id"])
		a = s.must(200, "GET", "/Users"+filterQ(`id eq "`+id+`" and manager eq "`+mgr+`"`)+"&attributes=id", nil)
		require.Len(t, resources(t, a), 1)
		require.Nil(t, resources(t, a)[0]["userName"], "attributes=id projects the answer")
		a = s.must(200, "GET", "/Users/"+url.PathEscape(id), nil)
		ext := a.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
		require.Equal(t, map[string]any{"value": mgr}, ext["manager"], "manager is complex under the enterprise URN")
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "remove", "path": `manager[value eq "` + mgr + `"]`}},
		})
		require.Equal(t, "<null>", s.row("SELECT manager_id FROM users WHERE id = ?", id)["manager_id"])

		// Multi-valued update (§2.5): filtered email path and familyName.
		a = s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-user-multi"))
		require.Equal(t, "updatedFamilyName", a.body["name"].(map[string]any)["familyName"])
		row = s.row("SELECT email, last_name FROM users WHERE id = ?", id)
		require.Equal(t, map[string]string{"email": "updatedEmail@microsoft.com", "last_name": "updatedFamilyName"}, row)

		// Path-less replace with dotted and URN keys (§2.17 with the flag), then without.
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-replace-multiple-flag"))
		row = s.row("SELECT display_name, first_name, last_name, employee_number, email FROM users WHERE id = ?", id)
		require.Equal(t, map[string]string{"display_name": "Bjfe", "first_name": "Kkom", "last_name": "Unua",
			"employee_number": "Aklq", "email": "TestMhvaes@test.microsoft.com"}, row)
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-replace-multiple"))
		row = s.row("SELECT display_name, first_name, last_name, employee_number, external_id FROM users WHERE id = ?", id)
		require.Equal(t, map[string]string{"display_name": "Pvlo", "first_name": "Gtfd", "last_name": "Pkqf",
			"employee_number": "Eqpj", "external_id": "Eqpj"}, row)

		// An attribute the Pharos store has no column for is ignored, not rejected.
		before := s.row("SELECT * FROM users WHERE id = ?", id)
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-add-nickname"))
		require.Equal(t, before, s.row("SELECT * FROM users WHERE id = ?", id))

		// Rename the UPN (§2.6): the id stays.
		a = s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-user-username"))
		require.Equal(t, id, a.body["id"])
		require.Equal(t, "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com", s.row("SELECT login FROM users WHERE id = ?", id)["login"])

		// Soft delete and re-enable in every shape Entra sends (§2.7).
		for _, c := range []struct {
			fixture string
			active  string
		}{
			{"patch-disable-user-string", "0"}, {"patch-enable-user-string", "1"},
			{"patch-disable-user-lowercase", "0"}, {"patch-enable-user-string", "1"},
			{"patch-disable-user", "0"},
		} {
			s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, c.fixture))
			require.Equal(t, c.active, s.row("SELECT active FROM users WHERE id = ?", id)["active"], c.fixture)
		}
		// A disabled user is still returned by GET and by filters.
		a = s.must(200, "GET", "/Users/"+url.PathEscape(id), nil)
		require.Equal(t, false, a.body["active"])
		a = s.must(200, "GET", "/Users"+filterQ(`userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"`), nil)
		require.Len(t, resources(t, a), 1)
		require.Equal(t, false, resources(t, a)[0]["active"])

		// Hard delete (§2.8): 204, then 404; the row is gone.
		s.must(204, "DELETE", "/Users/"+url.PathEscape(id), nil)
		s.must(404, "GET", "/Users/"+url.PathEscape(id), nil)
		require.Equal(t, 0, s.count("SELECT COUNT(*) FROM users WHERE id = ?", id))
		s.must(404, "DELETE", "/Users/does-not-exist", nil)
	})
}

func TestEntraGroupLifecycle(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		var users []string
		for i := range 3 {
			u := fixture(t, "create-user")
			u["externalId"] = fmt.Sprintf("ext-%d", i)
			u["userName"] = fmt.Sprintf("member%d@contoso.com", i)
			users = append(users, s.must(201, "POST", "/Users", u).body["id"].(string))
		}

		// Match, then create with an empty member list and Microsoft's extra schema URN (§2.9).
		g := fixture(t, "create-group")
		name := g["displayName"].(string)
		a := s.must(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "`+name+`"`), nil)
		require.Empty(t, resources(t, a))
		a = s.must(201, "POST", "/Groups", fixture(t, "create-group-empty-members"))
		gid := a.body["id"].(string)
		require.Equal(t, map[string]string{"name": "dm_group_a", "external_id": "555fb2ba-9254-4921-bce8-2ef9b630e36d"},
			s.row("SELECT name, external_id FROM groups WHERE id = ?", gid))
		members := func() int { return s.count("SELECT COUNT(*) FROM group_members WHERE group_id = ?", gid) }
		require.Equal(t, 0, members())

		patch := func(ops ...map[string]any) {
			t.Helper()
			s.must(204, "PATCH", "/Groups/"+url.PathEscape(gid), map[string]any{
				"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops})
		}
		ref := func(ids ...string) []any {
			out := []any{}
			for _, id := range ids {
				out = append(out, map[string]any{"$ref": nil, "value": id})
			}
			return out
		}
		// Batch add (§2.13), then a repeat of a present member: idempotent.
		patch(map[string]any{"op": "Add", "path": "members", "value": ref(users...)})
		require.Equal(t, 3, members())
		patch(map[string]any{"op": "Add", "path": "members", "value": ref(users[0])})
		require.Equal(t, 3, members())

		// excludedAttributes=members on GET by id and on the filter (§2.10, §2.11).
		a = s.must(200, "GET", "/Groups/"+url.PathEscape(gid)+"?excludedAttributes=members", nil)
		require.NotContains(t, a.body, "members")
		a = s.must(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "DM_GROUP_A"`), nil)
		require.Len(t, resources(t, a), 1)
		require.NotContains(t, resources(t, a)[0], "members")
		a = s.must(200, "GET", "/Groups/"+url.PathEscape(gid), nil)
		require.Len(t, a.body["members"], 3)

		// Remove only the listed member (§2.14, default form), then the filter form.
		patch(map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": users[0]}}})
		require.Equal(t, 2, members())
		patch(map[string]any{"op": "remove", "path": `members[value eq "` + users[1] + `"]`})
		require.Equal(t, 1, members())
		require.Equal(t, users[2], s.row("SELECT user_id FROM group_members WHERE group_id = ?", gid)["user_id"])
		// Removing an absent member is a success.
		patch(map[string]any{"op": "Remove", "path": "members", "value": ref(users[0])})
		require.Equal(t, 1, members())

		// Rename (§2.12).
		patch(fixture(t, "patch-group-rename")["Operations"].([]any)[0].(map[string]any))
		require.Equal(t, "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName", s.row("SELECT name FROM groups WHERE id = ?", gid)["name"])

		// Remove path=members with no value empties the group; it stays.
		patch(map[string]any{"op": "Add", "path": "members", "value": ref(users...)})
		patch(map[string]any{"op": "Remove", "path": "members"})
		require.Equal(t, 0, members())
		s.must(200, "GET", "/Groups/"+url.PathEscape(gid), nil)

		// Deleting a user removes their memberships; deleting the group (§2.15).
		patch(map[string]any{"op": "Add", "path": "members", "value": ref(users...)})
		s.must(204, "DELETE", "/Users/"+url.PathEscape(users[0]), nil)
		require.Equal(t, 2, members())
		s.must(204, "DELETE", "/Groups/"+url.PathEscape(gid), nil)
		s.must(404, "GET", "/Groups/"+url.PathEscape(gid), nil)
		require.Equal(t, 0, members())
		// Duplicate group name: the group's natural key is its displayName.
		s.must(201, "POST", "/Groups", map[string]any{"displayName": "Sales", "externalId": "g-1"})
		a = s.must(409, "POST", "/Groups", map[string]any{"displayName": "SALES", "externalId": "g-2"})
		require.Equal(t, "uniqueness", a.body["scimType"])
	})
}

// An entry that existed before the bridge (no externalId) is found by
// userName and linked by Entra's PATCH; no second entry is ever created.
func TestPreExistingUserIsLinked(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		// Created directly in the store, as a legacy system would.
		_, err := s.db.Exec(s.rebind("INSERT INTO users (id, login, email, first_name, active) VALUES (?, ?, ?, ?, ?)"),
			"legacy-1", "Bob@Contoso.com", "bob@contoso.com", "Bob", 1)
		require.NoError(t, err)
		a := s.must(200, "GET", "/Users"+filterQ(`userName eq "bob@contoso.com"`), nil)
		require.Len(t, resources(t, a), 1)
		require.Equal(t, "legacy-1", resources(t, a)[0]["id"])
		s.must(200, "PATCH", "/Users/legacy-1", map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "Replace", "path": "externalId", "value": "obj-bob"}},
		})
		require.Equal(t, "obj-bob", s.row("SELECT external_id FROM users WHERE id = ?", "legacy-1")["external_id"])
		// Entra's POST of the same person now finds them by externalId.
		a = s.must(201, "POST", "/Users", map[string]any{"externalId": "obj-bob", "userName": "bob@contoso.com",
			"emails": []any{map[string]any{"type": "work", "value": "bob@contoso.com", "primary": true}}})
		require.Equal(t, "legacy-1", a.body["id"])
		require.Equal(t, 1, s.count("SELECT COUNT(*) FROM users"))
	})
}

// Concurrent identical creates (Entra's retry racing its first try) make
// one row; concurrent member adds to one group lose no member.
func TestConcurrentWrites(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		body := fixture(t, "create-user")
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := s.do("POST", "/Users", body)
				if a.status == http.StatusCreated {
					ids[i] = a.body["id"].(string)
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id, "every concurrent create answers 201 with the same id")
		}
		require.Equal(t, 1, s.count("SELECT COUNT(*) FROM users"))

		gid := s.must(201, "POST", "/Groups", map[string]any{"displayName": "all", "externalId": "g"}).body["id"].(string)
		var users []string
		for i := range 12 {
			u := fixture(t, "create-user")
			u["externalId"], u["userName"] = fmt.Sprintf("c-%d", i), fmt.Sprintf("c%d@contoso.com", i)
			users = append(users, s.must(201, "POST", "/Users", u).body["id"].(string))
		}
		for _, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := s.do("PATCH", "/Groups/"+url.PathEscape(gid), map[string]any{
					"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
					"Operations": []any{map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": u}}}},
				})
				if a.status != http.StatusNoContent {
					t.Errorf("member add answered %d: %s", a.status, a.raw)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, 12, s.count("SELECT COUNT(*) FROM group_members WHERE group_id = ?", gid))
	})
}
