package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/ops"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

func newMappingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mapping",
		Short: "Check mappings and dry-run them against the live directory",
	}
	var path string
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and every tenant's mapping (no network)",
		Long: `Validate the configuration and every tenant's mapping without touching the
network: every problem is reported at once, each with its file, line and column.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			for _, t := range cfg.Tenants {
				fmt.Fprintf(cmd.OutOrStdout(), "tenant %s: backend %s, mapping %s: ok\n", t.Name, t.Backend.Type, t.MappingPath)
			}
			return nil
		},
	}
	configFlag(check, &path)

	var tenant, userFile, groupFile string
	test := &cobra.Command{
		Use:   "test",
		Short: "Show the target writes a SCIM user (or group) would cause, without writing",
		Long: `Dry run: read a SCIM User (--user) or Group (--group) as Entra would POST it,
map it, look it up in the live directory by the mapping's match keys, and print
what the bridge would write: a create with its attributes, or the changes to
the existing entry. Nothing is written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kind, file := scim.User, userFile
			if groupFile != "" {
				kind, file = scim.Group, groupFile
			}
			if file == "" {
				return fmt.Errorf("give --user FILE.json or --group FILE.json")
			}
			body, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			return mappingTest(cmd.Context(), cmd.OutOrStdout(), path, tenant, kind, body)
		},
	}
	configFlag(test, &path)
	test.Flags().StringVar(&tenant, "tenant", "", "tenant name (required)")
	test.Flags().StringVar(&userFile, "user", "", "SCIM User JSON file")
	test.Flags().StringVar(&groupFile, "group", "", "SCIM Group JSON file")
	_ = test.MarkFlagRequired("tenant")
	cmd.AddCommand(check, test)
	return cmd
}

func mappingTest(ctx context.Context, w io.Writer, path, tenant string, kind scim.Kind, body []byte) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	t, ok := cfg.Tenant(tenant)
	if !ok {
		return fmt.Errorf("no tenant %q in %s", tenant, path)
	}
	// Bad input is reported before the directory is contacted.
	res, err := scim.Decode(kind, body)
	if err != nil {
		return err
	}
	if _, err := t.Mapping.NewRequest(kind, res); err != nil {
		return err
	}
	drv, ok := registry()[t.Backend.Type].(backends.ReadOnlyDriver)
	if !ok {
		return fmt.Errorf("tenant %s: the %s backend cannot be opened read-only, so mapping test does not run against it", t.Name, t.Backend.Type)
	}
	be, err := drv.OpenReadOnly(ctx, t.Backend.Config, t.Mapping.Schema(), newLogger(cfg.Log))
	if err != nil {
		return err
	}
	defer be.Close()
	out, err := ops.DryRun(ctx, t.Mapping, be, kind, body)
	if err != nil {
		return err
	}
	for _, l := range out.Lines {
		fmt.Fprintln(w, l)
	}
	return nil
}
