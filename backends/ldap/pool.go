package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/go-hclog"
	"github.com/jackc/puddle/v2"

	"github.com/scimbridge/scimbridge/backends"
)

// pool keeps bound connections. go-ldap has none (go-ldap issue #383), so
// puddle does the bookkeeping: each backend operation holds one connection
// for its few requests, a connection that saw a network error is
// destroyed, and the next Acquire dials and binds a fresh one (reconnect).
//
// Reads and writes have a lane each (PoolSize connections, MaxConcurrent
// operations): a write holds its connection for several requests, each as
// slow as the directory's disk, and Entra's queries and its Test
// Connection probe must not wait behind them.
type pool struct {
	reads, writes lane
	timeout       time.Duration
	log           hclog.Logger
	trips         tripCounter
}

// lane is one pool of connections and its cap on operations.
type lane struct {
	p     *puddle.Pool[*pconn]
	slots chan struct{} // MaxConcurrent: running or waiting operations
}

// RoundTrips counts the requests the backend sent to the directory, by
// operation, since it was opened (binds and StartTLS of new connections
// are not counted: they are per connection, not per operation). Tests
// assert how many requests each backend operation costs with it, and
// benchmarks report it per operation.
type RoundTrips struct {
	Search, Add, Modify, ModifyDN, Delete int64
}

// Total is the number of requests of every kind.
func (r RoundTrips) Total() int64 {
	return r.Search + r.Add + r.Modify + r.ModifyDN + r.Delete
}

// Sub is r minus an earlier reading.
func (r RoundTrips) Sub(before RoundTrips) RoundTrips {
	return RoundTrips{r.Search - before.Search, r.Add - before.Add, r.Modify - before.Modify,
		r.ModifyDN - before.ModifyDN, r.Delete - before.Delete}
}

// tripCounter is RoundTrips as counters every pooled connection adds to.
type tripCounter struct {
	search, add, modify, modifyDN, del atomic.Int64
}

func (t *tripCounter) read() RoundTrips {
	return RoundTrips{t.search.Load(), t.add.Load(), t.modify.Load(), t.modifyDN.Load(), t.del.Load()}
}

func newPool(c Config, log hclog.Logger) (*pool, error) {
	tlsCfg, err := tlsConfig(c)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(c.URL) // checked by decodeConfig
	timeout := time.Duration(c.Timeout)
	dial := func(ctx context.Context) (*pconn, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		host := u.Host
		if u.Port() == "" {
			port := goldap.DefaultLdapPort
			if u.Scheme == "ldaps" {
				port = goldap.DefaultLdapsPort
			}
			host = net.JoinHostPort(u.Hostname(), port)
		}
		d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		var nc net.Conn
		var err error
		if u.Scheme == "ldaps" {
			td := &tls.Dialer{NetDialer: d, Config: tlsCfg}
			nc, err = td.DialContext(ctx, "tcp", host)
		} else {
			nc, err = d.DialContext(ctx, "tcp", host)
		}
		if err != nil {
			return nil, fmt.Errorf("ldap: dial %s: %w: %w", c.URL, backends.ErrUnavailable, err)
		}
		l := goldap.NewConn(nc, u.Scheme == "ldaps")
		l.Start()
		l.SetTimeout(timeout)
		// Closing the connection is the only way to interrupt go-ldap's
		// requests, which take no context.
		stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
		defer stop()
		if c.StartTLS {
			if err := l.StartTLS(tlsCfg); err != nil {
				_ = l.Close()
				return nil, fmt.Errorf("ldap: starttls with %s: %w: %w", c.URL, backends.ErrUnavailable, err)
			}
		}
		if err := l.Bind(c.BindDN, c.Password); err != nil {
			_ = l.Close()
			if isNetwork(err) || ctx.Err() != nil {
				return nil, fmt.Errorf("ldap: bind to %s: %w: %w", c.URL, backends.ErrUnavailable, err)
			}
			// Never a 401 to Entra: the bridge's credentials are wrong,
			// not Entra's. Logged at error level, since only an operator
			// can fix it.
			log.Error("service account bind failed", "bind_dn", c.BindDN, "url", c.URL, "error", err)
			return nil, fmt.Errorf("ldap: bind as %s: %w: %w", c.BindDN, backends.ErrUnavailable, err)
		}
		if ctx.Err() != nil {
			_ = l.Close()
			return nil, fmt.Errorf("ldap: connect %s: %w: %w", c.URL, backends.ErrUnavailable, ctx.Err())
		}
		return &pconn{l: l, nc: nc}, nil
	}
	newLane := func() (lane, error) {
		pp, err := puddle.NewPool(&puddle.Config[*pconn]{
			Constructor: dial,
			Destructor: func(pc *pconn) {
				// The socket first: go-ldap's Close waits for its
				// goroutines, which a socket closed under them ends.
				_ = pc.nc.Close()
				_ = pc.l.Close()
			},
			MaxSize: int32(c.PoolSize),
		})
		if err != nil {
			return lane{}, fmt.Errorf("ldap: pool: %w", err)
		}
		return lane{p: pp, slots: make(chan struct{}, c.MaxConcurrent)}, nil
	}
	p := &pool{timeout: timeout, log: log}
	if p.reads, err = newLane(); err != nil {
		return nil, err
	}
	if p.writes, err = newLane(); err != nil {
		p.reads.p.Close()
		return nil, err
	}
	return p, nil
}

func tlsConfig(c Config) (*tls.Config, error) {
	u, _ := url.Parse(c.URL)
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // opt-in, documented as laboratory only
	}
	if cfg.ServerName == "" && u != nil {
		cfg.ServerName = u.Hostname()
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: caFile: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap: caFile %s: no PEM certificate in it", c.CAFile)
		}
		cfg.RootCAs = roots
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: certFile/keyFile: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// pconn is a pooled connection: go-ldap's and the socket under it, which
// the pool closes directly to end a request go-ldap would wait on.
type pconn struct {
	l  *goldap.Conn
	nc net.Conn
}

// conn is one acquired connection, bound to the operation's context: every
// request gets the smaller of the configured timeout and what is left of
// the context's deadline, and a cancelled context closes the connection,
// which ends the request in flight.
type conn struct {
	l       *goldap.Conn
	nc      net.Conn
	ctx     context.Context
	timeout time.Duration
	broken  bool
	trips   *tripCounter
}

// write runs f, a write, on a connection of the write lane.
func (p *pool) write(ctx context.Context, f func(c *conn) error) error {
	return p.run(ctx, &p.writes, f)
}

// read runs f, which only searches, on a connection of the read lane, or
// of the write lane when it is a write's own read (backends.Read.ForWrite).
func (p *pool) read(ctx context.Context, r backends.Read, f func(c *conn) error) error {
	if r.ForWrite {
		return p.run(ctx, &p.writes, f)
	}
	return p.run(ctx, &p.reads, f)
}

// run runs f on a connection of l. It fails fast with ErrUnavailable when
// MaxConcurrent operations are in flight, waits for a connection no longer
// than ctx allows, and destroys the connection if f saw a network error,
// the context ended while it ran, or f panicked.
func (p *pool) run(ctx context.Context, l *lane, f func(c *conn) error) error {
	select {
	case l.slots <- struct{}{}:
		defer func() { <-l.slots }()
	default:
		return fmt.Errorf("ldap: maxConcurrent (%d) reached: %w", cap(l.slots), backends.ErrBusy)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ldap: %w: %w", backends.ErrUnavailable, err)
	}
	// A stale idle connection (the server closed it) is replaced at once
	// rather than failing the operation.
	var res *puddle.Resource[*pconn]
	for {
		var err error
		actx, cancel := context.WithTimeout(ctx, p.timeout)
		res, err = l.p.Acquire(actx)
		cancel()
		if err != nil {
			if errors.Is(err, backends.ErrUnavailable) {
				return err
			}
			if errors.Is(err, puddle.ErrClosedPool) {
				return fmt.Errorf("ldap: backend closed: %w", err)
			}
			return fmt.Errorf("ldap: waiting for a connection: %w: %w", backends.ErrUnavailable, err)
		}
		if !res.Value().l.IsClosing() {
			break
		}
		res.Destroy()
	}
	c := &conn{l: res.Value().l, nc: res.Value().nc, ctx: ctx, timeout: p.timeout, trips: &p.trips}
	// Closing the socket ends whatever request is in flight at once.
	stop := context.AfterFunc(ctx, func() { _ = c.nc.Close() })
	returned := false
	defer func() {
		if !returned { // f panicked: the connection is in an unknown state
			stop()
			res.Destroy()
		}
	}()
	err := f(c)
	returned = true
	// stop reports false when the context ended and closed the connection.
	if fired := !stop(); fired || c.broken || isNetwork(err) || c.l.IsClosing() {
		res.Destroy()
	} else {
		res.Release()
	}
	return err
}

// arm sets the request timeout before each request and reports a context
// that ended already.
func (c *conn) arm() error {
	if err := c.ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", backends.ErrUnavailable, err)
	}
	t := c.timeout
	if dl, ok := c.ctx.Deadline(); ok {
		if left := time.Until(dl); left < t {
			t = left
		}
		if t <= 0 {
			return fmt.Errorf("%w: %w", backends.ErrUnavailable, context.DeadlineExceeded)
		}
	}
	c.l.SetTimeout(t)
	// go-ldap's timeout covers waiting for the answer, not sending the
	// request: a server that stopped reading (SIGSTOP, a full window)
	// would block the write, and every later request, for ever.
	_ = c.nc.SetWriteDeadline(time.Now().Add(t))
	return nil
}

// done marks the connection broken after a network error, and turns the
// error of a request whose context ended into the context's error.
func (c *conn) done(err error) error {
	if err == nil {
		return nil
	}
	if isNetwork(err) {
		c.broken = true
		if ce := c.ctx.Err(); ce != nil {
			return fmt.Errorf("%w: %w", ce, err)
		}
	}
	return err
}

func (c *conn) search(req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	if err := c.arm(); err != nil {
		return nil, err
	}
	c.trips.search.Add(1)
	res, err := c.l.Search(req)
	return res, c.done(err)
}

func (c *conn) add(req *goldap.AddRequest) error {
	if err := c.arm(); err != nil {
		return err
	}
	c.trips.add.Add(1)
	return c.done(c.l.Add(req))
}

func (c *conn) modify(req *goldap.ModifyRequest) error {
	if err := c.arm(); err != nil {
		return err
	}
	c.trips.modify.Add(1)
	return c.done(c.l.Modify(req))
}

func (c *conn) modifyDN(req *goldap.ModifyDNRequest) error {
	if err := c.arm(); err != nil {
		return err
	}
	c.trips.modifyDN.Add(1)
	return c.done(c.l.ModifyDN(req))
}

func (c *conn) del(req *goldap.DelRequest) error {
	if err := c.arm(); err != nil {
		return err
	}
	c.trips.del.Add(1)
	return c.done(c.l.Del(req))
}

func (p *pool) close() {
	p.reads.p.Close()
	p.writes.p.Close()
}
