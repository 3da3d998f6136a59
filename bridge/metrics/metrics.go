// Package metrics owns the bridge's Prometheus metrics: a private registry
// (never the global one, so tests and several bridges in one process do not
// collide), the counters and histograms the HTTP layer and the bridge feed
// as things happen, and a collector that reads the queue, the tokens and the
// health of the state store and the targets at scrape time.
//
// The packages that feed it (bridge, bridge/httpapi) declare the small
// interfaces they need and never import this package; main wires it.
//
// Label values are bounded and never secret: route templates (never raw
// paths, which carry ids), a closed set of methods, status codes, configured
// tenant names and the bridge's closed set of error classes. No token, id or
// attribute value is ever a label.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// Namespace prefixes every metric of the bridge.
const Namespace = "scimbridge"

// DefaultScrapeTimeout bounds the work a scrape does against the state
// store and the targets. Prometheus' default scrape timeout is 10 s; a
// scrape must answer well within it even when Redis or a directory hangs.
const DefaultScrapeTimeout = 3 * time.Second

// Source answers the questions the scrape-time collector asks. Every call
// gets a context bounded by the scrape timeout; an implementation should
// honour it, and the collector stops waiting for one that does not.
type Source interface {
	// Tenants lists the configured tenant names (the only tenant label
	// values the collector emits).
	Tenants() []string
	// QueueStats returns the tenant's retry-queue statistics.
	QueueStats(ctx context.Context, tenant string) (state.QueueStats, error)
	// TokenExpiry returns when the tenant's latest Secret Token expires;
	// ok is false when it has none.
	TokenExpiry(ctx context.Context, tenant string) (expires time.Time, ok bool, err error)
	// TargetUp reports whether the tenant's target directory answers.
	TargetUp(ctx context.Context, tenant string) bool
	// StateUp reports whether the state store answers.
	StateUp(ctx context.Context) bool
}

// Options configures New. Every field is optional.
type Options struct {
	// Source feeds the scrape-time gauges (queue, tokens, health). Without
	// it only the event metrics and the Go and process collectors are
	// exported.
	Source Source
	// ScrapeTimeout bounds the Source calls of one scrape. Defaults to
	// DefaultScrapeTimeout.
	ScrapeTimeout time.Duration
	// Now is the clock for ages and expiry; defaults to time.Now.
	Now func() time.Time
}

// Metrics holds the registry and the metrics fed by events. Its methods are
// safe for concurrent use; a nil *Metrics ignores every observation, so
// callers need no nil checks.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	deadLettered    *prometheus.CounterVec
	workerAttempts  *prometheus.CounterVec
	lockWait        prometheus.Histogram
	reloads         *prometheus.CounterVec
	reloadOK        prometheus.Gauge
	reloadOKAt      prometheus.Gauge
	limitRefused    *prometheus.CounterVec
	inFlight        *prometheus.GaugeVec
}

// Buckets of the latency histograms, in seconds. Requests are bounded by
// the request deadline (25 s by default, 60 s at most), so the top buckets
// reach it; lock waits are short unless a resource is contended.
var (
	requestBuckets  = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 25, 60}
	lockWaitBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
)

// New builds the registry with every metric registered.
func New(o Options) *Metrics {
	if o.ScrapeTimeout <= 0 {
		o.ScrapeTimeout = DefaultScrapeTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by tenant (empty until a token was accepted), route template, method and status code.",
		}, []string{"tenant", "route", "method", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, by tenant (empty until a token was accepted), route template and method.",
			Buckets: requestBuckets,
		}, []string{"tenant", "route", "method"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "queue", Name: "dead_lettered_total",
			Help: "Queued writes moved to the dead letter state after their last allowed attempt.",
		}, []string{"tenant"}),
		workerAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "worker", Name: "attempts_total",
			Help: "Attempts the retry worker finished, by outcome class (ok, or the error class of the failure).",
		}, []string{"tenant", "class"}),
		lockWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "lock_wait_seconds",
			Help:    "Time a write waited for its per-resource lock.",
			Buckets: lockWaitBuckets,
		}),
		limitRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "limit", Name: "refused_total",
			Help: "SCIM requests answered 429, by tenant and the limit that refused them (tenant_rate, client_rate, concurrency).",
		}, []string{"tenant", "scope"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "limit", Name: "in_flight",
			Help: "SCIM requests of the tenant running now, against its concurrency cap.",
		}, []string{"tenant"}),
	}
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "config", Name: "reloads_total",
		Help: "Configuration reloads (SIGHUP, POST /admin/reload), by result: success, or failure (the old configuration kept serving).",
	}, []string{"result"})
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	m.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "config", Name: "last_reload_successful",
		Help: "1 when the last configuration reload (or the start) succeeded, 0 when it failed and an older configuration is serving.",
	})
	m.reloadOK.Set(1)
	m.reloadOKAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "config", Name: "last_reload_success_timestamp_seconds",
		Help: "When the configuration serving now was loaded, in Unix seconds.",
	})
	m.reloadOKAt.Set(float64(o.Now().Unix()))
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestDuration, m.deadLettered, m.workerAttempts, m.lockWait,
		m.reloads, m.reloadOK, m.reloadOKAt,
		m.limitRefused, m.inFlight,
	)
	if o.Source != nil {
		// Start each tenant's counter at 0, so that rate() and increase()
		// see the first dead letter instead of a series appearing at 1.
		for _, t := range o.Source.Tenants() {
			m.deadLettered.WithLabelValues(t)
			for _, scope := range []string{"tenant_rate", "client_rate", "concurrency"} {
				m.limitRefused.WithLabelValues(t, scope)
			}
		}
		m.reg.MustRegister(&collector{src: o.Source, timeout: o.ScrapeTimeout, now: o.Now})
	}
	return m
}

// Registry returns the private registry, for tests and for adding metrics
// of other components.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (OpenMetrics
// when the scraper asks for it). A collector error is reported in the log
// of the scraper, not as a failed scrape: the other metrics still count.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
		// Two scrapers at once is normal (HA Prometheus); more is abuse of
		// an endpoint that queries the state store and the targets.
		MaxRequestsInFlight: 4,
	})
}

// ObserveRequest counts one answered HTTP request. tenant must be a
// configured tenant or ""; route a route template (or "unmatched"), never
// the raw path.
func (m *Metrics) ObserveRequest(tenant, route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	method = boundedMethod(method)
	m.requests.WithLabelValues(tenant, route, method, statusLabel(status)).Inc()
	m.requestDuration.WithLabelValues(tenant, route, method).Observe(d.Seconds())
}

// Refused counts one SCIM request of tenant answered 429 by the limit
// scope.
func (m *Metrics) Refused(tenant, scope string) {
	if m == nil {
		return
	}
	m.limitRefused.WithLabelValues(tenant, scope).Inc()
}

// InFlight sets the tenant's SCIM requests running now.
func (m *Metrics) InFlight(tenant string, n int) {
	if m == nil {
		return
	}
	m.inFlight.WithLabelValues(tenant).Set(float64(n))
}

// statusLabels holds the text of every status code, so that counting a
// request allocates nothing (strconv.Itoa allocates for three digits).
var statusLabels = func() (l [600]string) {
	for i := 100; i < len(l); i++ {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func statusLabel(code int) string {
	if code >= 100 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

// LockWait records how long a write waited for its per-resource lock.
func (m *Metrics) LockWait(d time.Duration) {
	if m == nil {
		return
	}
	m.lockWait.Observe(d.Seconds())
}

// DeadLettered counts one job of tenant moved to the dead letter state.
func (m *Metrics) DeadLettered(tenant string) {
	if m == nil {
		return
	}
	m.deadLettered.WithLabelValues(tenant).Inc()
}

// JobAttempt counts one finished worker attempt on a job of tenant. class
// is the outcome: "ok" (or "") for an applied job, otherwise the error
// class of the failure, from the bridge's closed set.
func (m *Metrics) JobAttempt(tenant, class string) {
	if m == nil {
		return
	}
	if class == "" {
		class = "ok"
	}
	m.workerAttempts.WithLabelValues(tenant, class).Inc()
}

// ConfigReload counts one configuration reload; a successful one at at.
func (m *Metrics) ConfigReload(ok bool, at time.Time) {
	if m == nil {
		return
	}
	if !ok {
		m.reloads.WithLabelValues("failure").Inc()
		m.reloadOK.Set(0)
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.reloadOK.Set(1)
	m.reloadOKAt.Set(float64(at.Unix()))
}

// boundedMethod keeps the method label to a closed set: a client can send
// any token as a method, and every distinct value would be a new series.
func boundedMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
