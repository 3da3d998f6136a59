package main

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// PUT replaces what the mapping stores; attributes the request leaves out
// are cleared (title), the id stays.
func TestPutReplacesMappedAttributes(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		body := fixture(t, "create-user")
		body["title"] = "Engineer"
		id := s.must(201, "POST", "/Users", body).body["id"].(string)
		require.Equal(t, "Engineer", s.row("SELECT title FROM users WHERE id = ?", id)["title"])

		put := fixture(t, "create-user")
		put["displayName"] = "Replaced"
		put["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = map[string]any{"costCenter": "4130", "department": "Tour Operations"}
		a := s.must(200, "PUT", "/Users/"+url.PathEscape(id), put)
		require.Equal(t, id, a.body["id"])
		require.Equal(t, map[string]string{"title": "<null>", "display_name": "Replaced", "cost_center": "4130", "department": "Tour Operations"},
			s.row("SELECT title, display_name, cost_center, department FROM users WHERE id = ?", id))
		s.must(404, "PUT", "/Users/nobody", put)
		delete(put, "emails")
		a = s.must(400, "PUT", "/Users/"+url.PathEscape(id), put)
		require.Equal(t, "invalidValue", a.body["scimType"])

		// A group PUT with members replaces them.
		gid := s.must(201, "POST", "/Groups", map[string]any{"displayName": "g", "members": []any{map[string]any{"value": id}}}).body["id"].(string)
		require.Equal(t, 1, s.count("SELECT COUNT(*) FROM group_members WHERE group_id = ?", gid))
		s.must(200, "PUT", "/Groups/"+url.PathEscape(gid), map[string]any{"displayName": "g2", "members": []any{}})
		require.Equal(t, 0, s.count("SELECT COUNT(*) FROM group_members WHERE group_id = ?", gid))
		require.Equal(t, "g2", s.row("SELECT name FROM groups WHERE id = ?", gid)["name"])
	})
}

// startIndex and count page through a stable order with the right totals.
func TestPaging(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		for i := range 7 {
			u := fixture(t, "create-user")
			u["externalId"], u["userName"] = fmt.Sprintf("p-%d", i), fmt.Sprintf("page%d@contoso.com", i)
			s.must(201, "POST", "/Users", u)
		}
		seen := map[string]bool{}
		for start := 1; start <= 7; start += 3 {
			a := s.must(200, "GET", fmt.Sprintf("/Users?startIndex=%d&count=3", start), nil)
			require.Equal(t, float64(7), a.body["totalResults"])
			require.Equal(t, float64(start), a.body["startIndex"])
			for _, r := range resources(t, a) {
				require.False(t, seen[r["id"].(string)], "a user appears on two pages")
				seen[r["id"].(string)] = true
			}
			require.Equal(t, float64(len(resources(t, a))), a.body["itemsPerPage"])
		}
		require.Len(t, seen, 7)
		a := s.must(200, "GET", "/Users?count=0", nil)
		require.Equal(t, float64(7), a.body["totalResults"])
		require.Empty(t, resources(t, a))
		a = s.must(200, "GET", "/Users?startIndex=50", nil)
		require.Empty(t, resources(t, a))
	})
}

// The manager in Entra's older array form and as an object; the work email
// replaced through a value-filter path (its removal refused: it is required).
func TestManagerShapesAndEmailRecreation(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		mgr := s.must(201, "POST", "/Users", fixture(t, "create-user-nulls")).body["id"].(string)
		id := s.must(201, "POST", "/Users", fixture(t, "create-user")).body["id"].(string)
		path := "/Users/" + url.PathEscape(id)
		op := func(o map[string]any) map[string]any {
			return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{o}}
		}
		s.must(200, "PATCH", path, op(map[string]any{"op": "Add", "path": "manager",
			"value": []any{map[string]any{"$ref": "http://x/scim/Users/" + mgr, "value": mgr}}}))
		require.Equal(t, mgr, s.row("SELECT manager_id FROM users WHERE id = ?", id)["manager_id"])
		s.must(200, "PATCH", path, op(map[string]any{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}))
		require.Equal(t, "<null>", s.row("SELECT manager_id FROM users WHERE id = ?", id)["manager_id"])
		s.must(200, "PATCH", path, op(map[string]any{"op": "replace", "value": map[string]any{
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"manager": map[string]any{"value": mgr}, "employeeNumber": "701984"}}}))
		require.Equal(t, map[string]string{"manager_id": mgr, "employee_number": "701984"}, s.row("SELECT manager_id, employee_number FROM users WHERE id = ?", id))

		// The work email is required: removing it is the create's 400, and
		// nothing is written; an Add by the value-filter path replaces it.
		s.must(400, "PATCH", path, fixture(t, "patch-remove-work-email-with-value"))
		require.NotEqual(t, "<null>", s.row("SELECT email FROM users WHERE id = ?", id)["email"])
		s.must(200, "PATCH", path, op(map[string]any{"op": "Add", "path": `emails[type eq "work"].value`, "value": "back@contoso.com"}))
		require.Equal(t, "back@contoso.com", s.row("SELECT email FROM users WHERE id = ?", id)["email"])
		a := s.must(200, "GET", path, nil)
		require.Equal(t, []any{map[string]any{"type": "work", "value": "back@contoso.com", "primary": true}}, a.body["emails"])
	})
}

// Discovery endpoints answer what Entra and the validator read.
func TestDiscovery(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		a := s.must(200, "GET", "/ServiceProviderConfig", nil)
		require.Equal(t, true, a.body["patch"].(map[string]any)["supported"])
		a = s.must(200, "GET", "/ResourceTypes", nil)
		require.Len(t, resources(t, a), 2)
		a = s.must(200, "GET", "/Schemas", nil)
		require.Len(t, resources(t, a), 4, "User, Group, EnterpriseUser and the Pharos extension")
	})
}
