package sqlitestate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// PutToken stores t, replacing the tenant's token with the same ID.
func (s *Store) PutToken(ctx context.Context, t state.Token) error {
	if t.Tenant == "" || t.ID == "" {
		return errors.New("sqlitestate: put token: tenant and id are required")
	}
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO tokens (tenant, id, hash, created_at, expires_at, first_used_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, id) DO UPDATE SET
			hash = excluded.hash,
			created_at = excluded.created_at,
			expires_at = excluded.expires_at,
			first_used_at = excluded.first_used_at`,
		t.Tenant, t.ID, t.Hash, t.CreatedAt.UnixMilli(), t.ExpiresAt.UnixMilli(), toMillis(t.FirstUsedAt))
	if err != nil {
		return s.wrap("put token", err)
	}
	return nil
}

// Tokens lists the tenant's tokens, expired ones included, oldest first
// (ties broken by ID, so the order is stable).
func (s *Store) Tokens(ctx context.Context, tenant string) ([]state.Token, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, hash, created_at, expires_at, first_used_at FROM tokens
		WHERE tenant = ? ORDER BY created_at, id`, tenant)
	if err != nil {
		return nil, s.wrap("list tokens", err)
	}
	defer rows.Close()
	var ts []state.Token
	for rows.Next() {
		t := state.Token{Tenant: tenant}
		var created, expires, used int64
		if err := rows.Scan(&t.ID, &t.Hash, &created, &expires, &used); err != nil {
			return nil, s.wrap("list tokens", err)
		}
		t.CreatedAt, t.ExpiresAt, t.FirstUsedAt = fromMillis(created), fromMillis(expires), optMillis(used)
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list tokens", err)
	}
	return ts, nil
}

// DeleteToken removes one token; an unknown one gives state.ErrNotFound.
func (s *Store) DeleteToken(ctx context.Context, tenant, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM tokens WHERE tenant = ? AND id = ?`, tenant, id)
	if err != nil {
		return s.wrap("delete token", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap("delete token", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestate: delete token %q of tenant %q: %w", id, tenant, state.ErrNotFound)
	}
	return nil
}

// Answer returns the stored answer for key, or state.ErrNotFound if there
// is none or it has expired. An expired one is deleted on the way.
func (s *Store) Answer(ctx context.Context, key string) (state.Answer, error) {
	var a state.Answer
	var expires int64
	err := s.r.QueryRowContext(ctx, `
		SELECT status, body, resource_id, version, expires_at FROM answers WHERE key = ?`, key).
		Scan(&a.Status, &a.Body, &a.ResourceID, &a.Version, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return state.Answer{}, fmt.Errorf("sqlitestate: answer: %w", state.ErrNotFound)
	}
	if err != nil {
		return state.Answer{}, s.wrap("answer", err)
	}
	if now := s.nowMillis(); expires <= now {
		// Best effort: the caller's answer is "not found" whatever happens
		// here, and Sweep removes what this misses. The condition keeps a
		// record stored again meanwhile.
		_, _ = s.w.ExecContext(ctx, `DELETE FROM answers WHERE key = ? AND expires_at <= ?`, key, now)
		return state.Answer{}, fmt.Errorf("sqlitestate: answer: expired: %w", state.ErrNotFound)
	}
	return a, nil
}

// PutAnswer stores a for key for ttl, replacing any answer stored for key.
func (s *Store) PutAnswer(ctx context.Context, key string, a state.Answer, ttl time.Duration) error {
	if key == "" {
		return errors.New("sqlitestate: put answer: key is empty")
	}
	if ttl <= 0 {
		return fmt.Errorf("sqlitestate: put answer: ttl %s is not positive", ttl)
	}
	body := a.Body
	if body == nil {
		body = []byte{} // the column is NOT NULL; no body is an empty one
	}
	_, err := s.stmts.answerUpsert.ExecContext(ctx, key, a.Status, body, a.ResourceID, a.Version, s.nowMillis()+millis(ttl))
	if err != nil {
		return s.wrap("put answer", err)
	}
	return nil
}

// Version returns the resource's current version (0 if never written).
func (s *Store) Version(ctx context.Context, resource string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT version FROM versions WHERE resource = ?`, resource).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.wrap("version", err)
	}
	return v, nil
}

// BumpVersion increments the resource's version in one statement and
// returns the new value.
func (s *Store) BumpVersion(ctx context.Context, resource string) (int64, error) {
	if resource == "" {
		return 0, errors.New("sqlitestate: bump version: resource is empty")
	}
	var v int64
	err := s.stmts.versionBump.QueryRowContext(ctx, resource).Scan(&v)
	if err != nil {
		return 0, s.wrap("bump version", err)
	}
	return v, nil
}

// TryLock takes or renews the lease on key for owner. It is one
// conditional upsert, so it is atomic across connections and processes: the
// row is written only if it is new, already the owner's, or expired.
func (s *Store) TryLock(ctx context.Context, key, owner string, lease time.Duration) (bool, error) {
	if key == "" || owner == "" {
		return false, errors.New("sqlitestate: lock: key and owner are required")
	}
	if lease <= 0 {
		return false, fmt.Errorf("sqlitestate: lock: lease %s is not positive", lease)
	}
	now := s.nowMillis()
	res, err := s.stmts.lockUpsert.ExecContext(ctx, key, owner, now+millis(lease), now)
	if err != nil {
		return false, s.wrap("lock", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.wrap("lock", err)
	}
	return n == 1, nil
}

// Unlock releases the lock if owner holds it; otherwise it does nothing.
func (s *Store) Unlock(ctx context.Context, key, owner string) error {
	if key == "" || owner == "" {
		return errors.New("sqlitestate: unlock: key and owner are required")
	}
	if _, err := s.stmts.lockDelete.ExecContext(ctx, key, owner); err != nil {
		return s.wrap("unlock", err)
	}
	return nil
}

// Sweep deletes expired idempotency records and locks and returns how many
// it removed. The bridge calls it periodically (state.Sweeper); reads and
// TryLock already ignore what it has not removed yet.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	now := s.nowMillis()
	var removed int64
	for _, q := range []string{
		`DELETE FROM answers WHERE expires_at <= ?`,
		`DELETE FROM locks WHERE expires_at <= ?`,
	} {
		res, err := s.w.ExecContext(ctx, q, now)
		if err != nil {
			return removed, s.wrap("sweep", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return removed, s.wrap("sweep", err)
		}
		removed += n
	}
	return removed, nil
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Statements shared by the primitives and the write bundles (writes.go).
const (
	// answerUpsert stores an answer: key, status, body, resource_id,
	// version, expires_at.
	answerUpsert = `
		INSERT INTO answers (key, status, body, resource_id, version, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			status = excluded.status,
			body = excluded.body,
			resource_id = excluded.resource_id,
			version = excluded.version,
			expires_at = excluded.expires_at`
	// versionBump increments a resource's version and returns it.
	versionBump = `
		INSERT INTO versions (resource, version) VALUES (?, 1)
		ON CONFLICT (resource) DO UPDATE SET version = version + 1
		RETURNING version`
	// lockUpsert takes or renews a lock (key, owner, expires_at, now): one
	// row affected when taken.
	lockUpsert = `
		INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			owner = excluded.owner,
			expires_at = excluded.expires_at
		WHERE locks.owner = excluded.owner OR locks.expires_at <= ?`
	lockDelete = `DELETE FROM locks WHERE key = ? AND owner = ?`
	// answerGet reads an unexpired answer (key, now).
	answerGet = `SELECT status, body, resource_id, version FROM answers WHERE key = ? AND expires_at > ?`
)
