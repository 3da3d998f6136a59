package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"
)

// OpenID Connect sign-in against a real provider run here (mockoidc:
// discovery, authorization with PKCE, token endpoint, signed ID tokens),
// in the browser: an identity on the allow-list (by group or by subject)
// gets a session, one that is not is refused, and a callback that did not
// start here is refused.
func TestConsoleOIDCInBrowser(t *testing.T) {
	m, err := mockoidc.Run()
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Shutdown() })
	oc := m.Config()
	s := newConsoleStack(t, fmt.Sprintf(`console:
  oidc:
    issuer: %s
    client_id: %s
    client_secret: %s
    allowed_subjects: [sub-bob]
    allowed_groups: [scim-operators]
    scopes: [openid, email, groups]
`, oc.Issuer, oc.ClientID, oc.ClientSecret))
	ctx, _ := newBrowser(t)

	signIn := func(t *testing.T, u *mockoidc.MockUser) {
		t.Helper()
		m.QueueUser(u)
		s.navigate(ctx, "/console/login")
		s.click(ctx, "#oidc-login")
	}

	t.Run("allowed by group", func(t *testing.T) {
		s.navigate(ctx, "/console/login")
		s.shot(ctx, "login-oidc")
		signIn(t, &mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.org", Groups: []string{"staff", "scim-operators"}})
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("table.tenants"))))
		require.Equal(t, "alice@example.org (sub-alice)", text(t, ctx, ".who"))
		// Signed in for real: a POST with the page's CSRF token works.
		s.click(ctx, ".logout button")
		require.True(t, strings.HasSuffix(location(t, ctx), "/console/login"))
	})

	t.Run("allowed by subject", func(t *testing.T) {
		signIn(t, &mockoidc.MockUser{Subject: "sub-bob", Email: "bob@example.org"})
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("table.tenants"))))
		s.click(ctx, ".logout button")
	})

	t.Run("not on the allow-list", func(t *testing.T) {
		signIn(t, &mockoidc.MockUser{Subject: "sub-eve", Email: "eve@example.org", Groups: []string{"staff"}})
		require.Contains(t, text(t, ctx, "#login-problem"), "not allowed to use this console")
		s.navigate(ctx, "/console/")
		require.True(t, strings.HasSuffix(location(t, ctx), "/console/login"), "no session")
	})

	t.Run("a callback that did not start here", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.Get(s.base + "/console/oidc/callback?code=x&state=y")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Contains(t, string(b), "did not start here")
	})
}
