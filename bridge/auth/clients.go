package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// SecretPrefix starts every client secret, so that a leaked one is
// recognisable by secret scanners (and told apart from a Secret Token).
const SecretPrefix = "scimbc_"

// Bounds and default of a client secret's validity: Entra's gallery asks
// for secrets that expire, and an operator rotates them within 1 to 3
// years.
const (
	year                  = 365 * 24 * time.Hour
	MinSecretValidity     = year
	MaxSecretValidity     = 3*year + 24*time.Hour // a leap day's slack
	DefaultSecretValidity = year
)

// clientCacheTTL bounds how stale a replica's copy of a client may be: a
// revoked secret stops yielding tokens, and stops its tokens, within it.
const clientCacheTTL = 5 * time.Second

// ErrNoClient means the tenant has no client with that ID.
var ErrNoClient = errors.New("no such client")

// Clients manages the tenants' OAuth clients. Secrets are 256 random bits,
// shown once and stored as their SHA-256: a fast hash is right for a
// random secret (there is no dictionary to try), and it is compared in
// constant time.
type Clients struct {
	store state.Clients
	now   func() time.Time

	mu    sync.Mutex
	cache map[clientKey]cachedClient
}

type clientKey struct{ tenant, id string }

type cachedClient struct {
	client  state.Client
	found   bool
	fetched time.Time
}

// NewClients builds a client manager on the state store.
func NewClients(store state.Clients) *Clients {
	return &Clients{store: store, now: time.Now, cache: map[clientKey]cachedClient{}}
}

// ClientInfo is what an operator may see of a client: everything but the
// secrets' hashes. The CLI and the console list these.
type ClientInfo struct {
	Tenant, ID, Name string
	CreatedAt        time.Time
	Secrets          []SecretInfo
}

// SecretInfo is one secret as an operator sees it.
type SecretInfo struct {
	ID                   string
	CreatedAt, ExpiresAt time.Time
}

func infoOf(c state.Client) ClientInfo {
	ci := ClientInfo{Tenant: c.Tenant, ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt}
	for _, s := range c.Secrets {
		ci.Secrets = append(ci.Secrets, SecretInfo{ID: s.ID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt})
	}
	return ci
}

// CheckSecretValidity says whether d is an acceptable secret lifetime.
func CheckSecretValidity(d time.Duration) error {
	if d < MinSecretValidity || d > MaxSecretValidity {
		return fmt.Errorf("a client secret must be valid from 1 to 3 years (%s to %s), not %s", MinSecretValidity, MaxSecretValidity, d)
	}
	return nil
}

// hashSecret is the at-rest form of a secret: "sha256:" + hex digest.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// newSecret returns a fresh secret valid for validity, and its record.
func (c *Clients) newSecret(validity time.Duration) (string, state.ClientSecret, error) {
	if err := CheckSecretValidity(validity); err != nil {
		return "", state.ClientSecret{}, err
	}
	secret := SecretPrefix + rand.Text() + rand.Text() // 2×130 bits, base32
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", state.ClientSecret{}, err
	}
	now := c.now().UTC().Truncate(time.Second)
	return secret, state.ClientSecret{ID: hex.EncodeToString(id[:]), Hash: hashSecret(secret), CreatedAt: now, ExpiresAt: now.Add(validity)}, nil
}

// Create makes a client for tenant with one secret, and returns the client
// and the secret (shown once, never stored).
func (c *Clients) Create(ctx context.Context, tenant, name string, validity time.Duration) (ClientInfo, string, error) {
	secret, rec, err := c.newSecret(validity)
	if err != nil {
		return ClientInfo{}, "", err
	}
	cl := state.Client{Tenant: tenant, ID: uuid.NewString(), Name: name, CreatedAt: rec.CreatedAt, Secrets: []state.ClientSecret{rec}}
	if err := c.store.PutClient(ctx, cl); err != nil {
		return ClientInfo{}, "", fmt.Errorf("auth: store client: %w", err)
	}
	return infoOf(cl), secret, nil
}

// AddSecret gives a client one more secret; its other secrets keep
// working, so that Entra can be switched to the new one without a failed
// cycle before the old one is revoked.
func (c *Clients) AddSecret(ctx context.Context, tenant, id string, validity time.Duration) (SecretInfo, string, error) {
	cl, err := c.get(ctx, tenant, id)
	if err != nil {
		return SecretInfo{}, "", err
	}
	secret, rec, err := c.newSecret(validity)
	if err != nil {
		return SecretInfo{}, "", err
	}
	cl.Secrets = append(cl.Secrets, rec)
	if err := c.put(ctx, cl); err != nil {
		return SecretInfo{}, "", err
	}
	return SecretInfo{ID: rec.ID, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt}, secret, nil
}

// RevokeSecret removes one secret of a client: it yields no token from now
// on, and the tokens it yielded stop working (within clientCacheTTL on
// every replica).
func (c *Clients) RevokeSecret(ctx context.Context, tenant, id, secretID string) error {
	cl, err := c.get(ctx, tenant, id)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cl.Secrets, func(s state.ClientSecret) bool { return s.ID == secretID })
	if i < 0 {
		return fmt.Errorf("auth: client %s of tenant %s has no secret %q", id, tenant, secretID)
	}
	cl.Secrets = slices.Delete(cl.Secrets, i, i+1)
	return c.put(ctx, cl)
}

// Delete removes a client and all its secrets.
func (c *Clients) Delete(ctx context.Context, tenant, id string) error {
	err := c.store.DeleteClient(ctx, tenant, id)
	c.forget(tenant, id)
	if errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("auth: tenant %s: client %q: %w", tenant, id, ErrNoClient)
	}
	return err
}

// List returns the tenant's clients, oldest first.
func (c *Clients) List(ctx context.Context, tenant string) ([]ClientInfo, error) {
	cs, err := c.store.Clients(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]ClientInfo, len(cs))
	for i, cl := range cs {
		out[i] = infoOf(cl)
	}
	return out, nil
}

func (c *Clients) get(ctx context.Context, tenant, id string) (state.Client, error) {
	cl, err := c.store.Client(ctx, tenant, id)
	if errors.Is(err, state.ErrNotFound) {
		return state.Client{}, fmt.Errorf("auth: tenant %s: client %q: %w", tenant, id, ErrNoClient)
	}
	return cl, err
}

func (c *Clients) put(ctx context.Context, cl state.Client) error {
	if err := c.store.PutClient(ctx, cl); err != nil {
		return fmt.Errorf("auth: store client: %w", err)
	}
	c.forget(cl.Tenant, cl.ID)
	return nil
}

func (c *Clients) forget(tenant, id string) {
	c.mu.Lock()
	delete(c.cache, clientKey{tenant, id})
	c.mu.Unlock()
}

// lookup returns a client from a short-lived cache; found is false for an
// unknown client. If the store is down, the last known record is used,
// however old; with none, the store's error.
func (c *Clients) lookup(ctx context.Context, tenant, id string) (cl state.Client, found bool, err error) {
	k := clientKey{tenant, id}
	c.mu.Lock()
	cached, ok := c.cache[k]
	c.mu.Unlock()
	if ok && c.now().Sub(cached.fetched) < clientCacheTTL {
		return cached.client, cached.found, nil
	}
	cl, err = c.store.Client(ctx, tenant, id)
	found = err == nil
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		if ok {
			return cached.client, cached.found, nil
		}
		return state.Client{}, false, err
	}
	c.mu.Lock()
	if len(c.cache) > maxCachedClients {
		clear(c.cache) // unknown ids must not grow it without bound
	}
	c.cache[k] = cachedClient{client: cl, found: found, fetched: c.now()}
	c.mu.Unlock()
	return cl, found, nil
}

// maxCachedClients bounds the client cache (negative answers included).
const maxCachedClients = 10_000

// matchSecret returns the client's secret that secret is, comparing its
// hash with every stored hash in constant time, or nil.
func matchSecret(cl state.Client, secret string) *state.ClientSecret {
	presented := []byte(hashSecret(secret))
	var match *state.ClientSecret
	for i := range cl.Secrets {
		if subtle.ConstantTimeCompare(presented, []byte(cl.Secrets[i].Hash)) == 1 {
			match = &cl.Secrets[i]
		}
	}
	return match
}

// secretLive reports whether the client still has an unexpired secret
// with that ID at now.
func secretLive(cl state.Client, id string, now time.Time) bool {
	for _, s := range cl.Secrets {
		if s.ID == id {
			return now.Before(s.ExpiresAt)
		}
	}
	return false
}

// ParseSecretValidity reads a secret lifetime as the CLI takes it: "1y",
// "2y", "3y", a number of days ("730d") or a Go duration, 1 to 3 years.
func ParseSecretValidity(s string) (time.Duration, error) {
	var d time.Duration
	switch {
	case strings.HasSuffix(s, "y"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "y"))
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of years, e.g. 2y", s)
		}
		d = time.Duration(n) * year
	case strings.HasSuffix(s, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of days, e.g. 730d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	default:
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a validity: write 1y, 2y, 3y or a number of days such as 500d", s)
		}
	}
	return d, CheckSecretValidity(d)
}

// LatestExpiry is when the client's last secret expires: the moment it
// can no longer obtain tokens. ok is false if it has no secret.
func (ci ClientInfo) LatestExpiry() (latest time.Time, ok bool) {
	for _, s := range ci.Secrets {
		if s.ExpiresAt.After(latest) {
			latest = s.ExpiresAt
		}
	}
	return latest, !latest.IsZero()
}
