package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/bridge/opsview"
)

// adminTokenEnv holds the admin token for commands that call the admin API.
const adminTokenEnv = "SCIMBRIDGE_ADMIN_TOKEN"

func newReloadCmd() *cobra.Command {
	var path, url, tokenFile string
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Reload the configuration and mappings of a running bridge",
		Long: `Ask the running bridge to load its configuration file and every mapping again
(the same as sending it SIGHUP), through its admin API: POST <url>/admin/reload.
The new configuration is checked completely, as by mapping check; when it is
valid it replaces the old one at once (requests in flight finish on the old
one), and when it is not, the old one keeps serving and every problem is
printed with its file, line and column.

The admin token (scimbridge token generate --admin) is read from --token-file
or from the SCIMBRIDGE_ADMIN_TOKEN environment variable; --url defaults to
http://<listen> of the configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token, err := adminToken(tokenFile)
			if err != nil {
				return err
			}
			if url == "" {
				cfg, err := loadConfig(path)
				if err != nil {
					return err
				}
				url = "http://" + dialAddress(cfg.Listen)
			}
			return postReload(cmd.Context(), cmd.OutOrStdout(), strings.TrimRight(url, "/"), token)
		},
	}
	configFlag(cmd, &path)
	cmd.Flags().StringVar(&url, "url", "", "base URL of the bridge's admin API (default http://<listen>)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the admin token (default: $"+adminTokenEnv+")")
	return cmd
}

func adminToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		// The file `token generate --admin --out` writes, or the bare token.
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "admin_token:"); ok {
				return strings.TrimSpace(v), nil
			}
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t := os.Getenv(adminTokenEnv); t != "" {
		return t, nil
	}
	return "", fmt.Errorf("no admin token: give --token-file FILE or set %s (scimbridge token generate --admin makes one)", adminTokenEnv)
}

// dialAddress turns a listen address into one to connect to: an
// unspecified host is this machine.
func dialAddress(listen string) string {
	switch {
	case strings.HasPrefix(listen, ":"):
		return "127.0.0.1" + listen
	case strings.HasPrefix(listen, "0.0.0.0:"):
		return "127.0.0.1" + strings.TrimPrefix(listen, "0.0.0.0")
	case strings.HasPrefix(listen, "[::]:"):
		return "[::1]" + strings.TrimPrefix(listen, "[::]")
	}
	return listen
}

func postReload(ctx context.Context, w io.Writer, base, token string) error {
	ctx, cancel := context.WithTimeout(ctx, reloadTimeout+10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/reload", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("reload: %s", e.Error)
		}
		return fmt.Errorf("reload: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var v opsview.Reload
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("reload: unexpected answer: %w", err)
	}
	fmt.Fprintf(w, "configuration reloaded (generation %d)\n", v.Generation)
	for _, l := range []struct {
		what  string
		names []string
	}{{"tenants added", v.Added}, {"tenants removed", v.Removed}, {"tenants changed", v.Changed},
		{"backends kept", v.KeptBackends}, {"restart needed for", v.RestartNeeded}, {"reload hooks failed", v.HookErrors}} {
		if len(l.names) > 0 {
			fmt.Fprintf(w, "%s: %s\n", l.what, strings.Join(l.names, ", "))
		}
	}
	return nil
}
