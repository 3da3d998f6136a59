package pharos

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// TestOpenReadOnly: a dry run's backend creates no store (init ignored),
// reads what exists, and refuses writes in the backend and in the
// database connections themselves.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "new", "pharos.db")
	_, err := Driver{}.OpenReadOnly(ctx, backends.Config{"dsn": missing, "init": true}, standardSchema(), testLogger(t))
	require.ErrorContains(t, err, "a dry run creates nothing")
	_, err = os.Stat(filepath.Dir(missing))
	require.True(t, errors.Is(err, os.ErrNotExist), "no directory created")

	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) backends.Config
	}{
		{"sqlite", func(t *testing.T) backends.Config {
			dsn := filepath.Join(t.TempDir(), "pharos.db")
			mustOpen(t, backends.Config{"dsn": dsn}, standardSchema())
			return backends.Config{"dsn": dsn}
		}},
		{"postgres", func(t *testing.T) backends.Config {
			dsn := newPGSchema(t)
			mustOpen(t, backends.Config{"driver": "postgres", "dsn": dsn, "init": true}, standardSchema())
			return backends.Config{"driver": "postgres", "dsn": dsn}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg(t)
			be, err := Driver{}.OpenReadOnly(ctx, cfg, standardSchema(), testLogger(t))
			require.NoError(t, err)
			defer be.Close()
			_, total, err := be.Find(ctx, backends.Query{Kind: backends.User})
			require.NoError(t, err)
			require.Zero(t, total)
			_, err = be.Create(ctx, backends.User, map[string][]string{"login": {"x"}})
			require.ErrorIs(t, err, backends.ErrUnsupported)
			require.ErrorIs(t, be.Modify(ctx, backends.Record{Kind: backends.User, ID: "1"}, nil), backends.ErrUnsupported)
			require.ErrorIs(t, be.Delete(ctx, backends.User, "1"), backends.ErrUnsupported)

			// The connections refuse writes too.
			c, err := decodeConfig(cfg)
			require.NoError(t, err)
			param := "_pragma=query_only(1)"
			if c.Driver == DriverPostgres {
				param = "default_transaction_read_only=on"
			}
			db, err := openDB(c.Driver, withParam(c.DSN, param))
			require.NoError(t, err)
			defer db.Close()
			_, err = db.ExecContext(ctx, "CREATE TABLE dry_run_probe (x INTEGER)")
			require.Error(t, err)
		})
	}
}
