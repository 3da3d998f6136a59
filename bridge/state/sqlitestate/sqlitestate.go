// Package sqlitestate owns the embedded state store: token hashes,
// idempotency records, resource versions, per-resource locks and the retry
// queue kept in one SQLite file (modernc.org/sqlite, no cgo) for a
// single-node bridge.
//
// The file is in WAL mode with a busy timeout, so that the CLI (`token`,
// `queue` commands) can open the same file while `serve` runs: readers never
// block, and writers from either process wait for each other instead of
// failing. Inside one process all writes go through a single connection, so
// they queue in Go, in arrival order, rather than polling SQLite's lock.
//
// Every time is stored as unix milliseconds and every expiry is decided by
// the Go clock of the caller (passed as a parameter, never SQLite's own
// clock), so an injected clock (WithClock) governs the whole store. Expired
// idempotency records and locks are removed lazily (an expired answer when
// it is read, an expired lock when it is taken) and by Sweep.
//
// Durability: the file runs with synchronous=NORMAL, which in WAL mode
// syncs at checkpoints rather than at every commit, so a power loss may
// forget the last idempotency records, versions and locks (all safe to
// forget) but never corrupts the file. Queue writes are the exception: each
// commits with synchronous=FULL (see queueTx), because a queued job is a
// write the bridge has promised to apply.
//
// The schema is versioned with PRAGMA user_version and the numbered files
// embedded from schema/: Open applies the ones the file has not seen yet, in
// one transaction. New tables are added as new files.
package sqlitestate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// DefaultBusyTimeout is how long a write waits for another process (the
// CLI, a second bridge) holding the file's write lock before it fails with
// state.ErrUnavailable.
const DefaultBusyTimeout = 5 * time.Second

// Store is the SQLite state store. It is safe for concurrent use, and
// several Stores (in one process or several) may share one file.
type Store struct {
	path string
	// w has exactly one connection: in-process writers wait for it in
	// database/sql's queue, so only other processes ever make a write wait
	// in SQLite's busy handler.
	w *sql.DB
	// r serves reads; in WAL mode they run alongside the writer.
	r   *sql.DB
	now func() time.Time
	// stmts are the write pipeline's statements, prepared once on w:
	// parsing SQL was a tenth of a write's CPU.
	stmts struct{ answerUpsert, versionBump, lockUpsert, lockDelete, answerGet, pendingCount *sql.Stmt }

	// auditAppends counts appends per tenant since this process opened the
	// file (tenant -> *atomic.Int64): every auditTrimEvery-th trims.
	auditAppends sync.Map

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var (
	_ state.Store   = (*Store)(nil)
	_ state.Sweeper = (*Store)(nil)
)

// Option changes how Open sets up a Store.
type Option func(*options) error

type options struct {
	now         func() time.Time
	busyTimeout time.Duration
}

// WithClock makes the store read the time from now instead of time.Now, for
// tests of expiry that must not sleep.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("clock is nil")
		}
		o.now = now
		return nil
	}
}

// WithBusyTimeout sets how long a write waits for another process's write
// lock before failing with state.ErrUnavailable (default
// DefaultBusyTimeout). It is rounded up to whole milliseconds.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("busy timeout %s is negative", d)
		}
		o.busyTimeout = d
		return nil
	}
}

// Open opens the store in the SQLite file at path, creating the file (mode
// 0600), its directory (mode 0700) and the schema when they are missing, and
// upgrading an older schema. Existing files and directories keep their mode.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, busyTimeout: DefaultBusyTimeout}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("sqlitestate: open %s: %w", path, err)
		}
	}
	switch path {
	case "":
		return nil, errors.New("sqlitestate: open: path is empty")
	case ":memory:":
		// Each pooled connection would get its own empty database.
		return nil, errors.New("sqlitestate: open: an in-memory database cannot be shared; give a file path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestate: open %s: %w", path, err)
	}
	if err := createFile(abs); err != nil {
		return nil, fmt.Errorf("sqlitestate: open %s: %w: %w", path, state.ErrUnavailable, err)
	}

	s := &Store{path: abs, now: o.now}
	fail := func(err error) (*Store, error) {
		err = s.wrap("open "+path, err) // before Close, which would make it "closed"
		_ = s.Close()
		return nil, err
	}

	if s.w, err = sql.Open("sqlite", dsn(abs, o.busyTimeout, true)); err != nil {
		return fail(err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	mode, err := journalMode(ctx, s.w, o.busyTimeout)
	if err != nil {
		return fail(err)
	}
	if mode != "wal" {
		// Without WAL the CLI and serve would block each other's reads.
		return fail(fmt.Errorf("journal mode is %q, not wal (is the file on a network file system?)", mode))
	}
	if err := migrate(ctx, s.w); err != nil {
		return fail(err)
	}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.stmts.answerUpsert, answerUpsert}, {&s.stmts.versionBump, versionBump},
		{&s.stmts.lockUpsert, lockUpsert}, {&s.stmts.lockDelete, lockDelete},
		{&s.stmts.answerGet, answerGet}, {&s.stmts.pendingCount, pendingCount},
	} {
		if *p.stmt, err = s.w.PrepareContext(ctx, p.query); err != nil {
			return fail(err)
		}
	}

	if s.r, err = sql.Open("sqlite", dsn(abs, o.busyTimeout, false)); err != nil {
		return fail(err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	if err := s.r.PingContext(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// journalMode opens the writer's first connection, whose DSN switches the
// file to WAL, and returns the journal mode it ends up in. When two
// processes (serve and the CLI) switch a new file at the same moment, SQLite
// answers SQLITE_BUSY at once instead of calling the busy handler (each
// holds a read lock and wants to write, so waiting would deadlock); the
// loser retries until the busy timeout, by which time the file is WAL and
// the switch is a no-op.
func journalMode(ctx context.Context, db *sql.DB, busy time.Duration) (string, error) {
	deadline := time.Now().Add(busy)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil || !isBusy(err) || time.Now().Add(wait).After(deadline) {
			return mode, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
	}
}

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// createFile makes the directory and an empty file with private modes
// before SQLite sees the path, because SQLite would create the file with
// 0644; the -wal and -shm files SQLite adds later copy the file's mode.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// dsn builds the modernc DSN. The path goes in a file: URI so that
// characters such as '?', '#' and '%' in it are escaped rather than taken
// for the start of the parameters. busy_timeout is applied before
// journal_mode by the driver, so switching to WAL waits for other openers.
func dsn(path string, busy time.Duration, writer bool) string {
	ms := busy.Milliseconds()
	if busy%time.Millisecond != 0 {
		ms++
	}
	// synchronous(NORMAL) in WAL mode syncs at checkpoints, not at every
	// commit: a power loss can forget the last commits but never corrupts
	// the file. What this store holds (locks, idempotency fast-path records,
	// versions) is safe to forget, and fsync per commit made the store the
	// slowest part of a write (four commits per SCIM write).
	q := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)", ms)
	if writer {
		// Transactions (migrations, later the retry queue) take the write
		// lock at BEGIN, so they wait in the busy handler instead of failing
		// with SQLITE_BUSY when they upgrade from reading to writing.
		q += "&_txlock=immediate"
	} else {
		q += "&_pragma=query_only(1)"
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q}
	return u.String()
}

// Path returns the absolute path of the store's file.
func (s *Store) Path() string { return s.path }

// Ping reports whether the file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var v int
	if err := s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// Close closes the store. Calls made after it fail with
// state.ErrUnavailable. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		var errs []error
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		if s.w != nil {
			errs = append(errs, s.w.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlitestate: close: %w", err)
		}
	})
	return s.closeErr
}

// nowMillis is the store's clock in unix milliseconds.
func (s *Store) nowMillis() int64 { return s.now().UnixMilli() }

// millis converts a positive duration to whole milliseconds, rounding up so
// that a sub-millisecond ttl or lease does not expire at once.
func millis(d time.Duration) int64 {
	ms := d.Milliseconds()
	if d%time.Millisecond != 0 {
		ms++
	}
	return ms
}

// wrap prefixes err with the package and operation, and marks failures
// that mean "the store cannot serve now" (lock held beyond the busy
// timeout, I/O errors, a closed store) with state.ErrUnavailable so that
// the bridge degrades instead of failing the request. A done context is
// reported as itself: the caller gave up, the store did not fail.
func (s *Store) wrap(op string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sqlitestate: %s: %w", op, err)
	case s.closed.Load():
		return fmt.Errorf("sqlitestate: %s: store is closed: %w", op, state.ErrUnavailable)
	case unavailable(err):
		return fmt.Errorf("sqlitestate: %s: %w: %w", op, state.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlitestate: %s: %w", op, err)
}

// unavailable reports whether err is SQLite or the OS saying the file
// cannot be used right now, as opposed to a bug in a statement.
func unavailable(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return true
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // primary code of an extended result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL,
		sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}
