package bridge

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state/sqlitestate"
)

func newTestTokens(t *testing.T) (*Tokens, *sqlitestate.Store, *time.Time) {
	t.Helper()
	st, err := sqlitestate.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tk := NewTokens(st, 365*24*time.Hour, 24*time.Hour, nil)
	tk.now = func() time.Time { return now }
	return tk, st, &now
}

func requireStatus(t *testing.T, err error, status int) *scim.Error {
	t.Helper()
	var se *scim.Error
	require.True(t, errors.As(err, &se), "want a *scim.Error, got %v", err)
	require.Equal(t, status, se.Status)
	return se
}

func TestTokenGenerateStoresOnlyTheHash(t *testing.T) {
	tk, st, now := newTestTokens(t)
	ctx := context.Background()
	token, rec, err := tk.Generate(ctx, "acme")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(token, TokenPrefix))
	require.Len(t, token, len(TokenPrefix)+43, "256 bits, base64url")
	require.Equal(t, now.Add(365*24*time.Hour), rec.ExpiresAt)

	stored, err := st.Tokens(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, stored, 1)
	require.Equal(t, HashToken(token), stored[0].Hash)
	require.NotContains(t, stored[0].Hash, token[len(TokenPrefix):])

	other, _, err := tk.Generate(ctx, "acme")
	require.NoError(t, err)
	require.NotEqual(t, token, other, "tokens are random")
}

func TestTokenAuthenticate(t *testing.T) {
	tk, _, now := newTestTokens(t)
	ctx := context.Background()
	token, _, err := tk.Generate(ctx, "acme")
	require.NoError(t, err)
	other, _, err := tk.Generate(ctx, "other")
	require.NoError(t, err)

	require.NoError(t, tk.Authenticate(ctx, "acme", token))
	for name, bad := range map[string]string{
		"empty":            "",
		"prefix":           token[:len(token)-1],
		"longer":           token + "A",
		"other tenant's":   other,
		"hash as token":    HashToken(token),
		"case changed":     strings.ToUpper(token),
		"without prefix":   strings.TrimPrefix(token, TokenPrefix),
		"whitespace added": token + " ",
	} {
		t.Run(name, func(t *testing.T) {
			se := requireStatus(t, tk.Authenticate(ctx, "acme", bad), 401)
			require.NotContains(t, se.Detail, "expired")
		})
	}

	// A year later the token has expired: 401 saying so.
	*now = now.Add(365*24*time.Hour + time.Second)
	se := requireStatus(t, tk.Authenticate(ctx, "acme", token), 401)
	require.Contains(t, se.Detail, "expired")
	require.Contains(t, se.Detail, "token regenerate")
}

func TestTokenRegenerateKeepsTheOldOneForTheGracePeriod(t *testing.T) {
	tk, _, now := newTestTokens(t)
	ctx := context.Background()
	old, _, err := tk.Generate(ctx, "acme")
	require.NoError(t, err)
	*now = now.Add(100 * 24 * time.Hour)
	fresh, rec, err := tk.Regenerate(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, now.Add(365*24*time.Hour), rec.ExpiresAt)

	require.NoError(t, tk.Authenticate(ctx, "acme", old), "old token works during the grace period")
	require.NoError(t, tk.Authenticate(ctx, "acme", fresh))

	*now = now.Add(24*time.Hour + time.Second)
	requireStatus(t, tk.Authenticate(ctx, "acme", old), 401)
	require.NoError(t, tk.Authenticate(ctx, "acme", fresh), "the new token keeps working")

	list, err := tk.List(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 2)
}

func TestTokenCacheSurvivesAStoreOutage(t *testing.T) {
	tk, st, _ := newTestTokens(t)
	ctx := context.Background()
	token, _, err := tk.Generate(ctx, "acme")
	require.NoError(t, err)
	require.NoError(t, tk.Authenticate(ctx, "acme", token)) // fills the cache

	require.NoError(t, st.Close()) // the state store goes away
	tk.now = func() time.Time { return time.Now().Add(time.Hour) }
	require.NoError(t, tk.Authenticate(ctx, "acme", token), "last known tokens keep Entra in")
	requireStatus(t, tk.Authenticate(ctx, "acme", "scimb_wrong"), 401)
	// A tenant never seen while the store was up: 503, not 401 (Entra
	// would quarantine the job on a 401).
	requireStatus(t, tk.Authenticate(ctx, "never-seen", token), 503)
}

func TestExpiryWarning(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		left time.Duration
		want time.Duration
	}{
		{60 * day, 0}, {31 * day, 0}, {30 * day, 30 * day}, {20 * day, 30 * day},
		{14 * day, 14 * day}, {8 * day, 14 * day}, {7 * day, 7 * day}, {time.Hour, 7 * day}, {-day, 7 * day},
	} {
		require.Equal(t, c.want, ExpiryWarning(c.left), "left %v", c.left)
	}
}

func TestEnsureTokenOnlyOnce(t *testing.T) {
	tk, _, _ := newTestTokens(t)
	ctx := context.Background()
	token, created, err := tk.EnsureToken(ctx, "acme")
	require.NoError(t, err)
	require.True(t, created)
	require.NoError(t, tk.Authenticate(ctx, "acme", token))
	again, created, err := tk.EnsureToken(ctx, "acme")
	require.NoError(t, err)
	require.False(t, created)
	require.Empty(t, again)
}

// A token's first use is recorded once, so the console can say when Entra
// switched to a regenerated token.
func TestTokenFirstUseIsRecorded(t *testing.T) {
	tk, st, now := newTestTokens(t)
	ctx := context.Background()
	tok, rec, err := tk.Generate(ctx, "acme")
	require.NoError(t, err)
	toks, err := st.Tokens(ctx, "acme")
	require.NoError(t, err)
	require.True(t, toks[0].FirstUsedAt.IsZero(), "not used yet")

	first := *now
	require.NoError(t, tk.Authenticate(ctx, "acme", tok))
	*now = now.Add(time.Hour)
	tk.forget("acme")
	require.NoError(t, tk.Authenticate(ctx, "acme", tok))
	toks, err = st.Tokens(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, rec.ID, toks[0].ID)
	require.Equal(t, first.UTC().Truncate(time.Millisecond), toks[0].FirstUsedAt)
}
