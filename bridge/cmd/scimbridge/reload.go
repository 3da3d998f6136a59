package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// Reloading the configuration without a restart (docs/design.md §7,
// "Reload"): SIGHUP, POST /admin/reload and `scimbridge reload` all end in
// reloader.Reload. The new configuration is loaded and checked completely,
// by the loader `mapping check` uses; only when it is valid, and every
// backend it needs is open, does it replace the old one, in one step:
// the tenant set is swapped atomically, a request runs to its end on the
// services it was authenticated with, and no request sees a mix. Backends
// of tenants whose connection settings and stored attributes did not
// change are kept, pools and all; the others are closed once the requests
// and queued writes that may still use them have had their deadline.

// reloadHook is another component's reload (issue 15's TLS certificates),
// run after each configuration reload.
type reloadHook struct {
	name string
	fn   func(ctx context.Context) error
}

// reloader applies a changed configuration to the running app.
type reloader struct {
	mu  sync.Mutex // one reload at a time
	app *app
	log hclog.Logger
	// out announces the first tokens of tenants a reload adds.
	out io.Writer
	// drain is how long a replaced backend stays open: the longest a
	// request or a queued write may still run on it.
	drain time.Duration
	hooks []reloadHook
	// mappingSums are the mapping files' digests as last loaded, to tell a
	// changed mapping from an unchanged one.
	mappingSums map[string][sha256.Size]byte
	status      atomic.Pointer[opsview.Reload]
	retiring    sync.WaitGroup
	pending     []retired
	closed      bool
}

func newReloader(a *app, cfg *config.Config, log hclog.Logger) *reloader {
	r := &reloader{app: a, log: log.Named("reload"), out: io.Discard,
		drain: cfg.Limits.RequestTimeout + 30*time.Second, mappingSums: mappingSums(cfg)}
	r.status.Store(&opsview.Reload{Generation: 1, LoadedAt: time.Now().UTC(), LastOK: true})
	return r
}

// AddHook registers another reload, run (in order) after every
// configuration reload, successful or not; its error is logged and shown
// by /admin/status, and does not undo the configuration.
func (r *reloader) AddHook(name string, fn func(ctx context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, reloadHook{name: name, fn: fn})
}

// view is the last reload, for /admin/status.
func (r *reloader) view() *opsview.Reload { return r.status.Load() }

// onSignal reloads on every SIGHUP until ctx ends. The signal is caught
// from when it returns.
func (r *reloader) onSignal(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reloadIn(ctx)
			}
		}
	}()
}

// reloadTimeout bounds the opening of the new backends.
const reloadTimeout = 30 * time.Second

// reloadIn is a reload nobody waits for (a signal, a watched file): its
// result is in the log, the metrics and /admin/status.
func (r *reloader) reloadIn(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, reloadTimeout)
	defer cancel()
	_, _ = r.Reload(rctx)
}

// Reload loads the configuration file again and, when it is valid,
// applies it. A refused configuration is a *scim.Error 422 listing every
// problem (file:line:col); the old configuration keeps serving.
func (r *reloader) Reload(ctx context.Context) (opsview.Reload, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now().UTC()
	prev := r.status.Load()
	v, err := r.apply(ctx)
	if err != nil {
		failed := *prev
		failed.LastAttemptAt, failed.LastOK, failed.LastError, failed.Failures = &now, false, err.Error(), prev.Failures+1
		failed.HookErrors = r.runHooks(ctx)
		r.status.Store(&failed)
		r.app.metrics.ConfigReload(false, now)
		r.log.Error("configuration reload refused; the previous configuration keeps serving", "error", err)
		return opsview.Reload{}, scim.Errorf(http.StatusUnprocessableEntity, "",
			"the configuration was refused and the previous one keeps serving: %s", err)
	}
	v.Generation, v.LoadedAt, v.LastAttemptAt, v.LastOK, v.Failures = prev.Generation+1, now, &now, true, prev.Failures
	v.HookErrors = r.runHooks(ctx)
	r.status.Store(v)
	r.app.metrics.ConfigReload(true, now)
	r.log.Info("configuration reloaded", "generation", v.Generation, "added", v.Added, "removed", v.Removed,
		"changed", v.Changed, "backends_kept", v.KeptBackends)
	for _, s := range v.RestartNeeded {
		r.log.Warn("a changed setting applies only at start; restart the bridge to apply it", "setting", s)
	}
	return *v, nil
}

func (r *reloader) runHooks(ctx context.Context) []string {
	var errs []string
	for _, h := range r.hooks {
		if err := h.fn(ctx); err != nil {
			r.log.Error("reload hook failed", "hook", h.name, "error", err)
			errs = append(errs, h.name+": "+err.Error())
		}
	}
	return errs
}

// apply builds the new tenant set and swaps it in.
func (r *reloader) apply(ctx context.Context) (*opsview.Reload, error) {
	if r.closed {
		return nil, fmt.Errorf("the bridge is stopping")
	}
	a := r.app
	old := a.ops.Config()
	cfg, err := loadConfig(old.File)
	if err != nil {
		return nil, err
	}
	sums := mappingSums(cfg)
	v := &opsview.Reload{RestartNeeded: restartNeeded(old, cfg)}
	// What applies only at start stays as it started, so that the new
	// services and /admin/status agree with the listener and the store.
	cfg.Listen, cfg.PublicURL, cfg.Log, cfg.State = old.Listen, old.PublicURL, old.Log, old.State
	cfg.Limits, cfg.Tokens, cfg.Queue = old.Limits, old.Tokens, old.Queue
	current := map[string]*bridge.Service{}
	for _, s := range a.currentServices() {
		current[s.Name()] = s
	}
	var (
		next   []*bridge.Service
		opened []backends.Backend // closed again if the reload fails
		kept   = map[backends.Backend]bool{}
	)
	fail := func(err error) (*opsview.Reload, error) {
		for _, be := range opened {
			_ = be.Close()
		}
		return nil, err
	}
	for _, t := range cfg.Tenants {
		prevT, existed := old.Tenant(t.Name)
		prevS := current[t.Name]
		switch {
		case !existed || prevS == nil:
			v.Added = append(v.Added, t.Name)
		case sameBackend(prevT, &t) && sums[t.Name] == r.mappingSums[t.Name]:
			// Nothing of this tenant changed: its service goes on as it is.
			next = append(next, prevS)
			kept[prevS.Backend()] = true
			v.KeptBackends = append(v.KeptBackends, t.Name)
			continue
		default:
			v.Changed = append(v.Changed, t.Name)
		}
		if existed && prevS != nil && sameBackend(prevT, &t) &&
			reflect.DeepEqual(prevT.Mapping.Schema(), t.Mapping.Schema()) {
			// The mapping changed, not what the backend stores: the same
			// backend serves the new service.
			next = append(next, a.newService(cfg, &t, prevS.Backend()))
			kept[prevS.Backend()] = true
			v.KeptBackends = append(v.KeptBackends, t.Name)
			continue
		}
		if rb, ok := prevBackend(prevS).(backends.Rebinder); ok && existed && sameBackend(prevT, &t) {
			// The mapping stores other attributes over the same
			// connection settings: a backend for it that shares the pool.
			be, err := rb.WithSchema(ctx, t.Mapping.Schema())
			if err != nil {
				return fail(fmt.Errorf("tenant %s: %w", t.Name, err))
			}
			opened = append(opened, be)
			next = append(next, a.newService(cfg, &t, be))
			v.KeptBackends = append(v.KeptBackends, t.Name)
			continue
		}
		s, err := a.openService(ctx, cfg, &t)
		if err != nil {
			return fail(err)
		}
		opened = append(opened, s.Backend())
		next = append(next, s)
	}
	for name := range current {
		if _, ok := cfg.Tenant(name); !ok {
			v.Removed = append(v.Removed, name)
		}
	}
	slices.Sort(v.Removed)
	if err := ensureTokens(ctx, cfg, a.tokens, r.out); err != nil {
		return fail(err)
	}

	// The swap: from here on, new requests and jobs see the new set.
	a.setServices(next)
	a.ops.SetConfig(cfg)
	r.mappingSums = sums
	for _, s := range current {
		if be := s.Backend(); !kept[be] {
			r.retire(s.Name(), be)
		}
	}
	return v, nil
}

// prevBackend is s's backend, nil without a service.
func prevBackend(s *bridge.Service) backends.Backend {
	if s == nil {
		return nil
	}
	return s.Backend()
}

// retire closes a replaced backend once whatever may still use it has had
// its deadline.
func (r *reloader) retire(tenant string, be backends.Backend) {
	closeIt := func() {
		if err := be.Close(); err != nil {
			r.log.Warn("closing a replaced backend", "tenant", tenant, "error", err)
		}
	}
	r.retiring.Add(1)
	t := time.AfterFunc(r.drain, func() {
		defer r.retiring.Done()
		closeIt()
	})
	r.pending = append(r.pending, retired{timer: t, close: func() {
		defer r.retiring.Done()
		closeIt()
	}})
}

// retired is a replaced backend waiting for its drain.
type retired struct {
	timer *time.Timer
	close func()
}

// close stops reloads and closes the replaced backends now: it is called
// when the bridge stops, after the server drained its requests.
func (r *reloader) close() {
	r.mu.Lock()
	r.closed = true
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, p := range pending {
		if p.timer.Stop() {
			p.close()
		}
	}
	r.retiring.Wait()
}

// sameBackend reports whether two tenants' backends have the same driver
// and connection settings.
func sameBackend(a, b *config.Tenant) bool {
	return a.Backend.Type == b.Backend.Type && reflect.DeepEqual(a.Backend.Config, b.Backend.Config)
}

// mappingSums digests each tenant's mapping file.
func mappingSums(cfg *config.Config) map[string][sha256.Size]byte {
	out := make(map[string][sha256.Size]byte, len(cfg.Tenants))
	for _, t := range cfg.Tenants {
		if b, err := os.ReadFile(t.MappingPath); err == nil {
			out[t.Name] = sha256.Sum256(b)
		}
	}
	return out
}

// restartNeeded names the settings outside tenants that changed: the
// listener, the state store, limits, tokens, queue and logging are set up
// once, at start.
func restartNeeded(old, cfg *config.Config) []string {
	var out []string
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"listen", old.Listen, cfg.Listen},
		{"public_url", old.PublicURL, cfg.PublicURL},
		{"log", old.Log, cfg.Log},
		{"state", old.State, cfg.State},
		{"limits", old.Limits, cfg.Limits},
		{"tokens", old.Tokens, cfg.Tokens},
		{"queue", old.Queue, cfg.Queue},
	} {
		if !reflect.DeepEqual(f.a, f.b) {
			out = append(out, f.name)
		}
	}
	if authChanged(old, cfg) {
		out = append(out, "tenants' auth")
	}
	return out
}

// authChanged reports whether a tenant's auth block differs from what the
// gate was built with: the gate (package auth) takes every tenant's
// methods at start, and a tenant it does not know accepts its Secret Token
// only, so a tenant added with the default block needs no restart.
func authChanged(old, cfg *config.Config) bool {
	def := config.AuthConfig{SecretToken: true, AccessTokenLifetime: config.DefaultAccessTokenLifetime}
	for _, t := range cfg.Tenants {
		prev := def
		if o, ok := old.Tenant(t.Name); ok {
			prev = o.Auth
		}
		if !reflect.DeepEqual(prev, t.Auth) {
			return true
		}
	}
	return false
}

// currentServices are the services serving now.
func (a *app) currentServices() []*bridge.Service {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.services)
}

// setServices swaps the tenant set everywhere it is served from: the
// SCIM endpoints (and the operator, which shares them) and the worker.
func (a *app) setServices(services []*bridge.Service) {
	a.mu.Lock()
	a.services = services
	a.mu.Unlock()
	a.tenants.Replace(services...)
	a.worker.SetServices(services...)
}

// openService opens a tenant's backend and builds its service.
func (a *app) openService(ctx context.Context, cfg *config.Config, t *config.Tenant) (*bridge.Service, error) {
	be, err := openBackend(ctx, t, a.log)
	if err != nil {
		return nil, err
	}
	return a.newService(cfg, t, be), nil
}

// newService builds a tenant's service over an open backend.
func (a *app) newService(cfg *config.Config, t *config.Tenant, be backends.Backend) *bridge.Service {
	return newTenantService(cfg, t, be, a.state, a.log, a.audit, a.wake, lockObserver{a})
}

// watch reloads when the configuration file or a mapping file changes
// (serve --watch), checking their size and modification time every
// interval; a change is applied once the files have stayed the same for
// one more interval, so that an editor's save in several writes is
// reloaded once. A polled stat needs no inotify and sees files replaced by
// rename (how editors and configuration tools save).
func (r *reloader) watch(ctx context.Context, every time.Duration) {
	seen := r.fileStamps() // from when watch returns
	pending := false
	go everyUntil(ctx, every, func() {
		now := r.fileStamps()
		switch {
		case !maps.Equal(now, seen):
			seen, pending = now, true
		case pending:
			pending = false
			r.log.Info("configuration files changed; reloading")
			r.reloadIn(ctx)
			seen = r.fileStamps() // a reload may add or drop mapping files
		}
	})
}

// fileStamp is what watch compares of a file.
type fileStamp struct {
	size    int64
	modTime time.Time
	missing bool
}

// fileStamps stamps the configuration file and the mappings in force.
func (r *reloader) fileStamps() map[string]fileStamp {
	cfg := r.app.ops.Config()
	files := []string{cfg.File}
	for _, t := range cfg.Tenants {
		files = append(files, t.MappingPath)
	}
	out := make(map[string]fileStamp, len(files))
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			out[f] = fileStamp{missing: true}
			continue
		}
		out[f] = fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	}
	return out
}
