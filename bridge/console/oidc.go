package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"
)

// OIDCOptions configures OpenID Connect sign-in.
type OIDCOptions struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
	// An identity may sign in when its subject is in AllowedSubjects or one
	// of the groups in its GroupsClaim is in AllowedGroups.
	AllowedSubjects, AllowedGroups []string
	GroupsClaim                    string
	// Scopes are requested; openid, profile and email when empty.
	Scopes []string
	// HTTPClient, when set, is used to reach the provider.
	HTTPClient *http.Client
}

// OIDC is the console's OpenID Connect sign-in (authorization code flow
// with PKCE, state and nonce). The provider is discovered at the first
// sign-in, not at start, so that a provider that is down does not stop
// the bridge.
type OIDC struct {
	o  OIDCOptions
	mu sync.Mutex
	// provider and verifier are set once discovery succeeded.
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// NewOIDC returns the sign-in for o.
func NewOIDC(o OIDCOptions) *OIDC {
	if o.GroupsClaim == "" {
		o.GroupsClaim = "groups"
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	return &OIDC{o: o}
}

// oidcFlowTTL bounds a sign-in round trip at the provider.
const oidcFlowTTL = 10 * time.Minute

func (p *OIDC) ctx(ctx context.Context) context.Context {
	if p.o.HTTPClient != nil {
		return oidc.ClientContext(ctx, p.o.HTTPClient)
	}
	return ctx
}

func (p *OIDC) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, p.verifier, nil
	}
	dctx, cancel := context.WithTimeout(p.ctx(ctx), 10*time.Second)
	defer cancel()
	prov, err := oidc.NewProvider(dctx, p.o.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("console: OpenID Connect discovery at %s: %w", p.o.Issuer, err)
	}
	p.provider, p.verifier = prov, prov.Verifier(&oidc.Config{ClientID: p.o.ClientID})
	return p.provider, p.verifier, nil
}

func (p *OIDC) oauth2(prov *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.o.ClientID, ClientSecret: p.o.ClientSecret, RedirectURL: p.o.RedirectURL,
		Endpoint: prov.Endpoint(), Scopes: p.o.Scopes,
	}
}

// allowed checks the allow-list.
func (p *OIDC) allowed(subject string, groups []string) bool {
	if slices.Contains(p.o.AllowedSubjects, subject) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(p.o.AllowedGroups, g) {
			return true
		}
	}
	return false
}

// oidcFlow is what the flow cookie carries between redirect and callback.
type oidcFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
}

func (c *console) oidcLogin(g *gin.Context) {
	prov, _, err := c.oidc.discover(g.Request.Context())
	if err != nil {
		c.log.Warn("OpenID Connect sign-in unavailable", "error", err)
		c.renderLogin(g, http.StatusServiceUnavailable, "The OpenID Connect provider cannot be reached; sign in with the admin token, or try again later.")
		return
	}
	f := oidcFlow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
	b, _ := json.Marshal(f)
	// Lax: the provider's redirect back is a cross-site navigation, which
	// a Strict cookie would not come with.
	c.setCookie(g, oidcCookie, base64.RawURLEncoding.EncodeToString(b), oidcFlowTTL, http.SameSiteLaxMode)
	u := c.oidc.oauth2(prov).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	g.Redirect(http.StatusFound, u)
}

func (c *console) oidcCallback(g *gin.Context) {
	refuse := func(status int, msg string, args ...any) {
		c.log.Warn("OpenID Connect sign-in refused", args...)
		c.renderLogin(g, status, msg)
	}
	raw, _ := g.Cookie(oidcCookie)
	c.clearCookie(g, oidcCookie)
	var f oidcFlow
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || json.Unmarshal(b, &f) != nil || f.State == "" {
		refuse(http.StatusBadRequest, "The sign-in took too long or did not start here; try again.", "reason", "no flow cookie")
		return
	}
	if subtle.ConstantTimeCompare([]byte(g.Query("state")), []byte(f.State)) != 1 {
		refuse(http.StatusBadRequest, "The sign-in did not start here; try again.", "reason", "state mismatch")
		return
	}
	if e := g.Query("error"); e != "" {
		refuse(http.StatusUnauthorized, "The provider refused the sign-in: "+e+".", "reason", "provider error", "error", e)
		return
	}
	prov, verifier, err := c.oidc.discover(g.Request.Context())
	if err != nil {
		refuse(http.StatusServiceUnavailable, "The OpenID Connect provider cannot be reached; try again later.", "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(c.oidc.ctx(g.Request.Context()), 15*time.Second)
	defer cancel()
	tok, err := c.oidc.oauth2(prov).Exchange(ctx, g.Query("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		refuse(http.StatusUnauthorized, "The provider did not accept the sign-in code; try again.", "error", err)
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, rawID)
	if err != nil {
		refuse(http.StatusUnauthorized, "The provider's ID token is not valid; try again.", "error", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		refuse(http.StatusUnauthorized, "The provider's ID token is not for this sign-in; try again.", "reason", "nonce mismatch")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		refuse(http.StatusUnauthorized, "The provider's ID token cannot be read.", "error", err)
		return
	}
	groups := stringsClaim(claims[c.oidc.o.GroupsClaim])
	if !c.oidc.allowed(idt.Subject, groups) {
		refuse(http.StatusForbidden, "Your identity is not allowed to use this console. Ask an administrator to add your subject or one of your groups to console.oidc.", "subject", idt.Subject)
		return
	}
	who := idt.Subject
	if email, _ := claims["email"].(string); email != "" {
		who = email + " (" + idt.Subject + ")"
	}
	c.signIn(g, who)
	// The callback is the end of a cross-site redirect chain, after which
	// Chrome would not send the Strict session cookie; a same-site
	// navigation from this page does.
	c.render(g, http.StatusOK, "error", pageData{Title: "Signed in", Data: "Signed in.", Refresh: Prefix + "/"})
}

// stringsClaim reads a claim that is a list of strings (or one string).
func stringsClaim(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
