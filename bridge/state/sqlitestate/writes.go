package sqlitestate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// BeginWrite takes b.Locks, all or none, and reads the stored answer and
// the resource's backlog, in one transaction: a lock held by another owner
// rolls back the ones taken.
func (s *Store) BeginWrite(ctx context.Context, b state.WriteBegin) (state.WriteStart, error) {
	const op = "begin write"
	if err := state.CheckWriteBegin(b); err != nil {
		return state.WriteStart{}, fmt.Errorf("sqlitestate: %s: %w", op, err)
	}
	var start state.WriteStart
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		now := s.nowMillis()
		for _, k := range b.Locks {
			res, err := tx.StmtContext(ctx, s.stmts.lockUpsert).ExecContext(ctx, k, b.Owner, now+millis(b.Lease), now)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return errHeld
			}
		}
		start.Locked = true
		if b.Answer != "" {
			var a state.Answer
			err := tx.StmtContext(ctx, s.stmts.answerGet).QueryRowContext(ctx, b.Answer, now).
				Scan(&a.Status, &a.Body, &a.ResourceID, &a.Version)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			default:
				start.Answer = &a
			}
		}
		if b.Resource != "" {
			return tx.StmtContext(ctx, s.stmts.pendingCount).QueryRowContext(ctx, b.Tenant, b.Resource).Scan(&start.Pending)
		}
		return nil
	})
	if errors.Is(err, errHeld) {
		return state.WriteStart{}, nil
	}
	if err != nil {
		return state.WriteStart{}, err
	}
	return start, nil
}

// errHeld rolls BeginWrite's transaction back when a lock is taken.
var errHeld = errors.New("a lock is held by another owner")

// EndWrite bumps the version, stores the answer and releases the locks in
// one transaction.
func (s *Store) EndWrite(ctx context.Context, e state.WriteEnd) error {
	const op = "end write"
	if err := state.CheckWriteEnd(e); err != nil {
		return fmt.Errorf("sqlitestate: %s: %w", op, err)
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		if e.Key != "" {
			a := e.Answer
			if err := tx.StmtContext(ctx, s.stmts.versionBump).QueryRowContext(ctx, e.Version).Scan(&a.Version); err != nil {
				return err
			}
			if a.Body == nil {
				a.Body = []byte{} // the column is NOT NULL; no body is an empty one
			}
			if _, err := tx.StmtContext(ctx, s.stmts.answerUpsert).ExecContext(ctx, e.Key, a.Status, a.Body, a.ResourceID, a.Version, s.nowMillis()+millis(e.TTL)); err != nil {
				return err
			}
		}
		for _, k := range e.Locks {
			if _, err := tx.StmtContext(ctx, s.stmts.lockDelete).ExecContext(ctx, k, e.Owner); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeTx runs f in one write transaction (BEGIN IMMEDIATE, see dsn) at
// the store's usual synchronous=NORMAL.
func (s *Store) writeTx(ctx context.Context, op string, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := f(tx); err != nil {
		if errors.Is(err, errHeld) {
			return err
		}
		return s.wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}
