package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// twoTenants writes a configuration for `serve` with tenants a and b, each
// on an embedded Pharos store of its own, and extra at the top level; it
// returns the file and each tenant's Pharos database.
func twoTenants(t testing.TB, listen, extra string) (cfgPath string, pharos map[string]string) {
	t.Helper()
	dir := t.TempDir()
	mappingPath, err := filepath.Abs(filepath.Join(repoRoot, "configs/mappings/entra-to-pharos.yaml"))
	require.NoError(t, err)
	pharos = map[string]string{}
	cfg := fmt.Sprintf("listen: %s\nlog: { level: info, format: json }\nstate: { sqlite: { path: %s } }\ntokens: { file: %s }\n%s\ntenants:\n",
		listen, filepath.Join(dir, "state.db"), filepath.Join(dir, "token.txt"), extra)
	for _, name := range []string{"a", "b"} {
		pharos[name] = filepath.Join(dir, name+".db")
		cfg += fmt.Sprintf("  - name: %s\n    backend: { type: pharos, config: { driver: sqlite, dsn: '%s', init: true } }\n    mapping: %s\n", name, pharos[name], mappingPath)
	}
	cfgPath = filepath.Join(dir, "bridge.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	return cfgPath, pharos
}

// tenantStacks reads every tenant's token from the token file serve wrote.
func tenantStacks(t testing.TB, listen, cfgPath string) map[string]*stack {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(filepath.Dir(cfgPath), "token.txt"))
	require.NoError(t, err)
	out := map[string]*stack{}
	for _, m := range regexp.MustCompile(`tenant: (\S+)\ntenant_url: \S+\nsecret_token: (\S+)`).FindAllStringSubmatch(string(body), -1) {
		out[m[1]] = &stack{t: t, token: m[2], base: "http://" + listen + "/scim/" + m[1] + "/v2"}
	}
	return out
}

const probePath = `/Users?filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22`

func scrape(t testing.TB, listen string) string {
	t.Helper()
	resp, err := http.Get("http://" + listen + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// Limits, as serve applies them from its configuration: a tenant over its
// rate gets 429 with Retry-After (and passes again after it) while the
// other tenant is served; a tenant whose target hangs fills its
// concurrency cap, its extra requests get 429, and the other tenant's
// probe still answers at once. The metrics count both.
func TestServeLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	listen := freeAddr(t)
	cfgPath, pharos := twoTenants(t, listen, "limits: { tenant_rate: 4, tenant_burst: 4, tenant_concurrency: 2, request_timeout: 20s, write_retries: 0 }")
	startServe(t, buildBinary(t), cfgPath)
	st := tenantStacks(t, listen, cfgPath)
	a, b := st["a"], st["b"]
	require.NotNil(t, a)
	require.NotNil(t, b)

	// The rate: a burst of 4, then 429.
	var refused *sent
	for i := range 10 {
		r := a.send(fmt.Sprintf("probe %d", i), "GET", probePath, nil)
		require.NoError(t, r.err)
		if r.status == http.StatusTooManyRequests {
			refused = &r
			break
		}
		require.Equal(t, 200, r.status, r.rawBody)
		require.Less(t, i, 6, "the rate let more than its burst through at once")
	}
	require.NotNil(t, refused, "no request was refused")
	require.Contains(t, refused.rawBody, `"status":"429"`)
	require.Contains(t, refused.rawBody, "faster than its limit")
	after, err := strconv.Atoi(refused.retry)
	require.NoError(t, err, "Retry-After %q", refused.retry)
	require.GreaterOrEqual(t, after, 1)
	require.Equal(t, 200, b.send("b's probe", "GET", probePath, nil).status, "the other tenant has its own budget")
	time.Sleep(time.Duration(after) * time.Second)
	require.Equal(t, 200, a.send("after Retry-After", "GET", probePath, nil).status)
	time.Sleep(time.Second) // the bucket refills

	// The cap: a's target hangs (its database is locked for writing).
	db, err := sql.Open("sqlite", pharos["a"])
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(t.Context())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(t.Context(), "BEGIN IMMEDIATE")
	require.NoError(t, err)
	results := make([]sent, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ext := fmt.Sprintf("cap-%d", i)
			results[i] = a.send(ext, "POST", "/Users", newUser(ext, ext+"@contoso.com", "Cap", strconv.Itoa(i)))
		}()
	}
	require.Eventually(t, func() bool {
		return metricValue(t, scrape(t, listen), `scimbridge_limit_in_flight{tenant="a"}`) == "2"
	}, 5*time.Second, 20*time.Millisecond, "a's two slots are taken")
	start := time.Now()
	p := b.send("b's probe while a is stuck", "GET", probePath, nil)
	require.Equal(t, 200, p.status, p.rawBody)
	require.Less(t, time.Since(start), time.Second, "b's probe does not wait behind a")
	time.Sleep(2500 * time.Millisecond) // the waiting requests give up
	_, err = conn.ExecContext(t.Context(), "COMMIT")
	require.NoError(t, err)
	wg.Wait()
	var capped int
	for _, r := range results {
		require.NoError(t, r.err)
		switch r.status {
		case http.StatusTooManyRequests:
			capped++
			require.Equal(t, "1", r.retry)
			require.Contains(t, r.rawBody, "in flight")
		case http.StatusCreated, http.StatusServiceUnavailable: // ran, against the locked database
		default:
			t.Fatalf("%s answered %d: %s", r.what, r.status, r.rawBody)
		}
	}
	require.Equal(t, 2, capped, "two ran, two were refused")

	body := scrape(t, listen)
	require.Equal(t, "2", metricValue(t, body, `scimbridge_limit_refused_total{scope="concurrency",tenant="a"}`))
	require.NotEqual(t, "0", metricValue(t, body, `scimbridge_limit_refused_total{scope="tenant_rate",tenant="a"}`))
	require.Equal(t, "0", metricValue(t, body, `scimbridge_limit_refused_total{scope="concurrency",tenant="b"}`))
	require.Equal(t, "0", metricValue(t, body, `scimbridge_limit_in_flight{tenant="a"}`))
	require.Equal(t, "2", metricValue(t, body, `scimbridge_http_requests_total{method="POST",route="/scim/:tenant/v2/Users",status="429",tenant="a"}`))
}
