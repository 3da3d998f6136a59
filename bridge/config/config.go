package config

import (
	"net/url"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/mapping"
)

// Defaults of the optional keys.
const (
	DefaultListen         = "127.0.0.1:8080"
	DefaultLogLevel       = "info"
	DefaultLogFormat      = "auto"
	DefaultBodyBytes      = 1 << 20
	DefaultRequestTimeout = 25 * time.Second
	DefaultWriteRetries   = 3

	DefaultTenantConcurrency = 32

	DefaultIdempotencyWindow = time.Hour
	DefaultTokenValidity     = 365 * 24 * time.Hour
	DefaultTokenGrace        = 24 * time.Hour
	DefaultRedisKeyPrefix    = "scimbridge:"

	DefaultQueueMaxAttempts = 20
	DefaultQueueMaxAge      = 7 * 24 * time.Hour
	DefaultQueueBaseDelay   = 2 * time.Second
	DefaultQueueMaxDelay    = 10 * time.Minute

	defaultTokenFile = "tenant-token.txt"

	// MaxRequestTimeout is Entra's own limit: an answer later than this is a
	// failed request to Entra, whatever it says.
	MaxRequestTimeout = 60 * time.Second
)

// Config is a loaded and validated bridge.yaml. Every path in it is
// absolute. Print it freely: String redacts every secret.
type Config struct {
	// File is the absolute path the configuration was loaded from.
	File string
	// Listen is the host:port the SCIM server listens on.
	// Defaults to 127.0.0.1:8080.
	Listen string
	// PublicURL is the base of every Tenant URL, as Entra reaches the
	// bridge (through any proxy), with no trailing slash, e.g.
	// https://scim.example.org. Defaults to http://<listen>, with an
	// unspecified listen host replaced by 127.0.0.1.
	PublicURL string
	// TLS, when set, makes the listener speak HTTPS (HTTP/2 and HTTP/1.1)
	// with certificate files that are reloaded when they change.
	TLS *TLSConfig
	// TrustedProxies lists the reverse proxies (IP addresses and CIDR
	// ranges) whose X-Forwarded-For names the client in the access log;
	// from anyone else the header is ignored. Empty: trust none.
	TrustedProxies []string
	Log            LogConfig
	State          StateConfig
	Limits         LimitsConfig
	Tokens         TokensConfig
	Queue          QueueConfig
	Console        ConsoleConfig
	// Tenants holds at least one tenant, in file order, names unique.
	Tenants []Tenant

	redact *redactor
}

// TLSConfig configures HTTPS on the listener. Paths are absolute.
type TLSConfig struct {
	// CertFile is the certificate chain (PEM, leaf first), KeyFile its key.
	CertFile, KeyFile string
	// ClientCAFile, when set, requires every client to present a
	// certificate signed by one of its CAs (a proxy's, for mutual TLS).
	ClientCAFile string
	// MinVersion is tls.VersionTLS12 (the default, what Entra needs) or
	// tls.VersionTLS13.
	MinVersion uint16
}

// ServedOverTLS reports whether clients reach the bridge over HTTPS: the
// listener speaks TLS itself, or public_url is https (a TLS-terminating
// proxy in front). Cookies and redirects that must not leak over plain
// HTTP decide on it.
func (c *Config) ServedOverTLS() bool {
	return c.TLS != nil || strings.HasPrefix(c.PublicURL, "https://")
}

// LogConfig says how the bridge logs.
type LogConfig struct {
	// Level is trace, debug, info, warn or error. Defaults to info.
	Level string
	// Format is auto (JSON when stderr is not a terminal, text when it
	// is), json or text. Defaults to auto.
	Format string
	// Audit is where the audit records (one per applied change) go:
	// "" (the default) with the other logs, "stderr", "stdout", or a file
	// (appended, mode 0600, reopened on SIGHUP for log rotation). Anything
	// but "" gets JSON lines whatever Format says.
	Audit string
}

// StateConfig holds exactly one state store.
type StateConfig struct {
	// SQLite is the embedded single-node store.
	SQLite *SQLiteConfig
	// Redis is the shared store for several replicas.
	Redis *RedisConfig
}

// SQLiteConfig configures the embedded state store.
type SQLiteConfig struct {
	// Path of the database file, created on first start.
	Path string
}

// RedisConfig configures the Redis state store: either URL (one server) or
// Addrs (Sentinel when MasterName is set, Cluster otherwise). Its String
// method redacts the password; use Redacted to show the URL.
type RedisConfig struct {
	// URL of a single server: redis://[user[:password]@]host[:port][/db],
	// rediss:// for TLS, or unix:///path/to/socket.
	URL string
	// Addrs lists Sentinel or Cluster nodes as host:port.
	Addrs []string
	// MasterName is the Sentinel master; only with Addrs.
	MasterName string
	// Username and Password authenticate with Addrs, or with URL when it
	// carries no password itself.
	Username string
	Password Secret
	// SentinelUsername and SentinelPassword authenticate to the
	// Sentinels (their requirepass or ACL); only with MasterName.
	SentinelUsername string
	SentinelPassword Secret
	// DB is the database number with Sentinel (Cluster has only 0).
	DB int
	// TLS, when set, verifies the server with its CA and presents a client
	// certificate; it needs rediss:// with URL, and turns TLS on with
	// Addrs.
	TLS *RedisTLS
	// Timeout bounds each command's read and write and the wait for a
	// pooled connection, DialTimeout a new connection (dial, TLS, AUTH).
	// Zero: the store's default (2s).
	Timeout, DialTimeout time.Duration
	// PoolSize is the connections kept per Redis node; zero: go-redis's
	// default (10 per CPU).
	PoolSize int
	// KeyPrefix starts every key the bridge writes, so that one Redis can
	// serve several bridges. Defaults to "scimbridge:".
	KeyPrefix string
	// AcceptRisk starts the bridge on a Redis that may evict keys or lose
	// them on restart (maxmemory-policy other than noeviction, or no
	// persistence); without it the bridge refuses, saying why.
	AcceptRisk bool
}

// RedisTLS is TLS to Redis. Paths are absolute.
type RedisTLS struct {
	// CAFile holds the CAs (PEM) that sign the servers' certificates;
	// empty: the system's roots.
	CAFile string
	// CertFile and KeyFile are a client certificate, for a Redis with
	// tls-auth-clients yes.
	CertFile, KeyFile string
	// ServerName is the name the servers' certificates must carry, when it
	// is not the address dialled (Cluster nodes announce IP addresses).
	ServerName string
}

// QueueConfig tunes the retry queue's worker.
type QueueConfig struct {
	// MaxAttempts dead-letters a queued write after this many attempts.
	// Defaults to 20.
	MaxAttempts int
	// MaxAge dead-letters a queued write this long after it was queued.
	// Defaults to 168h (7 days).
	MaxAge time.Duration
	// BaseDelay is the delay after the first failed attempt; it doubles,
	// with jitter, up to MaxDelay. Defaults 2s and 10m.
	BaseDelay, MaxDelay time.Duration
}

// LimitsConfig bounds each request.
type LimitsConfig struct {
	// BodyBytes is the largest request body accepted; larger ones get 413.
	// Defaults to 1048576 (1 MiB).
	BodyBytes int64
	// RequestTimeout bounds the work on one request, inline retries
	// included. Must be under 60s, Entra's limit. Defaults to 25s.
	RequestTimeout time.Duration
	// WriteRetries is how many times a write is retried inline on a
	// transient target error before it is queued. Defaults to 3.
	WriteRetries int
	// IdempotencyWindow is how long a write's answer is kept for a replay
	// of the same request (while the resource is unchanged since).
	// Defaults to 1h.
	IdempotencyWindow time.Duration
	// TenantRate is the SCIM requests a second one tenant may send on
	// average, TenantBurst at once; over it, 429 with Retry-After. 0 (the
	// default) is no limit. The burst defaults to twice the rate.
	TenantRate  float64
	TenantBurst int
	// ClientRate and ClientBurst are the same per caller of a tenant
	// (today: per Secret Token). 0 (the default) is no limit.
	ClientRate  float64
	ClientBurst int
	// TenantConcurrency caps one tenant's SCIM requests in flight, so that
	// one tenant's initial cycle cannot starve another's requests; a
	// request over it waits up to 2 s, then gets 429. 0 is no cap.
	// Defaults to 32.
	TenantConcurrency int
}

// TokensConfig governs the Secret Tokens Entra authenticates with.
type TokensConfig struct {
	// Validity is how long a new token is accepted. Defaults to 8760h.
	Validity time.Duration
	// Grace is how long a regenerated token's predecessor keeps working.
	// 0 revokes it at once. Defaults to 24h.
	Grace time.Duration
	// File is where serve writes the Tenant URL and the first token (mode
	// 0600) when a tenant has no token yet. Defaults to tenant-token.txt
	// beside the SQLite state database, or, with Redis, in the directory of
	// the configuration file.
	File string
}

// Tenant is one Entra provisioning job: a SCIM endpoint, its target and
// its mapping.
type Tenant struct {
	// Name is the tenant's part of its URL, /scim/<name>/v2.
	Name    string
	Backend BackendConfig
	// MappingPath is the absolute path of the mapping file.
	MappingPath string
	// Mapping is the compiled mapping, loaded from MappingPath.
	Mapping *mapping.Mapping
	// Auth says how the tenant's callers authenticate (auth.go).
	Auth AuthConfig
}

// BackendConfig names a backend driver and holds its own configuration,
// which the driver decodes and validates. Its String method redacts
// anything that looks like a credential.
type BackendConfig struct {
	// Type is the driver's name in the registry ("pharos", "ldap").
	Type string
	// Config is the "config" block as decoded from YAML, never nil.
	Config backends.Config

	redact *redactor
}

// Tenant returns the tenant called name.
func (c *Config) Tenant(name string) (*Tenant, bool) {
	for i := range c.Tenants {
		if c.Tenants[i].Name == name {
			return &c.Tenants[i], true
		}
	}
	return nil, false
}

// TenantURL is the Tenant URL an operator pastes into Entra for tenant
// name: <public_url>/scim/<name>/v2.
func (c *Config) TenantURL(name string) string {
	return c.PublicURL + "/scim/" + url.PathEscape(name) + "/v2"
}
