// Package backends owns the neutral vocabulary every directory backend speaks:
// records, changes, queries, the Backend interface and its sentinel errors.
// It imports no other project package, so the mapping and every backend can
// depend on it without depending on each other.
package backends

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Kind names a resource type on the backend side.
type Kind string

// The two kinds Entra provisions.
const (
	User  Kind = "User"
	Group Kind = "Group"
)

// Reserved attribute names. They start with '$' so they can never collide
// with an LDAP attribute type or an SQL identifier.
const (
	// AttrID addresses the backend's own stable identifier (entryUUID,
	// objectGUID, primary key) in a Query; it is never written.
	AttrID = "$id"
	// AttrMembers holds a group's member ids (SCIM ids of users or groups),
	// in Record.Attrs and in Changes and Queries.
	AttrMembers = "$members"
)

// Record is the backend-neutral form of one directory object.
type Record struct {
	Kind Kind
	// ID is the backend's own stable identifier; it becomes the SCIM id.
	ID string
	// Attrs maps target attribute (or column) names to their values. A
	// single-valued attribute has at most one value; an absent key means no
	// value. Attrs[AttrMembers] is present only when members were read.
	Attrs map[string][]string
	// Created and Modified are zero when the backend does not track them.
	Created, Modified time.Time
	// Handle is what the backend's Get leaves on the record for a Modify
	// of it. Whoever holds the record passes it back untouched; a record
	// without one (built from an id, or found by Find) is looked up by ID.
	Handle Handle
}

// Handle is a backend's own note on a record it read (for LDAP, the
// entry's DN and the few attributes a Modify plans from), opaque to
// everyone else: Modify of the record it came with can skip looking the
// record up again. A backend checks what it took from a handle against
// the target as it writes, so an old handle costs a lookup, never a wrong
// write.
type Handle struct{ v any }

// NewHandle wraps a backend's note v.
func NewHandle(v any) Handle { return Handle{v} }

// Value returns the note NewHandle wrapped, nil for the zero Handle.
func (h Handle) Value() any { return h.v }

// ChangeOp says what a Change does to an attribute.
type ChangeOp int

// Change operations, the same three for LDAP Modify and SQL UPDATE.
const (
	// Replace sets the attribute to Values; no Values clears it.
	Replace ChangeOp = iota + 1
	// Add adds Values to a multi-valued attribute; present values are kept
	// and adding a present value is not an error.
	Add
	// Remove removes Values; no Values removes every value. Removing an
	// absent value is not an error.
	Remove
)

// String names the operation for logs and test failures.
func (o ChangeOp) String() string {
	switch o {
	case Replace:
		return "replace"
	case Add:
		return "add"
	case Remove:
		return "remove"
	}
	return "unknown"
}

// Change is one declarative modification of one attribute.
type Change struct {
	Op     ChangeOp
	Attr   string
	Values []string
}

// ParseBool reads a boolean as a target value carries it: true/false,
// 1/0, yes/no, on/off, in any case (LDAP's booleans are TRUE/FALSE). ok is
// false for anything else, which is left out rather than guessed. The
// mapping reads stored booleans with it, and a backend the values the
// mapping writes (the LDAP active flag), so both agree on what a boolean is.
func ParseBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, true
	case "false", "0", "no", "off":
		return false, true
	}
	return false, false
}

// Query selects records of one kind.
type Query struct {
	Kind   Kind
	Filter Expr // nil selects every record of Kind
	Offset int  // 0-based index of the first record returned
	Limit  int  // at most this many records; 0 returns none (count only)
	Read
}

// Read says how Get and Find read.
type Read struct {
	// Members asks the backend to read group members into Attrs[AttrMembers].
	// Entra sends excludedAttributes=members, so reading them is opt-in.
	Members bool
	// ForWrite says the read is part of a write (the current record of a
	// read-modify-write, a create's lookups of its natural keys): a
	// backend that keeps capacity for plain reads apart serves it with the
	// write's, so that queries never wait behind writes.
	ForWrite bool
}

// Backend is implemented by every directory backend. Every method honours
// ctx. Errors wrap one of the sentinels below so the bridge can classify
// them with errors.Is.
type Backend interface {
	// Create adds a record and returns it as stored, with its new ID. A
	// unique attribute that is already taken gives ErrConflict.
	Create(ctx context.Context, kind Kind, attrs map[string][]string) (Record, error)
	// Get reads one record by ID, with the Handle (if any) the backend
	// wants back in a Modify of it. An unknown ID gives ErrNotFound.
	Get(ctx context.Context, kind Kind, id string, r Read) (Record, error)
	// Find returns the records selected by q, in a stable order, and the
	// total number that match ignoring Offset and Limit.
	Find(ctx context.Context, q Query) (recs []Record, total int, err error)
	// Modify applies changes atomically, in order, to the record cur
	// names (its Kind and ID), using cur's Handle when it has one. An
	// unknown ID gives ErrNotFound.
	Modify(ctx context.Context, cur Record, changes []Change) error
	// Delete removes the record (and its memberships). An unknown ID gives
	// ErrNotFound.
	Delete(ctx context.Context, kind Kind, id string) error
	Close() error
}

// RecordChanges are the changes of one record in a ModifyBatch.
type RecordChanges struct {
	ID      string
	Changes []Change
}

// BatchModifier is implemented by backends that can apply the changes of
// many records in one transaction (the SQL store), for bulk writes such as
// the badge-card import: one commit per batch instead of one per record.
type BatchModifier interface {
	// ModifyBatch applies each record's changes as Modify would, all in
	// one transaction. A record whose changes fail (ErrNotFound, a
	// ConflictError from a unique index, an InvalidError) is left as it
	// was and its error is errs[i]; the others are committed together,
	// unless dryRun, when the transaction is rolled back so that the
	// store decided every change and kept none. err is set when the batch
	// as a whole failed (the target is unavailable, ctx ended): then
	// nothing of it was kept.
	ModifyBatch(ctx context.Context, kind Kind, batch []RecordChanges, dryRun bool) (errs []error, err error)
}

// Pinger is implemented by backends that can check their connection.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Schema is what the compiled mapping tells a backend about the data it
// will store: where each kind lives and the attributes it writes. Backends
// receive it when they are opened and check it before any I/O.
type Schema struct {
	Users  KindSchema
	Groups KindSchema
}

// Kind returns the schema of kind k.
func (s Schema) Kind(k Kind) KindSchema {
	if k == Group {
		return s.Groups
	}
	return s.Users
}

// KindSchema describes one kind.
type KindSchema struct {
	// Layout is the backend-specific "target" block of the mapping: for
	// example table and key column (SQL), or base DN, RDN attribute and
	// object classes (LDAP). The backend decodes and validates it.
	Layout map[string]any
	// Attrs lists every attribute the mapping reads or writes.
	Attrs []AttrSchema
}

// Attr returns the schema of the named attribute.
func (k KindSchema) Attr(name string) (AttrSchema, bool) {
	for _, a := range k.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return AttrSchema{}, false
}

// AttrSchema describes one target attribute.
type AttrSchema struct {
	Name  string
	Multi bool
	// Unique marks a natural key (externalId, userName, group displayName):
	// the backend keeps it unique, comparing case-insensitively.
	Unique bool
	// Ref is set when values are ids of records of that kind (manager);
	// a backend that stores references differently (LDAP DNs) converts them.
	Ref Kind
}

// Config is the backend block of a tenant in bridge.yaml, as decoded:
// the backend decodes Config into its own type.
type Config map[string]any

// Driver opens one kind of backend. Validate checks the configuration and
// schema without any I/O (for `scimbridge mapping check`); Open may dial.
type Driver interface {
	Validate(cfg Config, schema Schema) error
	Open(ctx context.Context, cfg Config, schema Schema, log hclog.Logger) (Backend, error)
}

// Registry maps a backend type name ("pharos", "ldap") to its driver.
// It is built in main, the only place implementations meet.
type Registry map[string]Driver

// Sentinel errors. Backends wrap them with %w, keeping the cause.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("already exists")
	ErrInvalid     = errors.New("rejected by the target")
	ErrUnsupported = errors.New("not supported by the target")
	// ErrUnavailable is transient: the bridge retries it and may queue it.
	ErrUnavailable = errors.New("target unavailable")
	// ErrBusy is an ErrUnavailable of the bridge's own making: the
	// backend's cap on operations in flight is reached, the directory may
	// be fine. Operators are told which, since the fixes differ.
	ErrBusy = fmt.Errorf("%w: too many operations in flight", ErrUnavailable)
)

// InvalidError is an ErrInvalid that names the attribute the target
// rejected, so the SCIM answer can say which one.
type InvalidError struct {
	Attr   string
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Attr == "" {
		return "rejected by the target: " + e.Reason
	}
	return "rejected by the target: attribute " + e.Attr + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// ConflictError is an ErrConflict that names the unique attribute and the
// ID of the record holding the value, when the backend knows it.
type ConflictError struct {
	Attr string
	ID   string
}

func (e *ConflictError) Error() string {
	return "already exists: attribute " + e.Attr + " is taken"
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// ReadOnlyDriver is a Driver that can open a backend which writes nothing,
// not even at open: no database file, schema or table is created whatever
// the configuration says (`scimbridge mapping test`, a dry run, uses it).
// The backend it returns refuses every write with ErrUnsupported.
type ReadOnlyDriver interface {
	Driver
	OpenReadOnly(ctx context.Context, cfg Config, schema Schema, log hclog.Logger) (Backend, error)
}

// ReadOnly wraps b so that Create, Modify and Delete fail with
// ErrUnsupported before reaching the target: a dry run that calls one by
// mistake fails instead of writing.
func ReadOnly(b Backend) Backend { return readOnly{b} }

type readOnly struct{ Backend }

var errReadOnly = fmt.Errorf("%w: this backend was opened read-only (a dry run writes nothing)", ErrUnsupported)

func (readOnly) Create(context.Context, Kind, map[string][]string) (Record, error) {
	return Record{}, errReadOnly
}

func (readOnly) Modify(context.Context, Record, []Change) error { return errReadOnly }

func (readOnly) Delete(context.Context, Kind, string) error { return errReadOnly }

// Rebinder is a Backend that can serve a changed mapping (another Schema)
// over its own connections, so that a reload whose mapping stores other
// attributes keeps the connection pool. The backend returned shares the
// connections; each backend is closed on its own, and the connections
// close with the last one.
type Rebinder interface {
	WithSchema(ctx context.Context, schema Schema) (Backend, error)
}
