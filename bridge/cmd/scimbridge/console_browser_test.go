package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/state"
)

// The console's browser tests: a real headless Chromium (Debian's
// chromium, installed by scripts/chromium-install.sh) drives the console
// of a real bridge, on a private slapd it stops and starts, and a Pharos
// SQLite store. Each page is saved as a screenshot, at 1280 px and at a
// phone's width, into $SCIMBRIDGE_SCREENSHOTS (docs/screenshots keeps a
// set) or the test's temp dir.

// chromiumPath finds the browser; without one the test fails under CI and
// is skipped elsewhere.
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SCIMBRIDGE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI must run the console's browser tests: run scripts/chromium-install.sh (make test does)")
	}
	t.Skip("chromium is not installed: scripts/chromium-install.sh installs it (make test does)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns
// a tab's context; downloads land in the returned directory.
func newBrowser(t *testing.T) (context.Context, string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	downloads := t.TempDir()
	require.NoError(t, chromedp.Do(ctx, func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		})
		return chromedp.Void{}, err
	}, chromedp.EmulateViewport(1280, 900)))
	return ctx, downloads
}

// consoleStack is a bridge with two tenants, its console on the main
// listener: acme on a private slapd, legacy on a Pharos SQLite store.
type consoleStack struct {
	t          *testing.T
	app        *app
	base       string // http://127.0.0.1:PORT
	adminToken string
	ldap       ldapServer
	shots      string
}

func newConsoleStack(t *testing.T, extra string) *consoleStack {
	t.Helper()
	srv := ownSlapd(t)
	d := newDirectory(t, srv)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.Join(repoRoot, p))
		require.NoError(t, err)
		return a
	}
	cfgText := fmt.Sprintf(`listen: %s
public_url: http://%s
log: { level: warn, format: text }
state: { sqlite: { path: '%s' } }
limits: { request_timeout: 10s, write_retries: 1 }
tokens: { validity: 8760h, grace: 24h, file: '%s' }
queue: { max_attempts: 50, base_delay: 10m, max_delay: 10m }
%s
tenants:
  - name: acme
    backend: %s
    mapping: '%s'
  - name: legacy
    backend: { type: pharos, config: { driver: sqlite, dsn: '%s', init: true } }
    mapping: '%s'
`, addr, addr, filepath.Join(dir, "state.db"), filepath.Join(dir, "token.txt"), extra, d.backend(2*time.Second),
		abs("configs/mappings/entra-to-openldap.yaml"), filepath.Join(dir, "pharos.db"), abs("configs/mappings/entra-to-pharos.yaml"))
	cfgPath := filepath.Join(dir, "bridge.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfgText), 0o600))
	cfg, err := loadConfig(cfgPath)
	require.NoError(t, err)
	a, err := newApp(context.Background(), cfg, hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard}))
	require.NoError(t, err)
	t.Cleanup(a.Close)
	ctx := context.Background()
	admin, _, err := a.tokens.Generate(ctx, adminTenant)
	require.NoError(t, err)
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.worker.Run(wctx) }()
	t.Cleanup(func() { stop(); <-done })
	hs := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })

	shots := os.Getenv("SCIMBRIDGE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if !filepath.IsAbs(shots) {
		shots = filepath.Join(repoRoot, shots)
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	return &consoleStack{t: t, app: a, base: "http://" + addr, adminToken: admin, ldap: srv, shots: shots}
}

// scim sends one SCIM request with a bearer token and returns the status.
func (s *consoleStack) scim(method, path, token, body string) int {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (s *consoleStack) tokenCount(tenant string) int {
	s.t.Helper()
	toks, err := s.app.tokens.List(context.Background(), tenant)
	require.NoError(s.t, err)
	return len(toks)
}

// shot saves the page as <name>.png (full page) and checks its basics.
func (s *consoleStack) shot(ctx context.Context, name string) {
	s.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(s.t, err)
	require.NoError(s.t, os.WriteFile(filepath.Join(s.shots, name+".png"), png, 0o644))
	checkAccessible(s.t, ctx)
}

// checkAccessible fails on the basics a screen reader or keyboard user
// needs: a language, one h1, a label for every field, a name for every
// button and link, and no table without header cells.
func checkAccessible(t *testing.T, ctx context.Context) {
	t.Helper()
	bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
  const bad = [];
  if (!document.documentElement.lang) bad.push("no lang on <html>");
  if (document.querySelectorAll("h1").length !== 1) bad.push("not exactly one h1");
  document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(e => {
    if (!(e.labels && e.labels.length) && !e.getAttribute("aria-label")) bad.push("no label: " + e.outerHTML.slice(0, 80));
  });
  document.querySelectorAll("button, a").forEach(e => {
    if (!e.textContent.trim() && !e.getAttribute("aria-label")) bad.push("no name: " + e.outerHTML.slice(0, 80));
  });
  document.querySelectorAll("table").forEach(e => { if (!e.querySelector("th")) bad.push("table without headers"); });
  return bad;
})()`))
	require.NoError(t, err)
	require.Empty(t, bad)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err, sel)
	return s
}

func value(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	require.NoError(t, err, sel)
	return s
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	l, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	return l
}

// navigate loads a console page and waits for its heading.
func (s *consoleStack) navigate(ctx context.Context, path string) {
	s.t.Helper()
	require.NoError(s.t, chromedp.Do(ctx, chromedp.Navigate(s.base+path), chromedp.WaitVisible(chromedp.CSS("h1"))))
}

// click clicks and waits for the next page's heading.
func (s *consoleStack) click(ctx context.Context, sel string) {
	s.t.Helper()
	_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	require.NoError(s.t, err, sel)
	require.NoError(s.t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("h1"))))
}

func phone(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
}

func desktop(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900))
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// httpSession signs in with net/http (no browser) and returns the client
// (with the session cookie) and a page's CSRF token.
func (s *consoleStack) httpSession() (*http.Client, string) {
	s.t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(s.t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) string {
		resp, err := c.Get(s.base + path)
		require.NoError(s.t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(s.t, err)
		return string(b)
	}
	m := csrfField.FindStringSubmatch(get("/console/login"))
	require.NotNil(s.t, m)
	resp, err := c.PostForm(s.base+"/console/login", url.Values{"csrf": {m[1]}, "token": {s.adminToken}})
	require.NoError(s.t, err)
	resp.Body.Close()
	require.Equal(s.t, http.StatusSeeOther, resp.StatusCode)
	m = csrfField.FindStringSubmatch(get("/console/"))
	require.NotNil(s.t, m, "signed in")
	return c, m[1]
}

func TestConsoleRefusesWithoutSessionOrCSRF(t *testing.T) {
	s := newConsoleStack(t, "")
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(c *http.Client, path string, form url.Values) (int, string) {
		resp, err := c.PostForm(s.base+path, form)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// No session: pages send to the sign-in, state changes are refused.
	resp, err := plain.Get(s.base + "/console/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/console/login", resp.Header.Get("Location"))
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Cache-Control"} {
		require.NotEmpty(t, resp.Header.Get(h), h)
	}
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	code, _ := post(plain, "/console/tenants/acme/token", url.Values{"action": {"generate"}})
	require.Equal(t, http.StatusUnauthorized, code)
	require.Zero(t, s.tokenCount("acme"))

	// A wrong admin token, or a sign-in form without its CSRF cookie.
	c, csrf := s.httpSession()
	code, body := post(plain, "/console/login", url.Values{"token": {s.adminToken}})
	require.Equal(t, http.StatusForbidden, code, body)

	// Signed in, but without the CSRF token, or with another: 403, nothing
	// created. A GET never creates a token.
	code, body = post(c, "/console/tenants/acme/token", url.Values{"action": {"generate"}})
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body, "did not come from the console")
	code, _ = post(c, "/console/tenants/acme/token", url.Values{"action": {"generate"}, "csrf": {csrf + "x"}})
	require.Equal(t, http.StatusForbidden, code)
	resp, err = c.Get(s.base + "/console/tenants/acme/token")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Zero(t, s.tokenCount("acme"))

	// With it: created, and the token is shown once.
	code, _ = post(c, "/console/tenants/acme/token", url.Values{"action": {"generate"}, "csrf": {csrf}})
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, 1, s.tokenCount("acme"))

	// Signed out: the session is gone on the server.
	code, _ = post(c, "/console/logout", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusSeeOther, code)
	code, _ = post(c, "/console/tenants/acme/token", url.Values{"action": {"generate"}, "csrf": {csrf}})
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, 1, s.tokenCount("acme"))

	// A bad admin token is refused with a reason.
	jar, _ := cookiejar.New(nil)
	c2 := &http.Client{Jar: jar}
	resp, err = c2.Get(s.base + "/console/login")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(string(b))
	code, body = post(c2, "/console/login", url.Values{"csrf": {m[1]}, "token": {"scimb_wrong"}})
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, body, "not a valid admin token")
}

func TestConsoleInBrowser(t *testing.T) {
	s := newConsoleStack(t, "")
	ctx, downloads := newBrowser(t)
	bg := context.Background()
	// legacy's token expires in ten days: the banner's case.
	near := bridge.TokenPrefix + "near-expiry-token-of-the-legacy-tenant"
	now := time.Now().UTC().Truncate(time.Second)
	require.NoError(t, s.app.state.PutToken(bg, state.Token{Tenant: "legacy", ID: "near", Hash: bridge.HashToken(near),
		CreatedAt: now.Add(-355 * 24 * time.Hour), ExpiresAt: now.Add(10*24*time.Hour - time.Hour)}))

	t.Run("sign in with the keyboard", func(t *testing.T) {
		s.navigate(ctx, "/console/")
		require.True(t, strings.HasSuffix(location(t, ctx), "/console/login"), "no session: the sign-in page")
		s.shot(ctx, "login")
		// The first Tab reaches the skip link; the token field has focus
		// (autofocus) and Enter submits.
		_, err := chromedp.RunResponse(ctx, chromedp.SendKeys(chromedp.CSS("#token"), s.adminToken+kb.Enter))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("table.tenants"))))
		require.Equal(t, "Tenants", text(t, ctx, "h1"))
	})

	t.Run("tenants page and the expiry banner", func(t *testing.T) {
		s.navigate(ctx, "/console/")
		banner := text(t, ctx, ".banner.warn")
		require.Contains(t, banner, "Secret Token of tenant legacy expires in 9 days")
		page := text(t, ctx, "table.tenants")
		require.Contains(t, page, s.base+"/scim/acme/v2")
		require.Contains(t, page, "none yet", "acme has no token yet")
		checkAccessible(t, ctx)
	})

	var first, second string
	t.Run("generate, download, copy", func(t *testing.T) {
		s.navigate(ctx, "/console/tenants/acme")
		s.click(ctx, "#generate")
		require.True(t, strings.HasSuffix(location(t, ctx), "/console/tenants/acme/credentials"), "POST, then a redirect")
		first = value(t, ctx, "#cred-token")
		require.True(t, strings.HasPrefix(first, bridge.TokenPrefix), first)
		require.Equal(t, s.base+"/scim/acme/v2", value(t, ctx, "#cred-url"))
		require.Equal(t, 1, s.tokenCount("acme"))
		require.Equal(t, http.StatusOK, s.scim(http.MethodGet, "/scim/acme/v2/Users?count=1", first, ""))

		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#download"))))
		file := filepath.Join(downloads, "acme-tenant-token.txt")
		require.Eventually(t, func() bool { _, err := os.Stat(file); return err == nil }, 10*time.Second, 50*time.Millisecond)
		body, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("tenant: acme\ntenant_url: %s/scim/acme/v2\nsecret_token: %s\nexpires_at: ", s.base, first),
			string(body)[:strings.Index(string(body), "expires_at: ")+len("expires_at: ")])

		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-copy="cred-token"]`))))
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("copy-status").textContent !== ""`))
		require.NoError(t, err)
		s.shot(ctx, "credentials")
		require.NoError(t, phone(ctx))
		s.shot(ctx, "credentials-phone")
		require.NoError(t, desktop(ctx))
	})

	t.Run("a reload or a new tab creates nothing", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#already-shown"))))
		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		s.navigate(tab, "/console/tenants/acme/credentials")
		require.Contains(t, text(t, tab, "#already-shown"), "shown only once")
		s.navigate(tab, "/console/tenants/acme")
		require.Equal(t, 1, s.tokenCount("acme"))
		require.NotContains(t, text(t, tab, "main"), first, "the token is never shown again")
	})

	t.Run("regenerate: the old token works in grace", func(t *testing.T) {
		s.navigate(ctx, "/console/tenants/acme")
		require.Contains(t, text(t, ctx, "#first-used"), "UTC", "the first token was used above")
		s.click(ctx, "#regenerate")
		second = value(t, ctx, "#cred-token")
		require.NotEqual(t, first, second)
		grace := text(t, ctx, "#grace-until")
		until, err := time.Parse("2006-01-02 15:04:05 UTC", grace)
		require.NoError(t, err, grace)
		require.InDelta(t, 24*time.Hour, time.Until(until), float64(time.Minute))
		require.Equal(t, 2, s.tokenCount("acme"))
		require.Equal(t, http.StatusOK, s.scim(http.MethodGet, "/scim/acme/v2/Users?count=1", first, ""), "old token in grace")

		s.navigate(ctx, "/console/tenants/acme")
		require.Contains(t, text(t, ctx, "#first-used"), "not yet")
		require.Contains(t, text(t, ctx, "dd.grace"), "still works until")
		require.Equal(t, http.StatusOK, s.scim(http.MethodGet, "/scim/acme/v2/Users?count=1", second, ""))
		s.navigate(ctx, "/console/tenants/acme")
		require.Contains(t, text(t, ctx, "#first-used"), "UTC", "Entra's first use of the new token")
		s.shot(ctx, "tenant")
	})

	t.Run("a queued job appears, is retried and disappears", func(t *testing.T) {
		s.ldap.stop(t)
		user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"ext-carol","userName":"carol@example.org","active":true,
"displayName":"Carol Example","name":{"givenName":"Carol","familyName":"Example"},"emails":[{"primary":true,"type":"work","value":"carol@example.org"}]}`
		require.Equal(t, http.StatusServiceUnavailable, s.scim(http.MethodPost, "/scim/acme/v2/Users", second, user))

		s.navigate(ctx, "/console/queue?tenant=acme")
		require.Contains(t, text(t, ctx, "table.jobs tbody"), "create")
		s.shot(ctx, "queue")
		require.NoError(t, phone(ctx))
		s.shot(ctx, "queue-phone")
		require.NoError(t, desktop(ctx))
		s.click(ctx, "table.jobs tbody a")
		require.Contains(t, text(t, ctx, "#payload"), "carol@example.org")
		s.shot(ctx, "job")

		s.ldap.start(t)
		s.click(ctx, "#retry")
		s.shot(ctx, "job-confirm")
		// The confirmation's button has the focus: Enter confirms.
		_, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(kb.Enter))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".flash"))))
		require.Contains(t, text(t, ctx, ".flash"), "requeued")
		require.Eventually(t, func() bool {
			s.navigate(ctx, "/console/queue?tenant=acme")
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#no-jobs").length`))
			return err == nil && n == 1
		}, 30*time.Second, 500*time.Millisecond, "the worker applies the retried job")
	})

	t.Run("a dead job, its secrets masked, is dropped after confirmation", func(t *testing.T) {
		later := time.Now().Add(time.Hour) // out of the running worker's reach
		j, err := s.app.state.Enqueue(bg, state.Job{Tenant: "legacy", Resource: "legacy/User/dave", Op: "create", NotBefore: later,
			Payload: []byte(`{"op":"create","kind":"User","resource":{"userName":"dave@example.org","password":"Hunter2-Secret"}}`)})
		require.NoError(t, err)
		leased, err := s.app.state.Lease(bg, "test-worker", later.Add(time.Minute), 10, time.Hour)
		require.NoError(t, err)
		require.Len(t, leased, 1)
		require.NoError(t, s.app.state.Bury(bg, j.ID, "test-worker", "pharos: column mail is too long", "invalid"))

		s.navigate(ctx, "/console/queue")
		require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#f-state"), "dead")))
		s.click(ctx, ".filters button")
		require.Contains(t, location(t, ctx), "state=dead")
		rows := text(t, ctx, "table.jobs tbody")
		require.Contains(t, rows, j.ID)
		require.Contains(t, rows, "column mail is too long")
		s.click(ctx, "table.jobs tbody a")
		payload := text(t, ctx, "#payload")
		require.Contains(t, payload, `"password": "<secret>"`)
		require.NotContains(t, text(t, ctx, "main"), "Hunter2-Secret")
		s.click(ctx, "#drop")
		// Cancel goes back and drops nothing.
		s.click(ctx, ".confirm a.button")
		_, err = s.app.state.Get(bg, j.ID)
		require.NoError(t, err)
		s.click(ctx, "#drop")
		s.shot(ctx, "job-drop")
		s.click(ctx, "#confirm")
		require.Contains(t, text(t, ctx, ".flash"), "dropped")
		_, err = s.app.state.Get(bg, j.ID)
		require.ErrorIs(t, err, state.ErrNotFound)
	})

	t.Run("the activity page shows the write", func(t *testing.T) {
		s.navigate(ctx, "/console/activity")
		_, err := chromedp.RunResponse(ctx, chromedp.SendKeys(chromedp.CSS("#a-user"), "CAROL"+kb.Enter))
		require.NoError(t, err)
		require.Contains(t, location(t, ctx), "user=CAROL")
		rows := text(t, ctx, "table.activity tbody")
		require.Contains(t, rows, "carol@example.org")
		require.Contains(t, rows, "create")
		require.Contains(t, rows, "applied from the retry queue")
		require.Equal(t, "CAROL", value(t, ctx, "#a-user"))
		s.shot(ctx, "activity")
		require.NoError(t, phone(ctx))
		s.shot(ctx, "activity-phone")
		require.NoError(t, desktop(ctx))
		s.navigate(ctx, "/console/activity?user=nobody-such")
		require.Contains(t, text(t, ctx, "#no-activity"), "No writes recorded")
	})

	t.Run("mapping table and dry run", func(t *testing.T) {
		s.navigate(ctx, "/console/mapping")
		s.navigate(ctx, "/console/mapping/acme")
		table := text(t, ctx, "table.mapping")
		require.Contains(t, table, "userName")
		require.Contains(t, table, "externalId")
		s.click(ctx, "#dryrun")
		require.Contains(t, text(t, ctx, "#dry-result"), "would create User with:")
		s.shot(ctx, "mapping")
		// carol exists now: her dry run finds her.
		require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#resource"),
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"ext-carol","userName":"carol@example.org","emails":[{"primary":true,"type":"work","value":"carol@example.org"}],"title":"CTO"}`)))
		s.click(ctx, "#dryrun")
		result := text(t, ctx, "#dry-result")
		require.Contains(t, result, "match externalId")
		require.Contains(t, result, "would modify User")
		require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#resource"), `{"userName": 7`)))
		s.click(ctx, "#dryrun")
		require.NotEmpty(t, text(t, ctx, "#dry-problem"))
	})

	t.Run("tenants page after the traffic", func(t *testing.T) {
		s.navigate(ctx, "/console/")
		page := text(t, ctx, "table.tenants")
		require.Contains(t, page, "0 waiting")
		require.Regexp(t, `(^|\s)1 error(\s|$)`, page, "the 503 while slapd was stopped, in the singular")
		require.NotContains(t, page, "none yet\nnone yet")
		s.shot(ctx, "tenants")
		require.NoError(t, phone(ctx))
		s.shot(ctx, "tenants-phone")
		require.NoError(t, desktop(ctx))
	})
}

// console.listen puts the console on a listener of its own, off the one
// Entra reaches; console.enabled false turns it off.
func TestConsoleListenerAndSwitch(t *testing.T) {
	addr := freeAddr(t)
	s := newConsoleStack(t, "console: { listen: '"+addr+"' }")
	var out strings.Builder
	stop, err := s.app.startConsole(context.Background(), s.app.ops.Config(), &listener{}, hclog.NewNullLogger(), &out)
	require.NoError(t, err)
	t.Cleanup(stop)
	require.Contains(t, out.String(), "Console: http://"+addr+"/console/")
	get := func(u string) int {
		resp, err := http.Get(u)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get("http://"+addr+"/console/login"))
	require.Equal(t, http.StatusNotFound, get(s.base+"/console/login"), "not on the main listener")
	require.Equal(t, http.StatusOK, get(s.base+"/healthz"))

	off := newConsoleStack(t, "console: { enabled: false }")
	require.Nil(t, off.app.console)
	require.Equal(t, http.StatusNotFound, get(off.base+"/console/login"))
}
