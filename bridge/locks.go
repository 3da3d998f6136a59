package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/scim"
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
// without polling) and across replicas (leases in the state store, taken
// in the same round trip as the reads a write starts with).
type locker struct {
	store lockStore // nil: single process only
	owner string
	log   hclog.Logger
	obs   Observer // nil: not observed
	// lease and renewEvery are lockLease and lockRenew (tests shorten them).
	lease, renewEvery time.Duration

	mu    sync.Mutex
	local map[string]*keyLock
}

// lockStore is what the locker needs of the state store.
type lockStore interface {
	state.Locks
	state.Writes
}

type keyLock struct {
	ch   chan struct{} // capacity 1: holding the token means holding the lock
	refs int
}

func newLocker(store lockStore, owner string, log hclog.Logger, obs Observer) *locker {
	return &locker{store: store, owner: owner, log: log, obs: obs, lease: lockLease, renewEvery: lockRenew, local: map[string]*keyLock{}}
}

// held is one write's locks, and what the write records when it releases
// them.
type held struct {
	l         *locker
	ctx       context.Context
	keys      []string
	fp        string
	unlocal   []func()
	stopRenew func()
	end       state.WriteEnd
}

// begin takes the locks on keys (sorted, so that two writers needing the
// same keys cannot deadlock), in process first and then in the state
// store, whose BeginWrite also reads what b asks (the answer stored under
// b.Answer, the backlog of b.Resource). The caller must call release.
func (l *locker) begin(ctx context.Context, b state.WriteBegin, keys ...string) (*held, state.WriteStart, error) {
	if l.obs != nil {
		start := time.Now()
		defer func() { l.obs.LockWait(time.Since(start)) }()
	}
	h := &held{l: l, ctx: ctx, keys: uniqueSorted(keys), fp: b.Answer}
	for _, k := range h.keys {
		r, err := l.lockLocal(ctx, k)
		if err != nil {
			h.releaseLocal()
			return nil, state.WriteStart{}, err
		}
		h.unlocal = append(h.unlocal, r)
	}
	if l.store == nil {
		return h, state.WriteStart{}, nil
	}
	b.Owner, b.Locks, b.Lease = l.owner, h.keys, l.lease
	st, err := l.beginShared(ctx, b)
	if err != nil {
		h.releaseLocal()
		return nil, state.WriteStart{}, err
	}
	h.stopRenew = l.renew(ctx, h.keys)
	return h, st, nil
}

// lockLocal takes the in-process lock on key.
func (l *locker) lockLocal(ctx context.Context, key string) (func(), error) {
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
	return func() { <-kl.ch; drop() }, nil
}

// beginShared polls BeginWrite with a capped backoff while another replica
// holds a lease. If the store is unreachable the write goes on under the
// in-process locks alone, with nothing read: the target's natural keys
// still prevent duplicates (docs/design.md §5, "state store down").
func (l *locker) beginShared(ctx context.Context, b state.WriteBegin) (state.WriteStart, error) {
	wait := 2 * time.Millisecond
	for {
		st, err := l.store.BeginWrite(ctx, b)
		if err != nil {
			if ctx.Err() != nil {
				return state.WriteStart{}, ctx.Err()
			}
			if errors.Is(err, state.ErrUnavailable) {
				l.log.Warn("state store unavailable; ordering across replicas not guaranteed for this write", "keys", b.Locks, "error", err)
				return state.WriteStart{}, nil
			}
			return state.WriteStart{}, err
		}
		if st.Locked {
			return st, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return state.WriteStart{}, ctx.Err()
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// renew keeps the shared leases on keys alive until the returned function
// is called (TryLock by the holder renews a lease).
func (l *locker) renew(ctx context.Context, keys []string) func() {
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
				for _, key := range keys {
					rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.renewEvery)
					ok, err := l.store.TryLock(rctx, key, l.owner, l.lease)
					cancel()
					if err != nil || !ok {
						l.log.Warn("could not renew a resource lock; another writer may start after it expires", "key", key, "error", err)
					}
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// remember has release store res as the answer to the write's request,
// with a bump of the version of resource (the key of id; see
// Service.replay).
func (h *held) remember(resource, id string, status int, res scim.Resource, ttl time.Duration) {
	if h.l.store == nil || h.fp == "" {
		return
	}
	var body []byte
	if res != nil {
		var err error
		if body, err = json.Marshal(res); err != nil {
			return
		}
	}
	h.end = state.WriteEnd{Key: h.fp, Version: resource, TTL: ttl,
		Answer: state.Answer{Status: status, Body: body, ResourceID: id}}
}

// release records what remember kept and releases the locks: the answer is
// stored before the next writer can look for it. It runs even if the
// request's ctx is done, so the next writer does not wait for the lease to
// run out.
func (h *held) release() {
	if h.stopRenew != nil {
		h.stopRenew()
	}
	if h.l.store != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), 2*time.Second)
		e := h.end
		e.Owner, e.Locks = h.l.owner, h.keys
		if err := h.l.store.EndWrite(ctx, e); err != nil {
			h.l.log.Warn("state store did not record the write; its replay will apply it again, and its locks expire by themselves", "keys", h.keys, "error", err)
		}
		cancel()
	}
	h.releaseLocal()
}

func (h *held) releaseLocal() {
	for i := len(h.unlocal) - 1; i >= 0; i-- {
		h.unlocal[i]()
	}
	h.unlocal = nil
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
