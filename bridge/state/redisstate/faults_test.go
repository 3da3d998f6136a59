package redisstate

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/statetest"
)

// durable are the settings of scripts/redis-start.sh, but with
// appendfsync always: under everysec Redis may postpone the AOF write while
// a slow fsync is running (a busy CI disk) and still answer, so a test that
// kills it right after a write would test luck, not the store. Production
// keeps everysec and its documented window of about a second.
var durable = []string{"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction"}

func job(tenant, resource string) state.Job {
	return state.Job{Tenant: tenant, Resource: resource, Op: "patch", Payload: []byte(`{"op":"replace"}`), Fingerprint: "fp-" + resource}
}

func enqueue(t testing.TB, s *Store, j state.Job) state.Job {
	t.Helper()
	got, err := s.Enqueue(t.Context(), j)
	require.NoError(t, err)
	return got
}

func leaseIDs(t testing.TB, s *Store, owner string, now time.Time) []string {
	t.Helper()
	jobs, err := s.Lease(t.Context(), owner, now, 100, time.Minute)
	require.NoError(t, err)
	ids := []string{}
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// waitUp waits until the store answers again after its server came back.
func waitUp(t testing.TB, s *Store) {
	t.Helper()
	require.Eventually(t, func() bool { return s.Ping(t.Context()) == nil }, 10*time.Second, 20*time.Millisecond,
		"the store did not recover after Redis came back")
}

// TestRestartKeepsQueue: Redis killed with SIGKILL and started again on its
// AOF keeps every queued job in its state and place, and the store carries
// on by itself. (Redis writes the AOF before it replies, so a process crash
// loses nothing acknowledged; appendfsync everysec is about power loss.)
func TestRestartKeepsQueue(t *testing.T) {
	srv := startServer(t, durable...)
	s := newTestStore(t, Options{URL: srv.url(), Timeout: 500 * time.Millisecond})
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)

	a1 := enqueue(t, s, job("acme", "a"))
	a2 := enqueue(t, s, job("acme", "a"))
	b1 := enqueue(t, s, job("acme", "b"))
	c1 := enqueue(t, s, job("beta", "c"))
	require.ElementsMatch(t, []string{a1.ID, b1.ID, c1.ID}, leaseIDs(t, s, "w1", now))
	require.NoError(t, s.Retry(ctx, b1.ID, "w1", now.Add(time.Hour), "ldap down", "unavailable"))
	require.NoError(t, s.Bury(ctx, c1.ID, "w1", "rejected", "invalid"))
	require.NoError(t, s.PutAnswer(ctx, "fp", state.Answer{Status: 201, ResourceID: "u1", Version: 1}, time.Hour))
	_, err := s.BumpVersion(ctx, "acme/Users/u1")
	require.NoError(t, err)
	before, err := s.List(ctx, state.JobFilter{}, 100)
	require.NoError(t, err)
	statsBefore, err := s.Stats(ctx, "")
	require.NoError(t, err)

	srv.kill(t)
	_, err = s.Lease(ctx, "w2", now, 10, time.Minute)
	require.ErrorIs(t, err, state.ErrUnavailable, "while Redis is down")
	srv.restart(t)
	waitUp(t, s)

	after, err := s.List(ctx, state.JobFilter{}, 100)
	require.NoError(t, err)
	require.Equal(t, before, after, "jobs after the restart")
	statsAfter, err := s.Stats(ctx, "")
	require.NoError(t, err)
	require.Equal(t, statsBefore, statsAfter)
	a, err := s.Answer(ctx, "fp")
	require.NoError(t, err)
	require.Equal(t, "u1", a.ResourceID)
	v, err := s.Version(ctx, "acme/Users/u1")
	require.NoError(t, err)
	require.Equal(t, int64(1), v)

	// The order survived too: a1 is still leased (a2 waits), b1 is not due.
	require.Empty(t, leaseIDs(t, s, "w2", now))
	// w1 died with Redis's clients: its lease runs out and a1 is taken again.
	jobs, err := s.Lease(ctx, "w2", now.Add(time.Minute), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, a1.ID, jobs[0].ID)
	require.Equal(t, 2, jobs[0].Attempts)
	require.NoError(t, s.Ack(ctx, a1.ID, "w2"))
	require.Equal(t, []string{a2.ID}, leaseIDs(t, s, "w2", now.Add(time.Minute)))
}

// TestStoppedServer: with Redis gone every call fails fast with
// ErrUnavailable, well inside the caller's deadline, and the store works
// again by itself once Redis is back.
func TestStoppedServer(t *testing.T) {
	srv := startServer(t, durable...)
	s := newTestStore(t, Options{URL: srv.url(), Timeout: 500 * time.Millisecond})
	j := enqueue(t, s, job("acme", "a"))
	ok, err := s.TryLock(t.Context(), "acme/Users/a", "w", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)

	srv.kill(t)
	for _, c := range storeCalls(j.ID) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		start := time.Now()
		err := c.do(ctx, s)
		cancel()
		require.ErrorIs(t, err, state.ErrUnavailable, c.name)
		require.Less(t, time.Since(start), 2*time.Second, "%s took too long: a refused connection should fail at once", c.name)
	}

	srv.restart(t)
	waitUp(t, s)
	got, err := s.Get(t.Context(), j.ID)
	require.NoError(t, err)
	require.Equal(t, j, got)
	ok, err = s.TryLock(t.Context(), "acme/Users/a", "other", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "the lock survived the restart")
}

// TestHungServer: a Redis that accepts connections but answers nothing
// (SIGSTOP) holds a call no longer than the caller's deadline, or the
// store's timeout when that comes first.
func TestHungServer(t *testing.T) {
	srv := startServer(t, durable...)
	const timeout = 300 * time.Millisecond
	s := newTestStore(t, Options{URL: srv.url(), Timeout: timeout})
	j := enqueue(t, s, job("acme", "a"))
	srv.pause(t)
	t.Cleanup(func() { srv.resume(t) })

	for _, c := range storeCalls(j.ID) {
		// The caller's deadline comes first: its error is the deadline.
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		start := time.Now()
		err := c.do(ctx, s)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, c.name)
		require.Less(t, time.Since(start), time.Second, c.name)

		// No deadline: the store's timeout ends the wait, retries included
		// (one call of each kind: retried or not, command or script).
		switch c.name {
		case "Ping", "BumpVersion", "Enqueue", "Ack":
			start = time.Now()
			err = c.do(t.Context(), s)
			require.ErrorIs(t, err, state.ErrUnavailable, c.name)
			require.Less(t, time.Since(start), retryAttempts*(timeout+time.Second), c.name)
		}
	}

	srv.resume(t)
	waitUp(t, s)
	_, err := s.Get(t.Context(), j.ID)
	require.NoError(t, err)
}

type storeCall struct {
	name string
	do   func(ctx context.Context, s *Store) error
}

// storeCalls is every call, aimed at job id.
func storeCalls(id string) []storeCall {
	return []storeCall{
		{"Ping", func(ctx context.Context, s *Store) error { return s.Ping(ctx) }},
		{"Answer", func(ctx context.Context, s *Store) error { _, err := s.Answer(ctx, "k"); return err }},
		{"PutAnswer", func(ctx context.Context, s *Store) error {
			return s.PutAnswer(ctx, "k", state.Answer{Status: 200}, time.Minute)
		}},
		{"Version", func(ctx context.Context, s *Store) error { _, err := s.Version(ctx, "r"); return err }},
		{"BumpVersion", func(ctx context.Context, s *Store) error { _, err := s.BumpVersion(ctx, "r"); return err }},
		{"TryLock", func(ctx context.Context, s *Store) error {
			_, err := s.TryLock(ctx, "k", "o", time.Minute)
			return err
		}},
		{"Unlock", func(ctx context.Context, s *Store) error { return s.Unlock(ctx, "k", "o") }},
		{"PutToken", func(ctx context.Context, s *Store) error {
			return s.PutToken(ctx, state.Token{Tenant: "acme", ID: "k", Hash: "sha256:00"})
		}},
		{"Tokens", func(ctx context.Context, s *Store) error { _, err := s.Tokens(ctx, "acme"); return err }},
		{"DeleteToken", func(ctx context.Context, s *Store) error { return s.DeleteToken(ctx, "acme", "k") }},
		{"Enqueue", func(ctx context.Context, s *Store) error { _, err := s.Enqueue(ctx, job("acme", "b")); return err }},
		{"Lease", func(ctx context.Context, s *Store) error {
			_, err := s.Lease(ctx, "w", time.Now(), 1, time.Minute)
			return err
		}},
		{"Extend", func(ctx context.Context, s *Store) error { return s.Extend(ctx, id, "w", time.Now()) }},
		{"Ack", func(ctx context.Context, s *Store) error { return s.Ack(ctx, id, "w") }},
		{"Retry", func(ctx context.Context, s *Store) error { return s.Retry(ctx, id, "w", time.Time{}, "e", "c") }},
		{"Bury", func(ctx context.Context, s *Store) error { return s.Bury(ctx, id, "w", "e", "c") }},
		{"Pending", func(ctx context.Context, s *Store) error { _, err := s.Pending(ctx, "acme", "a"); return err }},
		{"Get", func(ctx context.Context, s *Store) error { _, err := s.Get(ctx, id); return err }},
		{"List", func(ctx context.Context, s *Store) error { _, err := s.List(ctx, state.JobFilter{}, 10); return err }},
		{"Requeue", func(ctx context.Context, s *Store) error { return s.Requeue(ctx, id) }},
		{"Drop", func(ctx context.Context, s *Store) error { return s.Drop(ctx, id) }},
		{"Stats", func(ctx context.Context, s *Store) error { _, err := s.Stats(ctx, ""); return err }},
		{"CheckServer", func(ctx context.Context, s *Store) error { _, err := s.CheckServer(ctx); return err }},
	}
}

// TestEnqueueReplay: an Enqueue whose reply was lost and that is sent again
// (the store's retry, or go-redis's in Cluster mode) stores one job, even
// when the first one has been applied and acked meanwhile.
func TestEnqueueReplay(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	id, err := jobID("acme")
	require.NoError(t, err)
	require.NoError(t, s.c.SAdd(ctx, s.k.tenants(), "acme").Err()) // what Enqueue does first
	send := func() []any {
		t.Helper()
		reply, err := s.runScript(ctx, "enqueue", "acme", enqueueScript, false, false,
			id, "acme", "r", "patch", "{}", "fp", 0, "0", ms(time.Now()), "", "")
		require.NoError(t, err)
		return reply
	}
	require.NotEmpty(t, send()[0])
	require.NotEmpty(t, send()[0], "the replay returns the stored job")
	st, err := s.Stats(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 1, st.Pending, "one job")

	jobs, err := s.Lease(ctx, "w", time.Now(), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.NoError(t, s.Ack(ctx, id, "w"))
	require.Empty(t, send()[0], "a late replay finds the job done and adds nothing")
	st, err = s.Stats(ctx, "acme")
	require.NoError(t, err)
	require.Zero(t, st.Depth())
}

// TestLeaseReplay: a Lease call sent twice (a lost reply) returns the same
// jobs instead of taking more.
func TestLeaseReplay(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	a := enqueue(t, s, job("acme", "a"))
	b := enqueue(t, s, job("acme", "b"))
	now := time.Now()
	until := now.Add(time.Minute).UnixMilli()
	send := func() []state.Job {
		t.Helper()
		reply, err := s.runScript(ctx, "lease", "acme", leaseScript, false, false,
			"w", now.UnixMilli(), 1, until, "call-1", 60000)
		require.NoError(t, err)
		jobs, err := parseJobs(reply[0])
		require.NoError(t, err)
		return jobs
	}
	first := send()
	require.Len(t, first, 1)
	require.Equal(t, a.ID, first[0].ID)
	require.Equal(t, first, send(), "the replay answers what the call took")
	got, err := s.Get(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, state.JobPending, got.State, "and takes nothing more")
}

// TestCluster runs the whole contract on a three-master Redis Cluster, where
// a script touching keys of two slots fails with CROSSSLOT: the key layout
// is proven, not assumed. Tenants land on different masters, so Lease, List
// and Stats also work across nodes.
func TestCluster(t *testing.T) {
	requireRedis(t)
	cli, err := exec.LookPath("redis-cli")
	require.NoError(t, err, "redis-cli is not on PATH (scripts/redis-start.sh installs it)")
	var addrs []string
	for range 3 {
		srv := startServer(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--appendonly", "no", "--save", "")
		addrs = append(addrs, srv.addr())
	}
	out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, DisableIdentity: true})
		require.Eventually(t, func() bool {
			info, err := c.ClusterInfo(t.Context()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		}, 20*time.Second, 50*time.Millisecond, "cluster state of %s", a)
		_ = c.Close()
	}

	o := Options{Addrs: addrs}
	statetest.Run(t, func(t testing.TB) state.Store { return openStore(t, o) })

	t.Run("TenantsOnDifferentMasters", func(t *testing.T) {
		s := newTestStore(t, o)
		cc := s.c.(*redis.ClusterClient)
		masters := map[string]bool{}
		var tenants []string
		for i := 0; len(masters) < 2 && i < 100; i++ {
			tenant := "tenant-" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
			slot, err := cc.ClusterKeySlot(t.Context(), s.k.queue(tenant)).Result()
			require.NoError(t, err)
			var master string
			for _, r := range must(cc.ClusterSlots(t.Context()).Result()) {
				if int64(r.Start) <= slot && slot <= int64(r.End) {
					master = r.Nodes[0].Addr
				}
			}
			if !masters[master] {
				masters[master] = true
				tenants = append(tenants, tenant)
			}
		}
		require.Len(t, tenants, 2)
		now := time.Now()
		var want []string
		for _, tenant := range tenants {
			want = append(want, enqueue(t, s, job(tenant, "r")).ID)
		}
		require.ElementsMatch(t, want, leaseIDs(t, s, "w", now))
		st, err := s.Stats(t.Context(), "")
		require.NoError(t, err)
		require.Equal(t, 2, st.Leased)
	})

	t.Run("CheckServer", func(t *testing.T) {
		s := newTestStore(t, o)
		problems, err := s.CheckServer(t.Context())
		require.NoError(t, err)
		require.Len(t, problems, 3, "one per master: %q", problems)
		for _, p := range problems {
			require.True(t, strings.HasPrefix(p, "node 127.0.0.1:"), p)
			require.Contains(t, p, "persistence is off")
		}
	})
}

// TestSentinel runs the contract through a Sentinel: the store finds the
// master by name and CheckServer reads the master's settings.
func TestSentinel(t *testing.T) {
	master := startServer(t, durable...)
	sentinel := startSentinel(t, master)
	o := Options{Addrs: []string{sentinel.addr()}, MasterName: "mymaster"}
	statetest.Run(t, func(t testing.TB) state.Store { return openStore(t, o) })

	s := newTestStore(t, o)
	problems, err := s.CheckServer(t.Context())
	require.NoError(t, err)
	require.Empty(t, problems)
	require.NoError(t, s.PutAnswer(t.Context(), "k", state.Answer{Status: 200}, time.Minute))
	direct := newTestStore(t, Options{URL: master.url(), KeyPrefix: s.k.prefix})
	_, err = direct.Answer(t.Context(), "k")
	require.NoError(t, err, "the write went to the master")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(errors.Join(errors.New("must"), err))
	}
	return v
}
