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
	do   func(ctx context.Context, s state.Store, f fixture) error
}

// fixture holds the ids of the jobs testContext sets up: held is leased by
// "holder", dead is buried, waiting is pending.
type fixture struct {
	held, dead, waiting string
}

// calls is every store method, writes aimed at tenant "ctx", key "ctx-key",
// resource "ctx-res" and the fixture's jobs, so that testContext can check
// none was applied.
func calls() []call {
	return []call{
		{"PutToken", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.PutToken(ctx, newToken("ctx", "k1", 0))
		}},
		{"Tokens", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.Tokens(ctx, "ctx")
			return err
		}},
		{"DeleteToken", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.DeleteToken(ctx, "ctx", "keep")
		}},
		{"PutClient", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.PutClient(ctx, newClient("ctx", "c1", 0, 1))
		}},
		{"Client", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.Client(ctx, "ctx", "keep")
			return err
		}},
		{"Clients", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.Clients(ctx, "ctx")
			return err
		}},
		{"DeleteClient", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.DeleteClient(ctx, "ctx", "keep")
		}},
		{"AddSigningKey", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.AddSigningKey(ctx, newSigningKey("ctx-new", 0))
		}},
		{"SigningKeys", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.SigningKeys(ctx)
			return err
		}},
		{"DeleteSigningKey", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.DeleteSigningKey(ctx, "keep")
		}},
		{"Answer", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.Answer(ctx, "ctx-key")
			return err
		}},
		{"PutAnswer", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.PutAnswer(ctx, "ctx-key", state.Answer{Status: 201}, long)
		}},
		{"Version", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.Version(ctx, "ctx-res")
			return err
		}},
		{"BumpVersion", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.BumpVersion(ctx, "ctx-res")
			return err
		}},
		{"TryLock", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.TryLock(ctx, "ctx-lock", "intruder", long)
			return err
		}},
		{"Unlock", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.Unlock(ctx, "ctx-held", "holder")
		}},
		{"BeginWrite", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.BeginWrite(ctx, state.WriteBegin{Owner: "intruder", Locks: []string{"ctx-lock"}, Lease: long,
				Answer: "ctx-key", Tenant: "ctx", Resource: "ctx-held"})
			return err
		}},
		{"EndWrite", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.EndWrite(ctx, state.WriteEnd{Owner: "holder", Locks: []string{"ctx-held"},
				Key: "ctx-key", Version: "ctx-res", Answer: state.Answer{Status: 201}, TTL: long})
		}},
		{"Enqueue", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.Enqueue(ctx, newJob("ctx", "ctx-new"))
			return err
		}},
		{"Lease", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.Lease(ctx, "intruder", at().Add(time.Hour), 10, lease)
			return err
		}},
		{"Extend", func(ctx context.Context, s state.Store, f fixture) error {
			return s.Extend(ctx, f.held, "holder", at().Add(time.Hour))
		}},
		{"Ack", func(ctx context.Context, s state.Store, f fixture) error {
			return s.Ack(ctx, f.held, "holder")
		}},
		{"Retry", func(ctx context.Context, s state.Store, f fixture) error {
			return s.Retry(ctx, f.held, "holder", time.Time{}, "e", "c")
		}},
		{"Bury", func(ctx context.Context, s state.Store, f fixture) error {
			return s.Bury(ctx, f.held, "holder", "e", "c")
		}},
		{"Pending", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.Pending(ctx, "ctx", "ctx-held")
			return err
		}},
		{"Get", func(ctx context.Context, s state.Store, f fixture) error {
			_, err := s.Get(ctx, f.held)
			return err
		}},
		{"List", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.List(ctx, state.JobFilter{}, 10)
			return err
		}},
		{"Requeue", func(ctx context.Context, s state.Store, f fixture) error {
			return s.Requeue(ctx, f.dead)
		}},
		{"Drop", func(ctx context.Context, s state.Store, f fixture) error {
			return s.Drop(ctx, f.waiting)
		}},
		{"Stats", func(ctx context.Context, s state.Store, _ fixture) error {
			_, err := s.Stats(ctx, "")
			return err
		}},
		{"Ping", func(ctx context.Context, s state.Store, _ fixture) error {
			return s.Ping(ctx)
		}},
	}
}

// setupJobs makes the fixture's jobs in s.
func setupJobs(t testing.TB, s state.Store) (fixture, map[string]state.Job) {
	t.Helper()
	now := at()
	dead := enqueue(t, s, newJob("ctx", "ctx-dead"))
	require.Equal(t, []string{dead.ID}, leaseIDs(t, s, "holder", now, 1))
	require.NoError(t, s.Bury(t.Context(), dead.ID, "holder", "e", "c"))
	held := enqueue(t, s, newJob("ctx", "ctx-held"))
	require.Equal(t, []string{held.ID}, leaseIDs(t, s, "holder", now, 1))
	waiting := newJob("ctx", "ctx-wait")
	waiting.NotBefore = now.Add(time.Minute) // due for the cancelled Lease only
	w := enqueue(t, s, waiting)
	f := fixture{held: held.ID, dead: dead.ID, waiting: w.ID}
	before := map[string]state.Job{}
	for _, id := range []string{f.held, f.dead, f.waiting} {
		before[id] = getJob(t, s, id)
	}
	return f, before
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
			require.NoError(t, s.PutClient(t.Context(), newClient("ctx", "keep", 0, 1)))
			require.NoError(t, s.AddSigningKey(t.Context(), newSigningKey("keep", 0)))
			ok, err := s.TryLock(t.Context(), "ctx-held", "holder", long)
			require.NoError(t, err)
			require.True(t, ok)

			f, jobs := setupJobs(t, s)

			ctx := tc.ctx(t)
			for _, c := range calls() {
				err := noHang(t, c.name, func() error { return c.do(ctx, s, f) })
				require.Error(t, err, c.name)
				require.True(t, errors.Is(err, tc.want), "%s: %v is not %v", c.name, err, tc.want)
				require.False(t, errors.Is(err, state.ErrNotFound), "%s: a done context is not a missing record: %v", c.name, err)
			}

			// Nothing was applied.
			live := t.Context()
			toks, err := s.Tokens(live, "ctx")
			require.NoError(t, err)
			requireEqual(t, []state.Token{newToken("ctx", "keep", time.Hour)}, toks)
			clients, err := s.Clients(live, "ctx")
			require.NoError(t, err)
			requireEqual(t, []state.Client{newClient("ctx", "keep", 0, 1)}, clients)
			keys, err := s.SigningKeys(live)
			require.NoError(t, err)
			requireEqual(t, []state.SigningKey{newSigningKey("keep", 0)}, keys)
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
			for id, want := range jobs {
				requireEqual(t, want, getJob(t, s, id))
			}
			all, err := s.List(live, state.JobFilter{}, 100)
			require.NoError(t, err)
			require.Len(t, all, len(jobs), "a cancelled Enqueue stored a job")
		})
	}
}

func testClosed(t *testing.T, open opener) {
	t.Parallel()
	s := open(t)
	require.NotNil(t, s, "open returned a nil store")
	require.NoError(t, s.Close())
	f := fixture{held: "no-such-job", dead: "no-such-job", waiting: "no-such-job"}
	for _, c := range calls() {
		err := noHang(t, c.name, func() error { return c.do(t.Context(), s, f) })
		require.ErrorIs(t, err, state.ErrUnavailable, c.name)
	}
}
