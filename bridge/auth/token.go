package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxLoggedID bounds how much of a presented client_id is logged.
const maxLoggedID = 80

// OAuth 2.0 names (RFC 6749 §4.4, §5.2; RFC 7523 §2.2).
const (
	GrantClientCredentials = "client_credentials"
	AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// TokenRequest is a token endpoint request as the HTTP layer read it:
// the client's credentials from HTTP Basic or the body, or a client
// assertion. scope and resource are not part of it: they are ignored.
type TokenRequest struct {
	GrantType                            string
	ClientID, ClientSecret               string
	ClientAssertionType, ClientAssertion string
}

// TokenResponse is a successful answer (RFC 6749 §5.1, token_type Bearer).
type TokenResponse struct {
	AccessToken string
	ExpiresIn   time.Duration
}

// TokenError is an RFC 6749 §5.2 error answer.
type TokenError struct {
	Status      int
	Code        string
	Description string
	// RetryAfter is set on 503 (temporarily_unavailable).
	RetryAfter time.Duration
}

func (e *TokenError) Error() string { return e.Code + ": " + e.Description }

// OAuthError gives the HTTP layer what it writes, without it importing
// this package.
func (e *TokenError) OAuthError() (status int, code, description string, retryAfter time.Duration) {
	return e.Status, e.Code, e.Description, e.RetryAfter
}

func invalidClient(format string, args ...any) *TokenError {
	return &TokenError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: fmt.Sprintf(format, args...)}
}

func unavailable() *TokenError {
	return &TokenError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Description: "the token cannot be issued right now; retry later", RetryAfter: retryAfter}
}

// Token answers a token request for tenant: an access token, or a
// *TokenError.
func (g *Gate) Token(ctx context.Context, tenant string, r TokenRequest) (TokenResponse, error) {
	who := r.ClientID
	if len(who) > maxLoggedID {
		who = who[:maxLoggedID] + "…" // the caller chose it: it must not flood the log
	}
	if r.ClientAssertion != "" {
		who = "(client assertion)"
	}
	resp, err := g.token(ctx, tenant, r)
	var te *TokenError
	if errors.As(err, &te) {
		if te.Status >= 500 {
			g.log.Error("token request failed", "tenant", tenant, "client_id", who, "error", err)
		} else {
			g.log.Warn("token request refused", "tenant", tenant, "client_id", who, "error", te.Code, "reason", te.Description)
		}
	} else if err == nil {
		g.log.Info("access token issued", "tenant", tenant, "client_id", who, "expires_in", resp.ExpiresIn)
	}
	return resp, err
}

func (g *Gate) token(ctx context.Context, tenant string, r TokenRequest) (TokenResponse, error) {
	switch r.GrantType {
	case "":
		return TokenResponse{}, &TokenError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "grant_type is required"}
	case GrantClientCredentials:
	default:
		return TokenResponse{}, &TokenError{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: "only grant_type=client_credentials is supported"}
	}
	p, known := g.policy(tenant)
	if !known || !p.issuesTokens() {
		return TokenResponse{}, invalidClient("this tenant does not issue access tokens")
	}
	if r.ClientAssertion != "" || r.ClientAssertionType != "" {
		return g.federatedToken(ctx, tenant, p, r)
	}
	return g.clientToken(ctx, tenant, p, r)
}

// wait sleeps for the throttle's delay of key, or until ctx ends.
func (g *Gate) wait(ctx context.Context, key string) error {
	d := g.throttle.delay(key)
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (g *Gate) clientToken(ctx context.Context, tenant string, p Policy, r TokenRequest) (TokenResponse, error) {
	if r.ClientID == "" || r.ClientSecret == "" {
		return TokenResponse{}, invalidClient("client authentication is required: client_id and client_secret, in HTTP Basic or in the body")
	}
	if !p.ClientCredentials {
		return TokenResponse{}, invalidClient("this tenant does not accept client secrets")
	}
	cl, found, err := g.clients.lookup(ctx, tenant, r.ClientID)
	if err != nil {
		return TokenResponse{}, unavailable()
	}
	key := tenant + "\x00"
	if found {
		key += r.ClientID
	}
	if err := g.wait(ctx, key); err != nil {
		return TokenResponse{}, unavailable()
	}
	var match = matchSecret(cl, r.ClientSecret)
	if !found || match == nil {
		g.throttle.fail(key)
		return TokenResponse{}, invalidClient("client authentication failed")
	}
	if !g.now().Before(match.ExpiresAt) {
		g.throttle.fail(key)
		return TokenResponse{}, invalidClient("the client secret %s expired on %s; add one with `scimbridge client add-secret`",
			match.ID, match.ExpiresAt.UTC().Format(time.RFC3339))
	}
	g.throttle.succeed(key)
	return g.issue(ctx, tenant, p, cl.ID, match.ID)
}

func (g *Gate) issue(ctx context.Context, tenant string, p Policy, subject, secretID string) (TokenResponse, error) {
	tok, err := g.issuer.issue(ctx, g.issuerURL(tenant), g.audience(tenant), subject, secretID, p.AccessTokenLifetime)
	if err != nil {
		g.log.Error("cannot sign an access token", "tenant", tenant, "error", err)
		return TokenResponse{}, unavailable()
	}
	return TokenResponse{AccessToken: tok, ExpiresIn: p.AccessTokenLifetime}, nil
}

// federatedToken checks a client assertion (RFC 7523 §3) that Entra
// signed for a federated workload identity of the tenant.
func (g *Gate) federatedToken(ctx context.Context, tenant string, p Policy, r TokenRequest) (TokenResponse, error) {
	switch {
	case r.ClientAssertionType != AssertionTypeJWTBearer:
		return TokenResponse{}, &TokenError{Status: http.StatusBadRequest, Code: "invalid_request",
			Description: "client_assertion_type must be " + AssertionTypeJWTBearer}
	case r.ClientAssertion == "":
		return TokenResponse{}, &TokenError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "client_assertion is required"}
	case r.ClientSecret != "":
		return TokenResponse{}, &TokenError{Status: http.StatusBadRequest, Code: "invalid_request",
			Description: "use one client authentication method: a client secret or a client assertion"}
	case len(p.Federation) == 0:
		return TokenResponse{}, invalidClient("this tenant accepts no client assertions")
	case len(r.ClientAssertion) > MaxTokenBytes:
		return TokenResponse{}, invalidClient("the client assertion is larger than %d bytes", MaxTokenBytes)
	}
	key := tenant + "\x00federation"
	if err := g.wait(ctx, key); err != nil {
		return TokenResponse{}, unavailable()
	}
	var peek jwt.RegisteredClaims // iss and sub choose the identity
	if _, _, err := jwt.NewParser().ParseUnverified(r.ClientAssertion, &peek); err != nil {
		g.throttle.fail(key)
		return TokenResponse{}, invalidClient("the client assertion is not a JWT")
	}
	for _, f := range p.Federation {
		if peek.Issuer != EntraFederationIssuer(f.TenantID) || peek.Subject != f.Subject {
			continue
		}
		var claims jwt.RegisteredClaims
		parser := jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(EntraFederationIssuer(f.TenantID)), jwt.WithSubject(f.Subject), jwt.WithAudience(f.Audience),
			jwt.WithExpirationRequired(), jwt.WithLeeway(clockLeeway))
		err := verifyRS256(ctx, g.keys[f.MetadataURL], r.ClientAssertion, "", nil, &claims, parser)
		if errors.Is(err, errKeysUnavailable) {
			return TokenResponse{}, unavailable()
		}
		if err != nil {
			g.throttle.fail(key)
			return TokenResponse{}, invalidClient("the client assertion is not valid: %s", describe(err))
		}
		// RFC 7523 §3: a client_id sent along must be the assertion's sub.
		if r.ClientID != "" && r.ClientID != f.Subject {
			g.throttle.fail(key)
			return TokenResponse{}, invalidClient("client_id is not the client assertion's subject")
		}
		g.throttle.succeed(key)
		return g.issue(ctx, tenant, p, federatedSubject(f.Subject), "")
	}
	g.throttle.fail(key)
	return TokenResponse{}, invalidClient("the client assertion's issuer and subject match no federated identity of this tenant")
}
