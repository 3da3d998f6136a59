// Package redisstate owns the Redis state store: token hashes, idempotency
// records, resource versions, per-resource locks and the retry queue, kept
// in Redis (github.com/redis/go-redis/v9) so that several bridge replicas
// share them. One code path serves a single node, Sentinel (MasterName) and
// Cluster (several Addrs, or Cluster).
//
// # Keys
//
// Every key starts with the KeyPrefix (default "scimbridge:"). Keys that
// scripts or several commands use together carry the tenant as a Cluster
// hash tag, {tenant}, so that one tenant's keys live in one slot and every
// Lua script touches one slot only. Keys only ever used by one single-key
// command carry no tag and spread over the cluster. Variable parts that are
// not the last part of a key are escaped (letters, digits and '-' are kept,
// every other byte becomes _XX), so that no name can forge a tag or a
// separator.
//
//	key (P = prefix, T = escaped tenant)   type    holds
//	P answer:<key>                         string  an idempotency answer (binary, see encodeAnswer), PX ttl
//	P version:<resource>                   string  the resource's version (INCR)
//	P lock:<key>                           string  the lock owner, PX lease
//	P queue:tenants                        set     tenants that have ever queued a job
//	P{T}:tokens                            hash    token id -> JSON {hash, created, expires, used} (ms)
//	P{T}:audit                             list    JSON audit records, newest first, trimmed to state.AuditLimit
//	P{T}:clients                           hash    client id -> JSON {name, created, secrets: [{id, hash, created, expires}]} (ms)
//	P signing-keys                         hash    key id -> JSON {secret, created, expires} (ms)
//	P{T}:q:seq                             string  the tenant's enqueue counter: a job's seq, its place
//	P{T}:q:job:<id>                        hash    one job (fields below)
//	P{T}:q:live                            zset    pending and leased job ids, by seq
//	P{T}:q:dead                            zset    dead job ids, by seq
//	P{T}:q:res:<resource>                  zset    the resource's pending and leased job ids, by seq
//	P{T}:q:running                         hash    resource -> the id of its leased job (at most one)
//	P{T}:q:sched                           hash    resource -> the id of its job in wait or ready
//	P{T}:q:wait                            zset    scheduled job ids not yet moved to ready, by NotBefore (ms)
//	P{T}:q:ready                           zset    due job ids, by seq: what Lease hands out
//	P{T}:q:leased                          zset    leased job ids, by LeaseUntil (ms)
//	P{T}:q:class                           hash    error class -> Attempts summed over live jobs
//	P{T}:q:enq:<id>                        string  marks an id as enqueued (1 h), so a replayed Enqueue is a no-op
//	P{T}:q:lease:<call>                    string  the ids one Lease call took (JSON, for the lease), so a replay returns them
//
// Job hash fields: id, tenant, res, op, payload, fp, attempts, nb
// (NotBefore), created, err, class, state, owner, until (LeaseUntil), seq;
// times in unix ms, 0 for the zero time.
//
// # Per-resource FIFO
//
// A resource is busy while one of its jobs is leased (running). When it is
// not busy, its head (lowest seq in res:<resource>) is scheduled: in wait
// until NotBefore, then moved to ready by Lease, which takes ready jobs in
// seq order. Every script that changes a resource's jobs finishes with
// promote, which puts the resource's current head (and nothing else of it)
// in wait or ready, so "never leased while an earlier job of its resource
// is pending or leased" holds by construction. A job id carries its tenant
// (escaped tenant, '.', a UUIDv7), so that Get, Ack and the rest find the
// tenant's slot from the id alone.
//
// # Failures and retries
//
// The client's own retries are off (MaxRetries -1): go-redis replays a
// command after a dropped connection, which would run INCR or a non-
// idempotent script twice. The store retries, a few times with a short
// backoff, only calls whose replay changes nothing: reads, PutToken,
// PutAnswer, TryLock, Unlock, and Enqueue and Lease, which carry an id the
// script remembers. Cluster clients still follow MOVED and ASK, and may
// replay on a dropped connection within their redirect budget; such a
// replay can at worst report a conflict or a missing job for a change that
// was made, or bump a version twice (a stored answer goes stale sooner): it
// never enqueues or hands out a job twice.
//
// go-redis logs dial failures through its own logger (redis.SetLogger),
// once per failed call while Redis is down; the program routes or silences
// it.
//
// Errors that mean Redis cannot serve now (connection refused or dropped,
// timeouts, a closed store, LOADING, READONLY, MASTERDOWN, CLUSTERDOWN,
// TRYAGAIN, OOM under noeviction, BUSY) wrap state.ErrUnavailable; a
// missing key is state.ErrNotFound; a done context is reported as itself.
//
// Time: answers and locks expire by the Redis server's clock (PX); the
// queue goes by the times its callers pass (Lease's now, NotBefore),
// like sqlitestate. A job Lease has found due stays due, even for a later
// Lease whose clock is behind.
package redisstate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// DefaultKeyPrefix starts every key unless Options.KeyPrefix says otherwise.
const DefaultKeyPrefix = "scimbridge:"

// DefaultTimeout bounds dialing and each read and write on a connection,
// and the wait for a pooled connection, unless the caller's context ends
// sooner.
const DefaultTimeout = 2 * time.Second

// Options say which Redis to use: URL for a single node, or Addrs with
// MasterName (Sentinel) or with several addresses or Cluster (Cluster).
type Options struct {
	// URL is redis://[user:password@]host:port/db, rediss:// for TLS, or
	// unix:///path?db=N. The query may set db, dial_timeout, read_timeout,
	// write_timeout, pool_size, pool_timeout, protocol, client_name and
	// skip_verify; other parameters are refused rather than ignored.
	URL string
	// Addrs are the Cluster nodes, or the Sentinels when MasterName is set,
	// or the one node.
	Addrs []string
	// MasterName selects Sentinel: the name of the monitored master.
	MasterName string
	// Cluster forces Cluster mode with one address (a single seed node).
	Cluster bool
	// Username and Password authenticate to Redis (ACL or requirepass).
	// With URL they replace the URL's user information when set, so that
	// the password can come from a file.
	Username, Password string
	// SentinelUsername and SentinelPassword authenticate to the Sentinels,
	// if they require it.
	SentinelUsername, SentinelPassword string
	// DB is the database number (single node and Sentinel only). With URL,
	// the URL says it.
	DB int
	// TLS enables TLS with this configuration (rediss:// URLs enable it
	// themselves).
	TLS *tls.Config
	// KeyPrefix starts every key (default DefaultKeyPrefix). It may not
	// contain '{' or '}', which would change the Cluster hash tags.
	KeyPrefix string
	// Timeout is DefaultTimeout when zero.
	Timeout time.Duration
	// DialTimeout bounds a new connection's dial and handshake (TLS, AUTH)
	// instead of Timeout, when set.
	DialTimeout time.Duration
	// PoolSize is the connections kept per node; go-redis's default (10
	// per CPU) when zero.
	PoolSize int
}

// Store is the Redis state store. It is safe for concurrent use.
type Store struct {
	c      redis.UniversalClient
	k      keys
	closed atomic.Bool
	// turn rotates the tenant Lease starts with, so that one tenant's
	// backlog does not starve the others.
	turn atomic.Uint64
}

var _ state.Store = (*Store)(nil)

// urlParams are the URL query parameters Open accepts (go-redis reads
// them); everything else would configure what the store decides itself
// (max_retries) or is not meant for a state store.
var urlParams = map[string]bool{
	"db": true, "dial_timeout": true, "read_timeout": true, "write_timeout": true,
	"pool_size": true, "pool_timeout": true, "protocol": true, "client_name": true, "skip_verify": true,
}

// Open connects to Redis and checks that it answers. It fails when the
// options are wrong, or with state.ErrUnavailable when Redis does not
// answer within ctx: the bridge checks Redis's settings at start
// (CheckServer) and so needs it then; later outages degrade instead.
func Open(ctx context.Context, o Options) (*Store, error) {
	uo, err := universalOptions(o)
	if err != nil {
		return nil, fmt.Errorf("redisstate: open: %w", err)
	}
	prefix := o.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redisstate: open: key prefix %q contains '{' or '}', which would change the Cluster hash tags", prefix)
	}
	s := &Store{c: redis.NewUniversalClient(uo), k: keys{prefix: prefix}}
	if err := s.Ping(ctx); err != nil {
		_ = s.c.Close()
		return nil, fmt.Errorf("redisstate: open %s: %w", describe(uo), err)
	}
	return s, nil
}

// universalOptions turns Options into the client's, with the settings
// every store needs whatever the caller said.
func universalOptions(o Options) (*redis.UniversalOptions, error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("timeout %s is negative", timeout)
	}
	dial := o.DialTimeout
	if dial == 0 {
		dial = timeout
	}
	if dial < 0 || o.PoolSize < 0 {
		return nil, fmt.Errorf("dial timeout %s and pool size %d may not be negative", dial, o.PoolSize)
	}
	uo := &redis.UniversalOptions{
		Addrs:            o.Addrs,
		MasterName:       o.MasterName,
		IsClusterMode:    o.Cluster,
		Username:         o.Username,
		Password:         o.Password,
		SentinelUsername: o.SentinelUsername,
		SentinelPassword: o.SentinelPassword,
		DB:               o.DB,
		TLSConfig:        o.TLS,
		PoolSize:         o.PoolSize,
		// Request deadlines reach the socket (off by default in go-redis).
		ContextTimeoutEnabled: true,
		DialTimeout:           dial,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		PoolTimeout:           timeout,
		// A Redis that is down fails a call at once instead of after five
		// dials 100 ms apart; the store's own retries cover a blip.
		DialerRetries:      1,
		DialerRetryTimeout: 50 * time.Millisecond,
		// No replays by the client (see the package doc); -1 means none.
		MaxRetries: -1,
		// No CLIENT SETINFO and no maintenance-notification handshake:
		// older servers answer them with errors that go-redis logs.
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if o.URL == "" {
		if len(o.Addrs) == 0 {
			return nil, errors.New("no Redis given: set a URL or addresses")
		}
		for _, a := range o.Addrs {
			if a == "" {
				return nil, errors.New("an address is empty")
			}
		}
		if (o.MasterName == "" && (len(o.Addrs) > 1 || o.Cluster)) && o.DB != 0 {
			return nil, fmt.Errorf("db %d: Redis Cluster has only database 0", o.DB)
		}
		if o.MasterName != "" && o.Cluster {
			return nil, errors.New("master name (Sentinel) and cluster exclude each other")
		}
		if o.DB < 0 {
			return nil, fmt.Errorf("db %d is negative", o.DB)
		}
		return uo, nil
	}

	switch {
	case len(o.Addrs) > 0 || o.MasterName != "" || o.Cluster:
		return nil, errors.New("give a URL or addresses (with master name or cluster), not both")
	case o.DB != 0:
		return nil, errors.New("with a URL, the database number is the URL's (redis://host:port/N)")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", redactURLError(err))
	}
	for name := range u.Query() {
		if !urlParams[name] {
			return nil, fmt.Errorf("url parameter %q is not supported", name)
		}
	}
	po, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("url %s: %w", u.Redacted(), redactURLError(err))
	}
	uo.Addrs = []string{po.Addr}
	uo.DB = po.DB
	uo.TLSConfig = po.TLSConfig
	if o.TLS != nil {
		uo.TLSConfig = o.TLS
	}
	if po.Username != "" && o.Username == "" {
		uo.Username = po.Username
	}
	if po.Password != "" && o.Password == "" {
		uo.Password = po.Password
	}
	if u.Query().Has("dial_timeout") {
		uo.DialTimeout = po.DialTimeout
	}
	if u.Query().Has("read_timeout") {
		uo.ReadTimeout = po.ReadTimeout
	}
	if u.Query().Has("write_timeout") {
		uo.WriteTimeout = po.WriteTimeout
	}
	if u.Query().Has("pool_timeout") {
		uo.PoolTimeout = po.PoolTimeout
	}
	if u.Query().Has("pool_size") {
		uo.PoolSize = po.PoolSize
	}
	uo.Protocol = po.Protocol
	uo.ClientName = po.ClientName
	return uo, nil
}

// redactURLError drops the URL from a *url.Error, which would print the
// password.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// describe names the Redis the options point at, for errors (no secrets).
func describe(uo *redis.UniversalOptions) string {
	switch {
	case uo.MasterName != "":
		return fmt.Sprintf("sentinel master %q via %s", uo.MasterName, strings.Join(uo.Addrs, ","))
	case len(uo.Addrs) > 1 || uo.IsClusterMode:
		return "cluster " + strings.Join(uo.Addrs, ",")
	}
	return fmt.Sprintf("%s db %d", uo.Addrs[0], uo.DB)
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.wrap(ctx, "ping", s.retried(ctx, func() error { return s.c.Ping(ctx).Err() }))
}

// Close closes the client. Calls made after it fail with
// state.ErrUnavailable. Closing twice is harmless.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.c.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("redisstate: close: %w", err)
	}
	return nil
}

// begin checks, before any I/O, that the store is open and ctx is live, so
// that a call on a closed store or with a done context applies nothing.
func (s *Store) begin(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("redisstate: %s: store is closed: %w", op, state.ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstate: %s: %w", op, err)
	}
	return nil
}

// retry policy for idempotent calls: attempts in all, and the first pause
// (doubled each time). Short: the request that waits has a deadline.
const (
	retryAttempts = 3
	retryPause    = 10 * time.Millisecond
)

// retried runs f, and again up to retryAttempts in all while it fails in a
// way a second try may fix (unavailable) and ctx lasts. Only for calls whose
// replay changes nothing.
func (s *Store) retried(ctx context.Context, f func() error) error {
	pause := retryPause
	for attempt := 1; ; attempt++ {
		err := f()
		if err != nil && unavailable(err) {
			s.reroute()
		}
		if err == nil || attempt == retryAttempts || !unavailable(err) || s.closed.Load() {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// wrap prefixes err with the package and operation and classifies it: a
// done context as itself, what means "Redis cannot serve now" with
// state.ErrUnavailable, redis.Nil as state.ErrNotFound.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("redisstate: %s: %w", op, ctx.Err())
	case deadlinePassed(ctx):
		// The socket deadline is the context's, and its timeout can come
		// a moment before the context notices: it is the caller's deadline.
		return fmt.Errorf("redisstate: %s: %w", op, context.DeadlineExceeded)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("redisstate: %s: %w", op, err)
	case s.closed.Load(), errors.Is(err, redis.ErrClosed):
		return fmt.Errorf("redisstate: %s: store is closed: %w", op, state.ErrUnavailable)
	case errors.Is(err, redis.Nil):
		return fmt.Errorf("redisstate: %s: %w", op, state.ErrNotFound)
	case unavailable(err):
		s.reroute()
		return fmt.Errorf("redisstate: %s: %w: %w", op, state.ErrUnavailable, err)
	}
	return fmt.Errorf("redisstate: %s: %w", op, err)
}

// reroute makes a Cluster client read the slot map again after a node
// failed to answer. go-redis reloads it only on MOVED or ASK replies and
// otherwise once a minute, so after a master crashes it would keep
// dialling the dead node for up to a minute while its replica already
// serves the slots. The reload runs in the background, and go-redis folds
// reloads asked for in quick succession into one. (A Sentinel client asks
// the Sentinels for the master at every new connection by itself.)
func (s *Store) reroute() {
	if cc, ok := s.c.(*redis.ClusterClient); ok && !s.closed.Load() {
		cc.ReloadState(context.Background())
	}
}

func deadlinePassed(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// unavailablePrefixes start the Redis error replies that mean "not now"
// rather than "wrong": a server loading its data, a replica or a demoted
// master, a cluster in trouble, memory full under noeviction, a script
// running too long.
var unavailablePrefixes = []string{
	"LOADING ", "READONLY ", "MASTERDOWN ", "CLUSTERDOWN ", "TRYAGAIN ",
	"OOM ", "BUSY ", "NOREPLICAS ", "ERR max number of clients",
}

// unavailable reports whether err means Redis cannot serve now.
func unavailable(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range unavailablePrefixes {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
	}
	return false
}

// keys builds key names (see the package doc).
type keys struct{ prefix string }

// tenant is the tagged start of a tenant's keys.
func (k keys) tenant(t string) string { return k.prefix + "{" + escape(t) + "}:" }

func (k keys) tokens(t string) string        { return k.tenant(t) + "tokens" }
func (k keys) audit(t string) string         { return k.tenant(t) + "audit" }
func (k keys) clients(t string) string       { return k.tenant(t) + "clients" }
func (k keys) signingKeys() string           { return k.prefix + "signing-keys" }
func (k keys) queue(t string) string         { return k.tenant(t) + "q:" }
func (k keys) answer(key string) string      { return k.prefix + "answer:" + key }
func (k keys) version(res string) string     { return k.prefix + "version:" + res }
func (k keys) lock(key string) string        { return k.prefix + "lock:" + key }
func (k keys) tenants() string               { return k.prefix + "queue:tenants" }
func (k keys) resource(t, res string) string { return k.queue(t) + "res:" + res }
func (k keys) job(t, id string) string       { return k.queue(t) + "job:" + id }

// escape keeps ASCII letters, digits and '-' and writes every other byte as
// _XX (upper-case hex), so that the result has no '{', '}', ':', '.' or
// anything a URL path would need escaped, and different inputs never
// give the same result.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// unescape reverses escape; ok is false for text escape cannot produce.
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return "", false
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		v := byte(hi<<4 | lo)
		if 'a' <= v && v <= 'z' || 'A' <= v && v <= 'Z' || '0' <= v && v <= '9' || v == '-' {
			return "", false // escape writes these as themselves
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
