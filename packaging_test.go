package scimbridge

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The packaging tests check what an operator installs: the container file,
// the systemd unit and the release binaries. Docker cannot build here, so
// the container file is parsed, its build command is run as written, and
// the binary it builds is run the way the image would run it.

// requireTool finds a command the packaging tests need, or skips (fails
// under CI=true): scripts/tools-install.sh installs them for make test.
func requireTool(tb testing.TB, name, pkg string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/bin", "/usr/sbin", "/bin", "/sbin"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode()&0o111 != 0 {
			return filepath.Join(dir, name)
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is not installed, and CI must run this test: scripts/tools-install.sh installs Debian's %s package (make test runs it)", name, pkg)
	}
	tb.Skipf("%s is not installed: run scripts/tools-install.sh (Debian's %s package)", name, pkg)
	return ""
}

// instruction is one Containerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

// parseContainerfile reads the instructions of a Containerfile: comments
// and blank lines dropped, backslash continuations joined.
func parseContainerfile(tb testing.TB, path string) []instruction {
	tb.Helper()
	f, err := os.Open(path)
	require.NoError(tb, err)
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	require.NoError(tb, sc.Err())
	require.Zero(tb, cur.Len(), "%s ends inside a continued line", path)
	return out
}

// stage is one FROM ... of a Containerfile and the instructions under it.
type stage struct {
	from, name string
	ins        []instruction
}

func stages(ins []instruction) []stage {
	var out []stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			out = append(out, s)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].ins = append(out[len(out)-1].ins, in)
		}
	}
	return out
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s stage) one(tb testing.TB, cmd string) instruction {
	tb.Helper()
	all := s.all(cmd)
	require.Len(tb, all, 1, "the %s stage has one %s", s.from, cmd)
	return all[0]
}

// envOf reads ENV's KEY=value pairs.
func envOf(ins []instruction) map[string]string {
	env := map[string]string{}
	for _, in := range ins {
		if in.cmd != "ENV" {
			continue
		}
		for _, kv := range strings.Fields(in.args) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	return env
}

// execForm reads a JSON-array (exec form) argument list.
func execForm(tb testing.TB, in instruction, s string) []string {
	tb.Helper()
	m := regexp.MustCompile(`^\[(.*)\]$`).FindStringSubmatch(strings.TrimSpace(s))
	require.NotNil(tb, m, "line %d: %s must use the exec form [\"...\"], so that no shell is needed (distroless has none)", in.line, in.cmd)
	var out []string
	for _, a := range strings.Split(m[1], ",") {
		out = append(out, strings.Trim(strings.TrimSpace(a), `"`))
	}
	return out
}

var (
	staticOnce sync.Once
	staticBin  string
	staticErr  error
)

// releaseFlags are the build flags of scripts/release.sh, which the
// Containerfile must use too.
var releaseFlags = []string{"-trimpath", "-ldflags", "-s -w -X main.version=${VERSION}"}

// goBuild parses a `CGO_ENABLED=0 ... go build FLAGS -o OUT PKG` command
// line (the Containerfile's RUN) into its environment, flags, output and
// package.
func goBuild(tb testing.TB, line string) (env []string, flags []string, out, pkg string) {
	tb.Helper()
	var words []string
	for _, m := range regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(line, -1) {
		words = append(words, strings.Trim(m, `"`))
	}
	i := 0
	for ; i < len(words) && strings.Contains(words[i], "="); i++ {
		env = append(env, words[i])
	}
	require.Greater(tb, len(words), i+2, "not a go build: %s", line)
	require.Equal(tb, []string{"go", "build"}, words[i:i+2], "not a go build: %s", line)
	rest := words[i+2:]
	for j := 0; j < len(rest); j++ {
		switch {
		case rest[j] == "-o":
			out = rest[j+1]
			j++
		case strings.HasPrefix(rest[j], "-"):
			flags = append(flags, rest[j])
			if rest[j] == "-ldflags" {
				flags = append(flags, rest[j+1])
				j++
			}
		default:
			pkg = rest[j]
		}
	}
	return env, flags, out, pkg
}

// TestContainerfile checks configs/container/Containerfile as far as it can
// be without docker: a build stage and a final stage; the final image runs
// as a non-root user, with the exec-form HEALTHCHECK on the binary it
// copies, its data directory the only volume, working directory and
// SCIMBRIDGE_DATA_DIR, and its port exposed; the build is release.sh's
// static build. Then it runs that build as written and runs the binary the
// way the image would: serve with the image's environment, the HEALTHCHECK
// command answering 0 while it serves and non-zero once it is gone.
func TestContainerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ins := parseContainerfile(t, "configs/container/Containerfile")
	st := stages(ins)
	require.Len(t, st, 2, "a build stage and the image")
	build, final := st[0], st[1]
	require.Equal(t, "build", build.name)
	require.Contains(t, final.from, "distroless/static", "a base with no shell, libc or package manager")

	user := final.one(t, "USER").args
	require.NotContains(t, []string{"root", "0", "0:0"}, user)
	require.NotRegexp(t, `^0(:|$)`, user, "not uid 0")

	var binary string
	for _, c := range final.all("COPY") {
		f := strings.Fields(c.args)
		if f[0] == "--from=build" && strings.HasSuffix(f[1], "/scimbridge") {
			binary = f[len(f)-1]
		}
		if !strings.HasPrefix(f[0], "--from=") {
			_, err := os.Stat(f[0])
			require.NoError(t, err, "line %d copies %s from the repository", c.line, f[0])
		}
	}
	require.NotEmpty(t, binary, "the image copies the built binary")
	entry := execForm(t, final.one(t, "ENTRYPOINT"), final.one(t, "ENTRYPOINT").args)
	require.Equal(t, []string{binary}, entry)
	cmd := execForm(t, final.one(t, "CMD"), final.one(t, "CMD").args)
	hc := final.one(t, "HEALTHCHECK")
	hcArgs := hc.args[strings.Index(hc.args, "CMD ")+len("CMD "):]
	health := execForm(t, hc, hcArgs)
	require.Equal(t, binary, health[0], "the health check runs the bridge's own binary (no curl in the image)")

	env := envOf(final.ins)
	data := env["SCIMBRIDGE_DATA_DIR"]
	require.NotEmpty(t, data)
	require.Equal(t, []string{data}, execForm(t, final.one(t, "VOLUME"), final.one(t, "VOLUME").args), "the data directory is the one volume: the root file system can be read-only")
	require.Equal(t, data, final.one(t, "WORKDIR").args, "relative paths land in the volume too")
	_, port, err := net.SplitHostPort(env["SCIMBRIDGE_LISTEN"])
	require.NoError(t, err)
	require.Equal(t, port, final.one(t, "EXPOSE").args)
	require.NotEmpty(t, env["SCIMBRIDGE_CONFIG"])

	// The build: release.sh's flags, static, and it runs.
	var buildLine string
	for _, r := range build.all("RUN") {
		if strings.Contains(r.args, "go build") {
			buildLine = r.args
		}
	}
	require.NotEmpty(t, buildLine, "the build stage runs go build")
	benv, flags, out, pkg := goBuild(t, buildLine)
	require.Contains(t, benv, "CGO_ENABLED=0", "a static binary")
	require.Equal(t, releaseFlags, flags, "the flags of scripts/release.sh")
	require.Equal(t, "./bridge/cmd/scimbridge", pkg)
	releaseScript, err := os.ReadFile("scripts/release.sh")
	require.NoError(t, err)
	require.Contains(t, string(releaseScript), `go build -trimpath \`+"\n"+`		-ldflags "-s -w -X main.version=$VERSION"`, "release.sh builds with the same flags")

	bin := filepath.Join(t.TempDir(), filepath.Base(out))
	args := []string{"build"}
	for _, f := range flags {
		args = append(args, strings.ReplaceAll(f, "${VERSION}", "v0.0.0-container"))
	}
	args = append(args, "-o", bin, pkg)
	gb := exec.Command("go", args...)
	gb.Env = append(os.Environ(), benv...)
	o, err := gb.CombinedOutput()
	require.NoError(t, err, "%s", o)
	requireStatic(t, bin)
	v, err := exec.Command(bin, "--version").CombinedOutput()
	require.NoError(t, err, "%s", v)
	require.True(t, strings.HasPrefix(string(v), "scimbridge v0.0.0-container "), "%q", v)

	// Run it as the image does. The image's /etc/scimbridge is the
	// repository's configs/.
	configs, err := filepath.Abs("configs")
	require.NoError(t, err)
	dataDir := t.TempDir()
	listen := freeListen(t)
	runEnv := append(os.Environ(),
		"SCIMBRIDGE_CONFIG="+strings.Replace(env["SCIMBRIDGE_CONFIG"], "/etc/scimbridge", configs, 1),
		"SCIMBRIDGE_DATA_DIR="+dataDir,
		"SCIMBRIDGE_LISTEN="+listen,
		"SCIMBRIDGE_PUBLIC_URL=http://"+listen,
	)
	before := gitStatus(t)
	srv := exec.Command(entry[0], cmd...)
	srv.Path = bin
	srv.Dir = dataDir
	srv.Env = runEnv
	var log lockedBuffer
	srv.Stdout, srv.Stderr = &log, &log
	require.NoError(t, srv.Start())
	done := make(chan struct{})
	go func() { _ = srv.Wait(); close(done) }()
	defer func() { _ = srv.Process.Kill(); <-done }()

	check := func() error {
		c := exec.Command(bin, health[1:]...)
		c.Dir, c.Env = dataDir, runEnv
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	require.Eventually(t, func() bool { return check() == nil }, 30*time.Second, 200*time.Millisecond, "the health check never passed; serve said:\n%s", &log)
	_, err = os.Stat(filepath.Join(dataDir, "state.db"))
	require.NoError(t, err, "the state lands in the data directory")
	require.Equal(t, before, gitStatus(t), "serve wrote nothing into the configuration (read-only in the image)")
	require.NoError(t, srv.Process.Kill())
	<-done
	require.Error(t, check(), "the health check fails once the bridge is gone")
}

// requireStatic fails unless bin is an ELF executable with no dynamic
// loader and no shared library: it runs on a base image with no libc.
func requireStatic(tb testing.TB, bin string) {
	tb.Helper()
	f, err := elf.Open(bin)
	require.NoError(tb, err)
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(tb, elf.PT_INTERP, p.Type, "%s asks for a dynamic loader", bin)
	}
	libs, err := f.ImportedLibraries()
	require.NoError(tb, err)
	require.Empty(tb, libs, "%s links shared libraries", bin)
}

func freeListen(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer l.Close()
	return l.Addr().String()
}

// gitStatus is `git status --porcelain` of configs/, to see that a run
// wrote nothing there.
func gitStatus(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("git", "status", "--porcelain", "--ignored", "configs").CombinedOutput()
	if err != nil {
		tb.Logf("git status: %v: %s (not a checkout: skipping the read-only check)", err, out)
		return ""
	}
	return string(out)
}

// lockedBuffer is a bytes.Buffer safe for a process's output and the test.
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

// TestSystemdUnit checks configs/systemd/scimbridge.service with
// systemd-analyze verify (which reports unknown keys, bad values and a
// missing binary), the binary path pointed at a real build, and that it
// keeps the hardening it promises.
func TestSystemdUnit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	analyze := requireTool(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile("configs/systemd/scimbridge.service")
	require.NoError(t, err)
	keys := map[string][]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = append(keys[k], v)
		}
	}
	for k, want := range map[string]string{
		"DynamicUser": "yes", "ProtectSystem": "strict", "StateDirectory": "scimbridge",
		"NoNewPrivileges": "yes", "PrivateTmp": "yes", "ProtectHome": "yes", "CapabilityBoundingSet": "",
		"ExecReload": "/bin/kill -HUP $MAINPID", "Environment": "SCIMBRIDGE_DATA_DIR=/var/lib/scimbridge",
	} {
		require.Equal(t, []string{want}, keys[k], "%s", k)
	}
	exec0 := strings.Fields(keys["ExecStart"][0])
	require.Equal(t, "/usr/local/bin/scimbridge", exec0[0])

	bin := buildStatic(t)
	verify := func(text string) string {
		p := filepath.Join(t.TempDir(), "scimbridge.service")
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		out, _ := exec.Command(analyze, "verify", "--man=no", p).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	local := strings.ReplaceAll(string(unit), "/usr/local/bin/scimbridge", bin)
	require.Empty(t, verify(local), "systemd-analyze verify")
	// The check can fail: a misspelt key is reported.
	require.Contains(t, verify(strings.Replace(local, "ProtectHome=yes", "ProtectHomes=yes", 1)), "Unknown key")

	// The command line it runs is one the binary takes.
	help, err := exec.Command(bin, append(exec0[1:], "--help")...).CombinedOutput()
	require.NoError(t, err, "%s", help)
	require.Contains(t, string(help), "--config")
}

// buildStatic builds the release binary once for the tests that need one.
func buildStatic(tb testing.TB) string {
	tb.Helper()
	staticOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scimbridge-static-")
		if err != nil {
			staticErr = err
			return
		}
		staticBin = filepath.Join(dir, "scimbridge")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=v0.0.0-static", "-o", staticBin, "./bridge/cmd/scimbridge")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			staticErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	require.NoError(tb, staticErr)
	return staticBin
}

// TestRelease runs scripts/release.sh (what make release runs) for
// linux/amd64: a static binary named by the version, which prints it, and
// a SHA256SUMS that sha256sum -c accepts. make release builds linux/arm64
// the same way (its default PLATFORMS); building it here too would double
// the test's time for the same script.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	mk, err := os.ReadFile("Makefile")
	require.NoError(t, err)
	require.Contains(t, string(mk), "scripts/release.sh")
	script, err := os.ReadFile("scripts/release.sh")
	require.NoError(t, err)
	require.Contains(t, string(script), `PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64}`)

	out := t.TempDir()
	cmd := exec.Command("scripts/release.sh", out)
	cmd.Env = append(os.Environ(), "VERSION=v1.2.3-test", "PLATFORMS=linux/amd64")
	o, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", o)
	name := "scimbridge-v1.2.3-test-linux-amd64"
	bin := filepath.Join(out, name)
	requireStatic(t, bin)
	v, err := exec.Command(bin, "version").CombinedOutput()
	require.NoError(t, err, "%s", v)
	require.True(t, strings.HasPrefix(string(v), "scimbridge v1.2.3-test "), "%q", v)
	require.Contains(t, string(v), "linux/amd64")

	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	require.NoError(t, err)
	body, err := os.ReadFile(bin)
	require.NoError(t, err)
	sum := sha256.Sum256(body)
	require.Equal(t, hex.EncodeToString(sum[:])+"  "+name+"\n", string(sums))
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = out
	o, err = check.CombinedOutput()
	require.NoError(t, err, "%s", o)

	bad := exec.Command("scripts/release.sh", out)
	bad.Env = append(os.Environ(), "VERSION=../evil", "PLATFORMS=linux/amd64")
	o, err = bad.CombinedOutput()
	require.Error(t, err, "a version that is no file name is refused")
	require.Contains(t, string(o), "only letters")
}
