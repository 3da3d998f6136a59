package scim

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// entraFixture is one file of testdata/entra (see its README.md).
type entraFixture struct {
	Name     string          `json:"name"`
	Source   string          `json:"source"`
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Query    string          `json:"query"`
	Request  json.RawMessage `json:"request"`
	Status   []int           `json:"status"`
	Response json.RawMessage `json:"response"`
	SCIM     struct {
		Normalized         json.RawMessage `json:"normalized"`
		Filter             *string         `json:"filter"`
		Attributes         []string        `json:"attributes"`
		ExcludedAttributes []string        `json:"excludedAttributes"`
		Before             json.RawMessage `json:"before"`
		After              json.RawMessage `json:"after"`
		MemberChanges      []MemberChange  `json:"memberChanges"`
	} `json:"scim"`
}

func loadEntraFixtures(tb testing.TB) []entraFixture {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "entra", "*.json"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files)
	var out []entraFixture
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(tb, err)
		var fx entraFixture
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		require.NoError(tb, dec.Decode(&fx), f)
		require.Equal(tb, strings.TrimSuffix(filepath.Base(f), ".json"), fx.Name, f)
		require.NotEmpty(tb, fx.Source, f)
		require.NotEmpty(tb, fx.Status, f)
		out = append(out, fx)
	}
	return out
}

func fixtureKind(tb testing.TB, path string) Kind {
	tb.Helper()
	switch {
	case strings.HasPrefix(path, "/Users"):
		return User
	case strings.HasPrefix(path, "/Groups"):
		return Group
	}
	return ""
}

func mustResource(tb testing.TB, raw json.RawMessage) Resource {
	tb.Helper()
	v := mustJSON(tb, string(raw))
	m, ok := v.(map[string]any)
	require.True(tb, ok)
	return Resource(m)
}

// TestEntraFixtures replays every request of docs/entra.md §2 through the
// parsing and normalisation this package owns.
func TestEntraFixtures(t *testing.T) {
	for _, fx := range loadEntraFixtures(t) {
		t.Run(fx.Name, func(t *testing.T) {
			kind := fixtureKind(t, fx.Path)
			if len(fx.Response) > 0 {
				var v any
				require.NoError(t, json.Unmarshal(fx.Response, &v), "response must be valid JSON")
			}
			switch fx.Method {
			case "POST", "PUT":
				require.NotEmpty(t, fx.SCIM.Normalized, "POST fixtures state their canonical form")
				got, err := Decode(kind, fx.Request)
				require.NoError(t, err)
				want := mustJSON(t, string(fx.SCIM.Normalized))
				if d := cmp.Diff(want, map[string]any(got)); d != "" {
					t.Fatalf("Decode mismatch (-want +got):\n%s", d)
				}
			case "PATCH":
				require.NotEmpty(t, fx.SCIM.Before, "PATCH fixtures state the resource before")
				ops, err := DecodePatch(kind, fx.Request)
				require.NoError(t, err)
				for _, op := range ops {
					require.NotNil(t, op.Path, "every decoded operation has a path")
				}
				r := mustResource(t, fx.SCIM.Before)
				changes, err := ApplyPatch(kind, r, ops)
				require.NoError(t, err)
				want := mustJSON(t, string(fx.SCIM.After))
				if d := cmp.Diff(want, map[string]any(r)); d != "" {
					t.Fatalf("ApplyPatch mismatch (-want +got):\n%s", d)
				}
				if d := cmp.Diff(fx.SCIM.MemberChanges, changes, cmpEmptyNil()); d != "" {
					t.Fatalf("member changes mismatch (-want +got):\n%s", d)
				}
				// Applying the same PATCH again changes nothing more:
				// Entra retries, and a replay must be harmless.
				again, err := ApplyPatch(kind, r, ops)
				require.NoError(t, err)
				if d := cmp.Diff(want, map[string]any(r)); d != "" {
					t.Fatalf("second ApplyPatch changed the resource (-want +got):\n%s", d)
				}
				require.Len(t, again, len(changes))
			case "GET":
				q, err := url.ParseQuery(fx.Query)
				require.NoError(t, err)
				lp, err := ParseListParams(kind, q)
				require.NoError(t, err)
				if fx.SCIM.Filter != nil {
					require.Equal(t, *fx.SCIM.Filter, FilterString(lp.Filter))
				} else {
					require.Nil(t, lp.Filter)
				}
				require.Equal(t, fx.SCIM.Attributes, pathStrings(lp.Attributes))
				require.Equal(t, fx.SCIM.ExcludedAttributes, pathStrings(lp.ExcludedAttributes))
			case "DELETE":
				require.Empty(t, fx.Request)
			default:
				t.Fatalf("unknown method %q", fx.Method)
			}
		})
	}
}

func pathStrings(ps []Path) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// cmpEmptyNil treats nil and empty slices of member changes alike.
func cmpEmptyNil() cmp.Option {
	return cmp.FilterValues(func(a, b []MemberChange) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())
}
