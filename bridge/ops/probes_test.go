package ops

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProbeCache(t *testing.T) {
	ctx := context.Background()
	t.Run("one probe at a time, result kept for the ttl", func(t *testing.T) {
		c := NewProbeCache(time.Hour, time.Second)
		var calls atomic.Int32
		release := make(chan struct{})
		f := func(context.Context) error { calls.Add(1); <-release; return errors.New("down") }
		errs := make(chan error, 5)
		for range 5 {
			go func() { errs <- c.Do(ctx, "k", f) }()
		}
		time.Sleep(50 * time.Millisecond)
		close(release)
		for range 5 {
			require.EqualError(t, <-errs, "down")
		}
		require.EqualError(t, c.Do(ctx, "k", f), "down")
		require.Equal(t, int32(1), calls.Load())
	})
	t.Run("expired result probes again", func(t *testing.T) {
		c := NewProbeCache(time.Nanosecond, time.Second)
		var calls atomic.Int32
		f := func(context.Context) error { calls.Add(1); return nil }
		require.NoError(t, c.Do(ctx, "k", f))
		time.Sleep(time.Millisecond)
		require.NoError(t, c.Do(ctx, "k", f))
		require.Equal(t, int32(2), calls.Load())
	})
	t.Run("a hanging probe does not hold the caller", func(t *testing.T) {
		c := NewProbeCache(time.Hour, 100*time.Millisecond)
		done := make(chan struct{})
		t.Cleanup(func() { <-done }) // the probe itself ends at its own timeout
		f := func(ctx context.Context) error { defer close(done); <-ctx.Done(); return ctx.Err() }
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.Do(cctx, "k", f)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 90*time.Millisecond)
		// The caller's cancellation does not cut the probe short: it runs
		// to its own timeout and its result serves the next caller.
		require.ErrorIs(t, c.Do(ctx, "k", f), context.DeadlineExceeded)
	})
}
