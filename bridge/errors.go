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

// toSCIM translates a backend error into the SCIM answer Entra gets. Errors
// that are already *scim.Error pass through; unknown errors are returned
// unchanged so that the HTTP layer answers 500 and logs them.
func (s *Service) toSCIM(kind scim.Kind, id string, err error) error {
	var se *scim.Error
	if errors.As(err, &se) {
		return se
	}
	var conflict *backends.ConflictError
	var invalid *backends.InvalidError
	switch {
	case errors.As(err, &conflict):
		return scim.Errorf(http.StatusConflict, scim.Uniqueness,
			"%s: the value of %s is already used by another %s", kind, s.scimName(kind, conflict.Attr), lowerKind(kind))
	case errors.Is(err, backends.ErrConflict):
		return scim.Errorf(http.StatusConflict, scim.Uniqueness,
			"%s: a unique attribute is already used by another %s", kind, lowerKind(kind))
	case errors.As(err, &invalid):
		return scim.Errorf(http.StatusBadRequest, scim.InvalidValue,
			"the target rejected %s: %s", s.scimName(kind, invalid.Attr), invalid.Reason)
	case errors.Is(err, backends.ErrInvalid):
		return scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "the target rejected a value of this %s", lowerKind(kind))
	case errors.Is(err, backends.ErrNotFound):
		return notFound(kind, id)
	case errors.Is(err, backends.ErrUnsupported):
		return scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "the target does not support this request")
	case errors.Is(err, backends.ErrBusy):
		return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
			Detail: "the bridge has as many operations in flight on the target directory as it allows (maxConcurrent); retry later"}
	case errors.Is(err, backends.ErrUnavailable):
		return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
			Detail: "the target directory is unavailable; retry later"}
	case errors.Is(err, context.DeadlineExceeded):
		return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
			Detail: "the target directory did not answer in time; retry later"}
	}
	return fmt.Errorf("bridge: %s %s: %w", kind, id, err)
}

func notFound(kind scim.Kind, id string) *scim.Error {
	return scim.Errorf(http.StatusNotFound, "", "%s %q not found", kind, id)
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
