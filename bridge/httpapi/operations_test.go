package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

const testAdminToken = "scimb_ADMINADMINADMINADMINADMINADMIN"

// observation is one recorded ObserveRequest call.
type observation struct {
	Tenant, Route, Method string
	Status                int
}

// recMetrics records observations and serves a fixed exposition.
type recMetrics struct {
	mu  sync.Mutex
	obs []observation
}

func (m *recMetrics) ObserveRequest(tenant, route, method string, status int, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.obs = append(m.obs, observation{tenant, route, method, status})
}

func (m *recMetrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("scimbridge_up 1\n"))
	})
}

func (m *recMetrics) recorded() []observation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]observation(nil), m.obs...)
}

// healthFunc adapts a function to Health.
type healthFunc func(ctx context.Context) error

func (f healthFunc) Ready(ctx context.Context) error { return f(ctx) }

// fakeAdmin keeps jobs in a map and records the filters it was asked for.
type fakeAdmin struct {
	mu      sync.Mutex
	jobs    map[string]*opsview.Job
	filters []opsview.JobFilter
	fail    error // returned by Status when set
}

func newFakeAdmin() *fakeAdmin {
	return &fakeAdmin{jobs: map[string]*opsview.Job{
		"j1": {ID: "j1", State: "dead"},
		"j2": {ID: "j2", State: "leased"},
	}}
}

func (f *fakeAdmin) Authenticate(_ context.Context, token string) error {
	if token != testAdminToken {
		return scim.Errorf(http.StatusUnauthorized, "", "the bearer token is not an admin token")
	}
	return nil
}

func (f *fakeAdmin) Status(context.Context) (opsview.Status, error) {
	if f.fail != nil {
		return opsview.Status{}, f.fail
	}
	return opsview.Status{Version: "v1", Tenants: []opsview.Tenant{{Name: "t"}}}, nil
}

func (f *fakeAdmin) Jobs(_ context.Context, flt opsview.JobFilter) ([]opsview.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, flt)
	return []opsview.Job{*f.jobs["j1"], *f.jobs["j2"]}, nil
}

func (f *fakeAdmin) Job(_ context.Context, id string) (opsview.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return opsview.Job{}, fmt.Errorf("job %s: %w", id, opsview.ErrNotFound)
	}
	return *j, nil
}

func (f *fakeAdmin) Retry(_ context.Context, id string) (opsview.Action, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	switch {
	case !ok:
		return opsview.Action{}, fmt.Errorf("job %s: %w", id, opsview.ErrNotFound)
	case j.State == "leased":
		return opsview.Action{}, fmt.Errorf("job %s is being applied by a worker: %w", id, opsview.ErrConflict)
	}
	j.State = "pending"
	after := *j
	return opsview.Action{ID: id, Result: "requeued", Job: &after}, nil
}

func (f *fakeAdmin) Drop(_ context.Context, id string) (opsview.Action, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.jobs[id]; !ok {
		return opsview.Action{}, fmt.Errorf("job %s: %w", id, opsview.ErrNotFound)
	}
	delete(f.jobs, id)
	return opsview.Action{ID: id, Result: "dropped"}, nil
}

// opDo serves an operator request; token "" sends no Authorization.
func opDo(tb testing.TB, h http.Handler, method, target, token string) *httptest.ResponseRecorder {
	tb.Helper()
	r := httptest.NewRequest(method, target, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// mustJSON checks an operator answer's status and media type and decodes it.
func mustJSON(tb testing.TB, w *httptest.ResponseRecorder, status int) map[string]any {
	tb.Helper()
	require.Equal(tb, status, w.Code, "body: %s", w.Body.String())
	require.Equal(tb, jsonContentType, w.Header().Get("Content-Type"))
	var m map[string]any
	require.NoError(tb, json.Unmarshal(w.Body.Bytes(), &m), "body: %s", w.Body.String())
	return m
}

func TestRequestMetrics(t *testing.T) {
	m := &recMetrics{}
	h := newTestHarness(t, func(o *Options) { o.Metrics = m })

	h.do(t, req{Method: http.MethodGet, Target: "/scim/t/v2/Users/abc"})
	h.do(t, req{Method: http.MethodGet, Target: "/scim/t/v2/Users/abc", Header: map[string]string{"Authorization": ""}})
	h.do(t, req{Method: http.MethodGet, Target: "/no/such/path"})
	h.do(t, req{Method: "PROPFIND", Target: "/scim/t/v2/Users"})
	h.do(t, req{Method: http.MethodGet, Target: "/healthz"})
	w := opDo(t, h.handler, http.MethodGet, "/metrics", "")
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "scimbridge_up 1\n", w.Body.String(), "/metrics needs no token")
	require.Equal(t, "text/plain; version=0.0.4", w.Header().Get("Content-Type"))

	want := []observation{
		{"t", "/scim/:tenant/v2/Users/:id", "GET", 200},
		{"", "/scim/:tenant/v2/Users/:id", "GET", 401}, // no tenant before its token is accepted
		{"", "unmatched", "GET", 404},
		{"", "unmatched", "PROPFIND", 405},
		{"", "/healthz", "GET", 200},
		{"", "/metrics", "GET", 200},
	}
	require.Empty(t, cmp.Diff(want, m.recorded()))
}

func TestNoMetricsNoRoute(t *testing.T) {
	h := newTestHarness(t)
	w := opDo(t, h.handler, http.MethodGet, "/metrics", "")
	body := mustJSON(t, w, http.StatusNotFound)
	require.Equal(t, "no such endpoint", body["error"])
}

func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		name   string
		health Health
		status int
		want   map[string]any
	}{
		{"no health configured", nil, 200, map[string]any{"status": "ready"}},
		{"ready", healthFunc(func(context.Context) error { return nil }), 200, map[string]any{"status": "ready"}},
		{
			"degraded state store", healthFunc(func(context.Context) error {
				return fmt.Errorf("state store unavailable: %w", opsview.ErrDegraded)
			}), 200, map[string]any{"status": "degraded", "reason": "state store unavailable"},
		},
		{
			"target down", healthFunc(func(context.Context) error { return errors.New("tenant t: target not reachable") }),
			503, map[string]any{"status": "not ready", "reason": "tenant t: target not reachable"},
		},
		{
			"probe bounded by a deadline", healthFunc(func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					return errors.New("no deadline")
				}
				return nil
			}), 200, map[string]any{"status": "ready"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHarness(t, func(o *Options) { o.Health = tc.health })
			w := opDo(t, h.handler, http.MethodGet, "/readyz", "")
			require.Empty(t, cmp.Diff(tc.want, mustJSON(t, w, tc.status)))
		})
	}
}

func TestAdminAuthentication(t *testing.T) {
	h := newTestHarness(t, func(o *Options) { o.Admin = newFakeAdmin() })
	for _, tc := range []struct {
		name   string
		header string
		status int
	}{
		{"missing", "", 401},
		{"not bearer", "Basic " + testAdminToken, 401},
		{"wrong token", "Bearer scimb_nope", 401},
		{"tenant's secret token", "Bearer " + testToken, 401},
		{"admin token", "Bearer " + testAdminToken, 200},
		{"admin token, scheme in lower case", "bearer " + testAdminToken, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/admin/status", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			h.handler.ServeHTTP(w, r)
			body := mustJSON(t, w, tc.status)
			if tc.status == 401 {
				require.Equal(t, "Bearer", w.Header().Get("WWW-Authenticate"))
				require.NotEmpty(t, body["error"])
				require.NotContains(t, w.Body.String(), testAdminToken)
			}
		})
	}

	// The admin token is no tenant's token.
	w := h.do(t, req{Method: http.MethodGet, Target: "/scim/t/v2/Users", Header: map[string]string{"Authorization": "Bearer " + testAdminToken}})
	mustSCIMError(t, w, http.StatusUnauthorized)
}

func TestAdminRoutes(t *testing.T) {
	adm := newFakeAdmin()
	h := newTestHarness(t, func(o *Options) { o.Admin = adm })
	get := func(target string) *httptest.ResponseRecorder {
		return opDo(t, h.handler, http.MethodGet, target, testAdminToken)
	}

	t.Run("status", func(t *testing.T) {
		st := mustJSON(t, get("/admin/status"), 200)
		require.Equal(t, "v1", st["version"])
		require.Equal(t, "t", st["tenants"].([]any)[0].(map[string]any)["name"])
	})
	t.Run("list with filters", func(t *testing.T) {
		w := get("/admin/queue?tenant=t&state=dead&limit=5")
		require.Equal(t, 200, w.Code)
		var jobs []opsview.Job
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &jobs))
		require.Equal(t, []string{"j1", "j2"}, []string{jobs[0].ID, jobs[1].ID})
		w = get("/admin/queue")
		require.Equal(t, 200, w.Code)
		require.Equal(t, []opsview.JobFilter{{Tenant: "t", State: "dead", Limit: 5}, {Limit: DefaultAdminLimit}}, adm.filters)
	})
	for _, tc := range []struct{ name, target, want string }{
		{"bad state", "/admin/queue?state=buried", `state "buried" is not one of pending, leased, dead`},
		{"limit not a number", "/admin/queue?limit=ten", `limit "ten" is not a whole number from 1 to 1000`},
		{"limit zero", "/admin/queue?limit=0", `limit "0" is not a whole number from 1 to 1000`},
		{"limit too large", "/admin/queue?limit=1001", `limit "1001" is not a whole number from 1 to 1000`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, mustJSON(t, get(tc.target), 400)["error"])
		})
	}
	t.Run("show", func(t *testing.T) {
		j := mustJSON(t, get("/admin/queue/j1"), 200)
		require.Equal(t, []any{"j1", "dead"}, []any{j["id"], j["state"]})
		require.Equal(t, "job nope: not found", mustJSON(t, get("/admin/queue/nope"), 404)["error"])
	})
	t.Run("retry", func(t *testing.T) {
		w := opDo(t, h.handler, http.MethodPost, "/admin/queue/j1/retry", testAdminToken)
		out := mustJSON(t, w, 200)
		require.Equal(t, []any{"j1", "requeued", "pending"}, []any{out["id"], out["result"], out["job"].(map[string]any)["state"]})
		w = opDo(t, h.handler, http.MethodPost, "/admin/queue/j2/retry", testAdminToken)
		require.Contains(t, mustJSON(t, w, 409)["error"], "being applied by a worker")
		w = opDo(t, h.handler, http.MethodPost, "/admin/queue/nope/retry", testAdminToken)
		mustJSON(t, w, 404)
	})
	t.Run("drop", func(t *testing.T) {
		w := opDo(t, h.handler, http.MethodDelete, "/admin/queue/j1", testAdminToken)
		require.Equal(t, map[string]any{"id": "j1", "result": "dropped"}, mustJSON(t, w, 200))
		w = opDo(t, h.handler, http.MethodDelete, "/admin/queue/j1", testAdminToken)
		mustJSON(t, w, 404)
	})
	t.Run("wrong method", func(t *testing.T) {
		w := opDo(t, h.handler, http.MethodPut, "/admin/queue/j2", testAdminToken)
		require.Contains(t, mustJSON(t, w, 405)["error"], "allowed: ")
	})
	t.Run("unknown admin path", func(t *testing.T) {
		mustJSON(t, get("/admin/nothing"), 404)
	})
	t.Run("unexpected error is hidden", func(t *testing.T) {
		adm.fail = errors.New("redis: secret-host:6379 exploded")
		defer func() { adm.fail = nil }()
		w := get("/admin/status")
		msg := mustJSON(t, w, 500)["error"].(string)
		require.True(t, strings.HasPrefix(msg, "internal error; the bridge log has the cause under request id "), msg)
		require.NotContains(t, w.Body.String(), "secret-host")
		require.Contains(t, h.logs.String(), "secret-host", "the real cause is logged")
	})
	t.Run("scim error keeps its status", func(t *testing.T) {
		adm.fail = &scim.Error{Status: http.StatusServiceUnavailable, Detail: "the state store is unavailable", RetryAfter: 10 * time.Second}
		defer func() { adm.fail = nil }()
		w := get("/admin/status")
		require.Equal(t, "the state store is unavailable", mustJSON(t, w, 503)["error"])
		require.Equal(t, "10", w.Header().Get("Retry-After"))
	})
}

func TestNoAdminNoRoutes(t *testing.T) {
	h := newTestHarness(t)
	w := opDo(t, h.handler, http.MethodGet, "/admin/status", testAdminToken)
	mustJSON(t, w, http.StatusNotFound)
}
