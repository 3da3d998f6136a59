package pharos

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

func addCard(id, card string) backends.RecordChanges {
	return backends.RecordChanges{ID: id, Changes: []backends.Change{{Op: backends.Add, Attr: "cards", Values: []string{card}}}}
}

// TestModifyBatch: one transaction, a savepoint per record: the records
// the database refuses are reported and left as they were, the others
// are committed together; a dry run keeps nothing; a batch that fails as
// a whole keeps nothing either.
func TestModifyBatch(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *Backend) {
		ctx := context.Background()
		b := open(t)
		alice, err := b.Create(ctx, backends.User, map[string][]string{"login": {"alice"}, "cards": {"AB12"}})
		require.NoError(t, err)
		bob, err := b.Create(ctx, backends.User, map[string][]string{"login": {"bob"}})
		require.NoError(t, err)
		cards := func(id string) []string {
			r, err := b.Get(ctx, backends.User, id, backends.Read{})
			require.NoError(t, err)
			return r.Attrs["cards"]
		}

		batch := []backends.RecordChanges{
			addCard(bob.ID, "B1"),
			addCard(bob.ID, "ab12"), // alice's: the unique index
			addCard("no-such-id", "C1"),
			addCard(bob.ID, "bad\x00card"),
			addCard(alice.ID, "B1"), // bob's since the first record of this batch
			addCard(alice.ID, "A2"),
			{ID: bob.ID, Changes: []backends.Change{{Op: backends.Replace, Attr: "nope", Values: []string{"x"}}}},
		}
		errs, err := b.ModifyBatch(ctx, backends.User, batch, true)
		require.NoError(t, err)
		require.Len(t, errs, len(batch))
		require.Empty(t, cards(bob.ID), "dry run")
		require.Equal(t, []string{"AB12"}, cards(alice.ID), "dry run")

		errs, err = b.ModifyBatch(ctx, backends.User, batch, false)
		require.NoError(t, err)
		require.NoError(t, errs[0])
		var ce *backends.ConflictError
		require.ErrorAs(t, errs[1], &ce)
		require.Equal(t, "cards", ce.Attr)
		require.Equal(t, alice.ID, ce.ID, "the holder is named")
		require.ErrorIs(t, errs[2], backends.ErrNotFound)
		var ie *backends.InvalidError
		require.ErrorAs(t, errs[3], &ie)
		require.ErrorAs(t, errs[4], &ce)
		require.Equal(t, bob.ID, ce.ID, "a holder written earlier in the same transaction")
		require.NoError(t, errs[5])
		require.ErrorAs(t, errs[6], &ie)
		require.Equal(t, []string{"B1"}, cards(bob.ID))
		require.Equal(t, []string{"A2", "AB12"}, cards(alice.ID))

		// The same batch again: present values are kept, nothing fails
		// that did not before.
		errs, err = b.ModifyBatch(ctx, backends.User, batch[:1], false)
		require.NoError(t, err)
		require.NoError(t, errs[0])
		require.Equal(t, []string{"B1"}, cards(bob.ID))

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err = b.ModifyBatch(cancelled, backends.User, []backends.RecordChanges{addCard(bob.ID, "Z9")}, false)
		require.ErrorIs(t, err, backends.ErrUnavailable)
		require.Equal(t, []string{"B1"}, cards(bob.ID))

		_, err = b.ModifyBatch(ctx, backends.Group, nil, false)
		require.NoError(t, err, "an empty batch of a stored kind")
	})
}
