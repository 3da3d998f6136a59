package statetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// lease is the lease every queue test takes unless it tests expiry: long
// enough that it never runs out by itself, since Lease is given the time.
const lease = time.Minute

// newJob is a job for tenant and resource, with a payload naming them.
func newJob(tenant, resource string) state.Job {
	return state.Job{
		Tenant:      tenant,
		Resource:    resource,
		Op:          "patch",
		Payload:     []byte(`{"resource":"` + resource + `"}`),
		Fingerprint: hashOf(tenant + "/" + resource),
	}
}

// enqueue stores a job and returns it.
func enqueue(t testing.TB, s state.Store, j state.Job) state.Job {
	t.Helper()
	got, err := s.Enqueue(t.Context(), j)
	require.NoError(t, err)
	require.NotEmpty(t, got.ID)
	return got
}

// leaseIDs leases up to max jobs for owner at now and returns their ids.
func leaseIDs(t testing.TB, s state.Store, owner string, now time.Time, max int) []string {
	t.Helper()
	jobs, err := s.Lease(t.Context(), owner, now, max, lease)
	require.NoError(t, err)
	return ids(jobs)
}

func ids(jobs []state.Job) []string {
	out := []string{} // empty, not nil, so that it compares with []string{}
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

// getJob reads one job.
func getJob(t testing.TB, s state.Store, id string) state.Job {
	t.Helper()
	j, err := s.Get(t.Context(), id)
	require.NoError(t, err)
	return j
}

// at is a time the queue tests lease at: now to the millisecond, what
// stores keep.
func at() time.Time { return time.Now().Truncate(time.Millisecond) }

// testQueue runs the queue's contract, one named case each, every case in
// parallel with the others on a fresh store of its own.
func testQueue(t *testing.T, open opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, s state.Store)
	}{
		{"EnqueueAndGet", queueEnqueueAndGet},
		{"IDsUniqueAndURLSafe", queueIDsUniqueAndURLSafe},
		{"EnqueueInvalid", queueEnqueueInvalid},
		{"LeaseInvalid", queueLeaseInvalid},
		{"LeaseSetsLease", queueLeaseSetsLease},
		{"FIFOPerResource", queueFIFOPerResource},
		{"ResourcesInParallel", queueResourcesInParallel},
		{"OldestFirstUpToMax", queueOldestFirstUpToMax},
		{"LeaseExpiry", queueLeaseExpiry},
		{"LateHolderBeforeTakeover", queueLateHolderBeforeTakeover},
		{"Extend", queueExtend},
		{"RetryHonoursNotBefore", queueRetryHonoursNotBefore},
		{"BuryRequeueDrop", queueBuryRequeueDrop},
		{"RequeueGoesFirst", queueRequeueGoesFirst},
		{"EnqueueNotBefore", queueEnqueueNotBefore},
		{"DropUnblocks", queueDropUnblocks},
		{"Pending", queuePending},
		{"List", queueList},
		{"ListLeasedInEnqueueOrder", queueListLeasedInEnqueueOrder},
		{"Stats", queueStats},
		{"ConcurrentLeasers", queueConcurrentLeasers},
		{"ConcurrentProducersAndWorkers", queueConcurrentProducersAndWorkers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newTestStore(t, open))
		})
	}
}

func queueEnqueueAndGet(t *testing.T, s state.Store) {
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	before := time.Now().Add(-time.Second)
	j := newJob("acme", "acme/Users/ü:1")
	j.Payload = every
	j.Attempts = 1 // the inline attempt the bridge already made
	j.LastError = "ldap: add: connection refused"
	j.ErrorClass = "unavailable"
	j.NotBefore = base.Add(time.Hour)
	// Fields that are the store's own are ignored.
	j.State, j.Owner, j.LeaseUntil = state.JobDead, "someone", base
	got := enqueue(t, s, j)
	require.False(t, got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)),
		"CreatedAt %s defaults to now", got.CreatedAt)

	want := j
	want.ID, want.CreatedAt = got.ID, got.CreatedAt
	want.State, want.Owner, want.LeaseUntil = state.JobPending, "", time.Time{}
	requireEqual(t, want, got)
	requireEqual(t, want, getJob(t, s, got.ID))

	// A given CreatedAt is kept (to the millisecond), and no payload is
	// an empty one.
	k := newJob("acme", "acme/Users/2")
	k.Payload = nil
	k.CreatedAt = base.Add(1500 * time.Microsecond)
	got2 := enqueue(t, s, k)
	require.True(t, got2.CreatedAt.Equal(base.Add(time.Millisecond)), "CreatedAt %s", got2.CreatedAt)
	require.Empty(t, getJob(t, s, got2.ID).Payload)
	require.NotEqual(t, got.ID, got2.ID)

	_, err := s.Get(t.Context(), "no-such-job")
	require.ErrorIs(t, err, state.ErrNotFound)
}

func queueIDsUniqueAndURLSafe(t *testing.T, s state.Store) {
	seen := map[string]bool{}
	for i := range 50 {
		j := enqueue(t, s, newJob([]string{"acme", "o'brien {x}:y", "b%c/d"}[i%3], fmt.Sprintf("r%d", i)))
		require.False(t, seen[j.ID], "id %q given twice", j.ID)
		seen[j.ID] = true
		for _, c := range j.ID {
			require.True(t, c > ' ' && c < 0x7f && !bytes.ContainsRune([]byte("/?#%\\\"'<> "), c),
				"id %q has %q, which a URL path would need escaped", j.ID, c)
		}
		require.Equal(t, j.Tenant, getJob(t, s, j.ID).Tenant)
	}
}

func queueEnqueueInvalid(t *testing.T, s state.Store) {
	for _, tc := range []struct {
		name string
		edit func(j *state.Job)
	}{
		{"id set", func(j *state.Job) { j.ID = "mine" }},
		{"no tenant", func(j *state.Job) { j.Tenant = "" }},
		{"no resource", func(j *state.Job) { j.Resource = "" }},
		{"no op", func(j *state.Job) { j.Op = "" }},
		{"negative attempts", func(j *state.Job) { j.Attempts = -1 }},
	} {
		j := newJob("acme", "r")
		tc.edit(&j)
		_, err := s.Enqueue(t.Context(), j)
		require.Error(t, err, tc.name)
	}
	all, err := s.List(t.Context(), state.JobFilter{}, 100)
	require.NoError(t, err)
	require.Empty(t, all, "rejected jobs were stored")
}

func queueLeaseInvalid(t *testing.T, s state.Store) {
	enqueue(t, s, newJob("acme", "r"))
	for _, tc := range []struct {
		name  string
		owner string
		max   int
		lease time.Duration
	}{
		{"no owner", "", 1, lease},
		{"zero max", "w", 0, lease},
		{"negative max", "w", -1, lease},
		{"zero lease", "w", 1, 0},
		{"negative lease", "w", 1, -time.Second},
	} {
		jobs, err := s.Lease(t.Context(), tc.owner, at(), tc.max, tc.lease)
		require.Error(t, err, tc.name)
		require.Empty(t, jobs, tc.name)
	}
	require.Len(t, leaseIDs(t, s, "w", at(), 10), 1, "the rejected calls leased nothing")
}

func queueLeaseSetsLease(t *testing.T, s state.Store) {
	j := enqueue(t, s, newJob("acme", "r"))
	now := at()
	jobs, err := s.Lease(t.Context(), "w1", now, 10, lease)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	want := j
	want.State, want.Owner, want.LeaseUntil, want.Attempts = state.JobLeased, "w1", now.Add(lease), 1
	requireEqual(t, want, jobs[0])
	requireEqual(t, want, getJob(t, s, j.ID))
	require.Empty(t, leaseIDs(t, s, "w2", now, 10), "a leased job is not leased again")
}

func queueFIFOPerResource(t *testing.T, s state.Store) {
	a1 := enqueue(t, s, newJob("acme", "acme/Users/a"))
	a2 := enqueue(t, s, newJob("acme", "acme/Users/a"))
	a3 := enqueue(t, s, newJob("acme", "acme/Users/a"))
	a4 := enqueue(t, s, newJob("acme", "acme/Users/a"))
	now := at()

	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w", now, 10), "only the head of a resource")
	require.Empty(t, leaseIDs(t, s, "w", now, 10), "nothing while the head is leased")
	require.NoError(t, s.Ack(t.Context(), a1.ID, "w"))

	require.Equal(t, []string{a2.ID}, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Retry(t.Context(), a2.ID, "w", time.Time{}, "timeout", "unavailable"))
	jobs, err := s.Lease(t.Context(), "w", now, 10, lease)
	require.NoError(t, err)
	require.Equal(t, []string{a2.ID}, ids(jobs), "a retried job keeps its place")
	require.Equal(t, 2, jobs[0].Attempts)

	require.NoError(t, s.Bury(t.Context(), a2.ID, "w", "rejected", "invalid"))
	require.Equal(t, []string{a3.ID}, leaseIDs(t, s, "w", now, 10), "a dead job no longer blocks")
	require.NoError(t, s.Ack(t.Context(), a3.ID, "w"))
	require.Equal(t, []string{a4.ID}, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Ack(t.Context(), a4.ID, "w"))
	require.Empty(t, leaseIDs(t, s, "w", now, 10))
}

func queueResourcesInParallel(t *testing.T, s state.Store) {
	a1 := enqueue(t, s, newJob("acme", "acme/Users/a"))
	b1 := enqueue(t, s, newJob("acme", "acme/Users/b"))
	a2 := enqueue(t, s, newJob("acme", "acme/Users/a"))
	c1 := enqueue(t, s, newJob("acme", "acme/Users/c"))
	b2 := enqueue(t, s, newJob("acme", "acme/Users/b"))
	// The same resource name in another tenant is another resource.
	x1 := enqueue(t, s, newJob("beta", "acme/Users/a"))
	// Names that a careless key scheme would mix up.
	y1 := enqueue(t, s, newJob("acme", "acme/Users/a:x"))
	z1 := enqueue(t, s, newJob("acme:acme/Users", "a"))
	now := at()

	got := leaseIDs(t, s, "w", now, 100)
	require.ElementsMatch(t, []string{a1.ID, b1.ID, c1.ID, x1.ID, y1.ID, z1.ID}, got)
	require.Empty(t, leaseIDs(t, s, "w", now, 100))
	for _, id := range got {
		require.NoError(t, s.Ack(t.Context(), id, "w"))
	}
	require.ElementsMatch(t, []string{a2.ID, b2.ID}, leaseIDs(t, s, "w", now, 100))
}

func queueOldestFirstUpToMax(t *testing.T, s state.Store) {
	var want []string
	for i := range 7 {
		want = append(want, enqueue(t, s, newJob("acme", fmt.Sprintf("r%d", i))).ID)
	}
	now := at()
	require.Equal(t, want[0:3], leaseIDs(t, s, "w", now, 3))
	require.Equal(t, want[3:6], leaseIDs(t, s, "w", now, 3))
	require.Equal(t, want[6:], leaseIDs(t, s, "w", now, 3))
	require.Empty(t, leaseIDs(t, s, "w", now, 3))
}

func queueLeaseExpiry(t *testing.T, s state.Store) {
	a1 := enqueue(t, s, newJob("acme", "a"))
	a2 := enqueue(t, s, newJob("acme", "a"))
	now := at()
	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w1", now, 10))

	require.Empty(t, leaseIDs(t, s, "w2", now.Add(lease-time.Millisecond), 10), "lease still running")
	// Expiry is inclusive: at LeaseUntil the lease is over. The job is
	// taken again in place: a2 stays behind it.
	later := now.Add(lease)
	jobs, err := s.Lease(t.Context(), "w2", later, 10, lease)
	require.NoError(t, err)
	require.Equal(t, []string{a1.ID}, ids(jobs))
	require.Equal(t, 2, jobs[0].Attempts, "a lease taken over counts as an attempt")
	require.Equal(t, "w2", jobs[0].Owner)
	require.True(t, jobs[0].LeaseUntil.Equal(later.Add(lease)))

	// The first worker lost it.
	require.ErrorIs(t, s.Ack(t.Context(), a1.ID, "w1"), state.ErrConflict)
	require.ErrorIs(t, s.Retry(t.Context(), a1.ID, "w1", time.Time{}, "x", "y"), state.ErrConflict)
	require.ErrorIs(t, s.Bury(t.Context(), a1.ID, "w1", "x", "y"), state.ErrConflict)
	require.ErrorIs(t, s.Extend(t.Context(), a1.ID, "w1", later.Add(time.Hour)), state.ErrConflict)
	j := getJob(t, s, a1.ID)
	require.Equal(t, state.JobLeased, j.State)
	require.Equal(t, "w2", j.Owner, "the lost holder changed nothing")

	require.NoError(t, s.Ack(t.Context(), a1.ID, "w2"))
	require.Equal(t, []string{a2.ID}, leaseIDs(t, s, "w2", later, 10))
}

func queueLateHolderBeforeTakeover(t *testing.T, s state.Store) {
	a1 := enqueue(t, s, newJob("acme", "a"))
	now := at()
	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w1", now, 10))
	// The lease has run out, but nobody took the job: its holder may
	// still finish it.
	require.NoError(t, s.Ack(t.Context(), a1.ID, "w1"))
	require.Empty(t, leaseIDs(t, s, "w2", now.Add(2*lease), 10))
}

func queueExtend(t *testing.T, s state.Store) {
	a1 := enqueue(t, s, newJob("acme", "a"))
	now := at()
	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w1", now, 10))
	until := now.Add(10 * lease)
	require.NoError(t, s.Extend(t.Context(), a1.ID, "w1", until))
	require.True(t, getJob(t, s, a1.ID).LeaseUntil.Equal(until))
	require.Empty(t, leaseIDs(t, s, "w2", now.Add(2*lease), 10), "the renewed lease holds")
	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w2", until, 10), "and runs out in its turn")
	require.ErrorIs(t, s.Extend(t.Context(), "no-such-job", "w1", until), state.ErrNotFound)
}

func queueRetryHonoursNotBefore(t *testing.T, s state.Store) {
	a1 := enqueue(t, s, newJob("acme", "a"))
	a2 := enqueue(t, s, newJob("acme", "a"))
	now := at()
	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w", now, 10))
	next := now.Add(time.Hour)
	require.NoError(t, s.Retry(t.Context(), a1.ID, "w", next, "ldap: connection refused", "unavailable"))

	j := getJob(t, s, a1.ID)
	want := a1
	want.State, want.Attempts, want.NotBefore = state.JobPending, 1, next
	want.LastError, want.ErrorClass = "ldap: connection refused", "unavailable"
	requireEqual(t, want, j)

	b1 := enqueue(t, s, newJob("acme", "b"))
	require.Equal(t, []string{b1.ID}, leaseIDs(t, s, "w", now, 10),
		"a1 is not due and a2 waits behind it; b goes ahead")
	require.NoError(t, s.Ack(t.Context(), b1.ID, "w"))
	require.Empty(t, leaseIDs(t, s, "w", next.Add(-time.Millisecond), 10))
	jobs, err := s.Lease(t.Context(), "w", next, 10, lease)
	require.NoError(t, err)
	require.Equal(t, []string{a1.ID}, ids(jobs))
	require.Equal(t, 2, jobs[0].Attempts)
	require.Equal(t, "unavailable", jobs[0].ErrorClass, "the last failure is kept while it runs again")
	require.NoError(t, s.Ack(t.Context(), a1.ID, "w"))
	require.Equal(t, []string{a2.ID}, leaseIDs(t, s, "w", next, 10))
}

func queueBuryRequeueDrop(t *testing.T, s state.Store) {
	a1 := enqueue(t, s, newJob("acme", "a"))
	a2 := enqueue(t, s, newJob("acme", "a"))
	a3 := enqueue(t, s, newJob("acme", "a"))
	now := at()

	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Bury(t.Context(), a1.ID, "w", "too many attempts", "unavailable"))
	dead := getJob(t, s, a1.ID)
	require.Equal(t, state.JobDead, dead.State)
	require.Equal(t, "too many attempts", dead.LastError)
	require.Equal(t, "unavailable", dead.ErrorClass)
	require.Empty(t, dead.Owner)
	require.True(t, dead.LeaseUntil.IsZero())
	got, err := s.List(t.Context(), state.JobFilter{State: state.JobDead}, 10)
	require.NoError(t, err)
	require.Equal(t, []string{a1.ID}, ids(got))
	require.ErrorIs(t, s.Ack(t.Context(), a1.ID, "w"), state.ErrConflict, "a dead job is nobody's")

	// a2 runs; the operator re-runs a1 meanwhile: it waits for a2 (a
	// worker holds the resource) but goes before a3, its old place.
	require.Equal(t, []string{a2.ID}, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Requeue(t.Context(), a1.ID))
	re := getJob(t, s, a1.ID)
	require.Equal(t, state.JobPending, re.State)
	require.Zero(t, re.Attempts, "requeue resets the attempts")
	require.True(t, re.NotBefore.IsZero(), "due at once")
	require.Equal(t, "too many attempts", re.LastError, "the last failure is kept")
	require.ErrorIs(t, s.Requeue(t.Context(), a2.ID), state.ErrConflict, "a leased job cannot be requeued")
	require.Empty(t, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Ack(t.Context(), a2.ID, "w"))
	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Ack(t.Context(), a1.ID, "w"))

	// Requeue of a pending job makes it due now, with fresh attempts.
	require.Equal(t, []string{a3.ID}, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Retry(t.Context(), a3.ID, "w", now.Add(time.Hour), "busy", "unavailable"))
	require.Empty(t, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Requeue(t.Context(), a3.ID))
	jobs, err := s.Lease(t.Context(), "w", now, 10, lease)
	require.NoError(t, err)
	require.Equal(t, []string{a3.ID}, ids(jobs))
	require.Equal(t, 1, jobs[0].Attempts)

	// Dropping a held job: the holder finds it gone.
	require.NoError(t, s.Drop(t.Context(), a3.ID))
	require.ErrorIs(t, s.Ack(t.Context(), a3.ID, "w"), state.ErrNotFound)
	_, err = s.Get(t.Context(), a3.ID)
	require.ErrorIs(t, err, state.ErrNotFound)

	require.ErrorIs(t, s.Drop(t.Context(), a3.ID), state.ErrNotFound, "dropped twice")
	require.ErrorIs(t, s.Requeue(t.Context(), "no-such-job"), state.ErrNotFound)
	require.ErrorIs(t, s.Ack(t.Context(), "no-such-job", "w"), state.ErrNotFound)
	require.ErrorIs(t, s.Retry(t.Context(), "no-such-job", "w", now, "x", "y"), state.ErrNotFound)
	require.ErrorIs(t, s.Bury(t.Context(), "no-such-job", "w", "x", "y"), state.ErrNotFound)
}

func queueRequeueGoesFirst(t *testing.T, s state.Store) {
	// a1 dies; a2 is next in line (due, not yet leased) when the
	// operator re-runs a1, which takes its place back ahead of a2.
	a1 := enqueue(t, s, newJob("acme", "a"))
	a2 := enqueue(t, s, newJob("acme", "a"))
	now := at()
	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Bury(t.Context(), a1.ID, "w", "x", "c"))
	require.NoError(t, s.Requeue(t.Context(), a1.ID))
	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Ack(t.Context(), a1.ID, "w"))
	require.Equal(t, []string{a2.ID}, leaseIDs(t, s, "w", now, 10))
}

func queueEnqueueNotBefore(t *testing.T, s state.Store) {
	now := at()
	j := newJob("acme", "a")
	j.NotBefore = now.Add(time.Minute)
	a1 := enqueue(t, s, j)
	a2 := enqueue(t, s, newJob("acme", "a"))
	b1 := enqueue(t, s, newJob("acme", "b"))
	require.Equal(t, []string{b1.ID}, leaseIDs(t, s, "w", now, 10), "a1 is not due, a2 waits behind it")
	require.NoError(t, s.Ack(t.Context(), b1.ID, "w"))
	require.Equal(t, []string{a1.ID}, leaseIDs(t, s, "w", now.Add(time.Minute), 10))
	require.NoError(t, s.Ack(t.Context(), a1.ID, "w"))
	require.Equal(t, []string{a2.ID}, leaseIDs(t, s, "w", now.Add(time.Minute), 10))
}

func queueDropUnblocks(t *testing.T, s state.Store) {
	for _, tc := range []struct {
		name  string
		setup func(t testing.TB, head state.Job)
	}{
		{"pending head", func(t testing.TB, head state.Job) {}},
		{"retried head", func(t testing.TB, head state.Job) {
			require.Equal(t, []string{head.ID}, leaseIDs(t, s, "w", at(), 1))
			require.NoError(t, s.Retry(t.Context(), head.ID, "w", at().Add(time.Hour), "x", "c"))
		}},
		{"leased head", func(t testing.TB, head state.Job) {
			require.Equal(t, []string{head.ID}, leaseIDs(t, s, "w", at(), 1))
		}},
	} {
		r := "r-" + tc.name
		head := enqueue(t, s, newJob("acme", r))
		next := enqueue(t, s, newJob("acme", r))
		tc.setup(t, head)
		require.NoError(t, s.Drop(t.Context(), head.ID), tc.name)
		require.Equal(t, []string{next.ID}, leaseIDs(t, s, "w", at(), 10), tc.name)
		require.NoError(t, s.Ack(t.Context(), next.ID, "w"))
	}
}

func queuePending(t *testing.T, s state.Store) {
	pending := func(tenant, resource string, want int) {
		t.Helper()
		n, err := s.Pending(t.Context(), tenant, resource)
		require.NoError(t, err)
		require.Equal(t, want, n, "%s %s", tenant, resource)
	}
	pending("acme", "a", 0)
	a1 := enqueue(t, s, newJob("acme", "a"))
	a2 := enqueue(t, s, newJob("acme", "a"))
	enqueue(t, s, newJob("acme", "a:x"))
	enqueue(t, s, newJob("beta", "a"))
	pending("acme", "a", 2)
	pending("acme", "a:x", 1)
	pending("beta", "a", 1)
	pending("acme", "b", 0)
	pending("acme", "", 0)

	now := at()
	require.Contains(t, leaseIDs(t, s, "w", now, 10), a1.ID)
	pending("acme", "a", 2) // leased still counts: it has not been applied
	require.NoError(t, s.Bury(t.Context(), a1.ID, "w", "x", "c"))
	pending("acme", "a", 1) // dead does not: nothing waits for it
	require.NoError(t, s.Requeue(t.Context(), a1.ID))
	pending("acme", "a", 2)
	require.NoError(t, s.Drop(t.Context(), a1.ID))
	require.NoError(t, s.Drop(t.Context(), a2.ID))
	pending("acme", "a", 0)
}

func queueList(t *testing.T, s state.Store) {
	// Enqueued with tenants interleaved; listed grouped by tenant.
	b1 := enqueue(t, s, newJob("beta", "x"))
	a1 := enqueue(t, s, newJob("acme", "x"))
	a2 := enqueue(t, s, newJob("acme", "y"))
	b2 := enqueue(t, s, newJob("beta", "y"))
	a3 := enqueue(t, s, newJob("acme", "x"))
	a4 := enqueue(t, s, newJob("acme", "z"))
	now := at()
	// Every head leased (a3 waits behind a1); then a1 buried, a4 and b2
	// back to pending: a1 dead, a2 and b1 leased, a3, a4, b2 pending.
	require.ElementsMatch(t, []string{b1.ID, a1.ID, a2.ID, b2.ID, a4.ID}, leaseIDs(t, s, "w", now, 100))
	require.NoError(t, s.Bury(t.Context(), a1.ID, "w", "x", "c"))
	require.NoError(t, s.Retry(t.Context(), a4.ID, "w", time.Time{}, "x", "c"))
	require.NoError(t, s.Retry(t.Context(), b2.ID, "w", time.Time{}, "x", "c"))

	for _, tc := range []struct {
		name  string
		f     state.JobFilter
		limit int
		want  []state.Job
	}{
		{"all", state.JobFilter{}, 100, []state.Job{a1, a2, a3, a4, b1, b2}},
		{"limit", state.JobFilter{}, 3, []state.Job{a1, a2, a3}},
		{"tenant", state.JobFilter{Tenant: "beta"}, 100, []state.Job{b1, b2}},
		{"unknown tenant", state.JobFilter{Tenant: "gamma"}, 100, nil},
		{"dead", state.JobFilter{State: state.JobDead}, 100, []state.Job{a1}},
		{"leased", state.JobFilter{State: state.JobLeased}, 100, []state.Job{a2, b1}},
		{"pending", state.JobFilter{State: state.JobPending}, 100, []state.Job{a3, a4, b2}},
		{"pending limit", state.JobFilter{State: state.JobPending}, 2, []state.Job{a3, a4}},
		{"tenant pending", state.JobFilter{Tenant: "acme", State: state.JobPending}, 100, []state.Job{a3, a4}},
		{"resource", state.JobFilter{Tenant: "acme", Resource: "x"}, 100, []state.Job{a1, a3}},
		{"resource dead", state.JobFilter{Tenant: "acme", Resource: "x", State: state.JobDead}, 100, []state.Job{a1}},
		{"resource pending", state.JobFilter{Tenant: "acme", Resource: "x", State: state.JobPending}, 100, []state.Job{a3}},
		{"resource leased", state.JobFilter{Tenant: "acme", Resource: "y", State: state.JobLeased}, 100, []state.Job{a2}},
		{"resource other tenant", state.JobFilter{Tenant: "beta", Resource: "x"}, 100, []state.Job{b1}},
		{"resource none", state.JobFilter{Tenant: "acme", Resource: "w"}, 100, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(t.Context(), tc.f, tc.limit)
			require.NoError(t, err)
			want := []string{}
			for _, j := range tc.want {
				want = append(want, j.ID)
			}
			require.Equal(t, want, ids(got))
			for _, j := range got {
				requireEqual(t, getJob(t, s, j.ID), j)
			}
		})
	}

	for _, tc := range []struct {
		name  string
		f     state.JobFilter
		limit int
	}{
		{"zero limit", state.JobFilter{}, 0},
		{"negative limit", state.JobFilter{}, -1},
		{"resource without tenant", state.JobFilter{Resource: "x"}, 10},
		{"unknown state", state.JobFilter{State: "stuck"}, 10},
	} {
		_, err := s.List(t.Context(), tc.f, tc.limit)
		require.Error(t, err, tc.name)
	}
}

func queueListLeasedInEnqueueOrder(t *testing.T, s state.Store) {
	var want []string
	for i := range 4 {
		want = append(want, enqueue(t, s, newJob("acme", fmt.Sprintf("r%d", i))).ID)
	}
	now := at()
	require.Equal(t, want, leaseIDs(t, s, "w", now, 10))
	// Lease expiry order differs from enqueue order.
	require.NoError(t, s.Extend(t.Context(), want[0], "w", now.Add(10*time.Hour)))
	require.NoError(t, s.Extend(t.Context(), want[1], "w", now.Add(5*time.Hour)))
	got, err := s.List(t.Context(), state.JobFilter{State: state.JobLeased}, 2)
	require.NoError(t, err)
	require.Equal(t, want[:2], ids(got))
}

func queueStats(t *testing.T, s state.Store) {
	stats := func(tenant string) state.QueueStats {
		t.Helper()
		st, err := s.Stats(t.Context(), tenant)
		require.NoError(t, err)
		return st
	}
	requireEqual(t, state.QueueStats{}, stats(""))

	job := func(tenant, resource string, age time.Duration) state.Job {
		j := newJob(tenant, resource)
		j.CreatedAt = base.Add(age)
		return enqueue(t, s, j)
	}
	now := at()
	a1 := job("acme", "a", 10*time.Minute)
	a2 := job("acme", "b", 20*time.Minute)
	a3 := job("acme", "c", 30*time.Minute)
	job("acme", "c", 40*time.Minute)
	b := newJob("beta", "a")
	b.CreatedAt, b.NotBefore = base.Add(5*time.Minute), now.Add(time.Hour) // not due
	b1 := enqueue(t, s, b)

	// a1: two failed attempts (unavailable); a2: one (busy), now leased
	// again (2 attempts); a3 dead; b1 pending, never tried.
	require.ElementsMatch(t, []string{a1.ID, a2.ID, a3.ID}, leaseIDs(t, s, "w", now, 10))
	require.NoError(t, s.Retry(t.Context(), a1.ID, "w", time.Time{}, "e", "unavailable"))
	require.NoError(t, s.Retry(t.Context(), a2.ID, "w", time.Time{}, "e", "busy"))
	require.NoError(t, s.Bury(t.Context(), a3.ID, "w", "e", "invalid"))
	got := leaseIDs(t, s, "w", now, 2)
	require.ElementsMatch(t, []string{a1.ID, a2.ID}, got)
	require.NoError(t, s.Retry(t.Context(), a1.ID, "w", time.Time{}, "e", "unavailable"))

	requireEqual(t, state.QueueStats{
		Pending: 3, Leased: 1, Dead: 1,
		Oldest:          base.Add(5 * time.Minute),
		AttemptsByClass: map[string]int{"unavailable": 2, "busy": 2},
	}, stats(""))
	acme := stats("acme")
	requireEqual(t, state.QueueStats{
		Pending: 2, Leased: 1, Dead: 1,
		Oldest:          base.Add(10 * time.Minute),
		AttemptsByClass: map[string]int{"unavailable": 2, "busy": 2},
	}, acme)
	require.Equal(t, 3, acme.Depth())
	require.Equal(t, 5*time.Minute, acme.OldestAge(base.Add(15*time.Minute)))
	requireEqual(t, state.QueueStats{Pending: 1, Oldest: base.Add(5 * time.Minute)}, stats("beta"))
	requireEqual(t, state.QueueStats{}, stats("gamma"))

	// Requeue resets the attempts; done jobs leave the counts.
	require.NoError(t, s.Requeue(t.Context(), a1.ID))
	require.NoError(t, s.Ack(t.Context(), a2.ID, "w"))
	require.NoError(t, s.Drop(t.Context(), b1.ID))
	requireEqual(t, state.QueueStats{
		Pending: 2, Dead: 1,
		Oldest: base.Add(10 * time.Minute),
	}, stats(""))
}

func queueConcurrentLeasers(t *testing.T, s state.Store) {
	const resources, perResource, workers = 12, 8, 6
	order := map[string][]string{} // resource -> job ids in enqueue order
	for i := range resources * perResource {
		r := fmt.Sprintf("r%02d", i%resources)
		order[r] = append(order[r], enqueue(t, s, newJob("acme", r)).ID)
	}
	var (
		mu      sync.Mutex
		applied = map[string][]string{} // resource -> job ids in apply order
		seen    = map[string]string{}   // job id -> worker
		wg      sync.WaitGroup
	)
	now := at()
	start := make(chan struct{})
	for w := range workers {
		owner := fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			<-start
			for idle := 0; idle < 50; {
				jobs, err := s.Lease(t.Context(), owner, now, 3, lease)
				if err != nil {
					t.Errorf("%s: lease: %v", owner, err)
					return
				}
				if len(jobs) == 0 {
					idle++
					time.Sleep(time.Millisecond)
					continue
				}
				idle = 0
				for _, j := range jobs {
					mu.Lock()
					if other, ok := seen[j.ID]; ok {
						t.Errorf("job %s leased by %s and %s", j.ID, other, owner)
					}
					seen[j.ID] = owner
					applied[j.Resource] = append(applied[j.Resource], j.ID)
					mu.Unlock()
					if err := s.Ack(t.Context(), j.ID, owner); err != nil {
						t.Errorf("%s: ack: %v", owner, err)
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	require.False(t, t.Failed())
	require.Len(t, seen, resources*perResource, "every job applied once")
	for r, want := range order {
		require.Equal(t, want, applied[r], "apply order of %s", r)
	}
	st, err := s.Stats(t.Context(), "")
	require.NoError(t, err)
	require.Zero(t, st.Depth())
}

func queueConcurrentProducersAndWorkers(t *testing.T, s state.Store) {
	// Producers enqueue while workers lease, retry once and ack: every
	// job is applied exactly once, each resource in enqueue order.
	const producers, each, workers = 4, 20, 4
	var (
		mu       sync.Mutex
		order    = map[string][]string{}
		applied  = map[string][]string{}
		retried  = map[string]bool{}
		wg       sync.WaitGroup
		produced sync.WaitGroup
		done     = make(chan struct{})
	)
	now := at()
	for p := range producers {
		produced.Go(func() {
			for i := range each {
				r := fmt.Sprintf("r%d", (p+i)%5)
				// Enqueue and record under one lock, so that the
				// recorded order is the enqueue order of r.
				mu.Lock()
				j, err := s.Enqueue(t.Context(), newJob("acme", r))
				if err == nil {
					order[r] = append(order[r], j.ID)
				}
				mu.Unlock()
				if err != nil {
					t.Errorf("enqueue: %v", err)
					return
				}
			}
		})
	}
	for w := range workers {
		owner := fmt.Sprintf("w%d", w)
		wg.Go(func() {
			for {
				jobs, err := s.Lease(t.Context(), owner, now, 2, lease)
				if err != nil {
					t.Errorf("lease: %v", err)
					return
				}
				if len(jobs) == 0 {
					select {
					case <-done:
						return
					case <-time.After(2 * time.Millisecond):
					}
					continue
				}
				for _, j := range jobs {
					mu.Lock()
					first := !retried[j.ID]
					retried[j.ID] = true
					if !first {
						applied[j.Resource] = append(applied[j.Resource], j.ID)
					}
					mu.Unlock()
					if first {
						err = s.Retry(t.Context(), j.ID, owner, time.Time{}, "first try fails", "unavailable")
					} else {
						err = s.Ack(t.Context(), j.ID, owner)
					}
					if err != nil {
						t.Errorf("%s: %v", owner, err)
					}
				}
			}
		})
	}
	// The workers stop before the case returns, also when it fails: one
	// that outlived it would fail a finished test and panic the binary.
	stop := sync.OnceFunc(func() {
		close(done)
		wg.Wait()
	})
	defer stop()
	produced.Wait()
	// Drain: wait until nothing is left, then stop the workers. A slow
	// machine drains slowly (a SQLite commit is a full fsync); only a queue
	// that stops draining fails.
	depth, progressed := -1, time.Now()
	for {
		st, err := s.Stats(t.Context(), "")
		require.NoError(t, err)
		if st.Depth() == 0 {
			break
		}
		if st.Depth() != depth {
			depth, progressed = st.Depth(), time.Now()
		}
		require.Less(t, time.Since(progressed), hangAfter, "the queue stopped draining at depth %d", depth)
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	require.False(t, t.Failed())
	total := 0
	for r, want := range order {
		require.Equal(t, want, applied[r], "apply order of %s", r)
		total += len(want)
	}
	require.Equal(t, producers*each, total)
}
