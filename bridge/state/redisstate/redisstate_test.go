package redisstate

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/statetest"
)

func TestContract(t *testing.T) {
	url := requireRedis(t)
	statetest.Run(t, func(t testing.TB) state.Store {
		return openStore(t, Options{URL: url})
	})
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string // in the error; "" for valid options
	}{
		{"url", Options{URL: "redis://127.0.0.1:6379/2"}, ""},
		{"url with params", Options{URL: "redis://127.0.0.1:6379/0?dial_timeout=3s&pool_size=5"}, ""},
		{"unix url", Options{URL: "unix:///run/redis.sock?db=1"}, ""},
		{"single address", Options{Addrs: []string{"127.0.0.1:6379"}, DB: 3}, ""},
		{"cluster", Options{Addrs: []string{"a:1", "b:2", "c:3"}}, ""},
		{"cluster seed", Options{Addrs: []string{"a:1"}, Cluster: true}, ""},
		{"sentinel", Options{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster", DB: 1}, ""},
		{"nothing", Options{}, "no Redis given"},
		{"empty address", Options{Addrs: []string{""}}, "an address is empty"},
		{"url and addrs", Options{URL: "redis://a:1", Addrs: []string{"b:2"}}, "not both"},
		{"url and db", Options{URL: "redis://a:1/2", DB: 3}, "the database number is the URL's"},
		{"url param", Options{URL: "redis://a:1/0?max_retries=5"}, `url parameter "max_retries" is not supported`},
		{"bad scheme", Options{URL: "http://a:1"}, "url"},
		{"cluster db", Options{Addrs: []string{"a:1", "b:2"}, DB: 1}, "only database 0"},
		{"sentinel and cluster", Options{Addrs: []string{"a:1"}, MasterName: "m", Cluster: true}, "exclude each other"},
		{"negative db", Options{Addrs: []string{"a:1"}, DB: -1}, "negative"},
		{"negative timeout", Options{URL: "redis://a:1", Timeout: -time.Second}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uo, err := universalOptions(tc.o)
			if tc.want != "" {
				require.ErrorContains(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.True(t, uo.ContextTimeoutEnabled)
			require.True(t, uo.DisableIdentity)
			require.Equal(t, -1, uo.MaxRetries, "the client never replays by itself")
			require.NotZero(t, uo.ReadTimeout)
		})
	}

	t.Run("url credentials", func(t *testing.T) {
		uo, err := universalOptions(Options{URL: "rediss://u:secret@h:6380/4?read_timeout=5s"})
		require.NoError(t, err)
		require.Equal(t, []string{"h:6380"}, uo.Addrs)
		require.Equal(t, 4, uo.DB)
		require.Equal(t, "u", uo.Username)
		require.Equal(t, "secret", uo.Password)
		require.NotNil(t, uo.TLSConfig)
		require.Equal(t, 5*time.Second, uo.ReadTimeout)
		require.Equal(t, DefaultTimeout, uo.WriteTimeout)

		uo, err = universalOptions(Options{URL: "redis://u:old@h:6380", Password: "from-file"})
		require.NoError(t, err)
		require.Equal(t, "from-file", uo.Password, "the option wins over the URL")
	})

	t.Run("no password in errors", func(t *testing.T) {
		_, err := universalOptions(Options{URL: "redis://u:hunter2@h:6379/x"})
		require.Error(t, err)
		require.NotContains(t, err.Error(), "hunter2")
		_, err = universalOptions(Options{URL: "redis://u:hunter2@h:6379/0?bogus=1"})
		require.Error(t, err)
		require.NotContains(t, err.Error(), "hunter2")
	})

	t.Run("prefix with braces", func(t *testing.T) {
		_, err := Open(t.Context(), Options{URL: "redis://127.0.0.1:1", KeyPrefix: "a{b}:"})
		require.ErrorContains(t, err, "hash tags")
	})
}

func TestOpenUnreachable(t *testing.T) {
	port := freePort(t) // nothing listens on it now
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Open(ctx, Options{URL: "redis://:pw-never-shown@127.0.0.1:" + strconv.Itoa(port)})
	require.ErrorIs(t, err, state.ErrUnavailable)
	require.ErrorContains(t, err, "redisstate: open 127.0.0.1:")
	require.NotContains(t, err.Error(), "pw-never-shown")
	require.Less(t, time.Since(start), 3*time.Second, "a refused connection fails fast")
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"acme", "acme"},
		{"Acme-2", "Acme-2"},
		{"", ""},
		{"a{b}c", "a_7Bb_7Dc"},
		{"a:b.c_d%", "a_3Ab_2Ec_5Fd_25"},
		{"ü", "_C3_BC"},
	} {
		require.Equal(t, tc.want, escape(tc.in), tc.in)
		back, ok := unescape(tc.want)
		require.True(t, ok, tc.want)
		require.Equal(t, tc.in, back)
	}
	// Random strings round-trip and never yield a tag, separator or
	// anything a URL path needs escaped.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		e := escape(string(b))
		require.False(t, strings.ContainsAny(e, "{}:./?#%"), e)
		back, ok := unescape(e)
		require.True(t, ok)
		require.Equal(t, string(b), back)
	}
	for _, bad := range []string{"_", "_7", "_7G", "a b", "_61", "a.b"} {
		_, ok := unescape(bad)
		require.False(t, ok, bad)
	}
}

// hashTag is what Redis Cluster hashes for key: the part between the first
// '{' and the next '}', if that is not empty, else the whole key.
func hashTag(key string) string {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	end := strings.IndexByte(key[open+1:], '}')
	if end <= 0 {
		return key
	}
	return key[open+1 : open+1+end]
}

// TestTenantKeysShareATag: every key a queue script touches carries the
// tenant's tag, whatever the tenant, resource and id are made of.
func TestTenantKeysShareATag(t *testing.T) {
	k := keys{prefix: DefaultKeyPrefix}
	for _, tenant := range []string{"acme", "a{b}c", "}{", "x:y", "ü"} {
		want := escape(tenant)
		id, err := jobID(tenant)
		require.NoError(t, err)
		got, ok := tenantOf(id)
		require.True(t, ok)
		require.Equal(t, tenant, got)
		for _, key := range []string{
			k.tokens(tenant), k.queue(tenant) + "live", k.queue(tenant) + "ready",
			k.resource(tenant, "acme/Users/{u1}"), k.job(tenant, id),
		} {
			require.Equal(t, want, hashTag(key), key)
		}
	}
	for _, bad := range []string{"", "nodot", ".x", "x.", "a b.c"} {
		_, ok := tenantOf(bad)
		require.False(t, ok, bad)
	}
}

func TestAnswerEncoding(t *testing.T) {
	for _, a := range []state.Answer{
		{},
		{Status: 201, Body: []byte(`{"id":"u1"}`), ResourceID: "u1", Version: 1},
		{Status: 204, Version: -1},
		{Status: 200, Body: bytes.Repeat([]byte{0, 255}, 1000), ResourceID: "ü/x", Version: 1 << 62},
	} {
		got, err := decodeAnswer(encodeAnswer(a))
		require.NoError(t, err)
		require.Equal(t, a.Status, got.Status)
		require.Equal(t, a.Version, got.Version)
		require.Equal(t, a.ResourceID, got.ResourceID)
		require.True(t, bytes.Equal(a.Body, got.Body))
	}
	for _, bad := range [][]byte{nil, {0}, {1}, {1, 2}, {1, 2, 2, 50, 'x'}} {
		_, err := decodeAnswer(bad)
		require.Error(t, err, "%v", bad)
	}
}

func TestCheckServer(t *testing.T) {
	t.Run("safe", func(t *testing.T) {
		s := newTestStore(t, Options{})
		problems, err := s.CheckServer(t.Context())
		require.NoError(t, err)
		require.Empty(t, problems, "scripts/redis-start.sh starts a Redis with noeviction and AOF")
	})

	t.Run("evicting and volatile", func(t *testing.T) {
		srv := startServer(t, "--maxmemory-policy", "allkeys-lru", "--appendonly", "no", "--save", "")
		s := newTestStore(t, Options{URL: srv.url()})
		problems, err := s.CheckServer(t.Context())
		require.NoError(t, err)
		require.Len(t, problems, 2, "%q", problems)
		require.Contains(t, problems[0], "maxmemory-policy is allkeys-lru, not noeviction")
		require.Contains(t, problems[1], "persistence is off")
	})

	t.Run("snapshots only", func(t *testing.T) {
		srv := startServer(t, "--appendonly", "no", "--save", "3600 1")
		s := newTestStore(t, Options{URL: srv.url()})
		problems, err := s.CheckServer(t.Context())
		require.NoError(t, err)
		require.Empty(t, problems, "RDB snapshots are persistence (a weaker one)")
	})

	t.Run("config refused", func(t *testing.T) {
		// A managed Redis: CONFIG is renamed away, so INFO is read.
		srv := startServer(t, "--maxmemory-policy", "volatile-lru", "--appendonly", "no", "--save", "",
			"--rename-command", "CONFIG", "")
		s := newTestStore(t, Options{URL: srv.url()})
		problems, err := s.CheckServer(t.Context())
		require.NoError(t, err)
		require.Len(t, problems, 2, "%q", problems)
		require.Contains(t, problems[0], "maxmemory-policy is volatile-lru")
		require.Contains(t, problems[0], "read from INFO")
		require.Contains(t, problems[1], "AOF is off (aof_enabled:0)")

		srv = startServer(t, "--appendonly", "yes", "--rename-command", "CONFIG", "")
		s = newTestStore(t, Options{URL: srv.url()})
		problems, err = s.CheckServer(t.Context())
		require.NoError(t, err)
		require.Empty(t, problems)
	})

	t.Run("unreachable", func(t *testing.T) {
		srv := startServer(t)
		s := newTestStore(t, Options{URL: srv.url()})
		srv.kill(t)
		_, err := s.CheckServer(t.Context())
		require.ErrorIs(t, err, state.ErrUnavailable)
	})
}
