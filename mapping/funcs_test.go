package mapping

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// evalTo compiles src as a toTarget expression and runs it with value and
// an attr() that reads attrs.
func evalTo(tb testing.TB, src string, value any, attrs map[string]any) (any, error) {
	tb.Helper()
	p, err := compileExpr(src, toEnv{})
	require.NoError(tb, err, src)
	return p.run(toEnv{Value: value, Attr: func(args ...any) any { return attrs[args[0].(string)] }})
}

func TestFunctions(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		value any
		want  any
	}{
		// Join
		{"Join", `Join(" ", "Ada", "Lovelace")`, nil, "Ada Lovelace"},
		{"Join skips missing and empty", `Join(" ", "Ada", nil, "", value)`, nil, "Ada"},
		{"Join flattens lists", `Join(",", value, "c")`, []any{"a", "b"}, "a,b,c"},
		{"Join of numbers and booleans", `Join("-", 1, 2.5, true)`, nil, "1-2.5-true"},
		{"Join of nothing", `Join(" ", nil, "")`, nil, nil},
		// Switch, with Entra's default expression for active.
		{"Switch Entra active, soft-deleted", `Switch(value, "", "False", "True", "True", "False")`, true, "False"},
		{"Switch Entra active, live", `Switch(value, "", "False", "True", "True", "False")`, false, "True"},
		{"Switch boolean keys", `Switch(value, "0", true, "1")`, true, "1"},
		{"Switch default", `Switch(value, "other", "a", "A", "b", "B")`, "c", "other"},
		{"Switch match", `Switch(value, "other", "a", "A", "b", "B")`, "b", "B"},
		{"Switch strings are exact", `Switch(value, "other", "a", "A")`, "A", "other"},
		{"Switch on nil", `Switch(value, "none", "a", "A")`, nil, "none"},
		{"Switch number", `Switch(value, "x", "42", "yes")`, 42.0, "yes"},
		// Case, spaces, diacritics.
		{"ToLower", `ToLower(value)`, "ÄdA", "äda"},
		{"ToUpper", `ToUpper(value)`, "straße", "STRAßE"},
		{"ToLower of nil", `ToLower(value)`, nil, nil},
		{"ToLower of a list", `ToLower(value)`, []any{"A", nil, "B"}, []any{"a", "b"}},
		{"Trim", `Trim(value)`, " \t a b \n", "a b"},
		{"StripSpaces", `StripSpaces(value)`, " a b\tc\u00a0d ", "abcd"},
		{"NormalizeDiacritics", `NormalizeDiacritics(value)`, "Zoë Łukasz Ærøskøbing Straße Ștefan Çağrı Ñoño", "Zoe Lukasz AEroskobing Strasse Stefan Cagri Nono"},
		{"NormalizeDiacritics combining marks", `NormalizeDiacritics(value)`, "Zoe\u0308", "Zoe"},
		{"NormalizeDiacritics keeps other scripts", `NormalizeDiacritics(value)`, "Ωμέγα 漢字", "Ωμέγα 漢字"},
		// Replace
		{"Replace", `Replace(value, ".", "_")`, "a.b.c", "a_b_c"},
		{"Replace empty old", `Replace(value, "", "x")`, "ab", "ab"},
		{"Replace in a list", `Replace(value, "-", "")`, []any{"1-2", "3-4"}, []any{"12", "34"}},
		// Left, Mid, Word: Entra's 1-based conventions.
		{"Left", `Left(value, 3)`, "Lovelace", "Lov"},
		{"Left runes", `Left(value, 2)`, "Zoë", "Zo"},
		{"Left longer than the string", `Left(value, 30)`, "Ada", "Ada"},
		{"Left zero", `Left(value, 0)`, "Ada", ""},
		{"Left negative", `Left(value, -1)`, "Ada", "Ada"},
		{"Mid", `Mid(value, 2, 3)`, "Lovelace", "ove"},
		{"Mid from 1", `Mid(value, 1, 2)`, "Lovelace", "Lo"},
		{"Mid before 1", `Mid(value, 0, 2)`, "Lovelace", "Lo"},
		{"Mid past the end", `Mid(value, 9, 2)`, "Lovelace", ""},
		{"Mid runs off the end", `Mid(value, 7, 9)`, "Lovelace", "ce"},
		{"Mid zero length", `Mid(value, 2, 0)`, "Lovelace", ""},
		{"Word", `Word(value, 3, " ")`, "The quick brown fox", "brown"},
		{"Word many separators", `Word(value, 3, ",!&#")`, "This,string!has&many separators", "has"},
		{"Word of a UPN", `Word(value, 1, "@")`, "ada@example.org", "ada"},
		{"Word consecutive separators", `Word(value, 2, " ")`, "a   b", "b"},
		{"Word out of range", `Word(value, 5, " ")`, "a b", ""},
		{"Word zero", `Word(value, 0, " ")`, "a b", ""},
		// Coalesce, Append, Split
		{"Coalesce", `Coalesce(nil, "", [], value, "b")`, "a", "a"},
		{"Coalesce of nothing", `Coalesce(nil, "")`, nil, nil},
		{"Coalesce keeps false", `Coalesce(nil, false)`, nil, false},
		{"Append", `Append(value, "@example.org")`, "ada", "ada@example.org"},
		{"Append to nothing", `Append(value, "@example.org")`, "", nil},
		{"Append to nil", `Append(value, "@example.org")`, nil, nil},
		{"Split", `Split(value, ",")`, "a,b,,c", []any{"a", "b", "", "c"}},
		{"Split nil", `Split(value, ",")`, nil, nil},
		{"Split into characters", `Split(value, "")`, "ab", []any{"a", "b"}},
		// attr and +
		{"attr", `attr("name.givenName") + " " + attr("name.familyName")`, nil, "Ada Lovelace"},
		{"attr missing", `attr("title")`, nil, nil},
		{"plus with nil", `attr("title") + "x"`, nil, "x"},
		{"plus numbers", `1 + 2`, nil, 3},
		{"plus floats", `value + 0.5`, 1.0, 1.5},
		{"nil plus nil", `attr("title") + attr("nickName")`, nil, nil},
		// Safe built-ins stay available.
		{"built-ins", `lower(trim(value)) + string_len`, " AB ", nil},
	}
	attrs := map[string]any{"name.givenName": "Ada", "name.familyName": "Lovelace"}
	for _, tt := range tests {
		if tt.name == "built-ins" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			got, err := evalTo(t, tt.src, tt.value, attrs)
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("%s (-want +got):\n%s", tt.src, diff)
			}
		})
	}
	got, err := evalTo(t, `len(filter(split(lower(trim(value)), " "), {hasPrefix(#, "a")}))`, " Ab AC d ", nil)
	require.NoError(t, err)
	require.Equal(t, 2, got)
}

func TestFunctionErrors(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		value any
		want  string
	}{
		{"Join separator", `Join(value, "a")`, 1.0, "Join: the separator must be a string, not float64"},
		{"Join of an object", `Join(" ", value)`, map[string]any{"a": "b"}, "Join: cannot use map[string]interface {} as text"},
		{"Left count", `Left("abc", value)`, "x", "Left: x is not a whole number"},
		{"Mid start", `Mid("abc", value, 1)`, 1.5, "Mid: 1.5 is not a whole number"},
		{"Word separators", `Word("abc", 1, value)`, 1.0, "Word: separators must be a string"},
		{"ToLower of an object", `ToLower(value)`, map[string]any{}, "cannot use map[string]interface {} as text"},
		{"Replace in a list of objects", `Replace(value, "a", "b")`, []any{map[string]any{}}, "Replace: cannot use map[string]interface {} as text"},
		{"Append suffix", `Append("a", value)`, []any{"x"}, "Append: the suffix must be a string, not []interface {}"},
		{"Split source", `Split(value, ",")`, []any{"x"}, "Split: the source must be a string, not []interface {}"},
		{"plus of incompatible values", `value + 1`, "a", "invalid operation: string + int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := evalTo(t, tt.src, tt.value, nil)
			require.EqualError(t, err, tt.want)
		})
	}
}

// TestHostileExpressions: an expression cannot exhaust memory or time, and
// cannot reach the clock.
func TestHostileExpressions(t *testing.T) {
	compileFails := []struct {
		name, src string
	}{
		{"now", `now()`},
		{"date", `date("2024-01-01")`},
		{"repeat", `repeat("x", 100000000)`},
		{"reduce", `reduce(1..30, #acc + #acc, "x")`},
		{"groupBy", `groupBy(1..3, #)`},
		{"string", `string(1..1000)`},
		{"toJSON", `toJSON(value)`},
		{"join built-in", `join(["a"], ",")`},
		{"too many nodes", strings.Repeat("1 + ", maxNodes) + "1"},
	}
	for _, tt := range compileFails {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileExpr(tt.src, toEnv{})
			require.Error(t, err)
		})
	}

	big := strings.Repeat("x", 1<<10)
	runFails := []struct {
		name, src string
		value     any
		want      string
	}{
		{"doubling with let", "let a = value + value; let b = a + a; let c = b + b; let d = c + c; let e = d + d; let f = e + e; " +
			"let g = f + f; let h = g + g; let i = h + h; let j = i + i; let k = j + j; k + k", big, "a string would exceed 1048576 bytes"},
		{"doubling through a predicate", `map(1..30, value + value)`, strings.Repeat("x", maxStringLen/2+1), "a string would exceed 1048576 bytes"},
		{"huge range", `len(1..100000000)`, nil, "memory budget exceeded"},
		{"nested loops", `len(map(1..1000, map(1..1000, #)))`, nil, "memory budget exceeded"},
		{"Join of copies", `Join("", map(1..2000, value))`, big, "Join: the result would exceed 1048576 bytes"},
		{"Replace growth", `Replace(value, "x", value)`, big + big, "Replace: the result would exceed 1048576 bytes"},
		{"Append growth", `Append(value, value)`, strings.Repeat("x", maxStringLen), "Append: the result would exceed 1048576 bytes"},
		{"Split into too many pieces", `Split(value, "")`, strings.Repeat("x", maxElems+1), "Split: more than 10000 pieces"},
		{"no list concatenation", `let a = 1..5000; a + a`, nil, "invalid operation: []int + []int"},
	}
	for _, tt := range runFails {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := evalTo(t, tt.src, tt.value, nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

// TestCoercion: what a toTarget result becomes in the target.
func TestCoercion(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want []string
		err  string
	}{
		{"nil", nil, nil, ""},
		{"empty string", "", nil, ""},
		{"string", "a", []string{"a"}, ""},
		{"true", true, []string{"true"}, ""},
		{"false", false, []string{"false"}, ""},
		{"int", 42, []string{"42"}, ""},
		{"float", 1.5, []string{"1.5"}, ""},
		{"whole float", 3.0, []string{"3"}, ""},
		{"list", []any{"a", "", nil, 1.0, false}, []string{"a", "1", "false"}, ""},
		{"strings", []string{"a", "", "b"}, []string{"a", "b"}, ""},
		{"complex with value", map[string]any{"value": "id", "$ref": "../Users/id"}, []string{"id"}, ""},
		{"list of complex", []any{map[string]any{"value": "a"}, map[string]any{"value": "b"}}, []string{"a", "b"}, ""},
		{"object", map[string]any{"a": "b"}, nil, "an object with no value member cannot be stored"},
		{"list in a list", []any{[]any{"a"}}, nil, "a list inside a list cannot be stored"},
		{"strings in a list", []any{[]string{"a"}}, nil, "a list inside a list cannot be stored"},
		{"other type", struct{}{}, nil, "a struct {} cannot be stored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toStrings(tt.in)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
