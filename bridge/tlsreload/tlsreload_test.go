package tlsreload_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/tlsreload"
	"github.com/scimbridge/scimbridge/bridge/tlsreload/tlstest"
)

// serve runs an HTTPS server on loopback with s's configuration until the
// test ends, answering every request with "ok".
func serve(t *testing.T, s *tlsreload.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Proto) }),
		TLSConfig: s.Config(),
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return l.Addr().String()
}

// client trusts ca and speaks HTTP/2 when offered.
func client(ca *tlstest.CA, certs ...tls.Certificate) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca.Pool(), Certificates: certs},
		ForceAttemptHTTP2: true,
	}, Timeout: 10 * time.Second}
}

// served is the serial of the certificate a fresh handshake gets.
func served(t *testing.T, addr string, ca *tlstest.CA) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
	require.NoError(t, err)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// A renewed certificate is served from the next handshake on, while a
// connection opened before keeps working; HTTP/2 is negotiated.
func TestReloadKeepsConnections(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "bridge")
	first := ca.Issue(t, dir, "server", "127.0.0.1", "localhost")
	s, err := tlsreload.New(tlsreload.Options{CertFile: first.CertFile, KeyFile: first.KeyFile})
	require.NoError(t, err)
	addr := serve(t, s)

	c := client(ca)
	get := func() string {
		resp, err := c.Get("https://" + addr + "/")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	require.Equal(t, "HTTP/2.0", get())
	require.Equal(t, first.Cert.SerialNumber.String(), served(t, addr, ca))

	second := ca.Issue(t, dir, "server", "127.0.0.1", "localhost")
	require.Equal(t, first.Cert.SerialNumber.String(), served(t, addr, ca), "nothing changes before a reload")
	require.NoError(t, s.Reload())
	require.Equal(t, second.Cert.SerialNumber.String(), served(t, addr, ca))
	require.Equal(t, second.Cert.SerialNumber, s.Leaf().SerialNumber)

	// The HTTP/2 connection from before the reload is still the one used.
	var conns int
	var mu sync.Mutex
	c.Transport.(*http.Transport).DialTLSContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		mu.Lock()
		conns++
		mu.Unlock()
		return nil, errors.New("no new connection expected")
	}
	require.Equal(t, "HTTP/2.0", get())
	require.Zero(t, conns, "the open connection served the request")
}

// A reload of broken files keeps the certificate that works.
func TestFailedReloadKeepsCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "bridge")
	good := ca.Issue(t, dir, "server", "127.0.0.1")
	s, err := tlsreload.New(tlsreload.Options{CertFile: good.CertFile, KeyFile: good.KeyFile})
	require.NoError(t, err)
	addr := serve(t, s)

	other := ca.Issue(t, dir, "other", "127.0.0.1")
	key, err := os.ReadFile(other.KeyFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(good.KeyFile, key, 0o600)) // a key that does not match
	err = s.Reload()
	require.ErrorContains(t, err, good.CertFile)
	require.ErrorContains(t, err, "private key does not match")
	require.Equal(t, good.Cert.SerialNumber.String(), served(t, addr, ca))

	require.NoError(t, os.WriteFile(good.CertFile, []byte("not PEM"), 0o600))
	require.Error(t, s.Reload())
	require.Equal(t, good.Cert.SerialNumber.String(), served(t, addr, ca))
}

// Watch reloads when the files change, and reports each reload.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "bridge")
	first := ca.Issue(t, dir, "server", "127.0.0.1")
	s, err := tlsreload.New(tlsreload.Options{CertFile: first.CertFile, KeyFile: first.KeyFile})
	require.NoError(t, err)
	addr := serve(t, s)
	reports := make(chan error, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Watch(ctx, 20*time.Millisecond, func(err error) { reports <- err }) }()
	t.Cleanup(func() { cancel(); <-done })

	time.Sleep(100 * time.Millisecond)
	require.Empty(t, reports, "no reload while nothing changes")
	second := ca.Issue(t, dir, "server", "127.0.0.1")
	select {
	case err := <-reports:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the change was not seen")
	}
	require.Equal(t, second.Cert.SerialNumber.String(), served(t, addr, ca))
}

// With a client CA, a client must present a certificate it signed.
func TestClientCA(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "bridge")
	srv := ca.Issue(t, dir, "server", "127.0.0.1")
	clients := tlstest.NewCA(t, dir, "proxies")
	proxy := clients.Issue(t, dir, "proxy", "proxy.example")
	stranger := ca.Issue(t, dir, "stranger", "stranger.example") // signed by the wrong CA
	s, err := tlsreload.New(tlsreload.Options{CertFile: srv.CertFile, KeyFile: srv.KeyFile, ClientCAFile: clients.File})
	require.NoError(t, err)
	addr := serve(t, s)

	pair := func(is tlstest.Issued) tls.Certificate {
		p, err := tls.LoadX509KeyPair(is.CertFile, is.KeyFile)
		require.NoError(t, err)
		return p
	}
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{{"no certificate", nil, false}, {"another CA's", []tls.Certificate{pair(stranger)}, false}, {"the client CA's", []tls.Certificate{pair(proxy)}, true}} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client(ca, tc.certs...).Get("https://" + addr + "/")
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
		})
	}
}

// min_version 1.3 refuses a TLS 1.2 client; bad options are refused.
func TestOptions(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "bridge")
	srv := ca.Issue(t, dir, "server", "127.0.0.1")
	s, err := tlsreload.New(tlsreload.Options{CertFile: srv.CertFile, KeyFile: srv.KeyFile, MinVersion: tls.VersionTLS13})
	require.NoError(t, err)
	addr := serve(t, s)
	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS12})
	require.Error(t, err)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
	require.NoError(t, err)
	require.Equal(t, uint16(tls.VersionTLS13), c.ConnectionState().Version)
	c.Close()

	for _, tc := range []struct {
		name string
		o    tlsreload.Options
		want string
	}{
		{"no files", tlsreload.Options{}, "required"},
		{"TLS 1.1", tlsreload.Options{CertFile: srv.CertFile, KeyFile: srv.KeyFile, MinVersion: tls.VersionTLS11}, "1.2 or 1.3"},
		{"missing key", tlsreload.Options{CertFile: srv.CertFile, KeyFile: dir + "/nope.pem"}, "nope.pem"},
		{"client CA not PEM", tlsreload.Options{CertFile: srv.CertFile, KeyFile: srv.KeyFile, ClientCAFile: srv.KeyFile}, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tlsreload.New(tc.o)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
