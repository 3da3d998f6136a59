package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/mapping"
)

// The file is decoded into these raw types, which mirror the YAML: pointers
// tell an absent key (default applies) from a zero one (validated), and
// durations stay strings until they can be parsed with a position.

type rawConfig struct {
	Listen    *string     `yaml:"listen"`
	PublicURL *string     `yaml:"public_url"`
	TLS       *rawTLS     `yaml:"tls"`
	Proxies   []string    `yaml:"trusted_proxies"`
	Log       *rawLog     `yaml:"log"`
	State     *rawState   `yaml:"state"`
	Limits    *rawLimits  `yaml:"limits"`
	Tokens    *rawTokens  `yaml:"tokens"`
	Queue     *rawQueue   `yaml:"queue"`
	Console   *rawConsole `yaml:"console"`
	Tenants   []rawTenant `yaml:"tenants"`
}

type rawTLS struct {
	CertFile     string  `yaml:"cert_file"`
	KeyFile      string  `yaml:"key_file"`
	ClientCAFile string  `yaml:"client_ca_file"`
	MinVersion   *string `yaml:"min_version"`
}

type rawQueue struct {
	MaxAttempts *int    `yaml:"max_attempts"`
	MaxAge      *string `yaml:"max_age"`
	BaseDelay   *string `yaml:"base_delay"`
	MaxDelay    *string `yaml:"max_delay"`
}

type rawLog struct {
	Level  *string `yaml:"level"`
	Format *string `yaml:"format"`
	Audit  *string `yaml:"audit"`
}

type rawState struct {
	SQLite *rawSQLite `yaml:"sqlite"`
	Redis  *rawRedis  `yaml:"redis"`
}

type rawSQLite struct {
	Path string `yaml:"path"`
}

type rawRedis struct {
	URL        string   `yaml:"url"`
	Addrs      []string `yaml:"addrs"`
	MasterName string   `yaml:"master_name"`
	Username   string   `yaml:"username"`
	Password   string   `yaml:"password"`
	DB         int      `yaml:"db"`
	KeyPrefix  *string  `yaml:"key_prefix"`
	AcceptRisk bool     `yaml:"accept_risk"`

	SentinelUsername string       `yaml:"sentinel_username"`
	SentinelPassword string       `yaml:"sentinel_password"`
	TLS              *rawRedisTLS `yaml:"tls"`
	Timeout          *string      `yaml:"timeout"`
	DialTimeout      *string      `yaml:"dial_timeout"`
	PoolSize         int          `yaml:"pool_size"`
}

type rawRedisTLS struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

type rawLimits struct {
	BodyBytes         *int64  `yaml:"body_bytes"`
	RequestTimeout    *string `yaml:"request_timeout"`
	WriteRetries      *int    `yaml:"write_retries"`
	IdempotencyWindow *string `yaml:"idempotency_window"`

	TenantRate        *float64 `yaml:"tenant_rate"`
	TenantBurst       *int     `yaml:"tenant_burst"`
	ClientRate        *float64 `yaml:"client_rate"`
	ClientBurst       *int     `yaml:"client_burst"`
	TenantConcurrency *int     `yaml:"tenant_concurrency"`
}

type rawTokens struct {
	Validity *string `yaml:"validity"`
	Grace    *string `yaml:"grace"`
	File     string  `yaml:"file"`
}

type rawTenant struct {
	Name    string     `yaml:"name"`
	Backend rawBackend `yaml:"backend"`
	Mapping string     `yaml:"mapping"`
	Auth    *rawAuth   `yaml:"auth"`
}

type rawBackend struct {
	Type   string          `yaml:"type"`
	Config backends.Config `yaml:"config"`
}

// TenantNamePattern is what a tenant name must match: it becomes a URL
// path segment and a key prefix in the state store.
const TenantNamePattern = `^[a-z0-9][a-z0-9-]{0,62}$`

var tenantName = regexp.MustCompile(TenantNamePattern)

// Load reads, expands, decodes and validates the configuration file at
// path, then loads every tenant's mapping and has the tenant's backend
// driver in reg validate its configuration against the mapping's schema.
// It does no network I/O. Every problem found is returned at once, joined
// with errors.Join; each is an *Error with its line and column when it has
// one, or wraps the mapping's or driver's error prefixed with the tenant.
func Load(path string, reg backends.Registry) (*Config, error) {
	return load(path, reg, os.LookupEnv)
}

type loader struct {
	src  *source
	exp  *expansion
	file *ast.File
	dir  string
	reg  backends.Registry
	red  *redactor
	errs []error
}

func load(path string, reg backends.Registry, lookup func(string) (string, bool)) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	l := &loader{src: newSource(path, b), dir: filepath.Dir(abs), reg: reg}
	l.exp, err = expand(l.src, l.dir, lookup)
	if err != nil {
		return nil, err
	}
	l.red = newRedactor(l.exp.secrets)
	l.file, err = parser.ParseBytes(l.exp.out, 0)
	if err != nil {
		return nil, errors.Join(l.tokenError(err))
	}
	var body ast.Node
	for _, d := range l.file.Docs {
		if d.Body == nil {
			continue
		}
		if body != nil {
			return nil, errors.Join(l.errorAtToken(nodeToken(d.Body), "only one YAML document is allowed", nil))
		}
		body = d.Body
	}
	if body == nil {
		return nil, errors.Join(&Error{File: path, Msg: "the file is empty: state and tenants are required"})
	}
	var raw rawConfig
	if err := yaml.NodeToValue(body, &raw, yaml.Strict()); err != nil {
		return nil, errors.Join(l.tokenError(err))
	}
	cfg := l.build(&raw, abs)
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return cfg, nil
}

func (l *loader) scrub(s string) string { return l.red.scrub(s) }

// errorf records a problem with the key at path ("tenants[1].name"; ""
// for the whole file), positioned at that key's value, or at the closest
// enclosing node present in the file when the key is absent.
func (l *loader) errorf(path, format string, args ...any) {
	msg := l.scrub(fmt.Sprintf(format, args...))
	if path != "" {
		msg = path + ": " + msg
	}
	l.errs = append(l.errs, l.errorAtPath(path, msg, nil))
}

func (l *loader) errorAtPath(path, msg string, cause error) *Error {
	for p := path; ; p = parentPath(p) {
		if tk := l.token(p); tk != nil {
			return l.errorAtToken(tk, msg, cause)
		}
		if p == "" {
			return &Error{File: l.src.name, Msg: msg, Err: cause}
		}
	}
}

// token returns the first token of the value at path, nil if absent.
func (l *loader) token(path string) *token.Token {
	p := "$"
	if path != "" {
		p += "." + path
	}
	yp, err := yaml.PathString(p)
	if err != nil {
		return nil
	}
	n, err := yp.FilterFile(l.file)
	if err != nil || n == nil || n.Type() == ast.NullType {
		return nil
	}
	return nodeToken(n)
}

// nodeToken is where a node starts as a reader sees it: a block mapping's
// own token is its first ':', so use its first key instead.
func nodeToken(n ast.Node) *token.Token {
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 {
		return m.Values[0].Key.GetToken()
	}
	if mv, ok := n.(*ast.MappingValueNode); ok {
		return mv.Key.GetToken()
	}
	return n.GetToken()
}

// present reports whether the key at path is written in the file, even
// with an empty value.
func (l *loader) present(path string) bool {
	yp, err := yaml.PathString("$." + path)
	if err != nil {
		return false
	}
	n, err := yp.FilterFile(l.file)
	return err == nil && n != nil
}

// parentPath drops the last element of a path: "a.b[2]" -> "a.b" -> "a".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// build applies defaults to raw and validates it key by key, recording
// every problem; the result is only used when there was none.
func (l *loader) build(raw *rawConfig, abs string) *Config {
	c := &Config{File: abs, redact: l.red}

	c.Listen = deref(raw.Listen, DefaultListen)
	listenOK := l.checkHostPort("listen", c.Listen)
	c.TLS = l.tls(raw.TLS)
	switch {
	case raw.PublicURL != nil:
		c.PublicURL = l.publicURL(*raw.PublicURL)
	case listenOK:
		host, port, _ := net.SplitHostPort(c.Listen)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		scheme := "http://"
		if c.TLS != nil {
			scheme = "https://"
		}
		c.PublicURL = scheme + net.JoinHostPort(host, port)
	}
	c.TrustedProxies = l.trustedProxies(raw.Proxies)

	var lg rawLog
	if raw.Log != nil {
		lg = *raw.Log
	}
	c.Log.Level = strings.ToLower(deref(lg.Level, DefaultLogLevel))
	if !slices.Contains([]string{"trace", "debug", "info", "warn", "error"}, c.Log.Level) {
		l.errorf("log.level", "%q is not a level: want trace, debug, info, warn or error", c.Log.Level)
	}
	c.Log.Format = strings.ToLower(deref(lg.Format, DefaultLogFormat))
	if !slices.Contains([]string{"auto", "json", "text"}, c.Log.Format) {
		l.errorf("log.format", "%q is not a format: want auto, json or text", c.Log.Format)
	}
	c.Log.Audit = strings.TrimSpace(deref(lg.Audit, ""))

	c.State = l.state(raw.State)

	var lim rawLimits
	if raw.Limits != nil {
		lim = *raw.Limits
	}
	c.Limits.BodyBytes = deref(lim.BodyBytes, DefaultBodyBytes)
	if c.Limits.BodyBytes <= 0 {
		l.errorf("limits.body_bytes", "must be positive, got %d", c.Limits.BodyBytes)
	}
	c.Limits.RequestTimeout = l.duration("limits.request_timeout", lim.RequestTimeout, DefaultRequestTimeout)
	if c.Limits.RequestTimeout >= MaxRequestTimeout {
		l.errorf("limits.request_timeout", "%s is too long: Entra gives up after 60s, so it must be shorter", c.Limits.RequestTimeout)
	}
	var q rawQueue
	if raw.Queue != nil {
		q = *raw.Queue
	}
	c.Queue.MaxAttempts = deref(q.MaxAttempts, DefaultQueueMaxAttempts)
	if c.Queue.MaxAttempts < 1 {
		l.errorf("queue.max_attempts", "must be 1 or more, got %d", c.Queue.MaxAttempts)
	}
	c.Queue.MaxAge = l.duration("queue.max_age", q.MaxAge, DefaultQueueMaxAge)
	c.Queue.BaseDelay = l.duration("queue.base_delay", q.BaseDelay, DefaultQueueBaseDelay)
	c.Queue.MaxDelay = l.duration("queue.max_delay", q.MaxDelay, DefaultQueueMaxDelay)
	c.Console = l.console(raw.Console, c.PublicURL)
	if c.Queue.BaseDelay > 0 && c.Queue.MaxDelay > 0 && c.Queue.BaseDelay > c.Queue.MaxDelay {
		l.errorf("queue.base_delay", "%s is longer than queue.max_delay (%s)", c.Queue.BaseDelay, c.Queue.MaxDelay)
	}
	c.Limits.IdempotencyWindow = l.duration("limits.idempotency_window", lim.IdempotencyWindow, DefaultIdempotencyWindow)
	c.Limits.WriteRetries = deref(lim.WriteRetries, DefaultWriteRetries)
	if c.Limits.WriteRetries < 0 {
		l.errorf("limits.write_retries", "must be 0 or more, got %d", c.Limits.WriteRetries)
	}
	c.Limits.TenantRate, c.Limits.TenantBurst = l.rate("limits.tenant", lim.TenantRate, lim.TenantBurst)
	c.Limits.ClientRate, c.Limits.ClientBurst = l.rate("limits.client", lim.ClientRate, lim.ClientBurst)
	c.Limits.TenantConcurrency = deref(lim.TenantConcurrency, DefaultTenantConcurrency)
	if c.Limits.TenantConcurrency < 0 {
		l.errorf("limits.tenant_concurrency", "must be 0 (no cap) or more, got %d", c.Limits.TenantConcurrency)
	}

	var tok rawTokens
	if raw.Tokens != nil {
		tok = *raw.Tokens
	}
	c.Tokens.Validity = l.duration("tokens.validity", tok.Validity, DefaultTokenValidity)
	c.Tokens.Grace = DefaultTokenGrace
	if tok.Grace != nil {
		// Zero is allowed: it revokes a regenerated token at once.
		c.Tokens.Grace = l.parseDuration("tokens.grace", *tok.Grace, true)
	}
	if c.Tokens.Validity > 0 && c.Tokens.Grace >= c.Tokens.Validity {
		l.errorf("tokens.grace", "%s must be shorter than tokens.validity (%s)", c.Tokens.Grace, c.Tokens.Validity)
	}
	c.Tokens.File = resolveData(tok.File)
	if c.Tokens.File == "" {
		// serve must write a new token somewhere: only its hash is kept.
		c.Tokens.File = filepath.Join(l.dir, defaultTokenFile)
		if c.State.SQLite != nil && c.State.SQLite.Path != "" {
			c.Tokens.File = filepath.Join(filepath.Dir(c.State.SQLite.Path), defaultTokenFile)
		}
	}

	c.Tenants = l.tenants(raw.Tenants)
	return c
}

// tls checks the listener's TLS block: both files present, the versions
// Entra can speak.
func (l *loader) tls(raw *rawTLS) *TLSConfig {
	if raw == nil {
		if l.present("tls") {
			l.errorf("tls", "cert_file and key_file are required (or remove tls: to serve plain HTTP)")
		}
		return nil
	}
	c := &TLSConfig{CertFile: l.resolve(raw.CertFile), KeyFile: l.resolve(raw.KeyFile), ClientCAFile: l.resolve(raw.ClientCAFile), MinVersion: tls.VersionTLS12}
	for _, f := range []struct{ key, written, path string }{
		{"tls.cert_file", raw.CertFile, c.CertFile}, {"tls.key_file", raw.KeyFile, c.KeyFile}, {"tls.client_ca_file", raw.ClientCAFile, c.ClientCAFile},
	} {
		switch {
		case f.written == "" && f.key != "tls.client_ca_file":
			l.errorf(f.key, "is required: a PEM file")
		case f.written != "":
			l.checkFile(f.key, f.path)
		}
	}
	switch v := deref(raw.MinVersion, "1.2"); v {
	case "1.2":
	case "1.3":
		c.MinVersion = tls.VersionTLS13
	default:
		l.errorf("tls.min_version", "%q: want \"1.2\" or \"1.3\" (Entra speaks TLS 1.2 and 1.3)", v)
	}
	return c
}

// trustedProxies checks each entry is an IP address or a CIDR range.
func (l *loader) trustedProxies(raw []string) []string {
	var out []string
	for i, p := range raw {
		p = strings.TrimSpace(p)
		if _, err := netip.ParsePrefix(p); err == nil {
			out = append(out, p)
			continue
		}
		if _, err := netip.ParseAddr(p); err == nil {
			out = append(out, p)
			continue
		}
		l.errorf(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)", p)
	}
	return out
}

// rate checks a request rate (per second, 0 for none) and its burst
// (default: twice the rate, at least 1).
func (l *loader) rate(prefix string, r *float64, burst *int) (float64, int) {
	perSecond := deref(r, 0)
	if perSecond < 0 {
		l.errorf(prefix+"_rate", "must be 0 (no limit) or more requests a second, got %v", perSecond)
		return 0, 0
	}
	if burst == nil {
		if perSecond == 0 {
			return 0, 0
		}
		return perSecond, max(1, int(2*perSecond+0.5))
	}
	if *burst < 1 {
		l.errorf(prefix+"_burst", "must be 1 or more, got %d", *burst)
	} else if perSecond == 0 {
		l.errorf(prefix+"_burst", "needs %s_rate", prefix)
	}
	return perSecond, *burst
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// resolve makes a relative path relative to the configuration's directory.
func (l *loader) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}

// resolveData makes a relative data-file path (state database, token file)
// absolute against the working directory: data files go where the bridge is
// run, like the backends' own files (the Pharos SQLite dsn), so that one
// SCIMBRIDGE_DATA_DIR keeps them together.
func resolveData(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func (l *loader) checkHostPort(path, hp string) bool {
	if hp == "" {
		l.errorf(path, "must not be empty: want host:port, e.g. 127.0.0.1:8080")
		return false
	}
	_, port, err := net.SplitHostPort(hp)
	if err != nil {
		l.errorf(path, "%q is not host:port (e.g. 127.0.0.1:8080, :8080, [::1]:8080)", hp)
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		l.errorf(path, "%q has no valid port: want a number from 0 to 65535", hp)
		return false
	}
	return true
}

// publicURL checks and normalises public_url: an absolute http(s) URL with
// no query, fragment or credentials, and no trailing slash (the Tenant URL
// is built by appending /scim/<tenant>/v2).
func (l *loader) publicURL(s string) string {
	const path = "public_url"
	u, err := url.Parse(s)
	switch {
	case err != nil:
		l.errorf(path, "%q is not a URL: %v", s, unwrapURLError(err))
		return ""
	case !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https"):
		l.errorf(path, "%q must be an absolute http:// or https:// URL, e.g. https://scim.example.org", s)
		return ""
	case u.Host == "" || u.Hostname() == "":
		l.errorf(path, "%q has no host", s)
		return ""
	case u.User != nil:
		l.errorf(path, "must not contain credentials")
		return ""
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		l.errorf(path, "%q must not have a query or fragment", s)
		return ""
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String()
}

// unwrapURLError drops url.Error's copy of the URL, which could hold a
// password.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (l *loader) duration(path string, s *string, def time.Duration) time.Duration {
	if s == nil {
		return def
	}
	return l.parseDuration(path, *s, false)
}

// parseDuration parses a Go duration ("25s", "1h30m") or a number of days
// ("365d"), which Go's syntax lacks and token lifetimes want.
func (l *loader) parseDuration(path, s string, zeroOK bool) time.Duration {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		if n, nerr := strconv.ParseInt(strings.TrimSuffix(s, "d"), 10, 32); nerr == nil && strings.HasSuffix(s, "d") {
			d, err = time.Duration(n)*24*time.Hour, nil
		}
	}
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			l.errorf(path, "%q has no unit: write e.g. %ss, %sm or %sh", s, s, s, s)
		} else {
			l.errorf(path, "%q is not a duration: write e.g. 25s, 1h30m or 365d", s)
		}
		return 0
	}
	if d < 0 || (d == 0 && !zeroOK) {
		l.errorf(path, "must be positive, got %s", s)
		return 0
	}
	return d
}

func (l *loader) state(raw *rawState) StateConfig {
	var st StateConfig
	var r rawState
	if raw != nil {
		r = *raw
	}
	hasSQLite := r.SQLite != nil || l.present("state.sqlite")
	hasRedis := r.Redis != nil || l.present("state.redis")
	switch {
	case hasSQLite && hasRedis:
		l.errorf("state", "configure exactly one state store, sqlite or redis, not both")
	case !hasSQLite && !hasRedis:
		l.errorf("state", "a state store is required: sqlite: {path: ...} or redis: {url: ...}")
	}
	if hasSQLite {
		var s rawSQLite
		if r.SQLite != nil {
			s = *r.SQLite
		}
		if s.Path == "" {
			l.errorf("state.sqlite.path", "is required: the database file, e.g. data/state.db")
		}
		st.SQLite = &SQLiteConfig{Path: resolveData(s.Path)}
	}
	if hasRedis {
		var rr rawRedis
		if r.Redis != nil {
			rr = *r.Redis
		}
		st.Redis = l.redis(rr)
	}
	return st
}

func (l *loader) redis(r rawRedis) *RedisConfig {
	const path = "state.redis"
	c := &RedisConfig{
		URL: r.URL, Addrs: r.Addrs, MasterName: r.MasterName,
		Username: r.Username, Password: Secret(r.Password), DB: r.DB,
		KeyPrefix: deref(r.KeyPrefix, DefaultRedisKeyPrefix), AcceptRisk: r.AcceptRisk,
		SentinelUsername: r.SentinelUsername, SentinelPassword: Secret(r.SentinelPassword),
		Timeout:     l.duration(path+".timeout", r.Timeout, 0),
		DialTimeout: l.duration(path+".dial_timeout", r.DialTimeout, 0),
		PoolSize:    r.PoolSize,
	}
	if r.PoolSize < 0 {
		l.errorf(path+".pool_size", "must be 1 or more (0: the default), got %d", r.PoolSize)
	}
	if (r.SentinelUsername != "" || r.SentinelPassword != "") && r.MasterName == "" {
		l.errorf(path+".sentinel_password", "needs master_name: the Sentinel's password is for Sentinel only")
	}
	if r.TLS != nil || l.present(path+".tls") {
		c.TLS = l.redisTLS(r)
	}
	switch {
	case r.URL != "" && len(r.Addrs) > 0:
		l.errorf(path, "set url (one server) or addrs (Sentinel or Cluster), not both")
	case r.URL == "" && len(r.Addrs) == 0:
		l.errorf(path, "url is required, e.g. redis://127.0.0.1:6379/0 (or addrs for Sentinel or Cluster)")
	case r.URL != "":
		l.redisURL(c)
	default:
		for i, a := range r.Addrs {
			l.checkHostPort(fmt.Sprintf("%s.addrs[%d]", path, i), a)
		}
		if r.MasterName == "" && r.DB != 0 {
			l.errorf(path+".db", "must be 0 with a Cluster (addrs without master_name)")
		}
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		l.errorf(path+".master_name", "needs addrs: the Sentinel nodes")
	}
	if r.URL != "" && r.DB != 0 {
		l.errorf(path+".db", "with url, give the database in the URL path (redis://host:6379/%d)", r.DB)
	}
	if r.DB < 0 {
		l.errorf(path+".db", "must be 0 or more")
	}
	return c
}

// redisTLS checks state.redis.tls: files that exist, a key with a client
// certificate, and a URL that asks for TLS.
func (l *loader) redisTLS(r rawRedis) *RedisTLS {
	const path = "state.redis.tls"
	var raw rawRedisTLS
	if r.TLS != nil {
		raw = *r.TLS
	}
	t := &RedisTLS{CAFile: l.resolve(raw.CAFile), CertFile: l.resolve(raw.CertFile), KeyFile: l.resolve(raw.KeyFile), ServerName: raw.ServerName}
	for _, f := range []struct{ key, written, path string }{
		{"ca_file", raw.CAFile, t.CAFile}, {"cert_file", raw.CertFile, t.CertFile}, {"key_file", raw.KeyFile, t.KeyFile},
	} {
		if f.written != "" {
			l.checkFile(path+"."+f.key, f.path)
		}
	}
	if (raw.CertFile == "") != (raw.KeyFile == "") {
		l.errorf(path, "cert_file and key_file go together: a client certificate and its key")
	}
	if r.URL != "" && !strings.HasPrefix(r.URL, "rediss://") {
		l.errorf(path, "needs a rediss:// url (TLS); the url says %s", strings.SplitN(r.URL, ":", 2)[0])
	}
	return t
}

func (l *loader) redisURL(c *RedisConfig) {
	const path = "state.redis.url"
	u, err := url.Parse(c.URL)
	if err != nil {
		l.errorf(path, "not a URL: %v", unwrapURLError(err))
		return
	}
	shown := c.Redacted()
	switch u.Scheme {
	case "redis", "rediss":
		if u.Hostname() == "" {
			l.errorf(path, "%q has no host", shown)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				l.errorf(path, "%q has no valid port", shown)
			}
		}
		if db := strings.Trim(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				l.errorf(path, "%q: the path must be a database number, e.g. /0", shown)
			}
		}
	case "unix":
		if u.Path == "" {
			l.errorf(path, "%q has no socket path", shown)
		}
	default:
		l.errorf(path, "%q must start with redis://, rediss:// or unix://", shown)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok && c.Password != "" {
			l.errorf("state.redis.password", "the url has a password too: give it once")
		}
	}
}

// tenants validates each tenant, then loads its mapping and has its driver
// validate the backend configuration against the mapping's schema, for
// every tenant whose mapping file is there (even when other keys are
// wrong, so that one run reports everything).
func (l *loader) tenants(raw []rawTenant) []Tenant {
	if len(raw) == 0 {
		l.errorf("tenants", "at least one tenant is required")
		return nil
	}
	seen := map[string]int{}
	out := make([]Tenant, len(raw))
	for i, rt := range raw {
		p := fmt.Sprintf("tenants[%d]", i)
		t := Tenant{
			Name:        rt.Name,
			Backend:     BackendConfig{Type: rt.Backend.Type, Config: rt.Backend.Config, redact: l.red},
			MappingPath: l.resolve(rt.Mapping),
			Auth:        l.auth(p+".auth", rt.Auth),
		}
		if t.Backend.Config == nil {
			t.Backend.Config = backends.Config{}
		}
		switch first, dup := seen[t.Name]; {
		case t.Name == "":
			l.errorf(p+".name", "is required")
		case !tenantName.MatchString(t.Name):
			l.errorf(p+".name", "%q is not a valid tenant name: lower-case letters, digits and '-', starting with a letter or digit, at most 63 characters", t.Name)
		case dup:
			l.errorf(p+".name", "%q is already the name of tenants[%d]", t.Name, first)
		default:
			seen[t.Name] = i
		}
		driver := l.driver(p+".backend.type", t.Backend.Type)
		mappingOK := l.checkMappingFile(p+".mapping", rt.Mapping, t.MappingPath)

		if mappingOK {
			m, err := mapping.Load(t.MappingPath)
			if err != nil {
				l.tenantErrors(t.Name, i, "", err)
			} else {
				t.Mapping = m
				if driver != nil {
					if err := driver.Validate(t.Backend.Config, m.Schema()); err != nil {
						l.tenantErrors(t.Name, i, "backend "+t.Backend.Type+": ", err)
					}
				}
			}
		}
		out[i] = t
	}
	return out
}

func (l *loader) driver(path, typ string) backends.Driver {
	if typ == "" {
		l.errorf(path, "is required: one of %s", l.knownTypes())
		return nil
	}
	d, ok := l.reg[typ]
	if !ok || d == nil {
		l.errorf(path, "unknown backend type %q: want one of %s", typ, l.knownTypes())
		return nil
	}
	return d
}

func (l *loader) knownTypes() string {
	var names []string
	for n, d := range l.reg {
		if d != nil {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "(none registered)"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func (l *loader) checkMappingFile(path, written, resolved string) bool {
	if written == "" {
		l.errorf(path, "is required: the mapping file, e.g. mappings/entra-to-pharos.yaml")
		return false
	}
	return l.checkFile(path, resolved)
}

// checkFile records a problem unless resolved is a regular file.
func (l *loader) checkFile(path, resolved string) bool {
	fi, err := os.Stat(resolved)
	switch {
	case errors.Is(err, os.ErrNotExist):
		l.errorf(path, "%s does not exist", resolved)
		return false
	case err != nil:
		l.errorf(path, "%v", err)
		return false
	case !fi.Mode().IsRegular():
		l.errorf(path, "%s is not a regular file", resolved)
		return false
	}
	return true
}

// tenantErrors records the errors of a tenant's mapping or driver, one by
// one when they were joined, each prefixed with the tenant. The mapping's
// errors carry their own positions in the mapping file.
func (l *loader) tenantErrors(name string, i int, what string, err error) {
	label := fmt.Sprintf("tenant %q", name)
	if name == "" {
		label = fmt.Sprintf("tenants[%d]", i)
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		l.errs = append(l.errs, &tenantError{prefix: "config: " + label + ": " + what, err: e, redact: l.red})
	}
}

// tenantError prefixes a mapping or driver error with its tenant.
type tenantError struct {
	prefix string
	err    error
	redact *redactor
}

func (e *tenantError) Error() string { return e.redact.scrub(e.prefix + e.err.Error()) }
func (e *tenantError) Unwrap() error { return e.err }
