package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/backends/pharos"
)

func newPharosCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pharos",
		Short: "Manage a Pharos user store database",
	}
	var driver, dsn string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create the Pharos tables (users, groups, group_members, cards) in a new database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := pharos.InitSchema(cmd.Context(), driver, dsn); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Pharos schema ready (%s)\n", driver)
			return nil
		},
	}
	initCmd.Flags().StringVar(&driver, "driver", "sqlite", "sqlite or postgres")
	initCmd.Flags().StringVar(&dsn, "dsn", "", "SQLite file path or PostgreSQL URL (required)")
	_ = initCmd.MarkFlagRequired("dsn")
	cmd.AddCommand(initCmd)
	return cmd
}
