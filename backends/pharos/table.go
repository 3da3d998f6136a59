package pharos

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/backends"
)

// table is one kind's storage as discovered at Open: the mapping's layout
// resolved against the database's catalog.
type table struct {
	kind     backends.Kind
	name     string
	key      column
	dbKey    bool    // the database generates keys (integer key column)
	created  *column // nil when not tracked
	modified *column
	// scalars maps attribute names to their columns; attrs lists them in
	// a fixed order for SELECT lists.
	scalars map[string]column
	attrs   []string
	unique  map[string]bool          // scalar attributes kept unique
	refs    map[string]backends.Kind // scalar attributes holding ids
	multi   map[string]*child
	members *membersTable
	// indexes maps each unique index (and constraint) name on the table
	// to the columns it covers, to name the attribute of a violation.
	indexes map[string][]string
}

// child is the table holding one multi-valued attribute.
type child struct {
	attr    string
	name    string
	key     column
	value   column
	indexes map[string][]string
}

// membersTable holds group memberships.
type membersTable struct {
	name   string
	group  column
	member column
}

// attrOfColumns names the scalar attribute among cols, if any.
func (t *table) attrOfColumns(cols []string) string {
	for _, c := range cols {
		for _, a := range t.attrs {
			if strings.EqualFold(t.scalars[a].name, c) {
				return a
			}
		}
	}
	return ""
}

// loadTable resolves one kind's layout and attributes against the catalog,
// reporting every missing table or column at once.
func (b *Backend) loadTable(ctx context.Context, kind backends.Kind, l *Layout, ks backends.KindSchema) (*table, error) {
	prefix := "pharos: " + backends.LayoutPath(kind)
	cols, err := b.columns(ctx, l.Table)
	if err != nil {
		return nil, fmt.Errorf("%s.table: %w", prefix, err)
	}
	t := &table{
		kind: kind, name: l.Table,
		scalars: map[string]column{}, unique: map[string]bool{}, refs: map[string]backends.Kind{},
		multi: map[string]*child{},
	}
	var errs []error
	need := func(path, name string) column {
		c, ok := findColumn(cols, name)
		if !ok {
			errs = append(errs, fmt.Errorf("%s.%s: table %q has no column %q", prefix, path, l.Table, name))
		}
		return c
	}
	t.key = need("key", l.Key)
	t.dbKey = t.key.cat == catInteger
	t.created = timeColumn(cols, l.Created, "created_at", func(n string) { need("created", n) })
	t.modified = timeColumn(cols, l.Modified, "updated_at", func(n string) { need("modified", n) })
	for _, a := range ks.Attrs {
		if a.Multi || a.Name == backends.AttrMembers {
			continue
		}
		c, ok := findColumn(cols, a.Name)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: attribute %q: table %q has no such column", prefix, a.Name, l.Table))
			continue
		}
		t.scalars[a.Name] = c
		t.attrs = append(t.attrs, a.Name)
		if a.Unique {
			t.unique[a.Name] = true
		}
		if a.Ref != "" {
			t.refs[a.Name] = a.Ref
		}
	}
	sort.Strings(t.attrs)
	if t.indexes, err = b.uniqueIndexes(ctx, l.Table, cols); err != nil {
		errs = append(errs, fmt.Errorf("%s.table: %w", prefix, err))
	}
	for _, name := range slices.Sorted(maps.Keys(l.MultiValued)) {
		cl := l.MultiValued[name]
		p := prefix + ".multiValued." + name
		ccols, err := b.columns(ctx, cl.Table)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.table: %w", p, err))
			continue
		}
		ch := &child{attr: name, name: cl.Table}
		var ok1, ok2 bool
		if ch.key, ok1 = findColumn(ccols, cl.Key); !ok1 {
			errs = append(errs, fmt.Errorf("%s.key: table %q has no column %q", p, cl.Table, cl.Key))
		}
		if ch.value, ok2 = findColumn(ccols, cl.Value); !ok2 {
			errs = append(errs, fmt.Errorf("%s.value: table %q has no column %q", p, cl.Table, cl.Value))
		}
		if ch.indexes, err = b.uniqueIndexes(ctx, cl.Table, ccols); err != nil {
			errs = append(errs, fmt.Errorf("%s.table: %w", p, err))
		}
		t.multi[name] = ch
	}
	if m := l.Members; m != nil {
		p := prefix + ".members"
		mcols, err := b.columns(ctx, m.Table)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.table: %w", p, err))
		} else {
			t.members = &membersTable{name: m.Table}
			var ok bool
			if t.members.group, ok = findColumn(mcols, m.Group); !ok {
				errs = append(errs, fmt.Errorf("%s.group: table %q has no column %q", p, m.Table, m.Group))
			}
			if t.members.member, ok = findColumn(mcols, m.Member); !ok {
				errs = append(errs, fmt.Errorf("%s.member: table %q has no column %q", p, m.Table, m.Member))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, a := range t.attrs {
		if t.unique[a] && !t.hasIndexOn(t.scalars[a].name) {
			b.log.Warn("no unique index enforces a unique attribute; concurrent creates could duplicate it",
				"table", t.name, "attr", a)
		}
	}
	return t, nil
}

// hasIndexOn reports a unique index covering exactly column col.
func (t *table) hasIndexOn(col string) bool {
	for _, cols := range t.indexes {
		if len(cols) == 1 && strings.EqualFold(cols[0], col) {
			return true
		}
	}
	return false
}

// timeColumn resolves a Created/Modified column: the one named, which must
// exist, or the conventional name when the table has it.
func timeColumn(cols []column, named, conventional string, need func(string)) *column {
	if named != "" {
		if c, ok := findColumn(cols, named); ok {
			return &c
		}
		need(named)
		return nil
	}
	if c, ok := findColumn(cols, conventional); ok {
		return &c
	}
	return nil
}

// findColumn matches a name exactly, or else case-insensitively when that
// is unambiguous (SQLite's names are case-insensitive).
func findColumn(cols []column, name string) (column, bool) {
	var found []column
	for _, c := range cols {
		if c.name == name {
			return c, true
		}
		if strings.EqualFold(c.name, name) {
			found = append(found, c)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return column{}, false
}

// tableExists asks the catalog, so a missing table is told apart from a
// failing query.
func (b *Backend) tableExists(ctx context.Context, name string) (bool, error) {
	var q string
	if b.pg {
		q = `SELECT to_regclass($1) IS NOT NULL`
		name = quote(name)
	} else {
		q = `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND lower(name) = lower(?))`
	}
	var ok bool
	err := b.db.QueryRowContext(ctx, q, name).Scan(&ok)
	return ok, err
}

// columns discovers a table's columns and their declared types from an
// empty result set.
func (b *Backend) columns(ctx context.Context, name string) ([]column, error) {
	ok, err := b.tableExists(ctx, name)
	if err != nil {
		return nil, b.fail(ctx, "discover", err)
	}
	if !ok {
		return nil, fmt.Errorf("table %q not found (set init: true to create the Pharos schema, or run scimbridge pharos init)", name)
	}
	rows, err := b.db.QueryContext(ctx, "SELECT * FROM "+quote(name)+" WHERE 1 = 0")
	if err != nil {
		return nil, b.fail(ctx, "discover", err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, b.fail(ctx, "discover", err)
	}
	cols := make([]column, len(cts))
	for i, ct := range cts {
		cols[i] = newColumn(ct)
	}
	return cols, rows.Err()
}

// uniqueIndexes lists the unique indexes of a table with the columns each
// covers, expressions included (lower(login) covers login).
func (b *Backend) uniqueIndexes(ctx context.Context, tbl string, cols []column) (map[string][]string, error) {
	var q string
	arg := tbl
	if b.pg {
		q = `SELECT c.relname, pg_get_indexdef(i.indexrelid)
			FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE i.indrelid = to_regclass($1) AND i.indisunique`
		arg = quote(tbl)
	} else {
		// Automatic indexes of UNIQUE and PRIMARY KEY constraints have no
		// SQL; their columns come from pragma_index_info.
		q = `SELECT il.name, coalesce(m.sql, (SELECT group_concat(ii.name, ',') FROM pragma_index_info(il.name) ii))
			FROM pragma_index_list(?) il LEFT JOIN sqlite_master m ON m.type = 'index' AND m.name = il.name
			WHERE il."unique" = 1`
	}
	rows, err := b.db.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, b.fail(ctx, "discover indexes", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var name string
		var def sql.NullString
		if err := rows.Scan(&name, &def); err != nil {
			return nil, b.fail(ctx, "discover indexes", err)
		}
		out[name] = indexColumns(def.String, cols)
	}
	return out, rows.Err()
}

// indexColumns finds the table's columns named in an index definition
// ("CREATE UNIQUE INDEX x ON users USING btree (lower((login)::text))"),
// or in a bare comma-separated column list.
func indexColumns(def string, cols []column) []string {
	body := def
	if i := strings.Index(strings.ToUpper(def), " ON "); i >= 0 {
		rest := def[i+4:]
		if j := strings.IndexByte(rest, '('); j >= 0 {
			body = matchingParen(rest[j:])
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, tok := range identifiers(body) {
		if c, ok := findColumn(cols, tok); ok && !seen[c.name] {
			seen[c.name] = true
			out = append(out, c.name)
		}
	}
	return out
}

// matchingParen returns s (which starts with '(') up to its matching ')'.
func matchingParen(s string) string {
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[:i+1]
			}
		}
	}
	return s
}

// identifiers lists the column references in SQL text: bare and quoted
// identifiers, skipping string literals, type names and function names.
func identifiers(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`' || c == '[':
			end := byte(c)
			if c == '[' {
				end = ']'
			}
			j := strings.IndexByte(s[i+1:], end)
			if j < 0 {
				return out
			}
			if c != '\'' {
				out = append(out, s[i+1:i+1+j])
			}
			i += j + 2
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			// A type after "::" and a function name before "(" are no
			// column references.
			cast := strings.HasSuffix(strings.TrimRight(s[:i], " "), "::")
			call := strings.HasPrefix(strings.TrimLeft(s[j:], " "), "(")
			if !cast && !call {
				out = append(out, s[i:j])
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// quote quotes an identifier. Identifiers were checked against identRE,
// so they hold no quote character.
func quote(name string) string { return `"` + name + `"` }
