package sqlitestate

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/statetest"
)

func TestContract(t *testing.T) {
	statetest.Run(t, func(t testing.TB) state.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "state.db"))
	})
}

// mustOpen opens a store; the caller (or statetest) closes it.
func mustOpen(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts...)
	require.NoError(t, err)
	return s
}

// newTestStore opens a store that is closed when t ends.
func newTestStore(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	s := mustOpen(t, path, opts...)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// rawDB opens the file with plain database/sql, as another program would.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	u := url.URL{Scheme: "file", Path: path, RawQuery: "_pragma=busy_timeout(5000)"}
	db, err := sql.Open("sqlite", u.String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func count(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	// table is one of our own constant names, never input.
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

// TestSharedFile is serve and the CLI on one file: two Stores see each
// other's writes at once and exclude each other from locks.
func TestSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	serve := newTestStore(t, path)
	cli := newTestStore(t, path)
	ctx := t.Context()

	tok := state.Token{Tenant: "acme", ID: "k1", Hash: "sha256:00", CreatedAt: time.UnixMilli(1000).UTC(), ExpiresAt: time.UnixMilli(2000).UTC()}
	require.NoError(t, cli.PutToken(ctx, tok))
	got, err := serve.Tokens(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []state.Token{tok}, got)

	require.NoError(t, serve.PutAnswer(ctx, "fp", state.Answer{Status: 201, Body: []byte("{}"), ResourceID: "u1", Version: 1}, time.Minute))
	a, err := cli.Answer(ctx, "fp")
	require.NoError(t, err)
	require.Equal(t, 201, a.Status)

	v, err := serve.BumpVersion(ctx, "acme/Users/u1")
	require.NoError(t, err)
	require.Equal(t, int64(1), v)
	v, err = cli.BumpVersion(ctx, "acme/Users/u1")
	require.NoError(t, err)
	require.Equal(t, int64(2), v)
	v, err = serve.Version(ctx, "acme/Users/u1")
	require.NoError(t, err)
	require.Equal(t, int64(2), v)

	ok, err := serve.TryLock(ctx, "acme/Users/u1", "serve", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = cli.TryLock(ctx, "acme/Users/u1", "cli", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "the other store's lock is held")
	require.NoError(t, cli.Unlock(ctx, "acme/Users/u1", "cli"))
	require.NoError(t, serve.Unlock(ctx, "acme/Users/u1", "serve"))
	ok, err = cli.TryLock(ctx, "acme/Users/u1", "cli", time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "released by the other store")

	require.NoError(t, cli.DeleteToken(ctx, "acme", "k1"))
	got, err = serve.Tokens(ctx, "acme")
	require.NoError(t, err)
	require.Empty(t, got)
}

// TestSharedFileConcurrent races two Stores on one file: bumps are not
// lost and each lock round has one winner across both.
func TestSharedFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	stores := []*Store{newTestStore(t, path), newTestStore(t, path)}
	const each = 50
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for range each {
				if _, err := s.BumpVersion(t.Context(), "hot"); err != nil {
					t.Errorf("store %d: bump: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	v, err := stores[0].Version(t.Context(), "hot")
	require.NoError(t, err)
	require.Equal(t, int64(2*each), v)

	for round := range 10 {
		key := "round-" + string(rune('a'+round))
		wins := make([]bool, 8)
		for i := range wins {
			s := stores[i%2]
			wg.Go(func() {
				ok, err := s.TryLock(t.Context(), key, "owner-"+string(rune('0'+i)), time.Minute)
				if err != nil {
					t.Errorf("TryLock: %v", err)
				}
				wins[i] = ok
			})
		}
		wg.Wait()
		n := 0
		for _, w := range wins {
			if w {
				n++
			}
		}
		require.Equal(t, 1, n, "winners of round %d", round)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := mustOpen(t, path)
	tok := state.Token{Tenant: "acme", ID: "k1", Hash: "sha256:00", CreatedAt: time.UnixMilli(1000).UTC(), ExpiresAt: time.UnixMilli(2000).UTC()}
	require.NoError(t, s.PutToken(t.Context(), tok))
	_, err := s.BumpVersion(t.Context(), "r")
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = newTestStore(t, path)
	got, err := s.Tokens(t.Context(), "acme")
	require.NoError(t, err)
	require.Equal(t, []state.Token{tok}, got)
	v, err := s.Version(t.Context(), "r")
	require.NoError(t, err)
	require.Equal(t, int64(1), v)
}

func TestFileModesAndWAL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	path := filepath.Join(dir, "state.db")
	s := newTestStore(t, path)
	// Write something so that SQLite has made its -wal and -shm files.
	_, err := s.BumpVersion(t.Context(), "r")
	require.NoError(t, err)

	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "directory mode")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
		info, err := e.Info()
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "mode of %s", e.Name())
	}
	require.True(t, names["state.db"] && names["state.db-wal"] && names["state.db-shm"], "files: %v", names)

	var mode string
	require.NoError(t, rawDB(t, path).QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", mode)
	require.Equal(t, filepath.Clean(path), s.Path())
}

func TestExistingModesKept(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o750))
	path := filepath.Join(dir, "state.db")
	require.NoError(t, os.WriteFile(path, nil, 0o640))
	require.NoError(t, os.Chmod(path, 0o640)) // whatever the umask
	newTestStore(t, path)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
}

func TestPathsWithSpecialCharacters(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"space", "my state.db"},
		{"question mark", "state?x=1.db"},
		{"hash", "state#1.db"},
		{"percent", "state%20.db"},
		{"non-ascii", "zustand-ü.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			s := newTestStore(t, path)
			_, err := s.BumpVersion(t.Context(), "r")
			require.NoError(t, err)
			// The database is the file named, not one SQLite derived from a
			// misread URI.
			require.Equal(t, 1, count(t, rawDB(t, path), "versions"))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.Contains(t, []string{tc.file, tc.file + "-wal", tc.file + "-shm"}, e.Name())
			}
		})
	}
}

func TestRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	s := newTestStore(t, filepath.Join("data", "state.db"))
	require.True(t, filepath.IsAbs(s.Path()))
	_, err := os.Stat(filepath.Join("data", "state.db"))
	require.NoError(t, err)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "garbage.db")
	require.NoError(t, os.WriteFile(notDB, []byte("this is not a SQLite database, it is a text file with enough bytes to have a header"), 0o600))
	aFile := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(aFile, nil, 0o600))

	for _, tc := range []struct {
		name        string
		path        string
		opts        []Option
		unavailable bool
	}{
		{name: "empty path", path: ""},
		{name: "memory", path: ":memory:"},
		{name: "directory", path: dir, unavailable: true},
		{name: "parent is a file", path: filepath.Join(aFile, "state.db"), unavailable: true},
		{name: "not a database", path: notDB, unavailable: true},
		{name: "nil clock", path: filepath.Join(dir, "a.db"), opts: []Option{WithClock(nil)}},
		{name: "negative busy timeout", path: filepath.Join(dir, "b.db"), opts: []Option{WithBusyTimeout(-time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.path, tc.opts...)
			require.Error(t, err)
			require.Nil(t, s)
			require.Contains(t, err.Error(), "sqlitestate: open")
			require.Equal(t, tc.unavailable, errors.Is(err, state.ErrUnavailable), "ErrUnavailable in %v", err)
		})
	}
}

func TestSchema(t *testing.T) {
	ms, err := migrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	want, err := schemaVersion()
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "state.db")
	newTestStore(t, path)
	db := rawDB(t, path)
	var have int
	require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&have))
	require.Equal(t, want, have)
	for _, table := range []string{"tokens", "answers", "versions", "locks", "jobs"} {
		require.Zero(t, count(t, db, table), table)
	}

	// Opening again applies nothing twice.
	newTestStore(t, path)

	// A file from a newer build is refused rather than misread.
	_, err = db.ExecContext(t.Context(), "PRAGMA user_version = 999")
	require.NoError(t, err)
	_, err = Open(t.Context(), path)
	require.ErrorContains(t, err, "schema version 999 is newer")
}

// TestConcurrentFirstOpen opens fresh files from several goroutines at
// once, like serve and the CLI started together: they race to switch the
// file to WAL and to create the schema, and every one must succeed.
func TestConcurrentFirstOpen(t *testing.T) {
	want, err := schemaVersion()
	require.NoError(t, err)
	for round := range 10 {
		path := filepath.Join(t.TempDir(), "state.db")
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				s, err := Open(t.Context(), path)
				if err != nil {
					t.Errorf("round %d: %v", round, err)
					return
				}
				_ = s.Close()
			})
		}
		wg.Wait()
		var have int
		require.NoError(t, rawDB(t, path).QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&have))
		require.Equal(t, want, have)
	}
}

func TestClockAndSweep(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "state.db")
	s := newTestStore(t, path, WithClock(clock.Now))
	ctx := t.Context()
	db := rawDB(t, path)

	require.NoError(t, s.PutAnswer(ctx, "short", state.Answer{Status: 200}, time.Hour))
	require.NoError(t, s.PutAnswer(ctx, "long", state.Answer{Status: 200}, 48*time.Hour))
	ok, err := s.TryLock(ctx, "k-short", "a", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.TryLock(ctx, "k-long", "a", 2*time.Hour)
	require.NoError(t, err)
	require.True(t, ok)

	removed, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, removed, "nothing has expired yet")

	clock.Advance(time.Hour) // expiry is inclusive: at expires_at it is gone
	_, err = s.Answer(ctx, "short")
	require.ErrorIs(t, err, state.ErrNotFound)
	ok, err = s.TryLock(ctx, "k-short", "b", time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "an expired lease is taken over")
	ok, err = s.TryLock(ctx, "k-long", "b", time.Minute)
	require.NoError(t, err)
	require.False(t, ok)

	// Reading the expired answer deleted it already (lazy cleanup).
	require.Equal(t, 1, count(t, db, "answers"))

	clock.Advance(time.Hour) // b's k-short and a's k-long lapse
	removed, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), removed)
	require.Equal(t, 1, count(t, db, "answers"))
	require.Zero(t, count(t, db, "locks"))

	clock.Advance(48 * time.Hour)
	removed, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), removed)
	require.Zero(t, count(t, db, "answers"))
}

// holdWriteLock takes the file's write lock from another connection, as a
// CLI command in the middle of a transaction would, until t ends.
func holdWriteLock(t testing.TB, path string) {
	t.Helper()
	db := rawDB(t, path)
	conn, err := db.Conn(t.Context())
	require.NoError(t, err)
	_, err = conn.ExecContext(t.Context(), "BEGIN IMMEDIATE")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		_ = conn.Close()
	})
}

// TestBusy: a write lock held elsewhere longer than the busy timeout gives
// ErrUnavailable, not a hang; reads go on (WAL).
func TestBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := newTestStore(t, path, WithBusyTimeout(100*time.Millisecond))
	require.NoError(t, s.PutAnswer(t.Context(), "k", state.Answer{Status: 200}, time.Hour))
	holdWriteLock(t, path)

	start := time.Now()
	_, err := s.BumpVersion(t.Context(), "r")
	require.ErrorIs(t, err, state.ErrUnavailable)
	require.ErrorContains(t, err, "sqlitestate: bump version")
	require.Less(t, time.Since(start), 3*time.Second)

	ok, err := s.TryLock(t.Context(), "k", "a", time.Minute)
	require.ErrorIs(t, err, state.ErrUnavailable)
	require.False(t, ok)

	a, err := s.Answer(t.Context(), "k")
	require.NoError(t, err, "reads are not blocked by a writer")
	require.Equal(t, 200, a.Status)
	require.NoError(t, s.Ping(t.Context()))
}

// TestDeadlineWhileBusy: a request deadline shorter than the busy timeout
// ends the wait; the error is the deadline, not ErrUnavailable.
func TestDeadlineWhileBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := newTestStore(t, path) // default busy timeout: 5 s
	holdWriteLock(t, path)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.BumpVersion(ctx, "r")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, state.ErrUnavailable)
	require.Less(t, time.Since(start), 2*time.Second)

	// The store still works once the deadline has passed.
	v, err := s.Version(t.Context(), "r")
	require.NoError(t, err)
	require.Zero(t, v)
}

// TestWritersQueueInProcess: many goroutines writing at once through one
// Store never see SQLITE_BUSY, however short the busy timeout, because
// they queue for the single writer connection.
func TestWritersQueueInProcess(t *testing.T) {
	s := newTestStore(t, filepath.Join(t.TempDir(), "state.db"), WithBusyTimeout(0))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 20 {
				if _, err := s.TryLock(t.Context(), "k", "o", time.Minute); err != nil {
					t.Errorf("worker %d/%d: %v", i, j, err)
					return
				}
				if err := s.PutAnswer(t.Context(), "a", state.Answer{Status: 200}, time.Minute); err != nil {
					t.Errorf("worker %d/%d: %v", i, j, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCloseTwice(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "state.db"))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	removed, err := s.Sweep(t.Context())
	require.ErrorIs(t, err, state.ErrUnavailable)
	require.Zero(t, removed)
}

func TestDSN(t *testing.T) {
	for _, tc := range []struct {
		name   string
		path   string
		busy   time.Duration
		writer bool
		want   string
	}{
		{"writer", "/var/lib/scimbridge/state.db", 5 * time.Second, true,
			"file:///var/lib/scimbridge/state.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"},
		{"reader", "/d/s.db", 1500 * time.Microsecond, false,
			"file:///d/s.db?_pragma=busy_timeout(2)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=query_only(1)"},
		{"escaped", "/d/a b?#%.db", 0, true,
			"file:///d/a%20b%3F%23%25.db?_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, dsn(tc.path, tc.busy, tc.writer))
		})
	}
}
