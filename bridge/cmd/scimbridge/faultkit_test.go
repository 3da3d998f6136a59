package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
	"github.com/scimbridge/scimbridge/bridge/state/redisstate"
)

// The fault tests' kit: slapd and redis-server instances (the shared ones
// `make test` starts, or private ones a test may stop and kill), a subtree
// of a directory read back with a plain LDAP client, and an HTTP client
// that goroutines other than the test's may use.

// ldapServer is one slapd: the shared one, or a private one (dir set) that
// the test may stop and restart.
type ldapServer struct {
	url, bindDN, password, suffix string
	dir                           string
}

// sharedSlapd is the slapd `make test` started; tests that leave it
// running use it.
func sharedSlapd(t testing.TB) ldapServer {
	t.Helper()
	u := os.Getenv("SCIMBRIDGE_LDAP_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SCIMBRIDGE_LDAP_URL is not set, and CI must run the fault tests: run `make test` (scripts/slapd-start.sh)")
		}
		t.Skip("SCIMBRIDGE_LDAP_URL is not set: `make test` starts slapd and sets it")
	}
	return ldapServer{url: u, bindDN: os.Getenv("SCIMBRIDGE_LDAP_BIND_DN"), password: os.Getenv("SCIMBRIDGE_LDAP_PASSWORD"),
		suffix: os.Getenv("SCIMBRIDGE_LDAP_BASE_DN")}
}

// ownSlapd starts a slapd of the test's own (privateSlapd), for tests that
// stop or pause it.
func ownSlapd(t *testing.T) ldapServer {
	t.Helper()
	env := privateSlapd(t)
	return ldapServer{url: env["SCIMBRIDGE_LDAP_URL"], bindDN: env["SCIMBRIDGE_LDAP_BIND_DN"],
		password: env["SCIMBRIDGE_LDAP_PASSWORD"], suffix: env["SCIMBRIDGE_LDAP_BASE_DN"], dir: env["SCIMBRIDGE_LDAP_DIR"]}
}

func (l ldapServer) env() map[string]string { return map[string]string{"SCIMBRIDGE_LDAP_DIR": l.dir} }

// stop stops a private slapd (SIGTERM) and returns once it has exited, so
// that the next connection is refused.
func (l ldapServer) stop(t testing.TB) {
	t.Helper()
	require.NotEmpty(t, l.dir, "only a private slapd is stopped")
	pid := pidOf(t, l.dir+"/slapd.pid")
	require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	waitExit(t, pid, "slapd")
}

// start restarts a stopped private slapd and returns once it answers.
func (l ldapServer) start(t testing.TB) {
	t.Helper()
	out, err := exec.Command("sh", l.dir+"/restart").CombinedOutput()
	require.NoError(t, err, "slapd restart: %s", out)
	require.Eventually(t, func() bool {
		c, err := l.dial()
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 20*time.Second, 50*time.Millisecond, "slapd answers again")
}

// signal sends sig to a private slapd (SIGSTOP pauses it, SIGCONT resumes).
func (l ldapServer) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, slapdSignal(l.env(), sig))
}

func (l ldapServer) dial() (*goldap.Conn, error) {
	c, err := goldap.DialURL(l.url, goldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(5 * time.Second)
	if err := c.Bind(l.bindDN, l.password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func pidOf(t testing.TB, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return pid
}

// waitExit waits until pid is gone (a daemon is not our child: poll it).
func waitExit(t testing.TB, pid int, what string) {
	t.Helper()
	require.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil }, 20*time.Second, 20*time.Millisecond,
		"%s (pid %d) did not exit", what, pid)
}

// directory is a fresh subtree (ou=people and ou=groups) of a slapd that
// one test owns, and what the test reads back from it.
type directory struct {
	srv  ldapServer
	base string
}

func newDirectory(t testing.TB, srv ldapServer) *directory {
	t.Helper()
	c, err := srv.dial()
	require.NoError(t, err)
	defer c.Close()
	var r [4]byte
	_, _ = rand.Read(r[:])
	d := &directory{srv: srv, base: "ou=f-" + hex.EncodeToString(r[:]) + "," + srv.suffix}
	for _, dn := range []string{d.base, "ou=people," + d.base, "ou=groups," + d.base} {
		add := goldap.NewAddRequest(dn, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "ou=")})
		require.NoError(t, c.Add(add))
	}
	t.Cleanup(func() {
		c, err := srv.dial()
		if err != nil {
			return // a private slapd is gone with its directory
		}
		defer c.Close()
		deleteSubtree(t, c, d.base)
	})
	return d
}

// backend is the tenant's backend block for this subtree. timeout bounds
// each LDAP request; short ones make an unreachable directory fail fast.
func (d *directory) backend(timeout time.Duration) string {
	return fmt.Sprintf(`{ type: ldap, config: { url: '%s', bindDN: '%s', password: '%s', baseDN: '%s', timeout: %s } }`,
		d.srv.url, d.srv.bindDN, d.srv.password, d.base, timeout)
}

// userAttrs are the attributes the fault tests compare, as the shipped
// OpenLDAP mapping writes them.
var userAttrs = []string{"uid", "mail", "givenName", "sn", "cn", "displayName", "title", "departmentNumber", "employeeNumber", "scimActive", "entryUUID"}

// dirUser is one user entry as compared: attribute → values joined by "|".
type dirUser map[string]string

// users reads every user of the subtree, keyed by externalId
// (scimExternalId). It fails on a duplicate: two entries with one
// externalId, or one userName (uid, compared as the directory folds it).
func (d *directory) users(t testing.TB) map[string]dirUser {
	t.Helper()
	c, err := d.srv.dial()
	require.NoError(t, err)
	defer c.Close()
	res, err := c.Search(goldap.NewSearchRequest("ou=people,"+d.base, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", append([]string{"scimExternalId"}, userAttrs...), nil))
	require.NoError(t, err)
	out := map[string]dirUser{}
	uids := map[string]string{}
	for _, e := range res.Entries {
		ext := e.GetAttributeValue("scimExternalId")
		require.NotContains(t, out, ext, "two entries with externalId %q: %s and %s", ext, e.DN, out[ext]["dn"])
		u := dirUser{"dn": e.DN}
		for _, a := range userAttrs {
			if v := e.GetAttributeValues(a); len(v) > 0 {
				u[a] = strings.Join(v, "|")
			}
		}
		folded := strings.ToLower(strings.Join(strings.Fields(u["uid"]), " "))
		require.NotContains(t, uids, folded, "two entries with userName %q: %s and %s", u["uid"], e.DN, uids[folded])
		uids[folded] = e.DN
		out[ext] = u
	}
	return out
}

// members returns a group's member DNs, sorted (the placeholder of an
// empty groupOfNames included).
func (d *directory) members(t testing.TB, cn string) []string {
	t.Helper()
	c, err := d.srv.dial()
	require.NoError(t, err)
	defer c.Close()
	res, err := c.Search(goldap.NewSearchRequest("ou=groups,"+d.base, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(cn="+goldap.EscapeFilter(cn)+")", []string{"member"}, nil))
	require.NoError(t, err)
	require.Len(t, res.Entries, 1, "groups named %q", cn)
	m := res.Entries[0].GetAttributeValues("member")
	sort.Strings(m)
	return m
}

// userDN is where the shipped mapping puts a user.
func (d *directory) userDN(upn string) string { return "uid=" + upn + ",ou=people," + d.base }

// redisServer is one redis-server: the shared one, or a private one (dir
// set) that the test may kill and restart.
type redisServer struct{ url, dir string }

func sharedRedis(t testing.TB) redisServer {
	t.Helper()
	u := os.Getenv("SCIMBRIDGE_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SCIMBRIDGE_REDIS_URL is not set, and CI must run the Redis fault tests: run `make test` (scripts/redis-start.sh)")
		}
		t.Skip("SCIMBRIDGE_REDIS_URL is not set: `make test` starts redis-server and sets it")
	}
	return redisServer{url: u}
}

// ownRedis starts a redis-server of the test's own (scripts/redis-start.sh:
// noeviction, AOF), for tests that kill it.
func ownRedis(t testing.TB) redisServer {
	t.Helper()
	sharedRedis(t) // the same gate: the variable says redis-server is wanted
	cmd := exec.Command(repoRoot + "/scripts/redis-start.sh")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "redis-start.sh: %s", stderr.String())
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	r := redisServer{url: env["SCIMBRIDGE_REDIS_URL"], dir: env["SCIMBRIDGE_REDIS_DIR"]}
	require.NotEmpty(t, r.dir, "redis-start.sh printed %q", out)
	t.Cleanup(func() { _ = exec.Command(repoRoot+"/scripts/redis-stop.sh", r.dir).Run() })
	return r
}

// kill kills a private redis-server with SIGKILL and waits until it is gone.
func (r redisServer) kill(t testing.TB) {
	t.Helper()
	require.NotEmpty(t, r.dir, "only a private redis-server is killed")
	pid := pidOf(t, r.dir+"/redis.pid")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	waitExit(t, pid, "redis-server")
}

// restart starts a killed private redis-server again on its port and AOF;
// it returns once the server answers (after loading the AOF).
func (r redisServer) restart(t testing.TB) {
	t.Helper()
	out, err := exec.Command("sh", r.dir+"/restart").CombinedOutput()
	require.NoError(t, err, "redis restart: %s", out)
}

// stateBlock is a state block for this Redis with a key prefix of the
// test's own, so that tests sharing one Redis do not see each other's
// tokens, records or jobs; the keys are deleted when the test ends. It also
// returns an observer store on the same keys, for the test to watch the
// queue.
func (r redisServer) stateBlock(t testing.TB) (string, *redisstate.Store) {
	t.Helper()
	prefix := "fault-" + strings.ToLower(rand.Text()[:12]) + ":"
	st, err := redisstate.Open(context.Background(), redisstate.Options{URL: r.url, KeyPrefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = st.Close()
		opts, err := redis.ParseURL(r.url)
		if err != nil {
			return
		}
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			_ = c.Del(ctx, iter.Val()).Err()
		}
	})
	return fmt.Sprintf(`{ redis: { url: '%s', key_prefix: '%s' } }`, r.url, prefix), st
}

// waitDrained waits until the tenant's queue holds nothing pending or
// leased, and fails if anything was dead-lettered.
func waitDrained(t testing.TB, q state.Queue, within time.Duration) state.QueueStats {
	t.Helper()
	var st state.QueueStats
	var err error
	require.Eventually(t, func() bool {
		st, err = q.Stats(context.Background(), "default")
		return err == nil && st.Depth() == 0
	}, within, 100*time.Millisecond, "queue not drained: %+v, %v", st, err)
	if st.Dead > 0 {
		dead, _ := q.List(context.Background(), state.JobFilter{Tenant: "default", State: state.JobDead}, 20)
		for _, j := range dead {
			t.Logf("dead job %s %s %s: %s", j.ID, j.Op, j.Resource, j.LastError)
		}
	}
	require.Zero(t, st.Dead, "nothing dead-lettered")
	return st
}

// call sends one Entra-shaped request without failing the test, so that
// client goroutines may use it; the test goroutine checks what it returns.
func (s *stack) call(method, pathAndQuery string, body any) (answer, error) {
	return s.callContext(context.Background(), method, pathAndQuery, body)
}

// request is an Entra-shaped request: bearer token, scim+json body.
func (s *stack) request(ctx context.Context, method, pathAndQuery string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+pathAndQuery, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	return req, nil
}

// callContext is call within ctx: a context that ends is Entra giving up
// on the answer.
func (s *stack) callContext(ctx context.Context, method, pathAndQuery string, body any) (answer, error) {
	req, err := s.request(ctx, method, pathAndQuery, body)
	if err != nil {
		return answer{}, err
	}
	client := &http.Client{Timeout: 60 * time.Second} // Entra's own limit
	if s.srv != nil {
		client = s.srv.Client()
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			return a, fmt.Errorf("answer %d is not JSON: %s", resp.StatusCode, raw)
		}
	}
	return a, nil
}

// sent is one request of a stream and its answer, kept for the test
// goroutine to check.
type sent struct {
	what    string
	status  int
	retry   string // Retry-After
	took    time.Duration
	id      string
	err     error
	rawBody string
}

// send is call, recorded.
func (s *stack) send(what, method, pathAndQuery string, body any) sent {
	start := time.Now()
	a, err := s.call(method, pathAndQuery, body)
	r := sent{what: what, status: a.status, retry: a.header.Get("Retry-After"), took: time.Since(start), err: err, rawBody: a.raw}
	if id, ok := a.body["id"].(string); ok {
		r.id = id
	}
	return r
}

// Entra-shaped bodies (docs/entra.md §2).

const patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// newUser is Entra's create, with the names given.
func newUser(ext, upn, given, family string) map[string]any {
	return map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"externalId": ext, "userName": upn, "active": true,
		"emails": []any{map[string]any{"primary": true, "type": "work", "value": upn}},
		"meta":   map[string]any{"resourceType": "User"},
		"name":   map[string]any{"formatted": given + " " + family, "familyName": family, "givenName": given},
		"roles":  []any{},
	}
}

// newUserAttrs is what newUser becomes in the directory.
func newUserAttrs(upn, given, family string) dirUser {
	return dirUser{"uid": upn, "mail": upn, "givenName": given, "sn": family, "cn": given + " " + family, "scimActive": "TRUE"}
}

// replace is a PATCH with Entra's Replace operations, path → value, in
// path order.
func replace(pathValues ...string) map[string]any {
	var ops []any
	for i := 0; i+1 < len(pathValues); i += 2 {
		ops = append(ops, map[string]any{"op": "Replace", "path": pathValues[i], "value": pathValues[i+1]})
	}
	return map[string]any{"schemas": []string{patchSchema}, "Operations": ops}
}

// addMembers is Entra's member add.
func addMembers(ids ...string) map[string]any {
	var vals []any
	for _, id := range ids {
		vals = append(vals, map[string]any{"$ref": nil, "value": id})
	}
	return map[string]any{"schemas": []string{patchSchema}, "Operations": []any{map[string]any{"op": "Add", "path": "members", "value": vals}}}
}

// newGroup is Entra's create of an empty group.
func newGroup(ext, name string) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "externalId": ext,
		"displayName": name, "members": []any{}, "meta": map[string]any{"resourceType": "Group"}}
}

// sortedStrings returns a sorted copy.
func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// buildBinary builds the scimbridge command for tests that run `serve` as
// a process of its own.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scimbridge")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// serveConfig writes a configuration for `serve` with one tenant
// "default" on the shipped OpenLDAP mapping. extra is appended at the top
// level (limits, queue).
func serveConfig(t testing.TB, listen, stateBlock, backend, extra string) string {
	t.Helper()
	return serveConfigOn(t, "entra-to-openldap.yaml", listen, stateBlock, backend, extra)
}

// serveConfigOn is serveConfig with another of the shipped mappings.
func serveConfigOn(t testing.TB, mapping, listen, stateBlock, backend, extra string) string {
	t.Helper()
	dir := t.TempDir()
	mappingPath, err := filepath.Abs(filepath.Join(repoRoot, "configs/mappings", mapping))
	require.NoError(t, err)
	cfg := fmt.Sprintf(`listen: %s
public_url: http://%s
log: { level: info, format: json }
state: %s
tokens: { file: %s }
%s
tenants:
  - name: default
    backend: %s
    mapping: %s
`, listen, listen, stateBlock, filepath.Join(dir, "token.txt"), extra, backend, mappingPath)
	path := filepath.Join(dir, "bridge.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path
}

// bridgeProcess is `scimbridge serve` running as a process of its own.
type bridgeProcess struct {
	cmd  *exec.Cmd
	log  *lockedBuffer // stdout and stderr
	done chan struct{}
}

// startServe starts `serve` and returns once it serves.
func startServe(t testing.TB, bin, cfgPath string) *bridgeProcess {
	t.Helper()
	p := &bridgeProcess{cmd: exec.Command(bin, "serve", "--config", cfgPath), log: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("serve's output:\n%s", p.log.String())
		}
	})
	require.Eventually(t, func() bool {
		select {
		case <-p.done:
			return true
		default:
		}
		return strings.Contains(p.log.String(), `"@message":"serving"`)
	}, 30*time.Second, 50*time.Millisecond)
	select {
	case <-p.done:
		t.Fatalf("serve exited: %s", p.log.String())
	default:
	}
	return p
}

// kill kills the process with SIGKILL: no shutdown, no lease given back.
func (p *bridgeProcess) kill(t testing.TB) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not die on SIGKILL")
	}
}

// processStack is the HTTP side of a bridge process: the Tenant URL and the
// token serve wrote to its token file on first start.
func processStack(t testing.TB, listen, cfgPath string) *stack {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(filepath.Dir(cfgPath), "token.txt"))
	require.NoError(t, err)
	m := tokenRE.FindStringSubmatch(string(body))
	require.NotNil(t, m, "no token in %s", body)
	return &stack{t: t, token: m[1], base: "http://" + listen + "/scim/default/v2"}
}

// untilDone repeats a write the way Entra does after a 503 (its retry of
// the same request), until it is answered otherwise or within runs out.
func (s *stack) untilDone(what, method, pathAndQuery string, body any, within time.Duration) sent {
	deadline := time.Now().Add(within)
	for {
		r := s.send(what, method, pathAndQuery, body)
		if (r.err == nil && r.status != 503) || time.Now().After(deadline) {
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// answerLost sends a request and closes the connection as soon as the
// answer's status line arrives: the write is done, and Entra never sees
// that it was. It returns the status line.
func answerLost(t testing.TB, s *stack, method, pathAndQuery string, body any) string {
	t.Helper()
	req, err := s.request(context.Background(), method, pathAndQuery, body)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", req.URL.Host)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	require.NoError(t, req.Write(conn))
	line, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	return line
}
