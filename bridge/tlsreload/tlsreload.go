// Package tlsreload serves TLS from certificate files that change while
// the server runs: a renewed certificate (certbot, cert-manager, a
// Kubernetes secret) is picked up without a restart and without dropping a
// connection. It imports no project package.
//
// Every new TLS handshake takes the configuration current at that moment
// (tls.Config.GetConfigForClient), so a reload changes what the next
// connection gets and nothing else: connections already open keep the
// certificate they were made with. A reload that fails (a half-written
// file, a key that does not match) keeps the previous certificate and
// reports the error, so a botched renewal never takes the listener down.
//
// Reload is what a SIGHUP handler calls; Watch polls the files' size,
// modification time and inode and reloads when one changes (polling sees
// the symlink swap a Kubernetes secret volume makes, which file events on
// the old path miss).
package tlsreload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// Options name the files and the policy.
type Options struct {
	// CertFile holds the certificate chain (PEM, leaf first), KeyFile its
	// private key. Required.
	CertFile, KeyFile string
	// ClientCAFile, when set, holds the CAs (PEM) a client certificate must
	// chain to; every client must then present one (mutual TLS).
	ClientCAFile string
	// MinVersion is tls.VersionTLS12 or tls.VersionTLS13; zero means 1.2.
	MinVersion uint16
}

// Server holds the current TLS configuration. It is safe for concurrent
// use.
type Server struct {
	o Options

	mu    sync.RWMutex
	cur   *tls.Config
	stamp string // the files' identity when cur was loaded
}

// New loads the files once; an error names the file that is wrong.
func New(o Options) (*Server, error) {
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, errors.New("tlsreload: cert_file and key_file are required")
	}
	switch o.MinVersion {
	case 0:
		o.MinVersion = tls.VersionTLS12
	case tls.VersionTLS12, tls.VersionTLS13:
	default:
		return nil, fmt.Errorf("tlsreload: minimum version %#x: want TLS 1.2 or 1.3", o.MinVersion)
	}
	s := &Server{o: o}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Config is the configuration to serve with (http.Server.TLSConfig): it
// hands each handshake the current files' configuration. It offers HTTP/2
// and HTTP/1.1 by ALPN.
func (s *Server) Config() *tls.Config {
	return &tls.Config{
		MinVersion: s.o.MinVersion,
		NextProtos: []string{"h2", "http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return s.cur, nil
		},
	}
}

// Reload reads the files again and, if they load, serves them from the
// next handshake on. On an error the previous configuration stays.
func (s *Server) Reload() error {
	stamp := s.filesStamp()
	cfg, err := s.load()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cur, s.stamp = cfg, stamp
	s.mu.Unlock()
	return nil
}

// Leaf is the certificate served now, parsed.
func (s *Server) Leaf() *x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur.Certificates[0].Leaf
}

func (s *Server) load() (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(s.o.CertFile, s.o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsreload: certificate %s with key %s: %w", s.o.CertFile, s.o.KeyFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   s.o.MinVersion,
		Certificates: []tls.Certificate{pair},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if s.o.ClientCAFile != "" {
		pem, err := os.ReadFile(s.o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tlsreload: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsreload: client CA %s holds no PEM certificate", s.o.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// filesStamp identifies the files' current contents cheaply: size,
// modification time and inode of each (a rename over the file, as
// renewal tools do, changes the inode).
func (s *Server) filesStamp() string {
	var out string
	for _, p := range []string{s.o.CertFile, s.o.KeyFile, s.o.ClientCAFile} {
		if p == "" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			out += p + ":missing;"
			continue
		}
		var ino uint64
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino
		}
		out += fmt.Sprintf("%s:%d:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano(), ino)
	}
	return out
}

// Watch checks the files every interval until ctx ends and reloads them
// when they changed; report gets the result of each reload (nil for
// success). A failed reload is tried again at every check until the files
// load or change back.
func (s *Server) Watch(ctx context.Context, every time.Duration, report func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.RLock()
		same := s.stamp == s.filesStamp()
		s.mu.RUnlock()
		if same {
			continue
		}
		report(s.Reload())
	}
}
