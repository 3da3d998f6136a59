package bridge

import (
	"context"
	"net/http"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// Tenants holds every tenant's service and authenticates requests for them.
type Tenants struct {
	services map[string]*Service
	tokens   Authenticator
}

// Authenticator checks a bearer token presented to a tenant: nil, or a
// *scim.Error (401, or 503 when it cannot decide). *Tokens checks Secret
// Tokens; package auth checks them and every other method a tenant allows.
type Authenticator interface {
	Authenticate(ctx context.Context, tenant, token string) error
}

// NewTenants builds the tenant registry.
func NewTenants(tokens Authenticator, services ...*Service) *Tenants {
	t := &Tenants{services: map[string]*Service{}, tokens: tokens}
	for _, s := range services {
		t.services[s.tenant] = s
	}
	return t
}

// Authenticate returns the tenant's service if token is one of its valid
// tokens. An unknown tenant is answered like a wrong token, so that the
// answer does not tell which tenants exist.
func (t *Tenants) Authenticate(ctx context.Context, tenant, token string) (*Service, error) {
	s, ok := t.services[tenant]
	if !ok {
		return nil, scim.Errorf(http.StatusUnauthorized, "", "the bearer token is not valid for this tenant")
	}
	if err := t.tokens.Authenticate(ctx, tenant, token); err != nil {
		return nil, err
	}
	return s, nil
}

// Service returns a tenant's service.
func (t *Tenants) Service(name string) (*Service, bool) {
	s, ok := t.services[name]
	return s, ok
}
