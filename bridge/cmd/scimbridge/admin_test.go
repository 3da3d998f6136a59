package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/ops"
	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// opsStack is the bridge as serve wires it, without the retry worker (so
// that jobs stay where the test puts them), behind an httptest server.
type opsStack struct {
	t          testing.TB
	app        *app
	srv        *httptest.Server
	adminToken string
	acmeToken  string
}

const ldapDownPassword = "ldap-Secret-pw-42"

// newOpsStack starts a bridge with tenant "acme" on an embedded Pharos
// store and, with ldapDown, tenant "dir" on an LDAP server that is not
// there (a closed loopback port).
func newOpsStack(t testing.TB, ldapDown bool) *opsStack {
	t.Helper()
	dir := t.TempDir()
	pharosMapping, err := filepath.Abs(filepath.Join(repoRoot, "configs/mappings/entra-to-pharos.yaml"))
	require.NoError(t, err)
	tenants := `
  - name: acme
    backend: { type: pharos, config: { driver: sqlite, dsn: '` + filepath.Join(dir, "pharos.db") + `', init: true } }
    mapping: '` + pharosMapping + "'\n"
	if ldapDown {
		ldapMapping, err := filepath.Abs(filepath.Join(repoRoot, "configs/mappings/entra-to-openldap.yaml"))
		require.NoError(t, err)
		tenants += `  - name: dir
    backend:
      type: ldap
      config: { url: 'ldap://` + closedPort(t) + `', bindDN: 'cn=admin,dc=example,dc=org', password: '` + ldapDownPassword + `', baseDN: 'dc=example,dc=org', timeout: 2s }
    mapping: '` + ldapMapping + "'\n"
	}
	cfgText := `
public_url: http://scim.example.test
log: { level: warn, format: text }
state: { sqlite: { path: '` + filepath.Join(dir, "state.db") + `' } }
tokens: { file: '` + filepath.Join(dir, "token.txt") + `' }
tenants:` + tenants
	cfgPath := filepath.Join(dir, "bridge.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfgText), 0o600))
	cfg, err := loadConfig(cfgPath)
	require.NoError(t, err)
	a, err := newApp(context.Background(), cfg, hclog.New(&hclog.LoggerOptions{Level: hclog.Off, Output: io.Discard}))
	require.NoError(t, err)
	t.Cleanup(a.Close)
	ctx := context.Background()
	adminToken, _, err := a.tokens.Generate(ctx, adminTenant)
	require.NoError(t, err)
	acmeToken, _, err := a.tokens.Generate(ctx, "acme")
	require.NoError(t, err)
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	return &opsStack{t: t, app: a, srv: srv, adminToken: adminToken, acmeToken: acmeToken}
}

// closedPort returns a loopback host:port nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// call sends an operator request; token "" sends none. It returns the
// status, the Content-Type and the body.
func (s *opsStack) call(method, path, token string) (int, string, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, nil)
	require.NoError(s.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// admin calls /admin with the admin token and decodes the JSON answer.
func (s *opsStack) admin(method, path string, status int, into any) {
	s.t.Helper()
	code, ctype, body := s.call(method, path, s.adminToken)
	require.Equal(s.t, status, code, "%s %s: %s", method, path, body)
	require.Equal(s.t, "application/json; charset=utf-8", ctype)
	require.NoError(s.t, json.Unmarshal([]byte(body), into), body)
}

func TestAdminAuthenticationThroughTheBridge(t *testing.T) {
	s := newOpsStack(t, false)
	for _, tc := range []struct {
		name, token string
		status      int
		detail      string
	}{
		{"no token", "", 401, "an admin bearer token is required"},
		{"wrong token", "scimb_" + strings.Repeat("x", 43), 401, "not a valid admin token"},
		{"a tenant's secret token", s.acmeToken, 401, "not a valid admin token"},
		{"the admin token", s.adminToken, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := s.call(http.MethodGet, "/admin/status", tc.token)
			require.Equal(t, tc.status, code, body)
			require.Equal(t, "application/json; charset=utf-8", ctype)
			if tc.detail != "" {
				require.Contains(t, body, tc.detail)
			}
		})
	}
	// The admin token opens no tenant's SCIM endpoint.
	code, _, _ := s.call(http.MethodGet, "/scim/acme/v2/Users", s.adminToken)
	require.Equal(t, http.StatusUnauthorized, code)
}

func TestAdminWithoutAdminToken(t *testing.T) {
	s := newOpsStack(t, false)
	ctx := context.Background()
	toks, err := s.app.tokens.List(ctx, adminTenant)
	require.NoError(t, err)
	for _, k := range toks {
		require.NoError(t, s.app.state.DeleteToken(ctx, adminTenant, k.ID))
	}
	// A fresh token manager: the app's caches the tokens for a few seconds.
	tk := bridge.NewTokens(s.app.state, 0, 0, nil)
	o := ops.New(ops.Options{Config: s.app.ops.Config(), State: s.app.state, Tokens: tk, Services: s.app.tenants})
	err = o.Authenticate(ctx, s.adminToken)
	var se *scim.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusUnauthorized, se.Status)
	require.Contains(t, se.Detail, "scimbridge token generate --admin")
}

// enqueueJobs puts three jobs of tenant acme in the store: one pending
// (never tried), one dead after two attempts, one leased by a worker.
func enqueueJobs(t testing.TB, q state.Queue) (pending, dead, leased state.Job) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	enq := func(resource, op, payload string) state.Job {
		j, err := q.Enqueue(ctx, state.Job{Tenant: "acme", Resource: resource, Op: op, Payload: []byte(payload),
			Fingerprint: "fp-" + op, CreatedAt: now.Add(-10 * time.Minute)})
		require.NoError(t, err)
		return j
	}
	dead = enq("acme/User/dead", "create",
		`{"op":"create","kind":"User","resource":{"userName":"ann@example.org","password":"Pa55word!"}}`)
	leased = enq("acme/User/leased", "patch",
		`{"op":"patch","kind":"User","id":"u2","ops":[{"op":"replace","path":"active","value":false}]}`)
	got, err := q.Lease(ctx, "test-worker", now, 10, time.Hour)
	require.NoError(t, err)
	require.Len(t, got, 2)
	for _, j := range got {
		if j.ID == dead.ID {
			require.NoError(t, q.Bury(ctx, j.ID, "test-worker", "ldap: invalid attribute syntax\nfor mail", "invalid"))
		}
	}
	pending = enq("acme/User/pending", "delete", `{"op":"delete","kind":"User","id":"u3"}`)
	for _, j := range []*state.Job{&pending, &dead, &leased} {
		var err error
		*j, err = q.Get(ctx, j.ID)
		require.NoError(t, err)
	}
	return pending, dead, leased
}

func TestAdminQueueEndpoints(t *testing.T) {
	s := newOpsStack(t, false)
	st := s.app.state
	pending, dead, leased := enqueueJobs(t, st)
	ctx := context.Background()

	t.Run("list", func(t *testing.T) {
		var jobs []opsview.Job
		s.admin(http.MethodGet, "/admin/queue", 200, &jobs)
		require.Len(t, jobs, 3)
		ids := map[string]string{}
		for _, j := range jobs {
			ids[j.ID] = j.State
			require.Nil(t, j.Payload, "lists carry no payloads")
		}
		require.Equal(t, map[string]string{pending.ID: "pending", dead.ID: "dead", leased.ID: "leased"}, ids)

		s.admin(http.MethodGet, "/admin/queue?state=dead", 200, &jobs)
		require.Len(t, jobs, 1)
		require.Equal(t, dead.ID, jobs[0].ID)
		require.Equal(t, "invalid", jobs[0].ErrorClass)
		require.Equal(t, 1, jobs[0].Attempts)

		s.admin(http.MethodGet, "/admin/queue?tenant=other", 200, &jobs)
		require.Empty(t, jobs)
		s.admin(http.MethodGet, "/admin/queue?limit=2", 200, &jobs)
		require.Len(t, jobs, 2)
		var e map[string]string
		s.admin(http.MethodGet, "/admin/queue?state=gone", 400, &e)
	})
	t.Run("show", func(t *testing.T) {
		var j opsview.Job
		s.admin(http.MethodGet, "/admin/queue/"+dead.ID, 200, &j)
		require.Equal(t, "fp-create", j.Fingerprint)
		require.Equal(t, "acme/User/dead", j.Resource)
		require.JSONEq(t, `{"op":"create","kind":"User","resource":{"userName":"ann@example.org","password":"<secret>"}}`, string(j.Payload))
		var e map[string]string
		s.admin(http.MethodGet, "/admin/queue/no-such-job", 404, &e)
		require.Contains(t, e["error"], `no job "no-such-job" in the queue`)
	})
	t.Run("retry", func(t *testing.T) {
		var out struct {
			ID     string      `json:"id"`
			Result string      `json:"result"`
			Job    opsview.Job `json:"job"`
		}
		s.admin(http.MethodPost, "/admin/queue/"+dead.ID+"/retry", 200, &out)
		require.Equal(t, "requeued", out.Result)
		require.Equal(t, "pending", out.Job.State)
		j, err := st.Get(ctx, dead.ID)
		require.NoError(t, err)
		require.Equal(t, state.JobPending, j.State)
		require.Equal(t, 0, j.Attempts)

		var e map[string]string
		s.admin(http.MethodPost, "/admin/queue/"+leased.ID+"/retry", 409, &e)
		require.Contains(t, e["error"], "is being applied by a worker right now")
	})
	t.Run("drop", func(t *testing.T) {
		var out map[string]any
		s.admin(http.MethodDelete, "/admin/queue/"+pending.ID, 200, &out)
		require.Equal(t, "dropped", out["result"])
		_, err := st.Get(ctx, pending.ID)
		require.ErrorIs(t, err, state.ErrNotFound)
		s.admin(http.MethodDelete, "/admin/queue/"+pending.ID, 404, &out)
	})
}

func TestAdminStatus(t *testing.T) {
	s := newOpsStack(t, true)
	enqueueJobs(t, s.app.state)
	var st opsview.Status
	s.admin(http.MethodGet, "/admin/status", 200, &st)

	require.Equal(t, opsview.Health{Kind: "sqlite", Up: true}, st.StateStore)
	require.Equal(t, "valid", st.AdminToken.Status)
	require.Len(t, st.Tenants, 2)
	acme, dir := st.Tenants[0], st.Tenants[1]

	require.Equal(t, "acme", acme.Name)
	require.Equal(t, "http://scim.example.test/scim/acme/v2", acme.TenantURL)
	require.Equal(t, "pharos", acme.Backend)
	require.Equal(t, opsview.Health{Up: true}, acme.Target)
	require.Equal(t, "valid", acme.Token.Status)
	require.NotNil(t, acme.Token.DaysLeft)
	require.Equal(t, 364, *acme.Token.DaysLeft)
	require.Zero(t, acme.Token.WarningDays)
	require.NotNil(t, acme.Queue)
	require.Equal(t, 1, acme.Queue.Pending)
	require.Equal(t, 1, acme.Queue.Leased)
	require.Equal(t, 1, acme.Queue.Dead)
	require.Equal(t, 2, acme.Queue.Depth)
	require.InDelta(t, 600, acme.Queue.OldestAgeSeconds, 30)
	require.Equal(t, map[string]int{}, acme.Queue.AttemptsByClass, "the only failed job is dead")

	require.Equal(t, "dir", dir.Name)
	require.Equal(t, "ldap", dir.Backend)
	require.False(t, dir.Target.Up)
	require.NotEmpty(t, dir.Target.Error)
	require.Equal(t, "missing", dir.Token.Status)
	require.NotNil(t, dir.Queue)

	_, _, raw := s.call(http.MethodGet, "/admin/status", s.adminToken)
	require.NotContains(t, raw, ldapDownPassword)
	require.NotContains(t, raw, s.adminToken)
	require.NotContains(t, raw, s.acmeToken)
}

func TestAdminStatusWithTheStateStoreDown(t *testing.T) {
	s := newOpsStack(t, false)
	s.app.ops.SetProbes(ops.NewProbeCache(0, ops.ProbeTimeout)) // no cached "up" from before the outage
	var before opsview.Status
	s.admin(http.MethodGet, "/admin/status", 200, &before) // the admin token is read, and kept
	require.NoError(t, s.app.state.Close())

	start := time.Now()
	var st opsview.Status
	s.admin(http.MethodGet, "/admin/status", 200, &st)
	require.Less(t, time.Since(start), ops.StatusTimeout)
	require.False(t, st.StateStore.Up)
	require.Contains(t, st.StateStore.Error, "store is closed")
	require.Nil(t, st.Tenants[0].Queue)
	require.Contains(t, st.Tenants[0].QueueError, "state: store unavailable")
	require.True(t, st.Tenants[0].Target.Up, "the target is still there")

	var e map[string]string
	s.admin(http.MethodGet, "/admin/queue", 503, &e)
	require.Equal(t, "the state store is unavailable; retry later", e["error"])
}

func TestReadyz(t *testing.T) {
	t.Run("every target up", func(t *testing.T) {
		s := newOpsStack(t, false)
		code, ctype, body := s.call(http.MethodGet, "/readyz", "")
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, "application/json; charset=utf-8", ctype)
		require.JSONEq(t, `{"status":"ready"}`, body)
	})
	t.Run("a target down", func(t *testing.T) {
		s := newOpsStack(t, true)
		start := time.Now()
		code, _, body := s.call(http.MethodGet, "/readyz", "")
		require.Less(t, time.Since(start), 5*time.Second)
		require.Equal(t, http.StatusServiceUnavailable, code, body)
		require.JSONEq(t, `{"status":"not ready","reason":"target not reachable for tenant(s) dir"}`, body)
		require.NotContains(t, body, "127.0.0.1", "an unauthenticated answer names no host")
	})
	t.Run("state store down is degraded, still ready", func(t *testing.T) {
		s := newOpsStack(t, false)
		require.NoError(t, s.app.state.Close())
		code, _, body := s.call(http.MethodGet, "/readyz", "")
		require.Equal(t, http.StatusOK, code, body)
		var r map[string]string
		require.NoError(t, json.Unmarshal([]byte(body), &r))
		require.Equal(t, "degraded", r["status"])
		require.Equal(t, "state store unreachable; serving without idempotency records and the retry queue", r["reason"])
	})
}

// metricValue finds one sample in an exposition.
func metricValue(t testing.TB, body, series string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	require.NotNil(t, m, "no %s in:\n%s", series, body)
	return m[1]
}

func TestMetricsThroughTheBridge(t *testing.T) {
	s := newOpsStack(t, true)
	enqueueJobs(t, s.app.state)
	code, _, _ := s.call(http.MethodGet, "/scim/acme/v2/Users?filter="+`userName%20eq%20"nobody"`, s.acmeToken)
	require.Equal(t, http.StatusOK, code)
	code, _, _ = s.call(http.MethodGet, "/scim/acme/v2/Users/some-id", s.acmeToken)
	require.Equal(t, http.StatusNotFound, code)
	// A write takes its resource's lock: the wait is observed.
	code, _, _ = s.call(http.MethodDelete, "/scim/acme/v2/Users/some-id", s.acmeToken)
	require.Equal(t, http.StatusNotFound, code)

	code, ctype, body := s.call(http.MethodGet, "/metrics", "")
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.HasPrefix(ctype, "text/plain"), ctype)
	for _, tc := range []struct{ series, want string }{
		{`scimbridge_http_requests_total{method="GET",route="/scim/:tenant/v2/Users",status="200",tenant="acme"}`, "1"},
		{`scimbridge_http_requests_total{method="GET",route="/scim/:tenant/v2/Users/:id",status="404",tenant="acme"}`, "1"},
		{`scimbridge_queue_depth{tenant="acme"}`, "2"},
		{`scimbridge_queue_dead{tenant="acme"}`, "1"},
		{`scimbridge_queue_depth{tenant="dir"}`, "0"},
		{`scimbridge_queue_dead_lettered_total{tenant="acme"}`, "0"},
		{`scimbridge_target_up{tenant="acme"}`, "1"},
		{`scimbridge_target_up{tenant="dir"}`, "0"},
		{`scimbridge_state_store_up`, "1"},
		{`scimbridge_lock_wait_seconds_count`, "1"},
	} {
		t.Run(tc.series, func(t *testing.T) {
			require.Equal(t, tc.want, metricValue(t, body, tc.series))
		})
	}
	exp := metricValue(t, body, `scimbridge_token_expiry_seconds{tenant="acme"}`)
	require.True(t, strings.HasPrefix(exp, "3.15"), "about 365 days: %s", exp)
	require.NotContains(t, body, "some-id", "raw paths are never labels")
	require.NotContains(t, body, s.acmeToken)
}

func TestMetricsWithTheStateStoreClosed(t *testing.T) {
	s := newOpsStack(t, false)
	require.NoError(t, s.app.state.Close())
	start := time.Now()
	code, _, body := s.call(http.MethodGet, "/metrics", "")
	require.Less(t, time.Since(start), 4*time.Second)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "0", metricValue(t, body, "scimbridge_state_store_up"))
	require.Equal(t, "1", metricValue(t, body, `scimbridge_target_up{tenant="acme"}`))
	require.NotContains(t, body, "scimbridge_queue_depth{")
}

var adminTokenRE = regexp.MustCompile(`admin_token: (scimb_[A-Za-z0-9_-]{43})`)

func TestAdminTokenCommands(t *testing.T) {
	cfg, dir := writeTestConfig(t, "127.0.0.1:8080")
	out, err := run(t, "token", "generate", "--config", cfg, "--admin")
	require.NoError(t, err)
	require.Contains(t, out, "admin_url: http://127.0.0.1:8080/admin\n")
	require.NotContains(t, out, "tenant_url")
	first := adminTokenRE.FindStringSubmatch(out)
	require.NotNil(t, first, out)

	outFile := filepath.Join(dir, "admin-token.txt")
	out, err = run(t, "token", "regenerate", "--config", cfg, "--admin", "--out", outFile)
	require.NoError(t, err)
	require.Contains(t, out, "Admin URL and admin token written to")
	require.NotContains(t, out, "scimb_")
	body, err := os.ReadFile(outFile)
	require.NoError(t, err)
	second := adminTokenRE.FindStringSubmatch(string(body))
	require.NotNil(t, second, string(body))
	require.NotEqual(t, first[1], second[1])

	out, err = run(t, "token", "list", "--config", cfg)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(out, "(admin)"), out)
	require.Contains(t, out, "no token: run `scimbridge token generate --tenant acme`", "the tenant has none yet")
	require.NotContains(t, out, "scimb_")

	// The admin token is stored apart from every tenant's.
	out, err = run(t, "token", "list", "--config", cfg, "--tenant", "acme")
	require.NoError(t, err)
	require.NotContains(t, out, "(admin)")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"both --admin and --tenant", []string{"--admin", "--tenant", "acme"}, "none of the others can be"},
		{"neither", nil, "at least one of the flags in the group [tenant admin] is required"},
		{"the reserved name as a tenant", []string{"--tenant", adminTenant}, `no tenant "_admin"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, append([]string{"token", "generate", "--config", cfg}, tc.args...)...)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
