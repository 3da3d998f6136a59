package pharos

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// TestWithSchema: a changed mapping gets a backend over the same database
// pool; the pool outlives the first backend and closes with the last.
func TestWithSchema(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *Backend) {
		ctx := context.Background()
		b := open(t)
		schema := standardSchema()
		schema.Users.Attrs = append(schema.Users.Attrs, backends.AttrSchema{Name: "deprovisioned"})
		nb, err := b.WithSchema(ctx, schema)
		require.NoError(t, err)
		require.Same(t, b.db, nb.(*Backend).db, "the pool is shared")
		rec, err := nb.Create(ctx, backends.User, map[string][]string{"login": {"rebound"}, "deprovisioned": {"x"}})
		require.NoError(t, err)

		b.dbRefs.Add(1) // the test's cleanup closes b once more
		require.NoError(t, b.Close())
		got, err := nb.Get(ctx, backends.User, rec.ID, backends.Read{})
		require.NoError(t, err, "the pool outlives the first backend")
		require.Equal(t, []string{"x"}, got.Attrs["deprovisioned"])

		bad := standardSchema()
		bad.Users.Attrs = append(bad.Users.Attrs, backends.AttrSchema{Name: "no_such_column"})
		_, err = nb.(*Backend).WithSchema(ctx, bad)
		require.ErrorContains(t, err, "no_such_column", "a mapping the tables cannot hold is refused")
		require.NoError(t, nb.Close())
	})
}
