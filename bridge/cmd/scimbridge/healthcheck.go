package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/bridge/config"
)

// healthcheckTimeout bounds the whole check: a container runtime kills a
// health check that takes longer than its own timeout (5 s in the shipped
// Containerfile) and counts that as a failure anyway.
const healthcheckTimeout = 4 * time.Second

func newHealthcheckCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the bridge on this machine answers GET /healthz",
		Long: `Ask the bridge configured in --config, on this machine, for GET /healthz
and exit 0 when it answers 200, 1 otherwise: the container image's
HEALTHCHECK (distroless images have no curl). The address is the config's
listen address (an unspecified host is 127.0.0.1); with tls configured the
check speaks TLS and accepts exactly the certificate in tls.cert_file, and
presents it as its client certificate when tls.client_ca_file asks for one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), healthcheckTimeout)
			defer cancel()
			if err := healthcheck(ctx, cfg); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
	configFlag(cmd, &path)
	return cmd
}

// healthcheck asks the configured listener for /healthz.
func healthcheck(ctx context.Context, cfg *config.Config) error {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", cfg.Listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	client, scheme, err := healthcheckClient(cfg)
	if err != nil {
		return err
	}
	url := scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %s", url, resp.Status)
	}
	return nil
}
