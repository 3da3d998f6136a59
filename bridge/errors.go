package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// retryAfter is what a 503 tells Entra to wait. Entra retries failed
// objects on its own schedule anyway; this is for clients that honour it.
const retryAfter = 30 * time.Second

// toSCIM builds the SCIM answer Entra gets from an error of the pipeline.
// It runs once, where a result leaves the Service: below it, errors stay
// errors (backend sentinels, wrapped with their cause). Errors that are
// already *scim.Error (a request the bridge or the mapping refused) pass
// through; every answer made here keeps its cause (scim.Error.Err) for the
// log and the retry queue. Unknown errors are returned unchanged so that
// the HTTP layer answers 500 and logs them.
func (s *Service) toSCIM(kind scim.Kind, id string, err error) error {
	var se *scim.Error
	if errors.As(err, &se) {
		return se
	}
	var conflict *backends.ConflictError
	var invalid *backends.InvalidError
	switch {
	case errors.As(err, &conflict):
		se = scim.Errorf(http.StatusConflict, scim.Uniqueness,
			"%s: the value of %s is already used by another %s", kind, s.scimName(kind, conflict.Attr), lowerKind(kind))
	case errors.Is(err, backends.ErrConflict):
		se = scim.Errorf(http.StatusConflict, scim.Uniqueness,
			"%s: a unique attribute is already used by another %s", kind, lowerKind(kind))
	case errors.As(err, &invalid):
		se = scim.Errorf(http.StatusBadRequest, scim.InvalidValue,
			"the target rejected %s: %s", s.scimName(kind, invalid.Attr), invalid.Reason)
	case errors.Is(err, backends.ErrInvalid):
		se = scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "the target rejected a value of this %s", lowerKind(kind))
	case errors.Is(err, backends.ErrNotFound):
		se = notFound(kind, id)
	case errors.Is(err, backends.ErrUnsupported):
		se = scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "the target does not support this request")
	case errors.Is(err, backends.ErrBusy):
		se = &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
			Detail: "the bridge has as many operations in flight on the target directory as it allows (maxConcurrent); retry later"}
	case errors.Is(err, backends.ErrUnavailable):
		se = &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
			Detail: "the target directory is unavailable; retry later"}
	case errors.Is(err, context.DeadlineExceeded):
		se = &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
			Detail: "the target directory did not answer in time; retry later"}
	default:
		return fmt.Errorf("bridge: %s %s: %w", kind, id, err)
	}
	se.Err = err
	return se
}

// retryable reports whether err may succeed later, so that the write is
// kept in the retry queue: the target (or a lock behind a slow target)
// could not be reached in time.
func retryable(err error) bool {
	return errors.Is(err, backends.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// conflict is a 409 the bridge itself decides (a natural key held by
// another resource); it is an ErrConflict like the target's own.
func conflict(format string, args ...any) *scim.Error {
	se := scim.Errorf(http.StatusConflict, scim.Uniqueness, format, args...)
	se.Err = backends.ErrConflict
	return se
}

// errDeprovisioned is why an entry a SCIM DELETE kept is not found: it is
// gone for SCIM (RFC 7644 §3.6), whatever the directory keeps.
var errDeprovisioned = fmt.Errorf("deprovisioned by a SCIM DELETE: %w", backends.ErrNotFound)

func notFound(kind scim.Kind, id string) *scim.Error {
	se := scim.Errorf(http.StatusNotFound, "", "%s %q not found", kind, id)
	se.Err = backends.ErrNotFound
	return se
}

// scimName names a target attribute by its SCIM path for error details:
// integrators know their mapping, Entra admins know SCIM names.
func (s *Service) scimName(kind scim.Kind, attr string) string {
	if p, ok := s.mapping.SCIMPath(kind, attr); ok {
		return p
	}
	if attr == "" {
		return "an attribute"
	}
	return attr
}

func lowerKind(k scim.Kind) string {
	if k == scim.Group {
		return "group"
	}
	return "user"
}
