package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// servers are the directory and the Redis server a run measures against:
// the ones the environment names (as `make bench` and `make test` export
// them), or throwaway ones started here through the project's scripts and
// stopped by stop.
type servers struct {
	ldapURL, bindDN, password, suffix string
	redisURL                          string
	// startedLDAP and startedRedis say the run owns them (and may leave
	// its entries behind: they are thrown away).
	startedLDAP, startedRedis bool
	stops                     []func()
}

// startServers finds or starts slapd, and redis-server when needRedis.
func startServers(ctx context.Context, root string, needRedis bool, log io.Writer) (s *servers, err error) {
	s = &servers{}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if os.Getenv("SCIMBRIDGE_LDAP_URL") == "" {
		env, err := runStartScript(ctx, root, "slapd-start.sh", log)
		if err != nil {
			return s, err
		}
		dir := env["SCIMBRIDGE_LDAP_DIR"]
		s.stops = append(s.stops, func() { runStopScript(root, "slapd-stop.sh", dir, log) })
		s.startedLDAP = true
		s.ldapURL, s.bindDN, s.password, s.suffix = env["SCIMBRIDGE_LDAP_URL"], env["SCIMBRIDGE_LDAP_BIND_DN"],
			env["SCIMBRIDGE_LDAP_PASSWORD"], env["SCIMBRIDGE_LDAP_BASE_DN"]
	} else {
		s.ldapURL = os.Getenv("SCIMBRIDGE_LDAP_URL")
		s.bindDN = envOr("SCIMBRIDGE_LDAP_BIND_DN", "cn=admin,dc=example,dc=org")
		s.password = envOr("SCIMBRIDGE_LDAP_PASSWORD", "admin")
		s.suffix = envOr("SCIMBRIDGE_LDAP_BASE_DN", "dc=example,dc=org")
	}
	if !needRedis {
		return s, nil
	}
	if os.Getenv("SCIMBRIDGE_REDIS_URL") == "" {
		env, err := runStartScript(ctx, root, "redis-start.sh", log)
		if err != nil {
			return s, err
		}
		dir := env["SCIMBRIDGE_REDIS_DIR"]
		s.stops = append(s.stops, func() { runStopScript(root, "redis-stop.sh", dir, log) })
		s.startedRedis = true
		s.redisURL = env["SCIMBRIDGE_REDIS_URL"]
	} else {
		s.redisURL = os.Getenv("SCIMBRIDGE_REDIS_URL")
	}
	return s, nil
}

// stop stops what startServers started, last first.
func (s *servers) stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// runStartScript runs scripts/<name> and returns the variables of its
// `export NAME='value'` lines (its only stdout); its log goes to log.
func runStartScript(ctx context.Context, root, name string, log io.Writer) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", name))
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("scripts/%s: %w", name, err)
	}
	env := parseExports(out.String())
	if len(env) == 0 {
		return nil, fmt.Errorf("scripts/%s printed no export lines", name)
	}
	return env, nil
}

// parseExports reads `export NAME='value'` lines (the start scripts quote
// every value in single quotes, which never occur inside one).
func parseExports(text string) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'' {
			value = value[1 : len(value)-1]
		}
		env[name] = value
	}
	return env
}

func runStopScript(root, name, dir string, log io.Writer) {
	if dir == "" {
		return
	}
	cmd := exec.Command(filepath.Join(root, "scripts", name), dir)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(log, "bench: scripts/%s %s: %v\n", name, dir, err)
	}
}

// repoRoot finds the module's root from the working directory (the
// repository root under `go run ./scripts/bench`, scripts/bench under
// `go test`).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/scimbridge/scimbridge\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the scimbridge module (no go.mod of github.com/scimbridge/scimbridge above the working directory)")
		}
		dir = parent
	}
}
