package sqlitestate

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

func newJob(tenant, resource string) state.Job {
	return state.Job{Tenant: tenant, Resource: resource, Op: "patch", Payload: []byte(`{}`), Fingerprint: "fp"}
}

// TestQueueTxIsFull: queue transactions commit with synchronous=FULL and
// leave the writer connection at NORMAL for everything else.
func TestQueueTxIsFull(t *testing.T) {
	s := newTestStore(t, filepath.Join(t.TempDir(), "state.db"))
	ctx := t.Context()
	const normal, full = 1, 2 // PRAGMA synchronous values
	sync := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) int {
		t.Helper()
		var v int
		require.NoError(t, q.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&v))
		return v
	}
	require.Equal(t, normal, sync(s.w))
	var inside int
	require.NoError(t, s.queueTx(ctx, "test", func(tx *sql.Tx) error {
		inside = sync(tx)
		return nil
	}))
	require.Equal(t, full, inside)
	require.Equal(t, normal, sync(s.w), "back to NORMAL after the transaction")

	// Also after a failed one, and after one whose context was cancelled.
	require.Error(t, s.queueTx(ctx, "test", func(tx *sql.Tx) error {
		return fmt.Errorf("boom")
	}))
	require.Equal(t, normal, sync(s.w))
	cctx, cancel := context.WithCancel(ctx)
	require.Error(t, s.queueTx(cctx, "test", func(tx *sql.Tx) error {
		cancel()
		_, err := tx.ExecContext(cctx, "SELECT 1")
		return err
	}))
	require.Equal(t, normal, sync(s.w))
}

// TestQueueUpgrade: a file made by a build that had no queue (schema 1)
// gets the jobs table and keeps what it had.
func TestQueueUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ms, err := migrations()
	require.NoError(t, err)
	db := rawDB(t, path)
	_, err = db.ExecContext(t.Context(), ms[0].sql)
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `
		INSERT INTO tokens (tenant, id, hash, created_at, expires_at) VALUES ('acme', 'k1', 'sha256:00', 1000, 2000);
		PRAGMA user_version = 1`)
	require.NoError(t, err)

	s := newTestStore(t, path)
	toks, err := s.Tokens(t.Context(), "acme")
	require.NoError(t, err)
	require.Len(t, toks, 1)
	j, err := s.Enqueue(t.Context(), newJob("acme", "r"))
	require.NoError(t, err)
	require.Equal(t, state.JobPending, j.State)
	var have int
	require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&have))
	require.Equal(t, len(ms), have)
}

// TestQueueSharedFile is serve's worker and an operator's CLI on one file.
func TestQueueSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	serve := newTestStore(t, path)
	cli := newTestStore(t, path)
	ctx := t.Context()
	now := time.Now()

	a1, err := serve.Enqueue(ctx, newJob("acme", "a"))
	require.NoError(t, err)
	a2, err := serve.Enqueue(ctx, newJob("acme", "a"))
	require.NoError(t, err)
	jobs, err := serve.Lease(ctx, "serve", now, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.NoError(t, serve.Bury(ctx, a1.ID, "serve", "rejected", "invalid"))

	dead, err := cli.List(ctx, state.JobFilter{State: state.JobDead}, 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, a1.ID, dead[0].ID)
	require.NoError(t, cli.Requeue(ctx, a1.ID))
	require.NoError(t, cli.Drop(ctx, a2.ID))

	jobs, err = serve.Lease(ctx, "serve", now, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, a1.ID, jobs[0].ID, "the CLI's requeue is seen by serve")
	require.Equal(t, 1, jobs[0].Attempts)
	st, err := cli.Stats(ctx, "")
	require.NoError(t, err)
	require.Equal(t, state.QueueStats{Leased: 1, Oldest: a1.CreatedAt, AttemptsByClass: map[string]int{"invalid": 1}}, st)
}

func TestQueuePersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := mustOpen(t, path)
	j, err := s.Enqueue(t.Context(), newJob("acme", "r"))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = newTestStore(t, path)
	got, err := s.Get(t.Context(), j.ID)
	require.NoError(t, err)
	require.Equal(t, j, got)
}

// TestQueueBusy: a write lock held elsewhere longer than the busy timeout
// makes queue writes fail with ErrUnavailable rather than hang; reads go on.
func TestQueueBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := newTestStore(t, path, WithBusyTimeout(100*time.Millisecond))
	j, err := s.Enqueue(t.Context(), newJob("acme", "r"))
	require.NoError(t, err)
	holdWriteLock(t, path)

	start := time.Now()
	_, err = s.Enqueue(t.Context(), newJob("acme", "r"))
	require.ErrorIs(t, err, state.ErrUnavailable)
	require.ErrorContains(t, err, "sqlitestate: enqueue")
	_, err = s.Lease(t.Context(), "w", time.Now(), 1, time.Minute)
	require.ErrorIs(t, err, state.ErrUnavailable)
	require.ErrorIs(t, s.Requeue(t.Context(), j.ID), state.ErrUnavailable)
	require.Less(t, time.Since(start), 5*time.Second)

	n, err := s.Pending(t.Context(), "acme", "r")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// BenchmarkSynchronous measures what a commit costs at NORMAL (the rest of
// the store) and FULL (queue writes): the reason only the queue pays for
// FULL. Run with `go test -bench Synchronous ./bridge/state/sqlitestate`.
func BenchmarkSynchronous(b *testing.B) {
	for _, sync := range []string{"NORMAL", "FULL"} {
		b.Run("PutAnswer/"+sync, func(b *testing.B) {
			s := newTestStore(b, filepath.Join(b.TempDir(), "state.db"))
			// The writer pool has one connection: the setting sticks.
			_, err := s.w.ExecContext(b.Context(), "PRAGMA synchronous = "+sync)
			require.NoError(b, err)
			a := state.Answer{Status: 201, Body: make([]byte, 512), ResourceID: "u1", Version: 1}
			for i := 0; b.Loop(); i++ {
				if err := s.PutAnswer(b.Context(), fmt.Sprint("k", i), a, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Enqueue/"+sync, func(b *testing.B) {
			defer func(old string) { queueSync = old }(queueSync)
			queueSync = sync
			s := newTestStore(b, filepath.Join(b.TempDir(), "state.db"))
			j := newJob("acme", "r")
			j.Payload = make([]byte, 512)
			for b.Loop() {
				if _, err := s.Enqueue(b.Context(), j); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
