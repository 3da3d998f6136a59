package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLoadRedisDeployed: the keys that reach Redis as deployed (Sentinel,
// Cluster, TLS, ACL, timeouts, pool) are decoded as written, paths resolved
// against the configuration's directory.
func TestLoadRedisDeployed(t *testing.T) {
	t.Parallel()
	state := `redis:
    addrs: ["s1:26379", "s2:26379", "s3:26379"]
    master_name: mymaster
    username: bridge
    password: p1
    sentinel_username: watcher
    sentinel_password: p2
    db: 2
    tls: { ca_file: ca.pem, cert_file: client.pem, key_file: client.key, server_name: redis.internal }
    timeout: 3s
    dial_timeout: 1500ms
    pool_size: 20
    key_prefix: "sb:"`
	body := "state:\n  " + state + "\n" + minimal[strings.Index(minimal, "tenants:"):]
	path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING", "ca.pem": "x", "client.pem": "x", "client.key": "x"})
	cfg, err := load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	r := cfg.State.Redis
	require.NotNil(t, r)
	dir := filepath.Dir(path)
	require.Equal(t, []string{"s1:26379", "s2:26379", "s3:26379"}, r.Addrs)
	require.Equal(t, "mymaster", r.MasterName)
	require.Equal(t, "bridge", r.Username)
	require.Equal(t, Secret("p1"), r.Password)
	require.Equal(t, "watcher", r.SentinelUsername)
	require.Equal(t, Secret("p2"), r.SentinelPassword)
	require.Equal(t, 2, r.DB)
	require.Equal(t, &RedisTLS{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "client.pem"),
		KeyFile: filepath.Join(dir, "client.key"), ServerName: "redis.internal"}, r.TLS)
	require.Equal(t, 3*time.Second, r.Timeout)
	require.Equal(t, 1500*time.Millisecond, r.DialTimeout)
	require.Equal(t, 20, r.PoolSize)
	require.Equal(t, "sb:", r.KeyPrefix)
	require.NotContains(t, cfg.String(), "p1", "passwords are redacted")
	require.NotContains(t, cfg.String(), "p2", "passwords are redacted")

	// rediss:// with a CA only; no tls block: no TLS settings.
	for _, tt := range []struct {
		state string
		tls   *RedisTLS
	}{
		{"redis: { url: 'rediss://h:6380/0', tls: { ca_file: ca.pem } }", &RedisTLS{CAFile: filepath.Join(dir, "ca.pem")}},
		{"redis: { url: 'redis://h:6379/0' }", nil},
	} {
		body := "state:\n  " + tt.state + "\n" + minimal[strings.Index(minimal, "tenants:"):]
		path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING", "ca.pem": "x"})
		cfg, err := load(path, testRegistry(), envOf(nil))
		require.NoError(t, err, tt.state)
		want := tt.tls
		if want != nil {
			want.CAFile = filepath.Join(filepath.Dir(path), "ca.pem")
		}
		require.Equal(t, want, cfg.State.Redis.TLS, tt.state)
		require.Zero(t, cfg.State.Redis.Timeout, "0: the store's default")
	}
}

// TestLoadRedisDeployedErrors: each bad combination of the Redis keys is
// one error on its line, saying what to write instead.
func TestLoadRedisDeployedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, state, err string }{
		{"sentinel password without master", `redis: { addrs: ["h:1"], sentinel_password: p }`, "state.redis.sentinel_password: needs master_name"},
		{"sentinel user without master", `redis: { url: 'redis://h', sentinel_username: u }`, "state.redis.sentinel_password: needs master_name"},
		{"negative pool", `redis: { url: 'redis://h', pool_size: -1 }`, "state.redis.pool_size: must be 1 or more (0: the default), got -1"},
		{"tls on redis://", `redis: { url: 'redis://h', tls: { ca_file: ca.pem } }`, "state.redis.tls: needs a rediss:// url (TLS); the url says redis"},
		{"cert without key", `redis: { url: 'rediss://h', tls: { cert_file: ca.pem } }`, "state.redis.tls: cert_file and key_file go together"},
		{"missing ca", `redis: { url: 'rediss://h', tls: { ca_file: nope.pem } }`, "nope.pem does not exist"},
		{"bad timeout", `redis: { url: 'redis://h', timeout: soon }`, "state.redis.timeout:"},
		{"bad dial timeout", `redis: { addrs: ["h:1"], dial_timeout: 5 }`, "state.redis.dial_timeout:"},
		{"negative db with sentinel", `redis: { addrs: ["h:1"], master_name: m, db: -1 }`, "state.redis.db: must be 0 or more"},
		{"bad scheme", `redis: { url: 'http://h' }`, "must start with redis://, rediss:// or unix://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := "state:\n  " + tt.state + "\n" + minimal[strings.Index(minimal, "tenants:"):]
			path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING", "ca.pem": "x"})
			_, err := load(path, testRegistry(), envOf(nil))
			errs := configErrors(t, err)
			require.Len(t, errs, 1, "%v", err)
			require.Contains(t, errs[0].Msg, tt.err)
			require.Equal(t, 2, errs[0].Line, "%v", errs[0])
		})
	}
}
