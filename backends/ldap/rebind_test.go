package ldap

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// TestWithSchema: a changed mapping gets a backend over the same pool; the
// pool outlives the first backend and closes with the last.
func TestWithSchema(t *testing.T) {
	ctx := context.Background()
	b, _ := newTestBackend(t)
	schema := testSchema()
	schema.Users.Attrs = append(schema.Users.Attrs, backends.AttrSchema{Name: "employeeNumber"})
	nb, err := b.WithSchema(ctx, schema)
	require.NoError(t, err)
	require.Same(t, b.pool, nb.(*Backend).pool, "the pool is shared")

	rec, err := nb.Create(ctx, backends.User, map[string][]string{"uid": {"rebound"}, "sn": {"R"}, "cn": {"R"}, "employeeNumber": {"42"}})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	got, err := nb.Get(ctx, backends.User, rec.ID, backends.Read{})
	require.NoError(t, err, "the pool outlives the first backend")
	require.Equal(t, []string{"42"}, got.Attrs["employeeNumber"])
	require.NoError(t, nb.Close())
	_, err = nb.Get(ctx, backends.User, rec.ID, backends.Read{})
	require.Error(t, err, "closed with the last backend")

	bad := testSchema()
	bad.Users.Layout = map[string]any{"rdn": "uid"}
	_, err = b.WithSchema(ctx, bad)
	require.Error(t, err, "a layout that does not compile is refused")
}
