package metrics

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Descriptions of the scrape-time metrics.
var (
	descQueueDepth = prometheus.NewDesc(Namespace+"_queue_depth",
		"Queued writes waiting or being applied (pending plus leased).", []string{"tenant"}, nil)
	descQueueOldest = prometheus.NewDesc(Namespace+"_queue_oldest_age_seconds",
		"Age of the oldest queued write still waiting or being applied; 0 when none.", []string{"tenant"}, nil)
	descQueueDead = prometheus.NewDesc(Namespace+"_queue_dead",
		"Queued writes in the dead letter state, waiting for an operator to retry or drop them.", []string{"tenant"}, nil)
	descQueueAttempts = prometheus.NewDesc(Namespace+"_queue_attempts",
		"Attempts made so far on the writes still queued, by the error class of their last failure.", []string{"tenant", "class"}, nil)
	descTokenExpiry = prometheus.NewDesc(Namespace+"_token_expiry_seconds",
		"Seconds until the tenant's latest Secret Token expires (negative once expired); absent when it has none.", []string{"tenant"}, nil)
	descTargetUp = prometheus.NewDesc(Namespace+"_target_up",
		"1 if the tenant's target directory answered its last check, 0 otherwise.", []string{"tenant"}, nil)
	descStateUp = prometheus.NewDesc(Namespace+"_state_store_up",
		"1 if the state store (Redis or SQLite) answered, 0 otherwise.", nil, nil)
)

// collector reads the Source at scrape time. Nothing it reports is cached:
// a queue depth or a health bit from minutes ago would mislead an alert.
type collector struct {
	src     Source
	timeout time.Duration
	now     func() time.Time
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueueDepth, descQueueOldest, descQueueDead,
		descQueueAttempts, descTokenExpiry, descTargetUp, descStateUp} {
		ch <- d
	}
}

// probeResult is what one probe goroutine found. up is set by the health
// probes only.
type probeResult struct {
	kind    probeKind
	tenant  string
	up      bool
	metrics []prometheus.Metric
}

type probeKind int

const (
	probeState probeKind = iota
	probeTarget
	probeQueue
	probeToken
)

// Collect runs every probe concurrently under one deadline and reports
// what came back in time. A probe still running at the deadline is left
// behind (it writes into a buffered channel nobody reads, then ends): a
// scrape must answer even when the state store or a directory hangs and
// ignores its context. A health probe that did not answer counts as down;
// queue and token gauges that did not arrive are left out rather than
// reported as zero, which would look healthy.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	tenants := c.src.Tenants()
	probes := []func() probeResult{c.stateProbe(ctx)}
	for _, t := range tenants {
		probes = append(probes, c.targetProbe(ctx, t), c.queueProbe(ctx, t), c.tokenProbe(ctx, t))
	}
	results := make(chan probeResult, len(probes))
	for _, p := range probes {
		go func() { results <- p() }()
	}

	stateUp := false
	targetUp := map[string]bool{}
wait:
	for range probes {
		var r probeResult
		select {
		case r = <-results:
		case <-ctx.Done():
			break wait
		}
		switch r.kind {
		case probeState:
			stateUp = r.up
		case probeTarget:
			targetUp[r.tenant] = r.up
		}
		for _, m := range r.metrics {
			ch <- m
		}
	}
	ch <- prometheus.MustNewConstMetric(descStateUp, prometheus.GaugeValue, b2f(stateUp))
	for _, t := range tenants {
		ch <- prometheus.MustNewConstMetric(descTargetUp, prometheus.GaugeValue, b2f(targetUp[t]), t)
	}
}

func (c *collector) stateProbe(ctx context.Context) func() probeResult {
	return func() probeResult {
		return probeResult{kind: probeState, up: c.src.StateUp(ctx)}
	}
}

func (c *collector) targetProbe(ctx context.Context, tenant string) func() probeResult {
	return func() probeResult {
		return probeResult{kind: probeTarget, tenant: tenant, up: c.src.TargetUp(ctx, tenant)}
	}
}

func (c *collector) queueProbe(ctx context.Context, tenant string) func() probeResult {
	return func() probeResult {
		r := probeResult{kind: probeQueue, tenant: tenant}
		st, err := c.src.QueueStats(ctx, tenant)
		if err != nil {
			return r
		}
		r.metrics = append(r.metrics,
			prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(st.Depth()), tenant),
			prometheus.MustNewConstMetric(descQueueOldest, prometheus.GaugeValue, st.OldestAge(c.now()).Seconds(), tenant),
			prometheus.MustNewConstMetric(descQueueDead, prometheus.GaugeValue, float64(st.Dead), tenant),
		)
		for _, class := range slices.Sorted(maps.Keys(st.AttemptsByClass)) {
			r.metrics = append(r.metrics, prometheus.MustNewConstMetric(descQueueAttempts,
				prometheus.GaugeValue, float64(st.AttemptsByClass[class]), tenant, class))
		}
		return r
	}
}

func (c *collector) tokenProbe(ctx context.Context, tenant string) func() probeResult {
	return func() probeResult {
		r := probeResult{kind: probeToken, tenant: tenant}
		exp, ok, err := c.src.TokenExpiry(ctx, tenant)
		if err != nil || !ok {
			return r
		}
		r.metrics = append(r.metrics, prometheus.MustNewConstMetric(descTokenExpiry,
			prometheus.GaugeValue, exp.Sub(c.now()).Seconds(), tenant))
		return r
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
