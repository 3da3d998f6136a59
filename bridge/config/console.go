package config

import (
	"net/url"
	"slices"
	"time"
)

// Defaults of the console.
const (
	DefaultConsoleSessionTTL = 8 * time.Hour
	DefaultOIDCGroupsClaim   = "groups"
)

// ConsoleConfig is the operations console under /console/.
type ConsoleConfig struct {
	// Enabled serves the console. Defaults to true: signing in needs the
	// admin token (or an allowed OpenID Connect identity) anyway.
	Enabled bool
	// Listen, when set, serves the console on a listener of its own (an
	// internal address) instead of the main one, where it shares the port
	// Entra reaches.
	Listen string
	// SessionTTL is how long a sign-in lasts (server-side). Defaults to 8h.
	SessionTTL time.Duration
	// OIDC, when set, adds "Sign in with OpenID Connect".
	OIDC *OIDCConfig
}

// OIDCConfig is the console's OpenID Connect sign-in. A signed-in identity
// must be on an allow-list: its subject in AllowedSubjects or one of its
// groups in AllowedGroups.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (discovery at
	// <issuer>/.well-known/openid-configuration).
	Issuer       string
	ClientID     string
	ClientSecret Secret
	// RedirectURL is where the provider sends the browser back:
	// <console URL>/oidc/callback. Defaults to
	// <public_url>/console/oidc/callback.
	RedirectURL     string
	AllowedSubjects []string
	AllowedGroups   []string
	// GroupsClaim names the ID token claim that lists groups. Defaults to
	// "groups".
	GroupsClaim string
	// Scopes are requested at sign-in. Defaults to openid, profile and
	// email; some providers put groups in the token only for a "groups"
	// scope.
	Scopes []string
}

type rawConsole struct {
	Enabled    *bool    `yaml:"enabled"`
	Listen     string   `yaml:"listen"`
	SessionTTL *string  `yaml:"session_ttl"`
	OIDC       *rawOIDC `yaml:"oidc"`
}

type rawOIDC struct {
	Issuer          string   `yaml:"issuer"`
	ClientID        string   `yaml:"client_id"`
	ClientSecret    string   `yaml:"client_secret"`
	RedirectURL     string   `yaml:"redirect_url"`
	AllowedSubjects []string `yaml:"allowed_subjects"`
	AllowedGroups   []string `yaml:"allowed_groups"`
	GroupsClaim     string   `yaml:"groups_claim"`
	Scopes          []string `yaml:"scopes"`
}

func (l *loader) console(raw *rawConsole, publicURL string) ConsoleConfig {
	var r rawConsole
	if raw != nil {
		r = *raw
	}
	c := ConsoleConfig{Enabled: deref(r.Enabled, true), Listen: r.Listen}
	if r.Listen != "" {
		l.checkHostPort("console.listen", r.Listen)
	}
	c.SessionTTL = l.duration("console.session_ttl", r.SessionTTL, DefaultConsoleSessionTTL)
	if c.SessionTTL <= 0 {
		l.errorf("console.session_ttl", "must be positive, got %s", c.SessionTTL)
	}
	if r.OIDC != nil {
		c.OIDC = l.oidc(*r.OIDC, publicURL)
	}
	return c
}

func (l *loader) oidc(r rawOIDC, publicURL string) *OIDCConfig {
	const path = "console.oidc"
	o := &OIDCConfig{
		Issuer: r.Issuer, ClientID: r.ClientID, ClientSecret: Secret(r.ClientSecret), RedirectURL: r.RedirectURL,
		AllowedSubjects: r.AllowedSubjects, AllowedGroups: r.AllowedGroups, GroupsClaim: r.GroupsClaim, Scopes: r.Scopes,
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"openid", "profile", "email"}
	}
	if !slices.Contains(o.Scopes, "openid") {
		l.errorf(path+".scopes", "must include openid")
	}
	if o.GroupsClaim == "" {
		o.GroupsClaim = DefaultOIDCGroupsClaim
	}
	if o.RedirectURL == "" {
		o.RedirectURL = publicURL + "/console/oidc/callback"
	}
	for key, v := range map[string]string{"issuer": o.Issuer, "redirect_url": o.RedirectURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			l.errorf(path+"."+key, "%q is not an absolute http(s) URL", v)
		}
	}
	if o.ClientID == "" {
		l.errorf(path+".client_id", "is required")
	}
	if len(o.AllowedSubjects) == 0 && len(o.AllowedGroups) == 0 {
		l.errorf(path, "allowed_subjects or allowed_groups is required: without an allow-list anyone the provider knows could sign in")
	}
	return o
}
