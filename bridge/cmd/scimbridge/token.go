package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/bridge"
	"github.com/scimbridge/scimbridge/bridge/auth"
	"github.com/scimbridge/scimbridge/bridge/ops"
	"github.com/scimbridge/scimbridge/bridge/opsview"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Generate, rotate and list tenants' Secret Tokens and the admin token (list shows OAuth client secrets too)",
	}
	var path, tenant, out string
	var admin bool
	gen := func(use, short string, regenerate bool) *cobra.Command {
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return withTokens(cmd.Context(), path, tenant, func(op *ops.Operator, _ *auth.Clients) error {
					cred, err := op.IssueToken(cmd.Context(), tenant, admin, regenerate)
					if err != nil {
						return err
					}
					if out != "" {
						if err := writeSecretFile(out, cred.File); err != nil {
							return err
						}
						what := "Tenant URL and Secret Token"
						if admin {
							what = "Admin URL and admin token"
						}
						fmt.Fprintf(cmd.OutOrStdout(), "%s written to %s (mode 0600).\n", what, out)
						return nil
					}
					_, err = io.WriteString(cmd.OutOrStdout(), cred.File)
					return err
				})
			},
		}
		configFlag(c, &path)
		c.Flags().StringVar(&tenant, "tenant", "", "tenant name (this or --admin is required)")
		c.Flags().BoolVar(&admin, "admin", false, "the admin token of the /admin API instead of a tenant's Secret Token")
		c.Flags().StringVar(&out, "out", "", "write the URL and token to this file (mode 0600) instead of stdout")
		c.MarkFlagsOneRequired("tenant", "admin")
		c.MarkFlagsMutuallyExclusive("tenant", "admin")
		return c
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List each tenant's tokens with their expiry (never the tokens)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTokens(cmd.Context(), path, tenant, func(op *ops.Operator, cs *auth.Clients) error {
				now := time.Now()
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "TENANT\tTOKEN ID\tCREATED\tEXPIRES\tSTATUS")
				row := func(name string, k opsview.TokenRecord) {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", name, k.ID, k.CreatedAt.Format(time.RFC3339),
						k.ExpiresAt.Format(time.RFC3339), tokenStatus(now, k.ExpiresAt))
				}
				for _, t := range op.Config().Tenants {
					if tenant != "" && t.Name != tenant {
						continue
					}
					toks, err := op.TokenRecords(cmd.Context(), t.Name, false)
					if err != nil {
						return err
					}
					if len(toks) == 0 {
						fmt.Fprintf(w, "%s\t-\t-\t-\tno token: run `scimbridge token generate --tenant %s`\n", t.Name, t.Name)
					}
					for _, k := range toks {
						row(t.Name, k)
					}
					// The tenant's OAuth client secrets expire too.
					clients, err := cs.List(cmd.Context(), t.Name)
					if err != nil {
						return err
					}
					for _, c := range clients {
						for _, sec := range c.Secrets {
							fmt.Fprintf(w, "%s\tclient %s secret %s\t%s\t%s\t%s\n", t.Name, c.ID, sec.ID, sec.CreatedAt.Format(time.RFC3339),
								sec.ExpiresAt.Format(time.RFC3339), secretStatus(now, sec.ExpiresAt))
						}
					}
				}
				if tenant == "" {
					// The admin token is listed when there is one; the
					// admin API is off until one is generated.
					toks, err := op.TokenRecords(cmd.Context(), "", true)
					if err != nil {
						return err
					}
					for _, k := range toks {
						row("(admin)", k)
					}
				}
				return w.Flush()
			})
		},
	}
	configFlag(list, &path)
	list.Flags().StringVar(&tenant, "tenant", "", "only this tenant")
	cmd.AddCommand(
		gen("generate", "Create a new Secret Token for a tenant (existing tokens keep working)", false),
		gen("regenerate", "Replace a tenant's token; the old one keeps working for the grace period", true),
		list,
	)
	return cmd
}

func tokenStatus(now, expires time.Time) string { return expiryStatus(now, expires, "regenerate it") }

// expiryStatus says how long a credential has left, and what to do within
// the warning thresholds (bridge.ExpiryWarning).
func expiryStatus(now, expires time.Time, action string) string {
	left := expires.Sub(now)
	switch {
	case left <= 0:
		return "expired"
	case bridge.ExpiryWarning(left) != 0:
		return fmt.Sprintf("expires in %d days: %s", int(left.Hours()/24), action)
	}
	return fmt.Sprintf("valid (%d days left)", int(left.Hours()/24))
}

func withTokens(ctx context.Context, path, tenant string, f func(*ops.Operator, *auth.Clients) error) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	if _, ok := cfg.Tenant(tenant); tenant != "" && !ok {
		return fmt.Errorf("no tenant %q in %s", tenant, path)
	}
	st, err := openState(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(cliOperator(cfg, st), auth.NewClients(st))
}
