package bridge

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
)

type countingObserver struct {
	mu       sync.Mutex
	attempts map[string]int
	dead     int
}

func (o *countingObserver) JobAttempt(_, class string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.attempts == nil {
		o.attempts = map[string]int{}
	}
	o.attempts[class]++
}

func (o *countingObserver) DeadLettered(string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dead++
}

func newWorker(f *fixture, obs WorkerObserver, attempts int) *Worker {
	return NewWorker(f.state, []*Service{f.svc}, WorkerOptions{Owner: "w1", MaxAttempts: attempts,
		BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Timeout: 5 * time.Second, Observer: obs}, hclog.NewNullLogger())
}

func jobs(t *testing.T, f *fixture, st state.JobState) []state.Job {
	t.Helper()
	js, err := f.state.List(context.Background(), state.JobFilter{Tenant: "t", State: st}, 100)
	require.NoError(t, err)
	return js
}

// A create that meets a dead target is queued (503), applied by the worker
// once the target is back, and Entra's retry of it then gets the stored
// answer: one row, the same id.
func TestQueuedCreateIsAppliedOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.be.inject("Create", 1000, false)
	_, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.Equal(t, 503, scimStatus(t, err))
	_, err = f.svc.Create(ctx, scim.User, user("e1", "a@x.com")) // Entra retries while still down
	require.Equal(t, 503, scimStatus(t, err))
	require.Len(t, jobs(t, f, ""), 1, "the same request is queued once")

	f.be.inject("", 0, false) // the target is back
	require.Equal(t, 1, newWorker(f, nil, 5).RunOnce(ctx))
	require.Empty(t, jobs(t, f, ""))
	recs, total, err := f.be.Find(ctx, backends.Query{Kind: backends.User, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, total)

	res, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	require.Equal(t, recs[0].ID, res["id"])
}

// Writes to one resource are applied in arrival order: a PATCH arriving
// while an earlier one is queued waits behind it (503), and the worker
// applies both in order.
func TestQueueKeepsPerResourceOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	id := res["id"].(string)

	f.be.inject("Modify", 1000, false)
	_, err = f.svc.Patch(ctx, scim.User, id, patch(t, `[{"op":"Replace","path":"title","value":"first"}]`))
	require.Equal(t, 503, scimStatus(t, err))
	f.be.inject("", 0, false)
	// The target is back, but the resource has a backlog: this one queues too.
	_, err = f.svc.Patch(ctx, scim.User, id, patch(t, `[{"op":"Replace","path":"title","value":"second"}]`))
	require.Equal(t, 503, scimStatus(t, err))
	// Another resource is not held back.
	_, err = f.svc.Create(ctx, scim.User, user("e2", "b@x.com"))
	require.NoError(t, err)
	require.Len(t, jobs(t, f, ""), 2)

	w := newWorker(f, nil, 5)
	for w.RunOnce(ctx) > 0 {
	}
	got, err := f.svc.Get(ctx, scim.User, id, scim.ListParams{})
	require.NoError(t, err)
	require.Equal(t, "second", got["title"])
	require.Empty(t, jobs(t, f, ""))
}

// A job whose target stays down is retried with growing delays and
// buried after MaxAttempts; an operator's requeue gives it a new budget.
func TestJobIsDeadLetteredAfterMaxAttempts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	f.be.inject("Modify", 1_000_000, false)
	_, err = f.svc.Patch(ctx, scim.User, res["id"].(string), patch(t, `[{"op":"Replace","path":"title","value":"x"}]`))
	require.Equal(t, 503, scimStatus(t, err))

	obs := &countingObserver{}
	w := newWorker(f, obs, 3)
	require.Eventually(t, func() bool { w.RunOnce(ctx); return len(jobs(t, f, state.JobDead)) == 1 }, 10*time.Second, 5*time.Millisecond)
	dead := jobs(t, f, state.JobDead)[0]
	require.Equal(t, 3, dead.Attempts)
	require.Equal(t, ClassUnavailable, dead.ErrorClass)
	require.Contains(t, dead.LastError, "gave up after 3 attempts")
	require.Contains(t, dead.LastError, "injected: connection reset",
		"the dead letter keeps the directory's own error, not only the SCIM detail")
	require.Equal(t, 1, obs.dead)
	require.Equal(t, 3, obs.attempts[ClassUnavailable])

	f.be.inject("", 0, false)
	require.NoError(t, f.state.Requeue(ctx, dead.ID))
	require.Equal(t, 1, w.RunOnce(ctx))
	got, err := f.svc.Get(ctx, scim.User, res["id"].(string), scim.ListParams{})
	require.NoError(t, err)
	require.Equal(t, "x", got["title"])
}

// A failure retrying cannot fix (here: the userName was taken by another
// user meanwhile) is buried at once with its class.
func TestPermanentFailureIsBuriedAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.be.inject("Create", 1000, false)
	_, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.Equal(t, 503, scimStatus(t, err))
	f.be.inject("", 0, false)
	_, err = f.be.Backend.Create(ctx, backends.User, map[string][]string{"login": {"A@x.com"}, "external_id": {"other"}, "email": {"a@x.com"}})
	require.NoError(t, err)

	require.Equal(t, 1, newWorker(f, nil, 5).RunOnce(ctx))
	dead := jobs(t, f, state.JobDead)
	require.Len(t, dead, 1)
	require.Equal(t, ClassConflict, dead[0].ErrorClass)
	require.Equal(t, 1, dead[0].Attempts)
	require.Regexp(t, `is already used by another user \(id .+\): already exists$`, dead[0].LastError,
		"the SCIM detail, then the target's own error")
}

// A job leased by a worker that died is taken again once its lease runs
// out, and applied.
func TestCrashedWorkersJobIsTakenAgain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.be.inject("Create", 1000, false)
	_, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.Equal(t, 503, scimStatus(t, err))
	f.be.inject("", 0, false)
	// The lease is long enough for the first RunOnce on a loaded machine.
	leased, err := f.state.Lease(ctx, "dead-worker", time.Now(), 10, 500*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, leased, 1)

	w := newWorker(f, nil, 5)
	require.Equal(t, 0, w.RunOnce(ctx), "held by the other worker")
	time.Sleep(600 * time.Millisecond)
	require.Equal(t, 1, w.RunOnce(ctx))
	_, total, err := f.be.Find(ctx, backends.Query{Kind: backends.User})
	require.NoError(t, err)
	require.Equal(t, 1, total)
}

// The worker wakes on an enqueue and stops with its context.
func TestWorkerRunWakesAndStops(t *testing.T) {
	f := newFixture(t)
	var w *Worker
	f.svc.wake = func() { w.Wake() }
	w = NewWorker(f.state, []*Service{f.svc}, WorkerOptions{Owner: "w1", Poll: time.Hour, BaseDelay: time.Millisecond}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()

	f.be.inject("Create", 3, false) // three inline attempts fail, the queued one succeeds
	_, err := f.svc.Create(context.Background(), scim.User, user("e1", "a@x.com"))
	require.Equal(t, 503, scimStatus(t, err))
	require.Eventually(t, func() bool {
		_, total, err := f.be.Find(context.Background(), backends.Query{Kind: backends.User})
		return err == nil && total == 1
	}, 5*time.Second, 10*time.Millisecond, "woken without waiting for the hourly poll")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop")
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n <= 6; n++ {
		d := Backoff(n, time.Second, time.Minute)
		require.Greater(t, d, prev*3/2, "attempt %d: %v after %v", n, d, prev)
		prev = d
	}
	require.LessOrEqual(t, Backoff(30, time.Second, time.Minute), time.Minute)
	require.GreaterOrEqual(t, Backoff(30, time.Second, time.Minute), 50*time.Second)
}
