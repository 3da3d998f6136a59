package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// Scoped returns an Operator whose job operations (Job, Retry, Drop) see
// only tenant's jobs: the CLI's --tenant guard. "" sees every tenant's.
func (o *Operator) Scoped(tenant string) *Operator {
	c := *o
	c.scope = tenant
	return &c
}

// CheckJobFilter says what is wrong with f, in words for a person.
func CheckJobFilter(f opsview.JobFilter) error {
	switch state.JobState(f.State) {
	case "", state.JobPending, state.JobLeased, state.JobDead:
	default:
		return fmt.Errorf("state %q is not one of pending, leased, dead", f.State)
	}
	if f.Limit < 1 {
		return fmt.Errorf("limit must be at least 1, not %d", f.Limit)
	}
	return nil
}

// Jobs lists jobs without their payloads, oldest first per tenant.
func (o *Operator) Jobs(ctx context.Context, f opsview.JobFilter) ([]opsview.Job, error) {
	if err := CheckJobFilter(f); err != nil {
		return nil, scim.Errorf(http.StatusBadRequest, "", "%s", err)
	}
	jobs, err := o.st.List(ctx, state.JobFilter{Tenant: f.Tenant, State: state.JobState(f.State)}, f.Limit)
	if err != nil {
		return nil, o.stateError("list jobs", err)
	}
	now := o.now()
	out := make([]opsview.Job, len(jobs))
	for i, j := range jobs {
		out[i] = newJob(j, now, false)
	}
	return out, nil
}

// Job shows one job, payload included (credentials masked).
func (o *Operator) Job(ctx context.Context, id string) (opsview.Job, error) {
	j, err := o.get(ctx, id)
	if err != nil {
		return opsview.Job{}, err
	}
	return newJob(j, o.now(), true), nil
}

func (o *Operator) get(ctx context.Context, id string) (state.Job, error) {
	j, err := o.st.Get(ctx, id)
	if err != nil {
		return state.Job{}, o.jobError(id, err)
	}
	if o.scope != "" && j.Tenant != o.scope {
		return state.Job{}, fmt.Errorf("job %s belongs to tenant %q, not %q: %w", id, j.Tenant, o.scope, opsview.ErrNotFound)
	}
	return j, nil
}

// Retry is an operator's re-run (state.Queue.Requeue): due now, attempts
// reset.
func (o *Operator) Retry(ctx context.Context, id string) (opsview.Action, error) {
	before, err := o.get(ctx, id)
	if err != nil {
		return opsview.Action{}, err
	}
	if err := o.st.Requeue(ctx, id); err != nil {
		return opsview.Action{}, o.jobError(id, err)
	}
	o.log.Info("job requeued by an operator", "job", id, "tenant", before.Tenant)
	now := o.now()
	a := opsview.Action{ID: id, Result: "requeued", Before: newJob(before, now, false)}
	// Taken and applied by a worker already, or dropped meanwhile: no job.
	if after, err := o.st.Get(ctx, id); err == nil {
		v := newJob(after, now, false)
		a.Job = &v
	}
	return a, nil
}

// Drop deletes a job for good: its write is never applied.
func (o *Operator) Drop(ctx context.Context, id string) (opsview.Action, error) {
	before, err := o.get(ctx, id)
	if err != nil {
		return opsview.Action{}, err
	}
	if err := o.st.Drop(ctx, id); err != nil {
		return opsview.Action{}, o.jobError(id, err)
	}
	o.log.Info("job dropped by an operator", "job", id, "tenant", before.Tenant)
	return opsview.Action{ID: id, Result: "dropped", Before: newJob(before, o.now(), false)}, nil
}

// jobError says what a queue sentinel means for the operator, wrapping
// opsview's sentinels (or a 503) for the HTTP layers.
func (o *Operator) jobError(id string, err error) error {
	switch {
	case errors.Is(err, state.ErrNotFound):
		return fmt.Errorf("no job %q in the queue (applied, or dropped, already?): %w", id, opsview.ErrNotFound)
	case errors.Is(err, state.ErrConflict):
		return fmt.Errorf("job %s is being applied by a worker right now; try again when the attempt is over: %w", id, opsview.ErrConflict)
	}
	return o.stateError("job "+id, err)
}

// stateError wraps a state store failure: a 503 when it is unavailable.
func (o *Operator) stateError(what string, err error) error {
	switch {
	case errors.Is(err, state.ErrUnavailable):
		o.log.Warn("state store unavailable", "during", what, "error", err)
		return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: 10 * time.Second,
			Detail: "the state store is unavailable; retry later", Err: err}
	}
	return fmt.Errorf("ops: %s: %w", what, err)
}

func newJob(j state.Job, now time.Time, withPayload bool) opsview.Job {
	v := opsview.Job{
		ID: j.ID, Tenant: j.Tenant, Resource: j.Resource, Op: j.Op, State: string(j.State),
		Attempts: j.Attempts, CreatedAt: j.CreatedAt.UTC(), AgeSeconds: now.Sub(j.CreatedAt).Seconds(),
		Owner: j.Owner, LastError: j.LastError, ErrorClass: j.ErrorClass,
		NotBefore: timePtr(j.NotBefore), LeaseUntil: timePtr(j.LeaseUntil),
	}
	if v.AgeSeconds < 0 {
		v.AgeSeconds = 0
	}
	if withPayload {
		v.Fingerprint = j.Fingerprint
		v.Payload = ShowPayload(j.Payload)
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// credentialKey names attributes whose values are never shown, should a
// SCIM client have sent one (Entra can provision a password to some apps).
var credentialKey = regexp.MustCompile(`(?i)password|secret|token`)

// ShowPayload returns the payload as JSON with credential values masked;
// a payload that is not JSON is shown as a string.
func ShowPayload(p []byte) json.RawMessage {
	if len(p) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		b, _ := json.Marshal(string(p))
		return b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Keep "<secret>" and display names like "R&D" readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(maskCredentials(v)); err != nil {
		return nil
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// maskCredentials masks the values under credential-like keys, and the
// value of a PATCH operation whose path names one.
func maskCredentials(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if credentialKey.MatchString(k) {
				out[k] = "<secret>"
				continue
			}
			out[k] = maskCredentials(e)
		}
		if p, ok := out["path"].(string); ok && credentialKey.MatchString(p) {
			if _, has := out["value"]; has {
				out["value"] = "<secret>"
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = maskCredentials(e)
		}
		return out
	}
	return v
}
