package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/httpapi"
	"github.com/scimbridge/scimbridge/bridge/metrics"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// adminTenant is the tenant name under which the admin token is stored
// among the tenants' tokens. Configured tenant names cannot start with "_",
// so it never collides with one and no tenant token opens /admin.
const adminTenant = "_admin"

// Health probes of targets and the state store are shared by /readyz,
// /metrics and /admin/status, and cached briefly: those endpoints need no
// tenant token (or a different one), and each request must not turn into a
// bind against every directory.
const (
	probeTTL     = 2 * time.Second
	probeTimeout = 3 * time.Second
	// statusTimeout bounds /admin/status as a whole, state store outage
	// included.
	statusTimeout = 5 * time.Second
)

// operator is what operators see of a running bridge: it implements
// httpapi.Admin, httpapi.Health and metrics.Source over the configuration,
// the state store, the token manager and the tenants' services.
type operator struct {
	// cfg is the configuration in force; a reload replaces it (and the
	// services) as a whole.
	cfg      atomic.Pointer[config.Config]
	st       state.Store
	tokens   *bridge.Tokens
	services *bridge.Tenants
	log      hclog.Logger
	root     hclog.Logger // the process's logger, whose "audit" records card imports
	probes   *probeCache
	now      func() time.Time
	// reloads, when set, reports the last configuration reload for
	// /admin/status (reload.go).
	reloads func() *reloadView
}

// config is the configuration in force.
func (o *operator) config() *config.Config { return o.cfg.Load() }

var (
	_ httpapi.Admin        = (*operator)(nil)
	_ httpapi.CardImporter = (*operator)(nil)
	_ httpapi.Health       = (*operator)(nil)
	_ metrics.Source       = (*operator)(nil)
)

func newOperator(cfg *config.Config, st state.Store, tokens *bridge.Tokens, services *bridge.Tenants, log hclog.Logger) *operator {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	o := &operator{
		st: st, tokens: tokens, services: services,
		log: log.Named("admin"), root: log, probes: newProbeCache(probeTTL, probeTimeout), now: time.Now,
	}
	o.cfg.Store(cfg)
	// Read the admin token once now: bridge.Tokens keeps the last tokens it
	// read when the state store goes down, so the admin API still opens
	// during a Redis outage, when an operator needs it most.
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	_, _, _ = tokens.Expiry(ctx, adminTenant)
	return o
}

// observability builds the operator and the metrics over it and keeps both
// on the app, for the HTTP options and for whatever else reports metrics.
func (a *app) observability(cfg *config.Config, log hclog.Logger) *operator {
	a.ops = newOperator(cfg, a.state, a.tokens, a.tenants, log)
	a.metrics = metrics.New(metrics.Options{Source: a.ops})
	return a.ops
}

// --- httpapi.Admin ---

// Authenticate accepts only an admin token (tenant "_admin").
func (o *operator) Authenticate(ctx context.Context, token string) error {
	if _, ok, err := o.tokens.Expiry(ctx, adminTenant); err == nil && !ok {
		return scim.Errorf(http.StatusUnauthorized, "",
			"no admin token has been generated; run `scimbridge token generate --admin --config FILE`")
	}
	err := o.tokens.Authenticate(ctx, adminTenant, token)
	var se *scim.Error
	if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
		// bridge.Tokens words its 401s for Entra's Secret Token.
		if exp, ok, _ := o.tokens.Expiry(ctx, adminTenant); ok && !o.now().Before(exp) {
			return scim.Errorf(http.StatusUnauthorized, "",
				"the admin token expired on %s; run `scimbridge token regenerate --admin --config FILE`", exp.UTC().Format(time.RFC3339))
		}
		return scim.Errorf(http.StatusUnauthorized, "", "the bearer token is not a valid admin token")
	}
	return err
}

// statusView is GET /admin/status.
type statusView struct {
	Version    string       `json:"version"`
	Time       time.Time    `json:"time"`
	StateStore healthView   `json:"state_store"`
	AdminToken tokenView    `json:"admin_token"`
	Tenants    []tenantView `json:"tenants"`
	Reload     *reloadView  `json:"reload,omitempty"`
}

type tenantView struct {
	Name      string     `json:"name"`
	TenantURL string     `json:"tenant_url"`
	Backend   string     `json:"backend"`
	Target    healthView `json:"target"`
	Token     tokenView  `json:"token"`
	Queue     *queueView `json:"queue,omitempty"`
	// QueueError says why Queue is missing (the state store is down).
	QueueError string `json:"queue_error,omitempty"`
}

type healthView struct {
	// Kind names the implementation: sqlite or redis for the state store.
	Kind  string `json:"kind,omitempty"`
	Up    bool   `json:"up"`
	Error string `json:"error,omitempty"`
}

// tokenView is a token's expiry, never the token.
type tokenView struct {
	// Status is valid, expiring (a warning threshold is crossed), expired,
	// missing, or unknown (the state store cannot tell).
	Status    string     `json:"status"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	DaysLeft  *int       `json:"days_left,omitempty"`
	// WarningDays is the warning threshold crossed: 30, 14 or 7 (0: none).
	WarningDays int    `json:"warning_days,omitempty"`
	Error       string `json:"error,omitempty"`
}

type queueView struct {
	Pending          int            `json:"pending"`
	Leased           int            `json:"leased"`
	Dead             int            `json:"dead"`
	Depth            int            `json:"depth"`
	Oldest           *time.Time     `json:"oldest,omitempty"`
	OldestAgeSeconds float64        `json:"oldest_age_seconds"`
	AttemptsByClass  map[string]int `json:"attempts_by_class"`
}

// Status gathers everything at once, each part bounded, so that a state
// store outage shows as errors in the answer rather than as no answer.
func (o *operator) Status(ctx context.Context) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	now := o.now()
	cfg := o.config()
	v := statusView{Version: build.Version, Time: now.UTC(), Tenants: make([]tenantView, len(cfg.Tenants))}
	if o.reloads != nil {
		v.Reload = o.reloads()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		err := o.stateErr(ctx)
		v.StateStore = healthView{Kind: o.stateKind(), Up: err == nil, Error: o.errText(err)}
	})
	wg.Go(func() { v.AdminToken = o.tokenView(ctx, adminTenant, now) })
	for i, t := range cfg.Tenants {
		tv := &v.Tenants[i]
		*tv = tenantView{Name: t.Name, TenantURL: cfg.TenantURL(t.Name), Backend: t.Backend.Type}
		wg.Go(func() {
			err := o.targetErr(ctx, t.Name)
			tv.Target = healthView{Up: err == nil, Error: o.errText(err)}
		})
		wg.Go(func() { tv.Token = o.tokenView(ctx, t.Name, now) })
		wg.Go(func() {
			qs, err := o.st.Stats(ctx, t.Name)
			if err != nil {
				tv.QueueError = o.errText(err)
				return
			}
			tv.Queue = newQueueView(qs, now)
		})
	}
	wg.Wait()
	return v, nil
}

func newQueueView(qs state.QueueStats, now time.Time) *queueView {
	q := &queueView{
		Pending: qs.Pending, Leased: qs.Leased, Dead: qs.Dead, Depth: qs.Depth(),
		OldestAgeSeconds: qs.OldestAge(now).Seconds(), AttemptsByClass: qs.AttemptsByClass,
	}
	if q.AttemptsByClass == nil {
		q.AttemptsByClass = map[string]int{}
	}
	if !qs.Oldest.IsZero() {
		t := qs.Oldest.UTC()
		q.Oldest = &t
	}
	return q
}

func (o *operator) tokenView(ctx context.Context, tenant string, now time.Time) tokenView {
	exp, ok, err := o.tokens.Expiry(ctx, tenant)
	switch {
	case err != nil:
		return tokenView{Status: "unknown", Error: o.errText(err)}
	case !ok:
		return tokenView{Status: "missing"}
	}
	left := exp.Sub(now)
	days := int(left.Hours() / 24)
	e := exp.UTC()
	v := tokenView{Status: "valid", ExpiresAt: &e, DaysLeft: &days}
	switch w := bridge.ExpiryWarning(left); {
	case left <= 0:
		v.Status = "expired"
	case w != 0:
		v.Status, v.WarningDays = "expiring", int(w.Hours()/24)
	}
	return v
}

// jobView is a queue job as the admin API and `queue --json` show it.
// Payload is only filled for one job (show), with credentials masked.
type jobView struct {
	ID          string          `json:"id"`
	Tenant      string          `json:"tenant"`
	Resource    string          `json:"resource"`
	Op          string          `json:"op"`
	State       string          `json:"state"`
	Attempts    int             `json:"attempts"`
	CreatedAt   time.Time       `json:"created_at"`
	AgeSeconds  float64         `json:"age_seconds"`
	NotBefore   *time.Time      `json:"not_before,omitempty"`
	Owner       string          `json:"owner,omitempty"`
	LeaseUntil  *time.Time      `json:"lease_until,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	ErrorClass  string          `json:"error_class,omitempty"`
	Fingerprint string          `json:"fingerprint,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
}

func newJobView(j state.Job, now time.Time, withPayload bool) jobView {
	v := jobView{
		ID: j.ID, Tenant: j.Tenant, Resource: j.Resource, Op: j.Op, State: string(j.State),
		Attempts: j.Attempts, CreatedAt: j.CreatedAt.UTC(), AgeSeconds: now.Sub(j.CreatedAt).Seconds(),
		Owner: j.Owner, LastError: j.LastError, ErrorClass: j.ErrorClass,
		NotBefore: timePtr(j.NotBefore), LeaseUntil: timePtr(j.LeaseUntil),
	}
	if v.AgeSeconds < 0 {
		v.AgeSeconds = 0
	}
	if withPayload {
		v.Fingerprint = j.Fingerprint
		v.Payload = showPayload(j.Payload)
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// credentialKey names attributes whose values are never shown, should a
// SCIM client have sent one (Entra can provision a password to some apps).
var credentialKey = regexp.MustCompile(`(?i)password|secret|token`)

// showPayload returns the payload as JSON with credential values masked;
// a payload that is not JSON is shown as a string.
func showPayload(p []byte) json.RawMessage {
	if len(p) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		b, _ := json.Marshal(string(p))
		return b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Keep "<secret>" and display names like "R&D" readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(maskCredentials(v)); err != nil {
		return nil
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// maskCredentials masks the values under credential-like keys, and the
// value of a PATCH operation whose path names one.
func maskCredentials(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if credentialKey.MatchString(k) {
				out[k] = "<secret>"
				continue
			}
			out[k] = maskCredentials(e)
		}
		if p, ok := out["path"].(string); ok && credentialKey.MatchString(p) {
			if _, has := out["value"]; has {
				out["value"] = "<secret>"
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = maskCredentials(e)
		}
		return out
	}
	return v
}

// Jobs lists jobs without their payloads.
func (o *operator) Jobs(ctx context.Context, f httpapi.AdminJobFilter) (any, error) {
	jobs, err := o.st.List(ctx, state.JobFilter{Tenant: f.Tenant, State: state.JobState(f.State)}, f.Limit)
	if err != nil {
		return nil, o.stateError("list jobs", err)
	}
	now := o.now()
	out := make([]jobView, len(jobs))
	for i, j := range jobs {
		out[i] = newJobView(j, now, false)
	}
	return out, nil
}

// Job shows one job, payload included.
func (o *operator) Job(ctx context.Context, id string) (any, error) {
	j, err := o.st.Get(ctx, id)
	if err != nil {
		return nil, o.stateError("job "+id, err)
	}
	return newJobView(j, o.now(), true), nil
}

// Retry is an operator's re-run (state.Queue.Requeue).
func (o *operator) Retry(ctx context.Context, id string) error {
	if err := o.st.Requeue(ctx, id); err != nil {
		return o.stateError("retry job "+id, err)
	}
	o.log.Info("job requeued by an operator", "job", id)
	return nil
}

// Drop deletes a job for good.
func (o *operator) Drop(ctx context.Context, id string) error {
	if err := o.st.Drop(ctx, id); err != nil {
		return o.stateError("drop job "+id, err)
	}
	o.log.Info("job dropped by an operator", "job", id)
	return nil
}

// stateError turns the queue's sentinels into what httpapi answers.
func (o *operator) stateError(what string, err error) error {
	switch {
	case errors.Is(err, state.ErrNotFound):
		return fmt.Errorf("%s: no such job: %w", what, httpapi.ErrNotFound)
	case errors.Is(err, state.ErrConflict):
		return fmt.Errorf("%s: a worker is applying it right now; try again when the attempt is over: %w", what, httpapi.ErrConflict)
	case errors.Is(err, state.ErrUnavailable):
		o.log.Warn("state store unavailable", "during", what, "error", err)
		return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: 10 * time.Second,
			Detail: "the state store is unavailable; retry later"}
	}
	return fmt.Errorf("admin: %s: %w", what, err)
}

// --- httpapi.Health ---

// Ready is true when every tenant's target answers. A state store outage
// does not make the bridge unready: docs/design.md §5 has it keep serving Entra
// then (natural keys still prevent duplicates), and taking every replica
// out of the load balancer over it would turn a degraded service into none.
// It is reported as degraded instead. Messages name the failing part only:
// /readyz needs no token, so hosts and driver errors stay in the log and in
// /admin/status.
func (o *operator) Ready(ctx context.Context) error {
	var (
		mu   sync.Mutex
		down []string
		wg   sync.WaitGroup
	)
	for _, t := range o.config().Tenants {
		wg.Go(func() {
			if err := o.targetErr(ctx, t.Name); err != nil {
				mu.Lock()
				down = append(down, t.Name)
				mu.Unlock()
			}
		})
	}
	stateErr := o.stateErr(ctx)
	wg.Wait()
	if len(down) > 0 {
		return fmt.Errorf("target not reachable for tenant(s) %s", joinSorted(down))
	}
	if stateErr != nil {
		return fmt.Errorf("state store unreachable; serving without idempotency records and the retry queue: %w", httpapi.ErrDegraded)
	}
	return nil
}

// --- metrics.Source ---

// Tenants lists the configured tenants.
func (o *operator) Tenants() []string {
	cfg := o.config()
	names := make([]string, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		names[i] = t.Name
	}
	return names
}

// QueueStats is the tenant's queue snapshot.
func (o *operator) QueueStats(ctx context.Context, tenant string) (state.QueueStats, error) {
	return o.st.Stats(ctx, tenant)
}

// TokenExpiry is the tenant's latest token expiry.
func (o *operator) TokenExpiry(ctx context.Context, tenant string) (time.Time, bool, error) {
	return o.tokens.Expiry(ctx, tenant)
}

// TargetUp reports the (briefly cached) target probe.
func (o *operator) TargetUp(ctx context.Context, tenant string) bool {
	return o.targetErr(ctx, tenant) == nil
}

// StateUp reports the (briefly cached) state store probe.
func (o *operator) StateUp(ctx context.Context) bool { return o.stateErr(ctx) == nil }

// --- probes ---

func (o *operator) targetErr(ctx context.Context, tenant string) error {
	s, ok := o.services.Service(tenant)
	if !ok {
		return fmt.Errorf("admin: tenant %s has no service", tenant)
	}
	p, ok := s.Backend().(backends.Pinger)
	if !ok {
		// Nothing to ask: a backend without a health check is taken to be
		// up, and its requests tell otherwise.
		return nil
	}
	return o.probes.do(ctx, "target:"+tenant, p.Ping)
}

func (o *operator) stateErr(ctx context.Context) error {
	return o.probes.do(ctx, "state", o.st.Ping)
}

func joinSorted(names []string) string {
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func (o *operator) stateKind() string {
	switch {
	case o.config().State.Redis != nil:
		return "redis"
	case o.config().State.SQLite != nil:
		return "sqlite"
	}
	return ""
}

// errText is an error as /admin/status shows it: with no credential of
// the configuration in it.
func (o *operator) errText(err error) string {
	if err == nil {
		return ""
	}
	return o.config().Scrub(err.Error())
}

// probeCache runs one health probe per key at a time and remembers its
// result for ttl. A probe runs in its own goroutine under its own timeout,
// detached from the caller's cancellation (other callers may be waiting for
// it); a caller stops waiting when its own context ends, so a probe that
// hangs can never hold up a scrape or a readiness check.
type probeCache struct {
	ttl, timeout time.Duration
	mu           sync.Mutex
	entries      map[string]*probe
}

type probe struct {
	done chan struct{}
	at   time.Time // when it finished
	err  error
}

func newProbeCache(ttl, timeout time.Duration) *probeCache {
	return &probeCache{ttl: ttl, timeout: timeout, entries: map[string]*probe{}}
}

func (c *probeCache) do(ctx context.Context, key string, f func(context.Context) error) error {
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
		return fmt.Errorf("admin: probe %s: %w", key, ctx.Err())
	}
}
