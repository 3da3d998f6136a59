package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/state/redisstate"
)

// redisOptions turns the configuration's Redis into the store's options:
// one node (url), Sentinel (addrs with master_name) or Cluster (addrs
// without), with TLS from its files.
func redisOptions(r *config.RedisConfig) (redisstate.Options, error) {
	o := redisstate.Options{
		URL: r.URL, Addrs: r.Addrs, MasterName: r.MasterName, Cluster: len(r.Addrs) > 0 && r.MasterName == "",
		Username: r.Username, Password: string(r.Password),
		SentinelUsername: r.SentinelUsername, SentinelPassword: string(r.SentinelPassword),
		DB: r.DB, KeyPrefix: r.KeyPrefix,
		Timeout: r.Timeout, DialTimeout: r.DialTimeout, PoolSize: r.PoolSize,
	}
	if r.TLS == nil {
		return o, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: r.TLS.ServerName}
	if r.TLS.CAFile != "" {
		pem, err := os.ReadFile(r.TLS.CAFile)
		if err != nil {
			return o, fmt.Errorf("state.redis.tls.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("state.redis.tls.ca_file: %s holds no PEM certificate", r.TLS.CAFile)
		}
	}
	if r.TLS.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(r.TLS.CertFile, r.TLS.KeyFile)
		if err != nil {
			return o, fmt.Errorf("state.redis.tls: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	o.TLS = tc
	return o, nil
}
