// Package backendtest owns the contract every backends.Backend meets (Pharos
// on SQLite and PostgreSQL, LDAP), as one exported suite run against a real
// server: creates and reads, natural-key conflicts, not-found kinds, Modify
// semantics, memberships, filter translation with hostile values, paging,
// deletes and cancellation.
//
// A backend's test calls Run with a Fixture naming the target attributes
// the suite may use, and an open function returning a fresh, empty store
// each time (its cleanup registered on the given testing.TB):
//
//	backendtest.Run(t, backendtest.Fixture{
//		UserName: "login", ExternalID: "external_id", Mail: "email",
//		Multi: "cards", GroupName: "name", GroupExternalID: "external_id",
//	}, func(tb testing.TB) backends.Backend { return newTestBackend(tb) })
package backendtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// Fixture names the target attributes the suite writes and filters on, so
// that backends with different schemas (SQL columns, LDAP attribute types)
// run the same contract.
type Fixture struct {
	// UserName is the users' userName attribute: unique, case-insensitive,
	// and able to hold any Unicode text (the hostile-value cases use it).
	UserName string
	// ExternalID is the users' externalId attribute: unique,
	// case-insensitive.
	ExternalID string
	// Mail is a single-valued, non-unique string attribute of users that
	// supports eq, co, sw, ew and pr.
	Mail string
	// Multi is a multi-valued string attribute of users; empty skips the
	// multi-valued cases.
	Multi string
	// GroupName is the groups' name attribute: unique, case-insensitive.
	GroupName string
	// GroupExternalID is the groups' externalId attribute: unique,
	// case-insensitive; empty skips its cases.
	GroupExternalID string
	// UserExtra and GroupExtra are added to every user and group the suite
	// creates, for attributes the target requires (an LDAP sn, say).
	UserExtra, GroupExtra map[string][]string
	// ConflictIDs says the backend always names the record holding a
	// taken value in ConflictError.ID; otherwise an empty ID is accepted.
	ConflictIDs bool
}

// Open returns a fresh, empty store; it registers its own cleanup on tb.
type Open func(tb testing.TB) backends.Backend

// Run runs the contract against the backend open returns.
func Run(t *testing.T, fx Fixture, open Open) {
	t.Helper()
	require.NotEmpty(t, fx.UserName, "Fixture.UserName")
	require.NotEmpty(t, fx.ExternalID, "Fixture.ExternalID")
	require.NotEmpty(t, fx.Mail, "Fixture.Mail")
	require.NotEmpty(t, fx.GroupName, "Fixture.GroupName")
	s := &suite{fx: fx, open: open}
	tests := []struct {
		name string
		run  func(t *testing.T, b backends.Backend)
	}{
		{"CreateGetUser", s.createGetUser},
		{"CreateGetGroup", s.createGetGroup},
		{"FindByNaturalKey", s.findByNaturalKey},
		{"Conflict", s.conflict},
		{"ConcurrentCreate", s.concurrentCreate},
		{"NotFound", s.notFound},
		{"ModifyScalar", s.modifyScalar},
		{"ModifyMultiValued", s.modifyMulti},
		{"ModifyAtomic", s.modifyAtomic},
		{"Members", s.members},
		{"EmptyGroup", s.emptyGroup},
		{"MembersOnlyWhenAsked", s.membersOnlyWhenAsked},
		{"FindByMember", s.findByMember},
		{"FilterOperators", s.filterOperators},
		{"FilterHostileValues", s.filterHostile},
		{"Paging", s.paging},
		{"DeleteRemovesMemberships", s.deleteRemovesMemberships},
		{"CancelledContext", s.cancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			tc.run(t, b)
		})
	}
}

type suite struct {
	fx   Fixture
	open Open
}

// user builds the attributes of a user named name.
func (s *suite) user(name string) map[string][]string {
	a := map[string][]string{
		s.fx.UserName:   {name},
		s.fx.ExternalID: {"ext-" + name},
		s.fx.Mail:       {name + "@example.com"},
	}
	for k, v := range s.fx.UserExtra {
		a[k] = v
	}
	return a
}

// group builds the attributes of a group named name.
func (s *suite) group(name string) map[string][]string {
	a := map[string][]string{s.fx.GroupName: {name}}
	if s.fx.GroupExternalID != "" {
		a[s.fx.GroupExternalID] = []string{"gext-" + name}
	}
	for k, v := range s.fx.GroupExtra {
		a[k] = v
	}
	return a
}

func mustCreate(tb testing.TB, b backends.Backend, kind backends.Kind, attrs map[string][]string) backends.Record {
	tb.Helper()
	rec, err := b.Create(context.Background(), kind, attrs)
	require.NoError(tb, err, "create %s", kind)
	require.NotEmpty(tb, rec.ID, "created %s has no id", kind)
	return rec
}

func mustGet(tb testing.TB, b backends.Backend, kind backends.Kind, id string, members bool) backends.Record {
	tb.Helper()
	rec, err := b.Get(context.Background(), kind, id, backends.Read{Members: members})
	require.NoError(tb, err, "get %s %q", kind, id)
	return rec
}

func mustModify(tb testing.TB, b backends.Backend, kind backends.Kind, id string, changes ...backends.Change) {
	tb.Helper()
	require.NoError(tb, b.Modify(context.Background(), backends.Record{Kind: kind, ID: id}, changes), "modify %s %q %v", kind, id, changes)
}

func mustFind(tb testing.TB, b backends.Backend, q backends.Query) ([]backends.Record, int) {
	tb.Helper()
	recs, total, err := b.Find(context.Background(), q)
	require.NoError(tb, err, "find %#v", q.Filter)
	return recs, total
}

// findIDs returns the sorted ids of every record matching f.
func findIDs(tb testing.TB, b backends.Backend, kind backends.Kind, f backends.Expr) []string {
	tb.Helper()
	recs, total := mustFind(tb, b, backends.Query{Kind: kind, Filter: f, Limit: 1000})
	require.Len(tb, recs, total, "total disagrees with the records returned")
	return ids(recs)
}

func ids(recs []backends.Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.ID)
	}
	sort.Strings(out)
	return out
}

func sorted(v ...string) []string {
	out := slices.Clone(v)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// values returns the sorted values of attr, [] when absent.
func values(rec backends.Record, attr string) []string {
	return sorted(rec.Attrs[attr]...)
}

func eq(attr, v string) backends.Expr { return backends.Cmp{Attr: attr, Op: backends.Eq, Value: v} }

// requireAttrs checks that rec holds exactly want for each attribute of
// want (other attributes, such as defaults the target adds, are ignored).
func requireAttrs(tb testing.TB, want map[string][]string, rec backends.Record) {
	tb.Helper()
	got := map[string][]string{}
	w := map[string][]string{}
	for k, v := range want {
		w[k] = sorted(v...)
		got[k] = values(rec, k)
	}
	if d := cmp.Diff(w, got); d != "" {
		tb.Fatalf("attributes of %s %q (-want +got):\n%s", rec.Kind, rec.ID, d)
	}
}

// requireTimes checks Created and Modified when the backend tracks them.
func requireTimes(tb testing.TB, rec backends.Record) {
	tb.Helper()
	if rec.Created.IsZero() {
		return
	}
	now := time.Now()
	require.WithinDuration(tb, now, rec.Created, time.Hour, "Created is off: a time zone mix-up?")
	require.False(tb, rec.Modified.Before(rec.Created), "Modified %v before Created %v", rec.Modified, rec.Created)
}

func (s *suite) createGetUser(t *testing.T, b backends.Backend) {
	attrs := s.user("Alice.Case")
	if s.fx.Multi != "" {
		attrs[s.fx.Multi] = []string{"AB-12", "cd-34"}
	}
	rec, err := b.Create(context.Background(), backends.User, attrs)
	require.NoError(t, err)
	require.NotEmpty(t, rec.ID)
	require.Equal(t, backends.User, rec.Kind)
	requireAttrs(t, attrs, rec) // case is kept as written
	requireTimes(t, rec)
	_, hasMembers := rec.Attrs[backends.AttrMembers]
	require.False(t, hasMembers, "a user has no members")

	got := mustGet(t, b, backends.User, rec.ID, false)
	if d := cmp.Diff(rec, got, ignoreHandle); d != "" {
		t.Fatalf("Create's answer differs from Get (-create +get):\n%s", d)
	}

	second := mustCreate(t, b, backends.User, s.user("bob"))
	require.NotEqual(t, rec.ID, second.ID, "two records share an id")
}

// ignoreHandle compares records by what they say, not by the note a
// backend's Get leaves on them for its Modify.
var ignoreHandle = cmpopts.IgnoreFields(backends.Record{}, "Handle")

func (s *suite) createGetGroup(t *testing.T, b backends.Backend) {
	attrs := s.group("Printers-Floor1")
	rec := mustCreate(t, b, backends.Group, attrs)
	require.Equal(t, backends.Group, rec.Kind)
	requireAttrs(t, attrs, rec)
	requireTimes(t, rec)
	got := mustGet(t, b, backends.Group, rec.ID, false)
	delete(rec.Attrs, backends.AttrMembers)
	if d := cmp.Diff(rec, got, ignoreHandle); d != "" {
		t.Fatalf("Create's answer differs from Get (-create +get):\n%s", d)
	}
}

func (s *suite) findByNaturalKey(t *testing.T, b backends.Backend) {
	alice := mustCreate(t, b, backends.User, s.user("Alice.Case"))
	mustCreate(t, b, backends.User, s.user("alice.other"))
	g := mustCreate(t, b, backends.Group, s.group("Finance"))
	mustCreate(t, b, backends.Group, s.group("Finance-2"))
	tests := []struct {
		name string
		kind backends.Kind
		f    backends.Expr
		want string
	}{
		{"userName exact", backends.User, eq(s.fx.UserName, "Alice.Case"), alice.ID},
		{"userName other case", backends.User, eq(s.fx.UserName, "ALICE.CASE"), alice.ID},
		{"externalId other case", backends.User, eq(s.fx.ExternalID, "EXT-alice.case"), alice.ID},
		{"mail", backends.User, eq(s.fx.Mail, "alice.case@EXAMPLE.com"), alice.ID},
		{"id", backends.User, eq(backends.AttrID, alice.ID), alice.ID},
		{"group name other case", backends.Group, eq(s.fx.GroupName, "fINANCE"), g.ID},
		{"group id", backends.Group, eq(backends.AttrID, g.ID), g.ID},
	}
	if s.fx.GroupExternalID != "" {
		tests = append(tests, struct {
			name string
			kind backends.Kind
			f    backends.Expr
			want string
		}{"group externalId other case", backends.Group, eq(s.fx.GroupExternalID, "GEXT-finance"), g.ID})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, total := mustFind(t, b, backends.Query{Kind: tc.kind, Filter: tc.f, Limit: 10})
			require.Equal(t, 1, total)
			require.Len(t, recs, 1)
			require.Equal(t, tc.want, recs[0].ID)
		})
	}
}

// requireConflict checks err is a conflict on attr held by holder.
func (s *suite) requireConflict(tb testing.TB, err error, attr, holder string) {
	tb.Helper()
	require.ErrorIs(tb, err, backends.ErrConflict)
	var ce *backends.ConflictError
	require.ErrorAs(tb, err, &ce)
	require.Equal(tb, attr, ce.Attr, "ConflictError.Attr")
	if s.fx.ConflictIDs || ce.ID != "" {
		require.Equal(tb, holder, ce.ID, "ConflictError.ID names the holder")
	}
}

func (s *suite) conflict(t *testing.T, b backends.Backend) {
	ctx := context.Background()
	alice := mustCreate(t, b, backends.User, s.user("Alice.Case"))
	fin := mustCreate(t, b, backends.Group, s.group("Finance"))
	tests := []struct {
		name   string
		kind   backends.Kind
		attrs  map[string][]string
		attr   string
		holder string
	}{
		{"userName other case", backends.User, func() map[string][]string {
			a := s.user("bob")
			a[s.fx.UserName] = []string{"ALICE.case"}
			return a
		}(), s.fx.UserName, alice.ID},
		{"externalId other case", backends.User, func() map[string][]string {
			a := s.user("carol")
			a[s.fx.ExternalID] = []string{"Ext-Alice.Case"}
			return a
		}(), s.fx.ExternalID, alice.ID},
		{"group name other case", backends.Group, func() map[string][]string {
			a := s.group("other")
			a[s.fx.GroupName] = []string{"FINANCE"}
			return a
		}(), s.fx.GroupName, fin.ID},
	}
	if s.fx.GroupExternalID != "" {
		a := s.group("other2")
		a[s.fx.GroupExternalID] = []string{"GEXT-FINANCE"}
		tests = append(tests, struct {
			name   string
			kind   backends.Kind
			attrs  map[string][]string
			attr   string
			holder string
		}{"group externalId other case", backends.Group, a, s.fx.GroupExternalID, fin.ID})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Create(ctx, tc.kind, tc.attrs)
			s.requireConflict(t, err, tc.attr, tc.holder)
			_, total := mustFind(t, b, backends.Query{Kind: tc.kind})
			require.Equal(t, 1, total, "a refused create left a record behind")
		})
	}
	t.Run("modify onto another's userName", func(t *testing.T) {
		bob := mustCreate(t, b, backends.User, s.user("bob"))
		err := b.Modify(ctx, backends.Record{Kind: backends.User, ID: bob.ID}, []backends.Change{
			{Op: backends.Replace, Attr: s.fx.UserName, Values: []string{"alice.CASE"}},
		})

		s.requireConflict(t, err, s.fx.UserName, alice.ID)
		requireAttrs(t, map[string][]string{s.fx.UserName: {"bob"}}, mustGet(t, b, backends.User, bob.ID, false))
	})
	t.Run("modify onto own userName in other case", func(t *testing.T) {
		mustModify(t, b, backends.User, alice.ID,
			backends.Change{Op: backends.Replace, Attr: s.fx.UserName, Values: []string{"ALICE.CASE"}})
		requireAttrs(t, map[string][]string{s.fx.UserName: {"ALICE.CASE"}}, mustGet(t, b, backends.User, alice.ID, false))
	})
}

// concurrentCreate races creates of one userName: the target, not a
// check before the write, must let exactly one through.
func (s *suite) concurrentCreate(t *testing.T, b backends.Backend) {
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	recs := make([]backends.Record, n)
	for i := range n {
		wg.Go(func() {
			a := s.user(fmt.Sprintf("racer%d", i))
			a[s.fx.UserName] = []string{"Racer"}
			recs[i], errs[i] = b.Create(context.Background(), backends.User, a)
		})
	}
	wg.Wait()
	winner := ""
	for i, err := range errs {
		if err == nil {
			require.Empty(t, winner, "two creates of one userName succeeded")
			winner = recs[i].ID
		}
	}
	require.NotEmpty(t, winner, "no create succeeded: %v", errs)
	for _, err := range errs {
		if err != nil {
			s.requireConflict(t, err, s.fx.UserName, winner)
		}
	}
	require.Equal(t, []string{winner}, findIDs(t, b, backends.User, nil))
}

func (s *suite) notFound(t *testing.T, b backends.Backend) {
	ctx := context.Background()
	u := mustCreate(t, b, backends.User, s.user("alice"))
	g := mustCreate(t, b, backends.Group, s.group("Finance"))
	bogus := []string{"", "0", "-1", "999999999", "not-an-id", "00000000-0000-0000-0000-000000000000",
		"'; DROP TABLE users; --", "x\x00y", "%", "*", "\xff\xfe", strings.Repeat("9", 40)}
	type tc struct {
		name, id string
		kind     backends.Kind
	}
	var tests []tc
	for _, id := range bogus {
		tests = append(tests, tc{fmt.Sprintf("user %q", id), id, backends.User}, tc{fmt.Sprintf("group %q", id), id, backends.Group})
	}
	tests = append(tests, tc{"group id as user", g.ID, backends.User}, tc{"user id as group", u.ID, backends.Group})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Get(ctx, tc.kind, tc.id, backends.Read{Members: true})
			require.ErrorIs(t, err, backends.ErrNotFound, "get")
			attr := s.fx.Mail
			if tc.kind == backends.Group {
				attr = s.fx.GroupName
			}
			err = b.Modify(ctx, backends.Record{Kind: tc.kind, ID: tc.id}, []backends.Change{{Op: backends.Replace, Attr: attr, Values: []string{"zed"}}})
			require.ErrorIs(t, err, backends.ErrNotFound, "modify")
			require.ErrorIs(t, b.Delete(ctx, tc.kind, tc.id), backends.ErrNotFound, "delete")
		})
	}
	// Nothing above touched the real records.
	requireAttrs(t, s.user("alice"), mustGet(t, b, backends.User, u.ID, false))
	requireAttrs(t, s.group("Finance"), mustGet(t, b, backends.Group, g.ID, false))
}

func (s *suite) modifyScalar(t *testing.T, b backends.Backend) {
	u := mustCreate(t, b, backends.User, s.user("alice"))
	other := mustCreate(t, b, backends.User, s.user("bob"))
	mail := s.fx.Mail
	last := u
	steps := []struct {
		name    string
		changes []backends.Change
		want    []string // mail afterwards
	}{
		{"replace", []backends.Change{{Op: backends.Replace, Attr: mail, Values: []string{"New@Example.com"}}}, []string{"New@Example.com"}},
		{"replace with nothing clears", []backends.Change{{Op: backends.Replace, Attr: mail}}, nil},
		{"add to an empty attribute sets it", []backends.Change{{Op: backends.Add, Attr: mail, Values: []string{"add@example.com"}}}, []string{"add@example.com"}},
		{"remove of another value keeps it", []backends.Change{{Op: backends.Remove, Attr: mail, Values: []string{"other@example.com"}}}, []string{"add@example.com"}},
		{"remove of the value in other case clears it", []backends.Change{{Op: backends.Remove, Attr: mail, Values: []string{"ADD@example.com"}}}, nil},
		{"remove of an absent attribute", []backends.Change{{Op: backends.Remove, Attr: mail}}, nil},
		{"replace then remove all", []backends.Change{
			{Op: backends.Replace, Attr: mail, Values: []string{"x@example.com"}},
			{Op: backends.Remove, Attr: mail},
		}, nil},
		{"changes apply in order", []backends.Change{
			{Op: backends.Replace, Attr: mail, Values: []string{"first@example.com"}},
			{Op: backends.Replace, Attr: mail, Values: []string{"second@example.com"}},
		}, []string{"second@example.com"}},
		{"no changes", nil, []string{"second@example.com"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			mustModify(t, b, backends.User, u.ID, st.changes...)
			got := mustGet(t, b, backends.User, u.ID, false)
			requireAttrs(t, map[string][]string{mail: st.want, s.fx.UserName: {"alice"}}, got)
			require.Equal(t, last.Created, got.Created, "Created changed")
			require.False(t, got.Modified.Before(last.Modified), "Modified went back")
			last = got
		})
	}
	requireAttrs(t, s.user("bob"), mustGet(t, b, backends.User, other.ID, false))
}

func (s *suite) modifyMulti(t *testing.T, b backends.Backend) {
	if s.fx.Multi == "" {
		t.Skip("Fixture.Multi is empty: the backend has no multi-valued user attribute")
	}
	attrs := s.user("alice")
	attrs[s.fx.Multi] = []string{"A1"}
	u := mustCreate(t, b, backends.User, attrs)
	m := s.fx.Multi
	steps := []struct {
		name    string
		changes []backends.Change
		want    []string
	}{
		{"replace sets the whole set", []backends.Change{{Op: backends.Replace, Attr: m, Values: []string{"B2", "A1"}}}, []string{"A1", "B2"}},
		{"add keeps present values", []backends.Change{{Op: backends.Add, Attr: m, Values: []string{"B2", "C3"}}}, []string{"A1", "B2", "C3"}},
		{"add of present values only", []backends.Change{{Op: backends.Add, Attr: m, Values: []string{"A1"}}}, []string{"A1", "B2", "C3"}},
		{"remove listed values, absent ones ignored", []backends.Change{{Op: backends.Remove, Attr: m, Values: []string{"A1", "Z9"}}}, []string{"B2", "C3"}},
		{"remove of an absent value only", []backends.Change{{Op: backends.Remove, Attr: m, Values: []string{"Z9"}}}, []string{"B2", "C3"}},
		{"remove with no values removes all", []backends.Change{{Op: backends.Remove, Attr: m}}, nil},
		{"add to an empty set", []backends.Change{{Op: backends.Add, Attr: m, Values: []string{"D4"}}}, []string{"D4"}},
		{"replace with nothing clears", []backends.Change{{Op: backends.Replace, Attr: m}}, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			mustModify(t, b, backends.User, u.ID, st.changes...)
			got := mustGet(t, b, backends.User, u.ID, false)
			requireAttrs(t, map[string][]string{m: st.want}, got)
			if len(st.want) == 0 {
				_, present := got.Attrs[m]
				require.False(t, present, "an empty attribute is absent, not an empty list")
			}
		})
	}
}

func (s *suite) modifyAtomic(t *testing.T, b backends.Backend) {
	alice := mustCreate(t, b, backends.User, s.user("alice"))
	bob := mustCreate(t, b, backends.User, s.user("bob"))
	changes := []backends.Change{
		{Op: backends.Replace, Attr: s.fx.Mail, Values: []string{"changed@example.com"}},
		{Op: backends.Replace, Attr: s.fx.UserName, Values: []string{"ALICE"}},
	}
	if s.fx.Multi != "" {
		changes = append([]backends.Change{{Op: backends.Add, Attr: s.fx.Multi, Values: []string{"X1"}}}, changes...)
	}
	err := b.Modify(context.Background(), backends.Record{Kind: backends.User, ID: bob.ID}, changes)
	s.requireConflict(t, err, s.fx.UserName, alice.ID)
	got := mustGet(t, b, backends.User, bob.ID, false)
	want := s.user("bob")
	if s.fx.Multi != "" {
		want[s.fx.Multi] = nil
	}
	requireAttrs(t, want, got)
}

func (s *suite) members(t *testing.T, b backends.Backend) {
	ctx := context.Background()
	u1 := mustCreate(t, b, backends.User, s.user("u1"))
	u2 := mustCreate(t, b, backends.User, s.user("u2"))
	u3 := mustCreate(t, b, backends.User, s.user("u3"))
	nested := mustCreate(t, b, backends.Group, s.group("nested"))
	ga := s.group("g1")
	ga[backends.AttrMembers] = []string{u1.ID}
	g := mustCreate(t, b, backends.Group, ga)
	mem := func(op backends.ChangeOp, v ...string) backends.Change {
		return backends.Change{Op: op, Attr: backends.AttrMembers, Values: v}
	}
	steps := []struct {
		name   string
		change backends.Change
		want   []string
	}{
		{"created with one member", backends.Change{}, []string{u1.ID}},
		{"add a present and a new member", mem(backends.Add, u1.ID, u2.ID), []string{u1.ID, u2.ID}},
		{"add a present member only", mem(backends.Add, u2.ID), []string{u1.ID, u2.ID}},
		{"remove an absent member", mem(backends.Remove, u3.ID), []string{u1.ID, u2.ID}},
		{"remove an unknown id", mem(backends.Remove, "no-such-id"), []string{u1.ID, u2.ID}},
		{"remove a member", mem(backends.Remove, u1.ID), []string{u2.ID}},
		{"replace with a user and a nested group", mem(backends.Replace, u3.ID, nested.ID), []string{u3.ID, nested.ID}},
		{"add the same member twice in one change", mem(backends.Add, u1.ID, u1.ID), []string{u1.ID, u3.ID, nested.ID}},
		{"remove all", mem(backends.Remove), nil},
		{"add to an empty group", mem(backends.Add, u2.ID), []string{u2.ID}},
		{"replace with nothing", mem(backends.Replace), nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change.Op != 0 {
				mustModify(t, b, backends.Group, g.ID, st.change)
			}
			got := mustGet(t, b, backends.Group, g.ID, true)
			require.Equal(t, sorted(st.want...), values(got, backends.AttrMembers))
		})
	}
	t.Run("add an unknown id is invalid", func(t *testing.T) {
		mustModify(t, b, backends.Group, g.ID, mem(backends.Add, u1.ID))
		err := b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{mem(backends.Add, u2.ID, "no-such-id")})
		require.ErrorIs(t, err, backends.ErrInvalid)
		got := mustGet(t, b, backends.Group, g.ID, true)
		require.Equal(t, []string{u1.ID}, values(got, backends.AttrMembers), "a refused change applied in part")
	})
}

func (s *suite) emptyGroup(t *testing.T, b backends.Backend) {
	u := mustCreate(t, b, backends.User, s.user("u1"))
	g := mustCreate(t, b, backends.Group, s.group("empty"))
	got := mustGet(t, b, backends.Group, g.ID, true)
	members, present := got.Attrs[backends.AttrMembers]
	require.True(t, present, "members were asked for, so they are present (empty)")
	require.Empty(t, members)

	mustModify(t, b, backends.Group, g.ID, backends.Change{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{u.ID}})
	mustModify(t, b, backends.Group, g.ID, backends.Change{Op: backends.Remove, Attr: backends.AttrMembers, Values: []string{u.ID}})
	got = mustGet(t, b, backends.Group, g.ID, true)
	require.Empty(t, got.Attrs[backends.AttrMembers], "the last member is gone")
	requireAttrs(t, s.group("empty"), got)
	recs, total := mustFind(t, b, backends.Query{Kind: backends.Group, Filter: eq(s.fx.GroupName, "empty"), Limit: 1, Read: backends.Read{Members: true}})
	require.Equal(t, 1, total)
	require.Empty(t, recs[0].Attrs[backends.AttrMembers])
}

func (s *suite) membersOnlyWhenAsked(t *testing.T, b backends.Backend) {
	u := mustCreate(t, b, backends.User, s.user("u1"))
	ga := s.group("full")
	ga[backends.AttrMembers] = []string{u.ID}
	g := mustCreate(t, b, backends.Group, ga)
	mustCreate(t, b, backends.Group, s.group("empty"))

	got := mustGet(t, b, backends.Group, g.ID, false)
	_, present := got.Attrs[backends.AttrMembers]
	require.False(t, present, "Get without members read them")

	recs, _ := mustFind(t, b, backends.Query{Kind: backends.Group, Limit: 10})
	require.Len(t, recs, 2)
	for _, r := range recs {
		_, present := r.Attrs[backends.AttrMembers]
		require.False(t, present, "Find without Members read them")
	}
	recs, _ = mustFind(t, b, backends.Query{Kind: backends.Group, Limit: 10, Read: backends.Read{Members: true}})
	require.Len(t, recs, 2)
	for _, r := range recs {
		want := []string{}
		if r.ID == g.ID {
			want = []string{u.ID}
		}
		m, present := r.Attrs[backends.AttrMembers]
		require.True(t, present, "Find with Members did not read them")
		require.Equal(t, want, sorted(m...))
	}
}

func (s *suite) findByMember(t *testing.T, b backends.Backend) {
	u1 := mustCreate(t, b, backends.User, s.user("u1"))
	u2 := mustCreate(t, b, backends.User, s.user("u2"))
	mk := func(name string, members ...string) backends.Record {
		a := s.group(name)
		a[backends.AttrMembers] = members
		return mustCreate(t, b, backends.Group, a)
	}
	g1 := mk("g1", u1.ID)
	g2 := mk("g2", u1.ID, u2.ID)
	g3 := mk("g3", u2.ID, g1.ID)
	mk("g4")
	tests := []struct {
		name string
		f    backends.Expr
		want []string
	}{
		{"groups of u1", eq(backends.AttrMembers, u1.ID), sorted(g1.ID, g2.ID)},
		{"groups of u2", eq(backends.AttrMembers, u2.ID), sorted(g2.ID, g3.ID)},
		{"groups holding group g1", eq(backends.AttrMembers, g1.ID), sorted(g3.ID)},
		{"unknown member", eq(backends.AttrMembers, "no-such-id"), sorted()},
		{"both u1 and u2", backends.And{Left: eq(backends.AttrMembers, u1.ID), Right: eq(backends.AttrMembers, u2.ID)}, sorted(g2.ID)},
		{"g1 with u1", backends.And{Left: eq(backends.AttrID, g1.ID), Right: eq(backends.AttrMembers, u1.ID)}, sorted(g1.ID)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, findIDs(t, b, backends.Group, tc.f))
		})
	}
}

func (s *suite) filterOperators(t *testing.T, b backends.Backend) {
	mk := func(name, mail string, multi ...string) string {
		a := s.user(name)
		delete(a, s.fx.Mail)
		if mail != "" {
			a[s.fx.Mail] = []string{mail}
		}
		if s.fx.Multi != "" && len(multi) > 0 {
			a[s.fx.Multi] = multi
		}
		return mustCreate(t, b, backends.User, a).ID
	}
	alice := mk("alice", "alice@example.com", "AB12", "cd34")
	bob := mk("bob", "bob@example.org")
	carol := mk("carol", "")
	all := sorted(alice, bob, carol)
	m := s.fx.Mail
	c := func(attr string, op backends.CmpOp, v string) backends.Expr {
		return backends.Cmp{Attr: attr, Op: op, Value: v}
	}
	type tcase struct {
		name string
		f    backends.Expr
		want []string
	}
	tests := []tcase{
		{"eq other case", c(m, backends.Eq, "ALICE@example.COM"), sorted(alice)},
		{"ne includes absent", c(m, backends.Ne, "alice@example.com"), sorted(bob, carol)},
		{"co", c(m, backends.Co, "EXAMPLE"), sorted(alice, bob)},
		{"sw", c(m, backends.Sw, "Bob@"), sorted(bob)},
		{"ew", c(m, backends.Ew, ".ORG"), sorted(bob)},
		{"co matches the whole value", c(m, backends.Co, "bob@example.org"), sorted(bob)},
		{"sw longer than any value", c(m, backends.Sw, "bob@example.org.uk"), sorted()},
		{"pr", c(m, backends.Pr, ""), sorted(alice, bob)},
		{"not pr", backends.Not{X: c(m, backends.Pr, "")}, sorted(carol)},
		{"and", backends.And{Left: c(m, backends.Sw, "a"), Right: c(m, backends.Ew, "com")}, sorted(alice)},
		{"or", backends.Or{Left: c(m, backends.Eq, "alice@example.com"), Right: c(m, backends.Eq, "bob@example.org")}, sorted(alice, bob)},
		{"not or", backends.Not{X: backends.Or{Left: c(m, backends.Eq, "alice@example.com"), Right: c(m, backends.Eq, "bob@example.org")}}, sorted(carol)},
		{"not eq", backends.Not{X: c(m, backends.Eq, "bob@example.org")}, sorted(alice, carol)},
		{"none", backends.None{}, sorted()},
		{"not none", backends.Not{X: backends.None{}}, all},
		{"and none", backends.And{Left: c(m, backends.Pr, ""), Right: backends.None{}}, sorted()},
		{"or none", backends.Or{Left: c(m, backends.Eq, "bob@example.org"), Right: backends.None{}}, sorted(bob)},
		{"nil filter", nil, all},
		{"id", c(backends.AttrID, backends.Eq, bob), sorted(bob)},
		{"id ne", c(backends.AttrID, backends.Ne, bob), sorted(alice, carol)},
		{"id unknown", c(backends.AttrID, backends.Eq, "no-such-id"), sorted()},
		{"id or userName", backends.Or{Left: c(backends.AttrID, backends.Eq, alice), Right: c(s.fx.UserName, backends.Eq, "CAROL")}, sorted(alice, carol)},
	}
	if s.fx.Multi != "" {
		tests = append(tests,
			tcase{"multi eq any value, other case", c(s.fx.Multi, backends.Eq, "ab12"), sorted(alice)},
			tcase{"multi eq second value", c(s.fx.Multi, backends.Eq, "CD34"), sorted(alice)},
			tcase{"multi pr", c(s.fx.Multi, backends.Pr, ""), sorted(alice)},
			tcase{"multi sw", c(s.fx.Multi, backends.Sw, "c"), sorted(alice)},
			tcase{"multi ne", c(s.fx.Multi, backends.Ne, "ab12"), sorted(bob, carol)},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, findIDs(t, b, backends.User, tc.f))
		})
	}
	// Ordering comparisons are optional: a target without an ordering
	// rule says ErrUnsupported, never a wrong answer.
	ordering := []tcase{
		{"gt", c(s.fx.UserName, backends.Gt, "ALICE"), sorted(bob, carol)},
		{"ge", c(s.fx.UserName, backends.Ge, "BOB"), sorted(bob, carol)},
		{"lt", c(s.fx.UserName, backends.Lt, "Bob"), sorted(alice)},
		{"le", c(s.fx.UserName, backends.Le, "bob"), sorted(alice, bob)},
	}
	for _, tc := range ordering {
		t.Run(tc.name, func(t *testing.T) {
			recs, _, err := b.Find(context.Background(), backends.Query{Kind: backends.User, Filter: tc.f, Limit: 10})
			if errors.Is(err, backends.ErrUnsupported) {
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, ids(recs))
		})
	}
}

// hostileNames are userNames that break naive filter or query building:
// quotes, parentheses, LDAP and LIKE wildcards, escape characters, SQL
// comment and injection fragments, and long mixed-script Unicode.
var hostileNames = []string{
	`o'brien`, `a"quote`, `semi;colon`, `paren(x)`, `a) OR (1=1`, `' OR '1'='1`, `dash--comment`,
	`star*`, `*`, `percent%`, `%`, `x%y`, `xay`, `x_y`, `under_score`, `_`,
	`back\slash`, `\`, `\\2a`, `\2a`, `trailing\`, `esc\%`, `esc\_`,
	`ünïcødé-日本語-ελληνικά-` + strings.Repeat("ß€", 100),
}

func (s *suite) filterHostile(t *testing.T, b backends.Backend) {
	ctx := context.Background()
	byName := map[string]string{}
	for i, name := range hostileNames {
		a := s.user(fmt.Sprintf("h%d", i))
		a[s.fx.UserName] = []string{name}
		byName[name] = mustCreate(t, b, backends.User, a).ID
	}
	for _, name := range hostileNames {
		t.Run("eq "+truncName(name), func(t *testing.T) {
			require.Equal(t, []string{byName[name]}, findIDs(t, b, backends.User, eq(s.fx.UserName, name)))
			got := mustGet(t, b, backends.User, byName[name], false)
			require.Equal(t, []string{name}, got.Attrs[s.fx.UserName], "value not stored as written")
		})
	}
	probes := []string{"%", "_", "*", `\`, "'", "(", `x%y`, `x_`, `_y`, `\%`, `\_`, `%%`, `\\`, `ß€ß`, `a"`}
	ops := []struct {
		op    backends.CmpOp
		match func(s, p string) bool
	}{
		{backends.Eq, func(s, p string) bool { return s == p }},
		{backends.Co, strings.Contains},
		{backends.Sw, strings.HasPrefix},
		{backends.Ew, strings.HasSuffix},
	}
	for _, p := range probes {
		for _, o := range ops {
			t.Run(o.op.String()+" "+p, func(t *testing.T) {
				want := []string{}
				for _, name := range hostileNames {
					if o.match(strings.ToLower(name), strings.ToLower(p)) {
						want = append(want, byName[name])
					}
				}
				got := findIDs(t, b, backends.User, backends.Cmp{Attr: s.fx.UserName, Op: o.op, Value: p})
				require.Equal(t, sorted(want...), got, "wildcards in a value are data")
			})
		}
	}
	t.Run("NUL", func(t *testing.T) {
		// A NUL may be refused as invalid or stored exactly; either way a
		// filter holding one never errors otherwise and never matches a
		// record whose value merely starts the same.
		a := s.user("nul")
		a[s.fx.UserName] = []string{"nul\x00byte"}
		rec, err := b.Create(ctx, backends.User, a)
		if err != nil {
			require.ErrorIs(t, err, backends.ErrInvalid)
		}
		recs, _, err := b.Find(ctx, backends.Query{Kind: backends.User, Filter: eq(s.fx.UserName, "nul\x00byte"), Limit: 10})
		if err != nil {
			require.ErrorIs(t, err, backends.ErrInvalid)
		} else if rec.ID != "" {
			require.Equal(t, []string{rec.ID}, ids(recs))
		} else {
			require.Empty(t, recs)
		}
		require.Empty(t, findIDs(t, b, backends.User, eq(s.fx.UserName, "nul")))
		recs, _, err = b.Find(ctx, backends.Query{Kind: backends.User, Filter: eq(s.fx.UserName, "o'brien\x00"), Limit: 10})
		if err == nil {
			require.Empty(t, recs, "a NUL-suffixed value matched the record without it")
		} else {
			require.ErrorIs(t, err, backends.ErrInvalid)
		}
	})
}

func truncName(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:20]) + "…"
	}
	return s
}

func (s *suite) paging(t *testing.T, b backends.Backend) {
	var want []string
	for i := range 7 {
		want = append(want, mustCreate(t, b, backends.User, s.user(fmt.Sprintf("page%d", i))).ID)
	}
	other := mustCreate(t, b, backends.User, s.user("zz-other")).ID
	f := backends.Cmp{Attr: s.fx.UserName, Op: backends.Sw, Value: "page"}
	page := func(offset, limit int) ([]string, int) {
		recs, total := mustFind(t, b, backends.Query{Kind: backends.User, Filter: f, Offset: offset, Limit: limit})
		out := make([]string, len(recs))
		for i, r := range recs {
			out[i] = r.ID
		}
		return out, total
	}
	var seen []string
	for _, p := range []struct{ offset, size int }{{0, 3}, {3, 3}, {6, 1}} {
		got, total := page(p.offset, 3)
		require.Equal(t, 7, total, "total at offset %d", p.offset)
		require.Len(t, got, p.size, "page at offset %d", p.offset)
		seen = append(seen, got...)
	}
	require.Equal(t, sorted(want...), sorted(seen...), "pages overlap or miss records")
	first, _ := page(0, 7)
	again, _ := page(0, 7)
	require.Equal(t, first, again, "order is not stable")
	require.Equal(t, seen, first, "pages are not slices of one order")

	got, total := page(0, 0)
	require.Empty(t, got, "Limit 0 returns no records")
	require.Equal(t, 7, total)
	got, total = page(50, 10)
	require.Empty(t, got)
	require.Equal(t, 7, total, "total past the end")
	_, total = mustFind(t, b, backends.Query{Kind: backends.User})
	require.Equal(t, 8, total)
	require.NotContains(t, seen, other)
}

func (s *suite) deleteRemovesMemberships(t *testing.T, b backends.Backend) {
	ctx := context.Background()
	ua := s.user("u1")
	if s.fx.Multi != "" {
		ua[s.fx.Multi] = []string{"CARD-1"}
	}
	u1 := mustCreate(t, b, backends.User, ua)
	u2 := mustCreate(t, b, backends.User, s.user("u2"))
	na := s.group("nested")
	na[backends.AttrMembers] = []string{u1.ID}
	nested := mustCreate(t, b, backends.Group, na)
	pa := s.group("parent")
	pa[backends.AttrMembers] = []string{u1.ID, u2.ID, nested.ID}
	parent := mustCreate(t, b, backends.Group, pa)

	require.NoError(t, b.Delete(ctx, backends.User, u1.ID))
	_, err := b.Get(ctx, backends.User, u1.ID, backends.Read{})
	require.ErrorIs(t, err, backends.ErrNotFound)
	require.ErrorIs(t, b.Delete(ctx, backends.User, u1.ID), backends.ErrNotFound, "second delete")
	require.Empty(t, findIDs(t, b, backends.User, eq(s.fx.UserName, "u1")))
	require.Equal(t, sorted(u2.ID, nested.ID), values(mustGet(t, b, backends.Group, parent.ID, true), backends.AttrMembers))
	require.Empty(t, values(mustGet(t, b, backends.Group, nested.ID, true), backends.AttrMembers))
	require.Empty(t, findIDs(t, b, backends.Group, eq(backends.AttrMembers, u1.ID)))

	require.NoError(t, b.Delete(ctx, backends.Group, nested.ID))
	require.Equal(t, sorted(u2.ID), values(mustGet(t, b, backends.Group, parent.ID, true), backends.AttrMembers))

	// Every unique value of the deleted user is free again.
	again := mustCreate(t, b, backends.User, ua)
	require.NotEqual(t, u1.ID, again.ID, "an id was reused")
	requireAttrs(t, ua, again)

	require.NoError(t, b.Delete(ctx, backends.Group, parent.ID))
	require.Empty(t, findIDs(t, b, backends.Group, nil))
	requireAttrs(t, s.user("u2"), mustGet(t, b, backends.User, u2.ID, false))
}

func (s *suite) cancelledContext(t *testing.T, b backends.Backend) {
	u := mustCreate(t, b, backends.User, s.user("alice"))
	g := mustCreate(t, b, backends.Group, s.group("g"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		call func() error
	}{
		{"create", func() error { _, err := b.Create(ctx, backends.User, s.user("bob")); return err }},
		{"get", func() error { _, err := b.Get(ctx, backends.User, u.ID, backends.Read{}); return err }},
		{"get group", func() error { _, err := b.Get(ctx, backends.Group, g.ID, backends.Read{Members: true}); return err }},
		{"find", func() error { _, _, err := b.Find(ctx, backends.Query{Kind: backends.User, Limit: 10}); return err }},
		{"find count", func() error { _, _, err := b.Find(ctx, backends.Query{Kind: backends.User}); return err }},
		{"modify", func() error {
			return b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{{Op: backends.Replace, Attr: s.fx.Mail, Values: []string{"x@example.com"}}})
		}},
		{"modify members", func() error {
			return b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{u.ID}}})
		}},
		{"delete", func() error { return b.Delete(ctx, backends.User, u.ID) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.call(), context.Canceled)
		})
	}
	// Nothing happened.
	require.Equal(t, []string{u.ID}, findIDs(t, b, backends.User, nil))
	requireAttrs(t, s.user("alice"), mustGet(t, b, backends.User, u.ID, false))
	require.Empty(t, values(mustGet(t, b, backends.Group, g.ID, true), backends.AttrMembers))
}
