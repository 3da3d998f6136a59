package sqlitestate

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// The retry queue is one table, jobs (schema/0002_queue.sql), in enqueue
// order by seq. A resource's jobs are its rows that are not dead; its head
// is the one with the lowest seq. Lease hands out a pending job only when no
// other live job of its resource comes before it and none is leased, which
// is the whole per-resource FIFO rule: no separate "ready" bookkeeping to
// keep in step.
//
// Every queue write runs in one BEGIN IMMEDIATE transaction with
// synchronous=FULL (queueTx): unlike an idempotency record, a queued job
// must survive a power loss once Enqueue has returned, because the bridge
// has already told Entra it was kept.

// jobColumns are read by scanJob, in this order.
const jobColumns = `seq, id, tenant, resource, op, payload, fingerprint, attempts,
	not_before, created_at, last_error, error_class, state, owner, lease_until`

// queueSync is the synchronous setting of queue transactions. A variable
// only so that the benchmark can compare it with NORMAL.
var queueSync = "FULL"

// Enqueue stores a new pending job and returns it as stored.
func (s *Store) Enqueue(ctx context.Context, j state.Job) (state.Job, error) {
	if err := state.CheckNewJob(j); err != nil {
		return state.Job{}, fmt.Errorf("sqlitestate: enqueue: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return state.Job{}, fmt.Errorf("sqlitestate: enqueue: job id: %w", err)
	}
	j.ID = id.String()
	if j.CreatedAt.IsZero() {
		j.CreatedAt = s.now()
	}
	payload := j.Payload
	if payload == nil {
		payload = []byte{} // NOT NULL; no payload is an empty one
	}
	var out state.Job
	err = s.queueTx(ctx, "enqueue", func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `
			INSERT INTO jobs (id, tenant, resource, op, payload, fingerprint, attempts,
				not_before, created_at, last_error, error_class, state, owner, lease_until)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', '', 0)
			RETURNING `+jobColumns,
			j.ID, j.Tenant, j.Resource, j.Op, payload, j.Fingerprint, j.Attempts,
			toMillis(j.NotBefore), toMillis(j.CreatedAt), j.LastError, j.ErrorClass)
		var err error
		out, _, err = scanJob(row)
		return err
	})
	if err != nil {
		return state.Job{}, err
	}
	return out, nil
}

// Lease hands owner up to max jobs: expired leases first, then due heads of
// idle resources, oldest first.
func (s *Store) Lease(ctx context.Context, owner string, now time.Time, max int, lease time.Duration) ([]state.Job, error) {
	if err := state.CheckLease(owner, max, lease); err != nil {
		return nil, fmt.Errorf("sqlitestate: lease: %w", err)
	}
	// The worker polls: when nothing is pending or leased, say so from a
	// reader rather than take the file's write lock for nothing.
	var live bool
	err := s.r.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM jobs WHERE state IN ('pending', 'leased'))`).Scan(&live)
	if err != nil {
		return nil, s.wrap("lease", err)
	}
	if !live {
		return nil, nil
	}
	nowMs := now.UnixMilli()
	until := nowMs + millis(lease)
	var jobs []state.Job
	err = s.queueTx(ctx, "lease", func(tx *sql.Tx) error {
		// A lease that ran out is taken over where it is: its resource is
		// still blocked behind it, so nothing else of the resource is due.
		expired, err := updateJobs(ctx, tx, `
			UPDATE jobs SET owner = ?, lease_until = ?, attempts = attempts + 1
			WHERE seq IN (
				SELECT seq FROM jobs WHERE state = 'leased' AND lease_until <= ?
				ORDER BY seq LIMIT ?)
			RETURNING `+jobColumns, owner, until, nowMs, max)
		if err != nil {
			return err
		}
		jobs = expired
		if len(jobs) == max {
			return nil
		}
		// A pending job is due when its time has come, no live job of its
		// resource is older, and no job of its resource is leased (an older
		// job an operator requeued while a newer one ran waits for it).
		due, err := updateJobs(ctx, tx, `
			UPDATE jobs SET state = 'leased', owner = ?, lease_until = ?, attempts = attempts + 1
			WHERE seq IN (
				SELECT j.seq FROM jobs j
				WHERE j.state = 'pending' AND j.not_before <= ?
				AND NOT EXISTS (
					SELECT 1 FROM jobs e
					WHERE e.tenant = j.tenant AND e.resource = j.resource AND e.state <> 'dead'
					AND (e.seq < j.seq OR e.state = 'leased'))
				ORDER BY j.seq LIMIT ?)
			RETURNING `+jobColumns, owner, until, nowMs, max-len(jobs))
		if err != nil {
			return err
		}
		jobs = append(jobs, due...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// updateJobs runs an UPDATE ... RETURNING over jobs and returns them in
// enqueue order (RETURNING has none of its own).
func updateJobs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]state.Job, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type seqJob struct {
		seq int64
		job state.Job
	}
	var got []seqJob
	for rows.Next() {
		j, seq, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		got = append(got, seqJob{seq, j})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(got, func(a, b seqJob) int { return cmp.Compare(a.seq, b.seq) })
	jobs := make([]state.Job, len(got))
	for i, g := range got {
		jobs[i] = g.job
	}
	return jobs, nil
}

// Extend renews owner's lease on a job it holds.
func (s *Store) Extend(ctx context.Context, id, owner string, until time.Time) error {
	if id == "" || owner == "" {
		return errors.New("sqlitestate: extend: id and owner are required")
	}
	return s.holderUpdate(ctx, "extend", id, owner,
		`UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'leased' AND owner = ?`,
		until.UnixMilli(), id, owner)
}

// Ack deletes a job owner holds.
func (s *Store) Ack(ctx context.Context, id, owner string) error {
	if id == "" || owner == "" {
		return errors.New("sqlitestate: ack: id and owner are required")
	}
	return s.holderUpdate(ctx, "ack", id, owner,
		`DELETE FROM jobs WHERE id = ? AND state = 'leased' AND owner = ?`, id, owner)
}

// Retry puts a job owner holds back to pending, due at notBefore.
func (s *Store) Retry(ctx context.Context, id, owner string, notBefore time.Time, lastError, class string) error {
	if id == "" || owner == "" {
		return errors.New("sqlitestate: retry: id and owner are required")
	}
	return s.holderUpdate(ctx, "retry", id, owner, `
		UPDATE jobs SET state = 'pending', owner = '', lease_until = 0,
			not_before = ?, last_error = ?, error_class = ?
		WHERE id = ? AND state = 'leased' AND owner = ?`,
		toMillis(notBefore), lastError, class, id, owner)
}

// Bury moves a job owner holds to the dead letter state.
func (s *Store) Bury(ctx context.Context, id, owner, lastError, class string) error {
	if id == "" || owner == "" {
		return errors.New("sqlitestate: bury: id and owner are required")
	}
	return s.holderUpdate(ctx, "bury", id, owner, `
		UPDATE jobs SET state = 'dead', owner = '', lease_until = 0,
			last_error = ?, error_class = ?
		WHERE id = ? AND state = 'leased' AND owner = ?`,
		lastError, class, id, owner)
}

// holderUpdate runs one statement that only applies to a job owner holds,
// and when it applies to nothing tells why: the job is gone
// (state.ErrNotFound) or someone else has it (state.ErrConflict).
func (s *Store) holderUpdate(ctx context.Context, op, id, owner, query string, args ...any) error {
	return s.queueTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var st, holder string
		err = tx.QueryRowContext(ctx, `SELECT state, owner FROM jobs WHERE id = ?`, id).Scan(&st, &holder)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlitestate: %s job %q: %w", op, id, state.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if st == string(state.JobLeased) {
			return fmt.Errorf("sqlitestate: %s job %q: leased by %q, not %q: %w", op, id, holder, owner, state.ErrConflict)
		}
		return fmt.Errorf("sqlitestate: %s job %q: it is %s, not leased by %q: %w", op, id, st, owner, state.ErrConflict)
	})
}

// Pending counts the tenant's live jobs of resource.
func (s *Store) Pending(ctx context.Context, tenant, resource string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, pendingCount, tenant, resource).Scan(&n)
	if err != nil {
		return 0, s.wrap("pending", err)
	}
	return n, nil
}

// pendingCount counts a resource's live jobs (tenant, resource).
const pendingCount = `SELECT count(*) FROM jobs WHERE tenant = ? AND resource = ? AND state <> 'dead'`

// Get returns one job, or state.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (state.Job, error) {
	j, _, err := scanJob(s.r.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return state.Job{}, fmt.Errorf("sqlitestate: get job %q: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return state.Job{}, s.wrap("get job", err)
	}
	return j, nil
}

// List returns up to limit jobs matching f, by tenant, then enqueue order.
func (s *Store) List(ctx context.Context, f state.JobFilter, limit int) ([]state.Job, error) {
	if err := state.CheckJobFilter(f, limit); err != nil {
		return nil, fmt.Errorf("sqlitestate: list jobs: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `
		SELECT `+jobColumns+` FROM jobs
		WHERE (?1 = '' OR tenant = ?1) AND (?2 = '' OR resource = ?2) AND (?3 = '' OR state = ?3)
		ORDER BY tenant, seq LIMIT ?4`,
		f.Tenant, f.Resource, string(f.State), limit)
	if err != nil {
		return nil, s.wrap("list jobs", err)
	}
	defer rows.Close()
	var jobs []state.Job
	for rows.Next() {
		j, _, err := scanJob(rows)
		if err != nil {
			return nil, s.wrap("list jobs", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list jobs", err)
	}
	return jobs, nil
}

// Requeue makes a dead or pending job pending and due at once, with a fresh
// attempt count.
func (s *Store) Requeue(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("sqlitestate: requeue: id is required")
	}
	return s.queueTx(ctx, "requeue", func(tx *sql.Tx) error {
		var st string
		err := tx.QueryRowContext(ctx, `SELECT state FROM jobs WHERE id = ?`, id).Scan(&st)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlitestate: requeue job %q: %w", id, state.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if st == string(state.JobLeased) {
			return fmt.Errorf("sqlitestate: requeue job %q: a worker holds it: %w", id, state.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE jobs SET state = 'pending', attempts = 0, not_before = 0 WHERE id = ?`, id)
		return err
	})
}

// Drop deletes a job in any state.
func (s *Store) Drop(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("sqlitestate: drop: id is required")
	}
	return s.queueTx(ctx, "drop", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("sqlitestate: drop job %q: %w", id, state.ErrNotFound)
		}
		return nil
	})
}

// Stats counts the tenant's jobs (every tenant's for ""), from one
// snapshot of the file.
func (s *Store) Stats(ctx context.Context, tenant string) (state.QueueStats, error) {
	st := state.QueueStats{AttemptsByClass: map[string]int{}}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return state.QueueStats{}, s.wrap("queue stats", err)
	}
	defer func() { _ = tx.Rollback() }()
	err = func() error {
		rows, err := tx.QueryContext(ctx, `
			SELECT state, count(*) FROM jobs WHERE (?1 = '' OR tenant = ?1) GROUP BY state`, tenant)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var n int
			if err := rows.Scan(&name, &n); err != nil {
				return err
			}
			switch state.JobState(name) {
			case state.JobPending:
				st.Pending = n
			case state.JobLeased:
				st.Leased = n
			case state.JobDead:
				st.Dead = n
			}
		}
		return rows.Err()
	}()
	if err != nil {
		return state.QueueStats{}, s.wrap("queue stats", err)
	}
	// Each tenant's earliest-enqueued live job (SQLite takes the bare
	// created_at from the row where min(seq) is), then the oldest of those.
	var oldest sql.NullInt64
	err = tx.QueryRowContext(ctx, `
		SELECT min(created) FROM (
			SELECT created_at AS created, min(seq) FROM jobs
			WHERE state <> 'dead' AND (?1 = '' OR tenant = ?1) GROUP BY tenant)`, tenant).Scan(&oldest)
	if err != nil {
		return state.QueueStats{}, s.wrap("queue stats", err)
	}
	if oldest.Valid {
		st.Oldest = fromMillis(oldest.Int64)
	}
	err = func() error {
		rows, err := tx.QueryContext(ctx, `
			SELECT error_class, sum(attempts) FROM jobs
			WHERE state <> 'dead' AND error_class <> '' AND (?1 = '' OR tenant = ?1)
			GROUP BY error_class HAVING sum(attempts) > 0`, tenant)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var class string
			var n int
			if err := rows.Scan(&class, &n); err != nil {
				return err
			}
			st.AttemptsByClass[class] = n
		}
		return rows.Err()
	}()
	if err != nil {
		return state.QueueStats{}, s.wrap("queue stats", err)
	}
	return st, nil
}

// queueTx runs f in one write transaction on the writer connection: BEGIN
// IMMEDIATE (the writer DSN's _txlock), so it waits for another process's
// write lock in the busy handler rather than failing halfway, and with
// synchronous=FULL, so that the commit is on disk when queueTx returns. The
// rest of the store stays at NORMAL (see dsn); a FULL commit also makes
// every NORMAL commit before it durable, since both live in the one WAL.
//
// f returns errors unwrapped; those that carry state.ErrNotFound or
// state.ErrConflict already say what happened and are returned as they are.
// synchronousNormal is PRAGMA synchronous's value for NORMAL.
const synchronousNormal = 1

func (s *Store) queueTx(ctx context.Context, op string, f func(tx *sql.Tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return s.wrap(op, err)
	}
	defer conn.Close()
	// PRAGMA takes no placeholders; queueSync is our own constant.
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = "+queueSync); err != nil {
		return s.wrap(op, err)
	}
	// Back to NORMAL even when ctx is done: the connection is reused by
	// every other write. A transaction that a cancelled ctx is still
	// rolling back can make the reset a no-op, so it is checked; a
	// connection that did not come back to NORMAL is dropped, and the pool
	// opens a fresh one with the DSN's pragmas.
	defer func() {
		rctx := context.WithoutCancel(ctx)
		v := 0
		_, err := conn.ExecContext(rctx, "PRAGMA synchronous = NORMAL")
		if err == nil {
			err = conn.QueryRowContext(rctx, "PRAGMA synchronous").Scan(&v)
		}
		if err != nil || v != synchronousNormal {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := f(tx); err != nil {
		if errors.Is(err, state.ErrNotFound) || errors.Is(err, state.ErrConflict) {
			return err
		}
		return s.wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanJob reads the jobColumns of one row, and its seq.
func scanJob(r scanner) (state.Job, int64, error) {
	var (
		j                          state.Job
		seq                        int64
		notBefore, created, leased int64
		st                         string
	)
	err := r.Scan(&seq, &j.ID, &j.Tenant, &j.Resource, &j.Op, &j.Payload, &j.Fingerprint, &j.Attempts,
		&notBefore, &created, &j.LastError, &j.ErrorClass, &st, &j.Owner, &leased)
	if err != nil {
		return state.Job{}, 0, err
	}
	j.State = state.JobState(st)
	j.NotBefore, j.CreatedAt, j.LeaseUntil = optMillis(notBefore), optMillis(created), optMillis(leased)
	return j, seq, nil
}

// toMillis stores a time as unix milliseconds, the zero time as 0.
func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// optMillis reads what toMillis stored.
func optMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}
