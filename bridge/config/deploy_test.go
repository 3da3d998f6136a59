package config

import (
	"crypto/tls"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The keys an operator needs in production: TLS on the listener and the
// reverse proxies trusted for client addresses.

func TestLoadTLS(t *testing.T) {
	t.Parallel()
	files := map[string]string{"m.yaml": "MAPPING", "tls/cert.pem": "x", "tls/key.pem": "x", "tls/ca.pem": "x"}
	path := writeConfig(t, `listen: 0.0.0.0:8443
tls: { cert_file: tls/cert.pem, key_file: tls/key.pem, client_ca_file: tls/ca.pem, min_version: "1.3" }
trusted_proxies: [10.0.0.0/8, 192.0.2.7, "fd00::/8"]
`+minimal, files)
	cfg, err := load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	dir := filepath.Dir(path)
	require.Equal(t, &TLSConfig{
		CertFile: filepath.Join(dir, "tls/cert.pem"), KeyFile: filepath.Join(dir, "tls/key.pem"),
		ClientCAFile: filepath.Join(dir, "tls/ca.pem"), MinVersion: tls.VersionTLS13,
	}, cfg.TLS)
	require.Equal(t, "https://127.0.0.1:8443", cfg.PublicURL, "the default public URL speaks what the listener speaks")
	require.True(t, cfg.ServedOverTLS())
	require.Equal(t, []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"}, cfg.TrustedProxies)

	path = writeConfig(t, "tls: { cert_file: c.pem, key_file: k.pem }\n"+minimal, map[string]string{"m.yaml": "MAPPING", "c.pem": "x", "k.pem": "x"})
	cfg, err = load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	require.Equal(t, uint16(tls.VersionTLS12), cfg.TLS.MinVersion, "TLS 1.2 by default")
	require.Empty(t, cfg.TLS.ClientCAFile)

	path = writeConfig(t, minimal, map[string]string{"m.yaml": "MAPPING"})
	cfg, err = load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	require.Nil(t, cfg.TLS)
	require.False(t, cfg.ServedOverTLS())
	path = writeConfig(t, "public_url: https://scim.example.org\n"+minimal, map[string]string{"m.yaml": "MAPPING"})
	cfg, err = load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	require.True(t, cfg.ServedOverTLS(), "behind a TLS-terminating proxy")
}

func TestLoadTLSErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"empty block", "tls:\n", []string{"tls: cert_file and key_file are required"}},
		{"no key", "tls: { cert_file: c.pem }\n", []string{"tls.key_file: is required"}},
		{"missing files", "tls: { cert_file: nope.pem, key_file: k.pem, client_ca_file: ca.pem }\n", []string{"tls.cert_file:", "nope.pem does not exist", "tls.client_ca_file:", "ca.pem does not exist"}},
		{"a directory", "tls: { cert_file: dir, key_file: k.pem }\n", []string{"is not a regular file"}},
		{"TLS 1.1", "tls: { cert_file: c.pem, key_file: k.pem, min_version: \"1.1\" }\n", []string{`tls.min_version: "1.1": want "1.2" or "1.3"`}},
		{"unknown key", "tls: { cert_file: c.pem, key_file: k.pem, ciphers: [x] }\n", []string{"ciphers"}},
		{"bad proxy", "trusted_proxies: [10.0.0.0/8, proxy.example, 10.0.0.300]\n", []string{`trusted_proxies[1]: "proxy.example" is not an IP address or CIDR range`, `trusted_proxies[2]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.body+minimal, map[string]string{"m.yaml": "MAPPING", "c.pem": "x", "k.pem": "x", "dir/x": "x"})
			_, err := load(path, testRegistry(), envOf(nil))
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestLoadRequestLimits(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "limits: { tenant_rate: 25, client_rate: 2.5, client_burst: 4, tenant_concurrency: 0 }\n"+minimal, map[string]string{"m.yaml": "MAPPING"})
	cfg, err := load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	require.Equal(t, 25.0, cfg.Limits.TenantRate)
	require.Equal(t, 50, cfg.Limits.TenantBurst, "twice the rate by default")
	require.Equal(t, 2.5, cfg.Limits.ClientRate)
	require.Equal(t, 4, cfg.Limits.ClientBurst)
	require.Zero(t, cfg.Limits.TenantConcurrency, "0 turns the cap off")

	for _, tc := range []struct{ body, want string }{
		{"limits: { tenant_rate: -1 }\n", "limits.tenant_rate: must be 0 (no limit) or more"},
		{"limits: { client_rate: 1, client_burst: 0 }\n", "limits.client_burst: must be 1 or more"},
		{"limits: { tenant_burst: 10 }\n", "limits.tenant_burst: needs limits.tenant_rate"},
		{"limits: { tenant_concurrency: -2 }\n", "limits.tenant_concurrency: must be 0 (no cap) or more"},
		{"limits: { tenant_rate: fast }\n", "tenant_rate"},
	} {
		path := writeConfig(t, tc.body+minimal, map[string]string{"m.yaml": "MAPPING"})
		_, err := load(path, testRegistry(), envOf(nil))
		require.ErrorContains(t, err, tc.want, tc.body)
	}
}
