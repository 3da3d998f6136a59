package statetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// call is one store method with fixed arguments.
type call struct {
	name string
	do   func(ctx context.Context, s state.Store) error
}

// calls is every store method, writes aimed at tenant "ctx", key "ctx-key"
// and resource "ctx-res" so that testContext can check none was applied.
func calls() []call {
	return []call{
		{"PutToken", func(ctx context.Context, s state.Store) error {
			return s.PutToken(ctx, newToken("ctx", "k1", 0))
		}},
		{"Tokens", func(ctx context.Context, s state.Store) error {
			_, err := s.Tokens(ctx, "ctx")
			return err
		}},
		{"DeleteToken", func(ctx context.Context, s state.Store) error {
			return s.DeleteToken(ctx, "ctx", "keep")
		}},
		{"Answer", func(ctx context.Context, s state.Store) error {
			_, err := s.Answer(ctx, "ctx-key")
			return err
		}},
		{"PutAnswer", func(ctx context.Context, s state.Store) error {
			return s.PutAnswer(ctx, "ctx-key", state.Answer{Status: 201}, long)
		}},
		{"Version", func(ctx context.Context, s state.Store) error {
			_, err := s.Version(ctx, "ctx-res")
			return err
		}},
		{"BumpVersion", func(ctx context.Context, s state.Store) error {
			_, err := s.BumpVersion(ctx, "ctx-res")
			return err
		}},
		{"TryLock", func(ctx context.Context, s state.Store) error {
			_, err := s.TryLock(ctx, "ctx-lock", "intruder", long)
			return err
		}},
		{"Unlock", func(ctx context.Context, s state.Store) error {
			return s.Unlock(ctx, "ctx-held", "holder")
		}},
		{"Ping", func(ctx context.Context, s state.Store) error {
			return s.Ping(ctx)
		}},
	}
}

func testContext(t *testing.T, open opener) {
	for _, tc := range []struct {
		name string
		ctx  func(t testing.TB) context.Context
		want error
	}{
		{"Canceled", func(t testing.TB) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, context.Canceled},
		{"DeadlinePassed", func(t testing.TB) context.Context {
			ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestStore(t, open)
			// What a cancelled DeleteToken or Unlock must leave alone.
			require.NoError(t, s.PutToken(t.Context(), newToken("ctx", "keep", time.Hour)))
			ok, err := s.TryLock(t.Context(), "ctx-held", "holder", long)
			require.NoError(t, err)
			require.True(t, ok)

			ctx := tc.ctx(t)
			for _, c := range calls() {
				err := noHang(t, c.name, func() error { return c.do(ctx, s) })
				require.Error(t, err, c.name)
				require.True(t, errors.Is(err, tc.want), "%s: %v is not %v", c.name, err, tc.want)
				require.False(t, errors.Is(err, state.ErrNotFound), "%s: a done context is not a missing record: %v", c.name, err)
			}

			// Nothing was applied.
			live := t.Context()
			toks, err := s.Tokens(live, "ctx")
			require.NoError(t, err)
			requireEqual(t, []state.Token{newToken("ctx", "keep", time.Hour)}, toks)
			_, err = s.Answer(live, "ctx-key")
			require.ErrorIs(t, err, state.ErrNotFound)
			v, err := s.Version(live, "ctx-res")
			require.NoError(t, err)
			require.Zero(t, v)
			ok, err = s.TryLock(live, "ctx-lock", "other", long)
			require.NoError(t, err)
			require.True(t, ok, "a cancelled TryLock took the lock")
			ok, err = s.TryLock(live, "ctx-held", "other", long)
			require.NoError(t, err)
			require.False(t, ok, "a cancelled Unlock released the lock")
		})
	}
}

func testClosed(t *testing.T, open opener) {
	t.Parallel()
	s := open(t)
	require.NotNil(t, s, "open returned a nil store")
	require.NoError(t, s.Close())
	for _, c := range calls() {
		err := noHang(t, c.name, func() error { return c.do(t.Context(), s) })
		require.ErrorIs(t, err, state.ErrUnavailable, c.name)
	}
}
