package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The access log names the client: the peer, or, when the peer is a
// trusted reverse proxy, the address it forwarded. httptest's peer is
// 192.0.2.1.
func TestAccessLogClientAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		proxies []string
		want    string
	}{
		{"no proxy trusted: the header is ignored", nil, "client=192.0.2.1"},
		{"another proxy trusted: still ignored", []string{"198.51.100.0/24"}, "client=192.0.2.1"},
		{"the peer is a trusted proxy", []string{"192.0.2.0/24"}, "client=203.0.113.9"},
		{"trusted by address", []string{"192.0.2.1"}, "client=203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t, func(o *Options) { o.TrustedProxies = tc.proxies })
			w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users", Header: map[string]string{
				HeaderRequestID: "req-proxy", "X-Forwarded-For": "203.0.113.9",
			}})
			require.Equal(t, http.StatusOK, w.Code)
			var line string
			for _, l := range strings.Split(h.logs.String(), "\n") {
				if strings.Contains(l, "request_id=req-proxy") && strings.Contains(l, "request:") {
					line = l
				}
			}
			require.Contains(t, line, tc.want)
		})
	}
}
