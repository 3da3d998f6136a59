// Package scim owns the SCIM 2.0 protocol as Microsoft Entra ID speaks it:
// resource JSON, ListResponse, Error, filter and PATCH parsing, and the
// normalisation of Entra's quirks into one canonical form (quirks.go, each
// quirk next to the fixture that proves it). It imports no other project
// package.
package scim

import (
	"encoding/json"
	"strconv"
	"time"
)

// Schema URNs (RFC 7643, RFC 7644).
const (
	SchemaUser         = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterprise   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaError        = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// ContentType is the media type of every answer.
const ContentType = "application/scim+json"

// Kind is a SCIM resource type.
type Kind string

// The resource types served.
const (
	User  Kind = "User"
	Group Kind = "Group"
)

// Resource is one SCIM resource in canonical form: JSON-shaped values
// (map[string]any, []any, string, bool, json.Number), attribute names in
// their schema's casing, enterprise extension attributes under the
// SchemaEnterprise key, nulls removed, boolean strings coerced for boolean
// attributes, and manager as {"value": id}. Decode and Normalize produce it.
type Resource map[string]any

// Path addresses an attribute: `userName`, `name.givenName`,
// `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:manager`.
// Known attribute names are in their schema's casing; the core schema's URN
// prefix is dropped, an extension's is kept in URN.
type Path struct {
	URN    string // extension schema URN, "" for the core schema
	Attr   string
	Filter Filter // the value filter in brackets, nil if none
	Sub    string // sub-attribute, "" if none
}

// Filter is a parsed SCIM filter (RFC 7644 §3.4.2.2).
type Filter interface{ isFilter() }

// Compare is `path op value`. Op is lower-case ("eq", "ne", "co", "sw",
// "ew", "gt", "ge", "lt", "le", "pr"). Value is a string (unescaped), bool,
// json.Number or nil (for pr and `eq null`).
type Compare struct {
	Path  Path
	Op    string
	Value any
}

// Logical is `left and right` or `left or right`; Op is "and" or "or".
type Logical struct {
	Op          string
	Left, Right Filter
}

// Not is `not (filter)`.
type Not struct{ Filter Filter }

func (Compare) isFilter() {}
func (Logical) isFilter() {}
func (Not) isFilter()     {}

// PatchOp is one normalised PATCH operation: Op is "add", "replace" or
// "remove"; Path is nil for a path-less add or replace, whose Value is then
// an object keyed by attribute (dotted and URN keys already expanded).
type PatchOp struct {
	Op    string
	Path  *Path
	Value any
}

// MemberChange is a change of a group's members, split out of a PATCH so
// that a group's member list never has to be read to change it. Op is
// "add", "remove" or "replace"; "remove" with no IDs removes every member.
type MemberChange struct {
	Op  string
	IDs []string
}

// ListParams are the query parameters of a list request.
type ListParams struct {
	Filter     Filter // nil lists everything
	StartIndex int    // 1-based
	Count      int
	// Attributes and ExcludedAttributes project the answer (RFC 7644
	// §3.4.2.5); ExcludedAttributes=members also means members are not read.
	Attributes         []Path
	ExcludedAttributes []Path
}

// ListResponse is the answer to a list request. Resources is never nil:
// Entra rejects `"Resources": null`.
type ListResponse struct {
	TotalResults int
	StartIndex   int
	ItemsPerPage int
	Resources    []Resource
}

// scimType values (RFC 7644 §3.12).
const (
	InvalidFilter = "invalidFilter"
	TooMany       = "tooMany"
	Uniqueness    = "uniqueness"
	Mutability    = "mutability"
	InvalidSyntax = "invalidSyntax"
	InvalidPath   = "invalidPath"
	NoTarget      = "noTarget"
	InvalidValue  = "invalidValue"
)

// Error is a SCIM error answer. Detail must be something a person can act
// on and must never carry internal errors or secrets.
type Error struct {
	Status   int
	ScimType string
	Detail   string
	// RetryAfter, when set, becomes the Retry-After header (503, 429).
	RetryAfter time.Duration
	// Err is the cause the answer was made from (a directory's error, a
	// sentinel), kept for the log, the retry queue's last error and
	// errors.Is; the client sees only Status, ScimType and Detail.
	Err error
}

func (e *Error) Error() string {
	s := "scim: " + strconv.Itoa(e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	s += ": " + e.Detail
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause, so that errors.Is and errors.As see through
// the answer to the error it was made from.
func (e *Error) Unwrap() error { return e.Err }

// MarshalJSON writes the RFC 7644 §3.12 body, status as a string.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Schemas  []string `json:"schemas"`
		Status   string   `json:"status"`
		ScimType string   `json:"scimType,omitempty"`
		Detail   string   `json:"detail,omitempty"`
	}{[]string{SchemaError}, strconv.Itoa(e.Status), e.ScimType, e.Detail})
}

// Errorf builds an *Error.
func Errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: sprintf(format, args...)}
}
