package redisstate

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// roundTrips counts what the client sends: one command or one pipeline is
// one round trip to the server. A new connection's handshake (HELLO) is
// not a write's.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "hello" {
			r.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

var _ redis.Hook = (*roundTrips)(nil)

// The write pipeline's happy path costs three round trips: one to begin a
// write (locks, stored answer, backlog), two to end it (INCR, then the
// answer and the unlocks), however many locks it holds (issue 5: at most
// three per write).
func TestWriteRoundTrips(t *testing.T) {
	s := newTestStore(t, Options{})
	rt := &roundTrips{}
	s.c.AddHook(rt)
	ctx := t.Context()
	count := func(f func()) int64 {
		t.Helper()
		before := rt.n.Load()
		f()
		return rt.n.Load() - before
	}
	keys := []string{"acme/User/key/externalId/e1", "acme/User/key/userName/u1"}
	begin := state.WriteBegin{Owner: "o", Locks: keys, Lease: time.Minute, Answer: "fp", Tenant: "acme", Resource: keys[0]}

	require.Equal(t, int64(1), count(func() {
		st, err := s.BeginWrite(ctx, begin)
		require.NoError(t, err)
		require.True(t, st.Locked)
	}), "BeginWrite")
	require.Equal(t, int64(2), count(func() {
		require.NoError(t, s.EndWrite(ctx, state.WriteEnd{Owner: "o", Locks: keys, Key: "fp", Version: "acme/User/u1",
			Answer: state.Answer{Status: 201, Body: []byte(`{}`), ResourceID: "u1"}, TTL: time.Hour}))
	}), "EndWrite")
	require.Equal(t, int64(1), count(func() {
		require.NoError(t, s.EndWrite(ctx, state.WriteEnd{Owner: "o", Locks: keys}))
	}), "EndWrite without an answer")

	// Contention costs one more, to give back the locks taken.
	ok, err := s.TryLock(ctx, keys[1], "other", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(2), count(func() {
		st, err := s.BeginWrite(ctx, begin)
		require.NoError(t, err)
		require.False(t, st.Locked)
	}), "refused BeginWrite")
}

// A Redis that is gone makes both bundles unavailable (the pipeline
// degrades to the in-process locks), and the store recovers when it is
// back.
func TestBeginWriteUnavailable(t *testing.T) {
	srv := startServer(t)
	s := newTestStore(t, Options{URL: srv.url()})
	ctx := t.Context()
	begin := state.WriteBegin{Owner: "o", Locks: []string{"k"}, Lease: time.Minute, Answer: "fp", Tenant: "acme", Resource: "r"}
	st, err := s.BeginWrite(ctx, begin)
	require.NoError(t, err)
	require.True(t, st.Locked)

	srv.kill(t)
	_, err = s.BeginWrite(ctx, begin)
	require.ErrorIs(t, err, state.ErrUnavailable)
	err = s.EndWrite(ctx, state.WriteEnd{Owner: "o", Locks: []string{"k"}, Key: "fp", Version: "r", TTL: time.Hour})
	require.ErrorIs(t, err, state.ErrUnavailable)

	srv.restart(t)
	require.Eventually(t, func() bool {
		st, err := s.BeginWrite(ctx, begin)
		return err == nil && st.Locked
	}, 10*time.Second, 50*time.Millisecond, "BeginWrite after Redis came back")
}
