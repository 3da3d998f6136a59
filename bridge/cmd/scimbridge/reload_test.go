package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// reloadStack is a Pharos (SQLite) bridge whose configuration and mapping
// are files of the test's own, to be edited and reloaded.
type reloadStack struct {
	*stack
	mappingPath string
	adminToken  string
}

func newReloadStack(t *testing.T) *reloadStack {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "configs/mappings/entra-to-pharos.yaml"))
	require.NoError(t, err)
	mappingPath := filepath.Join(t.TempDir(), "mapping.yaml")
	require.NoError(t, os.WriteFile(mappingPath, src, 0o600))
	dsn := filepath.Join(t.TempDir(), "pharos.db")
	s := newBridge(t, `{ type: pharos, config: { driver: sqlite, dsn: '`+dsn+`', init: true } }`, mappingPath)
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s.db, s.tg = db, target{name: "sqlite", driver: "sqlite", sqlDrv: "sqlite", dsn: dsn}
	admin, _, err := s.app.tokens.Generate(context.Background(), adminTenant)
	require.NoError(t, err)
	return &reloadStack{stack: s, mappingPath: mappingPath, adminToken: admin}
}

// edit rewrites a file with old replaced by new (which must be there).
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o600))
}

// admin calls the admin API and decodes its JSON answer.
func (s *reloadStack) admin(method, path string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, nil)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+s.adminToken)
	resp, err := s.srv.Client().Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(s.t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func (s *reloadStack) reload() (int, map[string]any) {
	s.t.Helper()
	return s.admin(http.MethodPost, "/admin/reload")
}

// TestReloadUnderEntraTraffic: reloads (a mapping change that keeps the
// backend, one that reopens it, and a refused one) while Entra creates and
// patches users lose nothing: every request is answered as without a
// reload, and every user is stored whole.
func TestReloadUnderEntraTraffic(t *testing.T) {
	s := newReloadStack(t)
	const workers, perWorker = 4, 30
	var (
		wg       sync.WaitGroup
		failures = make(chan string, workers*perWorker*2)
		created  atomic.Int64
	)
	send := func(method, path string, body any) (int, map[string]any, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, s.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := s.srv.Client().Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		raw, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out, nil
	}
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				upn := fmt.Sprintf("reload-%d-%d@contoso.com", w, i)
				st, body, err := send("POST", "/Users", map[string]any{
					"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "externalId": "ext-" + upn,
					"userName": upn, "active": true, "displayName": "Reload " + upn,
					"emails": []any{map[string]any{"type": "work", "value": upn, "primary": true}}})
				if err != nil || st != http.StatusCreated {
					failures <- fmt.Sprintf("POST %s: %d %v %v", upn, st, err, body)
					continue
				}
				created.Add(1)
				st, body, err = send("PATCH", "/Users/"+body["id"].(string), map[string]any{
					"schemas":    []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
					"Operations": []any{map[string]any{"op": "Replace", "path": "title", "value": "T " + upn}}})
				if err != nil || st != http.StatusOK {
					failures <- fmt.Sprintf("PATCH %s: %d %v %v", upn, st, err, body)
				}
			}
		})
	}
	// Meanwhile: reloads that keep the backend (a transform changed), that
	// reopen it (a new stored attribute), and one refused.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	reloads := 0
	for round := 0; ; round++ {
		select {
		case <-done:
		default:
			switch round % 3 {
			case 0:
				edit(t, s.mappingPath, "    - scim: title\n      target: title\n", "    - scim: title\n      target: title\n      toTarget: 'Trim(value)'\n")
			case 1:
				edit(t, s.mappingPath, "      toTarget: 'Trim(value)'\n", "    - scim: nickName\n      target: deprovisioned\n")
			case 2:
				edit(t, s.mappingPath, "    - scim: nickName\n      target: deprovisioned\n", "")
			}
			st, body := s.reload()
			require.Equal(t, http.StatusOK, st, "%v", body)
			reloads++
			time.Sleep(20 * time.Millisecond)
			continue
		}
		break
	}
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	require.Positive(t, reloads)
	t.Logf("%d reloads during %d creates and patches", reloads, created.Load())
	require.Equal(t, workers*perWorker, s.count("SELECT COUNT(*) FROM users"))
	require.Equal(t, workers*perWorker, s.count("SELECT COUNT(*) FROM users WHERE title LIKE 'T reload-%'"))
}

// TestReloadRefused: a broken mapping is refused with every problem and
// its position; the old configuration keeps serving; the failure shows in
// /admin/status and the metric, and the next good reload clears it.
func TestReloadRefused(t *testing.T) {
	s := newReloadStack(t)
	edit(t, s.mappingPath, "      target: title\n", "      target: title\n      colour: blue\n")
	st, body := s.reload()
	require.Equal(t, http.StatusUnprocessableEntity, st)
	require.Contains(t, body["error"], "previous one keeps serving")
	require.Regexp(t, `mapping\.yaml:\d+:\d+: users\.attributes\[\d+\]\.colour: unknown key`, body["error"])
	s.must(201, "POST", "/Users", fixture(t, "create-user"))

	_, status := s.admin(http.MethodGet, "/admin/status")
	rv := status["reload"].(map[string]any)
	require.Equal(t, false, rv["last_ok"])
	require.Contains(t, rv["last_error"], "colour")
	require.Equal(t, float64(1), rv["failures"])
	require.Equal(t, float64(1), rv["generation"])
	require.Contains(t, scrape(t, strings.TrimPrefix(s.srv.URL, "http://")), `scimbridge_config_reloads_total{result="failure"} 1`)
	require.Contains(t, scrape(t, strings.TrimPrefix(s.srv.URL, "http://")), `scimbridge_config_last_reload_successful 0`)

	edit(t, s.mappingPath, "      colour: blue\n", "")
	st, body = s.reload()
	require.Equal(t, http.StatusOK, st, "%v", body)
	require.Equal(t, float64(2), body["generation"])
	require.Equal(t, true, body["last_ok"])
	require.Contains(t, scrape(t, strings.TrimPrefix(s.srv.URL, "http://")), `scimbridge_config_last_reload_successful 1`)
}

// TestReloadTenantsAndBackends: a tenant added gets its token and serves;
// one removed stops; a mapping change that stores nothing new keeps the
// backend (its pool); a changed connection setting opens a new one;
// /Schemas follows the mapping.
func TestReloadTenantsAndBackends(t *testing.T) {
	s := newReloadStack(t)
	first := s.app.currentServices()[0]
	st, body := s.reload()
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, []any{"default"}, body["backends_kept"])
	require.Same(t, first, s.app.currentServices()[0], "nothing changed: the same service")

	edit(t, s.mappingPath, "    - scim: title\n      target: title\n", "    - scim: title\n      target: title\n      required: true\n")
	st, body = s.reload()
	require.Equal(t, http.StatusOK, st, "%v", body)
	require.Equal(t, []any{"default"}, body["tenants_changed"])
	now := s.app.currentServices()[0]
	require.NotSame(t, first, now)
	require.True(t, first.Backend() == now.Backend(), "same stored attributes and settings: the backend and its pool are kept")
	a := s.must(400, "POST", "/Users", fixture(t, "create-user"))
	require.Contains(t, a.body["detail"], "title", "the new mapping serves")
	schema := s.must(200, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", nil)
	require.Contains(t, schema.raw, "Required by this bridge: title")

	// A mapping that stores another attribute: a backend for it over the
	// same pool (the Pharos backend's WithSchema).
	edit(t, s.mappingPath, "    - scim: title\n", "    - scim: nickName\n      target: deprovisioned\n    - scim: title\n")
	st, body = s.reload()
	require.Equal(t, http.StatusOK, st, "%v", body)
	require.Equal(t, []any{"default"}, body["backends_kept"])
	rebound := s.app.currentServices()[0]
	require.True(t, rebound.Backend() != now.Backend())
	a = s.must(400, "POST", "/Users", fixture(t, "create-user"))
	body2 := fixture(t, "create-user")
	body2["title"], body2["nickName"] = "T", "nick"
	id := s.must(201, "POST", "/Users", body2).body["id"].(string)
	require.Equal(t, "nick", s.row("SELECT deprovisioned FROM users WHERE id = ?", id)["deprovisioned"])
	now = rebound

	// A second tenant, and a changed connection setting for the first.
	cfg, err := os.ReadFile(s.cfgPath)
	require.NoError(t, err)
	dsn2 := filepath.Join(t.TempDir(), "second.db")
	text := strings.Replace(string(cfg), "init: true } }", "init: true, maxOpenConns: 3 } }", 1) +
		"  - name: second\n    backend: { type: pharos, config: { driver: sqlite, dsn: '" + dsn2 + "', init: true } }\n    mapping: " + s.mappingPath + "\n"
	require.NoError(t, os.WriteFile(s.cfgPath, []byte(text), 0o600))
	st, body = s.reload()
	require.Equal(t, http.StatusOK, st, "%v", body)
	require.Equal(t, []any{"second"}, body["tenants_added"])
	require.Equal(t, []any{"default"}, body["tenants_changed"])
	require.Nil(t, body["backends_kept"])
	require.True(t, now.Backend() != s.app.currentServices()[0].Backend(), "a changed connection setting opens a new backend")
	tok, err := os.ReadFile(filepath.Join(filepath.Dir(s.cfgPath), "token.txt"))
	require.NoError(t, err)
	m := tokenRE.FindStringSubmatch(string(tok))
	require.NotNil(t, m, "the new tenant's first token is written to the token file")
	second := &stack{t: t, srv: s.srv, token: m[1], base: s.srv.URL + "/scim/second/v2"}
	second.must(200, "GET", "/Users", nil)
	_, status := s.admin(http.MethodGet, "/admin/status")
	require.Len(t, status["tenants"], 2)

	require.NoError(t, os.WriteFile(s.cfgPath, cfg, 0o600))
	st, body = s.reload()
	require.Equal(t, http.StatusOK, st, "%v", body)
	require.Equal(t, []any{"second"}, body["tenants_removed"])
	second.must(401, "GET", "/Users", nil)
	s.must(200, "GET", "/Users", nil)
}

// TestReloadSignalCLIAndHooks: SIGHUP and `scimbridge reload` reload; the
// reload hooks of other components run each time, their failures shown.
func TestReloadSignalCLIAndHooks(t *testing.T) {
	s := newReloadStack(t)
	var calls atomic.Int64
	s.app.reloads.AddHook("counter", func(context.Context) error { calls.Add(1); return nil })
	s.app.reloads.AddHook("broken", func(context.Context) error { return fmt.Errorf("certificate unreadable") })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.app.reloads.onSignal(ctx)
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return s.app.reloads.view().Generation == 2 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, int64(1), calls.Load())
	require.Equal(t, []string{"broken: certificate unreadable"}, s.app.reloads.view().HookErrors)

	tokenFile := filepath.Join(t.TempDir(), "admin.txt")
	require.NoError(t, os.WriteFile(tokenFile, []byte("admin_token: "+s.adminToken+"\n"), 0o600))
	out, err := run(t, "reload", "--url", s.srv.URL, "--token-file", tokenFile)
	require.NoError(t, err)
	require.Contains(t, out, "configuration reloaded (generation 3)")
	require.Contains(t, out, "backends kept: default")
	require.Equal(t, int64(2), calls.Load())

	edit(t, s.mappingPath, "users:\n", "users:\n  colour: blue\n")
	_, err = run(t, "reload", "--url", s.srv.URL, "--token-file", tokenFile)
	require.ErrorContains(t, err, "colour")
	require.NoError(t, os.WriteFile(tokenFile, []byte("wrong"), 0o600))
	_, err = run(t, "reload", "--url", s.srv.URL, "--token-file", tokenFile)
	require.Error(t, err)
	t.Setenv(adminTokenEnv, "")
	_, err = run(t, "reload", "--url", s.srv.URL)
	require.ErrorContains(t, err, "no admin token")
}

// TestReloadWatch: serve --watch reloads once a changed mapping file has
// settled, and a refused one leaves the old configuration serving.
func TestReloadWatch(t *testing.T) {
	s := newReloadStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.app.reloads.watch(ctx, 20*time.Millisecond)

	edit(t, s.mappingPath, "    - scim: title\n      target: title\n", "    - scim: title\n      target: title\n      required: true\n")
	require.Eventually(t, func() bool { return s.app.reloads.view().Generation == 2 }, 10*time.Second, 10*time.Millisecond)
	s.must(400, "POST", "/Users", fixture(t, "create-user"))

	edit(t, s.mappingPath, "      required: true\n", "      required: maybe\n")
	require.Eventually(t, func() bool { return s.app.reloads.view().Failures == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Contains(t, s.app.reloads.view().LastError, "must be true or false")
	require.Equal(t, 2, s.app.reloads.view().Generation)
	s.must(400, "POST", "/Users", fixture(t, "create-user"))
}
