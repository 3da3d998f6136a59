package mapping

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

var update = flag.Bool("update", false, "rewrite the golden discovery documents under testdata/discovery")

const discoveryBase = "https://bridge.example.com/scim/default/v2"

// shippedMappings are the mappings under configs/, by file name.
func shippedMappings(tb testing.TB) map[string]*Mapping {
	tb.Helper()
	files, err := filepath.Glob("../configs/mappings/*.yaml")
	require.NoError(tb, err)
	require.NotEmpty(tb, files)
	out := map[string]*Mapping{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".yaml")] = mustLoad(tb, f)
	}
	return out
}

// TestDiscoveryGolden compares /Schemas, /ResourceTypes and
// /ServiceProviderConfig generated from each shipped mapping with the
// reviewed documents under testdata/discovery (go test ./mapping -run
// TestDiscoveryGolden -update rewrites them; review the diff).
func TestDiscoveryGolden(t *testing.T) {
	for name, m := range shippedMappings(t) {
		t.Run(name, func(t *testing.T) {
			d := m.Discovery()
			doc := map[string]any{
				"Schemas":               scim.Schemas(discoveryBase, d),
				"ResourceTypes":         scim.ResourceTypes(discoveryBase, d),
				"ServiceProviderConfig": scim.ServiceProviderConfig(discoveryBase, d),
			}
			got, err := json.MarshalIndent(doc, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			path := filepath.Join("testdata", "discovery", name+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./mapping -run TestDiscoveryGolden -update and review the new file")
			require.JSONEq(t, string(want), string(got))
			require.NotContains(t, string(got), "null", "no null values (docs/entra.md §2.19)")
		})
	}
}

// schemaAttrs indexes a generated schema's attributes by lower-cased
// path (name, name.sub), per schema URN.
func schemaAttrs(d scim.Discovery, kind scim.Kind) map[string]map[string]*scim.Attribute {
	out := map[string]map[string]*scim.Attribute{}
	for _, rt := range d.Resources {
		if rt.Kind != kind {
			continue
		}
		schemas := []scim.Schema{rt.Schema}
		for _, e := range rt.Extensions {
			schemas = append(schemas, e.Schema)
		}
		for _, s := range schemas {
			idx := map[string]*scim.Attribute{}
			for _, a := range s.Attributes {
				idx[strings.ToLower(a.Name)] = a
				for _, sub := range a.SubAttributes {
					idx[strings.ToLower(a.Name+"."+sub.Name)] = sub
				}
			}
			out[s.ID] = idx
		}
	}
	return out
}

// TestDiscoveryListsWhatIsStored: every mapped SCIM attribute is in the
// generated schemas with the mapping's characteristics, and nothing else
// is (but id, meta and group members).
func TestDiscoveryListsWhatIsStored(t *testing.T) {
	for name, m := range shippedMappings(t) {
		t.Run(name, func(t *testing.T) {
			for _, kind := range []scim.Kind{scim.User, scim.Group} {
				km, _ := m.kindMap(kind)
				idx := schemaAttrs(m.Discovery(), kind)
				listed := 0
				for _, s := range idx {
					for k := range s {
						if !strings.Contains(k, ".") {
							listed++
						}
					}
				}
				tops := map[string]bool{}
				for _, a := range km.attrs {
					if a.computed {
						continue
					}
					p := a.scimPath
					urn := p.URN
					if urn == "" {
						urn = coreURN(kind)
					}
					top := idx[urn][strings.ToLower(p.Attr)]
					require.NotNil(t, top, "%s %s is stored but not in /Schemas", kind, p)
					tops[urn+p.Attr] = true
					leaf := top
					if p.Sub != "" {
						leaf = idx[urn][strings.ToLower(p.Attr+"."+p.Sub)]
						require.NotNil(t, leaf, "%s %s: sub-attribute missing", kind, p)
					}
					require.Equal(t, a.required, leaf.Required, "%s %s required", kind, p)
					if a.required {
						require.True(t, top.Required, "%s %s: the parent of a required sub-attribute is required", kind, p)
						require.Contains(t, top.Description, "Required by this bridge")
					}
					if a.match > 0 {
						require.Equal(t, "server", leaf.Uniqueness, "%s %s is a match key", kind, p)
						require.False(t, leaf.CaseExact, "%s %s: match keys compare without case", kind, p)
					}
					require.Equal(t, a.mutability, leaf.Mutability, "%s %s mutability", kind, p)
				}
				extra := 2 // id, meta
				if kind == scim.Group && m.Members() {
					extra++
				}
				require.Equal(t, len(tops)+extra, listed, "%s: /Schemas lists exactly what the mapping stores", kind)
				require.Equal(t, scim.ReadOnly, idx[coreURN(kind)]["id"].Mutability)
				require.Equal(t, scim.ReadOnly, idx[coreURN(kind)]["meta"].Mutability)
			}
		})
	}
}

// TestDiscoveryPharosExtension: the badge cards are a schema of their
// own, listed in the User resource type's schemaExtensions, and emails
// is required as every shipped mapping requires a work email.
func TestDiscoveryPharosExtension(t *testing.T) {
	const urn = "urn:ietf:params:scim:schemas:extension:pharos:2.0:User"
	d := mustLoad(t, pharosMapping).Discovery()
	idx := schemaAttrs(d, scim.User)
	require.Contains(t, idx, urn)
	cards := idx[urn]["badgecards"]
	require.NotNil(t, cards)
	require.True(t, cards.MultiValued)
	require.Equal(t, scim.TypeString, cards.Type)
	rts := scim.ResourceTypes(discoveryBase, d)
	var exts []string
	for _, e := range rts[0]["schemaExtensions"].([]any) {
		exts = append(exts, e.(map[string]any)["schema"].(string))
	}
	require.Equal(t, []string{scim.SchemaEnterprise, urn}, exts)
	var names []string
	for _, s := range scim.Schemas(discoveryBase, d) {
		names = append(names, s["name"].(string))
	}
	require.Equal(t, []string{"User", "Group", "EnterpriseUser", "PharosUser"}, names)

	emails := idx[scim.SchemaUser]["emails"]
	require.True(t, emails.Required)
	require.Contains(t, emails.Description, `an email with type "work"`)
	require.Equal(t, []string{"work"}, idx[scim.SchemaUser]["emails.type"].CanonicalValues)
	require.Nil(t, idx[scim.SchemaUser]["phonenumbers"], "Pharos stores no phone numbers")
	require.Nil(t, idx[scim.SchemaUser]["password"])
}

// schemaClient builds the smallest body a schema-driven client would send
// from /Schemas: every required attribute (and required sub-attribute of a
// required complex one), with a made-up value of its type.
func schemaClient(d scim.Discovery, kind scim.Kind, n int) scim.Resource {
	val := func(a *scim.Attribute) any {
		if a.Type == scim.TypeBoolean {
			return true
		}
		return fmt.Sprintf("pc%d-%s@example.org", n, strings.ToLower(a.Name))
	}
	build := func(attrs []*scim.Attribute) map[string]any {
		out := map[string]any{}
		for _, a := range attrs {
			if !a.Required || a.Mutability == scim.ReadOnly {
				continue
			}
			var v any
			if len(a.SubAttributes) > 0 {
				el := map[string]any{}
				for _, s := range a.SubAttributes {
					if s.Required {
						el[s.Name] = val(s)
					}
				}
				v = el
			} else {
				v = val(a)
			}
			if a.MultiValued {
				v = []any{v}
			}
			out[a.Name] = v
		}
		return out
	}
	for _, rt := range d.Resources {
		if rt.Kind != kind {
			continue
		}
		res := scim.Resource(build(rt.Schema.Attributes))
		for _, e := range rt.Extensions {
			if ext := build(e.Schema.Attributes); len(ext) > 0 {
				res[e.Schema.ID] = ext
			}
		}
		return res
	}
	return nil
}

// TestSchemaDrivenClient is the property a schema-driven client relies on:
// a body with exactly what /Schemas marks required is never refused for a
// missing attribute, and a body without any one of them is refused naming
// it: /Schemas and the mapping require the same things.
func TestSchemaDrivenClient(t *testing.T) {
	for name, m := range shippedMappings(t) {
		t.Run(name, func(t *testing.T) {
			for _, kind := range []scim.Kind{scim.User, scim.Group} {
				d := m.Discovery()
				body := schemaClient(d, kind, 1)
				raw, err := json.Marshal(body)
				require.NoError(t, err)
				res, err := scim.Decode(kind, raw)
				require.NoError(t, err)
				_, err = m.NewRequest(kind, res)
				require.NoError(t, err, "%s body built from /Schemas: %s", kind, raw)
				for k := range body {
					without := scim.Resource{}
					for k2, v := range body {
						if k2 != k {
							without[k2] = v
						}
					}
					raw, _ := json.Marshal(without)
					res, err := scim.Decode(kind, raw)
					require.NoError(t, err)
					_, err = m.NewRequest(kind, res)
					var se *scim.Error
					require.ErrorAs(t, err, &se, "%s without %s must be refused", kind, k)
					require.Equal(t, http.StatusBadRequest, se.Status)
					require.Contains(t, se.Detail, "is required: map ", "%s without %s", kind, k)
				}
			}
		})
	}
}
