package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 256
	small := `{"userName":"a@b.c"}`
	big := `{"userName":"a@b.c","displayName":"` + strings.Repeat("x", limit) + `"}`
	exact := `{"userName":"a@b.c","displayName":"` + strings.Repeat("x", limit-len(`{"userName":"a@b.c","displayName":""}`)) + `"}`
	require.Len(t, exact, limit)
	tests := []struct {
		name          string
		method        string
		target        string
		body          string
		unknownLength bool // chunked: no Content-Length to reject early
		wantStatus    int
	}{
		{"create under the limit", "POST", "/scim/t/v2/Users", small, false, 201},
		{"create at the limit", "POST", "/scim/t/v2/Users", exact, false, 201},
		{"create over the limit", "POST", "/scim/t/v2/Users", big, false, 413},
		{"create over the limit chunked", "POST", "/scim/t/v2/Users", big, true, 413},
		{"replace over the limit", "PUT", "/scim/t/v2/Users/u1", big, false, 413},
		{"patch over the limit chunked", "PATCH", "/scim/t/v2/Groups/g1", `{"Operations":[` + strings.Repeat(" ", limit) + `]}`, true, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t, func(o *Options) { o.BodyLimit = limit })
			r := httptest.NewRequest(tt.method, tt.target, io.NopCloser(strings.NewReader(tt.body)))
			if tt.unknownLength {
				r.ContentLength = -1
			}
			r.Header.Set("Authorization", "Bearer "+testToken)
			w := httptest.NewRecorder()
			h.handler.ServeHTTP(w, r)
			require.Equal(t, scim.ContentType, w.Header().Get("Content-Type"))
			if tt.wantStatus != http.StatusRequestEntityTooLarge {
				require.Equal(t, tt.wantStatus, w.Code, "body: %s", w.Body.String())
				return
			}
			e := mustSCIMError(t, w, http.StatusRequestEntityTooLarge)
			require.Empty(t, e.ScimType)
			require.Contains(t, e.Detail, "256 bytes")
			require.Empty(t, h.prov.recorded())
		})
	}
}

func TestDefaultBodyLimitIsOneMiB(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	body := `{"userName":"a@b.c","displayName":"` + strings.Repeat("x", 1<<20) + `"}`
	w := h.do(t, req{Method: "POST", Target: "/scim/t/v2/Users", Body: body})
	e := mustSCIMError(t, w, http.StatusRequestEntityTooLarge)
	require.Contains(t, e.Detail, "1048576 bytes")
}

func TestMalformedBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		target string
		body   string
	}{
		{"create truncated JSON", "POST", "/scim/t/v2/Users", `{"userName":"a@b.c"`},
		{"create not JSON", "POST", "/scim/t/v2/Users", `userName=a@b.c`},
		{"create empty body", "POST", "/scim/t/v2/Users", ``},
		{"create trailing comma", "POST", "/scim/t/v2/Groups", `{"displayName":"g",}`},
		{"replace not an object", "PUT", "/scim/t/v2/Users/u1", `["a"]`},
		{"patch truncated JSON", "PATCH", "/scim/t/v2/Users/u1", `{"Operations":[{"op":"add"`},
		{"patch empty body", "PATCH", "/scim/t/v2/Groups/g1", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			w := h.do(t, req{Method: tt.method, Target: tt.target, Body: tt.body})
			e := mustSCIMError(t, w, http.StatusBadRequest)
			require.Equal(t, scim.InvalidSyntax, e.ScimType)
			require.NotEmpty(t, e.Detail)
			require.Empty(t, h.prov.recorded())
		})
	}
}

func TestMalformedQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		target   string
		wantType string
	}{
		{"bad escape would drop the filter", "/scim/t/v2/Users?filter=userName+eq+%zz", scim.InvalidSyntax},
		{"semicolon would drop the filter", "/scim/t/v2/Users?filter=userName+eq+%22a%22;x", scim.InvalidSyntax},
		{"filter that does not parse", "/scim/t/v2/Users?filter=userName+eq", scim.InvalidFilter},
		{"bad attributes on get", "/scim/t/v2/Users/u1?attributes=emails[type", scim.InvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			w := h.do(t, req{Method: "GET", Target: tt.target})
			e := mustSCIMError(t, w, http.StatusBadRequest)
			require.Equal(t, tt.wantType, e.ScimType, e.Detail)
			require.Empty(t, h.prov.recorded(), "a garbled query must never widen into a search")
		})
	}
}

// TestMediaTypes: Entra's probe comes without a SCIM Accept header and its
// writes say "application/scim+json; charset=utf-8" (docs/entra.md §1): no
// combination may be refused with 406 or 415, or parsed as a form.
func TestMediaTypes(t *testing.T) {
	t.Parallel()
	contentTypes := []string{
		"", "application/scim+json", "application/scim+json; charset=utf-8", "application/json",
		"application/json; charset=UTF-8", "text/plain", "application/x-www-form-urlencoded",
	}
	accepts := []string{"", "application/scim+json", "application/json", "*/*", "text/html", "application/xml"}
	for _, ct := range contentTypes {
		for _, acc := range accepts {
			t.Run(fmt.Sprintf("content-type %q accept %q", ct, acc), func(t *testing.T) {
				t.Parallel()
				h := newTestHarness(t)
				hdr := map[string]string{"Content-Type": ct, "Accept": acc}
				w := h.do(t, req{Method: "POST", Target: "/scim/t/v2/Users", Body: userBody, Header: hdr})
				require.Equal(t, http.StatusCreated, w.Code, "body: %s", w.Body.String())
				require.Equal(t, "Test_User_ab6490ee@contoso.com", mustObject(t, w)["userName"])
				w = h.do(t, req{Method: "PATCH", Target: "/scim/t/v2/Users/u1", Body: patchBody, Header: hdr})
				require.Equal(t, http.StatusNoContent, w.Code, "body: %s", w.Body.String())
				w = h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users?filter=userName+eq+%22x%22", Header: hdr})
				require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body.String())
			})
		}
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantDetail string // substring
		wantRetry  string
		wantLog    string // substring of the log
	}{
		{
			name:       "not found",
			err:        &scim.Error{Status: 404, Detail: "user u1 not found"},
			wantStatus: 404, wantDetail: "user u1 not found",
		},
		{
			name:       "uniqueness",
			err:        scim.Errorf(409, scim.Uniqueness, "userName %q is taken", "a@b.c"),
			wantStatus: 409, wantType: scim.Uniqueness, wantDetail: `userName "a@b.c" is taken`,
		},
		{
			name:       "wrapped scim error",
			err:        fmt.Errorf("bridge: create: %w", scim.Errorf(400, scim.InvalidValue, "mail is required")),
			wantStatus: 400, wantType: scim.InvalidValue, wantDetail: "mail is required",
		},
		{
			name:       "target unavailable with retry after",
			err:        &scim.Error{Status: 503, Detail: "the directory is unavailable; the change is queued", RetryAfter: 90 * time.Second},
			wantStatus: 503, wantDetail: "queued", wantRetry: "90",
		},
		{
			name:       "retry after rounds up",
			err:        &scim.Error{Status: 429, Detail: "slow down", RetryAfter: 1500 * time.Millisecond},
			wantStatus: 429, wantDetail: "slow down", wantRetry: "2",
		},
		{
			name:       "deadline exceeded",
			err:        fmt.Errorf("ldap: search: %w", context.DeadlineExceeded),
			wantStatus: 503, wantDetail: "did not answer in time", wantRetry: "30",
		},
		{
			name:       "unexpected error is hidden",
			err:        errors.New("ldap: bind cn=admin with password hunter2: connection reset"),
			wantStatus: 500, wantDetail: "request id", wantLog: "hunter2",
		},
		{
			name:       "scim error with a nonsense status is hidden",
			err:        &scim.Error{Status: 200, Detail: "secret internals"},
			wantStatus: 500, wantDetail: "request id",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			h.prov.get = func(context.Context, string) (scim.Resource, error) { return nil, tt.err }
			w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users/u1", Header: map[string]string{HeaderRequestID: "req-123"}})
			e := mustSCIMError(t, w, tt.wantStatus)
			require.Equal(t, tt.wantType, e.ScimType)
			require.Contains(t, e.Detail, tt.wantDetail)
			require.Equal(t, tt.wantRetry, w.Header().Get("Retry-After"))
			if tt.wantStatus == http.StatusInternalServerError {
				require.Contains(t, e.Detail, "req-123")
				require.NotContains(t, w.Body.String(), "hunter2")
				require.NotContains(t, w.Body.String(), "secret internals")
			}
			if tt.wantLog != "" {
				require.Contains(t, h.logs.String(), tt.wantLog)
			}
		})
	}
}

// TestRequestDeadline: a provisioner that honours its context is cut off at
// RequestTimeout and the client gets a retryable 503, not a hung request.
func TestRequestDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail func(ctx context.Context) error
	}{
		{"context error returned", func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}},
		{"other error after the deadline", func(ctx context.Context) error {
			<-ctx.Done()
			return errors.New("pharos: query users: driver: bad connection")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const timeout = 50 * time.Millisecond
			h := newTestHarness(t, func(o *Options) { o.RequestTimeout = timeout })
			var deadline time.Time
			start := time.Now()
			h.prov.list = func(ctx context.Context, _ scim.ListParams) (scim.ListResponse, error) {
				deadline, _ = ctx.Deadline()
				return scim.ListResponse{}, tt.fail(ctx)
			}
			w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users?filter=userName+eq+%22x%22"})
			e := mustSCIMError(t, w, http.StatusServiceUnavailable)
			require.Contains(t, e.Detail, "in time")
			require.NotEmpty(t, w.Header().Get("Retry-After"))
			require.False(t, deadline.IsZero(), "the provisioner must get a deadline")
			require.WithinDuration(t, start.Add(timeout), deadline, timeout)
		})
	}
}

func TestDefaultRequestTimeout(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	var left time.Duration
	h.prov.get = func(ctx context.Context, id string) (scim.Resource, error) {
		d, ok := ctx.Deadline()
		require.True(t, ok)
		left = time.Until(d)
		return scim.Resource{"id": id}, nil
	}
	w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users/u1"})
	require.Equal(t, http.StatusOK, w.Code)
	require.Greater(t, left, 20*time.Second)
	require.LessOrEqual(t, left, 25*time.Second)
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	h.prov.get = func(_ context.Context, id string) (scim.Resource, error) {
		if id == "boom" {
			panic("mapping: nil transform for attribute secretAttr")
		}
		return scim.Resource{"id": id}, nil
	}
	w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users/boom", Header: map[string]string{HeaderRequestID: "req-panic"}})
	e := mustSCIMError(t, w, http.StatusInternalServerError)
	require.Contains(t, e.Detail, "req-panic")
	require.NotContains(t, w.Body.String(), "secretAttr")
	require.NotContains(t, w.Body.String(), "goroutine")
	logs := h.logs.String()
	require.Contains(t, logs, "panic while serving request")
	require.Contains(t, logs, "secretAttr")
	require.Contains(t, logs, "handlers.go", "the stack must be logged")
	require.Contains(t, logs, "status=500")

	// The handler still serves.
	w = h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users/fine"})
	require.Equal(t, http.StatusOK, w.Code)
}

func TestPanicAbortHandlerPropagates(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	h.prov.get = func(context.Context, string) (scim.Resource, error) { panic(http.ErrAbortHandler) }
	r := httptest.NewRequest("GET", "/scim/t/v2/Users/x", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	require.PanicsWithValue(t, http.ErrAbortHandler, func() { h.handler.ServeHTTP(httptest.NewRecorder(), r) })
}

// TestLocations: ids are opaque; Entra's sample ids contain "@"
// (docs/entra.md §2.0), others may contain spaces or "/". The URL escapes
// them and routes back to the same id.
func TestLocations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		publicURL string
		target    string
		body      string
		id        string
		wantLoc   string
	}{
		{"at sign", testPublicURL, "/scim/t/v2/Users", userBody, "CEC50F275D83C4530A495FCF@834d0e1e5d8235f90a495fda",
			testPublicURL + "/scim/t/v2/Users/CEC50F275D83C4530A495FCF@834d0e1e5d8235f90a495fda"},
		{"spaces", testPublicURL, "/scim/t/v2/Users", userBody, "an id with spaces",
			testPublicURL + "/scim/t/v2/Users/an%20id%20with%20spaces"},
		{"slash question mark plus", testPublicURL, "/scim/t/v2/Users", userBody, "a/b?c+d",
			testPublicURL + "/scim/t/v2/Users/a%2Fb%3Fc+d"},
		{"group via lower-case path", testPublicURL, "/scim/t/v2/groups", groupBody, "g 1",
			testPublicURL + "/scim/t/v2/Groups/g%201"},
		{"public url with trailing slash and prefix", "https://idm.example.org/bridge/", "/scim/t/v2/Users", userBody, "u1",
			"https://idm.example.org/bridge/scim/t/v2/Users/u1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t, func(o *Options) { o.PublicURL = tt.publicURL })
			h.prov.create = func(_ context.Context, r scim.Resource) (scim.Resource, error) {
				out := scim.Resource{"id": tt.id, "meta": map[string]any{"created": "2026-01-01T00:00:00Z"}}
				for k, v := range r {
					out[k] = v
				}
				return out, nil
			}
			w := h.do(t, req{Method: "POST", Target: tt.target, Body: tt.body})
			require.Equal(t, http.StatusCreated, w.Code, "body: %s", w.Body.String())
			require.Equal(t, tt.wantLoc, w.Header().Get("Location"))
			body := mustObject(t, w)
			require.Equal(t, tt.id, body["id"])
			meta := body["meta"].(map[string]any)
			require.Equal(t, tt.wantLoc, meta["location"])
			require.Equal(t, "2026-01-01T00:00:00Z", meta["created"], "the provisioner's meta is kept")
			require.Contains(t, []any{"User", "Group"}, meta["resourceType"])

			// The Location routes back to the same opaque id.
			path := strings.TrimPrefix(tt.wantLoc, strings.TrimRight(tt.publicURL, "/"))
			w = h.do(t, req{Method: "GET", Target: path})
			require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body.String())
			calls := h.prov.recorded()
			require.Equal(t, tt.id, calls[len(calls)-1].ID)
			require.Equal(t, tt.wantLoc, mustObject(t, w)["meta"].(map[string]any)["location"])
		})
	}
}

func TestMetaIsNotWrittenBack(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	shared := scim.Resource{"id": "u1", "meta": map[string]any{"resourceType": "User"}}
	h.prov.get = func(context.Context, string) (scim.Resource, error) { return shared, nil }
	w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users/u1"})
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, testPublicURL+"/scim/t/v2/Users/u1", mustObject(t, w)["meta"].(map[string]any)["location"])
	if diff := cmp.Diff(scim.Resource{"id": "u1", "meta": map[string]any{"resourceType": "User"}}, shared); diff != "" {
		t.Fatalf("the provisioner's resource was modified (-want +got):\n%s", diff)
	}
}

// TestEntraProbe replays Test Connection exactly as seen on the wire
// (docs/entra.md §2.1): the parsed filter reaches List and the answer is an
// empty ListResponse with "Resources": [].
func TestEntraProbe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		filter string
		kind   scim.Kind
	}{
		{"user probe", "/scim/t/v2/Users?filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22",
			`userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"`, scim.User},
		{"user probe with flag", "/scim/t/v2/Users?aadOptscim062020&filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22",
			`userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"`, scim.User},
		{"externalId probe with %20", "/scim/t/v2/Users?filter=externalId%20eq%20%227d420df3-9995-4831-a406-ecf8166f5f6a%22",
			`externalId eq "7d420df3-9995-4831-a406-ecf8166f5f6a"`, scim.User},
		{"group probe", "/scim/t/v2/Groups?excludedAttributes=members&filter=displayName+eq+%227d420df3%22",
			`displayName eq "7d420df3"`, scim.Group},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			w := h.do(t, req{Method: "GET", Target: tt.target, Header: map[string]string{"Accept": ""}})
			require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body.String())
			require.JSONEq(t, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}`, w.Body.String())
			calls := h.prov.recorded()
			require.Len(t, calls, 1)
			require.Equal(t, "List", calls[0].Method)
			require.Equal(t, tt.kind, calls[0].Kind)
			if diff := cmp.Diff(scim.MustParseFilter(tt.kind, tt.filter), calls[0].Params.Filter); diff != "" {
				t.Fatalf("filter passed to List (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListParamsReachList(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Groups?excludedAttributes=members&startIndex=3&count=7&filter=displayName+eq+%22G%22"})
	require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body.String())
	p := h.prov.recorded()[0].Params
	require.Equal(t, 3, p.StartIndex)
	require.Equal(t, 7, p.Count)
	require.Equal(t, []scim.Path{scim.MustParsePath(scim.Group, "members")}, p.ExcludedAttributes)
}

func TestListResourcesGetLocations(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	shared := []scim.Resource{
		{"id": "u 1", "userName": "a@b.c", "meta": map[string]any{"resourceType": "User"}},
		{"id": "u2", "userName": "d@e.f"},
	}
	h.prov.list = func(context.Context, scim.ListParams) (scim.ListResponse, error) {
		return scim.ListResponse{TotalResults: 2, StartIndex: 1, ItemsPerPage: 2, Resources: shared}, nil
	}
	w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users"})
	require.Equal(t, http.StatusOK, w.Code)
	body := mustObject(t, w)
	require.Equal(t, float64(2), body["totalResults"])
	res := body["Resources"].([]any)
	require.Equal(t, testPublicURL+"/scim/t/v2/Users/u%201", res[0].(map[string]any)["meta"].(map[string]any)["location"])
	require.Equal(t, testPublicURL+"/scim/t/v2/Users/u2", res[1].(map[string]any)["meta"].(map[string]any)["location"])
	require.NotContains(t, shared[1], "meta", "the provisioner's resources must not be modified")
}

func TestGetProjection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		target       string
		wantAttrs    []scim.Path
		wantExcluded []scim.Path
		wantKeys     []string
	}{
		{"entra group get", "/scim/t/v2/Groups/g1?excludedAttributes=members", nil,
			[]scim.Path{scim.MustParsePath(scim.Group, "members")}, []string{"displayName", "id", "meta", "schemas"}},
		// meta survives because meta.resourceType is returned "always".
		{"manager check", "/scim/t/v2/Groups/g1?attributes=id", []scim.Path{scim.MustParsePath(scim.Group, "id")}, nil,
			[]string{"id", "meta", "schemas"}},
		{"no projection", "/scim/t/v2/Groups/g1", nil, nil, []string{"displayName", "id", "members", "meta", "schemas"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			h.prov.get = func(_ context.Context, id string) (scim.Resource, error) {
				return scim.Resource{
					"schemas":     []any{scim.SchemaGroup},
					"id":          id,
					"displayName": "G",
					"members":     []any{map[string]any{"value": "u1"}},
					"meta":        map[string]any{"resourceType": "Group"},
				}, nil
			}
			w := h.do(t, req{Method: "GET", Target: tt.target})
			require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body.String())
			p := h.prov.recorded()[0].Params
			require.Equal(t, tt.wantAttrs, p.Attributes)
			require.Equal(t, tt.wantExcluded, p.ExcludedAttributes)
			body := mustObject(t, w)
			var keys []string
			for k := range body {
				keys = append(keys, k)
			}
			require.ElementsMatch(t, tt.wantKeys, keys)
		})
	}
}

func TestPatchAnswers(t *testing.T) {
	t.Parallel()
	// Entra's "Add Members" batch (docs/entra.md §2.13).
	const addMembers = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"name":"addMember","op":"add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}`
	// Entra's disable (docs/entra.md §2.7) with the string boolean quirk.
	const disable = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`
	tests := []struct {
		name       string
		target     string
		body       string
		answer     scim.Resource
		wantStatus int
	}{
		{"group members 204", "/scim/t/v2/Groups/g1", addMembers, nil, 204},
		{"user disable 204", "/scim/t/v2/Users/u1", disable, nil, 204},
		{"user disable 200 with body", "/scim/t/v2/Users/u1", disable, scim.Resource{"id": "u1", "active": false}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			h.prov.patch = func(context.Context, string, []scim.PatchOp) (scim.Resource, error) { return tt.answer, nil }
			w := h.do(t, req{Method: "PATCH", Target: tt.target, Body: tt.body})
			require.Equal(t, tt.wantStatus, w.Code, "body: %s", w.Body.String())
			calls := h.prov.recorded()
			require.Len(t, calls, 1)
			require.NotEmpty(t, calls[0].Ops)
			if tt.wantStatus == http.StatusNoContent {
				require.Empty(t, w.Body.String())
				return
			}
			body := mustObject(t, w)
			require.Equal(t, false, body["active"])
			require.Equal(t, testPublicURL+"/scim/t/v2/Users/u1", body["meta"].(map[string]any)["location"])
		})
	}
}

func TestCreatePassesDecodedResource(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	w := h.do(t, req{Method: "POST", Target: "/scim/t/v2/Users", Body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"UserName":"a@b.c","active":"False","id":"client-chosen"}`})
	require.Equal(t, http.StatusCreated, w.Code, "body: %s", w.Body.String())
	got := h.prov.recorded()[0].Resource
	require.Equal(t, "a@b.c", got["userName"])
	require.Equal(t, false, got["active"])
	require.NotContains(t, got, "id", "a client-chosen id must never reach the provisioner")
	require.Equal(t, testPublicURL+"/scim/t/v2/Users/new-id", w.Header().Get("Location"))
}

func TestNilAnswersAreHandled(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	h.prov.create = func(context.Context, scim.Resource) (scim.Resource, error) { return nil, nil }
	h.prov.get = func(context.Context, string) (scim.Resource, error) { return nil, nil }
	w := h.do(t, req{Method: "POST", Target: "/scim/t/v2/Users", Body: userBody})
	mustSCIMError(t, w, http.StatusInternalServerError)
	w = h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users/u1"})
	mustSCIMError(t, w, http.StatusNotFound)
}

// TestProvisionerErrorsPerMethod: every handler hands provisioner errors to
// the one translator, whatever the method.
func TestProvisionerErrorsPerMethod(t *testing.T) {
	t.Parallel()
	notFound := &scim.Error{Status: http.StatusNotFound, Detail: "no user u1"}
	tests := []struct {
		name   string
		method string
		target string
		body   string
		set    func(p *recProvisioner)
	}{
		{"create", "POST", "/scim/t/v2/Users", userBody, func(p *recProvisioner) {
			p.create = func(context.Context, scim.Resource) (scim.Resource, error) { return nil, notFound }
		}},
		{"list", "GET", "/scim/t/v2/Users", "", func(p *recProvisioner) {
			p.list = func(context.Context, scim.ListParams) (scim.ListResponse, error) {
				return scim.ListResponse{}, notFound
			}
		}},
		{"replace", "PUT", "/scim/t/v2/Users/u1", userBody, func(p *recProvisioner) {
			p.replace = func(context.Context, string, scim.Resource) (scim.Resource, error) { return nil, notFound }
		}},
		{"patch", "PATCH", "/scim/t/v2/Users/u1", patchBody, func(p *recProvisioner) {
			p.patch = func(context.Context, string, []scim.PatchOp) (scim.Resource, error) { return nil, notFound }
		}},
		{"delete", "DELETE", "/scim/t/v2/Users/u1", "", func(p *recProvisioner) {
			p.delete = func(context.Context, string) error { return notFound }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			tt.set(h.prov)
			w := h.do(t, req{Method: tt.method, Target: tt.target, Body: tt.body})
			e := mustSCIMError(t, w, http.StatusNotFound)
			require.Equal(t, "no user u1", e.Detail)
			require.Empty(t, w.Header().Get("Location"))
		})
	}
}

func TestBadIDsNeverReachTheProvisioner(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"GET", "PUT", "PATCH", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			w := h.do(t, req{Method: method, Target: "/scim/t/v2/Groups/%2e", Body: patchBody})
			mustSCIMError(t, w, http.StatusNotFound)
			require.Empty(t, h.prov.recorded())
		})
	}
}

func TestUnencodableAnswerIs500(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	h.prov.replace = func(_ context.Context, id string, _ scim.Resource) (scim.Resource, error) {
		return scim.Resource{"id": id, "broken": func() {}}, nil
	}
	w := h.do(t, req{Method: "PUT", Target: "/scim/t/v2/Users/u1", Body: userBody})
	mustSCIMError(t, w, http.StatusInternalServerError)
	require.Contains(t, h.logs.String(), "encode answer")
}

func TestClientGoneIsNotA500(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	ctx, cancel := context.WithCancel(t.Context())
	h.prov.delete = func(context.Context, string) error {
		cancel()
		return fmt.Errorf("pharos: delete: %w", context.Canceled)
	}
	r := httptest.NewRequestWithContext(ctx, "DELETE", "/scim/t/v2/Users/u1", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	mustSCIMError(t, w, http.StatusServiceUnavailable)
	require.NotContains(t, h.logs.String(), "[ERROR]")
}

func TestOddTenants(t *testing.T) {
	t.Parallel()
	t.Run("dot dot tenant", func(t *testing.T) {
		t.Parallel()
		h := newTestHarness(t)
		w := h.do(t, req{Method: "GET", Target: "/scim/%2E%2E/v2/Users"})
		mustSCIMError(t, w, http.StatusNotFound)
		require.Empty(t, h.tenants.recorded())
	})
	t.Run("escaped tenant name", func(t *testing.T) {
		t.Parallel()
		h := newTestHarness(t)
		w := h.do(t, req{Method: "GET", Target: "/scim/a%20b/v2/Users"})
		mustSCIMError(t, w, http.StatusUnauthorized)
		require.Equal(t, []string{"a b|" + testToken}, h.tenants.recorded())
	})
	t.Run("tenants without provisioner", func(t *testing.T) {
		t.Parallel()
		h := newTestHarness(t)
		h.tenants.prov = nil
		w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users"})
		mustSCIMError(t, w, http.StatusInternalServerError)
		require.Contains(t, h.logs.String(), "no provisioner")
	})
}
