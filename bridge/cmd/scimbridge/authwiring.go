package main

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/auth"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/httpapi"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// newGate builds the authentication of every tenant from its auth block.
func newGate(ctx context.Context, cfg *config.Config, st state.Store, tokens *bridge.Tokens, log hclog.Logger) *auth.Gate {
	policies := map[string]auth.Policy{}
	for _, t := range cfg.Tenants {
		a := t.Auth
		p := auth.Policy{
			SecretToken:         a.SecretToken,
			ClientCredentials:   a.ClientCredentials,
			AccessTokenLifetime: a.AccessTokenLifetime,
			EntraTenantID:       a.EntraTenantID,
			EntraMetadataURL:    a.EntraMetadataURL,
		}
		for _, f := range a.Federation {
			p.Federation = append(p.Federation, auth.Federation(f))
		}
		policies[t.Name] = p
	}
	return auth.New(ctx, auth.Options{PublicURL: cfg.PublicURL, Store: st, SecretTokens: tokens, Policies: policies, Logger: log})
}

// oauthAdapter lets httpapi, which declares its own request type, use the
// gate's token endpoint.
type oauthAdapter struct{ g *auth.Gate }

func (a oauthAdapter) Token(ctx context.Context, tenant string, r httpapi.TokenRequest) (string, time.Duration, error) {
	resp, err := a.g.Token(ctx, tenant, auth.TokenRequest(r))
	return resp.AccessToken, resp.ExpiresIn, err
}
