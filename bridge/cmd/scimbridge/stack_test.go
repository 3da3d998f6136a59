package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/config"
)

// repoRoot is where configs/ and bridge/scim/testdata live, seen from this
// package's directory.
const repoRoot = "../../.."

// target is one Pharos database the full stack writes into.
type target struct {
	name   string
	driver string // pharos config driver: sqlite | postgres
	sqlDrv string // database/sql driver name to read rows back
	dsn    string
}

// targets lists the databases every end-to-end test runs against: SQLite
// always, PostgreSQL from `make test` (scripts/pg-start.sh). Under CI a
// missing PostgreSQL is a failure, never a silent skip.
func targets(t *testing.T) []func(t *testing.T) target {
	return []func(t *testing.T) target{
		func(t *testing.T) target {
			return target{name: "sqlite", driver: "sqlite", sqlDrv: "sqlite", dsn: filepath.Join(t.TempDir(), "pharos.db")}
		},
		func(t *testing.T) target {
			return target{name: "postgres", driver: "postgres", sqlDrv: "pgx", dsn: newPGSchema(t)}
		},
	}
}

// forEachTarget runs f against every target database.
func forEachTarget(t *testing.T, f func(t *testing.T, s *stack)) {
	for i, mk := range targets(t) {
		name := []string{"sqlite", "postgres"}[i]
		t.Run(name, func(t *testing.T) {
			f(t, newStack(t, mk(t)))
		})
	}
}

func newPGSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv("SCIMBRIDGE_PG_DSN")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SCIMBRIDGE_PG_DSN is not set, and CI must test PostgreSQL: run `make test` (scripts/pg-start.sh)")
		}
		t.Skip("SCIMBRIDGE_PG_DSN is not set: `make test` starts PostgreSQL and sets it")
	}
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	var r [6]byte
	_, _ = rand.Read(r[:])
	schema := "e2e_" + hex.EncodeToString(r[:])
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// stack is the whole bridge as `serve` wires it (config file → state store
// → Pharos backend → mapping → bridge → Gin), behind an httptest server,
// plus a direct connection to the target database to check stored rows.
type stack struct {
	t     testing.TB
	srv   *httptest.Server
	app   *app
	cfg   *config.Config
	token string
	base  string // Tenant URL
	db    *sql.DB
	tg    target
	// cfgPath is the configuration file, for commands run against the
	// same bridge.
	cfgPath string
}

func newStack(t testing.TB, tg target) *stack {
	t.Helper()
	s := newBridge(t, `{ type: pharos, config: { driver: `+tg.driver+`, dsn: '`+tg.dsn+`', init: true } }`, "configs/mappings/entra-to-pharos.yaml")
	db, err := sql.Open(tg.sqlDrv, tg.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s.db, s.tg = db, tg
	return s
}

// newBridge starts the whole bridge for one tenant "default" with the
// given backend block (YAML flow form) and mapping (relative to the
// repository root), and generates its token.
func newBridge(t testing.TB, backend, mappingFile string) *stack {
	t.Helper()
	return newBridgeWith(t, backend, mappingFile, bridgeOptions{})
}

// bridgeOptions change what newBridgeWith configures beyond newBridge's
// defaults.
type bridgeOptions struct {
	// state is the state block in YAML flow form, e.g. a Redis with a key
	// prefix of the test's own; empty: a SQLite file in the test's temp dir.
	state string
	// auth is the tenant's auth block in YAML flow form; empty: none (the
	// Secret Token only).
	auth string
}

// newBridgeWith is newBridge with options.
func newBridgeWith(t testing.TB, backend, mappingFile string, o bridgeOptions) *stack {
	t.Helper()
	dir := t.TempDir()
	mappingPath := mappingFile
	if !filepath.IsAbs(mappingPath) {
		var err error
		mappingPath, err = filepath.Abs(filepath.Join(repoRoot, mappingFile))
		require.NoError(t, err)
	}
	if o.state == "" {
		o.state = `{ sqlite: { path: ` + filepath.Join(dir, "state.db") + ` } }`
	}
	cfgText := `
listen: 127.0.0.1:0
public_url: http://scim.example.test
log: { level: warn, format: text }
state: ` + o.state + `
limits: { body_bytes: 65536, request_timeout: 20s, write_retries: 2 }
tokens: { validity: 8760h, grace: 24h, file: ` + filepath.Join(dir, "token.txt") + ` }
queue: { max_attempts: 50, base_delay: 50ms, max_delay: 500ms }
tenants:
  - name: default
    backend: ` + backend + `
    mapping: ` + mappingPath + `
`
	if o.auth != "" {
		cfgText += "    auth: " + o.auth + "\n"
	}
	cfgPath := filepath.Join(dir, "bridge.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfgText), 0o600))
	return bridgeFromConfig(t, cfgPath, "default")
}

// bridgeFromConfig starts the whole bridge from a configuration file, as
// serve does (its retry worker included, behind an httptest server), and
// generates a token for tenant, whose Tenant URL the stack talks to. Each
// edit changes the loaded configuration first (a second replica's state
// store of its own).
func bridgeFromConfig(t testing.TB, cfgPath, tenant string, edits ...func(*config.Config)) *stack {
	t.Helper()
	cfg, err := loadConfig(cfgPath)
	require.NoError(t, err)
	for _, edit := range edits {
		edit(cfg)
	}
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard})
	a, err := newApp(context.Background(), cfg, log)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	token, _, err := a.tokens.Generate(context.Background(), tenant)
	require.NoError(t, err)
	// The retry worker runs as under serve.
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.worker.Run(wctx) }()
	t.Cleanup(func() { stop(); <-done })
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	return &stack{t: t, srv: srv, app: a, cfg: cfg, token: token, base: srv.URL + "/scim/" + tenant + "/v2", cfgPath: cfgPath}
}

// answer is one HTTP exchange's result.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request the way Entra does: bearer token, scim+json body.
func (s *stack) do(method, pathAndQuery string, body any) answer {
	s.t.Helper()
	return s.doWith(method, pathAndQuery, body, "Bearer "+s.token)
}

func (s *stack) doWith(method, pathAndQuery string, body any, auth string) answer {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(s.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.base+pathAndQuery, rd)
	require.NoError(s.t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	client := http.DefaultClient // a bridge running as a process of its own
	if s.srv != nil {
		client = s.srv.Client()
	}
	resp, err := client.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		require.NoError(s.t, json.Unmarshal(raw, &a.body), "answer is not JSON: %s", raw)
	}
	require.Equal(s.t, "application/scim+json", strings.Split(resp.Header.Get("Content-Type"), ";")[0], "content type of %s %s", method, pathAndQuery)
	return a
}

// must checks the status and returns the answer.
func (s *stack) must(status int, method, pathAndQuery string, body any) answer {
	s.t.Helper()
	a := s.do(method, pathAndQuery, body)
	require.Equal(s.t, status, a.status, "%s %s answered %s", method, pathAndQuery, a.raw)
	return a
}

// fixture returns the request body of a bridge/scim Entra fixture.
func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "bridge/scim/testdata/entra", name+".json"))
	require.NoError(t, err)
	var f struct {
		Request map[string]any `json:"request"`
	}
	require.NoError(t, json.Unmarshal(raw, &f))
	require.NotNil(t, f.Request, "fixture %s has no request body", name)
	return f.Request
}

// row reads one row of the target as strings (NULL → "<null>").
func (s *stack) row(query string, args ...any) map[string]string {
	s.t.Helper()
	rows, err := s.db.Query(s.rebind(query), args...)
	require.NoError(s.t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(s.t, err)
	require.True(s.t, rows.Next(), "no row for %s %v", query, args)
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	require.NoError(s.t, rows.Scan(ptrs...))
	require.False(s.t, rows.Next(), "more than one row for %s %v", query, args)
	out := map[string]string{}
	for i, c := range cols {
		if vals[i].Valid {
			out[c] = vals[i].String
		} else {
			out[c] = "<null>"
		}
	}
	return out
}

// count runs a COUNT(*) query.
func (s *stack) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	require.NoError(s.t, s.db.QueryRow(s.rebind(query), args...).Scan(&n))
	return n
}

// rebind turns ? placeholders into $n for PostgreSQL.
func (s *stack) rebind(q string) string {
	if s.tg.sqlDrv != "pgx" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$")
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
