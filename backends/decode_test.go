package backends

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeConfig(t *testing.T) {
	type inner struct {
		Table string `json:"table"`
	}
	type cfg struct {
		BindDN string           `json:"bindDN"`
		Size   int              `json:"size"`
		Inner  inner            `json:"inner"`
		Many   map[string]inner `json:"many"`
	}
	for _, c := range []struct {
		name string
		in   map[string]any
		want cfg
		err  string
	}{
		{"ok", map[string]any{"bindDN": "cn=a", "size": 3, "inner": map[string]any{"table": "t"}}, cfg{BindDN: "cn=a", Size: 3, Inner: inner{Table: "t"}}, ""},
		{"YAML map[any]any", map[string]any{"inner": map[any]any{"table": "t"}}, cfg{Inner: inner{Table: "t"}}, ""},
		{"unknown key", map[string]any{"bindDn2": "x"}, cfg{}, `unknown field "bindDn2"`},
		{"wrong case", map[string]any{"binddn": "x"}, cfg{}, `"binddn"`},
		{"nested unknown", map[string]any{"inner": map[string]any{"tabel": "t"}}, cfg{}, `tabel`},
		{"wrong type", map[string]any{"size": "three"}, cfg{}, "size"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got cfg
			err := DecodeConfig(c.in, &got)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}
