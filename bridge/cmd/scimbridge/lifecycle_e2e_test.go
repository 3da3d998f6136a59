package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// These tests take Entra's unassign and reassign through every target
// with the policies that keep a deleted entry (docs/design.md §3,
// "Deprovisioning"), and AD's namesakes through the shipped AD mapping,
// reading the directory back after each step.

// variantMapping writes a copy of a shipped mapping with each old text
// (which must be there) replaced by its new one, and returns its path.
func variantMapping(t testing.TB, file string, pairs ...string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, file))
	require.NoError(t, err)
	s := string(src)
	for i := 0; i < len(pairs); i += 2 {
		require.Equal(t, 1, strings.Count(s, pairs[i]), "%s holds %q once", file, pairs[i])
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(file))
	require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
	return path
}

// keepDeleted is the deprovision block that keeps users (disabled) and
// groups, marked in attr.
func keepDeleted(attr, value string) []string {
	return []string{"  onDelete: delete\n", fmt.Sprintf("  onDelete: disable\n  marker: {target: %s, value: %q}\n  groups: {onDelete: keep, marker: {target: %s, value: %q}}\n", attr, value, attr, value)}
}

// lifecycle is what one target runs: the stack, whether groups are kept,
// and where a user's entry is (its parent DN on LDAP, "" elsewhere).
type lifecycle struct {
	s          *stack
	keepGroups bool
	parent     func(id string) string
	leavers    string // the parent a deleted user moves to ("" when it stays)
	// replica is a second bridge on the same directory with a state store
	// of its own: its answers come from the directory, not from the first
	// one's idempotency records.
	replica *stack
}

func (l lifecycle) run(t *testing.T) {
	s := l.s
	ctx := context.Background()
	svc := s.app.services[0]
	be := svc.Backend()
	tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	user := fixture(t, "create-user")
	ext := uuid.NewString()
	user["externalId"], user["userName"], user["displayName"] = ext, "leaver-"+tag+"@testuser.com", "Leaver "+tag
	id := s.must(201, "POST", "/Users", user).body["id"].(string)
	home := ""
	if l.parent != nil {
		home = l.parent(id)
	}
	group := fixture(t, "create-group-empty-members")
	group["displayName"] = "leavers_group_" + tag
	gid := s.must(201, "POST", "/Groups", group).body["id"].(string)
	s.must(204, "PATCH", "/Groups/"+url.PathEscape(gid), map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": id}}}}})

	// Unassigned: DELETE. Gone for SCIM, kept and marked in the directory.
	s.must(204, "DELETE", "/Users/"+url.PathEscape(id), nil)
	s.must(404, "GET", "/Users/"+url.PathEscape(id), nil)
	require.Empty(t, resources(t, s.must(200, "GET", "/Users"+filterQ(`userName eq "`+user["userName"].(string)+`"`), nil)))
	require.Empty(t, resources(t, s.must(200, "GET", "/Users"+filterQ(`externalId eq "`+ext+`"`), nil)))
	for _, r := range resources(t, s.must(200, "GET", "/Users?count=1000", nil)) {
		require.NotEqual(t, id, r["id"], "a listing leaves it out")
	}
	s.must(404, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-replace-multiple-flag"))
	l.replica.must(404, "GET", "/Users/"+url.PathEscape(id), nil)
	l.replica.must(404, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-replace-multiple-flag"))
	l.replica.must(404, "PUT", "/Users/"+url.PathEscape(id), user)
	l.replica.must(404, "DELETE", "/Users/"+url.PathEscape(id), nil)
	kept, err := be.Get(ctx, backends.User, id, backends.Read{})
	require.NoError(t, err, "the entry is kept")
	require.True(t, svc.Mapping().Deprovisioned(scim.User, kept))
	res, err := svc.Mapping().ToResource(scim.User, kept)
	require.NoError(t, err)
	require.Equal(t, false, res["active"])
	require.Equal(t, "Leaver "+tag, res["displayName"], "the PATCH and PUT to its old id wrote nothing")
	if l.leavers != "" {
		require.Equal(t, strings.ToLower(l.leavers), strings.ToLower(l.parent(id)), "moved to the leavers' container")
	}
	g, err := be.Get(ctx, backends.Group, gid, backends.Read{Members: true})
	require.NoError(t, err)
	require.Contains(t, g.Attrs[backends.AttrMembers], id, "still a member")

	// Reassigned: Entra's POST with the same externalId restores it.
	back := s.must(201, "POST", "/Users", user).body
	require.Equal(t, id, back["id"], "the same entry, not a new one")
	require.Equal(t, true, back["active"])
	require.Equal(t, true, s.must(200, "GET", "/Users/"+url.PathEscape(id), nil).body["active"])
	require.Len(t, resources(t, s.must(200, "GET", "/Users"+filterQ(`externalId eq "`+ext+`"`), nil)), 1)
	restored, err := be.Get(ctx, backends.User, id, backends.Read{})
	require.NoError(t, err)
	require.False(t, svc.Mapping().Deprovisioned(scim.User, restored))
	if l.parent != nil {
		require.Equal(t, strings.ToLower(home), strings.ToLower(l.parent(id)), "back in its container")
	}
	g, err = be.Get(ctx, backends.Group, gid, backends.Read{Members: true})
	require.NoError(t, err)
	require.Contains(t, g.Attrs[backends.AttrMembers], id, "its membership survived")

	// A filter the mapping cannot answer is an error, not an empty list.
	a := s.do("GET", "/Users"+filterQ(`meta.lastModified gt "2011-05-13T04:42:34Z"`), nil)
	require.Equal(t, 400, a.status, a.raw)
	require.Equal(t, "invalidFilter", a.body["scimType"])
	require.Contains(t, a.body["detail"], "meta.lastModified")

	s.must(204, "DELETE", "/Groups/"+url.PathEscape(gid), nil)
	s.must(404, "GET", "/Groups/"+url.PathEscape(gid), nil)
	require.Empty(t, resources(t, s.must(200, "GET", "/Groups"+filterQ(`displayName eq "`+group["displayName"].(string)+`"`), nil)))
	if l.keepGroups {
		again := s.must(201, "POST", "/Groups", group).body
		require.Equal(t, gid, again["id"], "a kept group is restored")
		g, err = be.Get(ctx, backends.Group, gid, backends.Read{Members: true})
		require.NoError(t, err)
		require.Contains(t, g.Attrs[backends.AttrMembers], id)
	}
}

// parentOf is a user's parent DN, read by its entryUUID.
func parentOf(t testing.TB, conn *goldap.Conn, base, idAttr string) func(id string) string {
	return func(id string) string {
		t.Helper()
		res, err := conn.Search(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"("+idAttr+"="+goldap.EscapeFilter(id)+")", []string{"1.1"}, nil))
		require.NoError(t, err)
		require.Len(t, res.Entries, 1)
		return strings.SplitN(res.Entries[0].DN, ",", 2)[1]
	}
}

func TestLeaversKeptAndRestored(t *testing.T) {
	pharos := func(name string, tg func(t *testing.T) target) {
		t.Run(name, func(t *testing.T) {
			mp := variantMapping(t, "configs/mappings/entra-to-pharos.yaml", keepDeleted("deprovisioned", "1")...)
			tgt := tg(t)
			backend := `{ type: pharos, config: { driver: ` + tgt.driver + `, dsn: '` + tgt.dsn + `', init: true } }`
			lifecycle{s: newBridge(t, backend, mp), keepGroups: true, replica: newBridge(t, backend, mp)}.run(t)
		})
	}
	for i, mk := range targets(t) {
		pharos([]string{"pharos-sqlite", "pharos-postgres"}[i], mk)
	}
	for _, d := range []struct{ name, prefix, server, mapping string }{
		{"openldap", "SCIMBRIDGE_LDAP", "slapd", "configs/mappings/entra-to-openldap.yaml"},
		{"389ds", "SCIMBRIDGE_389DS", "389 DS", "configs/mappings/entra-to-389ds.yaml"},
	} {
		t.Run(d.name, func(t *testing.T) {
			// Leavers moved to ou=leavers (inside the users' searchBase,
			// ou=people), by the layout's active.moveTo on scimActive.
			mp := variantMapping(t, d.mapping, append(keepDeleted("scimDeprovisioned", "TRUE"),
				"    auxiliaryClasses: [scimBridgeUser]\n", "    auxiliaryClasses: [scimBridgeUser]\n    active: {attribute: scimActive, moveTo: ou=leavers}\n",
				"    parent: ou=people\n", "    parent: ou=people\n    searchBase: \"\"\n")...)
			dir := newDirectorySubtree(t, d.prefix, d.server)
			s := &ldapStack{stack: newBridge(t, dir.backend(), mp), conn: dir.conn, base: dir.base}
			leavers := "ou=leavers," + s.base
			add := goldap.NewAddRequest(leavers, nil)
			add.Attribute("objectClass", []string{"organizationalUnit"})
			add.Attribute("ou", []string{"leavers"})
			require.NoError(t, s.conn.Add(add))
			lifecycle{s: s.stack, keepGroups: true, parent: parentOf(t, s.conn, s.base, "entryUUID"), leavers: leavers,
				replica: newBridge(t, dir.backend(), mp)}.run(t)
		})
	}
	t.Run("active-directory", func(t *testing.T) {
		// The shipped mapping, leavers moved to an OU of their own.
		ad := newADStack(t)
		leavers := "OU=Leavers," + ad.base
		add := goldap.NewAddRequest(leavers, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		require.NoError(t, ad.conn.Add(add))
		mp := variantMapping(t, "configs/mappings/entra-to-active-directory.yaml",
			"      initial: 512\n", "      initial: 512\n      moveTo: OU=Leavers\n",
			`    filter: "(&(objectCategory=person)(objectClass=user))"`+"\n", `    filter: "(&(objectCategory=person)(objectClass=user))"`+"\n    searchBase: \"\"\n")
		s := newBridge(t, ad.backend, mp)
		parent := func(id string) string { return strings.SplitN(ad.byGUID(id).DN, ",", 2)[1] }
		lifecycle{s: s, parent: parent, leavers: leavers, replica: newBridge(t, ad.backend, mp)}.run(t)
	})
}

// Fifty people sharing five display names (and the first 20 characters of
// their UPNs), created at once through two replicas with state stores of
// their own: every one is 201, with a CN and a sAMAccountName of its own,
// and the same input gives the same names. A rename into a taken name
// follows the same rule.
func TestADNamesakes(t *testing.T) {
	s := newADStack(t)
	replica := newBridge(t, s.backend, "configs/mappings/entra-to-active-directory.yaml")
	names := []string{"Ana Silva", "João Souza", "Li Wei", "Maria Garcia", "Mohammed Ali"}
	var people []map[string]any
	for i := range 50 {
		u := fixture(t, "create-user")
		u["externalId"] = uuid.NewString()
		u["userName"] = fmt.Sprintf("namesake-%s-long-%02d@testuser.com", s.tag, i)
		u["displayName"] = names[i%len(names)] + " " + s.tag
		people = append(people, u)
	}
	ids := createAtOnce(t, people, s.stack, replica)

	cns, sams := map[string]bool{}, map[string]bool{}
	for i, id := range ids {
		e := s.byGUID(id)
		cn, sam := e.GetAttributeValue("cn"), e.GetAttributeValue("sAMAccountName")
		require.False(t, cns[strings.ToLower(cn)], "cn %q twice", cn)
		require.False(t, sams[strings.ToLower(sam)], "sAMAccountName %q twice", sam)
		cns[strings.ToLower(cn)], sams[strings.ToLower(sam)] = true, true
		require.True(t, strings.HasPrefix(cn, names[i%len(names)]), cn)
		require.LessOrEqual(t, len(sam), 20)
		require.Equal(t, "CN="+cn+",CN=Users,"+s.base, e.DN)
	}

	// A retried create of one of them is the same entry, with its name.
	first := s.byGUID(ids[7]).GetAttributeValue("cn")
	require.Equal(t, ids[7], s.must(201, "POST", "/Users", people[7]).body["id"])
	require.Equal(t, first, s.byGUID(ids[7]).GetAttributeValue("cn"))

	// A rename into a name ten others hold: 200, a name of its own.
	s.patchUser(ids[0], map[string]any{"op": "Replace", "path": "displayName", "value": names[1] + " " + s.tag})
	cn := s.byGUID(ids[0]).GetAttributeValue("cn")
	require.True(t, strings.HasPrefix(cn, names[1]), cn)
	require.False(t, cns[strings.ToLower(cn)], "%q was taken", cn)

	// Groups share the sAMAccountName namespace with users: a group named
	// like a user's gets a name of its own, not a 409.
	sam := s.byGUID(ids[1]).GetAttributeValue("sAMAccountName")
	g := fixture(t, "create-group-empty-members")
	g["displayName"], g["externalId"] = sam, uuid.NewString()
	gid := s.must(201, "POST", "/Groups", g).body["id"].(string)
	gsam := s.byGUID(gid).GetAttributeValue("sAMAccountName")
	require.NotEqual(t, strings.ToLower(sam), strings.ToLower(gsam))
	require.True(t, strings.HasPrefix(gsam, sam), gsam)
}

// createAtOnce POSTs the users through four clients at once, spread over
// the bridges, and returns their ids in order; each must be 201.
func createAtOnce(t *testing.T, people []map[string]any, via ...*stack) []string {
	t.Helper()
	ids := make([]string, len(people))
	var wg sync.WaitGroup
	for w := range 4 {
		b := via[w%len(via)]
		wg.Go(func() {
			for i := w; i < len(people); i += 4 {
				a := b.do("POST", "/Users", people[i])
				if a.status != 201 {
					t.Errorf("user %d: %d %s", i, a.status, a.raw)
					continue
				}
				ids[i] = a.body["id"].(string)
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	return ids
}
