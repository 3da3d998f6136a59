package redisstate

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// storedClient is a client's hash field value. Times are unix ms.
type storedClient struct {
	Name    string         `json:"name"`
	Created int64          `json:"created"`
	Secrets []storedSecret `json:"secrets"`
}

type storedSecret struct {
	ID      string `json:"id"`
	Hash    string `json:"hash"`
	Created int64  `json:"created"`
	Expires int64  `json:"expires"`
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func decodeClient(tenant, id, v string) (state.Client, error) {
	var sc storedClient
	if err := json.Unmarshal([]byte(v), &sc); err != nil {
		return state.Client{}, fmt.Errorf("redisstate: client %q of tenant %q is corrupt: %w", id, tenant, err)
	}
	c := state.Client{Tenant: tenant, ID: id, Name: sc.Name, CreatedAt: fromMillis(sc.Created)}
	for _, s := range sc.Secrets {
		c.Secrets = append(c.Secrets, state.ClientSecret{ID: s.ID, Hash: s.Hash, CreatedAt: fromMillis(s.Created), ExpiresAt: fromMillis(s.Expires)})
	}
	return c, nil
}

// PutClient stores c with its secrets, replacing the client with its ID.
func (s *Store) PutClient(ctx context.Context, c state.Client) error {
	const op = "put client"
	if err := state.CheckClient(c); err != nil {
		return fmt.Errorf("redisstate: %s: %w", op, err)
	}
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	sc := storedClient{Name: c.Name, Created: c.CreatedAt.UnixMilli(), Secrets: []storedSecret{}}
	for _, x := range c.Secrets {
		sc.Secrets = append(sc.Secrets, storedSecret{ID: x.ID, Hash: x.Hash, Created: x.CreatedAt.UnixMilli(), Expires: x.ExpiresAt.UnixMilli()})
	}
	v, err := json.Marshal(sc)
	if err != nil {
		return fmt.Errorf("redisstate: %s: %w", op, err)
	}
	return s.wrap(ctx, op, s.retried(ctx, func() error {
		return s.c.HSet(ctx, s.k.clients(c.Tenant), c.ID, v).Err()
	}))
}

// Client returns one client, or state.ErrNotFound.
func (s *Store) Client(ctx context.Context, tenant, id string) (state.Client, error) {
	const op = "client"
	if err := s.begin(ctx, op); err != nil {
		return state.Client{}, err
	}
	var v string
	err := s.retried(ctx, func() (err error) {
		v, err = s.c.HGet(ctx, s.k.clients(tenant), id).Result()
		return err
	})
	if err != nil {
		return state.Client{}, s.wrap(ctx, op, err)
	}
	return decodeClient(tenant, id, v)
}

// Clients lists the tenant's clients, oldest first (ties by ID).
func (s *Store) Clients(ctx context.Context, tenant string) ([]state.Client, error) {
	const op = "list clients"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	var m map[string]string
	err := s.retried(ctx, func() (err error) {
		m, err = s.c.HGetAll(ctx, s.k.clients(tenant)).Result()
		return err
	})
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	var cs []state.Client
	for id, v := range m {
		c, err := decodeClient(tenant, id, v)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b state.Client) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return cs, nil
}

// DeleteClient removes a client; an unknown one gives state.ErrNotFound.
// Not retried: a replay after a lost reply would say "not found".
func (s *Store) DeleteClient(ctx context.Context, tenant, id string) error {
	return s.hdelOne(ctx, "delete client", s.k.clients(tenant), id)
}

// storedKey is a signing key's hash field value. Times are unix ms.
type storedKey struct {
	Secret  []byte `json:"secret"`
	Created int64  `json:"created"`
	Expires int64  `json:"expires"`
}

// AddSigningKey stores k (HSETNX), or gives state.ErrConflict if its ID is
// taken. Retried: a replay after a lost reply finds its own key, which is
// told apart from another replica's by the secret.
func (s *Store) AddSigningKey(ctx context.Context, k state.SigningKey) error {
	const op = "add signing key"
	if err := state.CheckSigningKey(k); err != nil {
		return fmt.Errorf("redisstate: %s: %w", op, err)
	}
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	v, err := json.Marshal(storedKey{Secret: k.Secret, Created: k.CreatedAt.UnixMilli(), Expires: k.ExpiresAt.UnixMilli()})
	if err != nil {
		return fmt.Errorf("redisstate: %s: %w", op, err)
	}
	var added bool
	var existing string
	err = s.retried(ctx, func() (err error) {
		if added, err = s.c.HSetNX(ctx, s.k.signingKeys(), k.ID, v).Result(); err != nil || added {
			return err
		}
		existing, err = s.c.HGet(ctx, s.k.signingKeys(), k.ID).Result()
		return err
	})
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	if !added && existing != string(v) {
		return fmt.Errorf("redisstate: %s %q: %w", op, k.ID, state.ErrConflict)
	}
	return nil
}

// SigningKeys lists every signing key, oldest first (ties by ID).
func (s *Store) SigningKeys(ctx context.Context) ([]state.SigningKey, error) {
	const op = "list signing keys"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	var m map[string]string
	err := s.retried(ctx, func() (err error) {
		m, err = s.c.HGetAll(ctx, s.k.signingKeys()).Result()
		return err
	})
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	var ks []state.SigningKey
	for id, v := range m {
		var sk storedKey
		if err := json.Unmarshal([]byte(v), &sk); err != nil {
			return nil, fmt.Errorf("redisstate: signing key %q is corrupt: %w", id, err)
		}
		ks = append(ks, state.SigningKey{ID: id, Secret: sk.Secret, CreatedAt: fromMillis(sk.Created), ExpiresAt: fromMillis(sk.Expires)})
	}
	slices.SortFunc(ks, func(a, b state.SigningKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return ks, nil
}

// DeleteSigningKey removes a key; an unknown one gives state.ErrNotFound.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.hdelOne(ctx, "delete signing key", s.k.signingKeys(), id)
}

// hdelOne removes one hash field, giving state.ErrNotFound if there was
// none. Not retried: a replay after a lost reply would say "not found".
func (s *Store) hdelOne(ctx context.Context, op, key, field string) error {
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	n, err := s.c.HDel(ctx, key, field).Result()
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	if n == 0 {
		return fmt.Errorf("redisstate: %s %q: %w", op, field, state.ErrNotFound)
	}
	return nil
}
