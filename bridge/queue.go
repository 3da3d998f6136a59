package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// operation is a write as it is kept in the retry queue: the canonical
// request, so that the worker applies exactly what Entra sent and its
// answer lands under the same fingerprint.
type operation struct {
	Op       string        `json:"op"` // create | replace | patch | delete
	Kind     scim.Kind     `json:"kind"`
	ID       string        `json:"id,omitempty"`
	Resource scim.Resource `json:"resource,omitempty"`
	Ops      []queuedOp    `json:"ops,omitempty"`
}

type queuedOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

func patchOps(ops []scim.PatchOp) []queuedOp {
	out := make([]queuedOp, len(ops))
	for i, o := range ops {
		out[i] = queuedOp{Op: o.Op, Value: o.Value}
		if o.Path != nil {
			out[i].Path = o.Path.String()
		}
	}
	return out
}

func (o operation) patchOps() ([]scim.PatchOp, error) {
	out := make([]scim.PatchOp, len(o.Ops))
	for i, q := range o.Ops {
		out[i] = scim.PatchOp{Op: q.Op, Value: q.Value}
		if q.Path != "" {
			p, err := scim.ParsePath(o.Kind, q.Path)
			if err != nil {
				return nil, err
			}
			out[i].Path = &p
		}
	}
	return out, nil
}

// queuedKey marks a context as the worker applying a queued job: such a
// write is the head of its resource's backlog and must not queue again.
type queuedKey struct{}

func fromQueue(ctx context.Context) bool { return ctx.Value(queuedKey{}) != nil }

// errBacklog is why a write went to the queue without being tried: an
// earlier write to its resource is queued, and writes to one resource are
// applied in arrival order.
var errBacklog = errors.New("an earlier write to this resource is queued")

// errQueued is the answer to a write kept in the retry queue: Entra retries
// it later and then finds it applied (the stored answer). The detail says
// why it was queued (the answer the write itself would have had, or the
// backlog), since an operator fixes each differently.
func (s *Service) errQueued(kind scim.Kind, id string, cause error) *scim.Error {
	why := "the target directory is unavailable"
	var se *scim.Error
	switch {
	case errors.Is(cause, errBacklog):
		why = "an earlier change to this resource is waiting in the retry queue"
	case errors.As(s.toSCIM(kind, id, cause), &se) && se.Detail != "":
		why = strings.TrimSuffix(se.Detail, "; retry later")
	}
	return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
		Detail: why + "; the change is queued and will be applied when it can be", Err: cause}
}

// enqueue keeps a write that could not be applied for the worker, and
// answers 503 with Retry-After. Entra's repeat of the request last queued
// for the resource (the same fingerprint as its latest live job) is not
// queued twice; the same body after other writes (disable, enable, disable)
// is a new write and is queued. The worker's own write is not queued again:
// it gets its error back, and the worker reschedules the job.
func (s *Service) enqueue(ctx context.Context, w write, cause error) error {
	if s.state == nil || fromQueue(ctx) {
		return s.toSCIM(w.kind, w.id, cause)
	}
	// The request's own deadline may be what ran out: the queue write gets
	// its own.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	queued, err := s.state.List(qctx, state.JobFilter{Tenant: s.tenant, Resource: w.resource}, 1000)
	if err == nil {
		for i := len(queued) - 1; i >= 0; i-- {
			if queued[i].State == state.JobDead {
				continue
			}
			if queued[i].Fingerprint == w.fp {
				return s.errQueued(w.kind, w.id, cause)
			}
			break
		}
	}
	payload, err := json.Marshal(w.op)
	if err != nil {
		return fmt.Errorf("bridge: queue %s: %w", w.op.Op, err)
	}
	j, err := s.state.Enqueue(qctx, state.Job{Tenant: s.tenant, Resource: w.resource, Op: w.op.Op, Payload: payload,
		Fingerprint: w.fp, LastError: errText(cause), ErrorClass: errorClass(cause)})
	if err != nil {
		s.log.Error("target unavailable and the retry queue too; the write is lost unless Entra retries it", "error", err)
		return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter,
			Detail: "the target directory and the retry queue are unavailable; retry later", Err: cause}
	}
	s.log.Info("write queued", "job", j.ID, "op", w.op.Op, "kind", string(w.kind), "id", w.id)
	if s.wake != nil {
		s.wake()
	}
	return s.errQueued(w.kind, w.id, cause)
}

// applyQueued applies a queued operation (the worker's side of enqueue).
func (s *Service) applyQueued(ctx context.Context, payload []byte) error {
	var op operation
	if err := json.Unmarshal(payload, &op); err != nil {
		return fmt.Errorf("bridge: queued payload: %w", err)
	}
	ctx = context.WithValue(ctx, queuedKey{}, true)
	switch op.Op {
	case "create":
		_, err := s.Create(ctx, op.Kind, op.Resource)
		return err
	case "replace":
		_, err := s.Replace(ctx, op.Kind, op.ID, op.Resource)
		return err
	case "patch":
		ops, err := op.patchOps()
		if err != nil {
			return err
		}
		_, err = s.Patch(ctx, op.Kind, op.ID, ops)
		return err
	case "delete":
		err := s.Delete(ctx, op.Kind, op.ID)
		if errors.Is(err, backends.ErrNotFound) {
			return nil // gone already: what the delete wanted
		}
		return err
	}
	return fmt.Errorf("bridge: unknown queued operation %q", op.Op)
}

// Error classes: the closed set of failure reasons used as log and metric
// labels.
const (
	ClassUnavailable = "unavailable"
	ClassConflict    = "conflict"
	ClassInvalid     = "invalid"
	ClassNotFound    = "not_found"
	ClassInternal    = "internal"
)

func errorClass(err error) string {
	var se *scim.Error
	switch {
	case err == nil:
		return ""
	case retryable(err), errors.Is(err, errBacklog):
		return ClassUnavailable
	case errors.Is(err, backends.ErrConflict):
		return ClassConflict
	case errors.Is(err, backends.ErrNotFound):
		return ClassNotFound
	case errors.Is(err, backends.ErrInvalid), errors.Is(err, backends.ErrUnsupported):
		return ClassInvalid
	case errors.As(err, &se) && se.Status >= 400 && se.Status < 500:
		// A request the bridge or the mapping refused (a bad body, a path
		// that does not apply): retrying it cannot help.
		return ClassInvalid
	}
	return ClassInternal
}

// errText is what an operator sees of a failure: the SCIM answer's detail
// (it never carries secrets) followed by the cause it was made from (the
// directory's own error), or the internal error's text.
func errText(err error) string {
	var se *scim.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se) && se.Err != nil:
		return se.Detail + ": " + se.Err.Error()
	case errors.As(err, &se):
		return se.Detail
	}
	return err.Error()
}
