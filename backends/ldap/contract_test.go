package ldap

import (
	"testing"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/backends/backendtest"
)

// TestContract runs the backend contract against a real slapd, each case
// in an OU of its own, with the shipped OpenLDAP layout.
func TestContract(t *testing.T) {
	requireServer(t)
	backendtest.Run(t, backendtest.Fixture{
		UserName: "uid", ExternalID: "scimExternalId", Mail: "mail", Multi: "description",
		GroupName: "cn", GroupExternalID: "scimExternalId",
		UserExtra:   map[string][]string{"sn": {"Tester"}, "cn": {"Test User"}},
		ConflictIDs: true,
	}, func(tb testing.TB) backends.Backend {
		b, _ := newTestBackend(tb)
		return b
	})
}
