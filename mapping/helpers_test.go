package mapping

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

const pharosMapping = "../configs/mappings/entra-to-pharos.yaml"

// mustLoad loads a mapping file and fails the test on any error.
func mustLoad(tb testing.TB, path string) *Mapping {
	tb.Helper()
	m, err := Load(path)
	require.NoError(tb, err)
	return m
}

// mustParse compiles a mapping from source.
func mustParse(tb testing.TB, src string) *Mapping {
	tb.Helper()
	m, err := Parse("test.yaml", []byte(src))
	require.NoError(tb, err)
	return m
}

// mustDecode decodes a SCIM request body the way the bridge does.
func mustDecode(tb testing.TB, kind scim.Kind, body string) scim.Resource {
	tb.Helper()
	r, err := scim.Decode(kind, []byte(body))
	require.NoError(tb, err)
	return r
}

// minimalGroups is a valid groups section for tests about users.
const minimalGroups = `
groups:
  target: {table: groups, key: id}
  attributes:
    - {scim: displayName, target: name, match: 1}
`

// minimalUsers is a valid users section for tests about groups.
const minimalUsers = `
users:
  target: {table: users, key: id}
  attributes:
    - {scim: externalId, target: external_id, match: 1}
    - {scim: userName, target: login, match: 2}
`

// usersWith is a valid mapping whose users section has the natural keys
// plus the given attribute list items (YAML, indented by four spaces).
func usersWith(items string) string {
	return `
users:
  target: {table: users, key: id}
  attributes:
    - {scim: externalId, target: external_id, match: 1}
    - {scim: userName, target: login, match: 2}
` + items + minimalGroups
}

// recordOf wraps target attributes into a record with an id.
func recordOf(attrs map[string][]string) backends.Record {
	return backends.Record{ID: "1", Attrs: attrs}
}
