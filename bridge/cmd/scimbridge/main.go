// Command scimbridge is the SCIM 2.0 bridge that Microsoft Entra ID
// provisions into: `serve` runs it, and the other commands generate tokens,
// check and dry-run mappings and initialise a Pharos database. This is the
// only package that wires implementations together.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "scimbridge:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "scimbridge",
		Short:         "SCIM 2.0 bridge from Microsoft Entra ID to LDAP directories and the Pharos user store",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newTokenCmd(), newClientCmd(), newMappingCmd(), newPharosCmd(), newQueueCmd(), newCardsCmd(), newReloadCmd(), &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "scimbridge", version)
		},
	})
	return root
}

// configFlag adds the --config flag every command takes.
func configFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVarP(path, "config", "c", "configs/bridge.yaml", "bridge configuration file")
}
