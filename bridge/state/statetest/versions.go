package statetest

import (
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func testVersions(t *testing.T, open opener) {
	t.Run("Initial", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		v, err := s.Version(t.Context(), "acme/Users/u1")
		require.NoError(t, err)
		require.Zero(t, v)
	})

	t.Run("Bump", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		for want := int64(1); want <= 3; want++ {
			got, err := s.BumpVersion(t.Context(), "acme/Users/u1")
			require.NoError(t, err)
			require.Equal(t, want, got, "value returned by bump")
			got, err = s.Version(t.Context(), "acme/Users/u1")
			require.NoError(t, err)
			require.Equal(t, want, got, "value read after bump")
		}
	})

	t.Run("PerResource", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		bumps := map[string]int{"acme/Users/a": 2, "acme/Users/b": 1, "beta/Users/a": 3, "acme/Users/a:x": 1}
		for r, n := range bumps {
			for range n {
				_, err := s.BumpVersion(t.Context(), r)
				require.NoError(t, err)
			}
		}
		bumps["acme/Users/c"] = 0
		bumps["acme/Users"] = 0
		for r, n := range bumps {
			v, err := s.Version(t.Context(), r)
			require.NoError(t, err)
			require.Equal(t, int64(n), v, r)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		const workers, each = 8, 25
		var (
			mu  sync.Mutex
			got []int64
			wg  sync.WaitGroup
		)
		start := make(chan struct{})
		for range workers {
			wg.Go(func() {
				<-start
				for range each {
					v, err := s.BumpVersion(t.Context(), "acme/Users/hot")
					if err != nil {
						t.Errorf("bump: %v", err)
						return
					}
					mu.Lock()
					got = append(got, v)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		require.False(t, t.Failed())

		// No lost increment and no value handed out twice.
		want := make([]int64, workers*each)
		for i := range want {
			want[i] = int64(i + 1)
		}
		slices.Sort(got)
		requireEqual(t, want, got)
		v, err := s.Version(t.Context(), "acme/Users/hot")
		require.NoError(t, err)
		require.Equal(t, int64(workers*each), v)
	})

	t.Run("InvalidInput", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		_, err := s.BumpVersion(t.Context(), "")
		require.Error(t, err, "bump of an empty resource")
	})
}
