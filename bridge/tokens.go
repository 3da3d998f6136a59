package bridge

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// TokenPrefix starts every Secret Token, so a leaked one is recognisable
// by secret scanners.
const TokenPrefix = "scimb_"

// ExpiryWarnings are how long before expiry the bridge warns (docs/design.md §6).
var ExpiryWarnings = []time.Duration{30 * 24 * time.Hour, 14 * 24 * time.Hour, 7 * 24 * time.Hour}

// tokenCacheTTL bounds how stale the in-memory copy of a tenant's token
// hashes may be: a regenerated token works within this time on every
// replica, and a state store outage does not lock Entra out.
const tokenCacheTTL = 5 * time.Second

// Tokens issues, rotates and checks tenants' Secret Tokens. Only SHA-256
// hashes are stored; a presented token is hashed and compared in constant
// time against every stored hash of its tenant.
type Tokens struct {
	store    state.Tokens
	validity time.Duration
	grace    time.Duration
	now      func() time.Time
	log      hclog.Logger

	mu    sync.Mutex
	cache map[string]cachedTokens
	// marked are the tokens (tenant/id) whose first use this process has
	// recorded.
	marked map[string]bool
}

type cachedTokens struct {
	tokens  []state.Token
	fetched time.Time
}

// NewTokens builds a token manager. validity is how long a new token lives
// (one year by default), grace how long a replaced one keeps working.
func NewTokens(store state.Tokens, validity, grace time.Duration, log hclog.Logger) *Tokens {
	if validity <= 0 {
		validity = 365 * 24 * time.Hour
	}
	if grace < 0 {
		grace = 0
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Tokens{store: store, validity: validity, grace: grace, now: time.Now, log: log.Named("tokens"), cache: map[string]cachedTokens{}, marked: map[string]bool{}}
}

// HashToken is the at-rest form of a token: "sha256:" + hex digest. A fast
// hash is right here: tokens carry 256 random bits, not a password.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// newToken returns a fresh token of 256 random bits and a short public id.
func newToken() (token, id string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("bridge: token: %w", err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	var idb [6]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", "", fmt.Errorf("bridge: token id: %w", err)
	}
	return token, hex.EncodeToString(idb[:]), nil
}

// Generate creates and stores a new token for tenant, leaving existing
// tokens as they are, and returns the token (shown once, never stored).
func (t *Tokens) Generate(ctx context.Context, tenant string) (string, state.Token, error) {
	token, id, err := newToken()
	if err != nil {
		return "", state.Token{}, err
	}
	now := t.now().UTC().Truncate(time.Second)
	rec := state.Token{Tenant: tenant, ID: id, Hash: HashToken(token), CreatedAt: now, ExpiresAt: now.Add(t.validity)}
	if err := t.store.PutToken(ctx, rec); err != nil {
		return "", state.Token{}, fmt.Errorf("bridge: store token: %w", err)
	}
	t.forget(tenant)
	return token, rec, nil
}

// Regenerate replaces the tenant's tokens with a new one. The old ones keep
// working for the grace period, so Entra can be updated without failed
// cycles; tokens already expiring sooner keep their earlier expiry.
func (t *Tokens) Regenerate(ctx context.Context, tenant string) (string, state.Token, error) {
	old, err := t.store.Tokens(ctx, tenant)
	if err != nil {
		return "", state.Token{}, fmt.Errorf("bridge: list tokens: %w", err)
	}
	token, rec, err := t.Generate(ctx, tenant)
	if err != nil {
		return "", state.Token{}, err
	}
	until := rec.CreatedAt.Add(t.grace)
	for _, o := range old {
		if o.ExpiresAt.After(until) {
			o.ExpiresAt = until
			if err := t.store.PutToken(ctx, o); err != nil {
				return "", state.Token{}, fmt.Errorf("bridge: shorten old token: %w", err)
			}
		}
	}
	t.forget(tenant)
	return token, rec, nil
}

// List returns the tenant's tokens, expired ones included.
func (t *Tokens) List(ctx context.Context, tenant string) ([]state.Token, error) {
	return t.store.Tokens(ctx, tenant)
}

func (t *Tokens) forget(tenant string) {
	t.mu.Lock()
	delete(t.cache, tenant)
	t.mu.Unlock()
}

// tenantTokens returns the tenant's tokens from a short-lived cache. If the
// store is down, the last known tokens are used, however old.
func (t *Tokens) tenantTokens(ctx context.Context, tenant string) ([]state.Token, error) {
	t.mu.Lock()
	c, ok := t.cache[tenant]
	t.mu.Unlock()
	if ok && t.now().Sub(c.fetched) < tokenCacheTTL {
		return c.tokens, nil
	}
	toks, err := t.store.Tokens(ctx, tenant)
	if err != nil {
		if ok {
			t.log.Warn("state store unreachable; using the last known tokens", "tenant", tenant, "error", err)
			return c.tokens, nil
		}
		return nil, err
	}
	t.mu.Lock()
	t.cache[tenant] = cachedTokens{tokens: toks, fetched: t.now()}
	t.mu.Unlock()
	return toks, nil
}

// Authenticate checks a presented token for tenant. Errors are *scim.Error
// 401 (never saying which part was wrong beyond "expired"), or 503 when the
// tokens cannot be read at all: a 401 would make Entra quarantine the job.
func (t *Tokens) Authenticate(ctx context.Context, tenant, token string) error {
	toks, err := t.tenantTokens(ctx, tenant)
	if err != nil {
		t.log.Error("cannot read tokens", "tenant", tenant, "error", err)
		return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter, Detail: "the token store is unavailable; retry later"}
	}
	presented := []byte(HashToken(token))
	var match *state.Token
	for i := range toks {
		// Compare against every hash, without stopping at a match.
		if subtle.ConstantTimeCompare(presented, []byte(toks[i].Hash)) == 1 {
			match = &toks[i]
		}
	}
	if match == nil || !strings.HasPrefix(token, TokenPrefix) {
		return scim.Errorf(http.StatusUnauthorized, "", "the bearer token is not valid for this tenant")
	}
	if !t.now().Before(match.ExpiresAt) {
		return scim.Errorf(http.StatusUnauthorized, "",
			"the bearer token expired on %s; generate a new one with `scimbridge token regenerate` and update the Secret Token in Entra",
			match.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if match.FirstUsedAt.IsZero() {
		t.markUsed(ctx, tenant, match.ID)
	}
	return nil
}

// markUsed records a token's first use, once per token and process: the
// console shows it so an operator knows Entra has switched to a
// regenerated token. Best effort: a state store that cannot record it
// must not refuse the request.
func (t *Tokens) markUsed(ctx context.Context, tenant, id string) {
	t.mu.Lock()
	if t.marked[tenant+"/"+id] {
		t.mu.Unlock()
		return
	}
	t.marked[tenant+"/"+id] = true
	t.mu.Unlock()
	if err := t.store.MarkTokenUsed(ctx, tenant, id, t.now().UTC()); err != nil {
		t.log.Warn("cannot record a token's first use", "tenant", tenant, "token_id", id, "error", err)
		t.mu.Lock()
		delete(t.marked, tenant+"/"+id)
		t.mu.Unlock()
	}
}

// Expiry reports the tenant's latest token expiry: the moment Entra loses
// access unless the token is regenerated. ok is false if it has no token.
func (t *Tokens) Expiry(ctx context.Context, tenant string) (time.Time, bool, error) {
	toks, err := t.tenantTokens(ctx, tenant)
	if err != nil {
		return time.Time{}, false, err
	}
	var latest time.Time
	for _, tk := range toks {
		if tk.ExpiresAt.After(latest) {
			latest = tk.ExpiresAt
		}
	}
	return latest, !latest.IsZero(), nil
}

// ExpiryWarning returns the warning threshold (30, 14 or 7 days) that the
// given remaining validity has crossed, or 0 if none.
func ExpiryWarning(remaining time.Duration) time.Duration {
	var crossed time.Duration
	for _, w := range ExpiryWarnings {
		if remaining <= w {
			crossed = w
		}
	}
	return crossed
}

// EnsureToken generates a first token for a tenant that has none and
// returns it; created is false (and token empty) when one already exists.
func (t *Tokens) EnsureToken(ctx context.Context, tenant string) (token string, created bool, err error) {
	toks, err := t.store.Tokens(ctx, tenant)
	if err != nil {
		return "", false, err
	}
	if len(toks) > 0 {
		return "", false, nil
	}
	token, _, err = t.Generate(ctx, tenant)
	return token, err == nil, err
}
