package config

import (
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Bounds of a tenant's access_token_lifetime (the expires_in of the
// tokens its token endpoint issues; package auth uses the same).
const (
	MinAccessTokenLifetime     = time.Hour
	MaxAccessTokenLifetime     = 6 * time.Hour
	DefaultAccessTokenLifetime = time.Hour
)

// AuthConfig is how a tenant's callers authenticate; several methods may
// be allowed at once.
type AuthConfig struct {
	// SecretToken accepts the tenant's Secret Tokens. Defaults to true.
	SecretToken bool
	// ClientCredentials opens the token endpoint,
	// <public_url>/scim/<tenant>/oauth2/token, to the tenant's OAuth
	// clients (`scimbridge client create`). Defaults to false.
	ClientCredentials bool
	// AccessTokenLifetime is the issued tokens' expires_in, 1h to 6h.
	// Defaults to 1h.
	AccessTokenLifetime time.Duration
	// EntraTenantID, when set, accepts JWTs that this Entra tenant issues
	// to its provisioning service (the Secret Token left blank in Entra).
	// EntraMetadataURL overrides where its OpenID metadata is read
	// (sovereign clouds, tests).
	EntraTenantID, EntraMetadataURL string
	// Federation lists workload identities whose Entra-signed client
	// assertions the token endpoint exchanges for access tokens.
	Federation []FederationConfig
}

// FederationConfig is one federated workload identity.
type FederationConfig struct {
	// TenantID is the Entra tenant that signs the assertion. Defaults to
	// the tenant's entra_tenant_id.
	TenantID string
	// MetadataURL overrides the OpenID metadata of TenantID's v2.0 issuer.
	MetadataURL string
	// Subject and Audience are the assertion's required sub and aud.
	Subject, Audience string
}

type rawAuth struct {
	SecretToken         *bool           `yaml:"secret_token"`
	ClientCredentials   bool            `yaml:"client_credentials"`
	AccessTokenLifetime *string         `yaml:"access_token_lifetime"`
	EntraTenantID       string          `yaml:"entra_tenant_id"`
	EntraMetadataURL    string          `yaml:"entra_metadata_url"`
	Federation          []rawFederation `yaml:"federation"`
}

type rawFederation struct {
	TenantID    string `yaml:"tenant_id"`
	MetadataURL string `yaml:"metadata_url"`
	Subject     string `yaml:"subject"`
	Audience    string `yaml:"audience"`
}

// guid is the form of an Entra tenant id.
var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// auth validates a tenant's auth block at path (absent: the Secret Token
// only).
func (l *loader) auth(path string, raw *rawAuth) AuthConfig {
	if raw == nil {
		return AuthConfig{SecretToken: true, AccessTokenLifetime: DefaultAccessTokenLifetime}
	}
	a := AuthConfig{
		SecretToken:       deref(raw.SecretToken, true),
		ClientCredentials: raw.ClientCredentials,
		EntraTenantID:     raw.EntraTenantID,
		EntraMetadataURL:  raw.EntraMetadataURL,
	}
	a.AccessTokenLifetime = l.duration(path+".access_token_lifetime", raw.AccessTokenLifetime, DefaultAccessTokenLifetime)
	if a.AccessTokenLifetime != 0 && (a.AccessTokenLifetime < MinAccessTokenLifetime || a.AccessTokenLifetime > MaxAccessTokenLifetime) {
		l.errorf(path+".access_token_lifetime", "%s is out of range: from 1h to 6h", a.AccessTokenLifetime)
	}
	if a.EntraTenantID != "" && !guid.MatchString(a.EntraTenantID) {
		l.errorf(path+".entra_tenant_id", "%q is not an Entra tenant id (a GUID, as in Entra's Overview page)", a.EntraTenantID)
	}
	if a.EntraMetadataURL != "" {
		if a.EntraTenantID == "" {
			l.errorf(path+".entra_metadata_url", "needs entra_tenant_id")
		}
		l.checkHTTPURL(path+".entra_metadata_url", a.EntraMetadataURL)
	}
	for i, rf := range raw.Federation {
		p := fmt.Sprintf("%s.federation[%d]", path, i)
		f := FederationConfig{TenantID: rf.TenantID, MetadataURL: rf.MetadataURL, Subject: rf.Subject, Audience: rf.Audience}
		if f.TenantID == "" {
			f.TenantID = a.EntraTenantID
		}
		switch {
		case f.TenantID == "":
			l.errorf(p+".tenant_id", "is required (or set entra_tenant_id): the Entra tenant that signs the assertions")
		case !guid.MatchString(f.TenantID):
			l.errorf(p+".tenant_id", "%q is not an Entra tenant id (a GUID)", f.TenantID)
		}
		if f.Subject == "" {
			l.errorf(p+".subject", "is required: the sub of the assertions (the federated credential's subject)")
		}
		if f.Audience == "" {
			l.errorf(p+".audience", "is required: the aud of the assertions, e.g. api://AzureADTokenExchange")
		}
		if f.MetadataURL != "" {
			l.checkHTTPURL(p+".metadata_url", f.MetadataURL)
		}
		a.Federation = append(a.Federation, f)
	}
	if !a.SecretToken && !a.ClientCredentials && a.EntraTenantID == "" && len(a.Federation) == 0 {
		l.errorf(path, "allows no way to authenticate: keep secret_token, or set client_credentials, entra_tenant_id or federation")
	}
	return a
}

// checkHTTPURL requires an absolute http(s) URL.
func (l *loader) checkHTTPURL(path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		l.errorf(path, "%q is not an absolute http(s) URL", s)
	}
}
