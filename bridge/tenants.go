package bridge

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// Tenants holds every tenant's service and authenticates requests for them.
// A reload replaces the whole set at once (Replace): a request resolves its
// tenant's service once, when it is authenticated, and runs to its end on
// that service, its mapping and its backend, so that no request sees a mix
// of two configurations.
type Tenants struct {
	services atomic.Pointer[map[string]*Service]
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
	t := &Tenants{tokens: tokens}
	t.Replace(services...)
	return t
}

// Replace makes services the tenants served from now on; requests already
// authenticated finish on the services they got.
func (t *Tenants) Replace(services ...*Service) {
	m := make(map[string]*Service, len(services))
	for _, s := range services {
		m[s.tenant] = s
	}
	t.services.Store(&m)
}

// Authenticate returns the tenant's service if token is one of its valid
// tokens. An unknown tenant is answered like a wrong token, so that the
// answer does not tell which tenants exist.
func (t *Tenants) Authenticate(ctx context.Context, tenant, token string) (*Service, error) {
	s, ok := t.Service(tenant)
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
	s, ok := (*t.services.Load())[name]
	return s, ok
}

// Name is the tenant the service provisions.
func (s *Service) Name() string { return s.tenant }
