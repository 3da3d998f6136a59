package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/console"
	"github.com/scimbridge/scimbridge/bridge/httpapi"
)

// mountConsole builds the console (when enabled) and, unless it has a
// listener of its own, serves it on the main handler under /console/.
func (a *app) mountConsole(cfg *config.Config, log hclog.Logger) {
	c := cfg.Console
	if !c.Enabled {
		return
	}
	o := console.Options{
		Ops: a.ops, Logger: log, Secure: cfg.ServedOverTLS(), SessionTTL: c.SessionTTL, Grace: cfg.Tokens.Grace,
	}
	if oc := c.OIDC; oc != nil {
		o.OIDC = console.NewOIDC(console.OIDCOptions{
			Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: string(oc.ClientSecret), RedirectURL: oc.RedirectURL,
			AllowedSubjects: oc.AllowedSubjects, AllowedGroups: oc.AllowedGroups, GroupsClaim: oc.GroupsClaim, Scopes: oc.Scopes,
		})
	}
	a.console = console.New(o)
	if c.Listen == "" {
		a.handler = withConsole(a.handler, a.console)
	}
}

// withConsole sends /console and everything under it to the console, the
// rest to api.
func withConsole(api, con http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == console.Prefix || strings.HasPrefix(p, console.Prefix+"/") {
			con.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// consoleURL is where an operator opens the console.
func consoleURL(cfg *config.Config) string {
	if l := cfg.Console.Listen; l != "" {
		host, port, _ := net.SplitHostPort(l)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		scheme := "http://"
		if cfg.TLS != nil {
			scheme = "https://"
		}
		return scheme + net.JoinHostPort(host, port) + console.Prefix + "/"
	}
	return cfg.PublicURL + console.Prefix + "/"
}

// startConsole serves the console on its own listener when console.listen
// is set, with the main listener's TLS (its certificate, reloaded with it)
// when that has TLS; stop shuts it down. It prints where the console is.
func (a *app) startConsole(ctx context.Context, cfg *config.Config, main *listener, log hclog.Logger, out io.Writer) (stop func(), err error) {
	stop = func() {}
	if a.console == nil {
		return stop, nil
	}
	if l := cfg.Console.Listen; l != "" {
		ln, err := net.Listen("tcp", l)
		if err != nil {
			return stop, fmt.Errorf("console.listen %s: %w", l, err)
		}
		srv := httpapi.NewServer(l, a.console, log)
		serve := srv.Serve
		if main.tls != nil {
			srv.TLSConfig = main.tls.Config()
			serve = func(ln net.Listener) error { return srv.ServeTLS(ln, "", "") }
		}
		go func() {
			if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("console listener stopped", "error", err)
			}
		}()
		stop = func() { _ = srv.Shutdown(context.WithoutCancel(ctx)) }
	}
	fmt.Fprintf(out, "Console: %s (sign in with an admin token: scimbridge token generate --admin --config %s)\n", consoleURL(cfg), cfg.File)
	log.Info("serving the console", "url", consoleURL(cfg))
	return stop, nil
}

// adminTokenFile is where serve writes a first admin token when the
// console is on and there is none: beside the tenants' token file.
func adminTokenFile(cfg *config.Config) string {
	return filepath.Join(filepath.Dir(cfg.Tokens.File), "admin-token.txt")
}

// ensureAdminToken gives a bridge whose console is on its first admin
// token, written to a 0600 file (never to the log), so that `make run` is
// one step from a signed-in console.
func ensureAdminToken(ctx context.Context, cfg *config.Config, tokens *bridge.Tokens, out io.Writer) error {
	if !cfg.Console.Enabled {
		return nil
	}
	tok, created, err := tokens.EnsureToken(ctx, adminTenant)
	if err != nil || !created {
		return err
	}
	path := adminTokenFile(cfg)
	if err := writeSecretFile(path, fmt.Sprintf("console_url: %s\nadmin_token: %s\n", consoleURL(cfg), tok)); err != nil {
		return err
	}
	fmt.Fprintf(out, "A first admin token (for the console and /admin) is written to %s (mode 0600).\n", path)
	return nil
}
