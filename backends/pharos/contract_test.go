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
