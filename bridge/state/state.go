// Package state owns what the bridge remembers between requests and across
// replicas: token hashes, OAuth clients, signing keys, idempotency records, resource versions,
// per-resource locks and the durable retry queue. Implementations live in
// subpackages (sqlitestate for a single node, redisstate for many) and are
// held to one contract suite, statetest. It imports no other project package.
package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Token is one Secret Token of a tenant. Only its hash is stored.
type Token struct {
	Tenant string
	// ID is a short public identifier (shown by `token list`), never secret.
	ID string
	// Hash is "sha256:" followed by the hex SHA-256 of the token.
	Hash      string
	CreatedAt time.Time
	// ExpiresAt is when the token stops working: one year after creation,
	// or the end of the grace period once it has been replaced.
	ExpiresAt time.Time
	// FirstUsedAt is when a client first authenticated with the token
	// (MarkTokenUsed); zero while it has never been used. It tells an
	// operator that Entra has switched to a regenerated token.
	FirstUsedAt time.Time
}

// Tokens stores token hashes per tenant. Times are kept to the millisecond.
type Tokens interface {
	// PutToken stores t, replacing a token with the same Tenant and ID.
	PutToken(ctx context.Context, t Token) error
	// Tokens lists the tenant's tokens, expired ones included, oldest first.
	Tokens(ctx context.Context, tenant string) ([]Token, error)
	// DeleteToken removes one token; an unknown one gives ErrNotFound.
	DeleteToken(ctx context.Context, tenant, id string) error
	// MarkTokenUsed sets the token's FirstUsedAt to at unless it is set
	// already, changing nothing else (a concurrent PutToken that shortens
	// the expiry is never undone). An unknown token is ignored.
	MarkTokenUsed(ctx context.Context, tenant, id string, at time.Time) error
}

// AuditRecord is one write applied to a target: what operators read to
// answer "did Entra's change to alice arrive, and when?". It names
// attributes, never values.
type AuditRecord struct {
	Time   time.Time
	Tenant string
	// Op is create, create-existing, restore, modify, deprovision or delete.
	Op string
	// Kind is User or Group; ID the resource's SCIM id.
	Kind, ID string
	// Name is the resource's userName (a group's displayName) when known.
	Name string
	// Attrs are the target attributes written.
	Attrs []string
	// Outcome is "applied", or "applied from the retry queue".
	Outcome string
	// RequestID is the SCIM request's id ("" for the retry worker).
	RequestID string
}

// AuditLimit is how many audit records a store keeps per tenant: the
// newest, older ones are removed as new ones arrive.
const AuditLimit = 10000

// Audit keeps the most recent applied writes per tenant, at most
// AuditLimit of them.
type Audit interface {
	// AppendAudit stores r (r.Tenant is required).
	AppendAudit(ctx context.Context, r AuditRecord) error
	// AuditRecords returns the tenant's newest records first, at most limit,
	// only those whose Name or ID contains user (case-insensitively) when
	// user is not empty.
	AuditRecords(ctx context.Context, tenant, user string, limit int) ([]AuditRecord, error)
}

// CheckAuditRecord is what AppendAudit requires (see CheckNewJob).
func CheckAuditRecord(r AuditRecord) error {
	if r.Tenant == "" || r.Op == "" || r.Time.IsZero() {
		return errors.New("tenant, op and time are required")
	}
	return nil
}

// CheckAuditQuery is what AuditRecords requires (see CheckNewJob).
func CheckAuditQuery(tenant string, limit int) error {
	if tenant == "" {
		return errors.New("tenant is required")
	}
	if limit <= 0 {
		return fmt.Errorf("limit %d is not positive", limit)
	}
	return nil
}

// Answer is an HTTP answer stored for an idempotent replay.
type Answer struct {
	Status int
	Body   []byte
	// Location is the resource's id, for answers to a create.
	ResourceID string
	// Version is the resource's version right after the write that
	// produced this answer (see Versions).
	Version int64
}

// Idempotency stores answers by request fingerprint for a window.
type Idempotency interface {
	// Answer returns the stored answer for key, or ErrNotFound.
	Answer(ctx context.Context, key string) (Answer, error)
	// PutAnswer stores a for key for ttl.
	PutAnswer(ctx context.Context, key string, a Answer, ttl time.Duration) error
}

// Versions counts the writes applied to each resource, so that a stored
// answer is replayed only while the resource is unchanged since.
type Versions interface {
	// Version returns the resource's current version (0 if never written).
	Version(ctx context.Context, resource string) (int64, error)
	// BumpVersion increments the version and returns the new value.
	BumpVersion(ctx context.Context, resource string) (int64, error)
}

// Locks are leases on resource keys: one holder at a time, across
// goroutines and processes, expiring by themselves if the holder dies.
type Locks interface {
	// TryLock takes the lock on key for owner for lease, and reports whether
	// it got it. It fails (false, nil) while another owner holds an
	// unexpired lease. Taking a lock already held by owner renews it.
	TryLock(ctx context.Context, key, owner string, lease time.Duration) (bool, error)
	// Unlock releases the lock if owner still holds it; otherwise it does
	// nothing (a lease that expired and was taken by another stays theirs).
	Unlock(ctx context.Context, key, owner string) error
}

// Writes bundles the state calls around one write, so that a store a
// network hop away answers each bundle in as few round trips as it can
// (redisstate pipelines them; the write pipeline then costs at most three:
// one to begin, two to end). Each bundle means exactly the primitive calls
// it lists, made by the same owner.
type Writes interface {
	// BeginWrite takes the lock on every key of b.Locks for b.Owner for
	// b.Lease (TryLock of each), all or none: if another owner holds one,
	// it releases those it took and answers Locked false. With the locks
	// taken it reads the answer stored under b.Answer (Answer, when set)
	// and the number of live jobs of b.Resource in b.Tenant's queue
	// (Pending, when set).
	BeginWrite(ctx context.Context, b WriteBegin) (WriteStart, error)
	// EndWrite records a write and releases its locks: when e.Key is set it
	// bumps e.Version's version (BumpVersion) and stores e.Answer with that
	// version under e.Key for e.TTL (PutAnswer); then it unlocks every key
	// of e.Locks that e.Owner holds (Unlock).
	EndWrite(ctx context.Context, e WriteEnd) error
}

// WriteBegin is what BeginWrite takes and reads.
type WriteBegin struct {
	Owner string
	Locks []string
	Lease time.Duration
	// Answer is the fingerprint whose stored answer to read ("" reads none).
	Answer string
	// Tenant and Resource name the queue backlog to count ("" counts none).
	Tenant, Resource string
}

// WriteStart is what BeginWrite found.
type WriteStart struct {
	// Locked is false when another owner holds one of the locks: then no
	// lock is held and nothing was read.
	Locked bool
	// Answer is the stored answer, nil if there is none (or it expired).
	Answer *Answer
	// Pending is the number of live (pending or leased) jobs of the
	// resource.
	Pending int
}

// WriteEnd is what EndWrite records and releases.
type WriteEnd struct {
	Owner string
	Locks []string
	// Key is the fingerprint to store Answer under ("" records nothing);
	// Version is the resource whose version the write bumps (required with
	// Key). Answer.Version is set by EndWrite.
	Key, Version string
	Answer       Answer
	TTL          time.Duration
}

// CheckWriteBegin is what BeginWrite requires of its argument (see
// CheckNewJob).
func CheckWriteBegin(b WriteBegin) error {
	if b.Owner == "" || len(b.Locks) == 0 {
		return errors.New("owner and locks are required")
	}
	if b.Lease <= 0 {
		return fmt.Errorf("lease %s is not positive", b.Lease)
	}
	return nil
}

// CheckWriteEnd is what EndWrite requires of its argument (see
// CheckNewJob).
func CheckWriteEnd(e WriteEnd) error {
	if e.Owner == "" {
		return errors.New("owner is required")
	}
	if e.Key != "" && (e.Version == "" || e.TTL <= 0) {
		return fmt.Errorf("an answer needs a version and a positive ttl (%s)", e.TTL)
	}
	return nil
}

// Store is everything a state store provides. Calls on a closed store fail
// with ErrUnavailable.
type Store interface {
	Tokens
	Clients
	SigningKeys
	Idempotency
	Versions
	Locks
	Writes
	Queue
	Audit
	Ping(ctx context.Context) error
	Close() error
}

// Sweeper is implemented by stores that do not remove expired idempotency
// records and locks by themselves (sqlitestate); the bridge calls Sweep
// periodically. Expired entries are never returned either way: Sweep only
// reclaims space. Redis expires keys natively and needs none.
type Sweeper interface {
	// Sweep deletes expired entries and returns how many it removed.
	Sweep(ctx context.Context) (removed int64, err error)
}

// Sentinel errors.
var (
	ErrNotFound = errors.New("state: not found")
	// ErrConflict means a queue job is not in a state that allows the call:
	// Ack, Retry or Bury by an owner whose lease is gone (it expired and
	// another worker leased the job, or an operator requeued it), or Requeue
	// of a job a worker holds.
	ErrConflict = errors.New("state: conflict")
	// ErrUnavailable means the store could not be reached; the bridge keeps
	// serving without it where it can.
	ErrUnavailable = errors.New("state: store unavailable")
)
