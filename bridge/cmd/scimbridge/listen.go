package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/tlsreload"
)

// certCheckEvery is how often the listener's certificate files are
// checked for a renewal: two stat calls, so often enough that a renewed
// certificate is served within seconds without a SIGHUP.
const certCheckEvery = 10 * time.Second

// listener is the SCIM listener's TLS side: nil TLS serves plain HTTP.
type listener struct {
	tls *tlsreload.Server
	log hclog.Logger
}

// newListener loads the configured certificate, if any, into srv, and
// keeps it current until ctx ends: it reloads when the files change and
// on Reload (SIGHUP).
func newListener(ctx context.Context, cfg *config.Config, srv *http.Server, log hclog.Logger) (*listener, error) {
	l := &listener{log: log}
	if cfg.TLS == nil {
		return l, nil
	}
	s, err := tlsreload.New(tlsreload.Options{
		CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
		ClientCAFile: cfg.TLS.ClientCAFile, MinVersion: cfg.TLS.MinVersion,
	})
	if err != nil {
		return nil, err
	}
	l.tls = s
	srv.TLSConfig = s.Config()
	go s.Watch(ctx, certCheckEvery, l.reported)
	return l, nil
}

// serve serves srv until it is shut down: HTTPS with HTTP/2 when TLS is
// configured.
func (l *listener) serve(srv *http.Server) error {
	if l.tls == nil {
		return srv.ListenAndServe()
	}
	return srv.ListenAndServeTLS("", "")
}

// Reload re-reads the certificate files: a hook of every configuration
// reload (SIGHUP, scimbridge reload), beside the watch on the files.
func (l *listener) Reload(context.Context) error {
	if l.tls == nil {
		return nil
	}
	err := l.tls.Reload()
	l.reported(err)
	return err
}

// reported logs a reload's outcome. A failed one keeps serving the
// previous certificate.
func (l *listener) reported(err error) {
	if err != nil {
		l.log.Error("TLS certificate not reloaded; still serving the previous one", "error", err)
		return
	}
	leaf := l.tls.Leaf()
	l.log.Info("TLS certificate loaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
}

// healthcheckClient speaks what the listener speaks. Over TLS it accepts
// exactly the certificate in tls.cert_file (the check runs on the
// bridge's own machine, by address, so a name check would only get in the
// way) and presents it as its client certificate when the listener wants
// one.
func healthcheckClient(cfg *config.Config) (*http.Client, string, error) {
	if cfg.TLS == nil {
		return &http.Client{Transport: &http.Transport{Proxy: nil}}, "http", nil
	}
	pair, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return nil, "", fmt.Errorf("health check: %w", err)
	}
	want := pair.Certificate[0]
	tc := &tls.Config{
		// The chain is checked by comparing the leaf with the configured
		// one below, in VerifyPeerCertificate.
		InsecureSkipVerify: true, //nolint:gosec // pinned to the configured certificate
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || string(raw[0]) != string(want) {
				return errors.New("the listener serves a certificate other than tls.cert_file")
			}
			return nil
		},
	}
	if cfg.TLS.ClientCAFile != "" {
		tc.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: tc}}, "https", nil
}
