package config

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

func TestScrub(t *testing.T) {
	c := &Config{
		State: StateConfig{Redis: &RedisConfig{Password: "redis-pass-123"}},
		Tenants: []Tenant{{Name: "t", Backend: BackendConfig{Config: backends.Config{
			"url":      "ldap://127.0.0.1:389",
			"bind_dn":  "cn=svc,dc=example,dc=org",
			"password": "hunter22",
			"nested":   map[string]any{"api_key": "k3y-value"},
			"pin":      "abc", // too short to scrub by value; no credential name anyway
		}}}},
		redact: newRedactor([]string{"from-a-file-secret"}),
	}
	for _, tc := range []struct{ name, in, want string }{
		{"inline backend password", "bind failed for hunter22", "bind failed for <secret>"},
		{"nested credential key", "key k3y-value rejected", "key <secret> rejected"},
		{"redis password", "auth redis-pass-123 failed", "auth <secret> failed"},
		{"file secret", "token from-a-file-secret leaked", "token <secret> leaked"},
		{"url password", "dial postgres://u:pw@db:5432/x: refused", "dial postgres://u:xxxxx@db:5432/x: refused"},
		{"dsn password", "connect host=db password=s3cr3t user=u", "connect host=db password=<secret> user=u"},
		{"plain text untouched", "ldap: connection refused on cn=svc,dc=example,dc=org", "ldap: connection refused on cn=svc,dc=example,dc=org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, c.Scrub(tc.in))
		})
	}
	var nilCfg *Config
	require.Equal(t, "redis://u:xxxxx@h", nilCfg.Scrub("redis://u:p@h"))
}
