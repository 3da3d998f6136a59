package statetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

func testLocks(t *testing.T, open opener) {
	// lock asserts what TryLock answers.
	lock := func(t testing.TB, s state.Store, key, owner string, lease time.Duration, want bool) {
		t.Helper()
		got, err := s.TryLock(t.Context(), key, owner, lease)
		require.NoError(t, err)
		require.Equal(t, want, got, "TryLock(%q, %q)", key, owner)
	}

	t.Run("Exclusive", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		lock(t, s, "k", "a", long, true)
		lock(t, s, "k", "b", long, false)
		lock(t, s, "k", "c", long, false)
		lock(t, s, "k", "a", long, true) // re-entrant: the holder renews
		lock(t, s, "k", "b", long, false)
	})

	t.Run("KeysIndependent", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		lock(t, s, "acme/Users/u1", "a", long, true)
		lock(t, s, "acme/Users/u2", "b", long, true)
		lock(t, s, "acme/Users/u1:x", "c", long, true)
		lock(t, s, "acme/Users/u*", "d", long, true)
		lock(t, s, "acme/Users/u1", "b", long, false)
	})

	t.Run("RenewExtendsLease", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		lock(t, s, "k", "a", short, true)
		lock(t, s, "k", "a", long, true)
		time.Sleep(pastShort)
		lock(t, s, "k", "b", long, false)
	})

	t.Run("UnlockReleases", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		lock(t, s, "k", "a", long, true)
		require.NoError(t, s.Unlock(t.Context(), "k", "a"))
		lock(t, s, "k", "b", long, true)
		lock(t, s, "k", "a", long, false)
	})

	t.Run("UnlockByNonOwner", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		lock(t, s, "k", "a", long, true)
		require.NoError(t, s.Unlock(t.Context(), "k", "b"))
		lock(t, s, "k", "c", long, false)
		lock(t, s, "k", "a", long, true)
	})

	t.Run("UnlockUnknown", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.NoError(t, s.Unlock(t.Context(), "never-locked", "a"))
		require.NoError(t, s.Unlock(t.Context(), "never-locked", "a"), "twice")
	})

	t.Run("LeaseExpiry", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		lock(t, s, "k", "a", short, true)
		time.Sleep(pastShort)
		lock(t, s, "k", "b", long, true)
		// a's late Unlock must not release b's lock.
		require.NoError(t, s.Unlock(t.Context(), "k", "a"))
		lock(t, s, "k", "c", long, false)
		lock(t, s, "k", "a", long, false)
	})

	t.Run("ConcurrentRounds", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		const rounds, contenders = 20, 16
		for r := range rounds {
			key := fmt.Sprintf("round-%d", r)
			var (
				wg      sync.WaitGroup
				winners atomic.Int32
				winner  atomic.Value
			)
			start := make(chan struct{})
			for i := range contenders {
				owner := fmt.Sprintf("owner-%d", i)
				wg.Go(func() {
					<-start
					ok, err := s.TryLock(t.Context(), key, owner, long)
					if err != nil {
						t.Errorf("TryLock: %v", err)
						return
					}
					if ok {
						winners.Add(1)
						winner.Store(owner)
					}
				})
			}
			close(start)
			wg.Wait()
			require.False(t, t.Failed())
			require.Equal(t, int32(1), winners.Load(), "winners of round %d", r)
			// The winner holds the lock: everybody else still fails.
			w := winner.Load().(string)
			for i := range contenders {
				owner := fmt.Sprintf("owner-%d", i)
				lock(t, s, key, owner, long, owner == w)
			}
		}
	})

	t.Run("MutualExclusion", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		const workers, each = 8, 10
		var (
			wg       sync.WaitGroup
			holders  atomic.Int32
			acquired atomic.Int32
		)
		for i := range workers {
			owner := fmt.Sprintf("worker-%d", i)
			wg.Go(func() {
				for range each {
					for {
						ok, err := s.TryLock(t.Context(), "shared", owner, long)
						if err != nil {
							t.Errorf("TryLock: %v", err)
							return
						}
						if ok {
							break
						}
						time.Sleep(time.Millisecond)
					}
					if n := holders.Add(1); n != 1 {
						t.Errorf("%d holders at once", n)
					}
					acquired.Add(1)
					time.Sleep(100 * time.Microsecond)
					holders.Add(-1)
					if err := s.Unlock(t.Context(), "shared", owner); err != nil {
						t.Errorf("Unlock: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		require.Equal(t, int32(workers*each), acquired.Load())
	})

	t.Run("InvalidInput", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		for _, tc := range []struct {
			name       string
			key, owner string
			lease      time.Duration
		}{
			{"empty key", "", "a", long},
			{"empty owner", "k1", "", long},
			{"zero lease", "k2", "a", 0},
			{"negative lease", "k3", "a", -time.Second},
		} {
			ok, err := s.TryLock(t.Context(), tc.key, tc.owner, tc.lease)
			require.Error(t, err, tc.name)
			require.False(t, ok, tc.name)
		}
		// Nothing was locked by the rejected calls.
		lock(t, s, "k2", "b", long, true)
		lock(t, s, "k3", "b", long, true)
		require.Error(t, s.Unlock(t.Context(), "", "a"), "unlock with an empty key")
		require.Error(t, s.Unlock(t.Context(), "k2", ""), "unlock with an empty owner")
	})
}
