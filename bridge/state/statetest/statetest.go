// Package statetest owns the contract that every state.Store implementation
// (sqlitestate, redisstate) must meet, as one exported suite: Run. Each
// implementation's tests call it with a constructor for a fresh, empty
// store, against the real engine (a SQLite file in t.TempDir(), a throwaway
// redis-server).
//
// Expiry is tested with real time and short TTLs (tens of milliseconds),
// and every timing assertion is one-sided: the suite only checks that a
// short TTL has run out after waiting several times its length, and uses
// TTLs of a minute wherever something must still be there. A slow machine
// makes the suite slower, never wrong.
package statetest

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

const (
	// long outlives any test: whatever is stored with it must still be there.
	long = time.Minute
	// short runs out during a test.
	short = 50 * time.Millisecond
	// pastShort is how long the suite waits for short to run out, with slack
	// for stores that round to milliseconds or expire lazily.
	pastShort = 4 * short
	// hangAfter is how long a call may take before the suite calls it hung.
	hangAfter = 10 * time.Second
)

// opener makes a fresh, empty store for one subtest.
type opener = func(t testing.TB) state.Store

// Run runs the contract suite. open must return a fresh, empty store on
// every call, independent of every other store it returned: subtests run in
// parallel. Run closes each store it opened when its subtest ends (exactly
// once), so open should not register a Close of its own.
//
// The subtests are Tokens, Clients, SigningKeys, Idempotency, Versions, Locks, Writes, Queue, Audit, Ping,
// Context (a done context gives its error and applies nothing) and Closed
// (calls on a closed store give state.ErrUnavailable).
func Run(t *testing.T, open func(t testing.TB) state.Store) {
	t.Helper()
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open) })
	t.Run("Clients", func(t *testing.T) { testClients(t, open) })
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, open) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, open) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, open) })
	t.Run("Locks", func(t *testing.T) { testLocks(t, open) })
	t.Run("Writes", func(t *testing.T) { testWrites(t, open) })
	t.Run("Queue", func(t *testing.T) { testQueue(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		s := newTestStore(t, open)
		require.NoError(t, s.Ping(t.Context()))
	})
	t.Run("Context", func(t *testing.T) { testContext(t, open) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open) })
}

// newTestStore opens a store and closes it when t ends.
func newTestStore(t testing.TB, open opener) state.Store {
	t.Helper()
	s := open(t)
	require.NotNil(t, s, "open returned a nil store")
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// noHang runs f and fails t if f has not returned after hangAfter: a store
// must honour its context and its own timeouts, never block.
func noHang[T any](t testing.TB, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(hangAfter):
		t.Fatalf("%s did not return within %s", what, hangAfter)
		var zero T
		return zero
	}
}

// diffOpts compare what a store returns with what was put in: times as
// instants (a store may return another location), and a nil slice equal to
// an empty one (no body is an empty body).
var diffOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

func requireEqual(t testing.TB, want, got any) {
	t.Helper()
	if d := cmpDiff(want, got); d != "" {
		t.Fatalf("mismatch (-want +got):\n%s", d)
	}
}

// hashOf is a well-formed token hash, as the bridge stores it.
func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// base is a fixed instant, whole milliseconds, for token times.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newToken is tenant's token id, created at base+age, valid a year.
func newToken(tenant, id string, age time.Duration) state.Token {
	return state.Token{
		Tenant:    tenant,
		ID:        id,
		Hash:      hashOf(tenant + "/" + id + "/" + age.String()),
		CreatedAt: base.Add(age),
		ExpiresAt: base.Add(age + 365*24*time.Hour),
	}
}

func cmpDiff(want, got any) string { return cmp.Diff(want, got, diffOpts) }
