package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// Access token lifetimes a tenant may configure (RFC 6749 expires_in).
const (
	MinAccessTokenLifetime     = time.Hour
	MaxAccessTokenLifetime     = 6 * time.Hour
	DefaultAccessTokenLifetime = time.Hour
)

// Signing key rotation: a key signs for keyPeriod, then verifies until the
// last token it signed has expired.
const (
	keyPeriod = 24 * time.Hour
	keyRetain = keyPeriod + MaxAccessTokenLifetime + clockLeeway
	// keyRefreshEvery bounds how often an unknown kid makes the issuer
	// read the keys again: a forged kid costs at most this.
	keyRefreshEvery = time.Second
)

// clockLeeway is the clock difference tolerated on exp, nbf and iat.
const clockLeeway = time.Minute

// errStoreDown means the state store could not be read and nothing cached
// decides the question: the caller answers 503, never 401.
var errStoreDown = errors.New("the state store is unavailable")

// issuer signs and verifies the bridge's own access tokens with HS256 keys
// shared by every replica through the state store. Only replicas verify
// them, so a symmetric key is enough; its ID is derived from the rotation
// period, so that replicas rotating at once agree on one key (the first
// stored wins, state.SigningKeys).
type issuer struct {
	store state.SigningKeys
	now   func() time.Time

	mu        sync.Mutex
	keys      map[string]state.SigningKey
	refreshed time.Time
}

func newIssuer(store state.SigningKeys) *issuer {
	return &issuer{store: store, now: time.Now, keys: map[string]state.SigningKey{}}
}

// accessClaims are the claims of an access token: iss and aud name the
// tenant (its token endpoint and its SCIM base), sub the client, sid the
// secret that obtained it ("" for a federated identity).
type accessClaims struct {
	jwt.RegisteredClaims
	SecretID string `json:"sid,omitempty"`
}

// periodKeyID names the key of the period containing t.
func periodKeyID(t time.Time) string {
	return "k" + strconv.FormatInt(t.Unix()/int64(keyPeriod/time.Second), 10)
}

// reload reads every key from the store into the cache, dropping expired
// ones (and deleting them from the store, best effort).
func (is *issuer) reload(ctx context.Context) error {
	ks, err := is.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	now := is.now()
	fresh := map[string]state.SigningKey{}
	for _, k := range ks {
		if !now.Before(k.ExpiresAt) {
			_ = is.store.DeleteSigningKey(ctx, k.ID)
			continue
		}
		fresh[k.ID] = k
	}
	is.mu.Lock()
	is.keys, is.refreshed = fresh, now
	is.mu.Unlock()
	return nil
}

func (is *issuer) cached(id string) (state.SigningKey, bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	k, ok := is.keys[id]
	return k, ok
}

// signingKey returns the current period's key, creating it if no replica
// has yet.
func (is *issuer) signingKey(ctx context.Context) (state.SigningKey, error) {
	now := is.now()
	id := periodKeyID(now)
	if k, ok := is.cached(id); ok {
		return k, nil
	}
	if err := is.reload(ctx); err != nil {
		return state.SigningKey{}, fmt.Errorf("%w: %w", errStoreDown, err)
	}
	if k, ok := is.cached(id); ok {
		return k, nil
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return state.SigningKey{}, err
	}
	start := time.Unix(now.Unix()/int64(keyPeriod/time.Second)*int64(keyPeriod/time.Second), 0).UTC()
	k := state.SigningKey{ID: id, Secret: secret, CreatedAt: start, ExpiresAt: start.Add(keyRetain)}
	err := is.store.AddSigningKey(ctx, k)
	if err != nil && !errors.Is(err, state.ErrConflict) {
		return state.SigningKey{}, fmt.Errorf("%w: %w", errStoreDown, err)
	}
	// Another replica's key may have won: use what the store holds.
	if err := is.reload(ctx); err != nil {
		return state.SigningKey{}, fmt.Errorf("%w: %w", errStoreDown, err)
	}
	if k, ok := is.cached(id); ok {
		return k, nil
	}
	return state.SigningKey{}, fmt.Errorf("auth: signing key %s vanished from the store", id)
}

// issue signs an access token for subject at tenant.
func (is *issuer) issue(ctx context.Context, iss, aud, subject, secretID string, lifetime time.Duration) (string, error) {
	k, err := is.signingKey(ctx)
	if err != nil {
		return "", err
	}
	now := is.now()
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    iss,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{aud},
			ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        fmt.Sprintf("%x", jti),
		},
		SecretID: secretID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = k.ID
	return t.SignedString(k.Secret)
}

// verify checks an access token's signature and times, and that it was
// issued by iss for aud. A token whose kid is not cached makes the issuer
// read the keys again, at most every keyRefreshEvery.
func (is *issuer) verify(ctx context.Context, token, iss, aud string) (*accessClaims, error) {
	var storeErr error
	claims := &accessClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("the token names no key (kid)")
		}
		if k, ok := is.cached(kid); ok {
			return k.Secret, nil
		}
		is.mu.Lock()
		due := is.now().Sub(is.refreshed) >= keyRefreshEvery
		is.mu.Unlock()
		if due {
			if err := is.reload(ctx); err != nil {
				storeErr = err
				return nil, err
			}
			if k, ok := is.cached(kid); ok {
				return k.Secret, nil
			}
		}
		return nil, fmt.Errorf("unknown signing key %q", kid)
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(iss), jwt.WithAudience(aud),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(clockLeeway),
		jwt.WithTimeFunc(is.now))
	if storeErr != nil {
		return nil, fmt.Errorf("%w: %w", errStoreDown, storeErr)
	}
	if err != nil {
		return nil, err
	}
	return claims, nil
}
