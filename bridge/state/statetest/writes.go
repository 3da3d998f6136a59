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

// testWrites checks that the write bundles mean the primitives they list.
func testWrites(t *testing.T, open opener) {
	begin := func(t testing.TB, s state.Store, owner string, keys ...string) state.WriteStart {
		t.Helper()
		st, err := s.BeginWrite(t.Context(), state.WriteBegin{Owner: owner, Locks: keys, Lease: long,
			Answer: "fp", Tenant: "acme", Resource: "acme/Users/u1"})
		require.NoError(t, err)
		return st
	}
	held := func(t testing.TB, s state.Store, key string) bool {
		t.Helper()
		ok, err := s.TryLock(t.Context(), key, "probe", long)
		require.NoError(t, err)
		if ok {
			require.NoError(t, s.Unlock(t.Context(), key, "probe"))
		}
		return !ok
	}

	t.Run("BeginTakesLocksAndReads", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		st := begin(t, s, "a", "k1", "k2")
		requireEqual(t, state.WriteStart{Locked: true}, st)
		require.True(t, held(t, s, "k1"))
		require.True(t, held(t, s, "k2"))

		require.NoError(t, s.PutAnswer(t.Context(), "fp", state.Answer{Status: 201, Body: []byte(`{"id":"u1"}`), ResourceID: "u1", Version: 3}, long))
		enqueue(t, s, newJob("acme", "acme/Users/u1"))
		enqueue(t, s, newJob("acme", "acme/Users/u1"))
		enqueue(t, s, newJob("acme", "acme/Users/other"))
		enqueue(t, s, newJob("other", "acme/Users/u1"))
		st = begin(t, s, "a", "k1", "k2") // the holder renews
		requireEqual(t, state.WriteStart{Locked: true, Pending: 2,
			Answer: &state.Answer{Status: 201, Body: []byte(`{"id":"u1"}`), ResourceID: "u1", Version: 3}}, st)
	})

	t.Run("BeginAllOrNone", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		ok, err := s.TryLock(t.Context(), "k2", "other", long)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, s.PutAnswer(t.Context(), "fp", state.Answer{Status: 201}, long))
		requireEqual(t, state.WriteStart{}, begin(t, s, "a", "k1", "k2", "k3"))
		require.False(t, held(t, s, "k1"), "a refused BeginWrite kept k1")
		require.False(t, held(t, s, "k3"), "a refused BeginWrite kept k3")
		require.NoError(t, s.Unlock(t.Context(), "k2", "other"))
		require.True(t, begin(t, s, "a", "k1", "k2", "k3").Locked)
	})

	t.Run("BeginNoReads", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.NoError(t, s.PutAnswer(t.Context(), "fp", state.Answer{Status: 201}, long))
		st, err := s.BeginWrite(t.Context(), state.WriteBegin{Owner: "a", Locks: []string{"k"}, Lease: long})
		require.NoError(t, err)
		requireEqual(t, state.WriteStart{Locked: true}, st)
	})

	t.Run("BeginExpiredAnswer", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.NoError(t, s.PutAnswer(t.Context(), "fp", state.Answer{Status: 201}, short))
		time.Sleep(pastShort)
		requireEqual(t, state.WriteStart{Locked: true}, begin(t, s, "a", "k"))
	})

	t.Run("EndRecordsAndUnlocks", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.True(t, begin(t, s, "a", "k1", "k2").Locked)
		_, err := s.BumpVersion(t.Context(), "acme/Users/u1")
		require.NoError(t, err)
		require.NoError(t, s.EndWrite(t.Context(), state.WriteEnd{Owner: "a", Locks: []string{"k1", "k2"},
			Key: "fp", Version: "acme/Users/u1", Answer: state.Answer{Status: 200, Body: []byte("{}"), ResourceID: "u1", Version: 99}, TTL: long}))
		v, err := s.Version(t.Context(), "acme/Users/u1")
		require.NoError(t, err)
		require.Equal(t, int64(2), v)
		a, err := s.Answer(t.Context(), "fp")
		require.NoError(t, err)
		requireEqual(t, state.Answer{Status: 200, Body: []byte("{}"), ResourceID: "u1", Version: 2}, a)
		require.False(t, held(t, s, "k1"))
		require.False(t, held(t, s, "k2"))
	})

	t.Run("EndUnlockOnly", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.True(t, begin(t, s, "a", "k").Locked)
		require.NoError(t, s.EndWrite(t.Context(), state.WriteEnd{Owner: "a", Locks: []string{"k"}}))
		require.False(t, held(t, s, "k"))
		v, err := s.Version(t.Context(), "acme/Users/u1")
		require.NoError(t, err)
		require.Zero(t, v)
	})

	t.Run("EndByNonOwnerKeepsLocks", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.True(t, begin(t, s, "a", "k").Locked)
		require.NoError(t, s.EndWrite(t.Context(), state.WriteEnd{Owner: "b", Locks: []string{"k"}}))
		require.True(t, held(t, s, "k"))
	})

	t.Run("EndAnswerExpires", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.NoError(t, s.EndWrite(t.Context(), state.WriteEnd{Owner: "a", Key: "fp", Version: "r", Answer: state.Answer{Status: 204}, TTL: short}))
		time.Sleep(pastShort)
		_, err := s.Answer(t.Context(), "fp")
		require.ErrorIs(t, err, state.ErrNotFound)
	})

	t.Run("BadArguments", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		for _, b := range []state.WriteBegin{
			{Locks: []string{"k"}, Lease: long},
			{Owner: "a", Lease: long},
			{Owner: "a", Locks: []string{"k"}},
		} {
			_, err := s.BeginWrite(t.Context(), b)
			require.Error(t, err, "%+v", b)
		}
		for _, e := range []state.WriteEnd{
			{Locks: []string{"k"}},
			{Owner: "a", Key: "fp", TTL: long},
			{Owner: "a", Key: "fp", Version: "r"},
		} {
			require.Error(t, s.EndWrite(t.Context(), e), "%+v", e)
		}
	})

	t.Run("ConcurrentWriters", func(t *testing.T) {
		// Writers of overlapping key sets in opposite orders never hold a
		// key together and never deadlock (all or none).
		t.Parallel()
		s := newTestStore(t, open)
		var (
			wg      sync.WaitGroup
			inside  atomic.Int32
			entered atomic.Int32
		)
		for i := range 8 {
			owner := fmt.Sprintf("w%d", i)
			keys := []string{"x", "y"}
			if i%2 == 1 {
				keys = []string{"y", "x"}
			}
			wg.Go(func() {
				for range 10 {
					for {
						st, err := s.BeginWrite(t.Context(), state.WriteBegin{Owner: owner, Locks: keys, Lease: long})
						if err != nil {
							t.Errorf("BeginWrite: %v", err)
							return
						}
						if st.Locked {
							break
						}
					}
					if n := inside.Add(1); n != 1 {
						t.Errorf("%d writers inside at once", n)
					}
					entered.Add(1)
					inside.Add(-1)
					if err := s.EndWrite(t.Context(), state.WriteEnd{Owner: owner, Locks: keys}); err != nil {
						t.Errorf("EndWrite: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		require.Equal(t, int32(80), entered.Load())
	})
}
