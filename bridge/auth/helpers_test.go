package auth

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state/sqlitestate"
)

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
		SecretTokens: fixedTokens{"acme": acmeSecretToken}})
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

// acmeSecretToken is the one Secret Token the fixture's tenant acme takes.
const acmeSecretToken = "scimb_acme-token"
