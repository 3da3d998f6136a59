package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/auth"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/httpapi"
	"github.com/scimbridge/scimbridge/bridge/metrics"
	"github.com/scimbridge/scimbridge/bridge/ops"
	"github.com/scimbridge/scimbridge/bridge/state"
)

func newServeCmd() *cobra.Command {
	var path, pprofAddr string
	var watch time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve SCIM 2.0 for every configured tenant",
		Long: `Serve SCIM 2.0 for every configured tenant at <public_url>/scim/<tenant>/v2.

On first start, a tenant without a Secret Token gets one: the Tenant URL and
the token are written to the file named by tokens.file (mode 0600), and its
path is printed; the token never goes to the log. SIGTERM or SIGINT drains
in-flight requests and stops cleanly. SIGHUP (or scimbridge reload) reloads
the configuration and every mapping without a restart; --watch 2s also
reloads when one of those files changes.

--pprof 127.0.0.1:6060 serves Go's profiles (net/http/pprof, under
/debug/pprof/) on a listener of their own, never on the SCIM listener, and
turns on block and mutex profiling; only a loopback address is accepted.
Off by default. go tool pprof http://127.0.0.1:6060/debug/pprof/profile`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, path, pprofAddr, watch, cmd)
		},
	}
	configFlag(cmd, &path)
	cmd.Flags().DurationVar(&watch, "watch", 0, "reload when the configuration or a mapping file changes, checking every DURATION (e.g. 2s); off by default")
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060) and turn on block and mutex profiling")
	return cmd
}

func serve(ctx context.Context, path, pprofAddr string, watch time.Duration, cmd *cobra.Command) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log)
	if pprofAddr != "" {
		addr, stop, err := startPprof(pprofAddr)
		if err != nil {
			return err
		}
		defer stop()
		log.Info("serving profiles", "pprof", "http://"+addr.String()+"/debug/pprof/")
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := checkStateServer(ctx, cfg, a.state, log); err != nil {
		return err
	}
	if err := ensureTokens(ctx, cfg, a.tokens, cmd.OutOrStdout()); err != nil {
		return err
	}
	if err := ensureAdminToken(ctx, cfg, a.tokens, cmd.OutOrStdout()); err != nil {
		return err
	}
	a.reloads.out = cmd.OutOrStdout()
	a.reloads.onSignal(ctx)
	if watch > 0 {
		a.reloads.watch(ctx, watch)
	}
	wctx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); a.worker.Run(wctx) }()
	defer func() { stopWorker(); <-workerDone }()
	if sw, ok := a.state.(state.Sweeper); ok {
		sweepDone := make(chan struct{})
		go func() { defer close(sweepDone); sweep(wctx, sw, sweepEvery, log) }()
		defer func() { stopWorker(); <-sweepDone }()
	}

	srv := httpapi.NewServer(cfg.Listen, a.handler, log)
	ln, err := newListener(wctx, cfg, srv, log)
	if err != nil {
		return err
	}
	a.reloads.AddHook("tls certificate", ln.Reload)
	a.reloads.AddHook("audit log", a.audit.Reopen)
	errc := make(chan error, 1)
	go func() { errc <- ln.serve(srv) }()
	log.Info("serving", "listen", cfg.Listen, "tls", cfg.TLS != nil, "tenants", len(cfg.Tenants), "version", build.Version)
	stopConsole, err := a.startConsole(ctx, cfg, ln, log, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	defer stopConsole()
	for _, t := range cfg.Tenants {
		log.Info("tenant", "name", t.Name, "tenant_url", cfg.TenantURL(t.Name), "backend", t.Backend.Type)
	}
	go warnTokenExpiry(ctx, a.ops.Config, a.tokens, a.gate.Clients(), log)

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("listen %s: %w", cfg.Listen, err)
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down; draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.RequestTimeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// Sampling rates of the block and mutex profiles while --pprof is on: one
// blocking event per 10 µs spent blocked, and one mutex contention event
// in 10. Modest, so that a profiled bench run still measures the bridge
// rather than the profiler.
const (
	pprofBlockRate     = 10_000 // ns
	pprofMutexFraction = 10
)

// startPprof serves net/http/pprof on a listener of its own at addr, which
// must be a loopback address: the profiles show the bridge's internals
// (command line, goroutine stacks with their arguments), so they are for
// someone on the machine, never for the network the SCIM listener faces.
// It turns block and mutex profiling on; stop turns them off again and
// closes the listener.
func startPprof(addr string) (net.Addr, func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--pprof %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, nil, fmt.Errorf("--pprof %q: only a loopback address is accepted (127.0.0.1:PORT, [::1]:PORT or localhost:PORT): the profiles show the bridge's internals", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or trace answers after its ?seconds=.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	runtime.SetBlockProfileRate(pprofBlockRate)
	runtime.SetMutexProfileFraction(pprofMutexFraction)
	go func() { _ = srv.Serve(l) }()
	return l.Addr(), func() {
		_ = srv.Close()
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
	}, nil
}

// sweepEvery is how often expired idempotency records and locks are
// removed from a state store that does not expire them itself (SQLite):
// often enough that a busy hour's answers do not pile up.
const sweepEvery = time.Minute

// sweep calls s.Sweep every interval until ctx ends.
func sweep(ctx context.Context, s state.Sweeper, every time.Duration, log hclog.Logger) {
	everyUntil(ctx, every, func() {
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("state store sweep failed; expired records stay until the next one", "error", err)
			return
		}
		if n > 0 {
			log.Debug("state store swept", "removed", n)
		}
	})
}

// everyUntil calls fn every interval until ctx ends: the bridge's
// background chores (sweeps, expiry warnings, the file watch).
func everyUntil(ctx context.Context, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// app is the wired bridge: state store, tenants' backends and services,
// token manager and the HTTP handler. Tests build the same thing.
type app struct {
	state  state.Store
	tokens *bridge.Tokens
	// gate authenticates every SCIM request and answers the token
	// endpoints (authwiring.go).
	gate     *auth.Gate
	stopGate context.CancelFunc
	services []*bridge.Service
	worker   *bridge.Worker
	handler  http.Handler
	// ops and metrics serve operators (admin.go): /admin, /readyz,
	// /metrics and the console; metrics also takes the worker's and the
	// bridge's events, traffic the tenants' answers.
	ops     *ops.Operator
	metrics *metrics.Metrics
	traffic *ops.TrafficCounter
	// console is the operations console (console.go); nil when disabled.
	console http.Handler
	// tenants serves the services to the SCIM endpoints and the operator;
	// reloads replaces them (reload.go), under mu with services.
	tenants *bridge.Tenants
	reloads *reloader
	mu      sync.Mutex
	log     hclog.Logger
	// audit receives the audit records (log.audit, auditlog.go).
	audit *auditLog
}

func newApp(ctx context.Context, cfg *config.Config, log hclog.Logger) (*app, error) {
	st, err := openState(ctx, cfg)
	if err != nil {
		return nil, err
	}
	audit, err := newAuditLog(cfg.Log, log)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a := &app{state: st, tokens: bridge.NewTokens(st, cfg.Tokens.Validity, cfg.Tokens.Grace, log), log: log, audit: audit}
	// The gate outlives no app: Close ends its key refreshes.
	gctx, stopGate := context.WithCancel(context.WithoutCancel(ctx))
	a.stopGate = stopGate
	a.gate = newGate(gctx, cfg, st, a.tokens, log)
	for i := range cfg.Tenants {
		s, err := a.openService(ctx, cfg, &cfg.Tenants[i])
		if err != nil {
			a.Close()
			return nil, err
		}
		a.services = append(a.services, s)
	}
	a.tenants = bridge.NewTenants(a.gate, a.services...)
	a.reloads = newReloader(a, cfg, log)
	ops := a.observability(ctx, cfg, log)
	a.worker = bridge.NewWorker(st, a.services, bridge.WorkerOptions{
		Owner: ownerID(), MaxAttempts: cfg.Queue.MaxAttempts, MaxAge: cfg.Queue.MaxAge,
		BaseDelay: cfg.Queue.BaseDelay, MaxDelay: cfg.Queue.MaxDelay, Timeout: cfg.Limits.RequestTimeout,
		Observer: a.metrics,
	}, log)
	a.handler = httpapi.New(httpapi.Options{
		Tenants:               tenantsAdapter{a.tenants},
		Logger:                log,
		PublicURL:             cfg.PublicURL,
		BodyLimit:             cfg.Limits.BodyBytes,
		RequestTimeout:        cfg.Limits.RequestTimeout,
		Metrics:               a.metrics,
		Health:                ops,
		Admin:                 ops,
		Cards:                 ops,
		Reloader:              a.reloads,
		OAuth:                 oauthAdapter{a.gate},
		AuthenticationSchemes: a.gate.Schemes,
		TrustedProxies:        cfg.TrustedProxies,
		Traffic:               a.traffic,
		Limiter:               newLimiter(cfg, a.metrics),
	})
	a.mountConsole(cfg, log)
	return a, nil
}

// wake wakes the worker after a service queued a write; the worker is
// built after the first services, before any request arrives.
func (a *app) wake() {
	if a.worker != nil {
		a.worker.Wake()
	}
}

// lockObserver forwards the services' lock waits to the app's metrics,
// which are built after the services (they report on them).
type lockObserver struct{ a *app }

func (o lockObserver) LockWait(d time.Duration) { o.a.metrics.LockWait(d) }

// Close closes the backends (those replaced by a reload once they are
// drained) and the state store.
func (a *app) Close() {
	if a.reloads != nil {
		a.reloads.close()
	}
	if a.stopGate != nil {
		a.stopGate()
	}
	for _, s := range a.services {
		_ = s.Backend().Close()
	}
	_ = a.state.Close()
	_ = a.audit.Close()
}

// tenantsAdapter lets httpapi, which declares its own Provisioner
// interface, use *bridge.Service without either package importing the
// other.
type tenantsAdapter struct{ t *bridge.Tenants }

func (a tenantsAdapter) Authenticate(ctx context.Context, tenant, token string) (httpapi.Provisioner, error) {
	s, err := a.t.Authenticate(ctx, tenant, token)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ensureTokens gives every tenant that takes Secret Tokens and has none its
// first one, and writes the Tenant URLs and tokens to the 0600 token file.
func ensureTokens(ctx context.Context, cfg *config.Config, tokens *bridge.Tokens, out io.Writer) error {
	var b strings.Builder
	for _, t := range cfg.Tenants {
		if !t.Auth.SecretToken {
			continue // it would never be accepted
		}
		tok, created, err := tokens.EnsureToken(ctx, t.Name)
		if err != nil {
			return fmt.Errorf("tenant %s: first token: %w", t.Name, err)
		}
		if created {
			fmt.Fprintf(&b, "tenant: %s\ntenant_url: %s\nsecret_token: %s\n\n", t.Name, cfg.TenantURL(t.Name), tok)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	if err := writeSecretFile(cfg.Tokens.File, b.String()); err != nil {
		return err
	}
	fmt.Fprintf(out, "New Secret Token(s) and Tenant URL(s) written to %s (mode 0600).\nPaste them into Entra: Enterprise application > Provisioning > Admin Credentials.\n", cfg.Tokens.File)
	return nil
}

// writeSecretFile writes content to path with mode 0600, creating its
// directory (0700) and never following an existing file's wider mode.
func writeSecretFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// warnTokenExpiry logs a warning when a tenant's token, or an OAuth
// client's last secret, is 30, 14 and 7 days from expiry (once per
// threshold per process), checking hourly the tenants of the configuration
// in force (cfg, which a reload changes).
func warnTokenExpiry(ctx context.Context, cfg func() *config.Config, tokens *bridge.Tokens, clients *auth.Clients, log hclog.Logger) {
	warned := map[string]time.Duration{}
	check := func() {
		for _, t := range cfg().Tenants {
			exp, ok, err := tokens.Expiry(ctx, t.Name)
			if err != nil || !ok {
				continue
			}
			remaining := time.Until(exp)
			w := bridge.ExpiryWarning(remaining)
			if w == 0 || warned[t.Name] == w {
				continue
			}
			warned[t.Name] = w
			log.Warn("secret token expires soon; run `scimbridge token regenerate` and update Entra",
				"tenant", t.Name, "expires_at", exp.UTC().Format(time.RFC3339), "days_left", int(remaining.Hours()/24))
		}
		for _, t := range cfg().Tenants {
			cs, err := clients.List(ctx, t.Name)
			if err != nil {
				continue
			}
			for _, c := range cs {
				exp, ok := c.LatestExpiry()
				if !ok {
					continue
				}
				remaining := time.Until(exp)
				w, key := bridge.ExpiryWarning(remaining), t.Name+"\x00client\x00"+c.ID
				if w == 0 || warned[key] == w {
					continue
				}
				warned[key] = w
				log.Warn("client secret expires soon; run `scimbridge client add-secret` and update Entra",
					"tenant", t.Name, "client_id", c.ID, "expires_at", exp.UTC().Format(time.RFC3339), "days_left", int(remaining.Hours()/24))
			}
		}
	}
	check()
	everyUntil(ctx, time.Hour, check)
}
