package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// The mapping's match: numbers decide which natural key a create tries
// first (Entra's matching precedence), on every target, over HTTP.

// swappedMatch writes a copy of a shipped mapping whose users match by
// userName first and externalId second (the users block comes first in
// every shipped mapping, so its match: 1 and match: 2 are the first ones).
func swappedMatch(t testing.TB, file string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, file))
	require.NoError(t, err)
	s := strings.Replace(strings.Replace(strings.Replace(string(src),
		"match: 1", "match: @", 1), "match: 2", "match: 1", 1), "match: @", "match: 2", 1)
	path := filepath.Join(t.TempDir(), filepath.Base(file))
	require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
	return path
}

// matchOrder checks one bridge: externalIdFirst says which order its
// mapping gives.
func matchOrder(t *testing.T, s *stack, externalIdFirst bool) {
	t.Helper()
	svc := s.app.services[0]
	require.Equal(t, map[bool]string{true: "externalId", false: "userName"}[externalIdFirst], svc.Mapping().MatchKeys(scim.User)[0].Path.String())
	tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	body := func(ext, upn string) map[string]any {
		u := fixture(t, "create-user")
		delete(u, "externalId")
		if ext != "" {
			u["externalId"] = ext
		}
		u["userName"], u["displayName"] = upn, "Match "+upn
		return u
	}
	storedExt := func(id string) any {
		t.Helper()
		rec, err := svc.Backend().Get(t.Context(), backends.User, id, backends.Read{})
		require.NoError(t, err)
		res, err := svc.Mapping().ToResource(scim.User, rec)
		require.NoError(t, err)
		return res["externalId"]
	}

	// An entry without an externalId (there before Entra, or created by
	// another client), then Entra's POST with its userName.
	upn := "early-" + tag + "@testuser.com"
	early := s.must(201, "POST", "/Users", body("", upn)).body["id"].(string)
	ext := uuid.NewString()
	if externalIdFirst {
		require.Equal(t, "uniqueness", s.must(409, "POST", "/Users", body(ext, upn)).body["scimType"], "the userName belongs to another entry")
		require.Nil(t, storedExt(early))
	} else {
		require.Equal(t, early, s.must(201, "POST", "/Users", body(ext, upn)).body["id"], "userName first: the entry is the create's identity")
		require.Equal(t, ext, storedExt(early), "and linked to the externalId")
	}

	// A POST of a known externalId under a new userName.
	ext2, first, second := uuid.NewString(), "first-"+tag+"@testuser.com", "second-"+tag+"@testuser.com"
	id := s.must(201, "POST", "/Users", body(ext2, first)).body["id"].(string)
	if externalIdFirst {
		require.Equal(t, id, s.must(201, "POST", "/Users", body(ext2, second)).body["id"], "externalId first: a retried create, applied")
		require.Len(t, resources(t, s.must(200, "GET", "/Users"+filterQ(`userName eq "`+second+`"`), nil)), 1)
	} else {
		require.Equal(t, "uniqueness", s.must(409, "POST", "/Users", body(ext2, second)).body["scimType"], "userName first: a new user whose externalId is taken")
		require.Empty(t, resources(t, s.must(200, "GET", "/Users"+filterQ(`userName eq "`+second+`"`), nil)))
	}
}

func TestMatchOrderOnEveryTarget(t *testing.T) {
	both := func(t *testing.T, file string, mk func(t *testing.T, mappingPath string) *stack) {
		t.Run("shipped", func(t *testing.T) { matchOrder(t, mk(t, file), true) })
		t.Run("userName-first", func(t *testing.T) { matchOrder(t, mk(t, swappedMatch(t, file)), false) })
	}
	for i, tg := range targets(t) {
		t.Run([]string{"pharos-sqlite", "pharos-postgres"}[i], func(t *testing.T) {
			both(t, "configs/mappings/entra-to-pharos.yaml", func(t *testing.T, mp string) *stack {
				g := tg(t)
				return newBridge(t, `{ type: pharos, config: { driver: `+g.driver+`, dsn: '`+g.dsn+`', init: true } }`, mp)
			})
		})
	}
	for _, d := range []struct{ name, prefix, server, mapping string }{
		{"openldap", "SCIMBRIDGE_LDAP", "slapd", "configs/mappings/entra-to-openldap.yaml"},
		{"389ds", "SCIMBRIDGE_389DS", "389 DS", "configs/mappings/entra-to-389ds.yaml"},
	} {
		t.Run(d.name, func(t *testing.T) {
			both(t, d.mapping, func(t *testing.T, mp string) *stack {
				return newBridge(t, newDirectorySubtree(t, d.prefix, d.server).backend(), mp)
			})
		})
	}
	t.Run("active-directory", func(t *testing.T) {
		both(t, "configs/mappings/entra-to-active-directory.yaml", func(t *testing.T, mp string) *stack {
			return newBridge(t, newADSubtree(t).backend, mp)
		})
	})
}

// Fifty people sharing five display names, created at once through two
// replicas with state stores of their own, on the targets whose shipped
// mappings keep no display-derived value unique (AD's own namesakes are
// TestADNamesakes): every one 201, read back with its display name.
func TestNamesakesOnEveryTarget(t *testing.T) {
	run := func(t *testing.T, backend, mp string, longNames bool) {
		a, b := newBridge(t, backend, mp), newBridge(t, backend, mp)
		tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
		names := []string{"Ana Silva", "João Souza", "Li Wei", "Maria Garcia", "Mohammed Ali"}
		people := make([]map[string]any, 50)
		for i := range people {
			u := fixture(t, "create-user")
			u["externalId"], u["userName"], u["displayName"] = uuid.NewString(), fmt.Sprintf("ns-%s-%02d@testuser.com", tag, i), names[i%5]
			people[i] = u
		}
		ids := createAtOnce(t, people, a, b)
		svc := a.app.services[0]
		seen := map[string]bool{}
		for i, id := range ids {
			require.False(t, seen[id], "two creates, one entry")
			seen[id] = true
			rec, err := svc.Backend().Get(t.Context(), backends.User, id, backends.Read{})
			require.NoError(t, err)
			res, err := svc.Mapping().ToResource(scim.User, rec)
			require.NoError(t, err)
			require.Equal(t, names[i%5], res["displayName"])
		}
		for _, n := range names {
			require.Len(t, resources(t, a.must(200, "GET", "/Users"+filterQ(`displayName eq "`+n+`" and userName sw "ns-`+tag+`"`), nil)), 10, n)
		}
		if !longNames {
			return
		}
		// userNames too long for a DN (the RDN is then scimBridgeKey, a
		// hash of the folded name) that share their first 400 characters:
		// both 201; the same long name under another externalId is the
		// userName's 409, never a DN clash.
		prefix := "long-" + tag + "-" + strings.Repeat("x", 400)
		var longIDs []string
		for _, end := range []string{"-a@testuser.com", "-b@testuser.com"} {
			u := fixture(t, "create-user")
			u["externalId"], u["userName"] = uuid.NewString(), prefix+end
			longIDs = append(longIDs, b.must(201, "POST", "/Users", u).body["id"].(string))
			rec, err := svc.Backend().Get(t.Context(), backends.User, longIDs[len(longIDs)-1], backends.Read{})
			require.NoError(t, err)
			res, err := svc.Mapping().ToResource(scim.User, rec)
			require.NoError(t, err)
			require.Equal(t, prefix+end, res["userName"])
		}
		require.NotEqual(t, longIDs[0], longIDs[1])
		u := fixture(t, "create-user")
		u["externalId"], u["userName"] = uuid.NewString(), strings.ToUpper(prefix+"-a@testuser.com")
		require.Equal(t, "uniqueness", a.must(409, "POST", "/Users", u).body["scimType"])
	}
	for i, tg := range targets(t) {
		t.Run([]string{"pharos-sqlite", "pharos-postgres"}[i], func(t *testing.T) {
			g := tg(t)
			run(t, `{ type: pharos, config: { driver: `+g.driver+`, dsn: '`+g.dsn+`', init: true } }`, "configs/mappings/entra-to-pharos.yaml", false)
		})
	}
	t.Run("openldap", func(t *testing.T) {
		run(t, newDirectorySubtree(t, "SCIMBRIDGE_LDAP", "slapd").backend(), "configs/mappings/entra-to-openldap.yaml", true)
	})
	t.Run("389ds", func(t *testing.T) {
		run(t, newDirectorySubtree(t, "SCIMBRIDGE_389DS", "389 DS").backend(), "configs/mappings/entra-to-389ds.yaml", true)
	})
}
