package main

import (
	"context"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/httpapi"
	"github.com/scimbridge/scimbridge/bridge/metrics"
	"github.com/scimbridge/scimbridge/bridge/ops"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// adminTenant is where the admin token is stored (ops.AdminTenant).
const adminTenant = ops.AdminTenant

var (
	_ httpapi.Admin        = (*ops.Operator)(nil)
	_ httpapi.CardImporter = (*ops.Operator)(nil)
	_ httpapi.Health       = (*ops.Operator)(nil)
	_ metrics.Source       = (*ops.Operator)(nil)
)

// observability builds the operator (bridge/ops: the admin API, /readyz,
// the console) and the metrics over it, and keeps both on the app.
func (a *app) observability(ctx context.Context, cfg *config.Config, log hclog.Logger) *ops.Operator {
	a.traffic = ops.NewTrafficCounter(tenantNames(cfg))
	a.ops = ops.New(ops.Options{
		Config: cfg, State: a.state, Tokens: a.tokens, Services: a.tenants, Logger: log, Audit: a.audit,
		Version: build.Version, Traffic: a.traffic, Reloads: a.reloads.view,
	})
	a.ops.WarmAdminToken(ctx)
	a.metrics = metrics.New(metrics.Options{Source: a.ops})
	return a.ops
}

// cliOperator is the operator of the CLI's queue and token commands: the
// state store only, no services.
func cliOperator(cfg *config.Config, st state.Store) *ops.Operator {
	return ops.New(ops.Options{Config: cfg, State: st, Version: build.Version})
}

func tenantNames(cfg *config.Config) []string {
	names := make([]string, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		names[i] = t.Name
	}
	return names
}
