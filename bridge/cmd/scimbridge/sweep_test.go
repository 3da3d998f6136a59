package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/sqlitestate"
)

// serve sweeps a SQLite state store: expired idempotency records leave the
// file instead of piling up for the life of the deployment, and live ones
// stay.
func TestSweepRemovesExpiredRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlitestate.Open(t.Context(), path)
	require.NoError(t, err)
	defer st.Close()
	for i, ttl := range []time.Duration{time.Millisecond, time.Millisecond, time.Hour} {
		require.NoError(t, st.PutAnswer(t.Context(), string(rune('a'+i)), state.Answer{Status: 201}, ttl))
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows := func() int {
		var n int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM answers`).Scan(&n))
		return n
	}
	require.Equal(t, 3, rows())

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); sweep(ctx, st, 10*time.Millisecond, hclog.NewNullLogger()) }()
	require.Eventually(t, func() bool { return rows() == 1 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	<-done
	_, err = st.Answer(t.Context(), "c")
	require.NoError(t, err, "the live record stays")
}
