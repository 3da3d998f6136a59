package ldap

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// privateServer starts a slapd of its own with scripts/slapd-start.sh, so
// that stopping and pausing it cannot disturb other tests using the shared
// one. It runs only where the shared one runs (the same gate).
func privateServer(tb testing.TB) server {
	tb.Helper()
	requireServer(tb)
	cmd := exec.Command("../../scripts/slapd-start.sh")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(tb, err, "slapd-start.sh: %s", stderr.String())
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	s := server{url: env["SCIMBRIDGE_LDAP_URL"], ldapsURL: env["SCIMBRIDGE_LDAPS_URL"], caFile: env["SCIMBRIDGE_LDAP_CA_FILE"],
		bindDN: env["SCIMBRIDGE_LDAP_BIND_DN"], password: env["SCIMBRIDGE_LDAP_PASSWORD"], baseDN: env["SCIMBRIDGE_LDAP_BASE_DN"],
		dir: env["SCIMBRIDGE_LDAP_DIR"]}
	require.NotEmpty(tb, s.dir, "slapd-start.sh printed %q", out)
	tb.Cleanup(func() {
		_ = signal(s, syscall.SIGCONT)
		if out, err := exec.Command("../../scripts/slapd-stop.sh", s.dir).CombinedOutput(); err != nil {
			tb.Logf("slapd-stop.sh: %v: %s", err, out)
		}
	})
	return s
}

func slapdPID(s server) (int, error) {
	b, err := os.ReadFile(s.dir + "/slapd.pid")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func signal(s server, sig syscall.Signal) error {
	pid, err := slapdPID(s)
	if err != nil {
		return err
	}
	return syscall.Kill(pid, sig)
}

// stopServer ends slapd and waits until it is gone.
func stopServer(tb testing.TB, s server) {
	tb.Helper()
	pid, err := slapdPID(s)
	require.NoError(tb, err)
	require.NoError(tb, syscall.Kill(pid, syscall.SIGTERM))
	require.Eventually(tb, func() bool { return syscall.Kill(pid, 0) != nil }, 10*time.Second, 20*time.Millisecond)
}

func restartServer(tb testing.TB, s server) {
	tb.Helper()
	require.NoError(tb, exec.Command("sh", s.dir+"/restart").Run())
}

// TestFaults: slapd paused (SIGSTOP), stopped and restarted under the
// backend. Every answer comes within the operation timeout as
// ErrUnavailable, nothing is half-written, goroutines do not pile up, and
// the backend works again once slapd does.
func TestFaults(t *testing.T) {
	s := privateServer(t)
	const timeout = time.Second
	ou := newTestOU(t, s)
	cfg := testConfig(s, ou)
	cfg["timeout"] = timeout.String()
	cfg["poolSize"] = 2
	b, err := Open(context.Background(), cfg, testSchema(), hclog.NewNullLogger())
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	alice := create(t, b, backends.User, user("alice"))
	g := create(t, b, backends.Group, map[string][]string{"cn": {"staff"}})

	ops := []struct {
		name string
		call func(ctx context.Context, i int) error
	}{
		{"create", func(ctx context.Context, i int) error {
			_, err := b.Create(ctx, backends.User, user(fmt.Sprintf("paused%d", i)))
			return err
		}},
		{"get", func(ctx context.Context, _ int) error {
			_, err := b.Get(ctx, backends.User, alice.ID, backends.Read{})
			return err
		}},
		{"find", func(ctx context.Context, _ int) error {
			_, _, err := b.Find(ctx, backends.Query{Kind: backends.User, Limit: 10})
			return err
		}},
		{"modify", func(ctx context.Context, i int) error {
			return b.Modify(ctx, backends.Record{Kind: backends.User, ID: alice.ID}, []backends.Change{{Op: backends.Replace, Attr: "title", Values: []string{fmt.Sprint(i)}}})
		}},
		{"members", func(ctx context.Context, _ int) error {
			return b.Modify(ctx, backends.Record{Kind: backends.Group, ID: g.ID}, []backends.Change{{Op: backends.Add, Attr: backends.AttrMembers, Values: []string{alice.ID}}})
		}},
	}
	// failFast runs every operation against a broken slapd: each answers
	// ErrUnavailable, within the bound.
	failFast := func(t *testing.T, bound time.Duration, round int) {
		for _, op := range ops {
			start := time.Now()
			err := op.call(ctx, round)
			took := time.Since(start)
			require.ErrorIs(t, err, backends.ErrUnavailable, "%s", op.name)
			require.Less(t, took, bound, "%s took %v", op.name, took)
		}
	}
	recovers := func(t *testing.T, base int) {
		require.Eventually(t, func() bool {
			_, err := b.Get(ctx, backends.User, alice.ID, backends.Read{})
			return err == nil
		}, 10*time.Second, 50*time.Millisecond, "the backend did not come back")
		for i, op := range ops {
			require.NoError(t, op.call(ctx, base+i), "%s after recovery", op.name)
		}
	}
	goroutines := runtime.NumGoroutine()

	t.Run("paused", func(t *testing.T) {
		require.NoError(t, signal(s, syscall.SIGSTOP))
		for round := range 2 {
			failFast(t, timeout+time.Second, round)
		}
		// A shorter request deadline wins over the timeout.
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		start := time.Now()
		_, err := b.Get(dctx, backends.User, alice.ID, backends.Read{})
		cancel()
		require.ErrorIs(t, err, backends.ErrUnavailable)
		require.Less(t, time.Since(start), 700*time.Millisecond)
		require.NoError(t, signal(s, syscall.SIGCONT))
		recovers(t, 1000)
		// A create sent while paused may have landed after the pause
		// (it was ambiguous); if it did, it is whole.
		recs, _, err := b.Find(ctx, backends.Query{Kind: backends.User, Filter: backends.Cmp{Attr: "uid", Op: backends.Sw, Value: "paused"}, Limit: 10})
		require.NoError(t, err)
		for _, r := range recs {
			require.Len(t, r.Attrs["mail"], 1, "a partial entry %v", r.Attrs)
			require.Len(t, r.Attrs["sn"], 1, "a partial entry %v", r.Attrs)
		}
	})
	t.Run("stopped and restarted", func(t *testing.T) {
		stopServer(t, s)
		for round := range 3 {
			failFast(t, timeout+time.Second, 100+round)
		}
		restartServer(t, s)
		recovers(t, 2000)
	})
	t.Run("no goroutine growth", func(t *testing.T) {
		require.Eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines+4 }, 5*time.Second, 50*time.Millisecond,
			"goroutines grew from %d to %d", goroutines, runtime.NumGoroutine())
	})
}
