package pharos

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// TestConstraintMapping drives writes into the database's own unique
// indexes (the schema marks nothing unique, so the bridge checks nothing
// first), as a race between two writers would, and checks each violation
// comes back naming the attribute and the holder.
func TestConstraintMapping(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *Backend) {
		ctx := context.Background()
		b := open(t)
		for _, tb := range []*table{b.users, b.groups} {
			clear(tb.unique) // what the shipped mapping says of group external_id
		}
		alice, err := b.Create(ctx, backends.User, map[string][]string{"login": {"Alice"}, "external_id": {"e-1"}, "cards": {"AB12"}})
		require.NoError(t, err)
		bob, err := b.Create(ctx, backends.User, map[string][]string{"login": {"bob"}, "external_id": {"e-2"}})
		require.NoError(t, err)
		fin, err := b.Create(ctx, backends.Group, map[string][]string{"name": {"Finance"}, "external_id": {"g-1"}})
		require.NoError(t, err)

		tests := []struct {
			name   string
			write  func() error
			attr   string
			holder string
		}{
			{"login, other case, on create", func() error {
				_, err := b.Create(ctx, backends.User, map[string][]string{"login": {"ALICE"}})
				return err
			}, "login", alice.ID},
			{"external_id on create", func() error {
				_, err := b.Create(ctx, backends.User, map[string][]string{"login": {"carol"}, "external_id": {"E-1"}})
				return err
			}, "external_id", alice.ID},
			{"login on modify", func() error {
				return b.Modify(ctx, backends.Record{Kind: backends.User, ID: bob.ID}, []backends.Change{{Op: backends.Replace, Attr: "login", Values: []string{"alice"}}})
			}, "login", alice.ID},
			{"card of another user on create", func() error {
				_, err := b.Create(ctx, backends.User, map[string][]string{"login": {"dave"}, "cards": {"x", "ab12"}})
				return err
			}, "cards", alice.ID},
			{"card of another user on modify", func() error {
				return b.Modify(ctx, backends.Record{Kind: backends.User, ID: bob.ID}, []backends.Change{{Op: backends.Add, Attr: "cards", Values: []string{"AB12"}}})
			}, "cards", alice.ID},
			{"group external_id", func() error {
				_, err := b.Create(ctx, backends.Group, map[string][]string{"name": {"Other"}, "external_id": {"G-1"}})
				return err
			}, "external_id", fin.ID},
			{"group name", func() error {
				_, err := b.Create(ctx, backends.Group, map[string][]string{"name": {"finance"}})
				return err
			}, "name", fin.ID},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.write()
				require.ErrorIs(t, err, backends.ErrConflict)
				var ce *backends.ConflictError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, backends.ConflictError{Attr: tc.attr, ID: tc.holder}, *ce)
			})
		}
		_, total, err := b.Find(ctx, backends.Query{Kind: backends.User})
		require.NoError(t, err)
		require.Equal(t, 2, total)
		r, err := b.Get(ctx, backends.User, bob.ID, backends.Read{})
		require.NoError(t, err)
		require.NotContains(t, r.Attrs, "cards")
	})
}

func TestInvalidValues(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *Backend) {
		ctx := context.Background()
		b := open(t)
		u, err := b.Create(ctx, backends.User, map[string][]string{"login": {"alice"}, "active": {"true"}})
		require.NoError(t, err)
		require.Equal(t, []string{"1"}, u.Attrs["active"], "true is 1 in an INTEGER column")
		g, err := b.Create(ctx, backends.Group, map[string][]string{"name": {"g"}})
		require.NoError(t, err)

		type write func() error
		create := func(attrs map[string][]string) write {
			return func() error { _, err := b.Create(ctx, backends.User, attrs); return err }
		}
		modify := func(kind backends.Kind, id string, c backends.Change) write {
			return func() error { return b.Modify(ctx, backends.Record{Kind: kind, ID: id}, []backends.Change{c}) }
		}
		tests := []struct {
			name  string
			write write
			attr  string
		}{
			{"integer column", create(map[string][]string{"login": {"b"}, "active": {"maybe"}}), "active"},
			{"NUL in text", create(map[string][]string{"login": {"b\x00"}}), "login"},
			{"invalid UTF-8", create(map[string][]string{"login": {"b\xff"}}), "login"},
			{"two values for a single-valued attribute", create(map[string][]string{"login": {"b"}, "email": {"a@x", "b@x"}}), "email"},
			{"an attribute the target does not store", create(map[string][]string{"login": {"b"}, "nickname": {"bee"}}), "nickname"},
			{"required column missing", create(map[string][]string{"email": {"b@example.com"}}), "login"},
			{"required column cleared", modify(backends.User, u.ID, backends.Change{Op: backends.Replace, Attr: "login"}), "login"},
			{"manager that does not exist", create(map[string][]string{"login": {"b"}, "manager_id": {"no-such-user"}}), "manager_id"},
			{"manager that is a group", modify(backends.User, u.ID, backends.Change{Op: backends.Replace, Attr: "manager_id", Values: []string{g.ID}}), "manager_id"},
			{"member that does not exist", modify(backends.Group, g.ID, backends.Change{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{"nobody"}}), backends.AttrMembers},
			{"member that is no id at all", modify(backends.Group, g.ID, backends.Change{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{"x\x00"}}), backends.AttrMembers},
			{"group in itself", modify(backends.Group, g.ID, backends.Change{Op: backends.Replace, Attr: backends.AttrMembers, Values: []string{g.ID}}), backends.AttrMembers},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.write()
				require.ErrorIs(t, err, backends.ErrInvalid)
				var ie *backends.InvalidError
				require.ErrorAs(t, err, &ie)
				require.Equal(t, tc.attr, ie.Attr)
				require.NotEmpty(t, ie.Reason)
				require.NotContains(t, ie.Error(), "users", "table names stay in the log")
			})
		}
		_, total, err := b.Find(ctx, backends.Query{Kind: backends.User})
		require.NoError(t, err)
		require.Equal(t, 1, total)

		t.Run("unsupported", func(t *testing.T) {
			err := b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{g.ID}}})
			require.ErrorIs(t, err, backends.ErrUnsupported, "users have no members")
			err = b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{{Op: 9, Attr: "email"}})
			require.ErrorIs(t, err, backends.ErrUnsupported)
			_, err = b.Create(ctx, "Printer", nil)
			require.ErrorIs(t, err, backends.ErrUnsupported)
		})
	})
}

func TestFilterErrors(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *Backend) {
		b := open(t)
		_, err := b.Create(context.Background(), backends.User, map[string][]string{"login": {"alice"}, "active": {"1"}})
		require.NoError(t, err)
		var deep backends.Expr = backends.Cmp{Attr: "login", Op: backends.Eq, Value: "alice"}
		for range 100 {
			deep = backends.Not{X: deep}
		}
		tests := []struct {
			name  string
			kind  backends.Kind
			f     backends.Expr
			q     func(q *backends.Query)
			want  error
			count int
		}{
			{name: "unknown attribute", f: backends.Cmp{Attr: "nickname", Op: backends.Eq, Value: "x"}, want: backends.ErrUnsupported},
			{name: "co on the id", f: backends.Cmp{Attr: backends.AttrID, Op: backends.Co, Value: "1"}, want: backends.ErrUnsupported},
			{name: "members of a user", f: backends.Cmp{Attr: backends.AttrMembers, Op: backends.Eq, Value: "1"}, want: backends.ErrUnsupported},
			{name: "co on members", kind: backends.Group, f: backends.Cmp{Attr: backends.AttrMembers, Op: backends.Co, Value: "1"}, want: backends.ErrUnsupported},
			{name: "unknown operator", f: backends.Cmp{Attr: "login", Op: 42, Value: "x"}, want: backends.ErrUnsupported},
			{name: "nil inside and", f: backends.And{Left: backends.None{}}, want: backends.ErrUnsupported},
			{name: "nested too deep", f: deep, want: backends.ErrUnsupported},
			{name: "ordering on an integer with text", f: backends.Cmp{Attr: "active", Op: backends.Gt, Value: "x"}, want: backends.ErrInvalid},
			{name: "negative offset", q: func(q *backends.Query) { q.Offset = -1 }, want: backends.ErrInvalid},
			{name: "negative limit", q: func(q *backends.Query) { q.Limit = -1 }, want: backends.ErrInvalid},
			{name: "eq on an integer with text matches nothing", f: backends.Cmp{Attr: "active", Op: backends.Eq, Value: "x"}},
			{name: "ne on an integer with text matches all", f: backends.Cmp{Attr: "active", Op: backends.Ne, Value: "x"}, count: 1},
			{name: "eq on an integer", f: backends.Cmp{Attr: "active", Op: backends.Eq, Value: "1"}, count: 1},
			{name: "pointer to a comparison", f: &backends.Cmp{Attr: "login", Op: backends.Eq, Value: "ALICE"}, count: 1},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := backends.Query{Kind: backends.User, Filter: tc.f, Limit: 10}
				if tc.kind != "" {
					q.Kind = tc.kind
				}
				if tc.q != nil {
					tc.q(&q)
				}
				recs, total, err := b.Find(context.Background(), q)
				if tc.want != nil {
					require.ErrorIs(t, err, tc.want)
					return
				}
				require.NoError(t, err)
				require.Equal(t, tc.count, total)
				require.Len(t, recs, tc.count)
			})
		}
	})
}

func TestManagerReference(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *Backend) {
		ctx := context.Background()
		b := open(t)
		boss, err := b.Create(ctx, backends.User, map[string][]string{"login": {"boss"}})
		require.NoError(t, err)
		u, err := b.Create(ctx, backends.User, map[string][]string{"login": {"worker"}, "manager_id": {boss.ID}})
		require.NoError(t, err)
		require.Equal(t, []string{boss.ID}, u.Attrs["manager_id"])
		recs, _, err := b.Find(ctx, backends.Query{Kind: backends.User, Limit: 5,
			Filter: backends.Cmp{Attr: "manager_id", Op: backends.Eq, Value: boss.ID}})
		require.NoError(t, err)
		require.Equal(t, []string{u.ID}, recIDs(recs))

		require.NoError(t, b.Delete(ctx, backends.User, boss.ID))
		r, err := b.Get(ctx, backends.User, u.ID, backends.Read{})
		require.NoError(t, err)
		require.NotContains(t, r.Attrs, "manager_id", "a deleted manager is no longer referenced")
	})
}

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	t.Run("init false on an empty database", func(t *testing.T) {
		dsn := filepath.Join(t.TempDir(), "p.db")
		_, err := Driver{}.Open(ctx, backends.Config{"dsn": dsn, "init": false}, standardSchema(), nil)
		require.ErrorContains(t, err, `users.target.table: table "users" not found (set init: true`)
		require.ErrorContains(t, err, `groups.target.table: table "groups" not found`)
	})
	t.Run("InitSchema, then open without init, twice", func(t *testing.T) {
		dsn := filepath.Join(t.TempDir(), "p.db")
		require.NoError(t, InitSchema(ctx, DriverSQLite, dsn))
		require.NoError(t, InitSchema(ctx, DriverSQLite, dsn), "InitSchema is idempotent")
		b := mustOpen(t, backends.Config{"dsn": dsn, "init": false}, standardSchema())
		_, err := b.Create(ctx, backends.User, map[string][]string{"login": {"a"}})
		require.NoError(t, err)
		b.Close()
		b = mustOpen(t, backends.Config{"dsn": dsn}, standardSchema())
		_, total, err := b.Find(ctx, backends.Query{Kind: backends.User})
		require.NoError(t, err)
		require.Equal(t, 1, total, "reopening with init keeps the data")
		require.NoError(t, b.Ping(ctx))
	})
	t.Run("layout that does not match the tables", func(t *testing.T) {
		dsn := filepath.Join(t.TempDir(), "p.db")
		s := standardSchema()
		s.Users.Layout["key"] = "user_id"
		s.Users.Layout["modified"] = "changed"
		s.Users.Attrs = append(s.Users.Attrs, backends.AttrSchema{Name: "phone"})
		s.Users.Layout["multiValued"].(map[string]any)["cards"] = map[string]any{"table": "cards", "key": "uid", "value": "card_number"}
		s.Groups.Layout["members"] = map[string]any{"table": "members", "group": "g", "member": "m"}
		_, err := Driver{}.Open(ctx, backends.Config{"dsn": dsn}, s, nil)
		require.Error(t, err)
		for _, want := range []string{
			`users.target.key: table "users" has no column "user_id"`,
			`users.target.modified: table "users" has no column "changed"`,
			`attribute "phone": table "users" has no such column`,
			`users.target.multiValued.cards.key: table "cards" has no column "uid"`,
			`groups.target.members.table: table "members" not found`,
		} {
			require.ErrorContains(t, err, want)
		}
	})
	t.Run("init creates the directory", func(t *testing.T) {
		dsn := filepath.Join(t.TempDir(), "data", "tenant", "pharos.db")
		b := mustOpen(t, backends.Config{"dsn": dsn}, standardSchema())
		require.NoError(t, b.Ping(ctx))
		require.FileExists(t, dsn)
	})
	t.Run("no groups in the mapping", func(t *testing.T) {
		s := standardSchema()
		s.Groups = backends.KindSchema{}
		b := mustOpen(t, backends.Config{"dsn": filepath.Join(t.TempDir(), "p.db")}, s)
		_, err := b.Get(ctx, backends.Group, "x", backends.Read{})
		require.ErrorIs(t, err, backends.ErrUnsupported)
		_, _, err = b.Find(ctx, backends.Query{Kind: backends.Group})
		require.ErrorIs(t, err, backends.ErrUnsupported)
		u, err := b.Create(ctx, backends.User, map[string][]string{"login": {"a"}})
		require.NoError(t, err)
		require.NoError(t, b.Delete(ctx, backends.User, u.ID))
	})
}

func TestOpenPostgres(t *testing.T) {
	ctx := context.Background()
	t.Run("init false on an empty schema", func(t *testing.T) {
		dsn := newPGSchema(t)
		_, err := Driver{}.Open(ctx, backends.Config{"driver": "postgres", "dsn": dsn}, standardSchema(), nil)
		require.ErrorContains(t, err, `table "users" not found`)
		require.NoError(t, InitSchema(ctx, DriverPostgres, dsn))
		require.NoError(t, InitSchema(ctx, DriverPostgres, dsn), "InitSchema is idempotent")
		b := mustOpen(t, backends.Config{"driver": "postgres", "dsn": dsn}, standardSchema())
		require.NoError(t, b.Ping(ctx))
		require.Len(t, b.users.indexes, 3, "primary key and the two case-insensitive unique indexes: %v", b.users.indexes)
		require.Equal(t, []string{"login"}, b.users.indexes["users_login_ci"])
	})
}

// TestUnavailable checks that a database that is down or busy is reported
// as transient, so the bridge retries and queues instead of failing.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	t.Run("postgres not listening", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		dsn := fmt.Sprintf("postgres://postgres@%s/pharos?sslmode=disable&connect_timeout=5", addr)
		_, err = Driver{}.Open(ctx, backends.Config{"driver": "postgres", "dsn": dsn}, standardSchema(), nil)
		require.ErrorIs(t, err, backends.ErrUnavailable)
		require.ErrorContains(t, err, "pharos: connect")
	})
	t.Run("postgres going away", func(t *testing.T) {
		dsn := newPGSchema(t)
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		p := startProxy(t, u.Host)
		u.Host = p.addr
		b := mustOpen(t, backends.Config{"driver": "postgres", "dsn": u.String(), "init": true}, standardSchema())
		rec, err := b.Create(ctx, backends.User, map[string][]string{"login": {"a"}})
		require.NoError(t, err)

		p.stop() // the server is gone: open connections drop, new ones are refused
		calls := map[string]func() error{
			"ping": func() error { return b.Ping(ctx) },
			"get":  func() error { _, err := b.Get(ctx, backends.User, rec.ID, backends.Read{Members: true}); return err },
			"find": func() error { _, _, err := b.Find(ctx, backends.Query{Kind: backends.User, Limit: 5}); return err },
			"create": func() error {
				_, err := b.Create(ctx, backends.User, map[string][]string{"login": {"b"}})
				return err
			},
			"modify": func() error {
				return b.Modify(ctx, backends.Record{Kind: backends.User, ID: rec.ID}, []backends.Change{{Op: backends.Replace, Attr: "email", Values: []string{"a@x"}}})
			},
			"delete": func() error { return b.Delete(ctx, backends.User, rec.ID) },
		}
		for name, call := range calls {
			err := call()
			require.ErrorIs(t, err, backends.ErrUnavailable, name)
		}
		p.start() // back on the same port
		_, err = b.Get(ctx, backends.User, rec.ID, backends.Read{})
		require.NoError(t, err, "the pool reconnects once the server is back")
	})
	t.Run("sqlite locked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "p.db")
		b := mustOpen(t, backends.Config{"dsn": path + "?_pragma=busy_timeout(50)"}, standardSchema())
		// Another process holds the write lock.
		other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(50)")
		require.NoError(t, err)
		defer other.Close()
		conn, err := other.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		require.NoError(t, err)
		_, err = b.Create(ctx, backends.User, map[string][]string{"login": {"a"}})
		require.ErrorIs(t, err, backends.ErrUnavailable)
		require.ErrorContains(t, err, "locked")
		_, err = conn.ExecContext(ctx, "ROLLBACK")
		require.NoError(t, err)
		_, err = b.Create(ctx, backends.User, map[string][]string{"login": {"a"}})
		require.NoError(t, err, "the store works again once the lock is gone")
	})
	t.Run("deadline", func(t *testing.T) {
		b := newSQLite(t)
		dctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel()
		_, _, err := b.Find(dctx, backends.Query{Kind: backends.User, Limit: 1})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, err, backends.ErrUnavailable)
	})
}

// TestValueTooLongForIndex: PostgreSQL cannot index a value over about
// 2.7 kB; the refusal names the attribute. SQLite has no such limit.
func TestValueTooLongForIndex(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *Backend) {
		b := open(t)
		long := make([]byte, 6000)
		_, _ = rand.Read(long)
		login := base64.RawURLEncoding.EncodeToString(long) // incompressible
		_, err := b.Create(context.Background(), backends.User, map[string][]string{"login": {login}})
		if !b.pg {
			require.NoError(t, err)
			return
		}
		var ie *backends.InvalidError
		require.ErrorAs(t, err, &ie)
		require.Equal(t, backends.InvalidError{Attr: "login", Reason: "value too long to be indexed"}, *ie)
	})
}

// TestCardsCaseInsensitive checks the index and the bridge agree that a
// card number is one card in either case.
func TestCardsCaseInsensitive(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *Backend) {
		ctx := context.Background()
		b := open(t)
		u, err := b.Create(ctx, backends.User, map[string][]string{"login": {"a"}, "cards": {"ab12", "AB12", "cd34"}})
		require.NoError(t, err)
		require.Equal(t, []string{"ab12", "cd34"}, u.Attrs["cards"], "a value repeated in another case is stored once")
		require.NoError(t, b.Modify(ctx, backends.Record{Kind: backends.User, ID: u.ID}, []backends.Change{{Op: backends.Remove, Attr: "cards", Values: []string{"CD34"}}}))
		r, err := b.Get(ctx, backends.User, u.ID, backends.Read{})
		require.NoError(t, err)
		require.Equal(t, []string{"ab12"}, r.Attrs["cards"])
	})
}

func TestQuotedIdentifiers(t *testing.T) {
	// Reserved words as names are quoted, never spliced bare.
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "p.db")
	db, err := openDB(DriverSQLite, dsn)
	require.NoError(t, err)
	for _, stmt := range []string{
		`CREATE TABLE "select" ("from" TEXT PRIMARY KEY, "where" TEXT, "order" TEXT)`,
	} {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	s := backends.Schema{Users: backends.KindSchema{
		Layout: map[string]any{"table": "select", "key": "from"},
		Attrs:  []backends.AttrSchema{{Name: "where", Unique: true}, {Name: "order"}},
	}}
	b := mustOpen(t, backends.Config{"dsn": dsn, "init": false}, s)
	u, err := b.Create(ctx, backends.User, map[string][]string{"where": {"here"}, "order": {"1"}})
	require.NoError(t, err)
	recs, total, err := b.Find(ctx, backends.Query{Kind: backends.User, Limit: 5,
		Filter: backends.Cmp{Attr: "where", Op: backends.Sw, Value: "HE"}})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, u.ID, recs[0].ID)
	require.True(t, strings.Count(u.ID, "-") == 4, "a text key gets a UUID: %q", u.ID)
}

// proxy forwards a loopback port to a server, and can drop every
// connection and stop listening, as a crashed or unreachable server would.
type proxy struct {
	tb     testing.TB
	addr   string
	target string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
}

func startProxy(tb testing.TB, target string) *proxy {
	p := &proxy{tb: tb, target: target, addr: "127.0.0.1:0"}
	p.start()
	tb.Cleanup(p.stop)
	return p
}

func (p *proxy) start() {
	l, err := net.Listen("tcp", p.addr)
	require.NoError(p.tb, err)
	p.mu.Lock()
	p.l, p.addr = l, l.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
