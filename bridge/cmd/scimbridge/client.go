package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/bridge/auth"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/ops"
)

func newClientCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Manage tenants' OAuth 2.0 clients (client credentials) and their secrets",
		Long: `Manage the OAuth 2.0 clients that obtain access tokens from a tenant's token
endpoint, <public_url>/scim/<tenant>/oauth2/token (client credentials grant).
The tenant must allow them: auth.client_credentials: true in its configuration.

A secret is shown once and only its hash is stored. A client may hold several
secrets at once: add a new one, put it in Entra, then revoke the old one.`,
	}
	var path, tenant, client, name, validity, secretID, out string
	flags := func(c *cobra.Command, needClient bool) {
		configFlag(c, &path)
		c.Flags().StringVar(&tenant, "tenant", "", "tenant name (required)")
		_ = c.MarkFlagRequired("tenant")
		if needClient {
			c.Flags().StringVar(&client, "client", "", "client id (required)")
			_ = c.MarkFlagRequired("client")
		}
	}
	show := func(cmd *cobra.Command, cfg *config.Config, text string) error {
		if !tenantAllowsClients(cfg, tenant) {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: tenant %s does not accept client credentials yet; set auth.client_credentials: true in %s\n", tenant, cfg.File)
		}
		if out != "" {
			if err := writeSecretFile(out, text); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Client id and secret written to %s (mode 0600).\n", out)
			return nil
		}
		_, err := io.WriteString(cmd.OutOrStdout(), text)
		return err
	}
	// issuing is a command that makes a secret and shows it once.
	issuing := func(use, short string, needClient bool, issue func(context.Context, *config.Config, *auth.Clients, time.Duration) (string, error)) *cobra.Command {
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				d, err := auth.ParseSecretValidity(validity)
				if err != nil {
					return err
				}
				return withClients(cmd.Context(), path, tenant, func(cfg *config.Config, cs *auth.Clients) error {
					text, err := issue(cmd.Context(), cfg, cs, d)
					if err != nil {
						return err
					}
					return show(cmd, cfg, text)
				})
			},
		}
		flags(c, needClient)
		c.Flags().StringVar(&validity, "validity", "1y", "how long the secret is valid: 1y to 3y, or days such as 500d")
		c.Flags().StringVar(&out, "out", "", "write the client id and secret to this file (mode 0600) instead of stdout")
		return c
	}
	create := issuing("create", "Create a client with its first secret", false,
		func(ctx context.Context, cfg *config.Config, cs *auth.Clients, d time.Duration) (string, error) {
			ci, secret, err := cs.Create(ctx, tenant, name, d)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("tenant: %s\ntenant_url: %s\ntoken_url: %s\nclient_id: %s\nclient_secret: %s\nsecret_id: %s\nexpires_at: %s\n",
				tenant, cfg.TenantURL(tenant), auth.TokenURL(cfg.PublicURL, tenant), ci.ID, secret, ci.Secrets[0].ID,
				ci.Secrets[0].ExpiresAt.Format(time.RFC3339)), nil
		})
	create.Flags().StringVar(&name, "name", "", "what the client is for, e.g. \"Entra provisioning\"")
	addSecret := issuing("add-secret", "Give a client another secret; its other secrets keep working", true,
		func(ctx context.Context, cfg *config.Config, cs *auth.Clients, d time.Duration) (string, error) {
			si, secret, err := cs.AddSecret(ctx, tenant, client, d)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("tenant: %s\ntoken_url: %s\nclient_id: %s\nclient_secret: %s\nsecret_id: %s\nexpires_at: %s\n",
				tenant, auth.TokenURL(cfg.PublicURL, tenant), client, secret, si.ID, si.ExpiresAt.Format(time.RFC3339)), nil
		})

	revoke := &cobra.Command{
		Use:   "revoke-secret",
		Short: "Revoke one secret of a client: it and the tokens it obtained stop working",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClients(cmd.Context(), path, tenant, func(_ *config.Config, cs *auth.Clients) error {
				if err := cs.RevokeSecret(cmd.Context(), tenant, client, secretID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "secret %s of client %s revoked\n", secretID, client)
				return nil
			})
		},
	}
	flags(revoke, true)
	revoke.Flags().StringVar(&secretID, "secret", "", "the secret's id, as `client list` shows it (required)")
	_ = revoke.MarkFlagRequired("secret")

	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete a client and all its secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClients(cmd.Context(), path, tenant, func(_ *config.Config, cs *auth.Clients) error {
				if err := cs.Delete(cmd.Context(), tenant, client); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "client %s deleted\n", client)
				return nil
			})
		},
	}
	flags(del, true)

	list := &cobra.Command{
		Use:   "list",
		Short: "List a tenant's clients and their secrets' expiry (never the secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClients(cmd.Context(), path, tenant, func(_ *config.Config, cs *auth.Clients) error {
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "CLIENT ID\tNAME\tSECRET ID\tCREATED\tEXPIRES\tSTATUS")
				clients, err := cs.List(cmd.Context(), tenant)
				if err != nil {
					return err
				}
				if len(clients) == 0 {
					fmt.Fprintf(w, "-\t-\t-\t-\t-\tno client: run `scimbridge client create --tenant %s`\n", tenant)
				}
				now := time.Now()
				for _, c := range clients {
					if len(c.Secrets) == 0 {
						fmt.Fprintf(w, "%s\t%s\t-\t-\t-\tno secret: run `scimbridge client add-secret`\n", c.ID, orDash(c.Name))
					}
					for _, s := range c.Secrets {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, orDash(c.Name), s.ID, s.CreatedAt.Format(time.RFC3339),
							s.ExpiresAt.Format(time.RFC3339), secretStatus(now, s.ExpiresAt))
					}
				}
				return w.Flush()
			})
		},
	}
	flags(list, false)
	cmd.AddCommand(create, list, addSecret, revoke, del)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// secretStatus is tokenStatus for a client secret.
func secretStatus(now, expires time.Time) string {
	return expiryStatus(now, expires, "add a secret with `scimbridge client add-secret`")
}

func tenantAllowsClients(cfg *config.Config, tenant string) bool {
	t, ok := cfg.Tenant(tenant)
	return ok && t.Auth.ClientCredentials
}

func withClients(ctx context.Context, path, tenant string, f func(*config.Config, *auth.Clients) error) error {
	return withTokens(ctx, path, tenant, func(op *ops.Operator, cs *auth.Clients) error { return f(op.Config(), cs) })
}
