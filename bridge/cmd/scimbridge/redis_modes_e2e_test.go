package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The bridge on Redis as deployed: a Cluster and a Sentinel group, each
// started for the test by the project's scripts (the test kills a master,
// so they are its own), the bridge run as `serve` from a
// configuration file that names them (ACL user and password, the
// Sentinels' own password, timeouts, pool size). In the middle of an Entra
// cycle the Redis master is killed (SIGKILL) and replaced by its replica:
// every request is finally answered (Entra retries 5xx and 429), and the
// directory ends with every user and membership exactly once.

// startScript runs one of the project's start scripts and returns the
// variables it printed; stop (with the variable dirVar names) runs when
// the test ends. Gated like ownRedis: the Redis tests run where
// scripts/redis-start.sh made SCIMBRIDGE_REDIS_URL (and fail under CI
// without it).
func startScript(t testing.TB, script, stop, dirVar string) map[string]string {
	t.Helper()
	sharedRedis(t)
	cmd := exec.Command(filepath.Join(repoRoot, "scripts", script))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s: %s", script, stderr.String())
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	require.NotEmpty(t, env[dirVar], "%s printed %q", script, out)
	t.Cleanup(func() { _ = exec.Command(filepath.Join(repoRoot, "scripts", stop), env[dirVar]).Run() })
	return env
}

func TestRedisClusterFromConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	env := startScript(t, "redis-cluster-start.sh", "redis-cluster-stop.sh", "SCIMBRIDGE_REDIS_CLUSTER_DIR")
	addrs := strings.Split(env["SCIMBRIDGE_REDIS_CLUSTER_ADDRS"], ",")
	prefix := "cluster-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	pwFile := filepath.Join(t.TempDir(), "redis-password")
	require.NoError(t, os.WriteFile(pwFile, []byte(env["SCIMBRIDGE_REDIS_CLUSTER_PASSWORD"]), 0o600))
	block := fmt.Sprintf(`{ redis: { addrs: [%s], username: %s, password: '${file:%s}', key_prefix: '%s', timeout: 1s, dial_timeout: 1s, pool_size: 8 } }`,
		quoted(addrs), env["SCIMBRIDGE_REDIS_CLUSTER_USER"], pwFile, prefix)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Username: env["SCIMBRIDGE_REDIS_CLUSTER_USER"], Password: env["SCIMBRIDGE_REDIS_CLUSTER_PASSWORD"]})
	t.Cleanup(func() { _ = cc.Close() })

	// The master to kill holds the tenant's tagged keys: its tokens and
	// queue. With it gone, the bridge must find the replica that took over.
	tokens := prefix + "{default}:tokens"
	failover := func(t *testing.T) {
		ctx := context.Background()
		master, err := cc.MasterForKey(ctx, tokens)
		require.NoError(t, err)
		addr := master.Options().Addr
		killRedis(t, master)
		require.Eventually(t, func() bool {
			cc.ReloadState(ctx)
			m, err := cc.MasterForKey(ctx, tokens)
			return err == nil && m.Options().Addr != addr && m.Ping(ctx).Err() == nil
		}, 30*time.Second, 200*time.Millisecond, "no replica took over from %s", addr)
	}
	cycleWithFailover(t, block, failover)

	// The tenant's keys that scripts use together share one slot (the
	// {tenant} hash tag), on the master that now serves it.
	ctx := context.Background()
	var keys []string
	require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, prefix+"{default}:*", 1000).Iterator()
		for it.Next(ctx) {
			keys = append(keys, it.Val())
		}
		return it.Err()
	}))
	require.NotEmpty(t, keys)
	slot := -1
	for _, k := range keys {
		s, err := cc.ClusterKeySlot(ctx, k).Result()
		require.NoError(t, err)
		if slot == -1 {
			slot = int(s)
		}
		require.Equal(t, slot, int(s), "%s is in another slot than %s", k, keys[0])
	}
}

func TestRedisSentinelFromConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	env := startScript(t, "redis-sentinel-start.sh", "redis-sentinel-stop.sh", "SCIMBRIDGE_REDIS_SENTINEL_DIR")
	sentinels := strings.Split(env["SCIMBRIDGE_REDIS_SENTINEL_ADDRS"], ",")
	prefix := "sentinel-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	block := fmt.Sprintf(`{ redis: { addrs: [%s], master_name: %s, sentinel_password: '%s', username: %s, password: '%s', key_prefix: '%s', timeout: 1s } }`,
		quoted(sentinels), env["SCIMBRIDGE_REDIS_SENTINEL_MASTER"], env["SCIMBRIDGE_REDIS_SENTINEL_PASSWORD"],
		env["SCIMBRIDGE_REDIS_SENTINEL_USER"], env["SCIMBRIDGE_REDIS_SENTINEL_USER_PASSWORD"], prefix)
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: sentinels[0], Password: env["SCIMBRIDGE_REDIS_SENTINEL_PASSWORD"]})
	t.Cleanup(func() { _ = sentinel.Close() })
	masterAddr := func() string {
		a, err := sentinel.GetMasterAddrByName(context.Background(), env["SCIMBRIDGE_REDIS_SENTINEL_MASTER"]).Result()
		require.NoError(t, err)
		return a[0] + ":" + a[1]
	}
	failover := func(t *testing.T) {
		addr := masterAddr()
		c := redis.NewClient(&redis.Options{Addr: addr, Username: env["SCIMBRIDGE_REDIS_SENTINEL_USER"], Password: env["SCIMBRIDGE_REDIS_SENTINEL_USER_PASSWORD"]})
		defer c.Close()
		killRedis(t, c)
		require.Eventually(t, func() bool { return masterAddr() != addr }, 30*time.Second, 200*time.Millisecond, "the Sentinels did not fail over from %s", addr)
	}
	cycleWithFailover(t, block, failover)
}

// quoted is addresses as a YAML flow list's items.
func quoted(addrs []string) string { return `"` + strings.Join(addrs, `", "`) + `"` }

// killRedis kills the server c talks to with SIGKILL (a crash: no
// shutdown, nothing saved) and waits until it is gone.
func killRedis(t testing.TB, c *redis.Client) {
	t.Helper()
	info, err := c.Info(context.Background(), "server").Result()
	require.NoError(t, err)
	var pid int
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, err = strconv.Atoi(v)
			require.NoError(t, err)
		}
	}
	require.NotZero(t, pid, "no process_id in INFO server")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	waitExit(t, pid, "redis-server")
}

// entraUntilDone sends one request the way Entra's provisioning service
// does: a 5xx, a 429 or a broken connection is retried (after Retry-After,
// at most a second here), until it is answered otherwise or a minute has
// passed.
func entraUntilDone(s *stack, what, method, path string, body any) sent {
	deadline := time.Now().Add(time.Minute)
	for {
		r := s.send(what, method, path, body)
		if (r.err == nil && r.status < 500 && r.status != 429) || time.Now().After(deadline) {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cycleWithFailover runs `serve` on the Pharos store with the given Redis
// state block, and an initial Entra cycle: users created by four clients
// at once, a group, its members added in batches, then every user's title
// changed. failover runs when a third of the users exist. Afterwards the
// store holds every user, membership and title exactly once, and the
// bridge is ready again on the new master.
func cycleWithFailover(t *testing.T, stateBlock string, failover func(t *testing.T)) {
	const users, clients = 45, 4
	listen := freeAddr(t)
	cfgPath := pharosConfigWith(t, listen, stateBlock, "")
	p := startServe(t, buildBinary(t), cfgPath)
	s := processStack(t, listen, cfgPath)

	ids := make([]string, users)
	var created, atKill atomic.Int32
	failedOver := make(chan struct{})
	go func() {
		defer close(failedOver)
		for created.Load() < users/3 {
			time.Sleep(time.Millisecond)
		}
		atKill.Store(created.Load())
		failover(t)
	}()
	var wg sync.WaitGroup
	errs := make(chan string, users*3)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < users; i += clients {
				ext := fmt.Sprintf("fo-%02d", i)
				upn := ext + "@contoso.com"
				q := "/Users?filter=" + url.QueryEscape(`userName eq "`+upn+`"`)
				if r := entraUntilDone(s, "query "+ext, "GET", q, nil); r.status != 200 {
					errs <- fmt.Sprintf("%s: %d %v %s", r.what, r.status, r.err, r.rawBody)
				}
				r := entraUntilDone(s, "create "+ext, "POST", "/Users", newUser(ext, upn, "Fail", "Over"+strconv.Itoa(i)))
				if r.status != 201 {
					errs <- fmt.Sprintf("%s: %d %v %s", r.what, r.status, r.err, r.rawBody)
					continue
				}
				ids[i] = r.id
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	<-failedOver
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	require.False(t, t.Failed())
	require.Less(t, int(atKill.Load()), users, "the master died while users were still being created")

	g := entraUntilDone(s, "create group", "POST", "/Groups", newGroup("fo-group", "failover"))
	require.Equal(t, 201, g.status, g.rawBody)
	for i := 0; i < users; i += 10 {
		batch := ids[i:min(i+10, users)]
		r := entraUntilDone(s, "members", "PATCH", "/Groups/"+url.PathEscape(g.id), addMembers(batch...))
		require.Equal(t, 204, r.status, r.rawBody)
	}
	for i, id := range ids {
		r := entraUntilDone(s, "title", "PATCH", "/Users/"+url.PathEscape(id), replace("title", "t-"+strconv.Itoa(i)))
		require.Equal(t, 200, r.status, r.rawBody)
	}

	// Entra's next cycle repeats a create: the same user, not a second one.
	again := entraUntilDone(s, "create again", "POST", "/Users", newUser("fo-00", "fo-00@contoso.com", "Fail", "Over0"))
	require.Equal(t, 201, again.status, again.rawBody)
	require.Equal(t, ids[0], again.id)

	db, err := sql.Open("sqlite", filepath.Join(filepath.Dir(cfgPath), "pharos.db"))
	require.NoError(t, err)
	defer db.Close()
	var n, distinct, titled int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT lower(login)), COUNT(title) FROM users WHERE login LIKE 'fo-%'`).Scan(&n, &distinct, &titled))
	require.Equal(t, users, n, "every user once")
	require.Equal(t, users, distinct)
	require.Equal(t, users, titled)
	for i, id := range ids {
		var title string
		require.NoError(t, db.QueryRow(`SELECT title FROM users WHERE id = ?`, id).Scan(&title))
		require.Equal(t, "t-"+strconv.Itoa(i), title)
	}
	var members, groups int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM group_members WHERE group_id = ?`, g.id).Scan(&members))
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM groups`).Scan(&groups))
	require.Equal(t, users, members)
	require.Equal(t, 1, groups)

	// The bridge works on the new master: ready, not degraded.
	var ready map[string]any
	ok := assert.Eventually(t, func() bool {
		resp, err := http.Get("http://" + listen + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		ready = nil
		_ = json.NewDecoder(resp.Body).Decode(&ready)
		return resp.StatusCode == 200 && ready["status"] == "ready"
	}, 30*time.Second, 200*time.Millisecond)
	require.True(t, ok, "not ready on the new master: %v; serve said:\n%s", ready, p.log.String())
}
