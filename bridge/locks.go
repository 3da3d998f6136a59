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

// lockLease is longer than any request may take (the request deadline is
// capped well under Entra's 60 s), so a lease never expires under a live
// holder and no renewal is needed; a crashed holder's lease runs out by
// itself.
const lockLease = 60 * time.Second

// locker serialises writes to one resource across goroutines (a keyed
// in-process mutex, so waiters in one process queue in arrival order
// without polling) and across replicas (a lease in the state store).
type locker struct {
	store state.Locks // nil: single process only
	owner string
	log   hclog.Logger
	obs   Observer // nil: not observed

	mu    sync.Mutex
	local map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // capacity 1: holding the token means holding the lock
	refs int
}

func newLocker(store state.Locks, owner string, log hclog.Logger, obs Observer) *locker {
	return &locker{store: store, owner: owner, log: log, obs: obs, local: map[string]*keyLock{}}
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
	return func() {
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

// acquireShared polls the state store's lease with a capped backoff. If the
// store is unreachable the write goes on under the in-process lock alone:
// the target's natural keys still prevent duplicates (DESIGN: degraded
// state store keeps serving).
func (l *locker) acquireShared(ctx context.Context, key string) error {
	wait := 2 * time.Millisecond
	for {
		ok, err := l.store.TryLock(ctx, key, l.owner, lockLease)
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
