package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/tlsreload/tlstest"
)

// pharosConfig writes a configuration for `serve` on an embedded Pharos
// store and SQLite state in a directory of its own, with extra at the top
// level (tls, limits); it returns the file's path.
func pharosConfig(t testing.TB, listen, extra string) string {
	t.Helper()
	return pharosConfigWith(t, listen, "", extra)
}

// pharosConfigWith is pharosConfig with a state block of its own (YAML
// flow form); "" is SQLite in the directory.
func pharosConfigWith(t testing.TB, listen, stateBlock, extra string) string {
	t.Helper()
	dir := t.TempDir()
	if stateBlock == "" {
		stateBlock = "{ sqlite: { path: " + filepath.Join(dir, "state.db") + " } }"
	}
	mappingPath, err := filepath.Abs(filepath.Join(repoRoot, "configs/mappings/entra-to-pharos.yaml"))
	require.NoError(t, err)
	cfg := `listen: ` + listen + `
log: { level: info, format: json }
state: ` + stateBlock + `
tokens: { file: ` + filepath.Join(dir, "token.txt") + ` }
` + extra + `
tenants:
  - name: default
    backend: { type: pharos, config: { driver: sqlite, dsn: '` + filepath.Join(dir, "pharos.db") + `', init: true } }
    mapping: ` + mappingPath + `
`
	path := filepath.Join(dir, "bridge.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path
}

// serial is the serial number of the certificate a new TLS connection to
// addr gets.
func servedSerial(t testing.TB, addr string, cfg *tls.Config) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	require.NoError(t, err)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// serve over TLS, from a config file, as an operator runs it: HTTP/2 with
// Entra's requests, the health check passing over TLS, and a renewed
// certificate served after SIGHUP while a connection opened before keeps
// working, with nothing dropped.
func TestServeTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "bridge")
	first := ca.Issue(t, dir, "server", "127.0.0.1")
	listen := freeAddr(t)
	cfgPath := pharosConfig(t, listen, "public_url: https://"+listen+"\ntls: { cert_file: "+first.CertFile+", key_file: "+first.KeyFile+" }\n")
	bin := buildBinary(t)
	p := startServe(t, bin, cfgPath)
	s := processStack(t, listen, cfgPath)
	s.base = "https://" + listen + "/scim/default/v2"

	clientTLS := &tls.Config{RootCAs: ca.Pool()}
	var dials int
	tr := &http.Transport{TLSClientConfig: clientTLS, ForceAttemptHTTP2: true}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials++
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	probe := func() *http.Response {
		req, err := s.request(context.Background(), "GET", `/Users?filter=userName+eq+"7d420df3-9995-4831-a406-ecf8166f5f6a"`, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := probe()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "HTTP/2.0", resp.Proto, "HTTP/2 over TLS")
	require.Equal(t, first.Cert.SerialNumber.String(), servedSerial(t, listen, clientTLS))

	hc := exec.Command(bin, "healthcheck", "--config", cfgPath)
	out, err := hc.CombinedOutput()
	require.NoError(t, err, "health check over TLS: %s", out)

	// Renew: new files, SIGHUP.
	second := ca.Issue(t, dir, "server", "127.0.0.1")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool {
		return servedSerial(t, listen, clientTLS) == second.Cert.SerialNumber.String()
	}, 10*time.Second, 50*time.Millisecond, "the renewed certificate is served")
	require.Eventually(t, func() bool { return strings.Contains(p.log.String(), "TLS certificate loaded") }, 5*time.Second, 20*time.Millisecond)
	resp = probe()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, 1, dials, "the connection from before the reload still serves")

	// A broken renewal keeps the certificate that works.
	require.NoError(t, os.WriteFile(second.KeyFile, []byte("garbage"), 0o600))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool {
		return strings.Contains(p.log.String(), "TLS certificate not reloaded")
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, second.Cert.SerialNumber.String(), servedSerial(t, listen, clientTLS))

	// Plain HTTP on the TLS port is refused.
	plain, err := http.Get("http://" + listen + "/healthz")
	if err == nil {
		plain.Body.Close()
		require.Equal(t, http.StatusBadRequest, plain.StatusCode)
	}
}

// With client_ca_file the listener wants a client certificate (a proxy's,
// for mutual TLS); the health check presents the bridge's own.
func TestServeMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "internal")
	srv := ca.Issue(t, dir, "server", "127.0.0.1")
	proxy := ca.Issue(t, dir, "proxy", "proxy.internal")
	listen := freeAddr(t)
	cfgPath := pharosConfig(t, listen, "tls: { cert_file: "+srv.CertFile+", key_file: "+srv.KeyFile+", client_ca_file: "+ca.File+", min_version: \"1.3\" }\n")
	bin := buildBinary(t)
	startServe(t, bin, cfgPath)

	get := func(certs ...tls.Certificate) error {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: certs}}, Timeout: 10 * time.Second}
		resp, err := c.Get("https://" + listen + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	require.Error(t, get(), "no client certificate")
	pair, err := tls.LoadX509KeyPair(proxy.CertFile, proxy.KeyFile)
	require.NoError(t, err)
	require.NoError(t, get(pair))
	out, err := exec.Command(bin, "healthcheck", "--config", cfgPath).CombinedOutput()
	require.NoError(t, err, "%s", out)
}
