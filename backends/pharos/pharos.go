package pharos

import (
	"context"
	"database/sql"
	_ "embed" // schema_*.sql
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/scimbridge/scimbridge/backends"
)

var (
	//go:embed schema_sqlite.sql
	schemaSQLite string
	//go:embed schema_postgres.sql
	schemaPostgres string
)

// Driver opens Pharos backends; register it as "pharos".
type Driver struct{}

var (
	_ backends.Driver  = Driver{}
	_ backends.Backend = (*Backend)(nil)
	_ backends.Pinger  = (*Backend)(nil)
)

// Validate checks the configuration and both layouts against the schema,
// reporting every problem at once, without any I/O.
func (Driver) Validate(cfg backends.Config, schema backends.Schema) error {
	_, _, err := validate(cfg, schema)
	return err
}

type layouts struct{ users, groups *Layout }

func validate(cfg backends.Config, schema backends.Schema) (Config, layouts, error) {
	var ls layouts
	c, err := decodeConfig(cfg)
	if err != nil {
		return c, ls, err
	}
	errs := c.validate()
	ls, err = validateLayouts(schema)
	return c, ls, errors.Join(append(errs, err)...)
}

// validateLayouts checks the mapping's layouts, without any I/O.
func validateLayouts(schema backends.Schema) (layouts, error) {
	var ls layouts
	var errs, e []error
	ls.users, e = decodeLayout(backends.User, schema.Users)
	errs = append(errs, e...)
	ls.groups, e = decodeLayout(backends.Group, schema.Groups)
	errs = append(errs, e...)
	for _, ks := range []backends.KindSchema{schema.Users, schema.Groups} {
		for _, a := range ks.Attrs {
			if a.Ref == backends.Group && ls.groups == nil {
				errs = append(errs, fmt.Errorf("pharos: attribute %q refers to groups, which the mapping does not store", a.Name))
			}
		}
	}
	return ls, errors.Join(errs...)
}

// Backend is an open Pharos store. It is safe for concurrent use.
type Backend struct {
	db     *sql.DB
	pg     bool
	log    hclog.Logger
	users  *table
	groups *table // nil when the mapping has no groups
	// dbRefs counts the backends sharing db (WithSchema); the last Close
	// closes it.
	dbRefs *atomic.Int64
}

// Open validates, connects, creates the schema when configured to, and
// discovers the tables' columns and unique indexes. A database that cannot
// be reached gives an error wrapping backends.ErrUnavailable.
func (Driver) Open(ctx context.Context, cfg backends.Config, schema backends.Schema, log hclog.Logger) (backends.Backend, error) {
	c, ls, err := validate(cfg, schema)
	if err != nil {
		return nil, err
	}
	if c.Driver == DriverSQLite && *c.Init {
		// The embedded default must start on a fresh clone: create the
		// database file's directory (data/ by default).
		if dir := sqliteDir(c.DSN); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("pharos: create the database directory: %w", err)
			}
		}
	}
	return openWith(ctx, c, ls, schema, log)
}

var _ backends.ReadOnlyDriver = Driver{}

// OpenReadOnly opens the store for a dry run: init is ignored, a SQLite
// file that does not exist is an error rather than a new empty database,
// and the connections refuse writes themselves (SQLite's query_only,
// PostgreSQL's default_transaction_read_only), under a backend that
// refuses them first.
func (Driver) OpenReadOnly(ctx context.Context, cfg backends.Config, schema backends.Schema, log hclog.Logger) (backends.Backend, error) {
	c, ls, err := validate(cfg, schema)
	if err != nil {
		return nil, err
	}
	off := false
	c.Init = &off
	switch c.Driver {
	case DriverSQLite:
		if path := sqlitePath(c.DSN); path != "" {
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("pharos: the database %s cannot be read (%w); a dry run creates nothing: start the bridge once, or run `scimbridge pharos init`", path, err)
			}
		}
		c.DSN = withParam(c.DSN, "_pragma=query_only(1)")
	case DriverPostgres:
		c.DSN = withParam(c.DSN, "default_transaction_read_only=on")
	}
	b, err := openWith(ctx, c, ls, schema, log)
	if err != nil {
		return nil, err
	}
	return backends.ReadOnly(b), nil
}

// withParam adds a query parameter to a URL-form DSN, or a keyword=value
// pair to a PostgreSQL keyword/value one.
func withParam(dsn, param string) string {
	if !strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "file:") && strings.Contains(dsn, "=") && !strings.Contains(dsn, "?") {
		return dsn + " " + param // host=... dbname=...
	}
	if strings.Contains(dsn, "?") {
		return dsn + "&" + param
	}
	return dsn + "?" + param
}

// openWith connects with a validated configuration.
func openWith(ctx context.Context, c Config, ls layouts, schema backends.Schema, log hclog.Logger) (*Backend, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	db, err := openDB(c.Driver, c.DSN)
	if err != nil {
		return nil, err
	}
	conns := c.MaxOpenConns
	if c.Driver == DriverSQLite && sqliteInMemory(c.DSN) {
		// Every connection to :memory: is a database of its own: keep one,
		// for good.
		conns = 1
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	b := &Backend{db: db, pg: c.Driver == DriverPostgres, log: log.Named("pharos"), dbRefs: new(atomic.Int64)}
	b.dbRefs.Store(1)
	if err := b.open(ctx, c, ls, schema); err != nil {
		_ = db.Close()
		return nil, err
	}
	return b, nil
}

func (b *Backend) open(ctx context.Context, c Config, ls layouts, schema backends.Schema) error {
	if err := b.db.PingContext(ctx); err != nil {
		return unavailable("connect", err)
	}
	if *c.Init {
		exists, err := b.tableExists(ctx, ls.users.Table)
		if err != nil {
			return b.fail(ctx, "init", err)
		}
		if !exists {
			b.log.Info("creating the pharos schema", "table", ls.users.Table)
			if err := execScript(ctx, b.db, b.pg); err != nil {
				return b.fail(ctx, "init", err)
			}
		}
	}
	return b.loadTables(ctx, ls, schema)
}

// loadTables reads the columns and unique indexes of the mapping's tables.
func (b *Backend) loadTables(ctx context.Context, ls layouts, schema backends.Schema) error {
	var errs []error
	var err error
	if b.users, err = b.loadTable(ctx, backends.User, ls.users, schema.Users); err != nil {
		errs = append(errs, err)
	}
	if ls.groups != nil {
		if b.groups, err = b.loadTable(ctx, backends.Group, ls.groups, schema.Groups); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openDB opens the pool; no connection is made yet.
func openDB(driver, dsn string) (*sql.DB, error) {
	switch driver {
	case DriverSQLite:
		return sql.Open("sqlite", sqliteDSN(dsn))
	case DriverPostgres:
		return sql.Open("pgx", dsn)
	}
	return nil, fmt.Errorf("pharos: driver %q is not sqlite or postgres", driver)
}

// sqliteDefaults are added to a SQLite DSN unless it sets them itself. WAL
// lets the CLI read while the server writes; the busy timeout makes a
// writer wait for the lock instead of failing; _txlock=immediate takes the
// write lock at BEGIN, so that two read-then-write transactions cannot
// deadlock into SQLITE_BUSY (which no busy timeout resolves).
var sqliteDefaults = []struct{ key, pragma, value string }{
	{"_pragma", "journal_mode", "journal_mode(WAL)"},
	{"_pragma", "busy_timeout", "busy_timeout(5000)"},
	{"_pragma", "foreign_keys", "foreign_keys(1)"},
	{"_txlock", "", "immediate"},
}

func sqliteDSN(dsn string) string {
	path, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return dsn // the driver will report the malformed DSN
	}
	var add []string
	for _, d := range sqliteDefaults {
		set := false
		for _, v := range q[d.key] {
			if d.pragma == "" || strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), d.pragma) {
				set = true
			}
		}
		if !set {
			add = append(add, d.key+"="+url.QueryEscape(d.value))
		}
	}
	if len(add) == 0 {
		return dsn
	}
	if query == "" {
		return path + "?" + strings.Join(add, "&")
	}
	return dsn + "&" + strings.Join(add, "&")
}

// sqliteDir is the directory of a SQLite database file, "" when there is
// none to create (the current directory, or an in-memory database).
// sqlitePath is the database file a SQLite DSN names, "" for an in-memory
// database.
func sqlitePath(dsn string) string {
	path, _, _ := strings.Cut(dsn, "?")
	path = strings.TrimPrefix(path, "file:")
	if sqliteInMemory(dsn) {
		return ""
	}
	return path
}

func sqliteDir(dsn string) string {
	path := sqlitePath(dsn)
	if path == "" {
		return ""
	}
	if dir := filepath.Dir(path); dir != "." {
		return dir
	}
	return ""
}

func sqliteInMemory(dsn string) bool {
	path, query, _ := strings.Cut(dsn, "?")
	return strings.TrimPrefix(path, "file:") == ":memory:" || strings.Contains(query, "mode=memory")
}

// InitSchema creates the Pharos schema (users, groups, group_members,
// cards) in the database at dsn, leaving existing tables as they are. It
// serves `scimbridge pharos init`.
func InitSchema(ctx context.Context, driver, dsn string) error {
	if driver == DriverSQLite {
		if dir := sqliteDir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("pharos: init: %w", err)
			}
		}
	}
	db, err := openDB(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := execScript(ctx, db, driver == DriverPostgres); err != nil {
		b := &Backend{pg: driver == DriverPostgres, log: hclog.NewNullLogger()}
		return b.fail(ctx, "init", err)
	}
	return nil
}

// execScript runs the embedded schema in one transaction, one statement at
// a time, so neither driver needs multi-statement support.
func execScript(ctx context.Context, db *sql.DB, pg bool) error {
	script := schemaSQLite
	if pg {
		script = schemaPostgres
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, stmt := range splitStatements(script) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%w (in %q)", err, truncate(stmt, 60))
		}
	}
	return tx.Commit()
}

// splitStatements cuts a script at semicolons ending a line, dropping
// comment lines.
func splitStatements(script string) []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}

// Ping checks that the database answers.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.db.PingContext(ctx); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// Close closes the connection pool.
func (b *Backend) Close() error {
	if b.dbRefs.Add(-1) == 0 {
		return b.db.Close()
	}
	return nil
}

var _ backends.Rebinder = (*Backend)(nil)

// WithSchema is the backend for a changed mapping over the same database
// pool (a reload): the layouts are checked and the tables read anew. Each
// backend is closed on its own; the pool closes with the last.
func (b *Backend) WithSchema(ctx context.Context, schema backends.Schema) (backends.Backend, error) {
	ls, err := validateLayouts(schema)
	if err != nil {
		return nil, err
	}
	nb := &Backend{db: b.db, pg: b.pg, log: b.log, dbRefs: b.dbRefs}
	if err := nb.loadTables(ctx, ls, schema); err != nil {
		return nil, err
	}
	b.dbRefs.Add(1)
	return nb, nil
}

// table returns the table of kind, or ErrUnsupported when the mapping does
// not store that kind.
func (b *Backend) table(kind backends.Kind) (*table, error) {
	switch kind {
	case backends.User:
		return b.users, nil
	case backends.Group:
		if b.groups != nil {
			return b.groups, nil
		}
		return nil, unsupported("the mapping stores no groups")
	}
	return nil, unsupported("unknown kind %q", kind)
}
