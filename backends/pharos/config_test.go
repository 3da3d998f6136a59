package pharos

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

func TestValidate(t *testing.T) {
	cfg := backends.Config{"driver": "sqlite", "dsn": "pharos.db"}
	// edit returns the standard schema changed by fn.
	edit := func(fn func(s *backends.Schema)) backends.Schema {
		s := standardSchema()
		fn(&s)
		return s
	}
	tests := []struct {
		name   string
		cfg    backends.Config
		schema backends.Schema
		want   []string // substrings, one per expected error; none = valid
	}{
		{name: "standard", cfg: cfg, schema: standardSchema()},
		{name: "driver defaults to sqlite", cfg: backends.Config{"dsn": "x.db"}, schema: standardSchema()},
		{name: "postgres", cfg: backends.Config{"driver": "postgres", "dsn": "postgres://h/db", "maxOpenConns": 8, "init": true}, schema: standardSchema()},
		{name: "no groups", cfg: cfg, schema: edit(func(s *backends.Schema) { s.Groups = backends.KindSchema{} })},
		{name: "unknown config key", cfg: backends.Config{"dsn": "x", "maxOpenConn": 3}, schema: standardSchema(),
			want: []string{`unknown field "maxOpenConn"`}},
		{name: "mistyped config value", cfg: backends.Config{"dsn": "x", "init": "yes"}, schema: standardSchema(),
			want: []string{"init"}},
		{name: "bad driver, no dsn, negative pool", cfg: backends.Config{"driver": "mysql", "maxOpenConns": -1}, schema: standardSchema(),
			want: []string{`config.driver: "mysql"`, "config.dsn: required", "config.maxOpenConns: -1"}},
		{name: "unknown layout key", cfg: cfg, schema: edit(func(s *backends.Schema) { s.Users.Layout["tabel"] = "users" }),
			want: []string{`users.target: unknown field "tabel"`}},
		{name: "unknown nested layout key", cfg: cfg, schema: edit(func(s *backends.Schema) {
			s.Groups.Layout["members"].(map[string]any)["user"] = "x"
		}), want: []string{`groups.target: members: unknown field "user"`}},
		{name: "users layout missing", cfg: cfg, schema: edit(func(s *backends.Schema) { s.Users.Layout = nil }),
			want: []string{"users.target: required"}},
		{name: "table and key required", cfg: cfg, schema: edit(func(s *backends.Schema) {
			delete(s.Users.Layout, "table")
			delete(s.Users.Layout, "key")
		}), want: []string{"users.target.table: required", "users.target.key: required"}},
		{name: "identifiers", cfg: cfg, schema: edit(func(s *backends.Schema) {
			s.Users.Layout["table"] = "users; DROP TABLE users"
			s.Users.Layout["key"] = `"id"`
			s.Users.Layout["created"] = "1created"
			s.Users.Attrs = append(s.Users.Attrs, backends.AttrSchema{Name: "e-mail"})
		}), want: []string{
			`users.target.table: "users; DROP TABLE users" is not an identifier`,
			`users.target.key: "\"id\"" is not an identifier`,
			`users.target.created: "1created" is not an identifier`,
			`attribute "e-mail": not a column name`,
		}},
		{name: "multi-valued attribute without a child table", cfg: cfg, schema: edit(func(s *backends.Schema) {
			s.Users.Attrs = append(s.Users.Attrs, backends.AttrSchema{Name: "aliases", Multi: true})
		}), want: []string{`attribute "aliases": multi-valued, but the layout's multiValued has no entry`}},
		{name: "child table without a multi-valued attribute", cfg: cfg, schema: edit(func(s *backends.Schema) {
			s.Users.Layout["multiValued"].(map[string]any)["badges"] = map[string]any{"table": "b", "key": "k", "value": "v"}
		}), want: []string{`multiValued.badges: the mapping has no multi-valued attribute "badges"`}},
		{name: "child table incomplete", cfg: cfg, schema: edit(func(s *backends.Schema) {
			s.Users.Layout["multiValued"].(map[string]any)["cards"] = map[string]any{"table": "cards"}
		}), want: []string{"multiValued.cards.key: required", "multiValued.cards.value: required"}},
		{name: "members on users", cfg: cfg, schema: edit(func(s *backends.Schema) {
			s.Users.Layout["members"] = map[string]any{"table": "m", "group": "g", "member": "u"}
		}), want: []string{"users.target.members: only groups have members"}},
		{name: "members attribute without a members table", cfg: cfg, schema: edit(func(s *backends.Schema) {
			delete(s.Groups.Layout, "members")
		}), want: []string{`attribute "$members": the layout has no members table`}},
		{name: "id and key are never written", cfg: cfg, schema: edit(func(s *backends.Schema) {
			s.Users.Attrs = append(s.Users.Attrs, backends.AttrSchema{Name: backends.AttrID}, backends.AttrSchema{Name: "ID"})
		}), want: []string{`attribute "$id": the id is the key column`, `attribute "ID": the key column is the id`}},
		{name: "reference to groups without groups", cfg: cfg, schema: edit(func(s *backends.Schema) {
			s.Groups = backends.KindSchema{}
			s.Users.Attrs = append(s.Users.Attrs, backends.AttrSchema{Name: "primary_group", Ref: backends.Group})
		}), want: []string{`attribute "primary_group" refers to groups`}},
		{name: "reference to an unknown kind, multi-valued reference", cfg: cfg, schema: edit(func(s *backends.Schema) {
			s.Users.Attrs = append(s.Users.Attrs, backends.AttrSchema{Name: "x", Ref: "Printer"},
				backends.AttrSchema{Name: "cards2", Multi: true, Ref: backends.User})
			s.Users.Layout["multiValued"].(map[string]any)["cards2"] = map[string]any{"table": "c", "key": "k", "value": "v"}
		}), want: []string{`attribute "x": refers to unknown kind "Printer"`, `attribute "cards2": a multi-valued reference is not supported`}},
		{name: "group attributes without a group layout", cfg: cfg, schema: edit(func(s *backends.Schema) { s.Groups.Layout = nil }),
			want: []string{"groups.target: required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Driver{}.Validate(tc.cfg, tc.schema)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tc.want), "every problem reported once, all at once:\n%v", err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			for _, l := range lines {
				require.True(t, strings.HasPrefix(l, "pharos: "), "error %q lacks the package prefix", l)
			}
		})
	}
}

func TestDecodeConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		cfg  backends.Config
		want Config
	}{
		{"sqlite", backends.Config{"dsn": "a.db"}, Config{Driver: "sqlite", DSN: "a.db", MaxOpenConns: 4, Init: ptr(true)}},
		{"postgres", backends.Config{"driver": "postgres", "dsn": "u"}, Config{Driver: "postgres", DSN: "u", MaxOpenConns: 4, Init: ptr(false)}},
		{"explicit", backends.Config{"driver": "sqlite", "dsn": "a.db", "maxOpenConns": 1, "init": false},
			Config{Driver: "sqlite", DSN: "a.db", MaxOpenConns: 1, Init: ptr(false)}},
		{"nested map from a YAML decoder", backends.Config{"dsn": "a.db", "init": true}, Config{Driver: "sqlite", DSN: "a.db", MaxOpenConns: 4, Init: ptr(true)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeConfig(tc.cfg)
			require.NoError(t, err)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestLayoutFromYAMLMaps(t *testing.T) {
	// Some YAML decoders give nested maps as map[any]any.
	s := standardSchema()
	s.Groups.Layout["members"] = map[any]any{"table": "group_members", "group": "group_id", "member": "user_id"}
	require.NoError(t, Driver{}.Validate(backends.Config{"dsn": "x.db"}, s))
}

func TestSQLiteDSN(t *testing.T) {
	const all = "_pragma=journal_mode%28WAL%29&_pragma=busy_timeout%285000%29&_pragma=foreign_keys%281%29&_txlock=immediate"
	tests := []struct{ name, in, want string }{
		{"path", "data/pharos.db", "data/pharos.db?" + all},
		{"uri with query", "file:p.db?mode=rwc", "file:p.db?mode=rwc&" + all},
		{"own busy timeout kept", "p.db?_pragma=busy_timeout(100)",
			"p.db?_pragma=busy_timeout(100)&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_txlock=immediate"},
		{"everything set", "p.db?_pragma=journal_mode(DELETE)&_pragma=busy_timeout(1)&_pragma=foreign_keys(0)&_txlock=deferred",
			"p.db?_pragma=journal_mode(DELETE)&_pragma=busy_timeout(1)&_pragma=foreign_keys(0)&_txlock=deferred"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, sqliteDSN(tc.in))
		})
	}
}

func TestSplitStatements(t *testing.T) {
	for _, script := range []string{schemaSQLite, schemaPostgres} {
		stmts := splitStatements(script)
		require.Len(t, stmts, 13)
		for _, s := range stmts {
			require.NotContains(t, s, ";")
			require.Regexp(t, `^CREATE (TABLE|UNIQUE INDEX|INDEX) IF NOT EXISTS `, s)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestSQLiteDir(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"data/pharos.db", "data"},
		{"/var/lib/scimbridge/pharos.db?_pragma=busy_timeout(1)", "/var/lib/scimbridge"},
		{"file:data/p.db?mode=rwc", "data"},
		{"pharos.db", ""},
		{":memory:", ""},
		{"file:x?mode=memory&cache=shared", ""},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			require.Equal(t, tc.want, sqliteDir(tc.dsn))
		})
	}
}
