package auth

import (
	"sync"
	"time"
)

// Failed client authentications slow down the next attempts for the same
// client: the n-th consecutive failure makes each following attempt wait
// throttleBase·2ⁿ⁻¹, at most throttleMax, until a success or throttleForget
// without failures. A secret has 256 random bits, so this is not what keeps
// it from being guessed; it keeps a misconfigured or hostile caller from
// costing the bridge and its log more than a trickle. It is per replica.
const (
	throttleBase   = 250 * time.Millisecond
	throttleMax    = 4 * time.Second
	throttleForget = 15 * time.Minute
	// throttleClients bounds the map; failures for unknown client ids
	// share one entry per tenant, so only real clients count towards it.
	throttleClients = 10_000
)

type throttle struct {
	now       func() time.Time
	base, max time.Duration
	mu        sync.Mutex
	fails     map[string]failures
}

type failures struct {
	n    int
	last time.Time
}

func newThrottle() *throttle {
	return &throttle{now: time.Now, base: throttleBase, max: throttleMax, fails: map[string]failures{}}
}

// delay is how long an attempt for key waits before it is checked.
func (t *throttle) delay(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.fails[key]
	if !ok || t.now().Sub(f.last) > throttleForget {
		return 0
	}
	d := t.base << min(f.n-1, 8)
	return min(d, t.max)
}

func (t *throttle) fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.fails[key]
	if t.now().Sub(f.last) > throttleForget {
		f.n = 0
	}
	if len(t.fails) >= throttleClients {
		clear(t.fails)
	}
	t.fails[key] = failures{n: f.n + 1, last: t.now()}
}

func (t *throttle) succeed(key string) {
	t.mu.Lock()
	delete(t.fails, key)
	t.mu.Unlock()
}
