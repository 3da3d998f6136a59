package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/sethvargo/go-retry"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// write is one SCIM write as the pipeline runs it (docs/design.md §3, "The
// write pipeline"): what orders it, the request's fingerprint, its queued
// form, and its own step. Create, Replace, Patch and Delete differ only in
// those; run is the rest, written once.
type write struct {
	kind scim.Kind
	id   string // "" for a create: the target has not named it yet
	// resource orders the write: its backlog and its jobs in the retry
	// queue are kept under this key.
	resource string
	// locks are the keys the write holds while it runs: the resource's, or
	// a create's natural keys (the only names a new resource has).
	locks []string
	fp    string    // the request's fingerprint, under which its answer is kept
	op    operation // the write as the retry queue keeps it
	// locked is the write's own step, run with every lock held. Its errors
	// stay errors (a backend's sentinels, a mapping's *scim.Error): run
	// decides whether to queue the write and builds the SCIM answer once.
	locked func(ctx context.Context) (answer, error)
}

// answer is what a write that was applied answers, and what a replay of
// its request gets while the resource is unchanged.
type answer struct {
	id     string
	status int
	res    scim.Resource // nil for 204
}

// run takes the write's locks (reading, in the same round trip, the stored
// answer of its request and its resource's backlog), replays the stored
// answer while the resource is unchanged, queues the write behind a
// backlog, runs its step, queues it when the target is unavailable, and
// records its answer as it releases the locks.
func (s *Service) run(ctx context.Context, w write) (scim.Resource, error) {
	h, start, err := s.locks.begin(ctx, s.writeBegin(ctx, w.fp, w.resource), w.locks...)
	if err != nil {
		return nil, s.toSCIM(w.kind, w.id, err)
	}
	defer h.release()

	if res, ok := s.replay(ctx, w.kind, start.Answer); ok {
		return res, nil
	}
	if s.state != nil && !fromQueue(ctx) && start.Pending > 0 {
		return nil, s.enqueue(ctx, w, errBacklog)
	}
	a, err := w.locked(ctx)
	if retryable(err) {
		return nil, s.enqueue(ctx, w, err)
	}
	if err != nil {
		return nil, s.toSCIM(w.kind, w.id, err)
	}
	h.remember(s.resourceKey(w.kind, a.id), a.id, a.status, a.res, s.idemTTL)
	return a.res, nil
}

// withRetry runs f, retrying transient target errors (ErrUnavailable) with
// exponential backoff and jitter, at most s.retries times, within ctx.
func (s *Service) withRetry(ctx context.Context, f func(ctx context.Context) error) error {
	b := retry.WithMaxRetries(uint64(s.retries), retry.WithJitterPercent(20, retry.NewExponential(s.base)))
	return retry.Do(ctx, b, func(ctx context.Context) error {
		err := f(ctx)
		if err != nil && errors.Is(err, backends.ErrUnavailable) {
			s.log.Debug("transient target error; retrying", "error", err)
			return retry.RetryableError(err)
		}
		return err
	})
}

// fingerprint identifies a request by its canonical content: the same
// operation sent twice has the same fingerprint whatever its JSON spacing,
// key order or op casing.
func fingerprint(tenant, method string, kind scim.Kind, id string, body any) string {
	h := sha256.New()
	b, _ := json.Marshal(body) // canonical: maps marshal with sorted keys
	for _, part := range []string{tenant, method, string(kind), id} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(b)
	return "idem/" + tenant + "/" + hex.EncodeToString(h.Sum(nil))
}

// writeBegin is what a write reads as it takes its locks: the answer
// stored under its fingerprint, and its resource's backlog (not for the
// worker's own queued write, which heads that backlog).
func (s *Service) writeBegin(ctx context.Context, fp, resource string) state.WriteBegin {
	b := state.WriteBegin{Answer: fp}
	if !fromQueue(ctx) {
		b.Tenant, b.Resource = s.tenant, resource
	}
	return b
}

// replay returns the stored answer a if the resource it wrote is unchanged
// since (its version is the one recorded). A state store that is down only
// costs the fast path.
func (s *Service) replay(ctx context.Context, kind scim.Kind, a *state.Answer) (scim.Resource, bool) {
	if s.state == nil || a == nil {
		return nil, false
	}
	v, err := s.state.Version(ctx, s.resourceKey(kind, a.ResourceID))
	if err != nil || v != a.Version {
		return nil, false
	}
	if len(a.Body) == 0 {
		return nil, true
	}
	var res scim.Resource
	if err := json.Unmarshal(a.Body, &res); err != nil {
		return nil, false
	}
	s.log.Debug("replayed a stored answer", "kind", kind, "id", a.ResourceID)
	return res, true
}

// auditTimeout bounds the recording of one audit record: a slow state
// store delays the answer by at most this much.
const auditTimeout = 2 * time.Second

// auditLog records one applied change: a log line, and a record in the
// state store's bounded audit list (the console's Activity page). It names
// attributes, never values. The record is best effort: the write is done,
// and a state store that cannot keep its record must not fail it.
func (s *Service) auditLog(ctx context.Context, op string, kind scim.Kind, id string, attrs map[string][]string, written []string) {
	outcome := "applied"
	if queued, _ := ctx.Value(queuedKey{}).(bool); queued {
		outcome = "applied from the retry queue"
	}
	// The log line names the resource by id and the attributes by name,
	// never their values: logs leave the machine, the state store's
	// record (which the console shows by userName) does not.
	s.audit.Info("applied", "op", op, "kind", string(kind), "id", id,
		"attributes", strings.Join(written, ","), "outcome", outcome, "request_id", requestID(ctx))
	if s.state == nil {
		return
	}
	rec := state.AuditRecord{
		Time: time.Now().UTC(), Tenant: s.tenant, Op: op, Kind: string(kind), ID: id,
		Name: s.nameOf(kind, attrs), Attrs: written, Outcome: outcome, RequestID: requestID(ctx),
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := s.state.AppendAudit(actx, rec); err != nil {
		s.log.Warn("cannot keep the audit record of an applied write; the audit log line has it", "op", op, "id", id, "error", err)
	}
}

// nameOf is the resource's name for the audit record: a user's userName,
// a group's displayName, read from the target attributes it maps to.
func (s *Service) nameOf(kind scim.Kind, attrs map[string][]string) string {
	path := "userName"
	if kind == scim.Group {
		path = "displayName"
	}
	target, ok := s.mapping.Target(kind, path)
	if !ok || len(attrs[target]) == 0 {
		return ""
	}
	return attrs[target][0]
}

// requestID is the id of the request ctx belongs to, which httpapi puts
// among its request logger's implied arguments; "" for the worker.
func requestID(ctx context.Context) string {
	args := hclog.FromContext(ctx).ImpliedArgs()
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "request_id" {
			id, _ := args[i+1].(string)
			return id
		}
	}
	return ""
}

func changedNames(changes []backends.Change) []string {
	var out []string
	for _, c := range changes {
		if !slices.Contains(out, c.Attr) {
			out = append(out, c.Attr)
		}
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
