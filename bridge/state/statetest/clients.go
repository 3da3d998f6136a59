package statetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// newClient is tenant's client id, created at base+age, with n secrets.
func newClient(tenant, id string, age time.Duration, n int) state.Client {
	c := state.Client{Tenant: tenant, ID: id, Name: "client " + id, CreatedAt: base.Add(age)}
	for i := range n {
		c.Secrets = append(c.Secrets, state.ClientSecret{
			ID:        string(rune('a' + i)),
			Hash:      hashOf(tenant + "/" + id + "/" + string(rune('a'+i))),
			CreatedAt: base.Add(age + time.Duration(i)*time.Minute),
			ExpiresAt: base.Add(age + time.Duration(i)*time.Minute + 2*365*24*time.Hour),
		})
	}
	return c
}

func testClients(t *testing.T, open opener) {
	t.Run("UnknownTenantAndClient", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		got, err := s.Clients(t.Context(), "nobody")
		require.NoError(t, err)
		require.Empty(t, got)
		_, err = s.Client(t.Context(), "nobody", "c1")
		require.ErrorIs(t, err, state.ErrNotFound)
	})

	t.Run("PutGetList", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		c := newClient("acme", "c1", 0, 2)
		require.NoError(t, s.PutClient(t.Context(), c))
		got, err := s.Client(t.Context(), "acme", "c1")
		require.NoError(t, err)
		requireEqual(t, c, got)
		all, err := s.Clients(t.Context(), "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Client{c}, all)
	})

	t.Run("NoSecrets", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		c := newClient("acme", "c1", 0, 0)
		require.NoError(t, s.PutClient(t.Context(), c))
		got, err := s.Client(t.Context(), "acme", "c1")
		require.NoError(t, err)
		requireEqual(t, c, got)
	})

	t.Run("ReplaceKeepsOneRecord", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		c := newClient("acme", "c1", 0, 2)
		require.NoError(t, s.PutClient(t.Context(), c))
		c.Secrets = c.Secrets[1:] // a revoked secret is gone
		c.Name = "renamed"
		require.NoError(t, s.PutClient(t.Context(), c))
		all, err := s.Clients(t.Context(), "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Client{c}, all)
	})

	t.Run("OldestFirst", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		newest, middle, oldest := newClient("acme", "a", 3*time.Hour, 1), newClient("acme", "m", 2*time.Hour, 1), newClient("acme", "z", time.Hour, 1)
		for _, c := range []state.Client{middle, newest, oldest} {
			require.NoError(t, s.PutClient(t.Context(), c))
		}
		all, err := s.Clients(t.Context(), "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Client{oldest, middle, newest}, all)
	})

	t.Run("DeleteAndIsolation", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		a, b, other := newClient("acme", "c1", 0, 1), newClient("acme", "c2", time.Minute, 1), newClient("acme:c1", "c1", 0, 1)
		for _, c := range []state.Client{a, b, other} {
			require.NoError(t, s.PutClient(t.Context(), c))
		}
		require.ErrorIs(t, s.DeleteClient(t.Context(), "beta", "c1"), state.ErrNotFound)
		require.NoError(t, s.DeleteClient(t.Context(), "acme", "c1"))
		require.ErrorIs(t, s.DeleteClient(t.Context(), "acme", "c1"), state.ErrNotFound, "deleted twice")
		all, err := s.Clients(t.Context(), "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Client{b}, all)
		all, err = s.Clients(t.Context(), "acme:c1")
		require.NoError(t, err)
		requireEqual(t, []state.Client{other}, all)
	})

	t.Run("InvalidInput", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		noHash := newClient("acme", "c1", 0, 1)
		noHash.Secrets[0].Hash = ""
		for _, tc := range []struct {
			name string
			c    state.Client
		}{
			{"empty tenant", newClient("", "c1", 0, 1)},
			{"empty id", newClient("acme", "", 0, 1)},
			{"secret without hash", noHash},
		} {
			require.Error(t, s.PutClient(t.Context(), tc.c), tc.name)
		}
		all, err := s.Clients(t.Context(), "acme")
		require.NoError(t, err)
		require.Empty(t, all, "nothing is stored")
	})
}

func newSigningKey(id string, age time.Duration) state.SigningKey {
	return state.SigningKey{ID: id, Secret: []byte("secret of " + id + "\x00\xff"), CreatedAt: base.Add(age), ExpiresAt: base.Add(age + 30*time.Hour)}
}

func testSigningKeys(t *testing.T, open opener) {
	t.Run("AddListDelete", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		got, err := s.SigningKeys(t.Context())
		require.NoError(t, err)
		require.Empty(t, got)
		newer, older := newSigningKey("a", time.Hour), newSigningKey("z", 0)
		require.NoError(t, s.AddSigningKey(t.Context(), newer))
		require.NoError(t, s.AddSigningKey(t.Context(), older))
		got, err = s.SigningKeys(t.Context())
		require.NoError(t, err)
		requireEqual(t, []state.SigningKey{older, newer}, got)
		require.NoError(t, s.DeleteSigningKey(t.Context(), "z"))
		require.ErrorIs(t, s.DeleteSigningKey(t.Context(), "z"), state.ErrNotFound)
		got, err = s.SigningKeys(t.Context())
		require.NoError(t, err)
		requireEqual(t, []state.SigningKey{newer}, got)
	})

	t.Run("FirstAddWins", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		first := newSigningKey("k", 0)
		second := newSigningKey("k", time.Hour)
		second.Secret = []byte("another replica's secret")
		require.NoError(t, s.AddSigningKey(t.Context(), first))
		require.ErrorIs(t, s.AddSigningKey(t.Context(), second), state.ErrConflict)
		got, err := s.SigningKeys(t.Context())
		require.NoError(t, err)
		requireEqual(t, []state.SigningKey{first}, got)
	})

	t.Run("InvalidInput", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.Error(t, s.AddSigningKey(t.Context(), state.SigningKey{ID: "", Secret: []byte("x")}))
		require.Error(t, s.AddSigningKey(t.Context(), state.SigningKey{ID: "k"}))
		got, err := s.SigningKeys(t.Context())
		require.NoError(t, err)
		require.Empty(t, got)
	})
}
