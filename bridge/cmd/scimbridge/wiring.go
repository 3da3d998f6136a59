package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"

	"github.com/scimbridge/scimbridge/backends"
	ldapbackend "github.com/scimbridge/scimbridge/backends/ldap"
	"github.com/scimbridge/scimbridge/backends/pharos"
	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/redisstate"
	"github.com/scimbridge/scimbridge/bridge/state/sqlitestate"
)

// registry lists every backend this build knows.
func registry() backends.Registry {
	return backends.Registry{
		"pharos": pharos.Driver{},
		"ldap":   ldapbackend.Driver{},
	}
}

func loadConfig(path string) (*config.Config, error) {
	return config.Load(path, registry())
}

// newLogger logs JSON when stderr is not a terminal (a service manager, a
// container), readable text otherwise.
func newLogger(c config.LogConfig) hclog.Logger {
	return newLoggerTo(c, os.Stderr)
}

// newLoggerTo is newLogger writing to out, which stands for stderr (a
// command that draws on the terminal passes a writer that makes room).
func newLoggerTo(c config.LogConfig, out io.Writer) hclog.Logger {
	jsonFormat := c.Format == "json" || (c.Format != "text" && !isatty.IsTerminal(os.Stderr.Fd()))
	return hclog.New(&hclog.LoggerOptions{
		Name:       "scimbridge",
		Level:      hclog.LevelFromString(c.Level),
		JSONFormat: jsonFormat,
		Output:     out,
	})
}

// openState opens the configured state store.
func openState(ctx context.Context, c *config.Config) (state.Store, error) {
	switch {
	case c.State.SQLite != nil:
		return sqlitestate.Open(ctx, c.State.SQLite.Path)
	case c.State.Redis != nil:
		redisstate.RouteClientLog(newLogger(c.Log))
		o, err := redisOptions(c.State.Redis)
		if err != nil {
			return nil, err
		}
		return redisstate.Open(ctx, o)
	}
	return nil, fmt.Errorf("no state store configured")
}

// checkStateServer refuses a Redis that may lose queued writes (eviction,
// no persistence) unless the configuration accepts the risk.
func checkStateServer(ctx context.Context, c *config.Config, st state.Store, log hclog.Logger) error {
	rs, ok := st.(*redisstate.Store)
	if !ok {
		return nil
	}
	problems, err := rs.CheckServer(ctx)
	if err != nil {
		return fmt.Errorf("check redis: %w", err)
	}
	if len(problems) == 0 {
		return nil
	}
	if c.State.Redis.AcceptRisk {
		for _, p := range problems {
			log.Warn("redis may lose queued writes; starting anyway (state.redis.accept_risk)", "problem", p)
		}
		return nil
	}
	return fmt.Errorf("refusing to start on this redis, which may lose queued writes: %s; fix the server (maxmemory-policy noeviction, appendonly yes) or set state.redis.accept_risk: true",
		strings.Join(problems, "; "))
}

// openBackend opens a tenant's backend.
func openBackend(ctx context.Context, t *config.Tenant, log hclog.Logger) (backends.Backend, error) {
	drv := registry()[t.Backend.Type]
	be, err := drv.Open(ctx, t.Backend.Config, t.Mapping.Schema(), log.Named(t.Backend.Type).With("tenant", t.Name))
	if err != nil {
		return nil, fmt.Errorf("tenant %s: open %s backend: %w", t.Name, t.Backend.Type, err)
	}
	return be, nil
}

// newTenantService builds a tenant's service over its open backend.
func newTenantService(c *config.Config, t *config.Tenant, be backends.Backend, st state.Store, log, audit hclog.Logger, wake func(), obs bridge.Observer) *bridge.Service {
	return bridge.NewService(bridge.Options{
		Tenant: t.Name, Mapping: t.Mapping, Backend: be, State: st, Logger: log, Audit: audit,
		Owner:          ownerID(),
		WriteRetries:   c.Limits.WriteRetries,
		IdempotencyTTL: c.Limits.IdempotencyWindow,
		Wake:           wake,
		Observer:       obs,
	})
}

// ownerID names this process in shared locks.
func ownerID() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
}
