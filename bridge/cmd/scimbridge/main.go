// Command scimbridge is the SCIM 2.0 bridge that Microsoft Entra ID
// provisions into: `serve` runs it, and the other commands generate tokens,
// check and dry-run mappings and initialise a Pharos database. This is the
// only package that wires implementations together.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/bridge/buildinfo"
)

// version is set at build time with -ldflags "-X main.version=…" (make
// build, make release); without it the go command's build information
// says (buildinfo).
var version = buildinfo.Unknown

// build describes this binary; `version`, --version and serve's first log
// line show it.
var build = buildinfo.Read(version)

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
		Version:       build.Version,
	}
	// --version prints what `version` prints.
	root.SetVersionTemplate(build.String() + "\n")
	root.AddCommand(newServeCmd(), newTokenCmd(), newMappingCmd(), newPharosCmd(), newQueueCmd(), newClientCmd(), newCardsCmd(), newReloadCmd(), newHealthcheckCmd(), &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and platform",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), build.String())
		},
	})
	return root
}

// configFlag adds the --config flag every command takes. Its default is
// $SCIMBRIDGE_CONFIG when set (the container image sets it, so that serve
// and the health check read one file), else configs/bridge.yaml.
func configFlag(cmd *cobra.Command, path *string) {
	def := os.Getenv("SCIMBRIDGE_CONFIG")
	if def == "" {
		def = "configs/bridge.yaml"
	}
	cmd.Flags().StringVarP(path, "config", "c", def, "bridge configuration file ($SCIMBRIDGE_CONFIG)")
}
