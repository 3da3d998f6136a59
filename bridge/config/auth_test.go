package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const tid = "11111111-2222-3333-4444-555555555555"

func TestLoadAuth(t *testing.T) {
	t.Parallel()
	body := `state: { sqlite: { path: state.db } }
tenants:
  - name: default
    backend: { type: pharos }
    mapping: m.yaml
    auth:
      secret_token: false
      client_credentials: true
      access_token_lifetime: 6h
      entra_tenant_id: ` + tid + `
      entra_metadata_url: http://127.0.0.1:9/.well-known/openid-configuration
      federation:
        - subject: workload
          audience: api://AzureADTokenExchange
        - tenant_id: 99999999-2222-3333-4444-555555555555
          metadata_url: https://login.example/v2.0/.well-known/openid-configuration
          subject: other
          audience: aud
`
	path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING"})
	cfg, err := load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	require.Equal(t, AuthConfig{
		ClientCredentials: true, AccessTokenLifetime: 6 * time.Hour,
		EntraTenantID: tid, EntraMetadataURL: "http://127.0.0.1:9/.well-known/openid-configuration",
		Federation: []FederationConfig{
			{TenantID: tid, Subject: "workload", Audience: "api://AzureADTokenExchange"},
			{TenantID: "99999999-2222-3333-4444-555555555555", MetadataURL: "https://login.example/v2.0/.well-known/openid-configuration", Subject: "other", Audience: "aud"},
		},
	}, cfg.Tenants[0].Auth)
}

func TestLoadAuthErrors(t *testing.T) {
	t.Parallel()
	body := `state: { sqlite: { path: state.db } }
tenants:
  - name: a
    backend: { type: pharos }
    mapping: m.yaml
    auth:
      secret_token: false
  - name: b
    backend: { type: pharos }
    mapping: m.yaml
    auth:
      access_token_lifetime: 30m
      entra_tenant_id: not-a-guid
      federation:
        - audience: x
  - name: c
    backend: { type: pharos }
    mapping: m.yaml
    auth:
      access_token_lifetime: 7h
      entra_metadata_url: ftp://x
      federation:
        - tenant_id: ` + tid + `
          subject: s
          metadata_url: nope
`
	path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING"})
	_, err := load(path, testRegistry(), envOf(nil))
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"tenants[0].auth: allows no way to authenticate",
		"tenants[1].auth.access_token_lifetime: 30m0s is out of range",
		`tenants[1].auth.entra_tenant_id: "not-a-guid" is not an Entra tenant id`,
		`tenants[1].auth.federation[0].tenant_id: "not-a-guid" is not an Entra tenant id`,
		"tenants[1].auth.federation[0].subject: is required",
		"tenants[2].auth.access_token_lifetime: 7h0m0s is out of range",
		"tenants[2].auth.entra_metadata_url: needs entra_tenant_id",
		`tenants[2].auth.entra_metadata_url: "ftp://x" is not an absolute http(s) URL`,
		"tenants[2].auth.federation[0].audience: is required",
		`tenants[2].auth.federation[0].metadata_url: "nope" is not an absolute http(s) URL`,
	} {
		require.True(t, strings.Contains(msg, want), "want %q in:\n%s", want, msg)
	}
}

func TestLoadAuthUnknownKey(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, minimal+"    auth: { secret_tokens: true }\n", map[string]string{"m.yaml": "MAPPING"})
	_, err := load(path, testRegistry(), envOf(nil))
	require.ErrorContains(t, err, `unknown field "secret_tokens"`)
}
