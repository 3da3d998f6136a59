package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/limits"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// newLimiter builds the request limits of cfg, reporting to obs.
func newLimiter(cfg *config.Config, obs limits.Observer) limiterAdapter {
	names := make([]string, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		names[i] = t.Name
	}
	return limiterAdapter{limits.New(limits.Options{
		Tenants:     names,
		Tenant:      limits.Rate{PerSecond: cfg.Limits.TenantRate, Burst: cfg.Limits.TenantBurst},
		Client:      limits.Rate{PerSecond: cfg.Limits.ClientRate, Burst: cfg.Limits.ClientBurst},
		Concurrency: cfg.Limits.TenantConcurrency,
		Observer:    obs,
	})}
}

// limiterAdapter turns the limiter's refusals into the 429 Entra honours
// (httpapi declares the Limiter it uses; neither package imports the
// other).
type limiterAdapter struct{ l *limits.Limiter }

func (a limiterAdapter) Admit(ctx context.Context, tenant, client string) (func(), error) {
	done, err := a.l.Admit(ctx, tenant, client)
	var r *limits.Refusal
	if errors.As(err, &r) {
		return nil, &scim.Error{Status: http.StatusTooManyRequests, RetryAfter: r.RetryAfter, Detail: r.Error()}
	}
	return done, err
}
