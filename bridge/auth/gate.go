package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// MaxTokenBytes bounds a bearer token or client assertion: Entra's are a
// few KiB; anything much larger is refused before it is parsed.
const MaxTokenBytes = 16 << 10

// retryAfter is what a 503 asks the caller to wait.
const retryAfter = 30 * time.Second

// Policy is what one tenant accepts.
type Policy struct {
	// SecretToken accepts the tenant's Secret Tokens (package bridge).
	SecretToken bool
	// ClientCredentials opens the token endpoint to the tenant's OAuth
	// clients (`scimbridge client create`).
	ClientCredentials bool
	// AccessTokenLifetime is the expires_in of issued access tokens,
	// MinAccessTokenLifetime to MaxAccessTokenLifetime (0: the default).
	AccessTokenLifetime time.Duration
	// EntraTenantID, when set, accepts JWTs that this Entra tenant issued
	// to its provisioning service; their keys come from EntraMetadataURL
	// (default EntraMetadataURL(EntraTenantID)).
	EntraTenantID    string
	EntraMetadataURL string
	// Federation lists the workload identities whose Entra-signed client
	// assertions the token endpoint accepts.
	Federation []Federation
}

// Federation is one federated workload identity: an assertion signed by
// Entra tenant TenantID (keys from MetadataURL, default
// EntraFederationMetadataURL(TenantID)) with this Subject and Audience.
type Federation struct {
	TenantID, MetadataURL string
	Subject, Audience     string
}

// issuesTokens says whether the tenant's token endpoint is open.
func (p Policy) issuesTokens() bool { return p.ClientCredentials || len(p.Federation) > 0 }

// SecretTokens checks a tenant's Secret Token (implemented by
// *bridge.Tokens): nil, or a *scim.Error.
type SecretTokens interface {
	Authenticate(ctx context.Context, tenant, token string) error
}

// Store is the part of the state store auth needs.
type Store interface {
	state.Clients
	state.SigningKeys
}

// Options configures New.
type Options struct {
	// PublicURL is the bridge's public base URL: the issued tokens' iss and
	// aud are built on it.
	PublicURL string
	Store     Store
	// SecretTokens checks Secret Tokens for tenants whose policy allows
	// them.
	SecretTokens SecretTokens
	// Policies by tenant name. A tenant with none accepts only its Secret
	// Token.
	Policies map[string]Policy
	Logger   hclog.Logger
}

// Gate authenticates SCIM requests and answers the token endpoint, per
// tenant policy.
type Gate struct {
	publicURL string
	secret    SecretTokens
	policies  map[string]Policy
	clients   *Clients
	issuer    *issuer
	throttle  *throttle
	// keys are the remote issuers' key sets, by metadata URL.
	keys map[string]*remoteKeys
	log  hclog.Logger
	now  func() time.Time
}

// New builds a Gate. ctx ends the background refresh of remote keys.
func New(ctx context.Context, o Options) *Gate {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	g := &Gate{
		publicURL: strings.TrimRight(o.PublicURL, "/"),
		secret:    o.SecretTokens,
		policies:  map[string]Policy{},
		clients:   NewClients(o.Store),
		issuer:    newIssuer(o.Store),
		throttle:  newThrottle(),
		keys:      map[string]*remoteKeys{},
		log:       o.Logger.Named("auth"),
		now:       time.Now,
	}
	for name, p := range o.Policies {
		if p.AccessTokenLifetime == 0 {
			p.AccessTokenLifetime = DefaultAccessTokenLifetime
		}
		if p.EntraTenantID != "" && p.EntraMetadataURL == "" {
			p.EntraMetadataURL = EntraMetadataURL(p.EntraTenantID)
		}
		if p.EntraTenantID != "" {
			g.remote(ctx, p.EntraMetadataURL)
		}
		for i, f := range p.Federation {
			if f.MetadataURL == "" {
				f.MetadataURL = EntraFederationMetadataURL(f.TenantID)
			}
			p.Federation[i] = f
			g.remote(ctx, f.MetadataURL)
		}
		g.policies[name] = p
	}
	return g
}

func (g *Gate) remote(ctx context.Context, metadataURL string) *remoteKeys {
	if k, ok := g.keys[metadataURL]; ok {
		return k
	}
	k := newRemoteKeys(ctx, metadataURL, g.log.Named("keys"))
	g.keys[metadataURL] = k
	return k
}

// Clients is the client manager (CLI, console).
func (g *Gate) Clients() *Clients { return g.clients }

func (g *Gate) policy(tenant string) (Policy, bool) {
	p, ok := g.policies[tenant]
	if !ok {
		return Policy{SecretToken: true}, false
	}
	return p, true
}

// TokenURL is the tenant's token endpoint, <public_url>/scim/<tenant>/oauth2/token.
func TokenURL(publicURL, tenant string) string {
	return strings.TrimRight(publicURL, "/") + "/scim/" + url.PathEscape(tenant) + "/oauth2/token"
}

// issuerURL is the iss of the tenant's access tokens, and aud their
// audience: the tenant's SCIM base.
func (g *Gate) issuerURL(tenant string) string {
	return g.publicURL + "/scim/" + url.PathEscape(tenant) + "/oauth2"
}

func (g *Gate) audience(tenant string) string {
	return g.publicURL + "/scim/" + url.PathEscape(tenant) + "/v2"
}

// federatedSubject is the sub of an access token issued to a federated
// identity; it cannot collide with a client ID (a UUID).
func federatedSubject(sub string) string { return "federated:" + sub }

// Authenticate checks a bearer token presented to tenant's SCIM endpoint:
// nil, or a *scim.Error (401, or 503 when what decides cannot be read).
func (g *Gate) Authenticate(ctx context.Context, tenant, token string) error {
	p, _ := g.policy(tenant)
	method, err := g.authenticate(ctx, tenant, p, token)
	if err == nil {
		return nil
	}
	var se *scim.Error
	if errors.As(err, &se) { // the Secret Token's own answer
		if se.Status == http.StatusUnauthorized {
			g.log.Warn("bearer token rejected", "tenant", tenant, "method", method, "reason", se.Detail)
		}
		return se
	}
	if errors.Is(err, errStoreDown) || errors.Is(err, errKeysUnavailable) {
		g.log.Error("cannot verify a bearer token now", "tenant", tenant, "method", method, "error", err)
		return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
			Detail: "the bearer token cannot be verified right now; retry later"}
	}
	reason := describe(err)
	g.log.Warn("bearer token rejected", "tenant", tenant, "method", method, "reason", reason)
	return scim.Errorf(http.StatusUnauthorized, "", "the bearer token is not valid for this tenant: %s", reason)
}

// authenticate returns which method the token was checked by, and why it
// failed.
func (g *Gate) authenticate(ctx context.Context, tenant string, p Policy, token string) (string, error) {
	if len(token) > MaxTokenBytes {
		return "", fmt.Errorf("the token is larger than %d bytes", MaxTokenBytes)
	}
	if strings.Count(token, ".") != 2 {
		// Not a JWT (a Secret Token has no dot): a Secret Token, if the
		// tenant takes them.
		if !p.SecretToken {
			return "secret_token", errors.New("this tenant does not accept Secret Tokens")
		}
		if g.secret == nil {
			return "secret_token", errors.New("no Secret Token checker is configured")
		}
		return "secret_token", g.secret.Authenticate(ctx, tenant, token)
	}
	var peek issuerOnly
	if _, _, err := jwt.NewParser().ParseUnverified(token, &peek); err != nil {
		return "jwt", err
	}
	// The unverified iss only chooses the verifier; that verifier then
	// pins it.
	switch {
	case peek.Issuer == g.issuerURL(tenant) && p.issuesTokens():
		return "access_token", g.verifyAccessToken(ctx, tenant, p, token)
	case p.EntraTenantID != "" && peek.Issuer == EntraIssuer(p.EntraTenantID):
		return "entra_jwt", verifyEntra(ctx, g.keys[p.EntraMetadataURL], token, p.EntraTenantID)
	}
	return "jwt", fmt.Errorf("%w: tokens from this issuer are not accepted by this tenant", jwt.ErrTokenInvalidIssuer)
}

// issuerOnly decodes just the iss of a token not yet verified, to choose
// its verifier; the verifier decodes and checks every claim itself.
type issuerOnly struct {
	Issuer string `json:"iss"`
}

func (issuerOnly) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (issuerOnly) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (issuerOnly) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c issuerOnly) GetIssuer() (string, error)                 { return c.Issuer, nil }
func (issuerOnly) GetSubject() (string, error)                  { return "", nil }
func (issuerOnly) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// verifyAccessToken checks one of the bridge's own access tokens, and that
// what obtained it (the client's secret, or the federated identity) is
// still there.
func (g *Gate) verifyAccessToken(ctx context.Context, tenant string, p Policy, token string) error {
	c, err := g.issuer.verify(ctx, token, g.issuerURL(tenant), g.audience(tenant))
	if err != nil {
		return err
	}
	if fed, ok := strings.CutPrefix(c.Subject, "federated:"); ok && c.SecretID == "" {
		for _, f := range p.Federation {
			if f.Subject == fed {
				return nil
			}
		}
		return errors.New("the federated identity that obtained the token is no longer configured")
	}
	if !p.ClientCredentials {
		return errors.New("this tenant no longer accepts client credentials")
	}
	cl, found, err := g.clients.lookup(ctx, tenant, c.Subject)
	if err != nil {
		return fmt.Errorf("%w: %w", errStoreDown, err)
	}
	if !found || !secretLive(cl, c.SecretID, g.now()) {
		return errors.New("the client secret that obtained the token was revoked or has expired")
	}
	return nil
}

// Schemes are the tenant's authenticationSchemes for
// /ServiceProviderConfig (RFC 7643 §5), the Secret Token first when it is
// allowed.
func (g *Gate) Schemes(tenant string) []scim.AuthenticationScheme {
	p, _ := g.policy(tenant)
	var out []scim.AuthenticationScheme
	if p.SecretToken {
		out = append(out, scim.SecretTokenScheme)
	}
	if p.ClientCredentials {
		out = append(out, scim.AuthenticationScheme{
			Type: "oauth2", Name: "OAuth 2.0 client credentials",
			Description: "An access token from " + TokenURL(g.publicURL, tenant) +
				" (grant_type=client_credentials; client_secret_basic or client_secret_post), sent as Authorization: Bearer <token>.",
			SpecURI: "https://www.rfc-editor.org/info/rfc6749",
		})
	}
	if len(p.Federation) > 0 {
		out = append(out, scim.AuthenticationScheme{
			Type: "oauth2", Name: "Workload identity federation",
			Description: "An access token from " + TokenURL(g.publicURL, tenant) +
				" for a client assertion signed by Microsoft Entra ID (client_assertion_type=" + AssertionTypeJWTBearer + "), sent as Authorization: Bearer <token>.",
			SpecURI: "https://www.rfc-editor.org/info/rfc7523",
		})
	}
	if p.EntraTenantID != "" {
		out = append(out, scim.AuthenticationScheme{
			Type: "oauthbearertoken", Name: "Microsoft Entra ID token",
			Description: "A JWT issued by Microsoft Entra ID tenant " + p.EntraTenantID + " to its provisioning service (the Secret Token left blank in Entra).",
			SpecURI:     "https://www.rfc-editor.org/info/rfc6750",
		})
	}
	return out
}
