package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	const bearerRequired = "a bearer token is required"
	tests := []struct {
		name          string
		target        string
		authorization string // "" sends no header
		fail          func(tenant string) error
		wantStatus    int
		wantDetail    string // substring
		wantAuthCall  string // "tenant|token" passed to Tenants, "" for no call
		wantRetry     string
	}{
		{
			name: "missing header", authorization: "",
			wantStatus: 401, wantDetail: bearerRequired,
		},
		{
			name: "basic scheme", authorization: "Basic dXNlcjpwYXNz",
			wantStatus: 401, wantDetail: bearerRequired,
		},
		{
			name: "other scheme", authorization: "Token " + testToken,
			wantStatus: 401, wantDetail: bearerRequired,
		},
		{
			name: "bare token without scheme", authorization: testToken,
			wantStatus: 401, wantDetail: bearerRequired,
		},
		{
			name: "bearer without token", authorization: "Bearer",
			wantStatus: 401, wantDetail: bearerRequired,
		},
		{
			name: "bearer with blank token", authorization: "Bearer    ",
			wantStatus: 401, wantDetail: bearerRequired,
		},
		{
			name: "prefix of the real token", authorization: "Bearer " + testToken[:len(testToken)-1],
			wantStatus: 401, wantDetail: "not valid", wantAuthCall: "t|" + testToken[:len(testToken)-1],
		},
		{
			name: "real token plus suffix", authorization: "Bearer " + testToken + "x",
			wantStatus: 401, wantDetail: "not valid", wantAuthCall: "t|" + testToken + "x",
		},
		{
			name: "token of another tenant", target: "/scim/other/v2/Users", authorization: "Bearer " + testToken,
			wantStatus: 401, wantDetail: "not valid", wantAuthCall: "other|" + testToken,
		},
		{
			name: "expired token detail passed through", authorization: "Bearer " + testToken,
			fail: func(string) error {
				return &scim.Error{Status: http.StatusUnauthorized, Detail: "token expired on 2026-01-01; generate a new one"}
			},
			wantStatus: 401, wantDetail: "token expired on 2026-01-01", wantAuthCall: "t|" + testToken,
		},
		{
			name: "state store unavailable", authorization: "Bearer " + testToken,
			fail: func(string) error {
				return &scim.Error{Status: http.StatusServiceUnavailable, Detail: "try again", RetryAfter: 5 * time.Second}
			},
			wantStatus: 503, wantDetail: "try again", wantAuthCall: "t|" + testToken, wantRetry: "5",
		},
		{
			name: "unexpected error", authorization: "Bearer " + testToken,
			fail:       func(string) error { return errors.New("state: open tokens.db: permission denied") },
			wantStatus: 500, wantDetail: "request id", wantAuthCall: "t|" + testToken,
		},
		{
			name: "lower-case scheme", authorization: "bearer " + testToken,
			wantStatus: 200, wantAuthCall: "t|" + testToken,
		},
		{
			name: "upper-case scheme and extra spaces", authorization: "  BEARER   " + testToken + "  ",
			wantStatus: 200, wantAuthCall: "t|" + testToken,
		},
		{
			name: "discovery needs a token too", target: "/scim/t/v2/ServiceProviderConfig", authorization: "",
			wantStatus: 401, wantDetail: bearerRequired,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			h.tenants.fail = tt.fail
			target := tt.target
			if target == "" {
				target = "/scim/t/v2/Users?filter=userName+eq+%22x%22"
			}
			w := h.do(t, req{Method: "GET", Target: target, Header: map[string]string{"Authorization": tt.authorization}})
			if tt.wantAuthCall == "" {
				require.Empty(t, h.tenants.recorded())
			} else {
				require.Equal(t, []string{tt.wantAuthCall}, h.tenants.recorded())
			}
			if tt.wantStatus == http.StatusOK {
				require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body.String())
				return
			}
			e := mustSCIMError(t, w, tt.wantStatus)
			require.Contains(t, e.Detail, tt.wantDetail)
			require.Empty(t, h.prov.recorded(), "the provisioner must not be reached")
			if tt.wantStatus == http.StatusUnauthorized {
				require.True(t, strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer"), w.Header().Get("WWW-Authenticate"))
			}
			require.Equal(t, tt.wantRetry, w.Header().Get("Retry-After"))
			require.NotContains(t, w.Body.String(), "permission denied")
			require.NotContains(t, h.logs.String(), testToken, "the token must never be logged")
		})
	}
}
