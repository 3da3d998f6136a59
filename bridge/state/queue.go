package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// JobState is where a queued job is in its life.
type JobState string

const (
	// JobPending waits to be leased, at NotBefore at the earliest and after
	// every earlier job of its resource.
	JobPending JobState = "pending"
	// JobLeased is held by a worker (Owner) until LeaseUntil. A lease that
	// runs out while its job is still leased is taken again by the next
	// Lease: the worker is presumed dead.
	JobLeased JobState = "leased"
	// JobDead was buried by a worker (dead letter): it is kept for operators
	// to inspect, Requeue or Drop, and no longer holds back its resource.
	JobDead JobState = "dead"
)

// Job is one write the bridge could not apply inline and kept for the
// worker. The store treats Op and Payload as opaque; it orders jobs, hands
// them out under leases and keeps their history.
//
// Times are kept to the millisecond; the zero time means "not set" (a zero
// NotBefore: due at once).
type Job struct {
	// ID is assigned by Enqueue and opaque: a short printable string that
	// needs no escaping in a URL path segment.
	ID string
	// Tenant is the tenant the write belongs to.
	Tenant string
	// Resource orders jobs: within one tenant, a job is never leased while
	// an earlier job of the same Resource is pending or leased. It is the
	// resource key (tenant/kind/id), or for a create the lock name of its
	// natural key, whatever the bridge locks the resource by.
	Resource string
	// Op names the operation (create, replace, patch, delete), for people.
	Op string
	// Payload is the serialised operation, opaque to the store.
	Payload []byte
	// Fingerprint is the idempotency key of the request that was queued,
	// under which the worker stores the answer once the job is applied.
	Fingerprint string
	// Attempts counts the attempts started: Lease adds one every time it
	// hands the job out, a lease taken over after a crash included, so that
	// a job that kills its worker still reaches the attempt limit. Enqueue
	// keeps what the caller set (the inline attempts already made); Requeue
	// resets it to zero.
	Attempts int
	// NotBefore is the earliest time Lease hands the job out.
	NotBefore time.Time
	// CreatedAt is when the job was enqueued (Enqueue sets it when zero).
	CreatedAt time.Time
	// LastError and ErrorClass describe the last failed attempt. The class is
	// the bridge's closed set of failure reasons (a metrics label).
	LastError  string
	ErrorClass string
	// State, Owner and LeaseUntil are the store's: Enqueue ignores them.
	// Owner and LeaseUntil are set while the job is leased.
	State      JobState
	Owner      string
	LeaseUntil time.Time
}

// JobFilter selects jobs for List. Empty fields select everything.
type JobFilter struct {
	Tenant string
	// Resource selects one resource's jobs; it needs Tenant.
	Resource string
	State    JobState
}

// The Check functions are the contract's rules for the arguments of the
// calls that take more than a key: every implementation applies them
// before it touches storage, so that all of them reject the same calls in
// the same words (prefixed with the store and the call).

// CheckNewJob is what Enqueue requires of a job.
func CheckNewJob(j Job) error {
	switch {
	case j.ID != "":
		return errors.New("the id is assigned by the store: leave it empty")
	case j.Tenant == "" || j.Resource == "" || j.Op == "":
		return errors.New("tenant, resource and op are required")
	case j.Attempts < 0:
		return fmt.Errorf("attempts %d is negative", j.Attempts)
	}
	return nil
}

// CheckLease is what Lease requires of its arguments.
func CheckLease(owner string, max int, lease time.Duration) error {
	switch {
	case owner == "":
		return errors.New("owner is required")
	case max <= 0:
		return fmt.Errorf("max %d is not positive", max)
	case lease <= 0:
		return fmt.Errorf("lease %s is not positive", lease)
	}
	return nil
}

// CheckJobFilter is what List requires of its arguments.
func CheckJobFilter(f JobFilter, limit int) error {
	switch {
	case limit <= 0:
		return fmt.Errorf("limit %d is not positive", limit)
	case f.Resource != "" && f.Tenant == "":
		return errors.New("a resource filter needs a tenant")
	}
	switch f.State {
	case "", JobPending, JobLeased, JobDead:
		return nil
	}
	return fmt.Errorf("unknown job state %q (want pending, leased or dead)", f.State)
}

// QueueStats is a snapshot of the queue, for metrics and /admin/status.
type QueueStats struct {
	Pending, Leased, Dead int
	// Oldest is the CreatedAt of the earliest-enqueued job still pending or
	// leased, or the zero time when there is none.
	Oldest time.Time
	// AttemptsByClass sums the Attempts of the jobs still pending or leased
	// by the ErrorClass of their last failure; jobs that have not failed
	// yet are left out.
	AttemptsByClass map[string]int
}

// Depth is how many jobs are waiting or running (pending plus leased).
func (q QueueStats) Depth() int { return q.Pending + q.Leased }

// OldestAge is how long the oldest waiting job has waited at now, or zero
// when nothing waits.
func (q QueueStats) OldestAge(now time.Time) time.Duration {
	if q.Oldest.IsZero() || now.Before(q.Oldest) {
		return 0
	}
	return now.Sub(q.Oldest)
}

// Queue is the durable retry queue: at least once, first in first out per
// resource, leased to workers, with a dead letter state. An operation is
// durable once Enqueue returns (for Redis: as durable as its persistence
// settings make an acknowledged write).
//
// Ordering: jobs of one tenant and resource are leased strictly one at a
// time in enqueue order (Requeue keeps a job's original place), so a worker
// that holds a job knows every earlier job of its resource has been acked,
// buried or dropped. Jobs of different resources are independent.
//
// Time: Lease decides what is due and what has expired by the now it is
// given, so replicas sharing a store must keep their clocks in step (NTP)
// to well within a lease.
type Queue interface {
	// Enqueue stores a new pending job and returns it as stored, with its ID
	// and CreatedAt. j.ID must be empty; Tenant, Resource and Op are
	// required.
	Enqueue(ctx context.Context, j Job) (Job, error)
	// Lease hands owner up to max jobs for lease: first jobs whose lease ran
	// out at now (their worker is presumed dead), then due pending jobs,
	// each the earliest pending job of a resource no worker holds, oldest
	// first within a tenant (tenants may be interleaved). Every job leased
	// gets Attempts+1, Owner and LeaseUntil = now+lease. It returns no jobs
	// and no error when nothing is due; on an error it has leased nothing
	// the caller must handle (anything it did lease runs out and is leased
	// again).
	Lease(ctx context.Context, owner string, now time.Time, max int, lease time.Duration) ([]Job, error)
	// Extend renews owner's lease on a job it holds to until; the worker
	// calls it while a long attempt runs. ErrConflict if owner lost it.
	Extend(ctx context.Context, id, owner string, until time.Time) error
	// Ack removes a job owner holds once it has been applied. ErrConflict if
	// owner no longer holds it; ErrNotFound if it is gone (an operator
	// dropped it), which the worker treats as done.
	Ack(ctx context.Context, id, owner string) error
	// Retry puts a job owner holds back to pending after a failed attempt,
	// due at notBefore, in its place in its resource's order (the resource
	// stays blocked behind it), recording the failure.
	Retry(ctx context.Context, id, owner string, notBefore time.Time, lastError, class string) error
	// Bury moves a job owner holds to the dead letter state, recording the
	// failure; the jobs queued behind it on its resource go ahead.
	Bury(ctx context.Context, id, owner, lastError, class string) error
	// Pending counts the tenant's jobs of resource that are pending or
	// leased: a new write to a resource with a backlog must queue behind it.
	Pending(ctx context.Context, tenant, resource string) (int, error)
	// Get returns one job, or ErrNotFound.
	Get(ctx context.Context, id string) (Job, error)
	// List returns up to limit (> 0) jobs matching f, grouped by tenant in
	// name order, each tenant's in enqueue order.
	List(ctx context.Context, f JobFilter, limit int) ([]Job, error)
	// Requeue is an operator's re-run: a dead or pending job becomes pending
	// and due at once, with Attempts reset to zero (a fresh retry budget);
	// LastError and ErrorClass are kept until the next attempt. It keeps the
	// job's place in its resource's order. ErrConflict if a worker holds the
	// job; ErrNotFound if there is none.
	Requeue(ctx context.Context, id string) error
	// Drop deletes a job in any state; ErrNotFound if there is none. A
	// worker holding it then gets ErrNotFound from Ack, Retry or Bury.
	Drop(ctx context.Context, id string) error
	// Stats counts the tenant's jobs, or every tenant's when tenant is "".
	Stats(ctx context.Context, tenant string) (QueueStats, error)
}
