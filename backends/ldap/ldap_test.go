package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

func user(name string, extra ...string) map[string][]string {
	a := map[string][]string{"uid": {name}, "sn": {"Tester"}, "cn": {name}, "mail": {name + "@example.org"}}
	for i := 0; i+1 < len(extra); i += 2 {
		a[extra[i]] = append(a[extra[i]], extra[i+1])
	}
	return a
}

func create(tb testing.TB, b *Backend, kind backends.Kind, attrs map[string][]string) backends.Record {
	tb.Helper()
	rec, err := b.Create(context.Background(), kind, attrs)
	require.NoError(tb, err)
	return rec
}

// rawEntry reads the entry with id straight from the directory, as an
// operator would see it.
func rawEntry(tb testing.TB, ou, id string, attrs ...string) *goldap.Entry {
	tb.Helper()
	l := adminConn(tb, requireServer(tb))
	res, err := l.Search(goldap.NewSearchRequest(ou, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(entryUUID="+id+")", append(attrs, "objectClass"), nil))
	require.NoError(tb, err)
	require.Len(tb, res.Entries, 1, "entries with entryUUID %s", id)
	return res.Entries[0]
}

func requireDN(tb testing.TB, want, got string) {
	tb.Helper()
	w, err := goldap.ParseDN(want)
	require.NoError(tb, err)
	g, err := goldap.ParseDN(got)
	require.NoError(tb, err)
	require.True(tb, w.EqualFold(g), "DN %q, want %q", got, want)
}

// TestPreExistingEntry is Entra's first cycle against a directory that had
// its users before scimbridge: the entry has no externalId and not the
// auxiliary class; Entra finds it by userName, links it with a PATCH of
// externalId, and a create under the same name (other case) is a conflict,
// never a second entry.
func TestPreExistingEntry(t *testing.T) {
	b, ou := newTestBackend(t)
	ctx := context.Background()
	l := adminConn(t, requireServer(t))
	dn := "uid=jdoe,ou=people," + ou
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	for k, v := range map[string]string{"uid": "jdoe", "sn": "Doe", "cn": "John Doe", "mail": "jdoe@example.org"} {
		req.Attribute(k, []string{v})
	}
	require.NoError(t, l.Add(req))

	recs, total, err := b.Find(ctx, backends.Query{Kind: backends.User,
		Filter: backends.Cmp{Attr: "scimExternalId", Op: backends.Eq, Value: "0b5c7c6e-entra-objectid"}, Limit: 2})
	require.NoError(t, err)
	require.Zero(t, total, "matched by externalId before it was linked")
	require.Empty(t, recs)

	recs, total, err = b.Find(ctx, backends.Query{Kind: backends.User,
		Filter: backends.Cmp{Attr: "uid", Op: backends.Eq, Value: "JDoe"}, Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	id := recs[0].ID

	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: id}, []backends.Change{
		{Op: backends.Replace, Attr: "scimExternalId", Values: []string{"0b5c7c6e-entra-objectid"}},
		{Op: backends.Replace, Attr: "scimActive", Values: []string{"TRUE"}},
	}))
	e := rawEntry(t, ou, id, "scimExternalId")
	requireDN(t, dn, e.DN)
	require.Contains(t, e.GetAttributeValues("objectClass"), "scimBridgeUser", "the auxiliary class was added")
	require.Equal(t, []string{"0b5c7c6e-entra-objectid"}, e.GetAttributeValues("scimExternalId"))

	recs, _, err = b.Find(ctx, backends.Query{Kind: backends.User,
		Filter: backends.Cmp{Attr: "scimExternalId", Op: backends.Eq, Value: "0B5C7C6E-ENTRA-OBJECTID"}, Limit: 2})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, id, recs[0].ID)

	_, err = b.Create(ctx, backends.User, user("JDOE", "scimExternalId", "another-object"))
	var ce *backends.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "uid", ce.Attr)
	require.Equal(t, id, ce.ID)
	_, total, err = b.Find(ctx, backends.Query{Kind: backends.User})
	require.NoError(t, err)
	require.Equal(t, 1, total, "a second entry was created")
}

// TestEmptyGroupPlaceholder checks what groupOfNames holds while empty:
// the placeholder, gone as soon as a member arrives, back when the last
// one leaves, and never reported as a member.
func TestEmptyGroupPlaceholder(t *testing.T) {
	b, ou := newTestBackend(t)
	ctx := context.Background()
	placeholder := "cn=empty-membership-placeholder," + ou
	u := create(t, b, backends.User, user("alice"))
	g := create(t, b, backends.Group, map[string][]string{"cn": {"Printers"}})
	members := func() []string { return rawEntry(t, ou, g.ID, "member").GetAttributeValues("member") }
	require.Len(t, members(), 1)
	requireDN(t, placeholder, members()[0])
	require.Equal(t, []string{}, mustGetMembers(t, b, g.ID))

	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{u.ID}}}))
	require.Len(t, members(), 1)
	requireDN(t, "uid=alice,ou=people,"+ou, members()[0])

	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Remove, Attr: backends.AttrMembers, Values: []string{u.ID}}}))
	require.Len(t, members(), 1)
	requireDN(t, placeholder, members()[0])
	require.Equal(t, []string{}, mustGetMembers(t, b, g.ID))

	f := backends.Cmp{Attr: backends.AttrMembers, Op: backends.Pr}
	recs, _, err := b.Find(ctx, backends.Query{Kind: backends.Group, Filter: f, Limit: 5})
	require.NoError(t, err)
	require.Empty(t, recs, "a group holding only the placeholder has members")
}

func mustGetMembers(tb testing.TB, b *Backend, id string) []string {
	tb.Helper()
	rec, err := b.Get(context.Background(), backends.Group, id, backends.Read{Members: true})
	require.NoError(tb, err)
	return rec.Attrs[backends.AttrMembers]
}

// modifyOps reads slapd's count of completed Modify operations (the
// monitor database the test slapd has).
func modifyOps(tb testing.TB) int {
	tb.Helper()
	l := adminConn(tb, requireServer(tb))
	res, err := l.Search(goldap.NewSearchRequest("cn=Modify,cn=Operations,cn=Monitor", goldap.ScopeBaseObject,
		goldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", []string{"monitorOpCompleted"}, nil))
	require.NoError(tb, err)
	var n int
	_, err = fmt.Sscan(res.Entries[0].GetAttributeValue("monitorOpCompleted"), &n)
	require.NoError(tb, err)
	return n
}

// TestMemberChangesAreOneModify: however many members a change carries,
// present or not, they travel in one Modify request, and adding a present
// member or removing an absent one succeeds.
func TestMemberChangesAreOneModify(t *testing.T) {
	b, _ := newTestBackend(t)
	ctx := context.Background()
	var ids []string
	for i := range 50 {
		ids = append(ids, create(t, b, backends.User, user(fmt.Sprintf("m%02d", i))).ID)
	}
	g := create(t, b, backends.Group, map[string][]string{"cn": {"big"}, backends.AttrMembers: ids[:10]})

	tests := []struct {
		name    string
		change  backends.Change
		want    []string
		maxMods int
	}{
		// The placeholder is not there (created with members), so one
		// request; present values are absorbed by Permissive Modify.
		{"add 40 new and 10 present", backends.Change{Op: backends.Add, Attr: backends.AttrMembers, Values: ids}, ids, 1},
		{"add present only", backends.Change{Op: backends.Add, Attr: backends.AttrMembers, Values: ids[:5]}, ids, 1},
		// slapd answers 16 for an absent value even with the control: one
		// read and one more request with the effective values.
		{"remove 20 present and 1 absent", backends.Change{Op: backends.Remove, Attr: backends.AttrMembers, Values: append(ids[30:], "00000000-0000-0000-0000-000000000000")}, ids[:30], 1},
		{"remove absent only", backends.Change{Op: backends.Remove, Attr: backends.AttrMembers, Values: ids[40:]}, ids[:30], 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := modifyOps(t)
			require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{tc.change}))
			require.LessOrEqual(t, modifyOps(t)-before, tc.maxMods, "Modify requests sent")
			require.ElementsMatch(t, tc.want, mustGetMembers(t, b, g.ID))
		})
	}
}

// TestRename: a change of the naming attribute renames the entry
// (ModifyDN); the id, the SCIM identity, stays.
func TestRename(t *testing.T) {
	b, ou := newTestBackend(t)
	ctx := context.Background()
	u := create(t, b, backends.User, user("alice"))
	g := create(t, b, backends.Group, map[string][]string{"cn": {"Finance"}, backends.AttrMembers: {u.ID}})

	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{
		{Op: backends.Replace, Attr: "uid", Values: []string{"alice.smith"}},
		{Op: backends.Replace, Attr: "mail", Values: []string{"alice.smith@example.org"}},
	}))
	e := rawEntry(t, ou, u.ID, "uid", "mail")
	requireDN(t, "uid=alice.smith,ou=people,"+ou, e.DN)
	require.Equal(t, []string{"alice.smith"}, e.GetAttributeValues("uid"))
	require.Equal(t, []string{"alice.smith@example.org"}, e.GetAttributeValues("mail"))

	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Replace, Attr: "cn", Values: []string{"Finance, EMEA"}}}))
	requireDN(t, `cn=Finance\, EMEA,ou=groups,`+ou, rawEntry(t, ou, g.ID).DN)

	// The test slapd has no refint overlay: the backend itself points the
	// group's member value at the new DN.
	requireDN(t, "uid=alice.smith,ou=people,"+ou, rawEntry(t, ou, g.ID, "member").GetAttributeValue("member"))
	require.Equal(t, []string{u.ID}, mustGetMembers(t, b, g.ID))
	boss := create(t, b, backends.User, user("boss"))
	emp := create(t, b, backends.User, user("emp", "manager", boss.ID))
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: boss.ID}, []backends.Change{{Op: backends.Replace, Attr: "uid", Values: []string{"the.boss"}}}))
	requireDN(t, "uid=the.boss,ou=people,"+ou, rawEntry(t, ou, emp.ID, "manager").GetAttributeValue("manager"))
	got, err := b.Get(ctx, backends.User, emp.ID, backends.Read{})
	require.NoError(t, err)
	require.Equal(t, []string{boss.ID}, got.Attrs["manager"])

	long := strings.Repeat("Ünïcødé ", 40)
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{{Op: backends.Replace, Attr: "uid", Values: []string{long}}}))
	e = rawEntry(t, ou, u.ID, "uid", "scimBridgeKey")
	require.True(t, strings.HasPrefix(strings.ToLower(e.DN), "scimbridgekey="), "a long name is hashed into the DN: %s", e.DN)
	require.Equal(t, []string{long}, e.GetAttributeValues("uid"))
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{{Op: backends.Replace, Attr: "uid", Values: []string{"alice"}}}))
	e = rawEntry(t, ou, u.ID, "uid", "scimBridgeKey")
	requireDN(t, "uid=alice,ou=people,"+ou, e.DN)
	require.Empty(t, e.GetAttributeValues("scimBridgeKey"), "the old naming value went with the old RDN")
}

// TestManagerReference: SCIM holds the manager's id, the directory its DN.
func TestManagerReference(t *testing.T) {
	b, ou := newTestBackend(t)
	ctx := context.Background()
	boss := create(t, b, backends.User, user("boss"))
	emp := create(t, b, backends.User, user("emp", "manager", boss.ID))
	require.Equal(t, []string{boss.ID}, emp.Attrs["manager"])
	requireDN(t, "uid=boss,ou=people,"+ou, rawEntry(t, ou, emp.ID, "manager").GetAttributeValue("manager"))

	recs, _, err := b.Find(ctx, backends.Query{Kind: backends.User, Filter: backends.Cmp{Attr: "manager", Op: backends.Eq, Value: boss.ID}, Limit: 5})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, emp.ID, recs[0].ID)

	err = b.Modify(ctx, backends.Record{Kind: backends.User, ID: emp.ID}, []backends.Change{{Op: backends.Replace, Attr: "manager", Values: []string{"5f0c1d2e-0000-4000-8000-000000000000"}}})
	var ie *backends.InvalidError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "manager", ie.Attr)

	require.NoError(t, b.Delete(ctx, backends.User, boss.ID))
	got, err := b.Get(ctx, backends.User, emp.ID, backends.Read{})
	require.NoError(t, err)
	require.NotContains(t, got.Attrs, "manager", "a deleted manager is cleared")
	require.Empty(t, rawEntry(t, ou, emp.ID, "manager").GetAttributeValues("manager"))
}

// TestSchemaErrorsNameTheAttribute: what the directory's schema refuses is
// ErrInvalid naming the attribute, for the SCIM answer's detail.
func TestSchemaErrorsNameTheAttribute(t *testing.T) {
	b, _ := newTestBackend(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		attrs map[string][]string
		attr  string
	}{
		{"missing MUST attribute", map[string][]string{"uid": {"nosn"}, "cn": {"x"}}, "sn"},
		{"single-valued attribute with two values", user("two", "scimActive", "TRUE", "scimActive", "FALSE"), "scimActive"},
		{"boolean syntax", user("bool", "scimActive", "maybe"), "scimActive"},
		{"undefined attribute", user("undef", "noSuchAttribute", "x"), "noSuchAttribute"},
		{"no naming value", map[string][]string{"sn": {"x"}, "cn": {"x"}}, "uid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Create(ctx, backends.User, tc.attrs)
			var ie *backends.InvalidError
			require.ErrorAs(t, err, &ie, "%v", err)
			require.True(t, errors.Is(err, backends.ErrInvalid))
			require.Equal(t, tc.attr, ie.Attr, "%v", err)
		})
	}
}

// TestPosixGroup: members stored as the users' uid in memberUid, an
// object class that allows no members, and a default gidNumber.
func TestPosixGroup(t *testing.T) {
	schema := testSchema()
	schema.Groups.Layout = map[string]any{
		"parent": "ou=groups", "rdn": "cn", "objectClasses": []any{"posixGroup"},
		"member":   map[string]any{"attribute": "memberUid", "format": "attribute", "userAttribute": "uid"},
		"defaults": map[string]any{"gidNumber": 5000},
	}
	schema.Groups.Attrs = []backends.AttrSchema{{Name: "cn", Unique: true}, {Name: backends.AttrMembers, Multi: true}}
	b, ou := newTestBackendWith(t, schema, nil)
	ctx := context.Background()
	alice := create(t, b, backends.User, user("alice"))
	bob := create(t, b, backends.User, user("bob"))
	g := create(t, b, backends.Group, map[string][]string{"cn": {"staff"}, backends.AttrMembers: {alice.ID}})
	require.ElementsMatch(t, []string{alice.ID}, g.Attrs[backends.AttrMembers])
	e := rawEntry(t, ou, g.ID, "memberUid", "gidNumber")
	require.Equal(t, []string{"alice"}, e.GetAttributeValues("memberUid"))
	require.Equal(t, []string{"5000"}, e.GetAttributeValues("gidNumber"))

	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{bob.ID, alice.ID}}}))
	require.ElementsMatch(t, []string{alice.ID, bob.ID}, mustGetMembers(t, b, g.ID))
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Remove, Attr: backends.AttrMembers, Values: []string{alice.ID, bob.ID}}}))
	require.Equal(t, []string{}, mustGetMembers(t, b, g.ID))
	require.Empty(t, rawEntry(t, ou, g.ID, "memberUid").GetAttributeValues("memberUid"))

	recs, _, err := b.Find(ctx, backends.Query{Kind: backends.Group, Filter: backends.Cmp{Attr: backends.AttrMembers, Op: backends.Eq, Value: bob.ID}, Limit: 5})
	require.NoError(t, err)
	require.Empty(t, recs)
}

// TestActiveBitAndMove: AD-style userAccountControl (a flags integer
// whose bit 2 is "disabled", kept by read-modify-write) and moving a
// disabled account to another container and back.
func TestActiveBitAndMove(t *testing.T) {
	schema := testSchema()
	schema.Users.Layout["active"] = map[string]any{"attribute": "roomNumber", "bit": 2, "moveTo": "ou=disabled,ou=people"}
	schema.Users.Attrs = append(schema.Users.Attrs, backends.AttrSchema{Name: "roomNumber"})
	b, ou := newTestBackendWith(t, schema, nil)
	l := adminConn(t, requireServer(t))
	req := goldap.NewAddRequest("ou=disabled,ou=people,"+ou, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	req.Attribute("ou", []string{"disabled"})
	require.NoError(t, l.Add(req))
	ctx := context.Background()

	u := create(t, b, backends.User, user("alice", "roomNumber", "false"))
	require.Equal(t, []string{"false"}, u.Attrs["roomNumber"])
	e := rawEntry(t, ou, u.ID, "roomNumber")
	require.Equal(t, "514", e.GetAttributeValue("roomNumber"), "512 with the disable bit")
	requireDN(t, "uid=alice,ou=disabled,ou=people,"+ou, e.DN)

	// Another flag set meanwhile (by an administrator) survives.
	m := goldap.NewModifyRequest(e.DN, nil)
	m.Replace("roomNumber", []string{"66050"}) // 65536 DONT_EXPIRE_PASSWORD | 512 | 2
	require.NoError(t, l.Modify(m))
	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{{Op: backends.Replace, Attr: "roomNumber", Values: []string{"true"}}}))
	e = rawEntry(t, ou, u.ID, "roomNumber")
	require.Equal(t, "66048", e.GetAttributeValue("roomNumber"))
	requireDN(t, "uid=alice,ou=people,"+ou, e.DN)
	got, err := b.Get(ctx, backends.User, u.ID, backends.Read{})
	require.NoError(t, err)
	require.Equal(t, []string{"true"}, got.Attrs["roomNumber"])

	require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{{Op: backends.Replace, Attr: "roomNumber", Values: []string{"false"}}}))
	e = rawEntry(t, ou, u.ID, "roomNumber")
	require.Equal(t, "66050", e.GetAttributeValue("roomNumber"))
	requireDN(t, "uid=alice,ou=disabled,ou=people,"+ou, e.DN)
}

// TestBindFailureIsUnavailable: a wrong service password is the bridge's
// problem, reported as unavailable (503), never as anything Entra could
// take for its own credentials; the password never shows in the error.
func TestBindFailureIsUnavailable(t *testing.T) {
	_, err := func() (*Backend, error) {
		b, _ := newTestBackendWith(t, testSchema(), func(c backends.Config) { c["password"] = "wrong-s3cret" })
		_, err := b.Get(context.Background(), backends.User, "5f0c1d2e-0000-4000-8000-000000000000", backends.Read{})
		return b, err
	}()
	require.ErrorIs(t, err, backends.ErrUnavailable)
	require.Contains(t, err.Error(), "Invalid Credentials")
	require.NotContains(t, err.Error(), "wrong-s3cret")
}

// TestTLS connects over LDAPS and StartTLS with the test CA, with a client
// certificate, and refuses a server whose certificate the CA did not sign.
func TestTLS(t *testing.T) {
	s := requireServer(t)
	if s.ldapsURL == "" || s.caFile == "" {
		t.Skip("the slapd has no TLS (SCIMBRIDGE_LDAPS_URL, SCIMBRIDGE_LDAP_CA_FILE unset)")
	}
	tests := []struct {
		name  string
		tweak func(backends.Config)
		ok    bool
	}{
		{"ldaps", func(c backends.Config) { c["url"] = s.ldapsURL; c["caFile"] = s.caFile }, true},
		{"starttls", func(c backends.Config) { c["startTLS"] = true; c["caFile"] = s.caFile }, true},
		{"starttls with client certificate", func(c backends.Config) {
			c["startTLS"] = true
			c["caFile"] = s.caFile
			c["certFile"] = s.dir + "/client.crt"
			c["keyFile"] = s.dir + "/client.key"
		}, true},
		{"ldaps by name", func(c backends.Config) {
			c["url"] = strings.Replace(s.ldapsURL, "127.0.0.1", "localhost", 1)
			c["caFile"] = s.caFile
		}, true},
		{"ldaps without the CA", func(c backends.Config) { c["url"] = s.ldapsURL }, false},
		{"ldaps with the wrong server name", func(c backends.Config) {
			c["url"] = s.ldapsURL
			c["caFile"] = s.caFile
			c["serverName"] = "ldap.example.org"
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTestBackendWith(t, testSchema(), tc.tweak)
			err := b.Ping(context.Background())
			if tc.ok {
				require.NoError(t, err)
				create(t, b, backends.User, user("tls"))
				return
			}
			require.ErrorIs(t, err, backends.ErrUnavailable)
		})
	}
}

// TestFindOrder checks the documented order and the two Find paths (one
// search below quickLimit matches, keys then pages above it) agree.
func TestFindOrder(t *testing.T) {
	b, _ := newTestBackend(t)
	ctx := context.Background()
	var ids []string
	for i := range quickLimit + 20 {
		ids = append(ids, create(t, b, backends.User, user(fmt.Sprintf("p%03d", i))).ID)
	}
	all, total, err := b.Find(ctx, backends.Query{Kind: backends.User, Limit: 1000})
	require.NoError(t, err)
	require.Equal(t, len(ids), total)
	var got []string
	for off := 0; off < total; off += 7 {
		recs, tot, err := b.Find(ctx, backends.Query{Kind: backends.User, Offset: off, Limit: 7})
		require.NoError(t, err)
		require.Equal(t, total, tot)
		for _, r := range recs {
			got = append(got, r.ID)
		}
	}
	var want []string
	for _, r := range all {
		want = append(want, r.ID)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("pages are not slices of one order (-whole +pages):\n%s", d)
	}
	require.ElementsMatch(t, ids, want)
	for i := 1; i < len(all); i++ {
		require.False(t, all[i].Created.Before(all[i-1].Created), "not ordered by creation")
	}
	small, tot, err := b.Find(ctx, backends.Query{Kind: backends.User, Filter: backends.Cmp{Attr: "uid", Op: backends.Sw, Value: "p00"}, Limit: 100})
	require.NoError(t, err)
	require.Equal(t, 10, tot)
	require.Len(t, small, 10)
}
