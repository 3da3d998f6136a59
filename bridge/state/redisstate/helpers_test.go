package redisstate

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// requireRedis returns the test Redis URL, or skips (fails under CI=true)
// when none was started. Tests that start private servers use the same
// gate: the variable says redis-server is installed and wanted.
func requireRedis(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("SCIMBRIDGE_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("SCIMBRIDGE_REDIS_URL is not set: CI must run these tests against the redis-server that scripts/redis-start.sh starts (make test does)")
		}
		tb.Skip("SCIMBRIDGE_REDIS_URL is not set: run `make test`, or eval \"$(scripts/redis-start.sh)\" first")
	}
	return u
}

// newPrefix is a key prefix no other test uses, so that tests share one
// Redis without seeing each other's keys.
func newPrefix() string { return "test-" + rand.Text()[:16] + ":" }

// openStore opens a store with a fresh prefix on the test Redis; the caller
// closes it. Its keys are deleted when tb ends.
func openStore(tb testing.TB, o Options) *Store {
	tb.Helper()
	if o.URL == "" && len(o.Addrs) == 0 {
		o.URL = requireRedis(tb)
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = newPrefix()
	}
	s, err := Open(tb.Context(), o)
	require.NoError(tb, err)
	prefix := o.KeyPrefix
	tb.Cleanup(func() { deleteKeys(tb, o, prefix) })
	return s
}

// newTestStore is openStore closed when tb ends.
func newTestStore(tb testing.TB, o Options) *Store {
	tb.Helper()
	s := openStore(tb, o)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

// deleteKeys removes every key with prefix, on every master, so that the
// shared test Redis does not fill up over many runs.
func deleteKeys(tb testing.TB, o Options, prefix string) {
	o.KeyPrefix = prefix
	uo, err := universalOptions(o)
	if err != nil {
		tb.Errorf("delete keys: %v", err)
		return
	}
	c := redis.NewUniversalClient(uo)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, del)
	} else {
		err = del(ctx, c.(*redis.Client))
	}
	if err != nil {
		// A test that stopped its server on purpose has nothing to clean.
		tb.Logf("delete keys %s*: %v", prefix, err)
	}
}

// server is a private redis-server for a test that must stop, restart or
// misconfigure it, which the shared one must never be.
type server struct {
	bin  string
	dir  string
	port int
	args []string
	// conf is a config file to start with, if any (Sentinel needs one).
	conf string
	cmd  *exec.Cmd
	// exited is closed when the running process has exited and been reaped.
	exited chan struct{}
}

// startServer starts a private redis-server in a temporary directory on a
// free loopback port, with args added to the command line, and stops it
// when tb ends.
func startServer(tb testing.TB, args ...string) *server {
	tb.Helper()
	return startWithConfig(tb, "", args...)
}

// startSentinel starts a Sentinel that monitors master as "mymaster".
func startSentinel(tb testing.TB, master *server) *server {
	tb.Helper()
	conf := filepath.Join(tb.TempDir(), "sentinel.conf")
	require.NoError(tb, os.WriteFile(conf,
		[]byte("sentinel monitor mymaster 127.0.0.1 "+strconv.Itoa(master.port)+" 1\n"), 0o600))
	return startWithConfig(tb, conf, "--sentinel")
}

func startWithConfig(tb testing.TB, conf string, args ...string) *server {
	tb.Helper()
	requireRedis(tb)
	bin, err := exec.LookPath("redis-server")
	require.NoError(tb, err, "redis-server is not on PATH (scripts/redis-start.sh installs it)")
	s := &server{bin: bin, dir: tb.TempDir(), args: args, conf: conf}
	for attempt := 0; ; attempt++ {
		s.port = freePort(tb)
		if err := s.tryStart(tb); err == nil {
			break
		} else if attempt == 4 {
			require.NoError(tb, err)
		}
	}
	tb.Cleanup(func() { s.kill(tb) })
	return s
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }
func (s *server) url() string  { return "redis://" + s.addr() + "/0" }

// tryStart starts the server in the foreground as a child process and
// waits until it answers PING (which it does only once its data is
// loaded).
func (s *server) tryStart(tb testing.TB) error {
	var args []string
	if s.conf != "" {
		args = append(args, s.conf) // a config file must come first
	}
	args = append(append(args,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log"), "--daemonize", "no",
	), s.args...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	var waitErr error
	go func(done chan struct{}) { waitErr = cmd.Wait(); close(done) }(s.exited)
	c := redis.NewClient(&redis.Options{Addr: s.addr(), DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			s.cmd = nil
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server exited (%v): %s", waitErr, log)
		default:
		}
		if time.Now().After(deadline) {
			s.kill(tb)
			return fmt.Errorf("redis-server on %s did not answer PING: %v", s.addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restart starts the server again on the same port and directory.
func (s *server) restart(tb testing.TB) {
	tb.Helper()
	require.NoError(tb, s.tryStart(tb))
}

// kill stops the server with SIGKILL, as a crash would, and waits until it
// is gone. Killing a stopped server does nothing.
func (s *server) kill(tb testing.TB) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		tb.Errorf("redis-server %d did not exit after SIGKILL", s.cmd.Process.Pid)
	}
	s.cmd = nil
}

// pause freezes the server (SIGSTOP): connections stay open, nothing
// answers. resume undoes it.
func (s *server) pause(tb testing.TB)  { require.NoError(tb, s.cmd.Process.Signal(syscall.SIGSTOP)) }
func (s *server) resume(tb testing.TB) { require.NoError(tb, s.cmd.Process.Signal(syscall.SIGCONT)) }
