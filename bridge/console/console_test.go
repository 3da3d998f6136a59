package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/opsview"
)

// The console's pages are tested in a real browser against a whole bridge
// (bridge/cmd/scimbridge, console_browser_test.go); these are the parts
// that need neither.

func TestSessionsExpireAndStayBounded(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, 3, func() time.Time { return now })
	a := s.create("a")
	got, ok := s.get(a)
	require.True(t, ok)
	require.Equal(t, "a", got.subject)
	require.NotEmpty(t, got.csrf)
	for k := range s.by {
		require.NotEqual(t, a, k, "only the hash of a session id is kept")
	}
	_, ok = s.get("")
	require.False(t, ok)
	_, ok = s.get(a + "x")
	require.False(t, ok)

	now = now.Add(time.Hour)
	_, ok = s.get(a)
	require.False(t, ok, "expired on the server")
	require.Empty(t, s.by, "and forgotten")

	// Full: expired ones go first, then the one closest to expiry.
	ids := []string{s.create("1")}
	now = now.Add(time.Minute)
	ids = append(ids, s.create("2"), s.create("3"))
	four := s.create("4")
	require.Len(t, s.by, 3)
	_, ok = s.get(ids[0])
	require.False(t, ok, "the oldest made room")
	_, ok = s.get(four)
	require.True(t, ok)

	s.end(four)
	_, ok = s.get(four)
	require.False(t, ok)
}

func TestHeadersAndLoginPage(t *testing.T) {
	h := New(Options{Ops: struct{ Ops }{}})
	for _, path := range []string{"/console/login", "/console/nope", "/console/static/console.css", "/console/"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		require.Contains(t, w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
		require.Contains(t, w.Header().Get("Content-Security-Policy"), "script-src 'self'", path)
		require.Equal(t, "DENY", w.Header().Get("X-Frame-Options"), path)
		require.Equal(t, "no-store", w.Header().Get("Cache-Control"), path)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/console/login", nil))
	require.Equal(t, http.StatusOK, w.Code)
	c := w.Result().Cookies()
	require.Len(t, c, 1)
	require.Equal(t, loginCookie, c[0].Name)
	require.True(t, c[0].HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, c[0].SameSite)
	require.False(t, c[0].Secure, "plain HTTP")
	require.Contains(t, w.Body.String(), `value="`+c[0].Value+`"`, "the form carries the cookie's CSRF token")

	// Served over TLS: Secure cookies.
	h = New(Options{Ops: struct{ Ops }{}, Secure: true})
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/console/login", nil))
	require.True(t, w.Result().Cookies()[0].Secure)

	// A sign-in without the form's token never reaches the token check.
	w = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/console/login", strings.NewReader("token=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusForbidden, w.Code)
}

func TestTokenBanners(t *testing.T) {
	exp := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)
	days := func(n int) *int { return &n }
	b := tokenBanners(opsview.Status{
		Tenants: []opsview.Tenant{
			{Name: "ok", Token: opsview.TokenState{Status: opsview.TokenValid, ExpiresAt: &exp, DaysLeft: days(200)}},
			{Name: "soon", Token: opsview.TokenState{Status: opsview.TokenExpiring, ExpiresAt: &exp, DaysLeft: days(13), WarningDays: 14}},
			{Name: "gone", Token: opsview.TokenState{Status: opsview.TokenExpired, ExpiresAt: &exp, DaysLeft: days(-2)}},
			{Name: "none", Token: opsview.TokenState{Status: opsview.TokenMissing}},
		},
		AdminToken: opsview.TokenState{Status: opsview.TokenExpiring, ExpiresAt: &exp, DaysLeft: days(6), WarningDays: 7},
	})
	require.Equal(t, []banner{
		{"warn", "The Secret Token of tenant soon expires in 13 days (2026-12-20 00:00:00 UTC). Regenerate it and update it where it is used."},
		{"error", "The Secret Token of tenant gone expired on 2026-12-20 00:00:00 UTC. Regenerate it now and update it where it is used."},
		{"warn", "The admin token expires in 6 days (2026-12-20 00:00:00 UTC). Regenerate it and update it where it is used."},
	}, b)
}

func TestOIDCAllowList(t *testing.T) {
	p := NewOIDC(OIDCOptions{AllowedSubjects: []string{"s1"}, AllowedGroups: []string{"ops"}})
	require.True(t, p.allowed("s1", nil))
	require.True(t, p.allowed("s2", []string{"staff", "ops"}))
	require.False(t, p.allowed("s2", []string{"staff"}))
	require.False(t, p.allowed("", nil))
	require.Equal(t, []string{"a", "b"}, stringsClaim([]any{"a", 7, "b"}))
	require.Equal(t, []string{"a", "b"}, stringsClaim("a b"))
	require.Nil(t, stringsClaim(map[string]any{}))
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "24 hours", time.Hour: "1 hour", 72 * time.Hour: "3 days", 90 * time.Minute: "90 minutes",
		0: "no time (it stops at once)", 90 * time.Second: "1m30s",
	} {
		require.Equal(t, want, humanDuration(d), d.String())
	}
}
