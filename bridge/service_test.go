package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/backends/pharos"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/sqlitestate"
	"github.com/scimbridge/scimbridge/mapping"
)

// faultyBackend injects transient failures in front of a real backend:
// the next `fail` calls of the named method return ErrUnavailable; with
// `landed` the call is applied first and its answer lost (an ambiguous
// failure, as a dropped connection after sending).
type faultyBackend struct {
	backends.Backend
	mu     sync.Mutex
	method string
	fail   int
	landed bool
	calls  atomic.Int64
	// writeReads counts Get and Find calls that read for a write
	// (backends.Read.ForWrite).
	writeReads atomic.Int64
}

func (f *faultyBackend) inject(method string, n int, landed bool) {
	f.mu.Lock()
	f.method, f.fail, f.landed = method, n, landed
	f.mu.Unlock()
}

func (f *faultyBackend) fault(method string) (bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.method == method && f.fail > 0 {
		f.fail--
		return true, f.landed
	}
	return false, false
}

var errInjected = fmt.Errorf("injected: connection reset: %w", backends.ErrUnavailable)

// Find and Get are counted, not failed.
func (f *faultyBackend) Find(ctx context.Context, q backends.Query) ([]backends.Record, int, error) {
	f.calls.Add(1)
	if q.ForWrite {
		f.writeReads.Add(1)
	}
	return f.Backend.Find(ctx, q)
}

func (f *faultyBackend) Get(ctx context.Context, k backends.Kind, id string, r backends.Read) (backends.Record, error) {
	f.calls.Add(1)
	if r.ForWrite {
		f.writeReads.Add(1)
	}
	return f.Backend.Get(ctx, k, id, r)
}

func (f *faultyBackend) Create(ctx context.Context, k backends.Kind, attrs map[string][]string) (backends.Record, error) {
	f.calls.Add(1)
	if fail, landed := f.fault("Create"); fail {
		if landed {
			_, _ = f.Backend.Create(ctx, k, attrs)
		}
		return backends.Record{}, errInjected
	}
	return f.Backend.Create(ctx, k, attrs)
}

func (f *faultyBackend) Modify(ctx context.Context, cur backends.Record, ch []backends.Change) error {
	f.calls.Add(1)
	if fail, landed := f.fault("Modify"); fail {
		if landed {
			_ = f.Backend.Modify(ctx, cur, ch)
		}
		return errInjected
	}
	return f.Backend.Modify(ctx, cur, ch)
}

func (f *faultyBackend) Delete(ctx context.Context, k backends.Kind, id string) error {
	f.calls.Add(1)
	if fail, landed := f.fault("Delete"); fail {
		if landed {
			_ = f.Backend.Delete(ctx, k, id)
		}
		return errInjected
	}
	return f.Backend.Delete(ctx, k, id)
}

type fixture struct {
	svc   *Service
	be    *faultyBackend
	state *sqlitestate.Store
	logs  *bytes.Buffer
}

// newFixture builds a tenant service on a real Pharos SQLite store and a
// real SQLite state store, with the shipped Entra mapping.
func newFixture(t testing.TB, mutate ...func(*Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	m, err := mapping.Load("../configs/mappings/entra-to-pharos.yaml")
	require.NoError(t, err)
	dir := t.TempDir()
	st, err := sqlitestate.Open(ctx, filepath.Join(dir, "state.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	logs := &bytes.Buffer{}
	fb := &faultyBackend{}
	o := Options{Tenant: "t", Mapping: m, Backend: fb, State: st, Owner: "test", WriteRetries: 2, RetryBase: time.Millisecond,
		Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info, JSONFormat: true})}
	for _, f := range mutate {
		f(&o)
	}
	// The store is opened with the schema of the mapping the options end
	// up with (a test may swap the mapping).
	be, err := pharos.Driver{}.Open(ctx, backends.Config{"driver": "sqlite", "dsn": filepath.Join(dir, "pharos.db"), "init": true}, o.Mapping.Schema(), hclog.NewNullLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = be.Close() })
	fb.Backend = be
	return &fixture{svc: NewService(o), be: fb, state: st, logs: logs}
}

func user(ext, upn string) scim.Resource {
	r, err := scim.Decode(scim.User, []byte(fmt.Sprintf(`{"externalId":%q,"userName":%q,"active":true,
		"emails":[{"type":"work","value":%q,"primary":true}],"name":{"givenName":"G","familyName":"F"}}`, ext, upn, upn)))
	if err != nil {
		panic(err)
	}
	return r
}

func patch(t *testing.T, body string) []scim.PatchOp {
	t.Helper()
	ops, err := scim.DecodePatch(scim.User, []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+body+`}`))
	require.NoError(t, err)
	return ops
}

func scimStatus(t *testing.T, err error) int {
	t.Helper()
	var se *scim.Error
	require.True(t, errors.As(err, &se), "want *scim.Error, got %v", err)
	return se.Status
}

// Identical bodies after other writes are applied again: disable, enable,
// disable ends disabled (the idempotency record is only a fast path).
func TestIdenticalBodiesAfterOtherWritesApplyAgain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	id := res["id"].(string)
	disable := patch(t, `[{"op":"Replace","path":"active","value":"False"}]`)
	enable := patch(t, `[{"op":"Replace","path":"active","value":"True"}]`)
	for _, ops := range [][]scim.PatchOp{disable, enable, disable} {
		_, err := f.svc.Patch(ctx, scim.User, id, ops)
		require.NoError(t, err)
	}
	got, err := f.svc.Get(ctx, scim.User, id, scim.ListParams{})
	require.NoError(t, err)
	require.Equal(t, false, got["active"])
}

// A replay of the same request while the resource is unchanged gets the
// stored answer without touching the target.
func TestReplayWhileUnchanged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	id := res["id"].(string)
	ops := patch(t, `[{"op":"Replace","path":"title","value":"Boss"}]`)
	first, err := f.svc.Patch(ctx, scim.User, id, ops)
	require.NoError(t, err)
	calls := f.be.calls.Load()
	again, err := f.svc.Patch(ctx, scim.User, id, ops)
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.Equal(t, calls, f.be.calls.Load(), "the replay wrote nothing")

	// The create replayed as well: same id.
	res2, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	require.Equal(t, id, res2["id"])
}

// Transient target errors are retried inline; an ambiguous create (applied,
// answer lost) is resolved by re-reading, never duplicated.
func TestTransientErrorsAreRetried(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.be.inject("Create", 1, true)
	res, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	id := res["id"].(string)
	recs, total, err := f.be.Find(ctx, backends.Query{Kind: backends.User, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, id, recs[0].ID)

	f.be.inject("Modify", 2, false)
	_, err = f.svc.Patch(ctx, scim.User, id, patch(t, `[{"op":"Replace","path":"title","value":"Boss"}]`))
	require.NoError(t, err)

	f.be.inject("Delete", 1, true)
	require.NoError(t, f.svc.Delete(ctx, scim.User, id), "a retried delete that finds nothing: the first landed")
}

// When the target stays down past the inline retries: 503 with Retry-After.
func TestTargetDownIs503(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.be.inject("Create", 100, false)
	_, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	var se *scim.Error
	require.True(t, errors.As(err, &se))
	require.Equal(t, 503, se.Status)
	require.Positive(t, se.RetryAfter)
	require.NotContains(t, se.Detail, "injected", "internal errors never reach the client")
}

// With the state store gone the bridge keeps serving and the target's
// natural keys still prevent duplicates.
func TestStateStoreDownKeepsServing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.state.Close())
	res, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	again, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	require.Equal(t, res["id"], again["id"])
	_, err = f.svc.Create(ctx, scim.User, user("e2", "A@X.com"))
	require.Equal(t, 409, scimStatus(t, err))
	_, total, err := f.be.Find(ctx, backends.Query{Kind: backends.User})
	require.NoError(t, err)
	require.Equal(t, 1, total)
}

// Two services sharing one state store and one target (two replicas)
// never interleave writes to one resource: concurrent read-modify-write
// PATCHes of different attributes lose no update.
func TestTwoReplicasLoseNoUpdate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.svc.mapping
	second := NewService(Options{Tenant: "t", Mapping: m, Backend: f.be.Backend, State: f.state, Owner: "replica-2", WriteRetries: 1})
	res, err := f.svc.Create(ctx, scim.User, user("e1", "a@x.com"))
	require.NoError(t, err)
	id := res["id"].(string)
	var wg sync.WaitGroup
	attrs := []string{"title", "displayName", "name.givenName", "name.familyName",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"}
	for i, a := range attrs {
		svc := f.svc
		if i%2 == 1 {
			svc = second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Patch(ctx, scim.User, id, patch(t, fmt.Sprintf(`[{"op":"Replace","path":%q,"value":"v%d"}]`, a, i)))
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := f.svc.Get(ctx, scim.User, id, scim.ListParams{})
	require.NoError(t, err)
	for i, a := range attrs {
		v, ok := got.Get(scim.MustParsePath(scim.User, a))
		require.True(t, ok, a)
		require.Equal(t, fmt.Sprintf("v%d", i), v, a)
	}
}

// The audit log has one line per applied change, naming attributes but
// never their values.
func TestAuditLog(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.svc.Create(ctx, scim.User, user("e1", "secret-upn@x.com"))
	require.NoError(t, err)
	_, err = f.svc.Patch(ctx, scim.User, res["id"].(string), patch(t, `[{"op":"Replace","path":"title","value":"Top Secret Title"}]`))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	var audit []string
	for _, l := range lines {
		if strings.Contains(l, `"@module":"audit"`) {
			audit = append(audit, l)
		}
	}
	require.Len(t, audit, 2)
	require.Contains(t, audit[0], `"op":"create"`)
	require.Contains(t, audit[1], `"attributes":"title"`)
	require.NotContains(t, f.logs.String(), "Top Secret Title")
	require.NotContains(t, f.logs.String(), "secret-upn")

	// The same records are kept in the state store for the console,
	// newest first, named by userName, searchable by it.
	recs, err := f.state.AuditRecords(ctx, "t", "", 10)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.Equal(t, []string{"modify", "create"}, []string{recs[0].Op, recs[1].Op})
	require.Equal(t, res["id"], recs[0].ID)
	require.Equal(t, "secret-upn@x.com", recs[0].Name)
	require.Equal(t, []string{"title"}, recs[0].Attrs)
	require.Equal(t, "applied", recs[0].Outcome)
	recs, err = f.state.AuditRecords(ctx, "t", "SECRET-UPN", 10)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	recs, err = f.state.AuditRecords(ctx, "t", "bob", 10)
	require.NoError(t, err)
	require.Empty(t, recs)
}

// A request whose ctx is done stops waiting for a resource's lock.
func TestLockWaitHonoursContext(t *testing.T) {
	f := newFixture(t)
	held, _, err := f.svc.locks.begin(context.Background(), state.WriteBegin{}, "k")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err = f.svc.locks.begin(ctx, state.WriteBegin{}, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	held.release()
	h, _, err := f.svc.locks.begin(context.Background(), state.WriteBegin{}, "k")
	require.NoError(t, err)
	h.release()
}

// A holder's shared lock is renewed while its write runs, so it outlives
// its lease; once released, another replica gets it at once.
func TestSharedLockIsRenewedWhileHeld(t *testing.T) {
	f := newFixture(t)
	l := newLocker(f.state, "replica-1", hclog.NewNullLogger(), nil)
	l.lease, l.renewEvery = 200*time.Millisecond, 50*time.Millisecond
	ctx := context.Background()
	h, _, err := l.begin(ctx, state.WriteBegin{}, "t/User/u1", "t/User/u2")
	require.NoError(t, err)
	time.Sleep(600 * time.Millisecond) // three leases
	for _, k := range []string{"t/User/u1", "t/User/u2"} {
		ok, err := f.state.TryLock(ctx, k, "replica-2", time.Second)
		require.NoError(t, err)
		require.False(t, ok, "the holder renewed its lease on %s", k)
	}
	h.release()
	ok, err := f.state.TryLock(ctx, "t/User/u1", "replica-2", time.Second)
	require.NoError(t, err)
	require.True(t, ok, "released at once")
}

// A replica waits while another holds the lease, and gets it when it is
// released.
func TestSharedLockWaitsForOtherReplica(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ok, err := f.state.TryLock(ctx, "t/User/u1", "replica-2", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	l := newLocker(f.state, "replica-1", hclog.NewNullLogger(), nil)
	got := make(chan error, 1)
	go func() {
		h, _, err := l.begin(ctx, state.WriteBegin{}, "t/User/u1")
		if err == nil {
			h.release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("took a lease another replica holds (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	require.NoError(t, f.state.Unlock(ctx, "t/User/u1", "replica-2"))
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting after the lease was released")
	}
}

// countingState records which state-store calls the pipeline makes.
type countingState struct {
	state.Store
	mu    sync.Mutex
	calls []string
}

func (c *countingState) note(name string) {
	c.mu.Lock()
	c.calls = append(c.calls, name)
	c.mu.Unlock()
}

func (c *countingState) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

func (c *countingState) BeginWrite(ctx context.Context, b state.WriteBegin) (state.WriteStart, error) {
	c.note("BeginWrite")
	return c.Store.BeginWrite(ctx, b)
}

func (c *countingState) EndWrite(ctx context.Context, e state.WriteEnd) error {
	c.note("EndWrite")
	return c.Store.EndWrite(ctx, e)
}

func (c *countingState) Answer(ctx context.Context, key string) (state.Answer, error) {
	c.note("Answer")
	return c.Store.Answer(ctx, key)
}

func (c *countingState) PutAnswer(ctx context.Context, key string, a state.Answer, ttl time.Duration) error {
	c.note("PutAnswer")
	return c.Store.PutAnswer(ctx, key, a, ttl)
}

func (c *countingState) Version(ctx context.Context, res string) (int64, error) {
	c.note("Version")
	return c.Store.Version(ctx, res)
}

func (c *countingState) BumpVersion(ctx context.Context, res string) (int64, error) {
	c.note("BumpVersion")
	return c.Store.BumpVersion(ctx, res)
}

func (c *countingState) TryLock(ctx context.Context, key, owner string, lease time.Duration) (bool, error) {
	c.note("TryLock")
	return c.Store.TryLock(ctx, key, owner, lease)
}

func (c *countingState) Unlock(ctx context.Context, key, owner string) error {
	c.note("Unlock")
	return c.Store.Unlock(ctx, key, owner)
}

func (c *countingState) Pending(ctx context.Context, tenant, res string) (int, error) {
	c.note("Pending")
	return c.Store.Pending(ctx, tenant, res)
}

func (c *countingState) List(ctx context.Context, f state.JobFilter, limit int) ([]state.Job, error) {
	c.note("List")
	return c.Store.List(ctx, f, limit)
}

func (c *countingState) Enqueue(ctx context.Context, j state.Job) (state.Job, error) {
	c.note("Enqueue")
	return c.Store.Enqueue(ctx, j)
}

// Every write on the happy path makes two state-store calls, BeginWrite
// and EndWrite (redisstate answers them in three round trips), and a new
// user costs the target one Create: the target checks the natural keys as
// it creates. Only a repeat reads the version (the replay check).
func TestStateCallsPerWrite(t *testing.T) {
	var cs *countingState
	f := newFixture(t, func(o *Options) {
		cs = &countingState{Store: o.State}
		o.State = cs
	})
	ctx := context.Background()
	writes := []string{"BeginWrite", "EndWrite"}

	before := f.be.calls.Load()
	res, err := f.svc.Create(ctx, scim.User, user("e1", "u1@x.com"))
	require.NoError(t, err)
	require.Equal(t, writes, cs.take(), "create")
	require.Equal(t, int64(1), f.be.calls.Load()-before, "backend calls of a new user's create")
	id := res["id"].(string)

	ops := patch(t, `[{"op":"Replace","path":"title","value":"T"}]`)
	_, err = f.svc.Patch(ctx, scim.User, id, ops)
	require.NoError(t, err)
	require.Equal(t, writes, cs.take(), "patch")

	_, err = f.svc.Patch(ctx, scim.User, id, ops)
	require.NoError(t, err)
	require.Equal(t, []string{"BeginWrite", "Version", "EndWrite"}, cs.take(), "the patch's repeat, replayed")

	require.NoError(t, f.svc.Delete(ctx, scim.User, id))
	require.Equal(t, writes, cs.take(), "delete")
}

// A write's own reads say they are the write's (backends.Read.ForWrite), so
// that a backend serves them with its write capacity; queries are not.
func TestWritesMarkTheirReads(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.svc.Create(ctx, scim.User, user("e1", "u1@x.com"))
	require.NoError(t, err)
	id := res["id"].(string)

	_, err = f.svc.Get(ctx, scim.User, id, scim.ListParams{})
	require.NoError(t, err)
	_, err = f.svc.List(ctx, scim.User, scim.ListParams{Count: 10})
	require.NoError(t, err)
	require.Zero(t, f.be.writeReads.Load(), "queries")

	_, err = f.svc.Patch(ctx, scim.User, id, patch(t, `[{"op":"Replace","path":"title","value":"T"}]`))
	require.NoError(t, err)
	require.Equal(t, int64(1), f.be.writeReads.Load(), "the PATCH's read of the current user")
	_, err = f.svc.Create(ctx, scim.User, user("e1", "u1@x.com")) // a retried create: found, not created
	require.NoError(t, err)
	require.Greater(t, f.be.writeReads.Load(), int64(1), "the retried create's lookups")
}

// A write refused by the bridge's own cap on operations in flight says so,
// and so does the queued answer: an operator raises maxConcurrent, or looks
// at the directory, depending on which it was.
func TestBusyAndQueuedDetails(t *testing.T) {
	f := newFixture(t)
	busy := f.svc.toSCIM(scim.User, "", fmt.Errorf("ldap: maxConcurrent (64) reached: %w", backends.ErrBusy))
	var se *scim.Error
	require.ErrorAs(t, busy, &se)
	require.Equal(t, 503, se.Status)
	require.Contains(t, se.Detail, "maxConcurrent")

	down := f.svc.toSCIM(scim.User, "", fmt.Errorf("ldap: dial: %w", backends.ErrUnavailable))
	for _, tc := range []struct {
		cause error
		want  string
	}{
		{busy, "the bridge has as many operations in flight on the target directory as it allows (maxConcurrent); the change is queued"},
		{down, "the target directory is unavailable; the change is queued"},
		{errBacklog, "an earlier change to this resource is waiting in the retry queue; the change is queued"},
	} {
		q := f.svc.errQueued(scim.User, "", tc.cause)
		require.Equal(t, 503, q.Status)
		require.Equal(t, retryAfter, q.RetryAfter)
		require.Contains(t, q.Detail, tc.want)
	}
}

// Errors stay errors until the edge: the SCIM answer a write gets keeps
// the directory's error it was made from, for errors.Is and the log, and
// the client's detail never shows it.
func TestSCIMErrorKeepsItsCause(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.be.inject("Create", 1000, false)
	_, err := NewService(Options{Tenant: "t", Mapping: f.svc.mapping, Backend: f.be}).Create(ctx, scim.User, user("e1", "a@x.com"))
	var se *scim.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, 503, se.Status)
	require.ErrorIs(t, err, backends.ErrUnavailable)
	require.ErrorIs(t, err, errInjected)
	require.Contains(t, err.Error(), "injected: connection reset", "the log line")
	require.NotContains(t, se.Detail, "injected")
	require.Equal(t, ClassUnavailable, errorClass(err))

	_, err = f.svc.Get(ctx, scim.User, "no-such-id", scim.ListParams{})
	require.ErrorIs(t, err, backends.ErrNotFound)
	require.Equal(t, ClassNotFound, errorClass(err))
}

// The mapping's match: numbers decide which natural key a create tries
// first, as Entra's matching precedence does. With userName first, a
// pre-existing entry that has the userName and no externalId is the
// create's identity: it is linked (201 with its id) instead of a 409.
func TestMatchPrecedenceAsConfigured(t *testing.T) {
	src, err := os.ReadFile("../configs/mappings/entra-to-pharos.yaml")
	require.NoError(t, err)
	swapped := strings.Replace(strings.Replace(strings.Replace(string(src),
		"match: 1", "match: @", 1), "match: 2", "match: 1", 1), "match: @", "match: 2", 1)
	byName, err := mapping.Parse("swapped.yaml", []byte(swapped))
	require.NoError(t, err)
	require.Equal(t, "userName", byName.MatchKeys(scim.User)[0].Path.String())

	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		m      func(*Options)
		status int
	}{
		{"externalId first (shipped)", func(*Options) {}, 409},
		{"userName first", func(o *Options) { o.Mapping = byName }, 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.m)
			old, err := f.be.Backend.Create(ctx, backends.User, map[string][]string{"login": {"ana@x.com"}, "email": {"ana@x.com"}})
			require.NoError(t, err)
			res, err := f.svc.Create(ctx, scim.User, user("e-ana", "ana@x.com"))
			if tc.status == 409 {
				require.Equal(t, 409, scimStatus(t, err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, old.ID, res["id"], "the existing entry, linked")
			got, err := f.be.Backend.Get(ctx, backends.User, old.ID, backends.Read{})
			require.NoError(t, err)
			require.Equal(t, []string{"e-ana"}, got.Attrs["external_id"])
		})
	}
}

// keepingMapping is the shipped Pharos mapping with the policies that keep
// deleted entries: users disabled and marked, groups kept and marked.
func keepingMapping(t testing.TB) *mapping.Mapping {
	t.Helper()
	src, err := os.ReadFile("../configs/mappings/entra-to-pharos.yaml")
	require.NoError(t, err)
	s := strings.Replace(string(src), "  onDelete: delete\n",
		"  onDelete: disable\n  marker: {target: deprovisioned, value: \"1\"}\n  groups: {onDelete: keep, marker: {target: deprovisioned, value: \"1\"}}\n", 1)
	m, err := mapping.Parse("keeping.yaml", []byte(s))
	require.NoError(t, err)
	require.Equal(t, mapping.OnDeleteDisable, m.OnDelete(scim.User))
	return m
}

func group(name string, members ...string) scim.Resource {
	list := make([]any, len(members))
	for i, id := range members {
		list[i] = map[string]any{"value": id}
	}
	return scim.Resource{"schemas": []any{scim.SchemaGroup}, "displayName": name, "externalId": "g-" + name, "members": list}
}

// A user or group Entra DELETEs is gone for SCIM whatever the policy kept
// (RFC 7644 §3.6), and the kept entry is left alone until a POST naming it
// restores it: the same entry, enabled, its memberships kept.
func TestDeprovisionedIsGoneUntilRestored(t *testing.T) {
	m := keepingMapping(t)
	f := newFixture(t, func(o *Options) { o.Mapping = m })
	ctx := context.Background()
	filter := func(kind scim.Kind, expr string) int {
		t.Helper()
		p := scim.ListParams{Count: 10}
		if expr != "" {
			var err error
			p.Filter, err = scim.ParseFilter(kind, expr)
			require.NoError(t, err)
		}
		l, err := f.svc.List(ctx, kind, p)
		require.NoError(t, err)
		require.Len(t, l.Resources, l.TotalResults)
		return l.TotalResults
	}

	ana, err := f.svc.Create(ctx, scim.User, user("e-ana", "ana@x.com"))
	require.NoError(t, err)
	id := ana["id"].(string)
	_, err = f.svc.Create(ctx, scim.User, user("e-bo", "bo@x.com"))
	require.NoError(t, err)
	g, err := f.svc.Create(ctx, scim.Group, group("Sales", id))
	require.NoError(t, err)
	gid := g["id"].(string)

	require.NoError(t, f.svc.Delete(ctx, scim.User, id))
	_, err = f.svc.Get(ctx, scim.User, id, scim.ListParams{})
	require.Equal(t, 404, scimStatus(t, err))
	require.Zero(t, filter(scim.User, `userName eq "ana@x.com"`))
	require.Zero(t, filter(scim.User, `externalId eq "e-ana"`))
	require.Equal(t, 1, filter(scim.User, ""), "a listing without filter omits it too")
	_, err = f.svc.Patch(ctx, scim.User, id, patch(t, `[{"op":"Replace","path":"title","value":"x"}]`))
	require.Equal(t, 404, scimStatus(t, err))
	require.NoError(t, f.svc.Delete(ctx, scim.User, id), "Entra's repeat of the DELETE gets its stored answer")
	stateless := NewService(Options{Tenant: "t", Mapping: m, Backend: f.be})
	require.Equal(t, 404, scimStatus(t, stateless.Delete(ctx, scim.User, id)), "any other DELETE of it is a 404")

	kept, err := f.be.Backend.Get(ctx, backends.User, id, backends.Read{})
	require.NoError(t, err, "the row is kept")
	require.Equal(t, []string{"0"}, kept.Attrs["active"])
	require.Equal(t, []string{"1"}, kept.Attrs["deprovisioned"])
	require.Empty(t, kept.Attrs["title"], "the PATCH to its old id wrote nothing")

	// Another Entra object with her userName: the kept entry is not
	// silently taken over.
	_, err = f.svc.Create(ctx, scim.User, user("e-other", "ana@x.com"))
	require.Equal(t, 409, scimStatus(t, err))
	require.ErrorContains(t, err, "deprovisioned")

	back, err := f.svc.Create(ctx, scim.User, user("e-ana", "ana@x.com"))
	require.NoError(t, err)
	require.Equal(t, id, back["id"], "restored, not created again")
	require.Equal(t, true, back["active"])
	got, err := f.be.Backend.Get(ctx, backends.User, id, backends.Read{})
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, got.Attrs["active"])
	require.Empty(t, got.Attrs["deprovisioned"])
	members, err := f.be.Backend.Get(ctx, backends.Group, gid, backends.Read{Members: true})
	require.NoError(t, err)
	require.Equal(t, []string{id}, members.Attrs[backends.AttrMembers], "her membership survived")
	require.Equal(t, 1, filter(scim.User, `userName eq "ana@x.com"`))

	// Groups: kept and hidden, restored by a POST of their displayName.
	require.NoError(t, f.svc.Delete(ctx, scim.Group, gid))
	_, err = f.svc.Get(ctx, scim.Group, gid, scim.ListParams{})
	require.Equal(t, 404, scimStatus(t, err))
	require.Zero(t, filter(scim.Group, `displayName eq "Sales"`))
	g2, err := f.svc.Create(ctx, scim.Group, group("Sales"))
	require.NoError(t, err)
	require.Equal(t, gid, g2["id"])
	members, err = f.be.Backend.Get(ctx, backends.Group, gid, backends.Read{Members: true})
	require.NoError(t, err)
	require.Equal(t, []string{id}, members.Attrs[backends.AttrMembers])
}
