package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/mapping"
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
	res, err := scim.Decode(kind, body)
	if err != nil {
		return err
	}
	m := t.Mapping
	// The checks and the mapping of a POST, exactly as serve runs them.
	req, err := m.NewRequest(kind, res)
	if err != nil {
		return err
	}
	drv, ok := registry()[t.Backend.Type].(backends.ReadOnlyDriver)
	if !ok {
		return fmt.Errorf("tenant %s: the %s backend cannot be opened read-only, so mapping test does not run against it", t.Name, t.Backend.Type)
	}
	be, err := drv.OpenReadOnly(ctx, t.Backend.Config, m.Schema(), newLogger(cfg.Log))
	if err != nil {
		return err
	}
	defer be.Close()

	bk := backends.User
	if kind == scim.Group {
		bk = backends.Group
	}
	for _, k := range m.MatchKeys(kind) {
		v := req.Value(k.Attr)
		if v == "" {
			continue
		}
		recs, _, err := be.Find(ctx, backends.Query{Kind: bk, Filter: backends.Cmp{Attr: k.Attr, Op: backends.Eq, Value: v}, Limit: 1})
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			fmt.Fprintf(w, "match %s (%s eq %q): no entry\n", k.Path.String(), k.Attr, v)
			continue
		}
		cur := recs[0]
		fmt.Fprintf(w, "match %s (%s eq %q): entry %s\n", k.Path.String(), k.Attr, v, cur.ID)
		// What the bridge does with a POST naming an existing entry: a
		// kept (deprovisioned) one is restored, any other brought up to
		// the request (a create whose answer was lost).
		verb, changes := "would modify", mapping.Changes{}
		if m.Deprovisioned(kind, cur) {
			verb = "would restore"
			changes, err = m.RestoreChanges(cur, req)
		} else {
			changes, err = m.RetriedCreateChanges(cur, req)
		}
		if err != nil {
			return err
		}
		if len(changes.List) == 0 {
			fmt.Fprintf(w, "%s %s %s: nothing (already up to date)\n", verb, kind, cur.ID)
		}
		for _, c := range changes.List {
			fmt.Fprintf(w, "%s %s %s: %s %s = %s\n", verb, kind, cur.ID, c.Op, attrName(c.Attr), quoteAll(c.Values))
		}
		return nil
	}
	fmt.Fprintf(w, "would create %s with:\n", kind)
	names := make([]string, 0, len(req.Attrs))
	for k := range req.Attrs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %s = %s\n", attrName(n), quoteAll(req.Attrs[n]))
	}
	return nil
}

// attrName is a target attribute as the dry run shows it: the members
// pseudo-attribute by its SCIM name.
func attrName(attr string) string {
	if attr == backends.AttrMembers {
		return "members"
	}
	return attr
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
