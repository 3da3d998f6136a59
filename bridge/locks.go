package bridge

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// lockLease is how long a resource's shared lock outlives a holder that
// died: the next writer (or the worker) waits at most this long. A live
// holder renews it every lockRenew while its write runs, so a slow target
// never lets a second writer in.
const (
	lockLease = 15 * time.Second
	lockRenew = lockLease / 3
)

// locker serialises writes to one resource across goroutines (a keyed
// in-process mutex, so waiters in one process queue in arrival order
// without polling) and across replicas (a lease in the state store).
type locker struct {
	store state.Locks // nil: single process only
	owner string
	log   hclog.Logger
	obs   Observer // nil: not observed
	// lease and renewEvery are lockLease and lockRenew (tests shorten them).
	lease, renewEvery time.Duration

	mu    sync.Mutex
	local map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // capacity 1: holding the token means holding the lock
	refs int
}

func newLocker(store state.Locks, owner string, log hclog.Logger, obs Observer) *locker {
	return &locker{store: store, owner: owner, log: log, obs: obs, lease: lockLease, renewEvery: lockRenew, local: map[string]*keyLock{}}
}

// lock takes the locks on keys (sorted, so that two writers needing the
// same keys cannot deadlock) and returns the function releasing them.
func (l *locker) lock(ctx context.Context, keys ...string) (func(), error) {
	if l.obs != nil {
		start := time.Now()
		defer func() { l.obs.LockWait(time.Since(start)) }()
	}
	keys = uniqueSorted(keys)
	var releases []func()
	release := func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	for _, k := range keys {
		r, err := l.lockOne(ctx, k)
		if err != nil {
			release()
			return nil, err
		}
		releases = append(releases, r)
	}
	return release, nil
}

func (l *locker) lockOne(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	kl := l.local[key]
	if kl == nil {
		kl = &keyLock{ch: make(chan struct{}, 1)}
		l.local[key] = kl
	}
	kl.refs++
	l.mu.Unlock()

	drop := func() {
		l.mu.Lock()
		kl.refs--
		if kl.refs == 0 {
			delete(l.local, key)
		}
		l.mu.Unlock()
	}
	select {
	case kl.ch <- struct{}{}:
	case <-ctx.Done():
		drop()
		return nil, ctx.Err()
	}
	unlocal := func() { <-kl.ch; drop() }

	if l.store == nil {
		return unlocal, nil
	}
	if err := l.acquireShared(ctx, key); err != nil {
		unlocal()
		return nil, err
	}
	stopRenew := l.renew(ctx, key)
	return func() {
		stopRenew()
		// Release even if the request's ctx is done, so the next writer
		// does not wait for the lease to run out.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := l.store.Unlock(uctx, key, l.owner); err != nil {
			l.log.Warn("state store unlock failed; the lease will expire by itself", "key", key, "error", err)
		}
		unlocal()
	}, nil
}

// renew keeps the shared lease on key alive until the returned function is
// called (TryLock by the holder renews it).
func (l *locker) renew(ctx context.Context, key string) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(l.renewEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.renewEvery)
				ok, err := l.store.TryLock(rctx, key, l.owner, l.lease)
				cancel()
				if err != nil || !ok {
					l.log.Warn("could not renew a resource lock; another writer may start after it expires", "key", key, "error", err)
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// acquireShared polls the state store's lease with a capped backoff. If the
// store is unreachable the write goes on under the in-process lock alone:
// the target's natural keys still prevent duplicates (DESIGN: degraded
// state store keeps serving).
func (l *locker) acquireShared(ctx context.Context, key string) error {
	wait := 2 * time.Millisecond
	for {
		ok, err := l.store.TryLock(ctx, key, l.owner, l.lease)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, state.ErrUnavailable) {
				l.log.Warn("state store unavailable; ordering across replicas not guaranteed for this write", "key", key, "error", err)
				return nil
			}
			return err
		}
		if ok {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

func uniqueSorted(keys []string) []string {
	out := append([]string(nil), keys...)
	sort.Strings(out)
	n := 0
	for i, k := range out {
		if i == 0 || k != out[n-1] {
			out[n] = k
			n++
		}
	}
	return out[:n]
}
