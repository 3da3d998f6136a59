package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// stdlibJSON encodes v with encoding/json alone: a Resource is turned into
// a plain map first, and so is every Resource of a list.
func stdlibJSON(tb testing.TB, v any, escapeHTML bool) string {
	tb.Helper()
	switch x := v.(type) {
	case Resource:
		if x != nil {
			v = map[string]any(x)
		}
	case ListResponse:
		res := make([]map[string]any, len(x.Resources))
		for i, r := range x.Resources {
			res[i] = r
		}
		if x.Resources == nil {
			res = []map[string]any{}
		}
		v = struct {
			Schemas      []string         `json:"schemas"`
			TotalResults int              `json:"totalResults"`
			StartIndex   int              `json:"startIndex"`
			ItemsPerPage int              `json:"itemsPerPage"`
			Resources    []map[string]any `json:"Resources"`
		}{[]string{SchemaListResponse}, x.TotalResults, x.StartIndex, x.ItemsPerPage, res}
	}
	return encodeJSON(tb, v, escapeHTML)
}

func encodeJSON(tb testing.TB, v any, escapeHTML bool) string {
	tb.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	require.NoError(tb, enc.Encode(v))
	return b.String()
}

// requireStdlibJSON checks that v encodes exactly as encoding/json encodes
// the same plain maps, with and without HTML escaping.
func requireStdlibJSON(tb testing.TB, v any) {
	tb.Helper()
	for _, html := range []bool{true, false} {
		require.Equal(tb, stdlibJSON(tb, v, html), encodeJSON(tb, v, html), "escapeHTML=%v", html)
	}
}

func TestResourceJSONMatchesEncodingJSON(t *testing.T) {
	odd := Resource{
		"displayName": "R&D <ops> \"quoted\" back\\slash",
		"control":     "a\x00b\x01\b\f\n\r\t\x1f\x7f",
		"unicode":     "Müller 東京 \u2028\u2029 \U0001F600",
		"invalid":     "bad \xff\xfe utf-8 \xe2\x80",
		"number":      json.Number("-12.5e+3"),
		"zeroNumber":  json.Number(""),
		"flags":       []any{true, false, nil},
		"empty":       map[string]any{},
		"nilMap":      map[string]any(nil),
		"nilList":     []any(nil),
		"nested":      map[string]any{"b": []any{map[string]any{"z": "1", "a": "2"}}, "a": Resource{"x": "y"}},
		"other":       []string{"kept", "by", "encoding/json"},
		"float":       1.5,
		"":            "empty key",
		"é":           "non-ASCII key",
	}
	requireStdlibJSON(t, odd)
	for k, v := range odd {
		for _, s := range []string{k, fmt.Sprint(v)} {
			want, err := marshalNoEscape(s)
			require.NoError(t, err)
			require.Equal(t, string(want), strconvQuote(s))
		}
	}
	requireStdlibJSON(t, Resource(nil))
	requireStdlibJSON(t, Resource{})
	requireStdlibJSON(t, ListResponse{})
	requireStdlibJSON(t, ListResponse{TotalResults: 3, StartIndex: 2, ItemsPerPage: 2, Resources: []Resource{odd, nil}})

	_, err := json.Marshal(Resource{"n": json.Number("1x")})
	require.ErrorContains(t, err, `invalid number literal "1x"`)
	_, err = json.Marshal(Resource{"f": []any{map[string]any{"nan": nan()}}})
	require.Error(t, err)
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

// TestEntraFixturesJSON encodes every Entra fixture's bodies, as decoded
// and as normalised.
func TestEntraFixturesJSON(t *testing.T) {
	for _, fx := range loadEntraFixtures(t) {
		for _, raw := range []json.RawMessage{fx.Request, fx.Response, fx.SCIM.Normalized, fx.SCIM.Before, fx.SCIM.After} {
			if len(raw) == 0 {
				continue
			}
			m, ok := mustJSON(t, string(raw)).(map[string]any)
			if !ok {
				continue
			}
			requireStdlibJSON(t, Resource(m))
			if kind := fixtureKind(t, fx.Path); kind != "" {
				if r, err := Normalize(kind, m); err == nil {
					requireStdlibJSON(t, r)
					requireStdlibJSON(t, ListResponse{TotalResults: 1, StartIndex: 1, ItemsPerPage: 1, Resources: []Resource{r}})
				}
			}
		}
	}
}
