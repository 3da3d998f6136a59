package ops

import (
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/bridge/opsview"
)

// TrafficCounter counts each tenant's SCIM answers per minute over the
// last hour: the Tenants page's requests and errors. Memory is bounded by
// the tenants times 60 buckets.
type TrafficCounter struct {
	now func() time.Time
	mu  sync.Mutex
	by  map[string]*[60]bucket
}

type bucket struct {
	minute           int64 // unix minute the counts belong to
	requests, errors int
}

// NewTrafficCounter returns an empty counter for these tenants. Other
// names are not counted: a request's path names its tenant, and a client
// must not grow the map with made-up names.
func NewTrafficCounter(tenants []string) *TrafficCounter {
	c := &TrafficCounter{now: time.Now, by: map[string]*[60]bucket{}}
	for _, t := range tenants {
		c.by[t] = new([60]bucket)
	}
	return c
}

// Observe counts one answer to tenant; 500 and above are errors.
func (c *TrafficCounter) Observe(tenant string, status int) {
	m := c.now().Unix() / 60
	c.mu.Lock()
	defer c.mu.Unlock()
	bs := c.by[tenant]
	if bs == nil {
		return
	}
	b := &bs[m%60]
	if b.minute != m {
		*b = bucket{minute: m}
	}
	b.requests++
	if status >= 500 {
		b.errors++
	}
}

// LastHour sums the tenant's last 60 minutes.
func (c *TrafficCounter) LastHour(tenant string) opsview.Traffic {
	m := c.now().Unix() / 60
	c.mu.Lock()
	defer c.mu.Unlock()
	var t opsview.Traffic
	if bs := c.by[tenant]; bs != nil {
		for _, b := range bs {
			if m-b.minute < 60 {
				t.Requests += b.requests
				t.Errors += b.errors
			}
		}
	}
	return t
}
