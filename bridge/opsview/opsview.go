// Package opsview is the vocabulary of the operators' surfaces: the typed
// views that the operations layer (bridge/ops) returns and that the admin
// API (bridge/httpapi), the console (bridge/console) and the CLI show, and
// the sentinels they map to HTTP statuses. It imports no project package,
// so that the HTTP layers can speak it without importing the service.
package opsview

import (
	"encoding/json"
	"errors"
	"time"
)

// Sentinels of the operations layer. Errors wrap one of them, or are a
// *scim.Error carrying the status, or are unexpected (a 500 in HTTP).
var (
	// ErrNotFound: no such job (or tenant).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the job is in a state that does not allow the call (a
	// worker holds it).
	ErrConflict = errors.New("conflict")
	// ErrDegraded marks a readiness error that still counts as ready.
	ErrDegraded = errors.New("degraded")
)

// Token statuses of TokenState.Status.
const (
	TokenValid    = "valid"
	TokenExpiring = "expiring"
	TokenExpired  = "expired"
	TokenMissing  = "missing"
	TokenUnknown  = "unknown"
)

// Status is GET /admin/status and the console's Tenants page.
type Status struct {
	Version    string     `json:"version"`
	Time       time.Time  `json:"time"`
	StateStore Health     `json:"state_store"`
	AdminToken TokenState `json:"admin_token"`
	Tenants    []Tenant   `json:"tenants"`
	// Reload is the last configuration reload, when the bridge reloads.
	Reload *Reload `json:"reload,omitempty"`
}

// Reload is the last configuration reload as /admin/status, POST
// /admin/reload and the console show it.
type Reload struct {
	Generation    int        `json:"generation"` // successful loads, the start being 1
	LoadedAt      time.Time  `json:"loaded_at"`  // when the configuration serving now was loaded
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	LastOK        bool       `json:"last_ok"`
	LastError     string     `json:"last_error,omitempty"`
	Failures      int        `json:"failures"`
	Added         []string   `json:"tenants_added,omitempty"`
	Removed       []string   `json:"tenants_removed,omitempty"`
	Changed       []string   `json:"tenants_changed,omitempty"`
	// KeptBackends are tenants whose backend connections (the pool) the
	// last reload kept.
	KeptBackends []string `json:"backends_kept,omitempty"`
	// RestartNeeded names settings that changed but apply only at start.
	RestartNeeded []string `json:"restart_needed,omitempty"`
	HookErrors    []string `json:"hook_errors,omitempty"`
}

// Tenant is one tenant as operators see it.
type Tenant struct {
	Name      string     `json:"name"`
	TenantURL string     `json:"tenant_url"`
	Backend   string     `json:"backend"`
	Target    Health     `json:"target"`
	Token     TokenState `json:"token"`
	Queue     *Queue     `json:"queue,omitempty"`
	// QueueError says why Queue is missing (the state store is down).
	QueueError string `json:"queue_error,omitempty"`
	// Traffic is what the tenant's SCIM endpoint answered in the last hour
	// (nil when the bridge does not count it, as in the CLI).
	Traffic *Traffic `json:"traffic,omitempty"`
	// LastWrite is the time of the last write applied for the tenant (from
	// the activity records), nil when none is recorded.
	LastWrite *time.Time `json:"last_write,omitempty"`
	// Credentials of other kinds (OAuth client secrets, ...) will be listed
	// here next to the Secret Token's state when the bridge has them.
}

// Health is a part's health: a target or the state store.
type Health struct {
	// Kind names the implementation: sqlite or redis for the state store.
	Kind  string `json:"kind,omitempty"`
	Up    bool   `json:"up"`
	Error string `json:"error,omitempty"`
}

// TokenState is a tenant's (or the admin) token expiry, never the token.
type TokenState struct {
	// Status is valid, expiring (a warning threshold is crossed), expired,
	// missing, or unknown (the state store cannot tell).
	Status    string     `json:"status"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	DaysLeft  *int       `json:"days_left,omitempty"`
	// WarningDays is the warning threshold crossed: 30, 14 or 7 (0: none).
	WarningDays int    `json:"warning_days,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Queue is a tenant's retry queue at a glance.
type Queue struct {
	Pending          int            `json:"pending"`
	Leased           int            `json:"leased"`
	Dead             int            `json:"dead"`
	Depth            int            `json:"depth"`
	Oldest           *time.Time     `json:"oldest,omitempty"`
	OldestAgeSeconds float64        `json:"oldest_age_seconds"`
	AttemptsByClass  map[string]int `json:"attempts_by_class"`
}

// Traffic counts a tenant's SCIM requests over a recent window.
type Traffic struct {
	Requests int `json:"requests"`
	// Errors are answers of 500 and above: what Entra counts towards
	// quarantine. Client errors (4xx) are Entra's own mistakes.
	Errors int `json:"errors"`
}

// JobFilter selects queue jobs. Empty fields select everything; State is
// "", "pending", "leased" or "dead"; Limit is at least 1.
type JobFilter struct {
	Tenant string
	State  string
	Limit  int
}

// Job is a queue job. Payload is only filled for one job (its detail),
// with credentials masked.
type Job struct {
	ID          string          `json:"id"`
	Tenant      string          `json:"tenant"`
	Resource    string          `json:"resource"`
	Op          string          `json:"op"`
	State       string          `json:"state"`
	Attempts    int             `json:"attempts"`
	CreatedAt   time.Time       `json:"created_at"`
	AgeSeconds  float64         `json:"age_seconds"`
	NotBefore   *time.Time      `json:"not_before,omitempty"`
	Owner       string          `json:"owner,omitempty"`
	LeaseUntil  *time.Time      `json:"lease_until,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	ErrorClass  string          `json:"error_class,omitempty"`
	Fingerprint string          `json:"fingerprint,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
}

// Action is the result of an operator's Retry or Drop.
type Action struct {
	ID string `json:"id"`
	// Result is "requeued" or "dropped".
	Result string `json:"result"`
	// Job is the job as it is now; nil once it is gone (dropped, or
	// applied by a worker already).
	Job *Job `json:"job,omitempty"`
	// Before is the job as it was before the action.
	Before Job `json:"-"`
}

// Credentials is a freshly issued token, shown once and never stored.
type Credentials struct {
	Tenant    string    `json:"tenant"`
	TenantURL string    `json:"tenant_url"`
	Token     string    `json:"secret_token"`
	TokenID   string    `json:"token_id"`
	ExpiresAt time.Time `json:"expires_at"`
	// PreviousValidUntil is, after a regenerate, when the tokens it
	// replaced stop working (the grace period); nil after a generate.
	PreviousValidUntil *time.Time `json:"previous_valid_until,omitempty"`
	// File is the text of the token file: what `token generate` prints
	// and the console's Download saves.
	File string `json:"-"`
}

// TokenRecord is one stored token of a tenant, never its value.
type TokenRecord struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// FirstUsedAt is when a client (Entra) first authenticated with it;
	// nil while it has never been used.
	FirstUsedAt *time.Time `json:"first_used_at,omitempty"`
	// Status is valid, expiring or expired, as TokenState.
	Status   string `json:"status"`
	DaysLeft int    `json:"days_left"`
	// Replaced is set on every token but the newest: after a regenerate
	// it works only until its (shortened) expiry, the grace period.
	Replaced bool `json:"replaced,omitempty"`
}

// ActivityFilter selects activity records: Tenant and User (a substring of
// the resource's userName, externalId or id, case-insensitive) may be
// empty; Limit is at least 1.
type ActivityFilter struct {
	Tenant string
	User   string
	Limit  int
}

// Activity is one applied write, from the audit records.
type Activity struct {
	Time      time.Time `json:"time"`
	Tenant    string    `json:"tenant"`
	Op        string    `json:"op"`
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Attrs     []string  `json:"attributes,omitempty"`
	Outcome   string    `json:"outcome"`
	RequestID string    `json:"request_id,omitempty"`
}

// MappingRow is one mapped SCIM attribute of a tenant's mapping.
type MappingRow struct {
	Kind      string `json:"kind"`
	Attribute string `json:"attribute"`
	Target    string `json:"target"`
	// Match is the attribute's match precedence (1 first), 0 when it is
	// not a match key.
	Match     int    `json:"match,omitempty"`
	Required  bool   `json:"required,omitempty"`
	Multi     bool   `json:"multi,omitempty"`
	Transform string `json:"transform,omitempty"`
}

// DryRun is what a SCIM resource would cause in the target: what
// `scimbridge mapping test` prints, one line each.
type DryRun struct {
	Lines []string `json:"lines"`
}
