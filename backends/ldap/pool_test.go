package ldap

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// Reads have a lane of their own: with every write connection held (a
// slow directory's writes), Find, Get and Ping still answer, while one more
// write, or a write's own read, waits for a connection.
func TestReadsDoNotWaitBehindWrites(t *testing.T) {
	b, _ := newTestBackendWith(t, testSchema(), func(c backends.Config) { c["poolSize"] = 1 })
	ctx := context.Background()
	alice := create(t, b, backends.User, user("alice"))

	holding := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- b.pool.write(ctx, func(*conn) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	defer func() {
		close(release)
		require.NoError(t, <-done)
	}()

	got, err := b.Get(ctx, backends.User, alice.ID, backends.Read{})
	require.NoError(t, err)
	require.Equal(t, alice.ID, got.ID)
	recs, total, err := b.Find(ctx, backends.Query{Kind: backends.User, Filter: backends.Cmp{Attr: "uid", Op: backends.Eq, Value: "alice"}, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, alice.ID, recs[0].ID)
	require.NoError(t, b.Ping(ctx))

	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = b.Modify(wctx, backends.Record{Kind: backends.User, ID: alice.ID}, []backends.Change{{Op: backends.Replace, Attr: "title", Values: []string{"x"}}})
	require.ErrorIs(t, err, backends.ErrUnavailable, "a second write waits for the only write connection")
	// A write's own read (the bridge's read-modify-write) takes the
	// write's lane, so writes never crowd out the queries.
	rctx, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	_, err = b.Get(rctx, backends.User, alice.ID, backends.Read{ForWrite: true})
	require.ErrorIs(t, err, backends.ErrUnavailable, "a write's read waits for the write lane")
	_, err = b.Get(ctx, backends.User, alice.ID, backends.Read{})
	require.NoError(t, err, "while a plain read does not")
}

// A panic inside an operation destroys its connection instead of keeping
// it checked out: the pool goes on serving, and Close does not wait for
// ever.
func TestPanicInOperationFreesConnection(t *testing.T) {
	b, _ := newTestBackendWith(t, testSchema(), func(c backends.Config) { c["poolSize"] = 1 })
	ctx := context.Background()
	read := func(ctx context.Context, f func(*conn) error) error { return b.pool.read(ctx, backends.Read{}, f) }
	for _, run := range []func(context.Context, func(*conn) error) error{read, b.pool.write} {
		func() {
			defer func() { require.NotNil(t, recover()) }()
			_ = run(ctx, func(*conn) error { panic("boom") })
		}()
	}
	create(t, b, backends.User, user("after-panic"))
	_, _, err := b.Find(ctx, backends.Query{Kind: backends.User})
	require.NoError(t, err)

	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		require.False(t, errors.Is(err, context.DeadlineExceeded))
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for a connection a panicked operation held")
	}
}

// Past maxConcurrent an operation is refused at once as ErrBusy (an
// ErrUnavailable the bridge names as its own limit), in its lane only.
func TestMaxConcurrentIsBusy(t *testing.T) {
	b, _ := newTestBackendWith(t, testSchema(), func(c backends.Config) { c["poolSize"] = 1; c["maxConcurrent"] = 1 })
	ctx := context.Background()
	alice := create(t, b, backends.User, user("alice"))
	holding, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- b.pool.write(ctx, func(*conn) error { close(holding); <-release; return nil })
	}()
	<-holding
	err := b.Modify(ctx, backends.Record{Kind: backends.User, ID: alice.ID}, []backends.Change{{Op: backends.Replace, Attr: "title", Values: []string{"x"}}})
	require.ErrorIs(t, err, backends.ErrBusy)
	require.ErrorIs(t, err, backends.ErrUnavailable)
	_, err = b.Get(ctx, backends.User, alice.ID, backends.Read{})
	require.NoError(t, err, "the read lane has its own cap")
	close(release)
	require.NoError(t, <-done)
}
