package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/sqlitestate"
)

// storeSource is the Source main builds, reduced to a real SQLite state
// store: queue statistics and health come from the store itself.
type storeSource struct {
	st      state.Store
	tenants []string
	expiry  map[string]time.Time
	// targetUp answers TargetUp; hang makes every call block until its
	// context is done plus a while (a Source that ignores its deadline).
	targetUp bool
	hang     time.Duration
}

func (s *storeSource) Tenants() []string { return s.tenants }

func (s *storeSource) QueueStats(ctx context.Context, tenant string) (state.QueueStats, error) {
	return s.st.Stats(ctx, tenant)
}

func (s *storeSource) TokenExpiry(_ context.Context, tenant string) (time.Time, bool, error) {
	e, ok := s.expiry[tenant]
	return e, ok, nil
}

func (s *storeSource) TargetUp(ctx context.Context, _ string) bool {
	if s.hang > 0 {
		<-ctx.Done()
		time.Sleep(s.hang) // ignores the deadline for a while longer
	}
	return s.targetUp
}

func (s *storeSource) StateUp(ctx context.Context) bool { return s.st.Ping(ctx) == nil }

func openStore(tb testing.TB) *sqlitestate.Store {
	tb.Helper()
	st, err := sqlitestate.Open(context.Background(), filepath.Join(tb.TempDir(), "state.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// scrape fetches the exposition through the handler, as Prometheus would.
func scrape(tb testing.TB, m *Metrics) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(tb, http.StatusOK, rec.Code)
	body, err := io.ReadAll(rec.Body)
	require.NoError(tb, err)
	return string(body)
}

// sample returns the value of the one exposition line starting with
// series (name and labels exactly as printed).
func sample(tb testing.TB, body, series string) string {
	tb.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	require.NotNil(tb, m, "no sample %s in:\n%s", series, body)
	return m[1]
}

func TestExposition(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	// The store keeps milliseconds; so does this clock, for exact ages.
	now := time.Now().Truncate(time.Millisecond)
	// acme: one job waiting after a failed attempt, one buried.
	_, err := st.Enqueue(ctx, state.Job{Tenant: "acme", Resource: "acme/User/1", Op: "patch", CreatedAt: now.Add(-90 * time.Second)})
	require.NoError(t, err)
	_, err = st.Enqueue(ctx, state.Job{Tenant: "acme", Resource: "acme/User/2", Op: "create", CreatedAt: now.Add(-30 * time.Second)})
	require.NoError(t, err)
	leased, err := st.Lease(ctx, "w1", now, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, leased, 2)
	for _, j := range leased {
		if j.Resource == "acme/User/1" {
			require.NoError(t, st.Retry(ctx, j.ID, "w1", now.Add(time.Hour), "ldap: connection refused", "unavailable"))
		} else {
			require.NoError(t, st.Bury(ctx, j.ID, "w1", "ldap: invalid syntax", "invalid"))
		}
	}

	src := &storeSource{
		st: st, tenants: []string{"acme", "beta"}, targetUp: true,
		expiry: map[string]time.Time{"acme": now.Add(10 * 24 * time.Hour)},
	}
	m := New(Options{Source: src, Now: func() time.Time { return now }})
	m.ObserveRequest("acme", "/scim/:tenant/v2/Users/:id", "PATCH", 200, 30*time.Millisecond)
	m.ObserveRequest("acme", "/scim/:tenant/v2/Users/:id", "PATCH", 200, 40*time.Millisecond)
	m.ObserveRequest("", "unmatched", "BREW", 404, time.Millisecond)
	m.Refused("acme", "concurrency")
	m.InFlight("beta", 3)
	m.LockWait(2 * time.Millisecond)
	m.DeadLettered("acme")
	m.JobAttempt("acme", "unavailable")
	m.JobAttempt("acme", "")

	body := scrape(t, m)
	for _, tc := range []struct{ series, want string }{
		{`scimbridge_http_requests_total{method="PATCH",route="/scim/:tenant/v2/Users/:id",status="200",tenant="acme"}`, "2"},
		{`scimbridge_http_requests_total{method="OTHER",route="unmatched",status="404",tenant=""}`, "1"},
		{`scimbridge_http_request_duration_seconds_count{method="PATCH",route="/scim/:tenant/v2/Users/:id",tenant="acme"}`, "2"},
		{`scimbridge_http_request_duration_seconds_bucket{method="PATCH",route="/scim/:tenant/v2/Users/:id",tenant="acme",le="0.05"}`, "2"},
		{`scimbridge_limit_refused_total{scope="concurrency",tenant="acme"}`, "1"},
		{`scimbridge_limit_refused_total{scope="tenant_rate",tenant="beta"}`, "0"},
		{`scimbridge_limit_in_flight{tenant="beta"}`, "3"},
		{`scimbridge_lock_wait_seconds_count`, "1"},
		{`scimbridge_queue_dead_lettered_total{tenant="acme"}`, "1"},
		{`scimbridge_queue_dead_lettered_total{tenant="beta"}`, "0"},
		{`scimbridge_worker_attempts_total{class="ok",tenant="acme"}`, "1"},
		{`scimbridge_worker_attempts_total{class="unavailable",tenant="acme"}`, "1"},
		{`scimbridge_queue_depth{tenant="acme"}`, "1"},
		{`scimbridge_queue_depth{tenant="beta"}`, "0"},
		{`scimbridge_queue_dead{tenant="acme"}`, "1"},
		{`scimbridge_queue_oldest_age_seconds{tenant="acme"}`, "90"},
		{`scimbridge_queue_oldest_age_seconds{tenant="beta"}`, "0"},
		{`scimbridge_queue_attempts{class="unavailable",tenant="acme"}`, "1"},
		{`scimbridge_token_expiry_seconds{tenant="acme"}`, "864000"},
		{`scimbridge_target_up{tenant="acme"}`, "1"},
		{`scimbridge_target_up{tenant="beta"}`, "1"},
		{`scimbridge_state_store_up`, "1"},
	} {
		t.Run(tc.series, func(t *testing.T) {
			require.Equal(t, tc.want, sample(t, body, tc.series))
		})
	}
	require.NotContains(t, body, `scimbridge_token_expiry_seconds{tenant="beta"}`, "a tenant without a token has no expiry")
	require.NotContains(t, body, `class="invalid"`, "a dead job's attempts no longer count as queued")
	require.Contains(t, body, "go_goroutines ")
	require.Contains(t, body, "# HELP scimbridge_queue_depth ")
}

func TestClosedStateStoreScrapesQuickly(t *testing.T) {
	st := openStore(t)
	require.NoError(t, st.Close())
	m := New(Options{Source: &storeSource{st: st, tenants: []string{"acme"}, targetUp: true}})

	start := time.Now()
	body := scrape(t, m)
	require.Less(t, time.Since(start), time.Second)
	require.Equal(t, "0", sample(t, body, "scimbridge_state_store_up"))
	require.Equal(t, "1", sample(t, body, `scimbridge_target_up{tenant="acme"}`))
	require.NotContains(t, body, "scimbridge_queue_depth{", "no queue figures when the store cannot tell")
}

func TestHangingSourceIsCutOffAtTheScrapeTimeout(t *testing.T) {
	st := openStore(t)
	src := &storeSource{st: st, tenants: []string{"acme"}, targetUp: true, hang: 2 * time.Second}
	m := New(Options{Source: src, ScrapeTimeout: 200 * time.Millisecond})

	start := time.Now()
	body := scrape(t, m)
	require.Less(t, time.Since(start), time.Second, "the scrape must not wait for a probe ignoring its deadline")
	require.Equal(t, "0", sample(t, body, `scimbridge_target_up{tenant="acme"}`), "a target that did not answer in time is down")
	require.Equal(t, "1", sample(t, body, "scimbridge_state_store_up"))
}

func TestNilMetricsIgnoresObservations(t *testing.T) {
	var m *Metrics
	m.ObserveRequest("", "/healthz", "GET", 200, time.Millisecond)
	m.LockWait(time.Millisecond)
	m.DeadLettered("acme")
	m.JobAttempt("acme", "ok")
}

func TestWithoutSourceOnlyEventMetrics(t *testing.T) {
	m := New(Options{})
	m.ObserveRequest("", "/healthz", "GET", 200, time.Millisecond)
	body := scrape(t, m)
	require.Equal(t, "1", sample(t, body, `scimbridge_http_requests_total{method="GET",route="/healthz",status="200",tenant=""}`))
	require.False(t, strings.Contains(body, "scimbridge_state_store_up"))
}

func TestMethodLabelIsBounded(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"GET", "GET"}, {"PATCH", "PATCH"}, {"OPTIONS", "OPTIONS"},
		{"get", "OTHER"}, {"PROPFIND", "OTHER"}, {"", "OTHER"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, boundedMethod(tc.in))
		})
	}
}
