// Package ops is the operations layer: what operators do with a bridge,
// shared by the CLI's queue and token commands, the admin API and the
// console. It reads the configuration, the state store, the token manager
// and the tenants' services, and answers in opsview's typed views.
//
// The CLI builds an Operator without services (it opens the state store
// directly, whether or not a bridge runs); the queue and token operations
// need nothing else. Status and the health probes need the services.
package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// AdminTenant is the tenant name under which the admin token is stored
// among the tenants' tokens. Configured tenant names cannot start with "_",
// so it never collides with one and no tenant token opens /admin.
const AdminTenant = "_admin"

// Health probes of targets and the state store are shared by /readyz,
// /metrics, /admin/status and the console, and cached briefly: those
// endpoints need no tenant token (or a different one), and each request
// must not turn into a bind against every directory.
const (
	ProbeTTL     = 2 * time.Second
	ProbeTimeout = 3 * time.Second
	// StatusTimeout bounds Status as a whole, state store outage included.
	StatusTimeout = 5 * time.Second
)

// Traffic counts a tenant's recent SCIM answers (implemented by
// *TrafficCounter); nil counts nothing.
type Traffic interface {
	LastHour(tenant string) opsview.Traffic
}

// Options configures New.
type Options struct {
	Config *config.Config
	State  state.Store
	Tokens *bridge.Tokens
	// Services are the tenants' services, which a reload replaces; without
	// them Status reports every target as unprobed and up.
	Services *bridge.Tenants
	Logger   hclog.Logger
	// Audit receives the card imports' audit records; default
	// Logger.Named("audit").
	Audit hclog.Logger
	// Version is the bridge's version, shown by Status.
	Version string
	// Traffic, when set, fills each tenant's Traffic in Status.
	Traffic Traffic
	// Reloads, when set, reports the last configuration reload for Status.
	Reloads func() *opsview.Reload
	// Now defaults to time.Now (tests move it).
	Now func() time.Time
}

// Operator is what operators see of a bridge.
type Operator struct {
	// cfg holds the configuration in force; a reload replaces it
	// (SetConfig) as a whole, with the services. A pointer, so that a
	// Scoped copy sees the reloads too.
	cfg      *atomic.Pointer[config.Config]
	st       state.Store
	tokens   *bridge.Tokens
	services *bridge.Tenants
	log      hclog.Logger
	version  string
	traffic  Traffic
	reloads  func() *opsview.Reload
	audit    hclog.Logger // the process's "audit" logger, which records card imports
	probes   *ProbeCache
	// scope limits the job operations to one tenant (Scoped).
	scope string
	now   func() time.Time
}

// New builds an Operator.
func New(o Options) *Operator {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tokens == nil {
		o.Tokens = bridge.NewTokens(o.State, o.Config.Tokens.Validity, o.Config.Tokens.Grace, o.Logger)
	}
	if o.Audit == nil {
		o.Audit = o.Logger.Named("audit")
	}
	if o.Services == nil {
		o.Services = bridge.NewTenants(o.Tokens)
	}
	op := &Operator{
		cfg: new(atomic.Pointer[config.Config]), st: o.State, tokens: o.Tokens, services: o.Services,
		log: o.Logger.Named("ops"), audit: o.Audit, version: o.Version, traffic: o.Traffic,
		reloads: o.Reloads, probes: NewProbeCache(ProbeTTL, ProbeTimeout), now: o.Now,
	}
	op.cfg.Store(o.Config)
	return op
}

// WarmAdminToken reads the admin token once: bridge.Tokens keeps the last
// tokens it read when the state store goes down, so the admin API and the
// console still open during a Redis outage, when an operator needs them
// most.
func (o *Operator) WarmAdminToken(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	_, _, _ = o.tokens.Expiry(ctx, AdminTenant)
}

// SetProbes replaces the probe cache (tests use one that caches nothing).
func (o *Operator) SetProbes(p *ProbeCache) { o.probes = p }

// Config is the configuration in force, which the operator reports on.
func (o *Operator) Config() *config.Config { return o.cfg.Load() }

// SetConfig makes cfg the configuration in force (a reload).
func (o *Operator) SetConfig(cfg *config.Config) { o.cfg.Store(cfg) }

// Authenticate accepts only an admin token (tenant "_admin").
func (o *Operator) Authenticate(ctx context.Context, token string) error {
	if _, ok, err := o.tokens.Expiry(ctx, AdminTenant); err == nil && !ok {
		return scim.Errorf(http.StatusUnauthorized, "",
			"no admin token has been generated; run `scimbridge token generate --admin --config FILE`")
	}
	err := o.tokens.Authenticate(ctx, AdminTenant, token)
	var se *scim.Error
	if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
		// bridge.Tokens words its 401s for Entra's Secret Token.
		if exp, ok, _ := o.tokens.Expiry(ctx, AdminTenant); ok && !o.now().Before(exp) {
			return scim.Errorf(http.StatusUnauthorized, "",
				"the admin token expired on %s; run `scimbridge token regenerate --admin --config FILE`", exp.UTC().Format(time.RFC3339))
		}
		return scim.Errorf(http.StatusUnauthorized, "", "the bearer token is not a valid admin token")
	}
	return err
}

// Status gathers everything at once, each part bounded, so that a state
// store outage shows as errors in the answer rather than as no answer.
func (o *Operator) Status(ctx context.Context) (opsview.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, StatusTimeout)
	defer cancel()
	now := o.now()
	cfg := o.Config()
	v := opsview.Status{Version: o.version, Time: now.UTC(), Tenants: make([]opsview.Tenant, len(cfg.Tenants))}
	if o.reloads != nil {
		v.Reload = o.reloads()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		err := o.stateErr(ctx)
		v.StateStore = opsview.Health{Kind: o.stateKind(), Up: err == nil, Error: o.errText(err)}
	})
	wg.Go(func() { v.AdminToken = o.tokenState(ctx, AdminTenant, now) })
	for i, t := range cfg.Tenants {
		tv := &v.Tenants[i]
		*tv = opsview.Tenant{Name: t.Name, TenantURL: cfg.TenantURL(t.Name), Backend: t.Backend.Type}
		if o.traffic != nil {
			tr := o.traffic.LastHour(t.Name)
			tv.Traffic = &tr
		}
		wg.Go(func() {
			err := o.targetErr(ctx, t.Name)
			tv.Target = opsview.Health{Up: err == nil, Error: o.errText(err)}
		})
		wg.Go(func() { tv.Token = o.tokenState(ctx, t.Name, now) })
		wg.Go(func() {
			qs, err := o.st.Stats(ctx, t.Name)
			if err != nil {
				tv.QueueError = o.errText(err)
				return
			}
			tv.Queue = newQueue(qs, now)
		})
		wg.Go(func() { tv.LastWrite = o.lastWrite(ctx, t.Name) })
	}
	wg.Wait()
	return v, nil
}

func newQueue(qs state.QueueStats, now time.Time) *opsview.Queue {
	q := &opsview.Queue{
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

func (o *Operator) tokenState(ctx context.Context, tenant string, now time.Time) opsview.TokenState {
	exp, ok, err := o.tokens.Expiry(ctx, tenant)
	switch {
	case err != nil:
		return opsview.TokenState{Status: opsview.TokenUnknown, Error: o.errText(err)}
	case !ok:
		return opsview.TokenState{Status: opsview.TokenMissing}
	}
	status, days, warn := tokenStatus(exp, now)
	e := exp.UTC()
	return opsview.TokenState{Status: status, ExpiresAt: &e, DaysLeft: &days, WarningDays: warn}
}

// tokenStatus classifies an expiry with the thresholds the log and the
// metric use (bridge.ExpiryWarning).
func tokenStatus(exp, now time.Time) (status string, daysLeft, warningDays int) {
	left := exp.Sub(now)
	daysLeft = int(left.Hours() / 24)
	switch w := bridge.ExpiryWarning(left); {
	case left <= 0:
		return opsview.TokenExpired, daysLeft, 0
	case w != 0:
		return opsview.TokenExpiring, daysLeft, int(w.Hours() / 24)
	}
	return opsview.TokenValid, daysLeft, 0
}

// Ready is true when every tenant's target answers. A state store outage
// does not make the bridge unready: docs/design.md §5 has it keep serving
// Entra then (natural keys still prevent duplicates), and taking every
// replica out of the load balancer over it would turn a degraded service
// into none. It is reported as degraded instead. Messages name the failing
// part only: /readyz needs no token, so hosts and driver errors stay in
// the log and in /admin/status.
func (o *Operator) Ready(ctx context.Context) error {
	var (
		mu   sync.Mutex
		down []string
		wg   sync.WaitGroup
	)
	for _, t := range o.Config().Tenants {
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
		slices.Sort(down)
		return fmt.Errorf("target not reachable for tenant(s) %s", strings.Join(down, ", "))
	}
	if stateErr != nil {
		return fmt.Errorf("state store unreachable; serving without idempotency records and the retry queue: %w", opsview.ErrDegraded)
	}
	return nil
}

// --- metrics.Source ---

// Tenants lists the configured tenants.
func (o *Operator) Tenants() []string {
	names := make([]string, len(o.Config().Tenants))
	for i, t := range o.Config().Tenants {
		names[i] = t.Name
	}
	return names
}

// QueueStats is the tenant's queue snapshot.
func (o *Operator) QueueStats(ctx context.Context, tenant string) (state.QueueStats, error) {
	return o.st.Stats(ctx, tenant)
}

// TokenExpiry is the tenant's latest token expiry.
func (o *Operator) TokenExpiry(ctx context.Context, tenant string) (time.Time, bool, error) {
	return o.tokens.Expiry(ctx, tenant)
}

// TargetUp reports the (briefly cached) target probe.
func (o *Operator) TargetUp(ctx context.Context, tenant string) bool {
	return o.targetErr(ctx, tenant) == nil
}

// StateUp reports the (briefly cached) state store probe.
func (o *Operator) StateUp(ctx context.Context) bool { return o.stateErr(ctx) == nil }

// --- probes ---

func (o *Operator) targetErr(ctx context.Context, tenant string) error {
	s, ok := o.services.Service(tenant)
	if !ok {
		return fmt.Errorf("ops: tenant %s has no service", tenant)
	}
	p, ok := s.Backend().(backends.Pinger)
	if !ok {
		// Nothing to ask: a backend without a health check is taken to be
		// up, and its requests tell otherwise.
		return nil
	}
	return o.probes.Do(ctx, "target:"+tenant, p.Ping)
}

func (o *Operator) stateErr(ctx context.Context) error {
	return o.probes.Do(ctx, "state", o.st.Ping)
}

func (o *Operator) stateKind() string {
	switch {
	case o.Config().State.Redis != nil:
		return "redis"
	case o.Config().State.SQLite != nil:
		return "sqlite"
	}
	return ""
}

// errText is an error as operators see it: with no credential of the
// configuration in it.
func (o *Operator) errText(err error) string {
	if err == nil {
		return ""
	}
	return o.Config().Scrub(err.Error())
}

// tenant checks that name is a configured tenant.
func (o *Operator) tenant(name string) (*config.Tenant, error) {
	t, ok := o.Config().Tenant(name)
	if !ok {
		return nil, fmt.Errorf("no tenant %q in %s: %w", name, o.Config().File, opsview.ErrNotFound)
	}
	return t, nil
}
