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

// DecodeLayout: a mapping without groups has no groups layout (no
// error); a missing users layout, or a groups one the mapping needs, is
// required; a bad one names the backend and the layout.
func TestDecodeLayout(t *testing.T) {
	type layout struct {
		Table string `json:"table"`
	}
	for _, c := range []struct {
		name   string
		kind   Kind
		ks     KindSchema
		ok     bool
		errMsg string
	}{
		{"users", User, KindSchema{Layout: map[string]any{"table": "people"}}, true, ""},
		{"no groups", Group, KindSchema{}, false, ""},
		{"users missing", User, KindSchema{}, false, "x: users.target: required (table)"},
		{"groups needed", Group, KindSchema{Attrs: []AttrSchema{{Name: "cn"}}}, false, "x: groups.target: required (table)"},
		{"unknown key", User, KindSchema{Layout: map[string]any{"tabel": "people"}}, false, `x: users.target: unknown field "tabel"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var l layout
			ok, errs := DecodeLayout("x: "+LayoutPath(c.kind), c.kind, c.ks, "table", &l)
			require.Equal(t, c.ok, ok)
			if c.errMsg == "" {
				require.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			require.EqualError(t, errs[0], c.errMsg)
		})
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "TRUE": true, " yes ": true, "1": true, "On": true,
		"false": false, "FALSE": false, "no": false, "0": false, "off": false} {
		v, ok := ParseBool(in)
		require.True(t, ok, "%q", in)
		require.Equal(t, want, v, "%q", in)
	}
	for _, in := range []string{"", "2", "enabled", "truee", "t"} {
		_, ok := ParseBool(in)
		require.False(t, ok, "%q is guessed", in)
	}
}
