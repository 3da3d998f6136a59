package ops

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/backends/pharos"
	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/sqlitestate"
)

// newTestOperator is an Operator over a real SQLite state store and two
// tenants on real Pharos SQLite stores, without services (as the CLI).
func newTestOperator(t *testing.T) (*Operator, *sqlitestate.Store) {
	t.Helper()
	dir := t.TempDir()
	mappingPath, err := filepath.Abs("../../configs/mappings/entra-to-pharos.yaml")
	require.NoError(t, err)
	var tenants strings.Builder
	for _, n := range []string{"acme", "beta"} {
		fmt.Fprintf(&tenants, "  - name: %s\n    backend: { type: pharos, config: { driver: sqlite, dsn: '%s', init: true } }\n    mapping: '%s'\n",
			n, filepath.Join(dir, n+".db"), mappingPath)
	}
	cfgPath := filepath.Join(dir, "bridge.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(`public_url: https://scim.example.test
state: { sqlite: { path: '`+filepath.Join(dir, "state.db")+`' } }
tokens: { grace: 2h, file: '`+filepath.Join(dir, "token.txt")+`' }
tenants:
`+tenants.String()), 0o600))
	cfg, err := config.Load(cfgPath, backends.Registry{"pharos": pharos.Driver{}})
	require.NoError(t, err)
	st, err := sqlitestate.Open(context.Background(), filepath.Join(dir, "state.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return New(Options{Config: cfg, State: st, Version: "test"}), st
}

func TestIssueTokenAndRecords(t *testing.T) {
	o, _ := newTestOperator(t)
	ctx := context.Background()
	c, err := o.IssueToken(ctx, "acme", false, false)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(c.Token, bridge.TokenPrefix))
	require.Equal(t, "https://scim.example.test/scim/acme/v2", c.TenantURL)
	require.Nil(t, c.PreviousValidUntil)
	require.Equal(t, fmt.Sprintf("tenant: acme\ntenant_url: https://scim.example.test/scim/acme/v2\nsecret_token: %s\nexpires_at: %s\n",
		c.Token, c.ExpiresAt.Format(time.RFC3339)), c.File)

	r, err := o.IssueToken(ctx, "acme", false, true)
	require.NoError(t, err)
	require.NotNil(t, r.PreviousValidUntil)
	require.InDelta(t, 2*time.Hour, time.Until(*r.PreviousValidUntil), float64(time.Minute))
	require.Contains(t, r.File, "previous tokens keep working until: ")

	recs, err := o.TokenRecords(ctx, "acme", false)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	// The newest (longest-lived) is last, even when both were created in
	// the same second; the other is replaced.
	require.Equal(t, []string{c.TokenID, r.TokenID}, []string{recs[0].ID, recs[1].ID})
	require.True(t, recs[0].Replaced)
	require.False(t, recs[1].Replaced)
	require.Equal(t, opsview.TokenExpiring, recs[0].Status, "two hours left")
	require.Equal(t, opsview.TokenValid, recs[1].Status)

	_, err = o.IssueToken(ctx, "nobody", false, false)
	require.ErrorIs(t, err, opsview.ErrNotFound)
	_, err = o.TokenRecords(ctx, "nobody", false)
	require.ErrorIs(t, err, opsview.ErrNotFound)

	a, err := o.IssueToken(ctx, "", true, false)
	require.NoError(t, err)
	require.Contains(t, a.File, "admin_url: https://scim.example.test/admin\nadmin_token: "+a.Token)
	require.NoError(t, o.Authenticate(ctx, a.Token))
	require.Error(t, o.Authenticate(ctx, c.Token), "a tenant's token is no admin token")
}

func TestActivityAcrossTenants(t *testing.T) {
	o, st := newTestOperator(t)
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Millisecond)
	for i, r := range []state.AuditRecord{
		{Tenant: "acme", Op: "create", Kind: "User", ID: "1", Name: "alice@example.org"},
		{Tenant: "beta", Op: "create", Kind: "User", ID: "2", Name: "bob@example.org"},
		{Tenant: "acme", Op: "modify", Kind: "User", ID: "1", Name: "alice@example.org", Attrs: []string{"title"}},
	} {
		r.Time, r.Outcome = base.Add(time.Duration(i)*time.Second), "applied"
		require.NoError(t, st.AppendAudit(ctx, r))
	}
	all, err := o.Activity(ctx, opsview.ActivityFilter{Limit: 10})
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, []string{"modify", "create", "create"}, []string{all[0].Op, all[1].Op, all[2].Op}, "newest first across tenants")
	require.Equal(t, "beta", all[1].Tenant)

	alice, err := o.Activity(ctx, opsview.ActivityFilter{User: "ALICE", Limit: 1})
	require.NoError(t, err)
	require.Len(t, alice, 1)
	require.Equal(t, []string{"title"}, alice[0].Attrs)

	beta, err := o.Activity(ctx, opsview.ActivityFilter{Tenant: "beta", Limit: 10})
	require.NoError(t, err)
	require.Len(t, beta, 1)

	_, err = o.Activity(ctx, opsview.ActivityFilter{Tenant: "nobody", Limit: 10})
	require.ErrorIs(t, err, opsview.ErrNotFound)
	_, err = o.Activity(ctx, opsview.ActivityFilter{Limit: 0})
	var se *scim.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusBadRequest, se.Status)
}

func TestScopedJobOperations(t *testing.T) {
	o, st := newTestOperator(t)
	ctx := context.Background()
	j, err := st.Enqueue(ctx, state.Job{Tenant: "acme", Resource: "acme/User/1", Op: "delete", Payload: []byte(`{"op":"delete"}`)})
	require.NoError(t, err)
	_, err = o.Scoped("beta").Job(ctx, j.ID)
	require.ErrorIs(t, err, opsview.ErrNotFound)
	require.ErrorContains(t, err, `belongs to tenant "acme", not "beta"`)
	_, err = o.Scoped("beta").Drop(ctx, j.ID)
	require.ErrorIs(t, err, opsview.ErrNotFound)
	got, err := o.Scoped("acme").Job(ctx, j.ID)
	require.NoError(t, err)
	require.JSONEq(t, `{"op":"delete"}`, string(got.Payload))

	_, err = o.Jobs(ctx, opsview.JobFilter{State: "buried", Limit: 1})
	var se *scim.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusBadRequest, se.Status)

	a, err := o.Drop(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, "dropped", a.Result)
	require.Nil(t, a.Job)
	_, err = o.Retry(ctx, j.ID)
	require.ErrorIs(t, err, opsview.ErrNotFound)
}

func TestMappingRows(t *testing.T) {
	o, _ := newTestOperator(t)
	rows, err := o.Mapping("acme")
	require.NoError(t, err)
	byAttr := map[string]opsview.MappingRow{}
	for _, r := range rows {
		byAttr[r.Kind+" "+r.Attribute] = r
	}
	require.Equal(t, 1, byAttr["User externalId"].Match)
	require.Equal(t, 2, byAttr["User userName"].Match)
	require.True(t, byAttr["User userName"].Required)
	require.Contains(t, byAttr, "Group displayName")
	_, err = o.Mapping("nobody")
	require.ErrorIs(t, err, opsview.ErrNotFound)
}

func TestTrafficCounter(t *testing.T) {
	c := NewTrafficCounter([]string{"acme"})
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	c.Observe("acme", 200)
	c.Observe("acme", 503)
	c.Observe("acme", 404)
	c.Observe("made-up", 200) // not a tenant: not counted, not kept
	require.Equal(t, opsview.Traffic{Requests: 3, Errors: 1}, c.LastHour("acme"))
	require.Equal(t, opsview.Traffic{}, c.LastHour("made-up"))
	require.Len(t, c.by, 1)

	now = now.Add(30 * time.Minute)
	c.Observe("acme", 200)
	require.Equal(t, opsview.Traffic{Requests: 4, Errors: 1}, c.LastHour("acme"))
	now = now.Add(31 * time.Minute) // the first minute's bucket is out
	require.Equal(t, opsview.Traffic{Requests: 1}, c.LastHour("acme"))
	now = now.Add(2 * time.Hour)
	require.Equal(t, opsview.Traffic{}, c.LastHour("acme"))
}
