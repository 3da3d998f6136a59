package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// oauthErr is an error carrying an OAuth answer, as package auth's does.
type oauthErr struct {
	status     int
	code, desc string
	retryAfter time.Duration
}

func (e oauthErr) Error() string { return e.code }
func (e oauthErr) OAuthError() (int, string, string, time.Duration) {
	return e.status, e.code, e.desc, e.retryAfter
}

// recOAuth records each token request and grants a token to client "c"
// with secret "s" only; err, when set, is every answer.
type recOAuth struct {
	mu  sync.Mutex
	got []TokenRequest
	err error
}

func (o *recOAuth) Token(_ context.Context, tenant string, r TokenRequest) (string, time.Duration, error) {
	o.mu.Lock()
	o.got = append(o.got, r)
	o.mu.Unlock()
	switch {
	case o.err != nil:
		return "", 0, o.err
	case tenant == testTenant && r.GrantType == "client_credentials" && r.ClientID == "c" && r.ClientSecret == "s":
		return "the-access-token", 90 * time.Minute, nil
	}
	return "", 0, oauthErr{status: 401, code: "invalid_client", desc: "client authentication failed"}
}

func (o *recOAuth) last() TokenRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.got) == 0 {
		return TokenRequest{}
	}
	return o.got[len(o.got)-1]
}

func tokenHarness(tb testing.TB, o *recOAuth) *harness {
	return newTestHarness(tb, func(opts *Options) { opts.OAuth = o })
}

// postToken serves one token request and checks what every token answer
// must carry: JSON, no-store, and a body with access_token or error.
func postToken(tb testing.TB, h *harness, body, contentType, authorization string) (*httptest.ResponseRecorder, map[string]any) {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, "/scim/"+testTenant+"/oauth2/token", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	require.Equal(tb, jsonContentType, w.Header().Get("Content-Type"), w.Body.String())
	require.Equal(tb, "no-store", w.Header().Get("Cache-Control"))
	var m map[string]any
	require.NoError(tb, json.Unmarshal(w.Body.Bytes(), &m), w.Body.String())
	_, hasToken := m["access_token"]
	_, hasError := m["error"]
	require.True(tb, hasToken != hasError, "exactly one of access_token and error: %v", m)
	if w.Code == http.StatusUnauthorized {
		require.Contains(tb, w.Header().Get("WWW-Authenticate"), "Basic")
	}
	return w, m
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

const formType = "application/x-www-form-urlencoded"

func TestTokenEndpoint(t *testing.T) {
	o := &recOAuth{}
	h := tokenHarness(t, o)

	w, m := postToken(t, h, "grant_type=client_credentials&scope=x&resource=y", formType, basic("c", "s"))
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, map[string]any{"access_token": "the-access-token", "token_type": "Bearer", "expires_in": float64(5400)}, m)
	require.Equal(t, "no-cache", w.Header().Get("Pragma"))

	// client_secret_post, with a charset parameter on the type.
	w, _ = postToken(t, h, "grant_type=client_credentials&client_id=c&client_secret=s", formType+"; charset=UTF-8", "")
	require.Equal(t, http.StatusOK, w.Code)

	// Basic credentials are form-encoded before base64 (RFC 6749 §2.3.1).
	postToken(t, h, "grant_type=client_credentials", formType, basic(url.QueryEscape("a:b c"), url.QueryEscape("p%ss+")))
	require.Equal(t, TokenRequest{GrantType: "client_credentials", ClientID: "a:b c", ClientSecret: "p%ss+"}, o.last())
	// The assertion's parameters reach the issuer.
	postToken(t, h, "grant_type=client_credentials&client_assertion_type=t&client_assertion=a.b.c", formType, "")
	require.Equal(t, TokenRequest{GrantType: "client_credentials", ClientAssertionType: "t", ClientAssertion: "a.b.c"}, o.last())

	n := len(o.got)
	for _, tc := range []struct {
		name, body, ct, authz string
		status                int
		code, desc            string
	}{
		{"wrong secret", "grant_type=client_credentials", formType, basic("c", "x"), 401, "invalid_client", "client authentication failed"},
		{"json", `{"grant_type":"client_credentials"}`, "application/json", basic("c", "s"), 400, "invalid_request", "x-www-form-urlencoded"},
		{"no content type", "grant_type=client_credentials", "", basic("c", "s"), 400, "invalid_request", "x-www-form-urlencoded"},
		{"bad form", "grant_type=%zz", formType, basic("c", "s"), 400, "invalid_request", "form encoding"},
		{"repeated", "grant_type=client_credentials&grant_type=client_credentials", formType, basic("c", "s"), 400, "invalid_request", "repeated"},
		{"two methods", "grant_type=client_credentials&client_secret=s", formType, basic("c", "s"), 400, "invalid_request", "one client authentication method"},
		{"other client_id", "grant_type=client_credentials&client_id=d", formType, basic("c", "s"), 400, "invalid_request", "client_id"},
		{"bearer instead of basic", "grant_type=client_credentials", formType, "Bearer x", 401, "invalid_client", "HTTP Basic"},
		{"basic not form-encoded", "grant_type=client_credentials", formType, basic("c%zz", "s"), 401, "invalid_client", "form-encoded"},
		{"too large", "grant_type=client_credentials&pad=" + strings.Repeat("x", tokenBodyLimit), formType, basic("c", "s"), 400, "invalid_request", "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, m := postToken(t, h, tc.body, tc.ct, tc.authz)
			require.Equal(t, tc.status, w.Code, m)
			require.Equal(t, tc.code, m["error"])
			require.Contains(t, m["error_description"], tc.desc)
		})
	}
	require.Len(t, o.got, n+1, "only the well-formed request reached the issuer")

	// The issuer's 503 carries Retry-After; an unexpected error is a 500
	// whose cause is in the log only.
	o.err = oauthErr{status: 503, code: "temporarily_unavailable", desc: "retry \"later\"\n", retryAfter: 1500 * time.Millisecond}
	w, m = postToken(t, h, "grant_type=client_credentials", formType, basic("c", "s"))
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Equal(t, "2", w.Header().Get("Retry-After"))
	require.Equal(t, "retry 'later''", m["error_description"], "RFC 6749 §5.2's character set")
	o.err = errors.New("disk on fire")
	w, m = postToken(t, h, "grant_type=client_credentials", formType, basic("c", "s"))
	require.Equal(t, http.StatusInternalServerError, w.Code)
	require.Equal(t, "server_error", m["error"])
	require.NotContains(t, m["error_description"], "disk on fire")
	require.Contains(t, h.logs.String(), "disk on fire")
	require.NotContains(t, h.logs.String(), "the-access-token")
}

func TestTokenEndpointOff(t *testing.T) {
	h := newTestHarness(t)
	w := h.do(t, req{Method: http.MethodPost, Target: "/scim/" + testTenant + "/oauth2/token", Body: "grant_type=client_credentials"})
	require.Equal(t, http.StatusNotFound, w.Code)
}

func TestAuthenticationSchemesPerTenant(t *testing.T) {
	h := newTestHarness(t, func(o *Options) {
		o.AuthenticationSchemes = func(tenant string) []scim.AuthenticationScheme {
			return []scim.AuthenticationScheme{{Type: "oauth2", Name: "for " + tenant}}
		}
	})
	w := h.do(t, req{Method: http.MethodGet, Target: "/scim/" + testTenant + "/v2/ServiceProviderConfig"})
	require.Equal(t, http.StatusOK, w.Code)
	schemes := mustObject(t, w)["authenticationSchemes"].([]any)
	require.Len(t, schemes, 1)
	require.Equal(t, "for "+testTenant, schemes[0].(map[string]any)["name"])
}

// FuzzTokenEndpoint sends arbitrary bodies, content types and
// Authorization headers: every answer is JSON with an access token (for
// the one right client) or an RFC 6749 error of 400 or 401, never a
// panic or a 500.
func FuzzTokenEndpoint(f *testing.F) {
	h := tokenHarness(f, &recOAuth{})
	f.Add("grant_type=client_credentials", formType, basic("c", "s"))
	f.Add("grant_type=client_credentials&client_id=c&client_secret=s", formType+"; charset=utf-8", "")
	f.Add("grant_type=client_credentials&client_id=c&client_secret=s&client_secret=s", formType, "")
	f.Add("grant_type=%zz&scope=a+b", formType, "Basic !!!")
	f.Add("client_assertion_type=urn%3Aietf&client_assertion=a.b.c", "application/json", "Bearer x")
	f.Fuzz(func(t *testing.T, body, contentType, authorization string) {
		if strings.ContainsAny(contentType+authorization, "\r\n\x00") {
			return // net/http would refuse such a header before any handler
		}
		w, m := postToken(t, h, body, contentType, authorization)
		switch w.Code {
		case http.StatusOK:
			require.Equal(t, "the-access-token", m["access_token"])
		case http.StatusBadRequest, http.StatusUnauthorized:
		default:
			t.Fatalf("status %d: %v", w.Code, m)
		}
	})
}
