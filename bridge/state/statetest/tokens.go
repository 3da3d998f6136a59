package statetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

func testTokens(t *testing.T, open opener) {
	t.Run("ListUnknownTenant", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		got, err := s.Tokens(t.Context(), "nobody")
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("PutAndList", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		tok := newToken("acme", "k1", 0)
		require.NoError(t, s.PutToken(t.Context(), tok))
		got, err := s.Tokens(t.Context(), "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Token{tok}, got)
	})

	t.Run("OldestFirst", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		// IDs in the opposite order to ages, and put in neither order, so
		// that neither insertion order nor ID order passes for age order.
		newest := newToken("acme", "a", 3*time.Hour)
		middle := newToken("acme", "m", 2*time.Hour)
		oldest := newToken("acme", "z", time.Hour)
		for _, tok := range []state.Token{middle, newest, oldest} {
			require.NoError(t, s.PutToken(t.Context(), tok))
		}
		got, err := s.Tokens(t.Context(), "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Token{oldest, middle, newest}, got)
	})

	t.Run("ReplaceSameID", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		first := newToken("acme", "k1", 0)
		other := newToken("acme", "k2", time.Minute)
		second := newToken("acme", "k1", 2*time.Minute) // new hash and times
		for _, tok := range []state.Token{first, other, second} {
			require.NoError(t, s.PutToken(t.Context(), tok))
		}
		got, err := s.Tokens(t.Context(), "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Token{other, second}, got)
	})

	t.Run("ExpiredListed", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		tok := newToken("acme", "old", 0)
		tok.CreatedAt = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		tok.ExpiresAt = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
		require.NoError(t, s.PutToken(t.Context(), tok))
		got, err := s.Tokens(t.Context(), "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Token{tok}, got)
	})

	t.Run("MillisecondTimes", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		tok := newToken("acme", "k1", 0)
		tok.CreatedAt = base.Add(1234567 * time.Nanosecond).In(time.FixedZone("CET", 3600))
		tok.ExpiresAt = base.Add(time.Hour + 999999*time.Nanosecond)
		require.NoError(t, s.PutToken(t.Context(), tok))
		got, err := s.Tokens(t.Context(), "acme")
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.WithinDuration(t, tok.CreatedAt, got[0].CreatedAt, time.Millisecond)
		require.WithinDuration(t, tok.ExpiresAt, got[0].ExpiresAt, time.Millisecond)
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		a, b := newToken("acme", "a", 0), newToken("acme", "b", time.Minute)
		require.NoError(t, s.PutToken(t.Context(), a))
		require.NoError(t, s.PutToken(t.Context(), b))
		require.NoError(t, s.DeleteToken(t.Context(), "acme", "a"))
		got, err := s.Tokens(t.Context(), "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Token{b}, got)
	})

	t.Run("DeleteUnknown", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.NoError(t, s.PutToken(t.Context(), newToken("acme", "k1", 0)))
		for _, tc := range []struct{ name, tenant, id string }{
			{"unknown id", "acme", "nope"},
			{"unknown tenant", "other", "k1"},
		} {
			err := s.DeleteToken(t.Context(), tc.tenant, tc.id)
			require.ErrorIs(t, err, state.ErrNotFound, tc.name)
		}
		require.NoError(t, s.DeleteToken(t.Context(), "acme", "k1"))
		require.ErrorIs(t, s.DeleteToken(t.Context(), "acme", "k1"), state.ErrNotFound, "deleted twice")
	})

	t.Run("TenantsIsolated", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		// Same ID in two tenants, and names that collide if an
		// implementation joins tenant and ID with a separator or matches
		// tenants by pattern.
		toks := []state.Token{
			newToken("acme", "k1", 0),
			newToken("beta", "k1", time.Minute),
			newToken("acme:k1", "x", 2*time.Minute),
			newToken("acme", "k1:x", 3*time.Minute),
			newToken("acm*", "k1", 4*time.Minute),
			newToken("acm_", "k1", 5*time.Minute),
			newToken("acm%", "k1", 6*time.Minute),
		}
		for _, tok := range toks {
			require.NoError(t, s.PutToken(t.Context(), tok))
		}
		want := map[string][]state.Token{
			"acme":    {toks[0], toks[3]},
			"beta":    {toks[1]},
			"acme:k1": {toks[2]},
			"acm*":    {toks[4]},
			"acm_":    {toks[5]},
			"acm%":    {toks[6]},
			"acm":     nil,
		}
		check := func() {
			t.Helper()
			for tenant, w := range want {
				got, err := s.Tokens(t.Context(), tenant)
				require.NoError(t, err, tenant)
				if d := cmpDiff(w, got); d != "" {
					t.Fatalf("tenant %q (-want +got):\n%s", tenant, d)
				}
			}
		}
		check()
		require.NoError(t, s.DeleteToken(t.Context(), "acme", "k1"))
		want["acme"] = []state.Token{toks[3]}
		check()
	})

	t.Run("SpecialCharacters", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		tok := newToken("o'brien\"; DROP TABLE tokens; --", "ü/ß?#%\x00\n ", 0)
		require.NoError(t, s.PutToken(t.Context(), tok))
		got, err := s.Tokens(t.Context(), tok.Tenant)
		require.NoError(t, err)
		requireEqual(t, []state.Token{tok}, got)
		require.NoError(t, s.DeleteToken(t.Context(), tok.Tenant, tok.ID))
	})

	t.Run("InvalidInput", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		for _, tc := range []struct {
			name string
			tok  state.Token
		}{
			{"empty tenant", newToken("", "k1", 0)},
			{"empty id", newToken("acme", "", 0)},
		} {
			require.Error(t, s.PutToken(t.Context(), tc.tok), tc.name)
			got, err := s.Tokens(t.Context(), tc.tok.Tenant)
			require.NoError(t, err)
			require.Empty(t, got, "%s: nothing is stored", tc.name)
		}
	})
}
