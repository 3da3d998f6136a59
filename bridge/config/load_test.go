package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// nopDriver accepts any configuration; it is never opened in these tests.
type nopDriver struct{}

func (nopDriver) Validate(backends.Config, backends.Schema) error { return nil }

func (nopDriver) Open(context.Context, backends.Config, backends.Schema, hclog.Logger) (backends.Backend, error) {
	return nil, errors.New("test: nopDriver cannot open")
}

// failDriver rejects every configuration with two errors.
type failDriver struct{}

func (failDriver) Validate(cfg backends.Config, _ backends.Schema) error {
	return errors.Join(
		fmt.Errorf("fail: dsn %v is wrong", cfg["dsn"]),
		errors.New("fail: second problem"))
}

func (failDriver) Open(context.Context, backends.Config, backends.Schema, hclog.Logger) (backends.Backend, error) {
	return nil, errors.New("test: failDriver cannot open")
}

func testRegistry() backends.Registry {
	return backends.Registry{"pharos": nopDriver{}, "ldap": nopDriver{}, "fail": failDriver{}}
}

// shippedMapping is the content of a mapping the mapping package compiles.
func shippedMapping(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "mappings", "entra-to-pharos.yaml"))
	require.NoError(tb, err)
	return b
}

// writeConfig writes bridge.yaml with body, and the other files given
// (relative name -> content), into a new directory; it returns the path of
// bridge.yaml. "MAPPING" as content stands for a valid mapping.
func writeConfig(tb testing.TB, body string, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(tb, os.MkdirAll(filepath.Dir(p), 0o755))
		b := []byte(content)
		if content == "MAPPING" {
			b = shippedMapping(tb)
		}
		require.NoError(tb, os.WriteFile(p, b, 0o600))
	}
	p := filepath.Join(dir, "bridge.yaml")
	require.NoError(tb, os.WriteFile(p, []byte(body), 0o600))
	return p
}

const minimal = `state: { sqlite: { path: state.db } }
tenants:
  - name: default
    backend: { type: pharos }
    mapping: m.yaml
`

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, minimal, map[string]string{"m.yaml": "MAPPING"})
	cfg, err := load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	dir := filepath.Dir(path)
	cwd, err := os.Getwd()
	require.NoError(t, err)
	want := &Config{
		File:      path,
		Listen:    "127.0.0.1:8080",
		PublicURL: "http://127.0.0.1:8080",
		Log:       LogConfig{Level: "info", Format: "auto"},
		State:     StateConfig{SQLite: &SQLiteConfig{Path: filepath.Join(cwd, "state.db")}},
		Limits:    LimitsConfig{BodyBytes: 1 << 20, RequestTimeout: 25 * time.Second, WriteRetries: 3, IdempotencyWindow: time.Hour, TenantConcurrency: 32},
		Tokens:    TokensConfig{Validity: 8760 * time.Hour, Grace: 24 * time.Hour, File: filepath.Join(cwd, "tenant-token.txt")},
		Queue:     QueueConfig{MaxAttempts: 20, MaxAge: 7 * 24 * time.Hour, BaseDelay: 2 * time.Second, MaxDelay: 10 * time.Minute},
		Console:   ConsoleConfig{Enabled: true, SessionTTL: 8 * time.Hour},
		Tenants: []Tenant{{
			Name:        "default",
			Backend:     BackendConfig{Type: "pharos", Config: backends.Config{}},
			MappingPath: filepath.Join(dir, "m.yaml"),
			Auth:        AuthConfig{SecretToken: true, AccessTokenLifetime: time.Hour},
		}},
	}
	opts := cmp.Options{
		cmpopts.IgnoreUnexported(Config{}, BackendConfig{}),
		cmpopts.IgnoreFields(Tenant{}, "Mapping"),
	}
	require.Empty(t, cmp.Diff(want, cfg, opts))
	require.NotNil(t, cfg.Tenants[0].Mapping)
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	body := `listen: ":9090"
public_url: HTTPS://SCIM.Example.org/bridge//
log: { level: DEBUG, format: json, audit: " /var/log/scimbridge/audit.log " }
state:
  redis: { url: "rediss://:pw@redis.example.org:6380/2", key_prefix: "b1:" }
limits: { body_bytes: 2048, request_timeout: 59s, write_retries: 0 }
tokens: { validity: 30d, grace: 0s, file: /abs/token.txt }
tenants:
  - name: a
    backend: { type: pharos, config: { driver: sqlite, dsn: a.db, init: true, n: 3 } }
    mapping: m.yaml
  - name: b-2
    backend: { type: ldap }
    mapping: m.yaml
`
	path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING"})
	cfg, err := load(path, testRegistry(), envOf(nil))
	require.NoError(t, err)
	require.Equal(t, ":9090", cfg.Listen)
	require.Equal(t, "https://scim.example.org/bridge", cfg.PublicURL)
	require.Equal(t, LogConfig{Level: "debug", Format: "json", Audit: "/var/log/scimbridge/audit.log"}, cfg.Log)
	require.Nil(t, cfg.State.SQLite)
	require.Equal(t, "rediss://:pw@redis.example.org:6380/2", cfg.State.Redis.URL)
	require.Equal(t, "b1:", cfg.State.Redis.KeyPrefix)
	require.Equal(t, LimitsConfig{BodyBytes: 2048, RequestTimeout: 59 * time.Second, IdempotencyWindow: time.Hour, TenantConcurrency: DefaultTenantConcurrency}, cfg.Limits)
	require.Equal(t, TokensConfig{Validity: 30 * 24 * time.Hour, File: "/abs/token.txt"}, cfg.Tokens)
	require.Equal(t, backends.Config{"driver": "sqlite", "dsn": "a.db", "init": true, "n": uint64(3)}, cfg.Tenants[0].Backend.Config,
		"backend config is passed through untouched")
	require.Equal(t, "https://scim.example.org/bridge/scim/b-2/v2", cfg.TenantURL("b-2"))
	tn, ok := cfg.Tenant("b-2")
	require.True(t, ok)
	require.Equal(t, "ldap", tn.Backend.Type)
	_, ok = cfg.Tenant("c")
	require.False(t, ok)
}

func TestLoadPublicURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, listen, url, want, err string
	}{
		{name: "trailing slash", url: "http://h:8080/", want: "http://h:8080"},
		{name: "path prefix", url: "https://h/a/b/", want: "https://h/a/b"},
		{name: "derived from listen", listen: "10.0.0.1:9000", want: "http://10.0.0.1:9000"},
		{name: "derived from wildcard listen", listen: ":9000", want: "http://127.0.0.1:9000"},
		{name: "derived from ipv6 wildcard", listen: "[::]:9000", want: "http://127.0.0.1:9000"},
		{name: "relative", url: "/scim", err: "must be an absolute http:// or https:// URL"},
		{name: "other scheme", url: "ftp://h", err: "must be an absolute http:// or https:// URL"},
		{name: "no host", url: "http:///x", err: "has no host"},
		{name: "query", url: "http://h/?a=1", err: "must not have a query or fragment"},
		{name: "fragment", url: "http://h/#x", err: "must not have a query or fragment"},
		{name: "credentials", url: "http://u:p@h/", err: "must not contain credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := minimal
			if tt.listen != "" {
				body = fmt.Sprintf("listen: %q\n%s", tt.listen, body)
			}
			if tt.url != "" {
				body = fmt.Sprintf("public_url: %q\n%s", tt.url, body)
			}
			path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING"})
			cfg, err := load(path, testRegistry(), envOf(nil))
			if tt.err != "" {
				errs := configErrors(t, err)
				require.Len(t, errs, 1)
				require.Contains(t, errs[0].Msg, "public_url: ")
				require.Contains(t, errs[0].Msg, tt.err)
				require.Equal(t, 1, errs[0].Line)
				require.NotContains(t, errs[0].Error(), ":p@", "credentials must not be echoed")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg.PublicURL)
		})
	}
}

func TestLoadRelativePaths(t *testing.T) {
	t.Parallel()
	body := `state: { sqlite: { path: ${DATA:-data}/state.db } }
tokens: { file: "${DATA:-data}/token.txt" }
tenants:
  - name: t
    backend: { type: pharos, config: { dsn: "${file:secrets/dsn}" } }
    mapping: mappings/m.yaml
  - name: abs
    backend: { type: pharos }
    mapping: ${ABS_MAPPING}
`
	other := t.TempDir()
	absMapping := filepath.Join(other, "elsewhere.yaml")
	require.NoError(t, os.WriteFile(absMapping, shippedMapping(t), 0o600))
	path := writeConfig(t, body, map[string]string{
		"mappings/m.yaml": "MAPPING",
		"secrets/dsn":     "file:relative.db\n",
	})
	dir := filepath.Dir(path)

	// Load through a relative path from another working directory cannot be
	// done in a parallel test (Chdir), so the relative form of the config
	// path is exercised by TestExampleConfigs.
	cfg, err := load(path, testRegistry(), envOf(map[string]string{"ABS_MAPPING": absMapping}))
	require.NoError(t, err)
	// Data files are relative to the working directory, config files to
	// the configuration's directory.
	cwd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(cwd, "data", "state.db"), cfg.State.SQLite.Path)
	require.Equal(t, filepath.Join(cwd, "data", "token.txt"), cfg.Tokens.File)
	require.Equal(t, filepath.Join(dir, "mappings", "m.yaml"), cfg.Tenants[0].MappingPath)
	require.Equal(t, absMapping, cfg.Tenants[1].MappingPath)
	require.Equal(t, "file:relative.db", cfg.Tenants[0].Backend.Config["dsn"], "backend config is left to the backend")

	// An absolute data directory is kept as is.
	cfg, err = load(path, testRegistry(), envOf(map[string]string{"DATA": other, "ABS_MAPPING": absMapping}))
	require.NoError(t, err)
	require.Equal(t, filepath.Join(other, "state.db"), cfg.State.SQLite.Path)
}

func TestLoadDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		line, col int
		msg       string
	}{
		{"unknown key", "listen: a:1\nlimits:\n  body_bytes: 1\n  bodyy_bytes: 2\n", 4, 3, `unknown field "bodyy_bytes"`},
		{"unknown key after expansion", "public_url: ${U:-http://x}\nlimits: { request_timeout: ${T:-1s}, retries: 2 }\n", 2, 38, `unknown field "retries"`},
		{"duplicate key", "listen: a:1\nlog: {}\nlisten: b:2\n", 3, 1, `mapping key "listen" already defined at [1:1]`},
		{"type mismatch", "limits:\n  body_bytes: lots\n", 2, 15, "cannot use a string here: want an integer"},
		{"list expected", "tenants: default\n", 1, 10, "string was used where sequence is expected"},
		{"syntax", "listen: a\n  b: c\n", 1, 9, "mapping value is not allowed"},
		{"two documents", "listen: a:1\n---\nlisten: b:2\n", 3, 1, "only one YAML document"},
		{"not a mapping", "- a\n- b\n", 1, 1, "sequence was used where mapping is expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tt.body, nil)
			_, err := load(path, testRegistry(), envOf(nil))
			errs := configErrors(t, err)
			require.Len(t, errs, 1, "%v", err)
			e := errs[0]
			require.Contains(t, e.Msg, tt.msg)
			require.Equal(t, tt.line, e.Line, "%v", e)
			require.Equal(t, tt.col, e.Column, "%v", e)
			require.True(t, strings.HasPrefix(e.Error(), fmt.Sprintf("config: %s:%d:%d: ", path, tt.line, tt.col)), "%v", e)
			require.Contains(t, e.Snippet, fmt.Sprintf("> %d | ", tt.line))
		})
	}

	t.Run("empty file", func(t *testing.T) {
		t.Parallel()
		for _, body := range []string{"", "# nothing but a comment\n"} {
			_, err := load(writeConfig(t, body, nil), testRegistry(), envOf(nil))
			require.ErrorContains(t, err, "the file is empty")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, err := load(filepath.Join(t.TempDir(), "nope.yaml"), testRegistry(), envOf(nil))
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestLoadValidationErrors(t *testing.T) {
	t.Parallel()
	// Every line below but the first and the mapping of tenants[0] holds a
	// problem; each must be reported, at its own line.
	body := `listen: localhost
public_url: ftp://x
log: { level: loud, format: xml }
state:
  sqlite: { path: "" }
  redis: { url: "http://:hunter2@r:6379" }
limits:
  body_bytes: 0
  request_timeout: 60s
  write_retries: -1
tokens:
  validity: 10
  grace: 1h30
tenants:
  - name: Default
    backend: { type: nope }
    mapping: m.yaml
  - name: ok
    backend: { type: pharos }
    mapping: missing.yaml
  - name: ok
    backend: { type: "" }
  - backend: { type: pharos }
    mapping: .
`
	path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING"})
	_, err := load(path, testRegistry(), envOf(nil))
	errs := configErrors(t, err)
	type want struct {
		line int
		msg  string
	}
	wants := []want{
		{1, `listen: "localhost" is not host:port`},
		{2, "public_url: \"ftp://x\" must be an absolute http:// or https:// URL"},
		{3, `log.level: "loud" is not a level`},
		{3, `log.format: "xml" is not a format`},
		{5, "state: configure exactly one state store"},
		{5, "state.sqlite.path: is required"},
		{6, `state.redis.url: "http://:xxxxx@r:6379" must start with redis://, rediss:// or unix://`},
		{8, "limits.body_bytes: must be positive, got 0"},
		{9, "limits.request_timeout: 1m0s is too long"},
		{10, "limits.write_retries: must be 0 or more, got -1"},
		{12, `tokens.validity: "10" has no unit`},
		{13, `tokens.grace: "1h30" is not a duration`},
		{15, `tenants[0].name: "Default" is not a valid tenant name`},
		{16, `tenants[0].backend.type: unknown backend type "nope": want one of fail, ldap, pharos`},
		{20, "tenants[1].mapping: " + filepath.Join(filepath.Dir(path), "missing.yaml") + " does not exist"},
		{21, `tenants[2].name: "ok" is already the name of tenants[1]`},
		{22, "tenants[2].backend.type: is required"},
		{21, "tenants[2].mapping: is required"},
		{23, "tenants[3].name: is required"},
		{24, "tenants[3].mapping: " + filepath.Dir(path) + " is not a regular file"},
	}
	var got []want
	for _, e := range errs {
		got = append(got, want{e.Line, e.Msg})
	}
	require.Len(t, got, len(wants), "all errors:\n%v", err)
	for i, w := range wants {
		require.Equal(t, w.line, got[i].line, "error %d: %s", i, got[i].msg)
		require.True(t, strings.HasPrefix(got[i].msg, w.msg), "error %d:\n got %s\nwant %s...", i, got[i].msg, w.msg)
	}
	require.NotContains(t, err.Error(), "hunter2", "a password in a URL must not be echoed")
}

func TestLoadStateShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state string
		err   string // empty: valid
	}{
		{"sqlite", "sqlite: { path: s.db }", ""},
		{"redis url", "redis: { url: redis://127.0.0.1:6379/0 }", ""},
		{"redis unix socket", "redis: { url: unix:///run/redis.sock }", ""},
		{"redis sentinel", "redis: { addrs: [\"a:26379\", \"b:26379\"], master_name: m, db: 2, password: p }", ""},
		{"redis cluster", "redis:\n    addrs:\n      - a:6379\n      - b:6379", ""},
		{"none", "{}", "state: a state store is required"},
		{"null sqlite", "sqlite:", "state.sqlite.path: is required"},
		{"redis without url", "redis: { key_prefix: x }", "state.redis: url is required"},
		{"redis url and addrs", "redis: { url: redis://h, addrs: [\"h:1\"] }", "state.redis: set url (one server) or addrs"},
		{"redis bad addr", "redis: { addrs: [h] }", `state.redis.addrs[0]: "h" is not host:port`},
		{"redis unquoted flow addr", "redis: { addrs: [h:1] }", `cannot use a mapping here: want a string (quote a value that contains ':'`},
		{"redis cluster db", "redis: { addrs: [\"h:1\"], db: 1 }", "state.redis.db: must be 0 with a Cluster"},
		{"redis master without addrs", "redis: { url: redis://h, master_name: m }", "state.redis.master_name: needs addrs"},
		{"redis db beside url", "redis: { url: redis://h, db: 3 }", "state.redis.db: with url, give the database in the URL path"},
		{"redis bad db path", "redis: { url: redis://h/x }", "the path must be a database number"},
		{"redis two passwords", "redis: { url: 'redis://:a@h', password: b }", "state.redis.password: the url has a password too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := "state:\n  " + tt.state + "\n" + minimal[strings.Index(minimal, "tenants:"):]
			path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING"})
			cfg, err := load(path, testRegistry(), envOf(nil))
			if tt.err == "" {
				require.NoError(t, err)
				// With no tokens.file, the token goes beside the state
				// database (relative to the working directory) or the
				// configuration.
				want := filepath.Join(filepath.Dir(path), "tenant-token.txt")
				if cfg.State.SQLite != nil {
					want = filepath.Join(filepath.Dir(cfg.State.SQLite.Path), "tenant-token.txt")
				}
				require.Equal(t, want, cfg.Tokens.File)
				return
			}
			errs := configErrors(t, err)
			require.Len(t, errs, 1, "%v", err)
			require.Contains(t, errs[0].Msg, tt.err)
			require.Equal(t, 2, errs[0].Line, "%v", errs[0])
		})
	}
}

func TestLoadTenantErrors(t *testing.T) {
	t.Parallel()
	body := `state: { sqlite: { path: s.db } }
tenants:
  - name: good
    backend: { type: pharos }
    mapping: m.yaml
  - name: badmap
    backend: { type: pharos }
    mapping: broken.yaml
  - name: baddriver
    backend: { type: fail, config: { dsn: x.db } }
    mapping: m.yaml
`
	path := writeConfig(t, body, map[string]string{"m.yaml": "MAPPING", "broken.yaml": "bad: [\n"})
	_, err := load(path, testRegistry(), envOf(nil))
	errs := flatten(t, err)
	var mappingErrs, driverErrs int
	for _, e := range errs {
		msg := e.Error()
		switch {
		case strings.HasPrefix(msg, `config: tenant "badmap": `):
			mappingErrs++
		case strings.HasPrefix(msg, `config: tenant "baddriver": backend fail: fail: `):
			driverErrs++
		default:
			t.Errorf("unexpected error: %v", e)
		}
	}
	require.GreaterOrEqual(t, mappingErrs, 1, "%v", err)
	require.Equal(t, 2, driverErrs, "each joined driver error is reported with the tenant: %v", err)
	require.Contains(t, err.Error(), "fail: dsn x.db is wrong")
}

func TestLoadUsesEnvironment(t *testing.T) {
	t.Setenv("SCIMBRIDGE_TEST_LISTEN", "127.0.0.1:9999")
	body := "listen: ${SCIMBRIDGE_TEST_LISTEN}\n" + minimal
	cfg, err := Load(writeConfig(t, body, map[string]string{"m.yaml": "MAPPING"}), testRegistry())
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9999", cfg.Listen)
	require.Equal(t, "http://127.0.0.1:9999", cfg.PublicURL)
}

func TestExampleConfigs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "configs", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			// An empty environment: the shipped defaults must do.
			cfg, err := load(f, testRegistry(), envOf(nil))
			require.NoError(t, err)
			require.NotEmpty(t, cfg.Tenants)
			for _, tn := range cfg.Tenants {
				require.NotNil(t, tn.Mapping, "tenant %s", tn.Name)
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg, err := load(filepath.Join("..", "..", "configs", "bridge.yaml"), testRegistry(), envOf(nil))
	require.NoError(t, err)
	dir, err := filepath.Abs(filepath.Join("..", "..", "configs"))
	require.NoError(t, err)
	cwd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", cfg.Listen)
	require.Equal(t, "http://127.0.0.1:8080/scim/default/v2", cfg.TenantURL("default"))
	require.Equal(t, filepath.Join(cwd, "data", "state.db"), cfg.State.SQLite.Path)
	require.Equal(t, filepath.Join(cwd, "data", "tenant-token.txt"), cfg.Tokens.File)
	require.Equal(t, backends.Config{"driver": "sqlite", "dsn": "data/pharos.db", "init": true}, cfg.Tenants[0].Backend.Config)
	require.Equal(t, filepath.Join(dir, "mappings", "entra-to-pharos.yaml"), cfg.Tenants[0].MappingPath)
}

func TestLoadQueue(t *testing.T) {
	t.Parallel()
	body := "queue: { max_attempts: 5, max_age: 2d, base_delay: 1s, max_delay: 1m }\n" + minimal
	cfg, err := load(writeConfig(t, body, map[string]string{"m.yaml": "MAPPING"}), testRegistry(), envOf(nil))
	require.NoError(t, err)
	require.Equal(t, QueueConfig{MaxAttempts: 5, MaxAge: 48 * time.Hour, BaseDelay: time.Second, MaxDelay: time.Minute}, cfg.Queue)

	body = "queue: { max_attempts: 0, base_delay: 1h, max_delay: 1m }\n" + minimal
	_, err = load(writeConfig(t, body, map[string]string{"m.yaml": "MAPPING"}), testRegistry(), envOf(nil))
	require.ErrorContains(t, err, "queue.max_attempts: must be 1 or more")
	require.ErrorContains(t, err, "longer than queue.max_delay")
}

func TestLoadConsole(t *testing.T) {
	t.Parallel()
	files := map[string]string{"m.yaml": "MAPPING"}
	body := `console:
  enabled: false
  listen: 127.0.0.1:9090
  session_ttl: 1h
  oidc:
    issuer: https://login.example.org
    client_id: bridge
    client_secret: oidc-Secret-1
    allowed_groups: [ops]
` + minimal
	cfg, err := load(writeConfig(t, body, files), testRegistry(), envOf(nil))
	require.NoError(t, err)
	require.Equal(t, ConsoleConfig{Enabled: false, Listen: "127.0.0.1:9090", SessionTTL: time.Hour, OIDC: &OIDCConfig{
		Issuer: "https://login.example.org", ClientID: "bridge", ClientSecret: "oidc-Secret-1",
		RedirectURL: "http://127.0.0.1:8080/console/oidc/callback", AllowedGroups: []string{"ops"}, GroupsClaim: "groups",
		Scopes: []string{"openid", "profile", "email"},
	}}, cfg.Console)
	require.NotContains(t, cfg.String(), "oidc-Secret-1")

	body = "console: { listen: nowhere, session_ttl: 0s, oidc: { issuer: 'ftp://x', client_secret: s, scopes: [email] } }\n" + minimal
	_, err = load(writeConfig(t, body, files), testRegistry(), envOf(nil))
	require.ErrorContains(t, err, `console.listen: "nowhere" is not host:port`)
	require.ErrorContains(t, err, "console.session_ttl: must be positive")
	require.ErrorContains(t, err, `console.oidc.issuer: "ftp://x" is not an absolute http(s) URL`)
	require.ErrorContains(t, err, "console.oidc.client_id: is required")
	require.ErrorContains(t, err, "console.oidc: allowed_subjects or allowed_groups is required")
	require.ErrorContains(t, err, "console.oidc.scopes: must include openid")
}
