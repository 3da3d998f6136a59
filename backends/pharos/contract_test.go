package pharos

import (
	"testing"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/backends/backendtest"
)

func TestContractSQLite(t *testing.T) {
	backendtest.Run(t, fixture, func(tb testing.TB) backends.Backend { return newSQLite(tb) })
}

func TestContractPostgres(t *testing.T) {
	pgDSN(t)
	backendtest.Run(t, fixture, func(tb testing.TB) backends.Backend { return newPostgres(tb) })
}

// TestContractSQLiteMemory runs the contract on an in-memory database,
// held on a single connection: no statement may wait for a second one.
func TestContractSQLiteMemory(t *testing.T) {
	backendtest.Run(t, fixture, func(tb testing.TB) backends.Backend {
		return mustOpen(tb, backends.Config{"dsn": ":memory:"}, standardSchema())
	})
}
