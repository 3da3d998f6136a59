package ops

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// ProbeCache runs one health probe per key at a time and remembers its
// result for ttl. A probe runs in its own goroutine under its own timeout,
// detached from the caller's cancellation (other callers may be waiting for
// it); a caller stops waiting when its own context ends, so a probe that
// hangs can never hold up a scrape or a readiness check.
type ProbeCache struct {
	ttl, timeout time.Duration
	mu           sync.Mutex
	entries      map[string]*probe
}

type probe struct {
	done chan struct{}
	at   time.Time // when it finished
	err  error
}

// NewProbeCache returns a cache keeping results for ttl, each probe bounded
// by timeout.
func NewProbeCache(ttl, timeout time.Duration) *ProbeCache {
	return &ProbeCache{ttl: ttl, timeout: timeout, entries: map[string]*probe{}}
}

// Do returns the result of f for key: a fresh one, the one running, or a
// new run.
func (c *ProbeCache) Do(ctx context.Context, key string, f func(context.Context) error) error {
	c.mu.Lock()
	p := c.entries[key]
	fresh := false
	if p != nil {
		select {
		case <-p.done:
			fresh = time.Since(p.at) < c.ttl
		default:
			fresh = true // running: wait for it
		}
	}
	if !fresh {
		p = &probe{done: make(chan struct{})}
		c.entries[key] = p
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		go func() {
			defer cancel()
			err := f(pctx)
			c.mu.Lock()
			p.err, p.at = err, time.Now()
			c.mu.Unlock()
			close(p.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-p.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("ops: probe %s: %w", key, ctx.Err())
	}
}
