package main

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// A POST cut while it runs (the connection closed right after sending, or
// Entra's own timeout, at every point of the pipeline) is repeated at once:
// the repeat answers 201 with the id of the one entry there is, and so does
// every later repeat. The cut request's context ends, and an add it had
// already sent may land at the directory after the repeat looked for the
// entry: the repeat's own add then conflicts, and must be resolved as the
// retry it is (201, same id), not answered 409. Whatever the cut request
// left in the retry queue is applied without a second entry.
func TestLostCreateAnswerCutMidway(t *testing.T) {
	d := newDirectory(t, sharedSlapd(t))
	block, q := sharedRedis(t).stateBlock(t)
	s := newBridgeWith(t, d.backend(10*time.Second), "configs/mappings/entra-to-openldap.yaml", bridgeOptions{state: block})
	want := map[string]dirUser{}
	// Cuts every 100 µs up to 12 ms sweep a create's whole path (a create
	// takes a few ms here): before the lookup, between lookup and add, while
	// the add is on the wire, after it.
	cuts := []time.Duration{0, 0}
	for c := 100 * time.Microsecond; c <= 12*time.Millisecond; c += 100 * time.Microsecond {
		cuts = append(cuts, c)
	}
	for i, cut := range cuts {
		ext := fmt.Sprintf("lost-%d", i)
		upn := ext + "@contoso.com"
		body := newUser(ext, upn, "Lost", ext)
		if cut == 0 {
			sendAndHangUp(t, s, "POST", "/Users", body)
		} else {
			ctx, cancel := context.WithTimeout(t.Context(), cut)
			_, _ = s.callContext(ctx, "POST", "/Users", body)
			cancel()
		}
		r := s.untilDone(ext+" repeat", "POST", "/Users", body, 30*time.Second)
		require.NoError(t, r.err)
		require.Equal(t, 201, r.status, "%s: %s", ext, r.rawBody)
		again := s.must(201, "POST", "/Users", body)
		require.Equal(t, r.id, again.body["id"], "%s: the same id every time", ext)
		want[ext] = newUserAttrs(upn, "Lost", ext)
		want[ext]["entryUUID"], want[ext]["dn"] = r.id, d.userDN(upn)
	}
	waitDrained(t, q, 30*time.Second)
	require.Empty(t, cmp.Diff(want, d.users(t)), "directory (-want +got)")
}

// sendAndHangUp sends a request and closes the connection at once, without
// reading the answer: Entra's answer lost on the way back.
func sendAndHangUp(t testing.TB, s *stack, method, pathAndQuery string, body any) {
	t.Helper()
	req, err := s.request(context.Background(), method, pathAndQuery, body)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", req.URL.Host)
	require.NoError(t, err)
	require.NoError(t, req.Write(conn))
	require.NoError(t, conn.Close())
}
