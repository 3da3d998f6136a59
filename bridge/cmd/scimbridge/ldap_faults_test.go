package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/state"
)

// privateSlapd starts a slapd of this test's own (scripts/slapd-start.sh)
// so that pausing and stopping it disturbs no other test. It returns the
// script's variables.
func privateSlapd(t *testing.T) map[string]string {
	t.Helper()
	if os.Getenv("SCIMBRIDGE_LDAP_URL") == "" && os.Getenv("CI") != "true" {
		t.Skip("SCIMBRIDGE_LDAP_URL is not set: `make test` starts slapd (this test starts its own, like make test)")
	}
	cmd := exec.Command(repoRoot + "/scripts/slapd-start.sh")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "slapd-start.sh: %s", stderr.String())
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	require.NotEmpty(t, env["SCIMBRIDGE_LDAP_DIR"], "slapd-start.sh printed %q", out)
	t.Cleanup(func() {
		_ = slapdSignal(env, syscall.SIGCONT)
		_ = exec.Command(repoRoot+"/scripts/slapd-stop.sh", env["SCIMBRIDGE_LDAP_DIR"]).Run()
	})
	return env
}

func slapdSignal(env map[string]string, sig syscall.Signal) error {
	b, err := os.ReadFile(env["SCIMBRIDGE_LDAP_DIR"] + "/slapd.pid")
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, sig); err != nil || sig != syscall.SIGSTOP {
		return err
	}
	// kill returns before the stop takes effect: a slapd thread already
	// working could still answer one request. Wait until every thread is
	// stopped, so that a test's next request meets a frozen directory.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if allThreadsStopped(pid) {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("slapd %d did not stop within 5s of SIGSTOP", pid)
}

// allThreadsStopped reads each thread's state from /proc (field 3 of stat:
// T is stopped by a signal).
func allThreadsStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		// The command name (field 2) is in parentheses and may hold spaces.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		if f := strings.Fields(rest); len(f) == 0 || (f[0] != "T" && f[0] != "t") {
			return false
		}
	}
	return true
}

// With the directory paused or stopped, Entra gets 503 with Retry-After
// within the request deadline (never a hang, never a 401); nothing is half
// written; after recovery the same requests land once; goroutines do not
// pile up.
func TestLDAPDirectoryDownAnswers503(t *testing.T) {
	env := privateSlapd(t)
	backend := fmt.Sprintf(`{ type: ldap, config: { url: '%s', bindDN: '%s', password: '%s', baseDN: '%s', timeout: 1s } }`,
		env["SCIMBRIDGE_LDAP_URL"], env["SCIMBRIDGE_LDAP_BIND_DN"], env["SCIMBRIDGE_LDAP_PASSWORD"], env["SCIMBRIDGE_LDAP_BASE_DN"])
	s := newBridge(t, backend, "configs/mappings/entra-to-openldap.yaml")
	count := func() int {
		c, err := goldap.DialURL(env["SCIMBRIDGE_LDAP_URL"])
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Bind(env["SCIMBRIDGE_LDAP_BIND_DN"], env["SCIMBRIDGE_LDAP_PASSWORD"]))
		res, err := c.Search(goldap.NewSearchRequest("ou=people,"+env["SCIMBRIDGE_LDAP_BASE_DN"], goldap.ScopeSingleLevel,
			goldap.NeverDerefAliases, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"1.1"}, nil))
		require.NoError(t, err)
		return len(res.Entries)
	}
	user := func(i int) map[string]any {
		u := fixture(t, "create-user")
		u["externalId"], u["userName"] = fmt.Sprintf("f-%d", i), fmt.Sprintf("fault%d@contoso.com", i)
		return u
	}
	s.must(201, "POST", "/Users", user(0))
	baseline := runtime.NumGoroutine()

	down := func(what string) {
		t.Helper()
		for i := 1; i <= 3; i++ {
			start := time.Now()
			a := s.do("POST", "/Users", user(i))
			require.Equal(t, 503, a.status, "%s: %s", what, a.raw)
			require.NotEmpty(t, a.header.Get("Retry-After"))
			require.Less(t, time.Since(start), 20*time.Second, "%s: answered within the request deadline", what)
		}
	}
	// Once the directory is back, the worker applies the queued creates and
	// Entra's repeats of them get the stored answers.
	up := func() {
		t.Helper()
		for i := 1; i <= 3; i++ {
			require.Eventually(t, func() bool { return s.do("POST", "/Users", user(i)).status == 201 }, 30*time.Second, 100*time.Millisecond)
		}
		require.Equal(t, 4, count(), "every user once, nothing half-written")
	}

	require.NoError(t, slapdSignal(env, syscall.SIGSTOP))
	down("paused")
	require.NoError(t, slapdSignal(env, syscall.SIGCONT))
	require.Eventually(t, func() bool { return s.do("GET", "/Users?count=1", nil).status == 200 }, 20*time.Second, 100*time.Millisecond)
	up()

	require.NoError(t, slapdSignal(env, syscall.SIGTERM))
	time.Sleep(500 * time.Millisecond)
	for i := 1; i <= 3; i++ {
		a := s.do("DELETE", "/Users/does-not-matter", nil)
		require.Equal(t, 503, a.status, "stopped: %s", a.raw)
	}
	require.NoError(t, exec.Command("sh", env["SCIMBRIDGE_LDAP_DIR"]+"/restart").Run())
	require.Eventually(t, func() bool { return s.do("GET", "/Users?count=1", nil).status == 200 }, 20*time.Second, 100*time.Millisecond)
	a := s.must(201, "POST", "/Users", user(1))
	require.NotEmpty(t, a.body["id"])
	require.Equal(t, 4, count())
	// Nothing is left in the queue: the stopped period's deletes of an
	// unknown id were dead-lettered (404 cannot be fixed by retrying) or
	// done.
	require.Eventually(t, func() bool {
		js, err := s.app.state.List(t.Context(), state.JobFilter{State: state.JobPending}, 10)
		return err == nil && len(js) == 0
	}, 30*time.Second, 100*time.Millisecond)

	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+10 }, 10*time.Second, 100*time.Millisecond,
		"goroutines: %d, baseline %d", runtime.NumGoroutine(), baseline)
}
