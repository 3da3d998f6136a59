package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildBridge builds the bridge binary once per bench run.
func buildBridge(ctx context.Context, root, dir string, log io.Writer) (string, error) {
	bin := filepath.Join(dir, "scimbridge")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bridge/cmd/scimbridge")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./bridge/cmd/scimbridge: %w", err)
	}
	return bin, nil
}

// shippedConfig is the operator's config each state store runs with.
var shippedConfig = map[string]string{
	"redis":  "configs/openldap-redis.yaml",
	"sqlite": "configs/openldap.yaml",
}

// writeConfig writes the shipped config of the store into dir, unchanged
// (comments and ${SCIMBRIDGE_...} references included, which the bridge
// expands before it parses the YAML) but for what a copy elsewhere needs:
// the mapping's absolute path, and, with Redis, a key prefix of the run's
// own (a shared Redis may hold other bridges' keys, tokens included).
// Everything else (listen address, data directory, directory server and
// base DN, Redis URL) comes in through the variables the shipped file
// reads, set by startBridge.
func writeConfig(root, dir, store, keyPrefix string) (string, error) {
	src := filepath.Join(root, shippedConfig[store])
	raw, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(raw), "\n")
	mappings, prefixed := 0, false
	for i, line := range lines {
		if m := mappingLine.FindStringSubmatch(line); m != nil {
			if !filepath.IsAbs(m[2]) {
				lines[i] = m[1] + filepath.Join(filepath.Dir(src), m[2])
			}
			mappings++
		}
		if store == "redis" && redisLine.MatchString(line) {
			lines[i] = redisLine.ReplaceAllString(line, `${1}key_prefix: "`+keyPrefix+`", `)
			prefixed = true
		}
	}
	if mappings == 0 {
		return "", fmt.Errorf("%s: no tenant mapping line found to make absolute", src)
	}
	if store == "redis" && !prefixed {
		return "", fmt.Errorf("%s: no `redis: { ... }` state line found to give a key prefix", src)
	}
	path := filepath.Join(dir, "bridge.yaml")
	header := "# Written by scripts/bench from " + shippedConfig[store] + ": mapping path made absolute" +
		map[bool]string{true: ", Redis key prefix of the run's own", false: ""}[store == "redis"] + ".\n"
	return path, os.WriteFile(path, []byte(header+strings.Join(lines, "\n")), 0o600)
}

var (
	// "    mapping: mappings/entra-to-openldap.yaml" in a tenant.
	mappingLine = regexp.MustCompile(`^(\s+mapping:\s*)(\S+)\s*$`)
	// "  redis: { url: ... }" in the state block (not a comment).
	redisLine = regexp.MustCompile(`^(\s+redis:\s*\{\s*)`)
)

// freePort returns a loopback port nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// bridgeProc is `scimbridge serve` running as a process of its own, so
// that its memory and goroutines are its own.
type bridgeProc struct {
	cmd       *exec.Cmd
	pid       int
	root      string // http://127.0.0.1:PORT
	tenantURL string
	token     string
	pprofURL  string // http://127.0.0.1:PORT/debug/pprof, "" without -profile
	logPath   string
	done      chan struct{}
	waitErr   error

	res *resources
}

// startBridge starts the bridge on a free loopback port with the given
// config and environment, waits for its first-start token file (written
// mode 0600, as an operator gets it) and for /healthz.
func startBridge(ctx context.Context, bin, cfgPath, dir string, env map[string]string, profile bool) (*bridgeProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	root := "http://127.0.0.1:" + strconv.Itoa(port)
	dataDir := filepath.Join(dir, "data")
	full := map[string]string{
		"SCIMBRIDGE_LISTEN":     "127.0.0.1:" + strconv.Itoa(port),
		"SCIMBRIDGE_PUBLIC_URL": root,
		"SCIMBRIDGE_DATA_DIR":   dataDir,
	}
	for k, v := range env {
		full[k] = v
	}
	args := []string{"serve", "--config", cfgPath}
	b := &bridgeProc{root: root, logPath: filepath.Join(dir, "bridge.log"), done: make(chan struct{})}
	if profile {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--pprof", "127.0.0.1:"+strconv.Itoa(pp))
		b.pprofURL = "http://127.0.0.1:" + strconv.Itoa(pp) + "/debug/pprof"
	}
	logf, err := os.OpenFile(b.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	for k, v := range full {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C at the terminal reaches the bench,
	// which stops the bridge itself after the phase in flight.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	b.cmd, b.pid = cmd, cmd.Process.Pid
	go func() {
		b.waitErr = cmd.Wait()
		logf.Close()
		close(b.done)
	}()

	tokenFile := filepath.Join(dataDir, "tenant-token.txt")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if text, err := os.ReadFile(tokenFile); err == nil {
			b.tenantURL, b.token = tokenField(text, "tenant_url"), tokenField(text, "secret_token")
			if b.token != "" && b.tenantURL != "" && b.healthy(ctx) {
				break
			}
		}
		select {
		case <-b.done:
			return nil, fmt.Errorf("the bridge exited at start (%v); its log: %s\n%s", b.waitErr, b.logPath, tail(b.logPath, 20))
		case <-ctx.Done():
			b.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, fmt.Errorf("the bridge wrote no token file %s or did not answer /healthz within 60 s; its log: %s\n%s", tokenFile, b.logPath, tail(b.logPath, 20))
		}
	}
	b.res = newResources(b)
	return b, nil
}

// tokenField reads "name: value" from the token file serve writes.
func tokenField(text []byte, name string) string {
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (b *bridgeProc) healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.root+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// exited reports an unexpected exit of the bridge.
func (b *bridgeProc) exited() error {
	select {
	case <-b.done:
		return fmt.Errorf("the bridge exited (%v); its log: %s\n%s", b.waitErr, b.logPath, tail(b.logPath, 20))
	default:
		return nil
	}
}

// stop sends SIGTERM (the bridge drains and exits), SIGKILL after 30 s.
func (b *bridgeProc) stop() {
	if b.res != nil {
		b.res.close()
	}
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// procStatus reads the resident set (VmRSS) and its peak (VmHWM) of pid,
// in bytes.
func procStatus(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		if name == "VmRSS" {
			rss = kb * 1024
		} else {
			hwm = kb * 1024
		}
	}
	if rss == 0 && hwm == 0 {
		return 0, 0, errors.New("no VmRSS or VmHWM in /proc/" + strconv.Itoa(pid) + "/status")
	}
	return rss, hwm, nil
}

// resetPeak resets the process's VmHWM to its current RSS (clear_refs 5,
// Linux 4.0 and later), so that each phase's peak is its own.
func resetPeak(pid int) bool {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}

// goroutines reads go_goroutines from the bridge's /metrics.
func (b *bridgeProc) goroutines() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.root+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("no go_goroutines in %s/metrics", b.root)
}

// PhaseResources is the bridge process's footprint during one phase.
type PhaseResources struct {
	Phase          string  `json:"phase"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	EndRSSMB       float64 `json:"end_rss_mb"`
	PeakGoroutines int64   `json:"peak_goroutines"`
	// PeakIsHWM says the peak is the kernel's VmHWM since the phase began
	// (reset at its start); false: the highest of the 1 s samples.
	PeakIsHWM bool `json:"peak_is_hwm"`
}

// resources samples the bridge's RSS and goroutines every second and
// keeps each phase's peaks.
type resources struct {
	b      *bridgeProc
	mu     sync.Mutex
	cur    *PhaseResources
	reset  bool
	phases []PhaseResources
	stopc  chan struct{}
	wg     sync.WaitGroup
}

func newResources(b *bridgeProc) *resources {
	r := &resources{b: b, stopc: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-r.stopc:
				return
			case <-t.C:
				r.sample()
			}
		}
	}()
	return r
}

func (r *resources) close() {
	select {
	case <-r.stopc:
	default:
		close(r.stopc)
	}
	r.wg.Wait()
}

func (r *resources) sample() {
	rss, hwm, err := procStatus(r.b.pid)
	g, gerr := r.b.goroutines()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return
	}
	if err == nil {
		peak := rss
		if r.reset {
			peak = max(peak, hwm)
		}
		r.cur.PeakRSSMB = max(r.cur.PeakRSSMB, mb(peak))
	}
	if gerr == nil {
		r.cur.PeakGoroutines = max(r.cur.PeakGoroutines, g)
	}
}

// begin starts a phase: the kernel's peak is reset to the current RSS.
func (r *resources) begin(name string) {
	reset := resetPeak(r.b.pid)
	r.mu.Lock()
	r.cur, r.reset = &PhaseResources{Phase: name, PeakIsHWM: reset}, reset
	r.mu.Unlock()
	r.sample()
}

// end closes the phase with a last sample.
func (r *resources) end() PhaseResources {
	r.sample()
	rss, _, _ := procStatus(r.b.pid)
	r.mu.Lock()
	defer r.mu.Unlock()
	p := *r.cur
	p.EndRSSMB = mb(rss)
	r.phases = append(r.phases, p)
	r.cur = nil
	return p
}

func mb(b int64) float64 { return round1(float64(b) / (1 << 20)) }

// profile saves the bridge's CPU, allocation, block and mutex profiles of
// the next `seconds` seconds into dir as <name>.{cpu,allocs,block,mutex}.pprof
// (delta profiles: only what happened in that window). wait blocks until
// all four are written.
func (b *bridgeProc) profile(dir, name string, seconds int) (wait func() error) {
	if b.pprofURL == "" {
		return func() error { return nil }
	}
	seconds = max(1, seconds)
	kinds := map[string]string{"cpu": "profile", "allocs": "allocs", "block": "block", "mutex": "mutex"}
	errs := make(chan error, len(kinds))
	for kind, endpoint := range kinds {
		go func() {
			errs <- fetchProfile(fmt.Sprintf("%s/%s?seconds=%d", b.pprofURL, endpoint, seconds),
				filepath.Join(dir, name+"."+kind+".pprof"), time.Duration(seconds+60)*time.Second)
		}()
	}
	return func() error {
		var all []error
		for range kinds {
			all = append(all, <-errs)
		}
		return errors.Join(all...)
	}
}

func fetchProfile(url, path string, timeout time.Duration) error {
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, body)
	}
	return os.WriteFile(path, body, 0o644)
}
