package state

import (
	"context"
	"errors"
	"time"
)

// Client is an OAuth 2.0 client of a tenant (the client credentials grant,
// RFC 6749 §4.4). Only its secrets' hashes are stored.
type Client struct {
	Tenant string
	// ID is the client_id, public.
	ID string
	// Name says what the client is for (shown by `client list`).
	Name      string
	CreatedAt time.Time
	// Secrets are the client's secrets, oldest first. Several are valid at
	// once so that one can be rotated without a failed provisioning cycle.
	Secrets []ClientSecret
}

// ClientSecret is one secret of a client.
type ClientSecret struct {
	// ID is a short public identifier, never secret.
	ID string
	// Hash is "sha256:" followed by the hex SHA-256 of the secret.
	Hash      string
	CreatedAt time.Time
	// ExpiresAt is when the secret stops yielding tokens.
	ExpiresAt time.Time
}

// Clients stores OAuth clients per tenant. Times are kept to the
// millisecond.
type Clients interface {
	// PutClient stores c with its secrets, replacing the tenant's client
	// with the same ID (and all of its secrets).
	PutClient(ctx context.Context, c Client) error
	// Client returns one client, or ErrNotFound.
	Client(ctx context.Context, tenant, id string) (Client, error)
	// Clients lists the tenant's clients, oldest first (ties by ID).
	Clients(ctx context.Context, tenant string) ([]Client, error)
	// DeleteClient removes a client; an unknown one gives ErrNotFound.
	DeleteClient(ctx context.Context, tenant, id string) error
}

// SigningKey is a key the bridge signs its own access tokens with. Every
// replica reads the same keys, so a token issued by one is accepted by all.
type SigningKey struct {
	// ID is the JWT "kid".
	ID     string
	Secret []byte
	// CreatedAt is when the key started signing; ExpiresAt is when it stops
	// verifying (after the last token it signed has expired).
	CreatedAt, ExpiresAt time.Time
}

// SigningKeys stores the bridge's token signing keys (one set for every
// tenant: the tokens' own claims name their tenant).
type SigningKeys interface {
	// AddSigningKey stores k; a key with the same ID gives ErrConflict and
	// leaves the stored one as it was, so that replicas rotating at the
	// same moment agree on one key.
	AddSigningKey(ctx context.Context, k SigningKey) error
	// SigningKeys lists every key, expired ones included, oldest first
	// (ties by ID).
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteSigningKey removes a key; an unknown one gives ErrNotFound.
	DeleteSigningKey(ctx context.Context, id string) error
}

// CheckClient is what PutClient requires of its argument.
func CheckClient(c Client) error {
	if c.Tenant == "" || c.ID == "" {
		return errors.New("tenant and id are required")
	}
	for _, s := range c.Secrets {
		if s.ID == "" || s.Hash == "" {
			return errors.New("every secret needs an id and a hash")
		}
	}
	return nil
}

// CheckSigningKey is what AddSigningKey requires of its argument.
func CheckSigningKey(k SigningKey) error {
	if k.ID == "" || len(k.Secret) == 0 {
		return errors.New("id and secret are required")
	}
	return nil
}
