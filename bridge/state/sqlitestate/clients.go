package sqlitestate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// storedSecret is one secret in a client's secrets column. Times are unix
// ms.
type storedSecret struct {
	ID      string `json:"id"`
	Hash    string `json:"hash"`
	Created int64  `json:"created"`
	Expires int64  `json:"expires"`
}

func encodeSecrets(ss []state.ClientSecret) (string, error) {
	out := make([]storedSecret, len(ss))
	for i, s := range ss {
		out[i] = storedSecret{ID: s.ID, Hash: s.Hash, Created: s.CreatedAt.UnixMilli(), Expires: s.ExpiresAt.UnixMilli()}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeSecrets(v string) ([]state.ClientSecret, error) {
	var in []storedSecret
	if err := json.Unmarshal([]byte(v), &in); err != nil {
		return nil, err
	}
	var out []state.ClientSecret
	for _, s := range in {
		out = append(out, state.ClientSecret{ID: s.ID, Hash: s.Hash, CreatedAt: fromMillis(s.Created), ExpiresAt: fromMillis(s.Expires)})
	}
	return out, nil
}

// PutClient stores c with its secrets, replacing the client with its ID.
func (s *Store) PutClient(ctx context.Context, c state.Client) error {
	if err := state.CheckClient(c); err != nil {
		return fmt.Errorf("sqlitestate: put client: %w", err)
	}
	secrets, err := encodeSecrets(c.Secrets)
	if err != nil {
		return fmt.Errorf("sqlitestate: put client: %w", err)
	}
	_, err = s.w.ExecContext(ctx, `
		INSERT INTO clients (tenant, id, name, created_at, secrets) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant, id) DO UPDATE SET
			name = excluded.name, created_at = excluded.created_at, secrets = excluded.secrets`,
		c.Tenant, c.ID, c.Name, c.CreatedAt.UnixMilli(), secrets)
	if err != nil {
		return s.wrap("put client", err)
	}
	return nil
}

// Client returns one client, or state.ErrNotFound.
func (s *Store) Client(ctx context.Context, tenant, id string) (state.Client, error) {
	c := state.Client{Tenant: tenant, ID: id}
	var created int64
	var secrets string
	err := s.r.QueryRowContext(ctx, `SELECT name, created_at, secrets FROM clients WHERE tenant = ? AND id = ?`, tenant, id).
		Scan(&c.Name, &created, &secrets)
	if errors.Is(err, sql.ErrNoRows) {
		return state.Client{}, fmt.Errorf("sqlitestate: client %q of tenant %q: %w", id, tenant, state.ErrNotFound)
	}
	if err != nil {
		return state.Client{}, s.wrap("client", err)
	}
	c.CreatedAt = fromMillis(created)
	if c.Secrets, err = decodeSecrets(secrets); err != nil {
		return state.Client{}, fmt.Errorf("sqlitestate: client %q of tenant %q is corrupt: %w", id, tenant, err)
	}
	return c, nil
}

// Clients lists the tenant's clients, oldest first (ties by ID).
func (s *Store) Clients(ctx context.Context, tenant string) ([]state.Client, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, name, created_at, secrets FROM clients WHERE tenant = ? ORDER BY created_at, id`, tenant)
	if err != nil {
		return nil, s.wrap("list clients", err)
	}
	defer rows.Close()
	var cs []state.Client
	for rows.Next() {
		c := state.Client{Tenant: tenant}
		var created int64
		var secrets string
		if err := rows.Scan(&c.ID, &c.Name, &created, &secrets); err != nil {
			return nil, s.wrap("list clients", err)
		}
		c.CreatedAt = fromMillis(created)
		if c.Secrets, err = decodeSecrets(secrets); err != nil {
			return nil, fmt.Errorf("sqlitestate: client %q of tenant %q is corrupt: %w", c.ID, tenant, err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list clients", err)
	}
	return cs, nil
}

// DeleteClient removes a client; an unknown one gives state.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, tenant, id string) error {
	return s.deleteOne(ctx, "delete client", `DELETE FROM clients WHERE tenant = ? AND id = ?`, tenant, id)
}

// AddSigningKey stores k, or gives state.ErrConflict if its ID is taken.
func (s *Store) AddSigningKey(ctx context.Context, k state.SigningKey) error {
	if err := state.CheckSigningKey(k); err != nil {
		return fmt.Errorf("sqlitestate: add signing key: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `
		INSERT INTO signing_keys (id, secret, created_at, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Secret, k.CreatedAt.UnixMilli(), k.ExpiresAt.UnixMilli())
	if err != nil {
		return s.wrap("add signing key", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap("add signing key", err)
	} else if n == 0 {
		return fmt.Errorf("sqlitestate: add signing key %q: %w", k.ID, state.ErrConflict)
	}
	return nil
}

// SigningKeys lists every signing key, oldest first (ties by ID).
func (s *Store) SigningKeys(ctx context.Context) ([]state.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, secret, created_at, expires_at FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, s.wrap("list signing keys", err)
	}
	defer rows.Close()
	var ks []state.SigningKey
	for rows.Next() {
		var k state.SigningKey
		var created, expires int64
		if err := rows.Scan(&k.ID, &k.Secret, &created, &expires); err != nil {
			return nil, s.wrap("list signing keys", err)
		}
		k.CreatedAt, k.ExpiresAt = fromMillis(created), fromMillis(expires)
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list signing keys", err)
	}
	return ks, nil
}

// DeleteSigningKey removes a key; an unknown one gives state.ErrNotFound.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "delete signing key", `DELETE FROM signing_keys WHERE id = ?`, id)
}

// deleteOne runs a DELETE that must remove exactly one row.
func (s *Store) deleteOne(ctx context.Context, op, query string, args ...any) error {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestate: %s %q: %w", op, args[len(args)-1], state.ErrNotFound)
	}
	return nil
}
