package ldap

import (
	"context"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// TestHandleFallbacks: Modify of a record Get read writes to the entry Get
// read (the record's Handle), and the directory checks (assertion control)
// that it is still that entry. Whatever happens to the entry behind the
// backend's back between the Get and the Modify, the Modify lands on the
// right entry, with the right flags and classes, or reports it gone; never
// on another entry.
func TestHandleFallbacks(t *testing.T) {
	schema := testSchema()
	schema.Users.Layout["active"] = map[string]any{"attribute": "roomNumber", "bit": 2}
	schema.Users.Attrs = append(schema.Users.Attrs, backends.AttrSchema{Name: "roomNumber"})
	b, ou := newTestBackendWith(t, schema, nil)
	l := adminConn(t, requireServer(t))
	ctx := context.Background()
	get := func(t *testing.T, kind backends.Kind, id string) backends.Record {
		t.Helper()
		rec, err := b.Get(ctx, kind, id, backends.Read{})
		require.NoError(t, err)
		require.NotNil(t, k(t, b, kind).handled(rec), "Get leaves a handle")
		return rec
	}
	setTitle := func(cur backends.Record, title string) error {
		return b.Modify(ctx, cur, []backends.Change{{Op: backends.Replace, Attr: "title", Values: []string{title}}})
	}
	userDN := func(name string) string { return "uid=" + name + ",ou=people," + ou }
	// counted runs f and returns the requests it sent.
	counted := func(f func()) RoundTrips {
		before := b.RoundTrips()
		f()
		return b.RoundTrips().Sub(before)
	}

	// Warm-up: the root DSE is read once, by the first write.
	warm := create(t, b, backends.User, user("warm"))
	require.NoError(t, setTitle(get(t, backends.User, warm.ID), "warm"))
	require.True(t, b.dse.assertion, "the test slapd lists the assertion control")

	t.Run("unchanged: the Get's entry is used", func(t *testing.T) {
		u := create(t, b, backends.User, user("same"))
		cur := get(t, backends.User, u.ID)
		trips := counted(func() { require.NoError(t, setTitle(cur, "t1")) })
		require.Equal(t, RoundTrips{Modify: 1}, trips)
		require.Equal(t, "t1", rawEntry(t, ou, u.ID, "title").GetAttributeValue("title"))
	})

	t.Run("renamed behind its back", func(t *testing.T) {
		u := create(t, b, backends.User, user("moving"))
		cur := get(t, backends.User, u.ID)
		require.NoError(t, l.ModifyDN(goldap.NewModifyDNRequest(userDN("moving"), "uid=moved", true, "")))
		trips := counted(func() { require.NoError(t, setTitle(cur, "t2")) })
		// The write to the old DN fails (32), the lookup finds the new one.
		require.Equal(t, RoundTrips{Search: 1, Modify: 2}, trips)
		e := rawEntry(t, ou, u.ID, "title")
		requireDN(t, userDN("moved"), e.DN)
		require.Equal(t, "t2", e.GetAttributeValue("title"))
	})

	t.Run("renamed behind its back, then renamed by the Modify", func(t *testing.T) {
		u := create(t, b, backends.User, user("ren1"))
		cur := get(t, backends.User, u.ID)
		require.NoError(t, l.ModifyDN(goldap.NewModifyDNRequest(userDN("ren1"), "uid=ren2", true, "")))
		require.NoError(t, b.Modify(ctx, cur, []backends.Change{{Op: backends.Replace, Attr: "uid", Values: []string{"ren3"}}}))
		requireDN(t, userDN("ren3"), rawEntry(t, ou, u.ID).DN)
	})

	t.Run("deleted behind its back", func(t *testing.T) {
		u := create(t, b, backends.User, user("gone"))
		cur := get(t, backends.User, u.ID)
		require.NoError(t, l.Del(goldap.NewDelRequest(userDN("gone"), nil)))
		require.ErrorIs(t, setTitle(cur, "t3"), backends.ErrNotFound)
	})

	t.Run("another entry now at its DN", func(t *testing.T) {
		u := create(t, b, backends.User, user("twin"))
		cur := get(t, backends.User, u.ID)
		require.NoError(t, l.Del(goldap.NewDelRequest(userDN("twin"), nil)))
		other := create(t, b, backends.User, user("twin"))
		require.NotEqual(t, u.ID, other.ID)
		// The write asserts the id: refused (122), and the lookup finds
		// no entry with the old id.
		require.ErrorIs(t, setTitle(cur, "t4"), backends.ErrNotFound)
		require.Empty(t, rawEntry(t, ou, other.ID, "title").GetAttributeValue("title"), "the other entry was written")
		// A rename too: the ModifyDN carries the assertion.
		cur = get(t, backends.User, other.ID)
		require.NoError(t, l.Del(goldap.NewDelRequest(userDN("twin"), nil)))
		third := create(t, b, backends.User, user("twin"))
		err := b.Modify(ctx, cur, []backends.Change{{Op: backends.Replace, Attr: "uid", Values: []string{"twin2"}}})
		require.ErrorIs(t, err, backends.ErrNotFound)
		requireDN(t, userDN("twin"), rawEntry(t, ou, third.ID).DN)
	})

	t.Run("flags changed behind its back", func(t *testing.T) {
		u := create(t, b, backends.User, user("flags", "roomNumber", "true"))
		require.Equal(t, "512", rawEntry(t, ou, u.ID, "roomNumber").GetAttributeValue("roomNumber"))
		cur := get(t, backends.User, u.ID)
		m := goldap.NewModifyRequest(userDN("flags"), nil)
		m.Replace("roomNumber", []string{"66048"}) // an administrator sets 65536
		require.NoError(t, l.Modify(m))
		trips := counted(func() {
			require.NoError(t, b.Modify(ctx, cur, []backends.Change{{Op: backends.Replace, Attr: "roomNumber", Values: []string{"false"}}}))
		})
		require.Equal(t, RoundTrips{Search: 1, Modify: 2}, trips)
		require.Equal(t, "66050", rawEntry(t, ou, u.ID, "roomNumber").GetAttributeValue("roomNumber"), "the administrator's bit was lost")
	})

	t.Run("auxiliary class removed behind its back", func(t *testing.T) {
		u := create(t, b, backends.User, user("aux"))
		cur := get(t, backends.User, u.ID)
		m := goldap.NewModifyRequest(userDN("aux"), nil)
		m.Delete("objectClass", []string{"scimBridgeUser"})
		require.NoError(t, l.Modify(m))
		require.NoError(t, b.Modify(ctx, cur, []backends.Change{{Op: backends.Replace, Attr: "scimExternalId", Values: []string{"ext-aux"}}}))
		e := rawEntry(t, ou, u.ID, "scimExternalId")
		require.Contains(t, e.GetAttributeValues("objectClass"), "scimBridgeUser")
		require.Equal(t, "ext-aux", e.GetAttributeValue("scimExternalId"))
	})

	t.Run("group emptied behind its back: the placeholder is removed", func(t *testing.T) {
		a := create(t, b, backends.User, user("ga"))
		c := create(t, b, backends.User, user("gc"))
		g := create(t, b, backends.Group, map[string][]string{"cn": {"emptied"}, backends.AttrMembers: {a.ID}})
		cur := get(t, backends.Group, g.ID)
		m := goldap.NewModifyRequest("cn=emptied,ou=groups,"+ou, nil)
		m.Replace("member", []string{"cn=empty-membership-placeholder," + ou})
		require.NoError(t, l.Modify(m))
		require.NoError(t, b.Modify(ctx, cur, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{c.ID}}}))
		vals := rawEntry(t, ou, g.ID, "member").GetAttributeValues("member")
		require.Len(t, vals, 1, "member values %v", vals)
		requireDN(t, userDN("gc"), vals[0])
	})

	t.Run("no handle: looked up", func(t *testing.T) {
		u := create(t, b, backends.User, user("byid"))
		trips := counted(func() { require.NoError(t, setTitle(backends.Record{Kind: backends.User, ID: u.ID}, "a")) })
		require.Equal(t, RoundTrips{Search: 1, Modify: 1}, trips, "a record built from an id is looked up")
		found, _, err := b.Find(ctx, backends.Query{Kind: backends.User, Filter: backends.Cmp{Attr: "uid", Op: backends.Eq, Value: "byid"}, Limit: 1})
		require.NoError(t, err)
		require.Nil(t, k(t, b, backends.User).handled(found[0]), "Find leaves no handle")
		trips = counted(func() { require.NoError(t, setTitle(found[0], "b")) })
		require.Equal(t, RoundTrips{Search: 1, Modify: 1}, trips, "a record Find read is looked up")
	})

	t.Run("handle used twice", func(t *testing.T) {
		u := create(t, b, backends.User, user("twice"))
		cur := get(t, backends.User, u.ID)
		require.NoError(t, setTitle(cur, "a"))
		// The first write changed nothing the handle keeps: still it.
		trips := counted(func() { require.NoError(t, setTitle(cur, "b")) })
		require.Equal(t, RoundTrips{Modify: 1}, trips)
		// A rename did: the second write goes to the lookup.
		require.NoError(t, b.Modify(ctx, cur, []backends.Change{{Op: backends.Replace, Attr: "uid", Values: []string{"twice2"}}}))
		trips = counted(func() { require.NoError(t, setTitle(cur, "c")) })
		require.Equal(t, RoundTrips{Search: 1, Modify: 2}, trips)
		e := rawEntry(t, ou, u.ID, "title")
		requireDN(t, userDN("twice2"), e.DN)
		require.Equal(t, "c", e.GetAttributeValue("title"))
	})

	t.Run("a handle of another kind is not used", func(t *testing.T) {
		u := create(t, b, backends.User, user("kinds"))
		g := create(t, b, backends.Group, map[string][]string{"cn": {"kinds"}})
		cur := get(t, backends.User, u.ID)
		cur.Handle = get(t, backends.Group, g.ID).Handle
		trips := counted(func() { require.NoError(t, setTitle(cur, "k")) })
		require.Equal(t, RoundTrips{Search: 1, Modify: 1}, trips)
		require.Equal(t, "k", rawEntry(t, ou, u.ID, "title").GetAttributeValue("title"))
	})
}

// k is b's layout of kind.
func k(t *testing.T, b *Backend, kind backends.Kind) *kindLayout {
	t.Helper()
	l, err := b.layout(kind)
	require.NoError(t, err)
	return l
}

// TestHandleKeepsWhatModifyReads: a record's handle keeps the entry's DN
// and what Modify plans from, not what Get read for the record (members,
// the other attributes).
func TestHandleKeepsWhatModifyReads(t *testing.T) {
	b, ou := newTestBackend(t)
	ctx := context.Background()
	u := create(t, b, backends.User, user("alice"))
	g := create(t, b, backends.Group, map[string][]string{"cn": {"big"}, backends.AttrMembers: {u.ID}})
	rec, err := b.Get(ctx, backends.Group, g.ID, backends.Read{Members: true})
	require.NoError(t, err)
	require.Equal(t, []string{u.ID}, rec.Attrs[backends.AttrMembers])
	e := k(t, b, backends.Group).handled(rec)
	require.NotNil(t, e)
	requireDN(t, "cn=big,ou=groups,"+ou, e.DN)
	var names []string
	for _, a := range e.Attributes {
		names = append(names, strings.ToLower(a.Name))
	}
	require.ElementsMatch(t, []string{"objectclass", "cn"}, names)
}

// TestWithoutAssertionControl: on a directory that does not list the
// assertion control (389 DS, Samba), the entries handles keep are not
// used and a member add searches for the placeholder, as before the
// control was used.
func TestWithoutAssertionControl(t *testing.T) {
	b, ou := newTestBackend(t)
	ctx := context.Background()
	u := create(t, b, backends.User, user("alice"))
	// The first write reads the root DSE.
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{{Op: backends.Replace, Attr: "title", Values: []string{"w"}}}))
	b.dseMu.Lock()
	b.dse.assertion = false
	b.dseMu.Unlock()

	g := create(t, b, backends.Group, map[string][]string{"cn": {"empty"}})
	cur, err := b.Get(ctx, backends.Group, g.ID, backends.Read{})
	require.NoError(t, err)
	before := b.RoundTrips()
	require.NoError(t, b.Modify(ctx, cur, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{u.ID}}}))
	// lookup, member ids, placeholder search; one Modify.
	require.Equal(t, RoundTrips{Search: 3, Modify: 1}, b.RoundTrips().Sub(before))
	vals := rawEntry(t, ou, g.ID, "member").GetAttributeValues("member")
	require.Len(t, vals, 1)
	requireDN(t, "uid=alice,ou=people,"+ou, vals[0])

	cur, err = b.Get(ctx, backends.User, u.ID, backends.Read{})
	require.NoError(t, err)
	before = b.RoundTrips()
	require.NoError(t, b.Modify(ctx, cur, []backends.Change{{Op: backends.Replace, Attr: "title", Values: []string{"x"}}}))
	require.Equal(t, RoundTrips{Search: 1, Modify: 1}, b.RoundTrips().Sub(before), "the handle's entry was not used: looked up")
}
