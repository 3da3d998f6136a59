package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		sent     string
		wantEcho bool
	}{
		{"echoed", "3f0a9c1e-entra-42", true},
		{"generated when absent", "", false},
		{"replaced when it would break a log line", "abc\" status=200 x=\"", false},
		{"replaced when too long", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHarness(t)
			var fromCtx string
			h.prov.get = func(ctx context.Context, id string) (scim.Resource, error) {
				// The layers below log through the request-scoped logger.
				hclog.FromContext(ctx).Info("marker from provisioner")
				fromCtx = "seen"
				return scim.Resource{"id": id}, nil
			}
			w := h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users/u1", Header: map[string]string{HeaderRequestID: tt.sent}})
			require.Equal(t, http.StatusOK, w.Code)
			got := w.Header().Get(HeaderRequestID)
			if tt.wantEcho {
				require.Equal(t, tt.sent, got)
			} else {
				require.NotEqual(t, tt.sent, got)
				require.True(t, validRequestID(got), got)
			}
			require.Equal(t, "seen", fromCtx)
			var marker string
			for _, line := range strings.Split(h.logs.String(), "\n") {
				if strings.Contains(line, "marker from provisioner") {
					marker = line
				}
			}
			require.Contains(t, marker, "request_id="+got)
		})
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	const secretValue = "Very.Private@contoso.com"
	w := h.do(t, req{
		Method: "POST", Target: "/scim/t/v2/Users",
		Body:   `{"userName":"` + secretValue + `"}`,
		Header: map[string]string{HeaderRequestID: "req-log-1"},
	})
	require.Equal(t, http.StatusCreated, w.Code)
	w = h.do(t, req{Method: "GET", Target: "/scim/t/v2/Users/private-id-42", Header: map[string]string{HeaderRequestID: "req-log-2"}})
	require.Equal(t, http.StatusOK, w.Code)
	w = h.do(t, req{Method: "GET", Target: "/no/such/path", Header: map[string]string{HeaderRequestID: "req-log-3"}})
	require.Equal(t, http.StatusNotFound, w.Code)

	logs := h.logs.String()
	lines := strings.Split(logs, "\n")
	find := func(id string) string {
		for _, l := range lines {
			if strings.Contains(l, "request_id="+id) && strings.Contains(l, "request:") {
				return l
			}
		}
		t.Fatalf("no access log line for %s in:\n%s", id, logs)
		return ""
	}
	l := find("req-log-1")
	for _, want := range []string{"method=POST", "route=/scim/:tenant/v2/Users", "tenant=t", "status=201", "duration="} {
		require.Contains(t, l, want)
	}
	l = find("req-log-2")
	require.Contains(t, l, "route=/scim/:tenant/v2/Users/:id")
	require.Contains(t, l, "status=200")
	require.Contains(t, find("req-log-3"), "route=unmatched")

	require.NotContains(t, logs, testToken, "the bearer token must never be logged")
	require.NotContains(t, logs, secretValue, "bodies must never be logged")
	require.NotContains(t, logs, "private-id-42", "raw paths must not be logged, only route templates")
}

func TestNewServer(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t)
	s := NewServer("127.0.0.1:0", h.handler, hclog.NewNullLogger())
	require.Equal(t, "127.0.0.1:0", s.Addr)
	require.Equal(t, 10*time.Second, s.ReadHeaderTimeout)
	require.Equal(t, 30*time.Second, s.ReadTimeout)
	require.Equal(t, 65*time.Second, s.WriteTimeout)
	require.Equal(t, 120*time.Second, s.IdleTimeout)
	require.Equal(t, 64<<10, s.MaxHeaderBytes)
	require.NotNil(t, s.ErrorLog)
	require.NotNil(t, NewServer(":0", h.handler, nil).ErrorLog)
}

// TestOverTheWire runs the handler behind a real net/http server, which
// decides itself which headers survive on 204 and 413.
func TestOverTheWire(t *testing.T) {
	t.Parallel()
	h := newTestHarness(t, func(o *Options) { o.BodyLimit = 1024 })
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	client := srv.Client()

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		auth       bool
		wantStatus int
	}{
		{"probe", "GET", "/scim/t/v2/Users?filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22", "", true, 200},
		{"create", "POST", "/scim/t/v2/Users", userBody, true, 201},
		{"patch 204", "PATCH", "/scim/t/v2/Groups/g1", patchBody, true, 204},
		{"delete 204", "DELETE", "/scim/t/v2/Users/u1", "", true, 204},
		{"too large", "POST", "/scim/t/v2/Users", `{"displayName":"` + strings.Repeat("x", 4096) + `"}`, true, 413},
		{"unauthorised", "GET", "/scim/t/v2/Users", "", false, 401},
		{"not found", "GET", "/scim/t/v2/Nope", "", true, 404},
		{"method not allowed", "PUT", "/scim/t/v2/Users", "", true, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, body)
			require.NoError(t, err)
			if tt.auth {
				r.Header.Set("Authorization", "Bearer "+testToken)
			}
			r.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
			resp, err := client.Do(r)
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, tt.wantStatus, resp.StatusCode, "body: %s", b)
			require.Equal(t, scim.ContentType, resp.Header.Get("Content-Type"))
			require.NotEmpty(t, resp.Header.Get(HeaderRequestID))
		})
	}
}

func TestNewRequiresTenants(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "httpapi: Options.Tenants is nil", func() { New(Options{}) })
}
