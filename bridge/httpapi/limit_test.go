package httpapi

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// recLimiter refuses every request after the first allow, and records
// what it was asked and when each admitted request was done.
type recLimiter struct {
	mu      sync.Mutex
	allow   int
	asked   []string // tenant/client
	running int
}

func (l *recLimiter) Admit(_ context.Context, tenant, client string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, tenant+"/"+client)
	if len(l.asked) > l.allow {
		return nil, &scim.Error{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond, Detail: "tenant t sends requests faster than its limit; retry later"}
	}
	l.running++
	return func() { l.mu.Lock(); l.running--; l.mu.Unlock() }, nil
}

// The limiter sees authenticated SCIM requests only (a wrong token is
// still 401, probes and metrics pass), keyed by tenant and a hash of the
// token; a refusal is a SCIM 429 with Retry-After rounded up to seconds,
// and an admitted request is done once answered.
func TestLimiter(t *testing.T) {
	t.Parallel()
	l := &recLimiter{allow: 2}
	h := newTestHarness(t, func(o *Options) { o.Limiter = l })
	for range 2 {
		w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users"})
		require.Equal(t, http.StatusOK, w.Code)
	}
	w := h.do(t, req{Method: "POST", Target: "/scim/t/v2/Users", Body: `{"userName":"a"}`})
	e := mustSCIMError(t, w, http.StatusTooManyRequests)
	require.Contains(t, e.Detail, "faster than its limit")
	require.Equal(t, "2", w.Header().Get("Retry-After"))
	require.Len(t, h.prov.recorded(), 2, "a refused request reaches no provisioner")

	w = h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users", Header: map[string]string{"Authorization": "Bearer wrong"}})
	mustSCIMError(t, w, http.StatusUnauthorized)
	w = h.do(t, req{Method: "GET", Target: "/healthz"})
	require.Equal(t, http.StatusOK, w.Code)

	require.Len(t, l.asked, 3, "only the authenticated SCIM requests were asked about")
	require.Equal(t, l.asked[0], l.asked[1], "one caller, one key")
	require.NotContains(t, l.asked[0], testToken, "the token itself is no key")
	require.Regexp(t, `^t/[0-9a-f]{32}$`, l.asked[0])
	require.Zero(t, l.running, "every admitted request was done")
}
