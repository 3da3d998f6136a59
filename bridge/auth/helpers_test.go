package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state/sqlitestate"
)

// testIssuer is an OpenID issuer on loopback: a metadata document and a
// JWKS, with keys that can be rotated and a switch that takes it down.
type testIssuer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     map[string]*rsa.PrivateKey
	down     atomic.Bool
	jwksHits atomic.Int32
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	is := &testIssuer{keys: map[string]*rsa.PrivateKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": "test", "jwks_uri": is.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		is.jwksHits.Add(1)
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		is.mu.Lock()
		defer is.mu.Unlock()
		var keys []map[string]string
		for kid, k := range is.keys {
			keys = append(keys, map[string]string{
				"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
			})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *testIssuer) metadataURL() string { return is.srv.URL + "/.well-known/openid-configuration" }

// addKey publishes a new key; replace drops every other one (a rotation).
func (is *testIssuer) addKey(t testing.TB, kid string, replace bool) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	is.mu.Lock()
	defer is.mu.Unlock()
	if replace {
		clear(is.keys)
	}
	is.keys[kid] = k
	return k
}

func (is *testIssuer) key(kid string) *rsa.PrivateKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[kid]
}

// signRS256 signs claims with key under kid.
func signRS256(t testing.TB, key *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

const (
	tidA = "11111111-1111-1111-1111-111111111111"
	tidB = "22222222-2222-2222-2222-222222222222"
)

// entraClaimsFor are the claims of a good Entra provisioning token of tid.
func entraClaimsFor(tid string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": EntraIssuer(tid), "aud": EntraAudience, "tid": tid,
		"appid": EntraProvisioningApp, "sub": "provisioning",
		"iat": now.Add(-time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// logBuffer collects a logger's output, safe for concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is a Gate on a real SQLite state store, with its log.
type fixture struct {
	gate  *Gate
	store *sqlitestate.Store
	logs  *logBuffer
	path  string
}

const publicURL = "https://bridge.example.org"

func newFixture(t testing.TB, policies map[string]Policy) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	return newFixtureOn(t, path, policies)
}

// newFixtureOn opens another Gate (a replica) on the state file at path.
func newFixtureOn(t testing.TB, path string, policies map[string]Policy) *fixture {
	t.Helper()
	st, err := sqlitestate.Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	logs := &logBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug, JSONFormat: true})
	g := New(t.Context(), Options{PublicURL: publicURL, Store: st, Policies: policies, Logger: log,
		SecretTokens: fixedTokens{"acme": "scimb_acme-token"}})
	return &fixture{gate: g, store: st, logs: logs, path: path}
}

// fixedTokens stands in for package bridge's Secret Token check, tested
// there: one valid token per tenant.
type fixedTokens map[string]string

func (f fixedTokens) Authenticate(_ context.Context, tenant, token string) error {
	if f[tenant] != "" && f[tenant] == token {
		return nil
	}
	return scim.Errorf(http.StatusUnauthorized, "", "the bearer token is not valid for this tenant")
}

// require401 checks that token is refused on tenant with a 401 whose
// detail contains want, and that the log says why without the token.
func (f *fixture) require401(t testing.TB, tenant, token, want string) {
	t.Helper()
	err := f.gate.Authenticate(t.Context(), tenant, token)
	require.Error(t, err)
	se, ok := err.(*scim.Error)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, http.StatusUnauthorized, se.Status, se.Detail)
	require.Contains(t, se.Detail, want)
	require.NotContains(t, se.Detail, token)
	logs := f.logs.String()
	require.Contains(t, logs, want, "the log says why")
	require.NotContains(t, logs, token, "the log never holds the token")
}
