package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/sqlitestate"
)

// queueFixture writes a config whose SQLite state file holds the jobs of
// enqueueJobs, enqueued through the state.Queue API, and keeps the store
// open (as a running bridge would) to check what the commands did.
func queueFixture(t *testing.T) (cfg string, st *sqlitestate.Store, pending, dead, leased state.Job) {
	t.Helper()
	cfg, dir := writeTestConfig(t, "127.0.0.1:8080")
	st, err := sqlitestate.Open(context.Background(), filepath.Join(dir, "state.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	pending, dead, leased = enqueueJobs(t, st)
	return cfg, st, pending, dead, leased
}

// tableRows splits a tabwriter table into its header and the rows, keyed
// by the first column.
func tableRows(t *testing.T, out string) (header []string, rows map[string][]string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.NotEmpty(t, lines)
	split := func(l string) []string {
		var cols []string
		for _, c := range strings.Split(l, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		return cols
	}
	header = split(lines[0])
	rows = map[string][]string{}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "(") {
			continue // the "first N jobs" note
		}
		cols := split(l)
		rows[cols[0]] = cols
	}
	return header, rows
}

func TestQueueList(t *testing.T) {
	cfg, _, pending, dead, leased := queueFixture(t)

	out, err := run(t, "queue", "list", "--config", cfg)
	require.NoError(t, err)
	header, rows := tableRows(t, out)
	require.Equal(t, []string{"ID", "TENANT", "RESOURCE", "OP", "STATE", "ATTEMPTS", "NEXT/LEASE", "AGE", "LAST ERROR"}, header)
	require.Len(t, rows, 3, out)
	require.Equal(t, []string{pending.ID, "acme", "acme/User/pending", "delete", "pending", "0", "due now", "10m", "-"}, rows[pending.ID])
	require.Equal(t, []string{dead.ID, "acme", "acme/User/dead", "create", "dead", "1", "-", "10m",
		"[invalid] ldap: invalid attribute syntax for mail"}, rows[dead.ID], "the error is kept on one line")
	require.Equal(t, "leased", rows[leased.ID][4])
	require.Regexp(t, `^leased, (59m\d+s|1h) left$`, rows[leased.ID][6])
	require.NotContains(t, out, "Pa55word!", "lists never show payloads")

	for _, tc := range []struct {
		name string
		args []string
		ids  []string
	}{
		{"dead only", []string{"--state", "dead"}, []string{dead.ID}},
		{"pending only", []string{"--state", "pending"}, []string{pending.ID}},
		{"tenant", []string{"--tenant", "acme", "--state", "leased"}, []string{leased.ID}},
		{"limit", []string{"--limit", "1"}, []string{dead.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, append([]string{"queue", "list", "--config", cfg}, tc.args...)...)
			require.NoError(t, err)
			_, rows := tableRows(t, out)
			var ids []string
			for id := range rows {
				ids = append(ids, id)
			}
			require.ElementsMatch(t, tc.ids, ids, out)
		})
	}

	out, err = run(t, "queue", "list", "--config", cfg, "--limit", "1")
	require.NoError(t, err)
	require.Contains(t, out, "(showing the first 1; raise --limit to see more)")

	t.Run("json", func(t *testing.T) {
		out, err := run(t, "queue", "list", "--config", cfg, "--json", "--state", "dead")
		require.NoError(t, err)
		var jobs []opsview.Job
		require.NoError(t, json.Unmarshal([]byte(out), &jobs), out)
		require.Len(t, jobs, 1)
		j := jobs[0]
		require.Equal(t, dead.ID, j.ID)
		require.Equal(t, "dead", j.State)
		require.Equal(t, "invalid", j.ErrorClass)
		require.Equal(t, "ldap: invalid attribute syntax\nfor mail", j.LastError)
		require.InDelta(t, 600, j.AgeSeconds, 30)
		require.Nil(t, j.Payload)
	})

	t.Run("nothing", func(t *testing.T) {
		out, err := run(t, "queue", "list", "--config", cfg, "--state", "dead", "--tenant", "acme", "--limit", "5")
		require.NoError(t, err)
		require.NotContains(t, out, "No jobs")
		cfg2, _ := writeTestConfig(t, "127.0.0.1:8080")
		out, err = run(t, "queue", "list", "--config", cfg2, "--state", "dead")
		require.NoError(t, err)
		require.Equal(t, "No jobs in state dead.\n", out)
	})
}

func TestQueueShow(t *testing.T) {
	cfg, _, _, dead, _ := queueFixture(t)
	out, err := run(t, "queue", "show", "--config", cfg, dead.ID)
	require.NoError(t, err)
	for _, f := range [][2]string{
		{"ID", dead.ID},
		{"Tenant", "acme"},
		{"Resource", "acme/User/dead"},
		{"Operation", "create"},
		{"State", "dead"},
		{"Attempts", "1"},
		{"Created", regexp.QuoteMeta(dead.CreatedAt.UTC().Format(time.RFC3339)) + ` \(10m ago\)`},
		{"Error class", "invalid"},
		{"Last error", "ldap: invalid attribute syntax for mail"},
		{"Fingerprint", "fp-create"},
	} {
		require.Regexp(t, `(?m)^`+f[0]+`: +`+f[1]+`$`, out)
	}
	require.NotContains(t, out, "Next attempt", "a dead job has none")
	require.NotContains(t, out, "Leased by")
	require.Contains(t, out, "Payload:\n{\n  \"kind\": \"User\",\n  \"op\": \"create\",\n  \"resource\": {\n    \"password\": \"<secret>\",\n    \"userName\": \"ann@example.org\"\n  }\n}\n")
	require.NotContains(t, out, "Pa55word!")

	out, err = run(t, "queue", "show", "--config", cfg, "--json", dead.ID)
	require.NoError(t, err)
	var j opsview.Job
	require.NoError(t, json.Unmarshal([]byte(out), &j), out)
	require.Equal(t, dead.ID, j.ID)
	require.JSONEq(t, `{"op":"create","kind":"User","resource":{"userName":"ann@example.org","password":"<secret>"}}`, string(j.Payload))
}

func TestQueueRetry(t *testing.T) {
	cfg, st, _, dead, leased := queueFixture(t)
	ctx := context.Background()

	out, err := run(t, "queue", "retry", "--config", cfg, dead.ID)
	require.NoError(t, err)
	require.Contains(t, out, "Job "+dead.ID+" requeued: pending, due now, attempts reset to 0 (it was dead after 1 attempts; last error: ldap: invalid attribute syntax for mail).")
	j, err := st.Get(ctx, dead.ID)
	require.NoError(t, err)
	require.Equal(t, state.JobPending, j.State)
	require.Equal(t, 0, j.Attempts)
	require.False(t, j.NotBefore.After(time.Now()))

	out, err = run(t, "queue", "retry", "--config", cfg, "--json", dead.ID)
	require.NoError(t, err)
	var res struct {
		ID, Result string
		Job        opsview.Job
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.Equal(t, "requeued", res.Result)
	require.Equal(t, "pending", res.Job.State)

	_, err = run(t, "queue", "retry", "--config", cfg, leased.ID)
	require.ErrorContains(t, err, "is being applied by a worker right now")
	j, err = st.Get(ctx, leased.ID)
	require.NoError(t, err)
	require.Equal(t, state.JobLeased, j.State, "a job a worker holds is left alone")
}

func TestQueueDrop(t *testing.T) {
	cfg, st, pending, _, leased := queueFixture(t)
	ctx := context.Background()

	out, err := run(t, "queue", "drop", "--config", cfg, pending.ID)
	require.NoError(t, err)
	require.Equal(t, "Job "+pending.ID+" dropped: the delete of acme/User/pending (tenant acme, pending after 0 attempts) will not be applied.\n", out)
	_, err = st.Get(ctx, pending.ID)
	require.ErrorIs(t, err, state.ErrNotFound)

	out, err = run(t, "queue", "drop", "--config", cfg, "--json", leased.ID)
	require.NoError(t, err)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.Equal(t, "dropped", res["result"])
	_, err = st.Get(ctx, leased.ID)
	require.ErrorIs(t, err, state.ErrNotFound)

	_, err = run(t, "queue", "drop", "--config", cfg, pending.ID)
	require.ErrorContains(t, err, `no job "`+pending.ID+`" in the queue`)
}

func TestQueueBadInput(t *testing.T) {
	cfg, _, _, dead, _ := queueFixture(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown state", []string{"list", "--state", "buried"}, `--state "buried" is not one of pending, leased, dead`},
		{"zero limit", []string{"list", "--limit", "0"}, "--limit must be at least 1"},
		{"unknown tenant", []string{"list", "--tenant", "nobody"}, `no tenant "nobody"`},
		{"show without id", []string{"show"}, "accepts 1 arg(s), received 0"},
		{"retry two ids", []string{"retry", "a", "b"}, "accepts 1 arg(s), received 2"},
		{"list with an id", []string{"list", "x"}, `unknown command "x"`},
		{"unknown job", []string{"show", "no-such-job"}, `no job "no-such-job" in the queue`},
		{"own tenant's job", []string{"drop", "--tenant", "acme", dead.ID}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"queue"}, tc.args...)
			_, err := run(t, append(args, "--config", cfg)...)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestQueueTenantGuard(t *testing.T) {
	cfg, dir := writeTestConfig(t, "127.0.0.1:8080")
	st, err := sqlitestate.Open(context.Background(), filepath.Join(dir, "state.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	// A job of a tenant since removed from the configuration.
	j, err := st.Enqueue(context.Background(), state.Job{Tenant: "gone", Resource: "gone/User/1", Op: "patch"})
	require.NoError(t, err)

	_, err = run(t, "queue", "drop", "--config", cfg, "--tenant", "acme", j.ID)
	require.ErrorContains(t, err, `job `+j.ID+` belongs to tenant "gone", not "acme"`)
	out, err := run(t, "queue", "list", "--config", cfg)
	require.NoError(t, err)
	require.Contains(t, out, "gone/User/1", "jobs of removed tenants are listed, so they can be dropped")
	_, err = run(t, "queue", "drop", "--config", cfg, j.ID)
	require.NoError(t, err)
}

func TestLastErrorCell(t *testing.T) {
	for _, tc := range []struct {
		name string
		job  opsview.Job
		want string
	}{
		{"none", opsview.Job{}, "-"},
		{"class and text", opsview.Job{ErrorClass: "unavailable", LastError: "dial\ttcp:\nrefused"}, "[unavailable] dial tcp: refused"},
		{"long", opsview.Job{LastError: strings.Repeat("é", 80)}, strings.Repeat("é", 59) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, lastError(tc.job, lastErrorWidth))
		})
	}
}
