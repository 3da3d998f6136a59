package bridge

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/sethvargo/go-retry"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// WorkerOptions configure the retry worker.
type WorkerOptions struct {
	// Owner identifies this process in leases (the same as the services').
	Owner string
	// MaxAttempts buries a job after this many attempts (inline attempts
	// not counted). Default 20.
	MaxAttempts int
	// MaxAge buries a job this long after it was queued. Default 7 days.
	MaxAge time.Duration
	// BaseDelay is the first retry's delay; it doubles per attempt, with
	// jitter, up to MaxDelay. Defaults 2s and 10m.
	BaseDelay, MaxDelay time.Duration
	// Timeout bounds one attempt (like a request). Default 25s.
	Timeout time.Duration
	// Poll is how often the queue is checked when nothing wakes the
	// worker. Default 1s.
	Poll time.Duration
	// Parallel is how many jobs are applied at once (jobs of one resource
	// are never leased together, so order holds). Default 4.
	Parallel int
	// Observer, when set, is told of attempts and dead-lettered jobs.
	Observer WorkerObserver
}

// WorkerObserver receives the worker's events, for metrics. JobAttempt's
// class is "" for a successful attempt.
type WorkerObserver interface {
	JobAttempt(tenant, class string)
	DeadLettered(tenant string)
}

// Worker applies queued writes when their target is back: per resource in
// queue order, with exponential backoff and jitter between attempts, under
// leases (a crashed worker's jobs are taken again when its lease runs out),
// burying a job in the dead letter state after too many attempts or too
// long. Failures that retrying cannot fix (a 4xx: conflict, invalid value,
// a resource gone) are buried at once for an operator to look at.
type Worker struct {
	queue    state.Queue
	services atomic.Pointer[map[string]*Service]
	o        WorkerOptions
	log      hclog.Logger
	wake     chan struct{}
}

// NewWorker builds the worker for the given tenants' services.
func NewWorker(queue state.Queue, services []*Service, o WorkerOptions, log hclog.Logger) *Worker {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 2 * time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 10 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 25 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	w := &Worker{queue: queue, o: o, log: log.Named("worker"), wake: make(chan struct{}, 1)}
	w.SetServices(services...)
	return w
}

// SetServices makes services the tenants whose jobs the worker applies
// from the next job on (a reload); a job in flight finishes on its service.
func (w *Worker) SetServices(services ...*Service) {
	m := make(map[string]*Service, len(services))
	for _, s := range services {
		m[s.tenant] = s
	}
	w.services.Store(&m)
}

// Wake makes the worker look at the queue now (after an enqueue).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// lease is how long a job is held: longer than an attempt may take, so a
// live worker never loses it, short enough that a dead one's jobs come
// back soon.
func (w *Worker) lease() time.Duration { return w.o.Timeout + 30*time.Second }

// Run works the queue until ctx is done.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.o.Poll)
	defer t.Stop()
	for {
		for w.RunOnce(ctx) > 0 && ctx.Err() == nil {
			// Keep draining while there is work.
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce leases one batch of due jobs and applies them; it returns how
// many it handled.
func (w *Worker) RunOnce(ctx context.Context) int {
	jobs, err := w.queue.Lease(ctx, w.o.Owner, time.Now(), w.o.Parallel, w.lease())
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("cannot lease queued jobs", "error", err)
		}
		return 0
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.process(ctx, j)
		}()
	}
	wg.Wait()
	return len(jobs)
}

func (w *Worker) process(ctx context.Context, j state.Job) {
	log := w.log.With("job", j.ID, "tenant", j.Tenant, "op", j.Op, "attempt", j.Attempts)
	svc, ok := (*w.services.Load())[j.Tenant]
	if !ok {
		w.bury(ctx, log, j, "no such tenant in this configuration", ClassInternal)
		return
	}
	actx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	err := svc.applyQueued(actx, j.Payload)
	cancel()
	if err == nil {
		if w.o.Observer != nil {
			w.o.Observer.JobAttempt(j.Tenant, "") // a successful attempt
		}
		if err := w.queue.Ack(ctx, j.ID, w.o.Owner); err != nil && !errors.Is(err, state.ErrNotFound) {
			log.Warn("applied, but the job could not be acknowledged; it will be applied again (idempotent)", "error", err)
		}
		log.Info("queued write applied")
		return
	}
	class := errorClass(err)
	if w.o.Observer != nil {
		w.o.Observer.JobAttempt(j.Tenant, class)
	}
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and the job is taken again
	}
	switch {
	case class != ClassUnavailable:
		w.bury(ctx, log, j, errText(err), class)
	case j.Attempts >= w.o.MaxAttempts:
		w.bury(ctx, log, j, "gave up after "+strconv.Itoa(j.Attempts)+" attempts: "+errText(err), class)
	case time.Since(j.CreatedAt) > w.o.MaxAge:
		w.bury(ctx, log, j, "gave up after "+time.Since(j.CreatedAt).Round(time.Minute).String()+": "+errText(err), class)
	default:
		delay := Backoff(j.Attempts, w.o.BaseDelay, w.o.MaxDelay)
		if err := w.queue.Retry(ctx, j.ID, w.o.Owner, time.Now().Add(delay), errText(err), class); err != nil && !errors.Is(err, state.ErrNotFound) {
			log.Warn("cannot reschedule the job; its lease will run out and it is retried then", "error", err)
			return
		}
		log.Debug("queued write failed; retrying later", "class", class, "delay", delay)
	}
}

func (w *Worker) bury(ctx context.Context, log hclog.Logger, j state.Job, why, class string) {
	if err := w.queue.Bury(ctx, j.ID, w.o.Owner, why, class); err != nil && !errors.Is(err, state.ErrNotFound) {
		log.Warn("cannot dead-letter the job", "error", err)
		return
	}
	log.Error("queued write dead-lettered; see `scimbridge queue list --state dead`", "class", class, "reason", why)
	if w.o.Observer != nil {
		w.o.Observer.DeadLettered(j.Tenant)
	}
}

// Backoff is the delay before the attempt after attempts failed ones:
// base·2^(attempts-1), with ±10 % jitter, capped at max. go-retry computes
// the sequence; the attempt count is the one persisted with the job.
func Backoff(attempts int, base, max time.Duration) time.Duration {
	b := retry.WithCappedDuration(max, retry.WithJitterPercent(10, retry.NewExponential(base)))
	d := base
	for range max1(attempts) {
		d, _ = b.Next()
	}
	return d
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
