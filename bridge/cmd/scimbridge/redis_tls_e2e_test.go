package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// redisTLS is a throwaway TLS-only redis-server (scripts/redis-tls-start.sh)
// that requires a client certificate.
type redisTLS struct{ url, ca, cert, key string }

func startRedisTLS(t *testing.T) redisTLS {
	t.Helper()
	env := startScript(t, "redis-tls-start.sh", "redis-stop.sh", "SCIMBRIDGE_REDIS_TLS_DIR")
	tls := filepath.Join(env["SCIMBRIDGE_REDIS_TLS_DIR"], "tls")
	return redisTLS{url: env["SCIMBRIDGE_REDIS_TLS_URL"], ca: filepath.Join(tls, "ca.pem"),
		cert: filepath.Join(tls, "client.pem"), key: filepath.Join(tls, "client.key")}
}

// pharosRedisConfig writes a serve configuration for tenant "default" on
// the embedded Pharos store with the given state block.
func pharosRedisConfig(t *testing.T, listen, stateBlock string) string {
	t.Helper()
	backend := fmt.Sprintf(`{ type: pharos, config: { driver: sqlite, dsn: %s, init: true } }`, filepath.Join(t.TempDir(), "pharos.db"))
	return serveConfigOn(t, "entra-to-pharos.yaml", listen, stateBlock, backend, "")
}

// TestServeOverRedisTLS runs serve from a configuration file against a
// Redis that speaks only TLS and wants a client certificate: with
// rediss:// and state.redis.tls (CA, client certificate) it serves, keeps
// its token and idempotency in that Redis (a repeated create answers the
// same id) and reports the store up; without the client certificate, or
// without the CA, it refuses to start and says why.
func TestServeOverRedisTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	r := startRedisTLS(t)
	bin := buildBinary(t)

	listen := freeAddr(t)
	cfg := pharosRedisConfig(t, listen, fmt.Sprintf(`{ redis: { url: '%s', key_prefix: 'tls-test:', tls: { ca_file: '%s', cert_file: '%s', key_file: '%s' } } }`,
		r.url, r.ca, r.cert, r.key))
	startServe(t, bin, cfg)
	s := processStack(t, listen, cfg)
	alice := newUser("tls-1", "alice@example.org", "Alice", "Smith")
	first := s.send("create", http.MethodPost, "/Users", alice)
	require.NoError(t, first.err)
	require.Equal(t, http.StatusCreated, first.status)
	again := s.send("create again", http.MethodPost, "/Users", alice)
	require.NoError(t, again.err)
	require.Equal(t, http.StatusCreated, again.status)
	require.Equal(t, first.id, again.id)
	resp, err := http.Get("http://" + listen + "/metrics")
	require.NoError(t, err)
	var body bytes.Buffer
	_, err = body.ReadFrom(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, "1", metricValue(t, body.String(), "scimbridge_state_store_up"))

	for _, tt := range []struct{ name, tls, want string }{
		{"no client certificate", fmt.Sprintf(`{ ca_file: '%s' }`, r.ca), "tls: certificate required"},
		{"no CA", fmt.Sprintf(`{ cert_file: '%s', key_file: '%s' }`, r.cert, r.key), "certificate signed by unknown authority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pharosRedisConfig(t, freeAddr(t), fmt.Sprintf(`{ redis: { url: '%s', key_prefix: 'tls-test:', timeout: 1s, dial_timeout: 1s, tls: %s } }`, r.url, tt.tls))
			cmd := exec.Command(bin, "serve", "--config", cfg)
			done := make(chan struct{})
			var out []byte
			go func() { out, _ = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("serve did not give up on a Redis it cannot talk to: %s", out)
			}
			require.False(t, cmd.ProcessState.Success(), "%s", out)
			require.Contains(t, string(out), "redisstate: open", "the error names the state store")
			require.Contains(t, string(out), tt.want)
		})
	}
}
