package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// run executes the scimbridge command line in-process.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// writeTestConfig writes a config for the embedded default into a temp dir.
func writeTestConfig(t *testing.T, listen string) (cfgPath, dir string) {
	t.Helper()
	dir = t.TempDir()
	mappingPath, err := filepath.Abs(filepath.Join(repoRoot, "configs/mappings/entra-to-pharos.yaml"))
	require.NoError(t, err)
	cfg := fmt.Sprintf(`listen: %s
public_url: http://%s
log: { level: info, format: json }
state: { sqlite: { path: %s } }
tokens: { file: %s }
tenants:
  - name: acme
    backend: { type: pharos, config: { driver: sqlite, dsn: %s, init: true } }
    mapping: %s
`, listen, listen, filepath.Join(dir, "state.db"), filepath.Join(dir, "token.txt"), filepath.Join(dir, "pharos.db"), mappingPath)
	cfgPath = filepath.Join(dir, "bridge.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	return cfgPath, dir
}

var tokenRE = regexp.MustCompile(`secret_token: (scimb_[A-Za-z0-9_-]{43})`)

func TestTokenCommands(t *testing.T) {
	cfg, dir := writeTestConfig(t, "127.0.0.1:8080")
	out, err := run(t, "token", "generate", "--config", cfg, "--tenant", "acme")
	require.NoError(t, err)
	require.Contains(t, out, "tenant_url: http://127.0.0.1:8080/scim/acme/v2")
	first := tokenRE.FindStringSubmatch(out)
	require.NotNil(t, first, out)

	outFile := filepath.Join(dir, "new-token.txt")
	out, err = run(t, "token", "regenerate", "--config", cfg, "--tenant", "acme", "--out", outFile)
	require.NoError(t, err)
	require.NotContains(t, out, "scimb_", "with --out the token is not printed")
	fi, err := os.Stat(outFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	body, err := os.ReadFile(outFile)
	require.NoError(t, err)
	second := tokenRE.FindStringSubmatch(string(body))
	require.NotNil(t, second)
	require.NotEqual(t, first[1], second[1])
	require.Contains(t, string(body), "previous tokens keep working until")

	out, err = run(t, "token", "list", "--config", cfg)
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(out, "\n"), out) // header + two tokens
	require.Contains(t, out, "valid (")
	require.NotContains(t, out, "scimb_")
	require.NotContains(t, out, "sha256:")

	_, err = run(t, "token", "generate", "--config", cfg, "--tenant", "nobody")
	require.ErrorContains(t, err, `no tenant "nobody"`)
	_, err = run(t, "token", "generate", "--config", cfg)
	require.ErrorContains(t, err, "tenant")
}

func TestMappingCheck(t *testing.T) {
	out, err := run(t, "mapping", "check", "--config", filepath.Join(repoRoot, "configs/bridge.yaml"))
	require.NoError(t, err)
	require.Contains(t, out, "tenant default: backend pharos")

	// A broken mapping: every error, each with its line and column.
	dir := t.TempDir()
	bad := `users:
  target: {table: users, key: id}
  attributes:
    - {scim: userName, target: login, match: 2, required: true}
    - {scim: externalId, target: external_id, match: 1, colour: blue}
    - {scim: 'emails[type eq', target: email}
    - {scim: title, target: title, toTarget: 'value +* 2'}
groups:
  target: {table: groups, key: id}
  attributes:
    - {scim: displayName, target: name, match: 1}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(bad), 0o600))
	cfg := "tenants:\n  - name: t\n    backend: { type: pharos, config: { dsn: x.db } }\n    mapping: m.yaml\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bridge.yaml"), []byte(cfg), 0o600))
	_, err = run(t, "mapping", "check", "--config", filepath.Join(dir, "bridge.yaml"))
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"m.yaml:5:", "colour", "m.yaml:6:", "m.yaml:7:"} {
		require.Contains(t, msg, want)
	}
}

func TestMappingTestDryRun(t *testing.T) {
	cfg, dir := writeTestConfig(t, "127.0.0.1:8080")
	userFile := filepath.Join(dir, "user.json")
	require.NoError(t, os.WriteFile(userFile, []byte(`{"externalId":"e-1","userName":"dry@contoso.com","active":true,
		"emails":[{"type":"work","value":"dry@contoso.com","primary":true}],"name":{"givenName":"Dry","familyName":"Run"},"nickName":"ignored"}`), 0o600))
	// A dry run creates no store: first it is refused, then it runs on the
	// one pharos init made.
	_, err := run(t, "mapping", "test", "--config", cfg, "--tenant", "acme", "--user", userFile)
	require.ErrorContains(t, err, "a dry run creates nothing")
	_, err = run(t, "pharos", "init", "--driver", "sqlite", "--dsn", filepath.Join(dir, "pharos.db"))
	require.NoError(t, err)
	out, err := run(t, "mapping", "test", "--config", cfg, "--tenant", "acme", "--user", userFile)
	require.NoError(t, err)
	require.Contains(t, out, "would create User with:")
	require.Contains(t, out, `login = "dry@contoso.com"`)
	require.Contains(t, out, `active = "1"`)
	require.NotContains(t, out, "ignored")

	// Nothing was written: the same dry run still says create.
	out, err = run(t, "mapping", "test", "--config", cfg, "--tenant", "acme", "--user", userFile)
	require.NoError(t, err)
	require.Contains(t, out, "would create")

	// Missing mail: the same 400 detail Entra would get.
	require.NoError(t, os.WriteFile(userFile, []byte(`{"externalId":"e-1","userName":"dry@contoso.com"}`), 0o600))
	_, err = run(t, "mapping", "test", "--config", cfg, "--tenant", "acme", "--user", userFile)
	require.ErrorContains(t, err, "emails")
}

func TestPharosInit(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "new", "pharos.db")
	out, err := run(t, "pharos", "init", "--driver", "sqlite", "--dsn", dsn)
	require.NoError(t, err)
	require.Contains(t, out, "Pharos schema ready")
	_, err = os.Stat(dsn)
	require.NoError(t, err)
	// Idempotent.
	_, err = run(t, "pharos", "init", "--driver", "sqlite", "--dsn", dsn)
	require.NoError(t, err)
}

// version and --version print one line: the version, the commit, Go's
// version and the platform.
func TestVersion(t *testing.T) {
	out, err := run(t, "version")
	require.NoError(t, err)
	require.Equal(t, build.String()+"\n", out)
	require.True(t, strings.HasPrefix(out, "scimbridge "+build.Version+" "), out)
	flag, err := run(t, "--version")
	require.NoError(t, err)
	require.Equal(t, out, flag)
}

// A binary the go command built without -X main.version (as `go install
// …/cmd/scimbridge@v1.2.3` does) prints the module version the go command
// recorded in it, which `go version -m` reads back; the linker's version
// wins when make sets one.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	m := regexp.MustCompile(`(?m)^\s+mod\s+github.com/scimbridge/scimbridge\s+(\S+)`).FindStringSubmatch(string(out))
	require.NotNil(t, m, "go version -m shows no module version:\n%s", out)
	for _, arg := range []string{"version", "--version"} {
		got, err := exec.Command(bin, arg).CombinedOutput()
		require.NoError(t, err, "%s", got)
		want := m[1]
		if want == "(devel)" {
			want = "dev" // nothing recorded (a "-<commit>" follows when the go command stamped one)
		}
		require.True(t, strings.HasPrefix(string(got), "scimbridge "+want), "%s printed %q; go version -m says %s", arg, got, m[1])
	}

	linked := filepath.Join(t.TempDir(), "scimbridge")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7", "-o", linked, ".")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := exec.Command(linked, "--version").CombinedOutput()
	require.NoError(t, err, "%s", got)
	require.True(t, strings.HasPrefix(string(got), "scimbridge v9.8.7 "), "%q", got)
}

// serve, as `make run` starts it: first start writes the Tenant URL and
// token to a 0600 file and prints its path, never the token into the log;
// the bridge answers Entra's probe; SIGTERM drains and exits 0.
func TestServeFirstStartAndShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "scimbridge")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	cfg, dir := writeTestConfig(t, addr)

	cmd := exec.Command(bin, "serve", "--config", cfg)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		require.Contains(t, line, filepath.Join(dir, "token.txt"))
	case <-time.After(30 * time.Second):
		t.Fatalf("serve printed nothing; stderr: %s", stderr.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "token.txt"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	body, err := os.ReadFile(filepath.Join(dir, "token.txt"))
	require.NoError(t, err)
	token := tokenRE.FindStringSubmatch(string(body))[1]
	require.Contains(t, string(body), "tenant_url: http://"+addr+"/scim/acme/v2")

	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 20*time.Second, 50*time.Millisecond)
	req, _ := http.NewRequest("GET", base+"/scim/acme/v2/Users?filter="+url.QueryEscape(`userName eq "`+probeGUID+`"`), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(got))
	require.Contains(t, string(got), `"Resources":[]`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "serve exits 0 on SIGTERM; stderr: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	require.NotContains(t, stderr.String(), token, "the token never reaches the log")
	require.Contains(t, stderr.String(), `"stopped"`)

	// A second start finds the token and writes no new one.
	cmd2 := exec.Command(bin, "serve", "--config", cfg)
	var out2 lockedBuffer
	cmd2.Stdout = &out2
	cmd2.Stderr = &out2
	require.NoError(t, cmd2.Start())
	require.Eventually(t, func() bool { return strings.Contains(out2.String(), `"serving"`) }, 20*time.Second, 50*time.Millisecond)
	require.NoError(t, cmd2.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd2.Wait())
	require.NotContains(t, out2.String(), "written to")
	body2, err := os.ReadFile(filepath.Join(dir, "token.txt"))
	require.NoError(t, err)
	require.Equal(t, string(body), string(body2))
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
