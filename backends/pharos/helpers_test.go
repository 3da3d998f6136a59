package pharos

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/backends/backendtest"
)

// fixture names the standard schema's columns for the contract suite.
var fixture = backendtest.Fixture{
	UserName: "login", ExternalID: "external_id", Mail: "email", Multi: "cards",
	GroupName: "name", GroupExternalID: "external_id", ConflictIDs: true,
}

// standardSchema is what the shipped entra-to-pharos mapping tells the
// backend: the tables of schema_*.sql.
func standardSchema() backends.Schema {
	return backends.Schema{
		Users: backends.KindSchema{
			Layout: map[string]any{
				"table": "users", "key": "id",
				"multiValued": map[string]any{
					"cards": map[string]any{"table": "cards", "key": "user_id", "value": "card_number"},
				},
			},
			Attrs: []backends.AttrSchema{
				{Name: "login", Unique: true}, {Name: "external_id", Unique: true}, {Name: "email"},
				{Name: "first_name"}, {Name: "last_name"}, {Name: "display_name"}, {Name: "title"},
				{Name: "department"}, {Name: "employee_number"}, {Name: "cost_center"}, {Name: "active"},
				{Name: "manager_id", Ref: backends.User}, {Name: "cards", Multi: true},
			},
		},
		Groups: backends.KindSchema{
			Layout: map[string]any{
				"table": "groups", "key": "id",
				"members": map[string]any{"table": "group_members", "group": "group_id", "member": "user_id"},
			},
			Attrs: []backends.AttrSchema{
				{Name: "name", Unique: true}, {Name: "external_id", Unique: true},
				{Name: backends.AttrMembers, Multi: true},
			},
		},
	}
}

func testLogger(tb testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: tb.Name(), Level: hclog.Warn, Output: testWriter{tb}})
}

// testWriter sends log lines to the test's log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// mustOpen opens a backend and closes it when the test ends.
func mustOpen(tb testing.TB, cfg backends.Config, schema backends.Schema) *Backend {
	tb.Helper()
	be, err := Driver{}.Open(context.Background(), cfg, schema, testLogger(tb))
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, be.Close()) })
	return be.(*Backend)
}

// newSQLite opens the standard schema in a fresh SQLite file.
func newSQLite(tb testing.TB) *Backend {
	tb.Helper()
	return mustOpen(tb, backends.Config{"dsn": filepath.Join(tb.TempDir(), "pharos.db")}, standardSchema())
}

// pgDSN returns the PostgreSQL test server's DSN. CI must run it; a
// developer without it is told how.
func pgDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("SCIMBRIDGE_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("SCIMBRIDGE_PG_DSN is not set, and CI must test PostgreSQL: start it with scripts/pg-start.sh")
		}
		tb.Skip("SCIMBRIDGE_PG_DSN is not set: `make test` starts PostgreSQL (scripts/pg-start.sh) and sets it")
	}
	return dsn
}

// newPGSchema creates a uniquely named PostgreSQL schema, dropped when the
// test ends, and returns a DSN whose search_path is that schema.
func newPGSchema(tb testing.TB) string {
	tb.Helper()
	base := pgDSN(tb)
	admin, err := sql.Open("pgx", base)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = admin.Close() })
	var r [6]byte
	_, _ = rand.Read(r[:])
	schema := "bt_" + hex.EncodeToString(r[:])
	ctx := context.Background()
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		require.NoError(tb, err)
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// newPostgres opens the standard schema in a fresh PostgreSQL schema.
func newPostgres(tb testing.TB) *Backend {
	tb.Helper()
	dsn := newPGSchema(tb)
	return mustOpen(tb, backends.Config{"driver": "postgres", "dsn": dsn, "init": true}, standardSchema())
}

// engines runs a test against SQLite and, when available, PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, open func(testing.TB) *Backend)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newSQLite) })
	t.Run("postgres", func(t *testing.T) {
		pgDSN(t)
		fn(t, newPostgres)
	})
}

// exec runs SQL on the backend's own pool, for arranging test data.
func exec(tb testing.TB, b *Backend, query string, args ...any) {
	tb.Helper()
	_, err := b.db.ExecContext(context.Background(), query, args...)
	require.NoError(tb, err, query)
}
