package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"
)

// envOf returns a lookup function over a fixed environment, so that tests
// do not depend on the environment they run in.
func envOf(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// flatten returns the errors joined in err, one level deep.
func flatten(tb testing.TB, err error) []error {
	tb.Helper()
	require.Error(tb, err)
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// configErrors returns the *Error values joined in err.
func configErrors(tb testing.TB, err error) []*Error {
	tb.Helper()
	var out []*Error
	for _, e := range flatten(tb, err) {
		var ce *Error
		require.True(tb, errors.As(e, &ce), "not a *config.Error: %v", e)
		out = append(out, ce)
	}
	return out
}

func TestExpand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cr#t: x\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plain"), []byte("hunter2\r\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "multi"), []byte("line1\nline2\n\n"), 0o600))
	env := envOf(map[string]string{
		"HOST":   "db.example.org",
		"PORT":   "5432",
		"EMPTY":  "",
		"DN":     "cn=admin,dc=example,dc=org",
		"QUOTE":  `it's "quoted" \ here`,
		"HASH":   "a #b",
		"TRUE":   "true",
		"DOLLAR": "${HOST}",
		"DIR":    dir,
	})
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain variable", "a: ${HOST}\n", "a: db.example.org\n"},
		{"number keeps its type", "a: ${PORT}\n", "a: 5432\n"},
		{"default when unset", "a: ${NOPE:-x:1}\n", "a: x:1\n"},
		{"default when empty", "a: ${EMPTY:-fallback}\n", "a: fallback\n"},
		{"set wins over default", "a: ${HOST:-other}\n", "a: db.example.org\n"},
		{"empty default is an empty string", "a: ${NOPE:-}\n", "a: \"\"\n"},
		{"empty variable is an empty string", "a: ${EMPTY}\n", "a: \"\"\n"},
		{"nested default", "a: ${NOPE:-${HOST}:${PORT}}\n", "a: db.example.org:5432\n"},
		{"unused default is not expanded", "a: ${HOST:-${MISSING}}\n", "a: db.example.org\n"},
		{"dollar escape", "a: $${HOST} costs 5$$\n", "a: ${HOST} costs 5$\n"},
		{"lone dollar kept", "a: pa$word and $ and $1\n", "a: pa$word and $ and $1\n"},
		{"values are not re-expanded", "a: ${DOLLAR}\n", "a: ${HOST}\n"},
		{"inside a larger scalar", "a: postgres://${HOST}:${PORT}/db\n", "a: postgres://db.example.org:5432/db\n"},
		{"flow mapping", "s: { path: ${NOPE:-data}/state.db, x: 1 }\n", "s: { path: data/state.db, x: 1 }\n"},
		{"flow mapping quotes commas", "s: { dn: ${DN} }\n", "s: { dn: \"cn=admin,dc=example,dc=org\" }\n"},
		{"unsafe value quotes the whole scalar", "a: x ${HASH} y # note ${HOST}\n", "a: \"x a #b y\" # note ${HOST}\n"},
		{"boolean keeps its type", "a: ${TRUE}\n", "a: true\n"},
		{"comment untouched", "# ${MISSING}\na: 1 # ${MISSING}\n", "# ${MISSING}\na: 1 # ${MISSING}\n"},
		{"key untouched", "${MISSING}: 1\n", "${MISSING}: 1\n"},
		{"double quoted escapes", "a: \"<${QUOTE}>\"\n", "a: \"<it's \\\"quoted\\\" \\\\ here>\"\n"},
		{"single quoted escapes", "a: '<${QUOTE}>'\n", "a: '<it''s \"quoted\" \\ here>'\n"},
		{"double quoted hash is not a comment", "a: \"# ${HOST}\"\n", "a: \"# db.example.org\"\n"},
		{"file secret", "a: ${file:pw}\n", "a: \"s3cr#t: x\"\n"},
		{"file secret crlf trimmed", "a: ${file:plain}\n", "a: hunter2\n"},
		{"file secret multi-line", "a: ${file:multi}\n", "a: \"line1\\nline2\\n\"\n"},
		{"file path from a variable", "a: ${file:${DIR}/plain}\n", "a: hunter2\n"},
		{"sequence item", "l:\n  - ${HOST}\n  - '${PORT}'\n", "l:\n  - db.example.org\n  - '5432'\n"},
		{"block scalar", "a: |\n  host ${HOST} # not a comment\nb: ${PORT}\n", "a: |\n  host db.example.org # not a comment\nb: 5432\n"},
		{"block scalar in a sequence", "- a: >-\n    ${HOST}\n  b: ${PORT}\n", "- a: >-\n    db.example.org\n  b: 5432\n"},
		{"anchor and tag", "a: &x !!str ${PORT}\n", "a: &x !!str 5432\n"},
		{"crlf line endings", "a: ${HOST}\r\nb: 1\r\n", "a: db.example.org\r\nb: 1\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, err := expand(newSource("t.yaml", []byte(tt.in)), dir, env)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(x.out))
			require.Equal(t, strings.Count(tt.in, "\n"), strings.Count(string(x.out), "\n"), "expansion must not add lines")
		})
	}
}

// TestExpandKeepsValues checks, through the YAML decoder, that awkward
// values come out of expansion exactly as they went in.
func TestExpandKeepsValues(t *testing.T) {
	t.Parallel()
	values := []string{
		"plain", "", " lead and trail ", "a: b", "a #b", "#x", "- x", "-1", "x:", "[1,2]", "{a}",
		"*alias", "&anchor", "!tag", "'single'", `"double"`, `back\slash`, "tab\there", "line\nbreak",
		"cn=a,dc=b", "p@ss%w0rd!", "ünïcödé", "null", "~", "@at", "`tick", "|pipe", ">gt", "%pct",
	}
	typed := map[string]bool{"-1": true, "null": true, "~": true}
	for _, style := range []string{"a: %s\n", "a: \"%s\"\n", "{ a: %s }\n", "a: [ %s ]\n"} {
		for _, v := range values {
			src := strings.ReplaceAll(style, "%s", "${V}")
			x, err := expand(newSource("t.yaml", []byte(src)), ".", envOf(map[string]string{"V": v}))
			require.NoError(t, err, "style %q value %q", style, v)
			var got map[string]any
			require.NoError(t, yaml.Unmarshal(x.out, &got), "style %q value %q: %s", style, v, x.out)
			want := any(v)
			if strings.Contains(style, "[") {
				want = []any{v}
			}
			if typed[v] && !strings.Contains(style, `"`) {
				// Written unquoted, a number or null keeps the type YAML
				// gives it, as if the value had been written in place.
				var lit map[string]any
				require.NoError(t, yaml.Unmarshal([]byte(strings.ReplaceAll(style, "%s", v)), &lit))
				want = lit["a"]
			}
			require.Equal(t, want, got["a"], "style %q value %q: %s", style, v, x.out)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"MULTI": "a\nb"})
	tests := []struct {
		name string
		in   string
		// want holds, per error, its line, column and a part of its message.
		want []struct {
			line, col int
			msg       string
		}
	}{
		{"missing variable", "a: 1\nb: x${MISSING}\n", []struct {
			line, col int
			msg       string
		}{{2, 5, "environment variable MISSING is not set"}}},
		{"every missing variable", "a: ${ONE}\nb: { c: ${TWO}, d: \"${THREE}\" }\n", []struct {
			line, col int
			msg       string
		}{{1, 4, "ONE"}, {2, 9, "TWO"}, {2, 21, "THREE"}}},
		{"missing inside a used default", "a: ${NOPE:-${INNER}}\n", []struct {
			line, col int
			msg       string
		}{{1, 4, "INNER"}}},
		{"unterminated", "a: ${HOST\n", []struct {
			line, col int
			msg       string
		}{{1, 4, "unterminated ${"}}},
		{"invalid name", "a: ${1X}\n", []struct {
			line, col int
			msg       string
		}{{1, 4, "invalid reference ${1X}"}}},
		{"missing file", "a: ${file:nope.txt}\n", []struct {
			line, col int
			msg       string
		}{{1, 4, "read secret file"}}},
		{"empty file path", "a: ${file:}\n", []struct {
			line, col int
			msg       string
		}{{1, 4, "needs a path"}}},
		{"line break in single quotes", "a: '${MULTI}'\n", []struct {
			line, col int
			msg       string
		}{{1, 5, "single-quoted"}}},
		{"line break in a block scalar", "a: |\n  ${MULTI}\n", []struct {
			line, col int
			msg       string
		}{{2, 3, "block scalar"}}},
		{"column counts characters", "é: ${MISSING}\n", []struct {
			line, col int
			msg       string
		}{{1, 4, "MISSING"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := expand(newSource("t.yaml", []byte(tt.in)), t.TempDir(), env)
			errs := configErrors(t, err)
			require.Len(t, errs, len(tt.want), "%v", err)
			for i, w := range tt.want {
				require.Equal(t, w.line, errs[i].Line, "error %d: %v", i, errs[i])
				require.Equal(t, w.col, errs[i].Column, "error %d: %v", i, errs[i])
				require.Contains(t, errs[i].Msg, w.msg)
				require.Contains(t, errs[i].Error(), "config: t.yaml:")
				require.Contains(t, errs[i].Snippet, "^")
			}
		})
	}
}

// FuzzExpand checks that no input makes expansion or decoding panic, and
// that expansion never changes the number of lines.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"a: ${X}\n", "a: ${X:-${Y:-z}}\n", "s: { p: ${X:-d}/s.db, q: [${Y:-1}] }\n",
		"a: \"${X}\\\"\"\n", "a: '${X}''x'\n", "a: |\n  ${X}\n", "# ${X}\n${X}: ${X}\n",
		"a: ${\n", "a: $${X} $$ $\n", "- ${X}\n- '${X}\n  ${X}'\n", "a: ${file:}\n",
	} {
		f.Add(s, "v")
	}
	f.Fuzz(func(t *testing.T, src, v string) {
		env := envOf(map[string]string{"X": v, "Y": v + ",: #"})
		x, err := expand(newSource("f.yaml", []byte(src)), t.TempDir(), env)
		if err != nil {
			return
		}
		if strings.Count(src, "\n") != strings.Count(string(x.out), "\n") {
			t.Fatalf("lines changed:\n%q\n%q", src, x.out)
		}
		for line := 1; line <= len(x.lines); line++ {
			_ = x.origOffset(line, 1+len(x.lines[line-1]))
		}
		var raw rawConfig
		_ = yaml.UnmarshalWithOptions(x.out, &raw, yaml.Strict())
	})
}
