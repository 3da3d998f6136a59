package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The whole bench at a tiny scale against the servers `make test` starts,
// so that the program never rots: every scenario runs with both state
// stores, the JSON holds each with positive numbers, and no request got a
// 5xx or an answer the scenario did not expect. Timings are never
// asserted (a shared 2-core machine).
func TestBenchSmoke(t *testing.T) {
	if os.Getenv("SCIMBRIDGE_LDAP_URL") == "" || os.Getenv("SCIMBRIDGE_REDIS_URL") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SCIMBRIDGE_LDAP_URL or SCIMBRIDGE_REDIS_URL is not set, and CI must run the bench smoke test: run `make test`")
		}
		t.Skip("SCIMBRIDGE_LDAP_URL or SCIMBRIDGE_REDIS_URL is not set: `make test` starts slapd and redis-server and sets them")
	}
	if testing.Short() {
		t.Skip("builds the bridge and runs it as a process")
	}
	o := DefaultOptions()
	o.Users, o.GroupSize, o.Workers = 30, 10, 4
	o.Members, o.MembersPerPatch = 300, 100
	o.Serial = 20
	o.Clients, o.Duration = []int{1, 8, 32}, Dur(300*time.Millisecond)
	o.Rates, o.MixDuration = []int{10, 40}, Dur(time.Second)
	o.ProbeInterval = Dur(50 * time.Millisecond)
	o.Out = filepath.Join(t.TempDir(), "bench-results.json")
	tl := &testLog{t: t}
	t.Cleanup(tl.stop)
	o.Log = tl

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, o)
	require.NoError(t, err)
	var table strings.Builder
	printReport(&table, res)
	t.Log("\n" + table.String())
	require.NoError(t, writeJSON(o.Out, res))

	raw, err := os.ReadFile(o.Out)
	require.NoError(t, err)
	var got Results
	require.NoError(t, json.Unmarshal(raw, &got))
	require.NotEmpty(t, got.GoVersion)
	require.NotEmpty(t, got.Revision)
	require.Positive(t, got.CPUs)
	require.Equal(t, o.Users, got.Options.Users)
	require.Len(t, got.Stores, 2)
	for i, s := range got.Stores {
		require.Equal(t, allStores[i], s.Store)
		require.Zero(t, s.N5xx, "%s: 5xx answers", s.Store)
		require.Zero(t, s.Unexpected, "%s: unexpected answers", s.Store)
		require.Zero(t, s.TransportErrors, "%s: requests without an answer", s.Store)
		require.Contains(t, s.RawAddShape, "objectClass=inetOrgPerson,scimBridgeUser", s.Store)

		c := s.Cycle
		require.NotNil(t, c, s.Store)
		require.Equal(t, 3, c.Groups)
		require.Equal(t, int64(3*30+2*3+3), c.Requests, "%s: every request of the cycle", s.Store)
		require.Zero(t, c.Failed)
		require.Equal(t, 30, c.Memberships)
		require.Positive(t, c.RequestsPerSec)
		require.Len(t, c.ByType, 6)
		for _, l := range c.ByType {
			require.Positive(t, l.N, "%s: %s", s.Store, l.Name)
			require.Positive(t, l.P99Ms, "%s: %s", s.Store, l.Name)
		}
		require.Positive(t, c.PeakRSSMB)
		require.Positive(t, c.PeakGoroutines)
		require.Len(t, c.RSSAt, 4)
		for _, p := range c.RSSAt {
			require.Positive(t, p.RSSMB)
		}

		require.NotNil(t, s.Serial, s.Store)
		require.Equal(t, 20, s.Serial.Bridge.N)
		require.Equal(t, 20, s.Serial.Raw.N)
		require.Positive(t, s.Serial.RatioP50)

		require.Len(t, s.Throughput, 3*3, s.Store)
		for _, tp := range s.Throughput {
			require.Positive(t, tp.BridgeOpsPerSec, "%s: %s at %d", s.Store, tp.Op, tp.Clients)
			require.Positive(t, tp.RawOpsPerSec, "%s: %s at %d", s.Store, tp.Op, tp.Clients)
			require.Positive(t, tp.Percent)
			require.Zero(t, tp.BridgeErrors+tp.RawErrors, "%s: %s at %d", s.Store, tp.Op, tp.Clients)
		}

		g := s.Group
		require.NotNil(t, g, s.Store)
		require.Equal(t, 3, g.Patches)
		require.Equal(t, 300, g.MembersInDirectory, "%s: every member landed", s.Store)
		require.Positive(t, g.BridgeMembersPerSec)
		require.Positive(t, g.RawMembersPerSec)
		require.Positive(t, g.Ratio)

		require.Len(t, s.Mix, 2, s.Store)
		for _, m := range s.Mix {
			require.Positive(t, m.Sent)
			require.Equal(t, m.Sent, m.Latency.N, "%s: every mix request answered", s.Store)
			require.Zero(t, m.N5xx)
			require.Zero(t, m.Unexpected)
		}

		require.NotEmpty(t, s.Probe, s.Store)
		probes := 0
		for _, p := range s.Probe {
			probes += p.N
			require.Zero(t, p.Failures, "%s: probe in %s", s.Store, p.Phase)
		}
		require.Positive(t, probes)
		require.NotEmpty(t, s.Resources)
	}
	require.NotEmpty(t, got.Targets)
}

// testLog sends the bench's progress lines to the test log while the test
// runs (and nowhere after it).
type testLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
