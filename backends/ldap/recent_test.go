package ldap

import (
	"context"
	"fmt"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// TestRecentEntryFallbacks: Modify writes to the entry its preceding Get
// read, and the directory checks (assertion control) that it is still that
// entry. Whatever happens to the entry behind the backend's back between
// the Get and the Modify, the Modify lands on the right entry, with the
// right flags and classes, or reports it gone; never on another entry.
func TestRecentEntryFallbacks(t *testing.T) {
	schema := testSchema()
	schema.Users.Layout["active"] = map[string]any{"attribute": "roomNumber", "bit": 2}
	schema.Users.Attrs = append(schema.Users.Attrs, backends.AttrSchema{Name: "roomNumber"})
	b, ou := newTestBackendWith(t, schema, nil)
	l := adminConn(t, requireServer(t))
	ctx := context.Background()
	get := func(t *testing.T, kind backends.Kind, id string) {
		t.Helper()
		_, err := b.Get(ctx, kind, id, false)
		require.NoError(t, err)
	}
	setTitle := func(id, title string) error {
		return b.Modify(ctx, backends.User, id, []backends.Change{{Op: backends.Replace, Attr: "title", Values: []string{title}}})
	}
	userDN := func(name string) string { return "uid=" + name + ",ou=people," + ou }
	// counted runs f and returns the requests it sent.
	counted := func(f func()) RoundTrips {
		before := b.RoundTrips()
		f()
		return b.RoundTrips().Sub(before)
	}

	// Warm-up: the root DSE is read once.
	warm := create(t, b, backends.User, user("warm"))
	get(t, backends.User, warm.ID)
	require.True(t, b.dse.assertion, "the test slapd lists the assertion control")

	t.Run("unchanged: the Get's entry is used", func(t *testing.T) {
		u := create(t, b, backends.User, user("same"))
		get(t, backends.User, u.ID)
		trips := counted(func() { require.NoError(t, setTitle(u.ID, "t1")) })
		require.Equal(t, RoundTrips{Modify: 1}, trips)
		require.Equal(t, "t1", rawEntry(t, ou, u.ID, "title").GetAttributeValue("title"))
	})

	t.Run("renamed behind its back", func(t *testing.T) {
		u := create(t, b, backends.User, user("moving"))
		get(t, backends.User, u.ID)
		require.NoError(t, l.ModifyDN(goldap.NewModifyDNRequest(userDN("moving"), "uid=moved", true, "")))
		trips := counted(func() { require.NoError(t, setTitle(u.ID, "t2")) })
		// The write to the old DN fails (32), the lookup finds the new one.
		require.Equal(t, RoundTrips{Search: 1, Modify: 2}, trips)
		e := rawEntry(t, ou, u.ID, "title")
		requireDN(t, userDN("moved"), e.DN)
		require.Equal(t, "t2", e.GetAttributeValue("title"))
	})

	t.Run("renamed behind its back, then renamed by the Modify", func(t *testing.T) {
		u := create(t, b, backends.User, user("ren1"))
		get(t, backends.User, u.ID)
		require.NoError(t, l.ModifyDN(goldap.NewModifyDNRequest(userDN("ren1"), "uid=ren2", true, "")))
		require.NoError(t, b.Modify(ctx, backends.User, u.ID, []backends.Change{{Op: backends.Replace, Attr: "uid", Values: []string{"ren3"}}}))
		requireDN(t, userDN("ren3"), rawEntry(t, ou, u.ID).DN)
	})

	t.Run("deleted behind its back", func(t *testing.T) {
		u := create(t, b, backends.User, user("gone"))
		get(t, backends.User, u.ID)
		require.NoError(t, l.Del(goldap.NewDelRequest(userDN("gone"), nil)))
		require.ErrorIs(t, setTitle(u.ID, "t3"), backends.ErrNotFound)
	})

	t.Run("another entry now at its DN", func(t *testing.T) {
		u := create(t, b, backends.User, user("twin"))
		get(t, backends.User, u.ID)
		require.NoError(t, l.Del(goldap.NewDelRequest(userDN("twin"), nil)))
		other := create(t, b, backends.User, user("twin"))
		require.NotEqual(t, u.ID, other.ID)
		// The write asserts the id: refused (122), and the lookup finds
		// no entry with the old id.
		require.ErrorIs(t, setTitle(u.ID, "t4"), backends.ErrNotFound)
		require.Empty(t, rawEntry(t, ou, other.ID, "title").GetAttributeValue("title"), "the other entry was written")
		// A rename too: the ModifyDN carries the assertion.
		get(t, backends.User, other.ID)
		require.NoError(t, l.Del(goldap.NewDelRequest(userDN("twin"), nil)))
		third := create(t, b, backends.User, user("twin"))
		err := b.Modify(ctx, backends.User, other.ID, []backends.Change{{Op: backends.Replace, Attr: "uid", Values: []string{"twin2"}}})
		require.ErrorIs(t, err, backends.ErrNotFound)
		requireDN(t, userDN("twin"), rawEntry(t, ou, third.ID).DN)
	})

	t.Run("flags changed behind its back", func(t *testing.T) {
		u := create(t, b, backends.User, user("flags", "roomNumber", "true"))
		require.Equal(t, "512", rawEntry(t, ou, u.ID, "roomNumber").GetAttributeValue("roomNumber"))
		get(t, backends.User, u.ID)
		m := goldap.NewModifyRequest(userDN("flags"), nil)
		m.Replace("roomNumber", []string{"66048"}) // an administrator sets 65536
		require.NoError(t, l.Modify(m))
		trips := counted(func() {
			require.NoError(t, b.Modify(ctx, backends.User, u.ID, []backends.Change{{Op: backends.Replace, Attr: "roomNumber", Values: []string{"false"}}}))
		})
		require.Equal(t, RoundTrips{Search: 1, Modify: 2}, trips)
		require.Equal(t, "66050", rawEntry(t, ou, u.ID, "roomNumber").GetAttributeValue("roomNumber"), "the administrator's bit was lost")
	})

	t.Run("auxiliary class removed behind its back", func(t *testing.T) {
		u := create(t, b, backends.User, user("aux"))
		get(t, backends.User, u.ID)
		m := goldap.NewModifyRequest(userDN("aux"), nil)
		m.Delete("objectClass", []string{"scimBridgeUser"})
		require.NoError(t, l.Modify(m))
		require.NoError(t, b.Modify(ctx, backends.User, u.ID, []backends.Change{{Op: backends.Replace, Attr: "scimExternalId", Values: []string{"ext-aux"}}}))
		e := rawEntry(t, ou, u.ID, "scimExternalId")
		require.Contains(t, e.GetAttributeValues("objectClass"), "scimBridgeUser")
		require.Equal(t, "ext-aux", e.GetAttributeValue("scimExternalId"))
	})

	t.Run("group emptied behind its back: the placeholder is removed", func(t *testing.T) {
		a := create(t, b, backends.User, user("ga"))
		c := create(t, b, backends.User, user("gc"))
		g := create(t, b, backends.Group, map[string][]string{"cn": {"emptied"}, backends.AttrMembers: {a.ID}})
		get(t, backends.Group, g.ID)
		m := goldap.NewModifyRequest("cn=emptied,ou=groups,"+ou, nil)
		m.Replace("member", []string{"cn=empty-membership-placeholder," + ou})
		require.NoError(t, l.Modify(m))
		require.NoError(t, b.Modify(ctx, backends.Group, g.ID, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{c.ID}}}))
		vals := rawEntry(t, ou, g.ID, "member").GetAttributeValues("member")
		require.Len(t, vals, 1, "member values %v", vals)
		requireDN(t, userDN("gc"), vals[0])
	})

	t.Run("taken once", func(t *testing.T) {
		u := create(t, b, backends.User, user("once"))
		get(t, backends.User, u.ID)
		require.NoError(t, setTitle(u.ID, "a"))
		trips := counted(func() { require.NoError(t, setTitle(u.ID, "b")) })
		require.Equal(t, RoundTrips{Search: 1, Modify: 1}, trips, "the second Modify looks the entry up")
	})

	t.Run("expired", func(t *testing.T) {
		u := create(t, b, backends.User, user("old"))
		get(t, backends.User, u.ID)
		b.recent.mu.Lock()
		b.recent.now = func() time.Time { return time.Now().Add(recentTTL + time.Second) }
		b.recent.mu.Unlock()
		t.Cleanup(func() {
			b.recent.mu.Lock()
			b.recent.now = time.Now
			b.recent.mu.Unlock()
		})
		trips := counted(func() { require.NoError(t, setTitle(u.ID, "c")) })
		require.Equal(t, RoundTrips{Search: 1, Modify: 1}, trips)
	})

	t.Run("delete forgets it", func(t *testing.T) {
		u := create(t, b, backends.User, user("del"))
		get(t, backends.User, u.ID)
		require.NoError(t, b.Delete(ctx, backends.User, u.ID))
		_, ok := b.recent.index[recentKey{backends.User, u.ID}]
		require.False(t, ok)
	})
}

// TestRecentEntriesBounded: the cache holds at most its number of slots,
// however many entries are put, and the oldest go first.
func TestRecentEntriesBounded(t *testing.T) {
	k := &kindLayout{kind: backends.User, rdn: "uid", idKind: idUUID}
	r := newRecentEntries(8, time.Minute)
	id := func(i int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", i) }
	for i := range 100 {
		r.put(k, id(i), &goldap.Entry{DN: fmt.Sprintf("uid=u%d", i), Attributes: []*goldap.EntryAttribute{
			{Name: "uid", Values: []string{"u"}}, {Name: "member", Values: []string{"big"}}}})
		require.LessOrEqual(t, len(r.index), 8)
	}
	require.Nil(t, r.take(k, id(91)), "an old entry was kept")
	e := r.take(k, "00000000-0000-0000-0000-000000000099")
	require.NotNil(t, e)
	require.Equal(t, "uid=u99", e.DN)
	require.Len(t, e.Attributes, 1, "only what Modify reads is kept")
	require.Nil(t, r.take(k, id(99)), "taken twice")
	// Upper case or not, a UUID is the same id.
	r.put(k, "abcdef00-0000-0000-0000-000000000005", &goldap.Entry{DN: "uid=x"})
	require.NotNil(t, r.take(k, "ABCDEF00-0000-0000-0000-000000000005"))
}

// TestWithoutAssertionControl: on a directory that does not list the
// assertion control (389 DS, Samba), Get's entries are not reused and a
// member add searches for the placeholder, as before the control was used.
func TestWithoutAssertionControl(t *testing.T) {
	b, ou := newTestBackend(t)
	ctx := context.Background()
	u := create(t, b, backends.User, user("alice"))
	_, err := b.Get(ctx, backends.User, u.ID, false) // reads the root DSE
	require.NoError(t, err)
	b.dseMu.Lock()
	b.dse.assertion = false
	b.dseMu.Unlock()

	g := create(t, b, backends.Group, map[string][]string{"cn": {"empty"}})
	_, err = b.Get(ctx, backends.Group, g.ID, false)
	require.NoError(t, err)
	before := b.RoundTrips()
	require.NoError(t, b.Modify(ctx, backends.Group, g.ID, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{u.ID}}}))
	// lookup, member ids, placeholder search; one Modify.
	require.Equal(t, RoundTrips{Search: 3, Modify: 1}, b.RoundTrips().Sub(before))
	vals := rawEntry(t, ou, g.ID, "member").GetAttributeValues("member")
	require.Len(t, vals, 1)
	requireDN(t, "uid=alice,ou=people,"+ou, vals[0])

	_, err = b.Get(ctx, backends.User, u.ID, false)
	require.NoError(t, err)
	before = b.RoundTrips()
	require.NoError(t, b.Modify(ctx, backends.User, u.ID, []backends.Change{{Op: backends.Replace, Attr: "title", Values: []string{"x"}}}))
	require.Equal(t, RoundTrips{Search: 1, Modify: 1}, b.RoundTrips().Sub(before), "the Get's entry was used")
}
