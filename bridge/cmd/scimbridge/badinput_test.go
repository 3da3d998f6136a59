package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Bad input gets a clear 4xx SCIM error, never a 500, and changes nothing.
func TestBadInput(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		id := s.must(201, "POST", "/Users", fixture(t, "create-user")).body["id"].(string)
		before := s.row("SELECT * FROM users WHERE id = ?", id)
		userPath := "/Users/" + url.PathEscape(id)
		patchOp := func(op map[string]any) map[string]any {
			return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{op}}
		}

		cases := []struct {
			name, method, path string
			body               any
			status             int
			scimType           string
			detail             string // a substring the detail must contain
		}{
			{"malformed JSON", "POST", "/Users", `{"userName": "x",`, 400, "invalidSyntax", ""},
			{"not an object", "POST", "/Users", `["userName"]`, 400, "invalidSyntax", ""},
			{"userName a number", "POST", "/Users", `{"userName": 5, "emails": [{"type":"work","value":"a@b.c"}]}`, 400, "invalidValue", "userName"},
			{"emails not a list", "POST", "/Users", `{"userName": "u@x", "emails": "a@b.c"}`, 400, "invalidValue", "emails"},
			{"missing mail", "POST", "/Users", `{"userName": "nomail@contoso.com", "externalId": "nm"}`, 400, "invalidValue", "emails"},
			{"active not a boolean", "POST", "/Users", `{"userName": "u@x", "active": "maybe", "emails": [{"type":"work","value":"a@b.c"}]}`, 400, "invalidValue", "active"},
			{"PATCH without Operations", "PATCH", userPath, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, 400, "invalidSyntax", ""},
			{"PATCH unknown op", "PATCH", userPath, patchOp(map[string]any{"op": "merge", "path": "title", "value": "x"}), 400, "", ""},
			{"PATCH bad path", "PATCH", userPath, patchOp(map[string]any{"op": "replace", "path": "emails[type eq", "value": "x"}), 400, "invalidPath", ""},
			{"PATCH remove without path", "PATCH", userPath, patchOp(map[string]any{"op": "remove"}), 400, "", ""},
			{"PATCH active garbage", "PATCH", userPath, patchOp(map[string]any{"op": "replace", "path": "active", "value": "perhaps"}), 400, "invalidValue", "active"},
			{"garbage filter", "GET", "/Users?filter=" + url.QueryEscape(`userName eq`), nil, 400, "invalidFilter", ""},
			{"unbalanced filter", "GET", "/Users?filter=" + url.QueryEscape(`(userName eq "a"`), nil, 400, "invalidFilter", ""},
			{"filter operator unknown", "GET", "/Users?filter=" + url.QueryEscape(`userName like "a"`), nil, 400, "invalidFilter", ""},
			{"unknown id", "GET", "/Users/00000000-0000-0000-0000-000000000000", nil, 404, "", ""},
			{"path traversal id", "GET", "/Users/..%2F..%2Fetc%2Fpasswd", nil, 404, "", ""},
			{"dot-dot id", "DELETE", "/Users/%2E%2E", nil, 404, "", ""},
			{"unknown resource type", "GET", "/Printers", nil, 404, "", ""},
			{"oversized body", "POST", "/Users", `{"userName":"` + strings.Repeat("a", 70000) + `"}`, 413, "", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				a := s.do(c.method, c.path, c.body)
				require.Equal(t, c.status, a.status, a.raw)
				require.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:Error"}, a.body["schemas"], a.raw)
				if c.scimType != "" {
					require.Equal(t, c.scimType, a.body["scimType"], a.raw)
				}
				if c.detail != "" {
					require.Contains(t, a.body["detail"], c.detail, a.raw)
				}
			})
		}
		require.Equal(t, before, s.row("SELECT * FROM users WHERE id = ?", id), "bad input changed nothing")
		require.Equal(t, 1, s.count("SELECT COUNT(*) FROM users"))
	})
}

// Filter values with quotes, parentheses, wildcards and backslashes are
// data: each finds exactly the one user that has it, never a wider result.
func TestHostileFilterValues(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		names := []string{`o"brien@x.com`, `a*@x.com`, `*`, `(cn=*)`, `back\slash@x.com`, `50%_off@x.com`, `x' OR '1'='1`, `é@ünïcode.test`}
		for i, n := range names {
			u := fixture(t, "create-user")
			u["externalId"], u["userName"] = "h"+string(rune('a'+i)), n
			s.must(201, "POST", "/Users", u)
		}
		for _, n := range names {
			esc := strings.ReplaceAll(strings.ReplaceAll(n, `\`, `\\`), `"`, `\"`)
			a := s.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+esc+`"`), nil)
			got := resources(t, a)
			require.Len(t, got, 1, n)
			require.Equal(t, n, got[0]["userName"])
		}
		// A wildcard never widens: sw "a*" matches only values starting with a literal "a*".
		a := s.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName sw "a*"`), nil)
		require.Len(t, resources(t, a), 1)
		a = s.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName co "%"`), nil)
		require.Len(t, resources(t, a), 1)
	})
}

// Authentication: only the tenant's own bearer token gets in.
func TestAuthentication(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		probe := "/Users?filter=" + url.QueryEscape(`userName eq "`+probeGUID+`"`)
		for _, c := range []struct{ name, auth string }{
			{"missing", ""},
			{"basic", "Basic dXNlcjpwYXNz"},
			{"prefix of the real token", "Bearer " + s.token[:len(s.token)-1]},
			{"token plus a byte", "Bearer " + s.token + "x"},
			{"other scheme", "Token " + s.token},
			{"empty bearer", "Bearer "},
		} {
			t.Run(c.name, func(t *testing.T) {
				a := s.doWith("GET", probe, nil, c.auth)
				require.Equal(t, 401, a.status, a.raw)
				require.Equal(t, "401", a.body["status"])
				require.NotContains(t, a.raw, s.token)
			})
		}
		s.must(200, "GET", probe, nil)
		// The scheme is case-insensitive.
		require.Equal(t, 200, s.doWith("GET", probe, nil, "bearer "+s.token).status)
	})
}
