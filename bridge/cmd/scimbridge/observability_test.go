package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// The shipped dashboard and alert rules (configs/grafana, configs/prometheus)
// may only use metrics a running bridge exports: a renamed metric would
// leave an empty panel and an alert that never fires, silently.

// metricRef matches a metric name of the bridge in PromQL. The bridge's
// label values never start with scimbridge_, and label names are not
// prefixed, so in these files every match is a metric.
var metricRef = regexp.MustCompile(`\bscimbridge_[a-zA-Z0-9_]+`)

// exprsOfDashboard returns every query of the dashboard, failing unless it
// is valid JSON whose panels each have a title and use the datasource
// variable, with a tenant variable taken from a label.
func exprsOfDashboard(t *testing.T) []string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(repoRoot, "configs/grafana/scimbridge-dashboard.json"))
	require.NoError(t, err)
	type target struct {
		Expr       string         `json:"expr"`
		Datasource map[string]any `json:"datasource"`
	}
	var d struct {
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Query      any    `json:"query"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Type       string         `json:"type"`
			Title      string         `json:"title"`
			Datasource map[string]any `json:"datasource"`
			Targets    []target       `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(body, &d), "the dashboard is JSON")
	require.NotEmpty(t, d.Title)
	require.NotEmpty(t, d.UID)
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type + " " + v.Definition
	}
	require.Equal(t, "datasource ", vars["datasource"], "a datasource variable, so the dashboard imports into any Grafana")
	require.Regexp(t, `^query label_values\(scimbridge_[a-z_]+, tenant\)$`, vars["tenant"], "the tenant variable comes from the tenant label")

	var exprs []string
	panels := 0
	for i, p := range d.Panels {
		require.NotEmpty(t, p.Title, "panel %d has a title", i)
		if p.Type == "row" {
			continue
		}
		panels++
		require.Equal(t, "${datasource}", p.Datasource["uid"], "panel %q uses the datasource variable", p.Title)
		require.NotEmpty(t, p.Targets, "panel %q queries something", p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, "panel %q", p.Title)
			require.Equal(t, "${datasource}", tg.Datasource["uid"], "panel %q", p.Title)
			exprs = append(exprs, tg.Expr)
		}
	}
	require.Greater(t, panels, 10)
	return exprs
}

// exprsOfRules returns the expr of every alert rule.
func exprsOfRules(t *testing.T) []string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(repoRoot, "configs/prometheus/scimbridge-rules.yml"))
	require.NoError(t, err)
	// expr: on one line, or a folded block (>-) of indented lines.
	var exprs []string
	lines := strings.Split(string(body), "\n")
	for i, l := range lines {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "expr:")
		if !ok || k != "" {
			continue
		}
		v = strings.TrimSpace(v)
		if v == ">-" {
			v = ""
			indent := len(l) - len(strings.TrimLeft(l, " "))
			for _, n := range lines[i+1:] {
				if len(n)-len(strings.TrimLeft(n, " ")) <= indent {
					break
				}
				v += " " + strings.TrimSpace(n)
			}
		}
		exprs = append(exprs, v)
	}
	require.Greater(t, len(exprs), 8)
	return exprs
}

// scrapeFamilies reads the metric families (name → type) of an exposition.
func scrapeFamilies(body string) map[string]string {
	fams := map[string]string{}
	for _, l := range strings.Split(body, "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			fams[f[2]] = f[3]
		}
	}
	return fams
}

// exported reports whether the metric name a query uses is a series of a
// family the bridge exports (a histogram's _bucket, _sum and _count
// included) with at least one sample.
func exported(name string, fams map[string]string, body string) bool {
	family := name
	if _, ok := fams[name]; !ok {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, cut := strings.CutSuffix(name, suffix); cut && fams[base] == "histogram" {
				family = base
			}
		}
	}
	if _, ok := fams[family]; !ok {
		return false
	}
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `[{ ]`).MatchString(body)
}

// TestObservabilityMetricsExported runs serve as a process of its own, on
// SQLite state and an LDAP target that does not answer (so that writes are
// queued and the worker attempts them: every labelled series exists, no
// directory needed), makes SCIM requests, scrapes /metrics and checks that
// every metric of the dashboard and the rules has samples. It fails on a
// name the bridge does not export.
func TestObservabilityMetricsExported(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	var names []string
	for _, e := range append(exprsOfDashboard(t), exprsOfRules(t)...) {
		names = append(names, metricRef.FindAllString(e, -1)...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	require.Greater(t, len(names), 10)

	bin := buildBinary(t)
	listen := freeAddr(t)
	dir := t.TempDir()
	backend := fmt.Sprintf(`{ type: ldap, config: { url: 'ldap://%s', bindDN: 'cn=admin,dc=example,dc=org', password: x, baseDN: 'dc=example,dc=org', timeout: 1s } }`, closedPort(t))
	cfg := serveConfig(t, listen, fmt.Sprintf(`{ sqlite: { path: %s } }`, filepath.Join(dir, "state.db")), backend,
		"queue: { base_delay: 100ms, max_delay: 500ms }\nlimits: { write_retries: 0, tenant_rate: 1000 }")
	startServe(t, bin, cfg)
	s := processStack(t, listen, cfg)

	r := s.send("probe", http.MethodGet, "/Users"+filterQ(`userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"`), nil)
	require.NoError(t, r.err)
	r = s.send("create", http.MethodPost, "/Users", newUser("obs-1", "obs1@example.org", "Obs", "One"))
	require.NoError(t, r.err)
	require.Equal(t, http.StatusServiceUnavailable, r.status, "the directory is down: queued")

	scrape := func() string {
		resp, err := http.Get("http://" + listen + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	var body string
	require.Eventually(t, func() bool {
		body = scrape()
		return strings.Contains(body, `scimbridge_worker_attempts_total{class="unavailable",tenant="default"}`)
	}, 20*time.Second, 200*time.Millisecond, "the worker attempts the queued write")
	fams := scrapeFamilies(body)
	for _, n := range names {
		require.True(t, exported(n, fams, body), "%s is used by the dashboard or the rules but the bridge does not export it:\n%s", n, body)
	}
	// The check can fail.
	require.False(t, exported("scimbridge_http_requests", fams, body))
	require.False(t, exported("scimbridge_queue_depth_bucket", fams, body), "_bucket only of a histogram")
}

// openPTY opens a pseudo-terminal pair: the bridge writes to the terminal
// end (tty), the test reads what it drew from the other (ptmx).
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { _ = ptmx.Close() })
	var unlock int32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock)))
	require.Zero(t, e, "unlockpt")
	var n uint32
	_, _, e = syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n)))
	require.Zero(t, e, "ptsname")
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tty.Close() })
	return ptmx, tty
}

// drain reads r in the background; each call of the function it returns
// gives what arrived since the last call, without waiting.
func drain(r io.Reader) func() string {
	chunks := make(chan string, 100)
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			if n > 0 {
				chunks <- string(b[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return func() string {
		select {
		case s := <-chunks:
			return s
		default:
			return ""
		}
	}
}

// TestLogFormatAuto: with log.format auto (the shipped default) serve logs
// readable text on a terminal and one JSON object a line otherwise (a
// service manager, a container, a pipe).
func TestLogFormatAuto(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	run := func(t *testing.T, stderr *os.File, read func() string) string {
		listen := freeAddr(t)
		cfg, _ := writeTestConfig(t, listen)
		body, err := os.ReadFile(cfg)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(cfg, []byte(strings.Replace(string(body), "format: json", "format: auto", 1)), 0o600))
		cmd := exec.Command(bin, "serve", "--config", cfg)
		cmd.Stderr = stderr // the log; stdout has the token file notice
		require.NoError(t, cmd.Start())
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		var out string
		require.Eventually(t, func() bool {
			out += read()
			return strings.Contains(out, "serving")
		}, 30*time.Second, 50*time.Millisecond, "serve never said serving: %s", out)
		return out
	}

	t.Run("pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		defer r.Close()
		out := run(t, w, drain(r))
		_ = w.Close()
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(l), &m), "a JSON object a line: %q", l)
			require.Contains(t, m, "@message")
		}
	})
	t.Run("terminal", func(t *testing.T) {
		ptmx, tty := openPTY(t)
		out := run(t, tty, drain(ptmx))
		require.NotContains(t, out, `"@message"`, "no JSON on a terminal")
		require.Regexp(t, `\[INFO\] +scimbridge[.:a-z-]*: serving`, out, "hclog's text lines: time, level, logger, message")
	})
}
