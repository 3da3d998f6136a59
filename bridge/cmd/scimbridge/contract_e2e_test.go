package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The mapping is the contract (docs/design.md §3): these run through the
// whole stack on the real Pharos stores.

// requiredBody builds, from a /Schemas answer, the smallest body a
// schema-driven client sends: every required attribute, and the required
// sub-attributes of required complex ones.
func requiredBody(t *testing.T, schemas []map[string]any, core string, n int) map[string]any {
	t.Helper()
	build := func(attrs []any) map[string]any {
		out := map[string]any{}
		for _, raw := range attrs {
			a := raw.(map[string]any)
			if a["required"] != true || a["mutability"] == "readOnly" {
				continue
			}
			val := func(a map[string]any) any {
				if a["type"] == "boolean" {
					return true
				}
				return fmt.Sprintf("sd%d-%s@contoso.com", n, strings.ToLower(a["name"].(string)))
			}
			var v any
			if subs, ok := a["subAttributes"].([]any); ok {
				el := map[string]any{}
				for _, s := range subs {
					if sub := s.(map[string]any); sub["required"] == true {
						el[sub["name"].(string)] = val(sub)
					}
				}
				v = el
			} else {
				v = val(a)
			}
			if a["multiValued"] == true {
				v = []any{v}
			}
			out[a["name"].(string)] = v
		}
		return out
	}
	body := map[string]any{"schemas": []any{core}}
	for _, s := range schemas {
		attrs := build(s["attributes"].([]any))
		switch {
		case s["id"] == core:
			for k, v := range attrs {
				body[k] = v
			}
		case len(attrs) > 0 && core == "urn:ietf:params:scim:schemas:core:2.0:User" && !strings.Contains(s["id"].(string), ":Group"):
			body[s["id"].(string)] = attrs
		}
	}
	return body
}

// TestSchemaDrivenClientIsServed: a client that reads /Schemas and sends
// what it marks required is served (201), users and groups; the schemas
// list only what the mapping stores.
func TestSchemaDrivenClientIsServed(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		var schemas []map[string]any
		for _, r := range resources(t, s.must(200, "GET", "/Schemas", nil)) {
			schemas = append(schemas, r)
		}
		user := s.must(201, "POST", "/Users", requiredBody(t, schemas, "urn:ietf:params:scim:schemas:core:2.0:User", 1))
		require.Equal(t, "sd1-value@contoso.com", s.row("SELECT email FROM users WHERE id = ?", user.body["id"])["email"])
		s.must(201, "POST", "/Groups", requiredBody(t, schemas, "urn:ietf:params:scim:schemas:core:2.0:Group", 1))

		one := s.must(200, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", nil)
		var names []string
		for _, a := range one.body["attributes"].([]any) {
			names = append(names, a.(map[string]any)["name"].(string))
		}
		require.Equal(t, []string{"id", "externalId", "userName", "emails", "name", "displayName", "title", "active", "meta"}, names)
		rt := s.must(200, "GET", "/ResourceTypes/User", nil)
		require.Len(t, rt.body["schemaExtensions"], 2)
		s.must(200, "GET", "/Schemas/urn:ietf:params:scim:schemas:extension:pharos:2.0:User", nil)
	})
}

// TestPutKeepsCardsAddedOutsideSCIM: badge cards written straight into the
// store (the import's way) survive a PUT that does not carry the Pharos
// extension, and Entra's PATCHes; a PUT that carries it replaces them.
func TestPutKeepsCardsAddedOutsideSCIM(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		created := s.must(201, "POST", "/Users", fixture(t, "create-user"))
		id := created.body["id"].(string)
		_, err := s.db.Exec(s.rebind("INSERT INTO cards (user_id, card_number) VALUES (?, ?)"), id, "IMPORTED-1")
		require.NoError(t, err)
		put := fixture(t, "create-user")
		put["displayName"] = "Replaced"
		s.must(200, "PUT", "/Users/"+url.PathEscape(id), put)
		require.Equal(t, 1, s.count("SELECT COUNT(*) FROM cards WHERE user_id = ?", id), "a PUT without badgeCards keeps the cards")
		require.Equal(t, "Replaced", s.row("SELECT display_name FROM users WHERE id = ?", id)["display_name"])
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-replace-multiple-flag"))
		require.Equal(t, 1, s.count("SELECT COUNT(*) FROM cards WHERE user_id = ?", id))

		put["urn:ietf:params:scim:schemas:extension:pharos:2.0:User"] = map[string]any{"badgeCards": []any{"SCIM-2"}}
		a := s.must(200, "PUT", "/Users/"+url.PathEscape(id), put)
		require.Equal(t, []any{"SCIM-2"}, a.body["urn:ietf:params:scim:schemas:extension:pharos:2.0:User"].(map[string]any)["badgeCards"])
		require.Equal(t, map[string]string{"card_number": "SCIM-2"}, s.row("SELECT card_number FROM cards WHERE user_id = ?", id))
	})
}

// TestMissingMailIsOneAnswer: a create without mail and a PATCH removing
// it get the same 400, naming the Entra attribute to map.
func TestMissingMailIsOneAnswer(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		const want = `map Entra's mail to emails[type eq "work"].value`
		body := fixture(t, "create-user")
		delete(body, "emails")
		a := s.must(400, "POST", "/Users", body)
		require.Equal(t, "invalidValue", a.body["scimType"])
		require.Contains(t, a.body["detail"], want)
		id := s.must(201, "POST", "/Users", fixture(t, "create-user")).body["id"].(string)
		b := s.must(400, "PATCH", "/Users/"+url.PathEscape(id), map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "remove", "path": `emails[type eq "work"].value`}}})
		require.Equal(t, a.body["detail"], b.body["detail"])
		require.NotEqual(t, "<null>", s.row("SELECT email FROM users WHERE id = ?", id)["email"], "nothing written")
	})
}
