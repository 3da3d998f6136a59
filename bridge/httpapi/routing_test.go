package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

const (
	userBody  = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Test_User_ab6490ee@contoso.com","externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","active":true}`
	groupBody = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Group1DisplayName","externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","members":[]}`
	patchBody = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"New Name"}]}`
)

func TestRouting(t *testing.T) {
	t.Parallel()
	type want struct {
		status int
		method string // provisioner method called, "" for none
		kind   scim.Kind
		id     string
	}
	tests := []struct {
		name string
		req  req
		want want
	}{
		{"list users", req{Method: "GET", Target: "/scim/t/v2/Users"}, want{200, "List", scim.User, ""}},
		{"list users lower case", req{Method: "GET", Target: "/scim/t/v2/users"}, want{200, "List", scim.User, ""}},
		{"list users upper case", req{Method: "GET", Target: "/SCIM/t/V2/USERS"}, want{200, "List", scim.User, ""}},
		{"list users trailing slash", req{Method: "GET", Target: "/scim/t/v2/Users/"}, want{200, "List", scim.User, ""}},
		{"list users doubled slash", req{Method: "GET", Target: "/scim/t/v2//Users"}, want{200, "List", scim.User, ""}},
		{"list groups", req{Method: "GET", Target: "/scim/t/v2/Groups"}, want{200, "List", scim.Group, ""}},
		{"get user", req{Method: "GET", Target: "/scim/t/v2/Users/abc"}, want{200, "Get", scim.User, "abc"}},
		{"get user lower case", req{Method: "GET", Target: "/scim/t/v2/users/abc"}, want{200, "Get", scim.User, "abc"}},
		{"get user id keeps case", req{Method: "GET", Target: "/scim/t/v2/users/AbC"}, want{200, "Get", scim.User, "AbC"}},
		{"get group", req{Method: "GET", Target: "/scim/t/v2/groups/g1"}, want{200, "Get", scim.Group, "g1"}},
		{"create user", req{Method: "POST", Target: "/scim/t/v2/Users", Body: userBody}, want{201, "Create", scim.User, ""}},
		{"create user lower case", req{Method: "POST", Target: "/scim/t/v2/users", Body: userBody}, want{201, "Create", scim.User, ""}},
		{"create group", req{Method: "POST", Target: "/scim/t/v2/Groups", Body: groupBody}, want{201, "Create", scim.Group, ""}},
		{"replace user", req{Method: "PUT", Target: "/scim/t/v2/Users/u1", Body: userBody}, want{200, "Replace", scim.User, "u1"}},
		{"patch user", req{Method: "PATCH", Target: "/scim/t/v2/Users/u1", Body: patchBody}, want{204, "Patch", scim.User, "u1"}},
		{"patch group", req{Method: "PATCH", Target: "/scim/t/v2/Groups/g1", Body: patchBody}, want{204, "Patch", scim.Group, "g1"}},
		{"delete user", req{Method: "DELETE", Target: "/scim/t/v2/Users/u1"}, want{204, "Delete", scim.User, "u1"}},
		{"delete group", req{Method: "DELETE", Target: "/scim/t/v2/groups/g1"}, want{204, "Delete", scim.Group, "g1"}},
		{"id with encoded slash", req{Method: "GET", Target: "/scim/t/v2/Users/a%2Fb"}, want{200, "Get", scim.User, "a/b"}},
		{"id with plus stays plus", req{Method: "GET", Target: "/scim/t/v2/Users/a+b"}, want{200, "Get", scim.User, "a+b"}},
		{"id with encoded space", req{Method: "DELETE", Target: "/scim/t/v2/Users/a%20b"}, want{204, "Delete", scim.User, "a b"}},
		{"id with at sign", req{Method: "GET", Target: "/scim/t/v2/Users/CEC50F275D83C4530A495FCF@834d0e1e5d8235f90a495fda"}, want{200, "Get", scim.User, "CEC50F275D83C4530A495FCF@834d0e1e5d8235f90a495fda"}},
		{"id dot dot", req{Method: "GET", Target: "/scim/t/v2/Users/.."}, want{404, "", "", ""}},
		{"id encoded dot dot", req{Method: "DELETE", Target: "/scim/t/v2/Users/%2E%2E"}, want{404, "", "", ""}},
		{"id single dot", req{Method: "GET", Target: "/scim/t/v2/Users/."}, want{404, "", "", ""}},
		{"id with raw slash", req{Method: "GET", Target: "/scim/t/v2/Users/a/b"}, want{404, "", "", ""}},
		{"dot dot segment", req{Method: "GET", Target: "/scim/t/v2/../v2/Users"}, want{404, "", "", ""}},
		{"unknown resource", req{Method: "GET", Target: "/scim/t/v2/Widgets"}, want{404, "", "", ""}},
		{"unknown version", req{Method: "GET", Target: "/scim/t/v1/Users"}, want{404, "", "", ""}},
		{"no tenant", req{Method: "GET", Target: "/scim/v2/Users"}, want{404, "", "", ""}},
		{"root", req{Method: "GET", Target: "/"}, want{404, "", "", ""}},
		{"unknown path", req{Method: "GET", Target: "/nope"}, want{404, "", "", ""}},
		{"bulk not served", req{Method: "POST", Target: "/scim/t/v2/Bulk", Body: "{}"}, want{404, "", "", ""}},
		{"aadOptscim062020 on list", req{Method: "GET", Target: "/scim/t/v2/Users?aadOptscim062020"}, want{200, "List", scim.User, ""}},
		{"aadOptscim062020 on create", req{Method: "POST", Target: "/scim/t/v2/Users?aadOptscim062020", Body: userBody}, want{201, "Create", scim.User, ""}},
		{"aadOptscim062020 on patch", req{Method: "PATCH", Target: "/scim/t/v2/Users/u1?aadOptscim062020", Body: patchBody}, want{204, "Patch", scim.User, "u1"}},
		{"aadOptscim062020 on get", req{Method: "GET", Target: "/scim/t/v2/Users/u1?aadOptscim062020=1"}, want{200, "Get", scim.User, "u1"}},
		{"body on get ignored", req{Method: "GET", Target: "/scim/t/v2/Users/u1", Body: "not json"}, want{200, "Get", scim.User, "u1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			w := h.do(t, tt.req)
			require.Equal(t, tt.want.status, w.Code, "body: %s", w.Body.String())
			calls := h.prov.recorded()
			if tt.want.method == "" {
				require.Empty(t, calls)
				if tt.want.status == http.StatusNotFound {
					mustSCIMError(t, w, http.StatusNotFound)
				}
				return
			}
			require.Len(t, calls, 1)
			got := calls[0]
			require.Equal(t, tt.want.method, got.Method)
			require.Equal(t, tt.want.kind, got.Kind)
			require.Equal(t, tt.want.id, got.ID)
			if w.Code == http.StatusNoContent {
				require.Empty(t, w.Body.String())
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		target    string
		wantAllow []string
	}{
		{"post to a user", "POST", "/scim/t/v2/Users/u1", []string{"DELETE", "GET", "PATCH", "PUT"}},
		{"delete the collection", "DELETE", "/scim/t/v2/Users", []string{"GET", "POST"}},
		{"put the collection lower case", "PUT", "/scim/t/v2/groups", []string{"GET", "POST"}},
		{"post to service provider config", "POST", "/scim/t/v2/ServiceProviderConfig", []string{"GET"}},
		{"delete a schema", "DELETE", "/scim/t/v2/Schemas/urn:x", []string{"GET"}},
		{"post to healthz", "POST", "/healthz", []string{"GET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			w := h.do(t, req{Method: tt.method, Target: tt.target})
			e := mustSCIMError(t, w, http.StatusMethodNotAllowed)
			require.Contains(t, e.Detail, tt.method)
			allow := strings.Split(w.Header().Get("Allow"), ", ")
			require.ElementsMatch(t, tt.wantAllow, allow)
			require.Empty(t, h.prov.recorded())
		})
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	w := h.do(t, req{Method: "GET", Target: "/healthz", Header: map[string]string{"Authorization": ""}})
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "ok", w.Body.String())
	require.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
	require.Empty(t, h.tenants.recorded(), "healthz must not authenticate")
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		target     string
		wantStatus int
		check      func(t *testing.T, body map[string]any)
	}{
		{"service provider config", "/scim/t/v2/ServiceProviderConfig", 200, func(t *testing.T, body map[string]any) {
			require.Contains(t, body["schemas"], "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig")
			require.Equal(t, testPublicURL+"/scim/t/v2/ServiceProviderConfig", body["meta"].(map[string]any)["location"])
		}},
		{"service provider config lower case", "/scim/t/v2/serviceproviderconfig", 200, nil},
		{"schemas", "/scim/t/v2/Schemas", 200, func(t *testing.T, body map[string]any) {
			requireListOfIDs(t, body, scim.SchemaUser, scim.SchemaGroup, scim.SchemaEnterprise)
		}},
		{"one schema", "/scim/t/v2/Schemas/" + scim.SchemaUser, 200, func(t *testing.T, body map[string]any) {
			require.Equal(t, scim.SchemaUser, body["id"])
		}},
		{"unknown schema", "/scim/t/v2/Schemas/urn:nope", 404, nil},
		{"resource types", "/scim/t/v2/ResourceTypes", 200, func(t *testing.T, body map[string]any) {
			requireListOfIDs(t, body, "User", "Group")
			res := body["Resources"].([]any)
			for _, r := range res {
				meta, _ := r.(map[string]any)["meta"].(map[string]any)
				if loc, ok := meta["location"].(string); ok {
					require.True(t, strings.HasPrefix(loc, testPublicURL+"/scim/t/v2/"), loc)
				}
			}
		}},
		{"one resource type any case", "/scim/t/v2/resourcetypes/group", 200, func(t *testing.T, body map[string]any) {
			require.Equal(t, "Group", body["id"])
		}},
		{"filter refused", "/scim/t/v2/Schemas?filter=id+eq+%22x%22", 403, nil},
		{"filter refused on resource types", "/scim/t/v2/ResourceTypes?filter=name+eq+%22User%22", 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			w := h.do(t, req{Method: "GET", Target: tt.target})
			if tt.wantStatus != http.StatusOK {
				mustSCIMError(t, w, tt.wantStatus)
				return
			}
			require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body.String())
			if tt.check != nil {
				tt.check(t, mustObject(t, w))
			}
			require.Empty(t, h.prov.recorded())
		})
	}
}

func requireListOfIDs(t *testing.T, body map[string]any, ids ...string) {
	t.Helper()
	require.Equal(t, []any{scim.SchemaListResponse}, body["schemas"])
	res, ok := body["Resources"].([]any)
	require.True(t, ok, "Resources: %v", body["Resources"])
	got := map[string]bool{}
	for _, r := range res {
		got[r.(map[string]any)["id"].(string)] = true
	}
	for _, id := range ids {
		require.True(t, got[id], "missing %s in %v", id, got)
	}
	require.Equal(t, float64(len(res)), body["totalResults"])
}

func TestCanonicalPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"", "/"},
		{"/healthz", "/healthz"},
		{"/scim/t/v2/users", "/scim/t/v2/Users"},
		{"/scim/T/v2/users", "/scim/T/v2/Users"},
		{"/scim/t/v2/%55sers", "/scim/t/v2/Users"},
		{"/scim/t/v2/users/a%2Fb", "/scim/t/v2/Users/a%2Fb"},
		{"/scim/t/v2/serviceproviderCONFIG", "/scim/t/v2/ServiceProviderConfig"},
		{"/scim/t/v2/resourcetypes/user", "/scim/t/v2/ResourceTypes/user"},
		{"//scim//t/v2/users///", "/scim/t/v2/Users"},
		{"/other/t/v2/users", "/other/t/v2/users"},
		{"/scim/t/v3/users", "/scim/t/v3/users"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, canonicalPath(tt.in)); diff != "" {
			t.Errorf("canonicalPath(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// FuzzCanonicalPath checks the allocation-free check against the rebuild:
// a path is left alone exactly when rebuilding it changes nothing.
func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/", "", "/scim/t/v2/Users", "/scim/t/v2/users", "/SCIM/t/V2/Users/x", "/scim/t/v2/%55sers",
		"/scim/t/v2/Users/", "//scim/t/v2/Users", "/scim/t/v2", "/scim/t/v2/Groups/a%2Fb/c", "/scim/t/v2/Schemas/urn:x", "/a//b", "x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if got, want := isCanonicalPath(p), rebuildPath(p) == p; got != want {
			t.Fatalf("isCanonicalPath(%q) = %v, rebuildPath gives %q", p, got, rebuildPath(p))
		}
	})
}
