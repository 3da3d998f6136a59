package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// --pprof serves the profiles on a loopback listener of its own and
// refuses any other address.
func TestPprofLoopbackOnly(t *testing.T) {
	addr, stop, err := startPprof("127.0.0.1:0")
	require.NoError(t, err)
	defer stop()
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/block?debug=1", "/debug/pprof/mutex?debug=1", "/debug/pprof/allocs?debug=1"} {
		resp, err := http.Get("http://" + addr.String() + p)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, "%s: %s", p, body)
	}

	for _, bad := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "example.org:6060", "127.0.0.1"} {
		_, _, err := startPprof(bad)
		require.Error(t, err, bad)
	}
}
