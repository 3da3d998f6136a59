package statetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

func newAudit(tenant, name string, n int) state.AuditRecord {
	return state.AuditRecord{
		Time: base.Add(time.Duration(n) * time.Second), Tenant: tenant, Op: "modify", Kind: "User",
		ID: fmt.Sprintf("id-%d", n), Name: name, Attrs: []string{"title", "mail"}, Outcome: "applied", RequestID: fmt.Sprintf("r%d", n),
	}
}

func testAudit(t *testing.T, open opener) {
	t.Run("NewestFirstPerTenant", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		ctx := t.Context()
		a1, b1, a2 := newAudit("acme", "alice@example.org", 1), newAudit("beta", "bob@example.org", 2), newAudit("acme", "ann@example.org", 3)
		a2.Attrs, a2.RequestID = nil, ""
		for _, r := range []state.AuditRecord{a1, b1, a2} {
			require.NoError(t, s.AppendAudit(ctx, r))
		}
		got, err := s.AuditRecords(ctx, "acme", "", 10)
		require.NoError(t, err)
		requireEqual(t, []state.AuditRecord{a2, a1}, got)
		got, err = s.AuditRecords(ctx, "acme", "", 1)
		require.NoError(t, err)
		requireEqual(t, []state.AuditRecord{a2}, got)
		got, err = s.AuditRecords(ctx, "nobody", "", 10)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("SearchByUser", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		ctx := t.Context()
		alice, ann, under := newAudit("acme", "Alice@Example.org", 1), newAudit("acme", "ann@example.org", 2), newAudit("acme", "a_b", 3)
		for _, r := range []state.AuditRecord{alice, ann, under} {
			require.NoError(t, s.AppendAudit(ctx, r))
		}
		got, err := s.AuditRecords(ctx, "acme", "ALICE", 10)
		require.NoError(t, err)
		requireEqual(t, []state.AuditRecord{alice}, got)
		// By id too.
		got, err = s.AuditRecords(ctx, "acme", "id-2", 10)
		require.NoError(t, err)
		requireEqual(t, []state.AuditRecord{ann}, got)
		// LIKE's wildcards are plain characters in a search.
		got, err = s.AuditRecords(ctx, "acme", "_", 10)
		require.NoError(t, err)
		requireEqual(t, []state.AuditRecord{under}, got)
		got, err = s.AuditRecords(ctx, "acme", "%", 10)
		require.NoError(t, err)
		require.Empty(t, got)
	})

	t.Run("Bounded", func(t *testing.T) {
		t.Parallel()
		if testing.Short() {
			t.Skip("appends state.AuditLimit records")
		}
		s := newTestStore(t, open)
		ctx := t.Context()
		extra := 250
		for i := range state.AuditLimit + extra {
			require.NoError(t, s.AppendAudit(ctx, newAudit("acme", "u", i)))
		}
		got, err := s.AuditRecords(ctx, "acme", "u", state.AuditLimit*2)
		require.NoError(t, err)
		// Trimming may lag by a batch, never by more.
		require.LessOrEqual(t, len(got), state.AuditLimit+100)
		require.GreaterOrEqual(t, len(got), state.AuditLimit)
		require.Equal(t, fmt.Sprintf("id-%d", state.AuditLimit+extra-1), got[0].ID)
	})

	t.Run("BadArguments", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		ctx := t.Context()
		require.Error(t, s.AppendAudit(ctx, state.AuditRecord{Op: "modify", Time: base}))
		require.Error(t, s.AppendAudit(ctx, state.AuditRecord{Tenant: "acme", Time: base}))
		_, err := s.AuditRecords(ctx, "", "", 10)
		require.Error(t, err)
		_, err = s.AuditRecords(ctx, "acme", "", 0)
		require.Error(t, err)
	})

	t.Run("MarkTokenUsedOnce", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		ctx := t.Context()
		tok := newToken("acme", "k1", 0)
		require.NoError(t, s.PutToken(ctx, tok))
		first := base.Add(time.Hour)
		require.NoError(t, s.MarkTokenUsed(ctx, "acme", "k1", first))
		// A shortened expiry (a regenerate) is kept by a later mark, and
		// the first use is never moved.
		tok.ExpiresAt, tok.FirstUsedAt = base.Add(2*time.Hour), first
		require.NoError(t, s.PutToken(ctx, tok))
		require.NoError(t, s.MarkTokenUsed(ctx, "acme", "k1", base.Add(3*time.Hour)))
		got, err := s.Tokens(ctx, "acme")
		require.NoError(t, err)
		requireEqual(t, []state.Token{tok}, got)
		// Unknown tokens are ignored.
		require.NoError(t, s.MarkTokenUsed(ctx, "acme", "nope", first))
		got, err = s.Tokens(ctx, "acme")
		require.NoError(t, err)
		require.Len(t, got, 1)
	})
}
