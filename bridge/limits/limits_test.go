package limits

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type observed struct {
	mu       sync.Mutex
	refused  map[string]int
	inFlight map[string]int
}

func (o *observed) Refused(tenant, scope string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused[tenant+"/"+scope]++
}

func (o *observed) InFlight(tenant string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inFlight[tenant] = n
}

func newObserved() *observed {
	return &observed{refused: map[string]int{}, inFlight: map[string]int{}}
}

func refusal(t *testing.T, err error, scope string) *Refusal {
	t.Helper()
	var r *Refusal
	require.True(t, errors.As(err, &r), "want a refusal, got %v", err)
	require.Equal(t, scope, r.Scope)
	return r
}

func TestTenantRate(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1e9, 0)}
	obs := newObserved()
	l := New(Options{Tenants: []string{"a", "b"}, Tenant: Rate{PerSecond: 2, Burst: 3}, Now: c.now, Observer: obs})
	for range 3 {
		done, err := l.Admit(t.Context(), "a", "k")
		require.NoError(t, err)
		done()
	}
	_, err := l.Admit(t.Context(), "a", "k")
	r := refusal(t, err, ScopeTenantRate)
	require.InDelta(t, 500*time.Millisecond, r.RetryAfter, float64(10*time.Millisecond), "one token comes back in 1/2 s")
	require.Contains(t, r.Error(), "tenant a")

	// Tenant b has its own bucket; an unknown tenant is not limited here.
	for range 3 {
		_, err := l.Admit(t.Context(), "b", "k")
		require.NoError(t, err)
	}
	for range 10 {
		_, err := l.Admit(t.Context(), "nobody", "k")
		require.NoError(t, err)
	}

	// A refusal took no token: after the delay it announced, one passes.
	c.add(r.RetryAfter)
	_, err = l.Admit(t.Context(), "a", "k")
	require.NoError(t, err)
	_, err = l.Admit(t.Context(), "a", "k")
	refusal(t, err, ScopeTenantRate)
	require.Equal(t, 2, obs.refused["a/"+ScopeTenantRate])
}

func TestClientRate(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1e9, 0)}
	obs := newObserved()
	l := New(Options{Tenants: []string{"a"}, Tenant: Rate{PerSecond: 1, Burst: 4}, Client: Rate{PerSecond: 1, Burst: 2},
		Now: c.now, Observer: obs, IdleAfter: time.Minute})
	for range 2 {
		_, err := l.Admit(t.Context(), "a", "one")
		require.NoError(t, err)
	}
	for range 3 {
		_, err := l.Admit(t.Context(), "a", "one")
		r := refusal(t, err, ScopeClientRate)
		require.InDelta(t, time.Second, r.RetryAfter, float64(10*time.Millisecond))
	}
	// The refused requests cost the tenant nothing: another client still
	// has the tenant's two remaining tokens.
	for range 2 {
		_, err := l.Admit(t.Context(), "a", "two")
		require.NoError(t, err)
	}
	_, err := l.Admit(t.Context(), "a", "three")
	refusal(t, err, ScopeTenantRate)
	require.Equal(t, 3, obs.refused["a/"+ScopeClientRate])
	require.Equal(t, 2, l.clients("a"), "a request the tenant rate refused makes no client bucket")

	// Idle clients' buckets are dropped.
	c.add(2 * time.Minute)
	_, err = l.Admit(t.Context(), "a", "four")
	require.NoError(t, err)
	require.Equal(t, 1, l.clients("a"))
}

func TestConcurrency(t *testing.T) {
	t.Parallel()
	obs := newObserved()
	l := New(Options{Tenants: []string{"a", "b"}, Concurrency: 2, ConcurrencyWait: 50 * time.Millisecond, Observer: obs})
	d1, err := l.Admit(t.Context(), "a", "k")
	require.NoError(t, err)
	d2, err := l.Admit(t.Context(), "a", "k")
	require.NoError(t, err)
	require.Equal(t, 2, obs.inFlight["a"])

	// Full: a third waits, then is refused.
	start := time.Now()
	_, err = l.Admit(t.Context(), "a", "k")
	r := refusal(t, err, ScopeConcurrency)
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	require.Equal(t, time.Second, r.RetryAfter)
	require.Equal(t, 1, obs.refused["a/"+ScopeConcurrency])

	// Tenant b is not held up by a's requests.
	db, err := l.Admit(t.Context(), "b", "k")
	require.NoError(t, err)
	db()

	// A slot freed while a request waits lets it in.
	got := make(chan error, 1)
	go func() {
		done, err := New(Options{}).Admit(t.Context(), "x", "k") // no limits at all
		done()
		if err != nil {
			got <- err
			return
		}
		done, err = l.Admit(t.Context(), "a", "k")
		if err == nil {
			done()
		}
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	d1()
	d1() // twice is harmless
	require.NoError(t, <-got)

	// A request whose client gave up stops waiting.
	ctx, cancel := context.WithCancel(t.Context())
	d3, err := l.Admit(t.Context(), "a", "k")
	require.NoError(t, err)
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err = l.Admit(ctx, "a", "k")
	require.ErrorIs(t, err, context.Canceled)
	d2()
	d3()
	require.Equal(t, 0, obs.inFlight["a"])
}
