package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// dryRun runs `mapping test` for the stack's tenant and returns its output.
func (s *stack) dryRun(kind scim.Kind, body any) (string, error) {
	s.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(s.t, err)
	var out bytes.Buffer
	err = mappingTest(context.Background(), &out, s.cfgPath, "default", kind, raw)
	return out.String(), err
}

// TestMappingTestCreatesNothing: with init: true, a dry run against a
// store that does not exist yet fails and leaves no file, directory,
// schema or table behind.
func TestMappingTestCreatesNothing(t *testing.T) {
	user := fixture(t, "create-user")
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		dsn := filepath.Join(dir, "new", "pharos.db")
		s := &stack{t: t, cfgPath: dryRunConfig(t, `{ type: pharos, config: { driver: sqlite, dsn: '`+dsn+`', init: true } }`)}
		_, err := s.dryRun(scim.User, user)
		require.ErrorContains(t, err, "a dry run creates nothing")
		_, err = os.Stat(filepath.Dir(dsn))
		require.ErrorIs(t, err, os.ErrNotExist, "no directory created")
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := newPGSchema(t)
		s := &stack{t: t, cfgPath: dryRunConfig(t, `{ type: pharos, config: { driver: postgres, dsn: '`+dsn+`', init: true } }`)}
		_, err := s.dryRun(scim.User, user)
		require.Error(t, err)
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		defer db.Close()
		var n int
		require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&n))
		require.Zero(t, n, "no table created")
	})
}

// dryRunConfig writes a one-tenant config with the Pharos mapping.
func dryRunConfig(t *testing.T, backend string) string {
	t.Helper()
	dir := t.TempDir()
	mappingPath, err := filepath.Abs(filepath.Join(repoRoot, "configs/mappings/entra-to-pharos.yaml"))
	require.NoError(t, err)
	cfg := "state: { sqlite: { path: " + filepath.Join(dir, "state.db") + " } }\ntenants:\n  - name: default\n    backend: " + backend + "\n    mapping: " + mappingPath + "\n"
	path := filepath.Join(dir, "bridge.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path
}

// TestMappingTestWouldModify: on Pharos (both drivers), a user and a group
// that exist are shown as the changes the bridge would make, the same ones
// a POST naming them makes, and nothing is written.
func TestMappingTestWouldModify(t *testing.T) {
	forEachTarget(t, func(t *testing.T, s *stack) {
		user := fixture(t, "create-user")
		id := s.must(201, "POST", "/Users", user).body["id"].(string)
		out, err := s.dryRun(scim.User, user)
		require.NoError(t, err)
		require.Contains(t, out, "match externalId (external_id eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"): entry "+id)
		require.Contains(t, out, "would modify User "+id+": nothing (already up to date)")

		user["displayName"] = "Dry Run"
		out, err = s.dryRun(scim.User, user)
		require.NoError(t, err)
		require.Contains(t, out, "would modify User "+id+`: replace display_name = "Dry Run"`)
		require.Equal(t, "<null>", s.row("SELECT display_name FROM users WHERE id = ?", id)["display_name"], "nothing written")

		member := s.must(201, "POST", "/Users", fixture(t, "create-user-nulls")).body["id"].(string)
		group := map[string]any{"schemas": []any{scim.SchemaGroup}, "displayName": "Dry Group", "externalId": "g-1"}
		out, err = s.dryRun(scim.Group, group)
		require.NoError(t, err)
		require.Contains(t, out, "would create Group with:")
		require.Contains(t, out, `name = "Dry Group"`)
		gid := s.must(201, "POST", "/Groups", group).body["id"].(string)
		group["members"] = []any{map[string]any{"value": member}}
		out, err = s.dryRun(scim.Group, group)
		require.NoError(t, err)
		require.Contains(t, out, "would modify Group "+gid+": add members = \""+member+"\"")
		require.Zero(t, s.count("SELECT COUNT(*) FROM group_members WHERE group_id = ?", gid), "nothing written")

		s.must(204, "DELETE", "/Groups/"+url.PathEscape(gid), nil)
		_, err = s.dryRun(scim.Group, map[string]any{"externalId": "g-2"})
		require.ErrorContains(t, err, "displayName", "a body the bridge refuses is refused the same way")
	})
}

// TestLDAPMappingTestWouldModify: the same on slapd.
func TestLDAPMappingTestWouldModify(t *testing.T) {
	s := newLDAPStack(t)
	user := fixture(t, "create-user")
	id := s.must(201, "POST", "/Users", user).body["id"].(string)
	user["title"] = "Dry Runner"
	out, err := s.dryRun(scim.User, user)
	require.NoError(t, err)
	require.Contains(t, out, "would modify User "+id+`: replace title = "Dry Runner"`)
	require.Empty(t, s.entry("entryUUID", id).GetAttributeValues("title"), "nothing written")

	group := map[string]any{"schemas": []any{scim.SchemaGroup}, "displayName": "Dry LDAP Group", "externalId": "lg-1"}
	gid := s.must(201, "POST", "/Groups", group).body["id"].(string)
	group["members"] = []any{map[string]any{"value": id}}
	out, err = s.dryRun(scim.Group, group)
	require.NoError(t, err)
	require.Contains(t, out, "would modify Group "+gid+": add members = \""+id+"\"")

	out, err = s.dryRun(scim.User, fixture(t, "create-user-nulls"))
	require.NoError(t, err)
	require.Contains(t, out, "would create User with:")
	require.Len(t, s.entries("(objectClass=inetOrgPerson)"), 1, "nothing created")
}
