// Package limits decides whether a SCIM request may run now: a request
// rate per tenant and per client (token bucket, golang.org/x/time/rate)
// and a cap on each tenant's requests in flight, so that one tenant's
// initial cycle cannot take every worker, connection and CPU slice from
// another tenant's Test Connection probe. It imports no project package.
//
// A request over a rate is refused at once with the time until the
// bucket has a token again: the HTTP layer answers 429 with that as
// Retry-After, which Entra honours (docs/entra.md). A request over the
// concurrency cap waits up to ConcurrencyWait for a slot (bursts are
// normal: Entra sends several requests at once), then is refused with a
// Retry-After of one second.
//
// Memory is bounded: tenants are the configured ones (an unknown tenant
// is never limited here, it is answered 401/404 before), and client
// buckets are dropped after IdleAfter without a request.
package limits

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Scopes name what refused a request, in metrics and answers.
const (
	ScopeTenantRate  = "tenant_rate"
	ScopeClientRate  = "client_rate"
	ScopeConcurrency = "concurrency"
)

// Defaults of Options.
const (
	// ConcurrencyWait is how long a request waits for a slot of its
	// tenant before it is refused.
	DefaultConcurrencyWait = 2 * time.Second
	// IdleAfter drops a client's bucket after this long without a request.
	DefaultIdleAfter = 10 * time.Minute
)

// Rate is a token bucket: PerSecond requests a second on average, Burst at
// once. A zero PerSecond is no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Options configure New. Zero values turn each limit off.
type Options struct {
	// Tenants are the tenants limited; others pass.
	Tenants []string
	// Tenant is each tenant's rate, Client each client's (a caller of a
	// tenant, named by the key the HTTP layer passes).
	Tenant, Client Rate
	// Concurrency caps each tenant's requests in flight.
	Concurrency int
	// ConcurrencyWait: DefaultConcurrencyWait when zero.
	ConcurrencyWait time.Duration
	// IdleAfter: DefaultIdleAfter when zero.
	IdleAfter time.Duration
	// Observer, when set, is told of refusals and of requests in flight.
	Observer Observer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Observer receives what the limiter does (implemented by the metrics).
type Observer interface {
	// Refused counts one request of tenant refused by scope.
	Refused(tenant, scope string)
	// InFlight reports the tenant's requests running now.
	InFlight(tenant string, n int)
}

// Limiter is safe for concurrent use.
type Limiter struct {
	o       Options
	tenants map[string]*tenant
}

type tenant struct {
	name  string
	rate  *rate.Limiter // nil: no tenant rate
	slots chan struct{} // nil: no cap

	mu      sync.Mutex
	clients map[string]*client
	swept   time.Time
}

type client struct {
	rate *rate.Limiter
	seen time.Time
}

// New builds a limiter.
func New(o Options) *Limiter {
	if o.ConcurrencyWait <= 0 {
		o.ConcurrencyWait = DefaultConcurrencyWait
	}
	if o.IdleAfter <= 0 {
		o.IdleAfter = DefaultIdleAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &Limiter{o: o, tenants: map[string]*tenant{}}
	for _, name := range o.Tenants {
		t := &tenant{name: name, clients: map[string]*client{}}
		if o.Tenant.PerSecond > 0 {
			t.rate = rate.NewLimiter(rate.Limit(o.Tenant.PerSecond), max(o.Tenant.Burst, 1))
		}
		if o.Concurrency > 0 {
			t.slots = make(chan struct{}, o.Concurrency)
		}
		l.tenants[name] = t
		if o.Observer != nil {
			o.Observer.InFlight(name, 0)
		}
	}
	return l
}

// Refusal says why a request may not run now and when to try again.
type Refusal struct {
	Tenant, Scope string
	RetryAfter    time.Duration
}

func (r *Refusal) Error() string {
	switch r.Scope {
	case ScopeConcurrency:
		return "too many requests of tenant " + r.Tenant + " in flight; retry later"
	case ScopeClientRate:
		return "this client sends requests faster than its limit; retry later"
	}
	return "tenant " + r.Tenant + " sends requests faster than its limit; retry later"
}

// Admit decides on one request of tenant by client. On success the
// caller must call done when the request has been answered. A refusal is a
// *Refusal; a ctx that ends while waiting for a slot returns its error.
func (l *Limiter) Admit(ctx context.Context, tenantName, clientKey string) (done func(), err error) {
	t, ok := l.tenants[tenantName]
	if !ok {
		return func() {}, nil
	}
	now := l.o.Now()
	var tr *rate.Reservation
	if t.rate != nil {
		tr = t.rate.ReserveN(now, 1)
		if d := tr.DelayFrom(now); d > 0 {
			tr.CancelAt(now)
			return nil, l.refuse(t.name, ScopeTenantRate, d)
		}
	}
	if l.o.Client.PerSecond > 0 {
		cr := t.client(clientKey, now, l.o).ReserveN(now, 1)
		if d := cr.DelayFrom(now); d > 0 {
			cr.CancelAt(now)
			if tr != nil {
				tr.CancelAt(now) // a refused request costs its tenant nothing
			}
			return nil, l.refuse(t.name, ScopeClientRate, d)
		}
	}
	if t.slots == nil {
		return func() {}, nil
	}
	select {
	case t.slots <- struct{}{}:
	default:
		timer := time.NewTimer(l.o.ConcurrencyWait)
		defer timer.Stop()
		select {
		case t.slots <- struct{}{}:
		case <-timer.C:
			return nil, l.refuse(t.name, ScopeConcurrency, time.Second)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l.inFlight(t)
	var once sync.Once
	return func() {
		once.Do(func() {
			<-t.slots
			l.inFlight(t)
		})
	}, nil
}

func (l *Limiter) inFlight(t *tenant) {
	if l.o.Observer != nil {
		l.o.Observer.InFlight(t.name, len(t.slots))
	}
}

func (l *Limiter) refuse(tenant, scope string, d time.Duration) error {
	if l.o.Observer != nil {
		l.o.Observer.Refused(tenant, scope)
	}
	return &Refusal{Tenant: tenant, Scope: scope, RetryAfter: d}
}

// client returns key's bucket, and drops buckets idle for IdleAfter (at
// most once per IdleAfter, so the sweep costs nothing per request).
func (t *tenant) client(key string, now time.Time, o Options) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.swept) >= o.IdleAfter {
		for k, c := range t.clients {
			if now.Sub(c.seen) >= o.IdleAfter {
				delete(t.clients, k)
			}
		}
		t.swept = now
	}
	c, ok := t.clients[key]
	if !ok {
		c = &client{rate: rate.NewLimiter(rate.Limit(o.Client.PerSecond), max(o.Client.Burst, 1))}
		t.clients[key] = c
	}
	c.seen = now
	return c.rate
}

// clients is how many client buckets tenant holds (for tests).
func (l *Limiter) clients(tenant string) int {
	t := l.tenants[tenant]
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.clients)
}
