package scim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestNormalizeManager(t *testing.T) {
	want := map[string]any{"value": "m1"}
	tests := []struct {
		name string
		in   string
		want any
		err  string
	}{
		{"bare string", `"m1"`, want, ""},
		{"object", `{"value":"m1","$ref":"../Users/m1","displayName":"Boss"}`, want, ""},
		{"object value case", `{"Value":"m1"}`, want, ""},
		{"old array form", `[{"$ref":"http://.../scim/Users/m1","value":"m1"}]`, want, ""},
		{"empty string", `""`, nil, ""},
		{"empty array", `[]`, nil, ""},
		{"object without value", `{"displayName":"x"}`, nil, ""},
		{"object with null value", `{"value":null}`, nil, ""},
		{"object with blank value", `{"value":"  "}`, nil, ""},
		{"number", `5`, nil, "must be a user id"},
		{"two managers", `[{"value":"a"},{"value":"b"}]`, nil, "one manager"},
		{"numeric value", `{"value":5}`, nil, "must be a string id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalizeManager(mustJSON(t, tc.in), "manager")
			if tc.err != "" {
				requireSCIMError(t, err, InvalidValue, tc.err)
				return
			}
			require.NoError(t, err)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestNormalizeMember(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
		err  bool
	}{
		{"ref null", `{"$ref":null,"value":"u1"}`, map[string]any{"value": "u1"}, false},
		{"display kept, type dropped", `{"value":"u1","display":"U","type":"User","$ref":"../Users/u1"}`, map[string]any{"value": "u1", "display": "U"}, false},
		{"bare id", `"u1"`, map[string]any{"value": "u1"}, false},
		{"blank id", `" "`, nil, true},
		{"no value", `{"display":"x"}`, nil, true},
		{"number", `1`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalizeMember(mustJSON(t, tc.in), "members")
			if tc.err {
				requireSCIMError(t, err, InvalidValue, "members")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	ids, err := memberIDs(mustJSON(t, `[{"value":"a"},"b",{"value":"a"}]`), "members")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, ids)
	ids, err = memberIDs(mustJSON(t, `{"value":"a"}`), "members")
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, ids)
	ids, err = memberIDs(nil, "members")
	require.NoError(t, err)
	require.Nil(t, ids)
}

func TestBareValueLiteral(t *testing.T) {
	for in, want := range map[string]string{
		"jyoung":           `"jyoung"`,
		"TRUE":             "true",
		"False":            "false",
		"null":             "null",
		"12":               "12",
		"-1.5e3":           "-1.5e3",
		"0123":             `"0123"`,
		"1.":               `"1."`,
		"2819c223-7f76":    `"2819c223-7f76"`,
		`a\b`:              `"a\\b"`,
		"<&>":              `"<&>"`,
		"user@contoso.com": `"user@contoso.com"`,
	} {
		require.Equal(t, want, bareValueLiteral(in), in)
	}
}

func TestNormalizeOp(t *testing.T) {
	for _, in := range []string{"Add", "add", "ADD", " Replace ", "remove", "Remove"} {
		_, ok := normalizeOp(in)
		require.True(t, ok, in)
	}
	for _, in := range []string{"", "move", "copy", "test"} {
		_, ok := normalizeOp(in)
		require.False(t, ok, in)
	}
}
