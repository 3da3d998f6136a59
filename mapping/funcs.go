package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// exprFunc is one function of the expression library.
type exprFunc struct {
	name  string
	fn    func(params ...any) (any, error)
	types []any // signatures for expr's compile-time arity and type checks
}

// functions is the closed set of transform functions, named and behaving
// like the Entra ID attribute-mapping functions of the same name so that an
// integrator can carry an expression over from the Entra portal. The
// string functions (ToLower … Append) return nil for nil (a missing
// attribute) and apply themselves to each element of a list.
var functions = []exprFunc{
	{"Join", fnJoin, []any{new(func(string, ...any) string)}},
	{"Switch", fnSwitch, []any{new(func(any, any, ...any) any)}},
	{"ToLower", strFunc(strings.ToLower), []any{new(func(any) any)}},
	{"ToUpper", strFunc(strings.ToUpper), []any{new(func(any) any)}},
	{"Trim", strFunc(strings.TrimSpace), []any{new(func(any) any)}},
	{"NormalizeDiacritics", strFunc(normalizeDiacritics), []any{new(func(any) any)}},
	{"StripSpaces", strFunc(stripSpaces), []any{new(func(any) any)}},
	{"Replace", fnReplace, []any{new(func(any, string, string) any)}},
	{"Left", fnLeft, []any{new(func(any, int) any)}},
	{"Mid", fnMid, []any{new(func(any, int, int) any)}},
	{"Word", fnWord, []any{new(func(any, int, string) any)}},
	{"Coalesce", fnCoalesce, []any{new(func(...any) any)}},
	{"Append", fnAppend, []any{new(func(any, any) any)}},
	{"Split", fnSplit, []any{new(func(any, string) any)}},
}

// Join(separator, values...) joins its arguments with separator. A list
// argument contributes each of its elements (Entra: "every value in that
// attribute will be joined together"). Missing and empty values are
// skipped, so Join(" ", given, family) gives "Ada" rather than "Ada " when
// the family name is missing. Returns nil when nothing is left.
func fnJoin(params ...any) (any, error) {
	sep, ok := params[0].(string)
	if !ok {
		return nil, fmt.Errorf("Join: the separator must be a string, not %T", params[0])
	}
	parts, err := flatten(params[1:])
	if err != nil {
		return nil, fmt.Errorf("Join: %w", err)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	size := len(sep) * (len(parts) - 1)
	for _, p := range parts {
		size += len(p)
	}
	if size > maxStringLen {
		return nil, fmt.Errorf("Join: the result would exceed %d bytes", maxStringLen)
	}
	return strings.Join(parts, sep), nil
}

// Switch(source, default, key1, value1, key2, value2, …) returns the value
// of the first key equal to source, else default. Strings compare exactly;
// a boolean source matches the keys "true"/"false" in any case, so Entra's
// Switch([IsSoftDeleted], , "False", "True", "True", "False") carries over.
func fnSwitch(params ...any) (any, error) {
	if len(params) < 2 || len(params)%2 != 0 {
		return nil, errors.New("Switch: needs a source, a default and key, value pairs")
	}
	source, def := params[0], params[1]
	for i := 2; i+1 < len(params); i += 2 {
		if switchEqual(source, params[i]) {
			return params[i+1], nil
		}
	}
	return def, nil
}

func switchEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ab, aBool := a.(bool)
	bb, bBool := b.(bool)
	switch {
	case aBool && bBool:
		return ab == bb
	case aBool:
		s, ok := scalarString(b)
		return ok && strings.EqualFold(s, strconv.FormatBool(ab))
	case bBool:
		s, ok := scalarString(a)
		return ok && strings.EqualFold(s, strconv.FormatBool(bb))
	}
	as, okA := scalarString(a)
	bs, okB := scalarString(b)
	return okA && okB && as == bs
}

// Replace(source, old, new) replaces every occurrence of old by new (a
// literal replacement; Entra's regex form is not supported). An empty old
// leaves source unchanged.
func fnReplace(params ...any) (any, error) {
	oldS, ok1 := params[1].(string)
	newS, ok2 := params[2].(string)
	if !ok1 || !ok2 {
		return nil, errors.New("Replace: old and new must be strings")
	}
	return mapStrings("Replace", params[0], func(s string) (any, error) {
		if oldS == "" {
			return s, nil
		}
		if n := strings.Count(s, oldS); len(s)+n*(len(newS)-len(oldS)) > maxStringLen {
			return nil, fmt.Errorf("the result would exceed %d bytes", maxStringLen)
		}
		return strings.ReplaceAll(s, oldS, newS), nil
	})
}

// Left(source, n) returns the first n characters of source; the whole
// string when it is shorter, and (as in Entra) when n is negative.
func fnLeft(params ...any) (any, error) {
	n, err := toInt(params[1])
	if err != nil {
		return nil, fmt.Errorf("Left: %w", err)
	}
	return mapStrings("Left", params[0], func(s string) (any, error) {
		r := []rune(s)
		if n < 0 || n >= len(r) {
			return s, nil
		}
		return string(r[:n]), nil
	})
}

// Mid(source, start, length) returns length characters from the 1-based
// position start (Entra's convention). A start before 1 counts from 1;
// positions past the end give an empty result.
func fnMid(params ...any) (any, error) {
	start, err := toInt(params[1])
	if err != nil {
		return nil, fmt.Errorf("Mid: %w", err)
	}
	length, err := toInt(params[2])
	if err != nil {
		return nil, fmt.Errorf("Mid: %w", err)
	}
	return mapStrings("Mid", params[0], func(s string) (any, error) {
		r := []rune(s)
		from := max(start, 1) - 1
		if length <= 0 || from >= len(r) {
			return "", nil
		}
		to := min(from+length, len(r))
		return string(r[from:to]), nil
	})
}

// Word(source, n, separators) returns the n-th word (1-based, as in Entra)
// of source, words being separated by any character of separators.
// Consecutive separators do not make empty words. Out of range gives "".
func fnWord(params ...any) (any, error) {
	n, err := toInt(params[1])
	if err != nil {
		return nil, fmt.Errorf("Word: %w", err)
	}
	seps, ok := params[2].(string)
	if !ok {
		return nil, errors.New("Word: separators must be a string")
	}
	return mapStrings("Word", params[0], func(s string) (any, error) {
		words := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) })
		if n < 1 || n > len(words) {
			return "", nil
		}
		return words[n-1], nil
	})
}

// Coalesce(values...) returns the first argument that has a value: not
// nil, not "", not an empty list. Nil when none has.
func fnCoalesce(params ...any) (any, error) {
	for _, p := range params {
		if !isEmpty(p) {
			return p, nil
		}
	}
	return nil, nil
}

// Append(source, suffix) returns source followed by suffix. A missing or
// empty source gives nil rather than a bare suffix, so that
// Append(attr("userName"), "@example.org") never writes "@example.org".
func fnAppend(params ...any) (any, error) {
	suffix, ok := scalarString(params[1])
	if !ok && params[1] != nil {
		return nil, fmt.Errorf("Append: the suffix must be a string, not %T", params[1])
	}
	return mapStrings("Append", params[0], func(s string) (any, error) {
		if s == "" {
			return nil, nil
		}
		if len(s)+len(suffix) > maxStringLen {
			return nil, fmt.Errorf("the result would exceed %d bytes", maxStringLen)
		}
		return s + suffix, nil
	})
}

// Split(source, separator) splits source into a list at every separator
// (an empty separator splits into characters). Empty pieces are kept in the
// list but never written: output coercion drops empty strings.
func fnSplit(params ...any) (any, error) {
	sep, ok := params[1].(string)
	if !ok {
		return nil, errors.New("Split: the separator must be a string")
	}
	s, ok := scalarString(params[0])
	if !ok {
		if params[0] == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("Split: the source must be a string, not %T", params[0])
	}
	parts := strings.SplitN(s, sep, maxElems+1)
	if len(parts) > maxElems {
		return nil, fmt.Errorf("Split: more than %d pieces", maxElems)
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// strFunc lifts a string function to the library's conventions.
func strFunc(f func(string) string) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		return mapStrings("", params[0], func(s string) (any, error) { return f(s), nil })
	}
}

// mapStrings applies f to a scalar, or to each element of a list. Nil stays
// nil. Numbers and booleans are used in their text form.
func mapStrings(name string, v any, f func(string) (any, error)) (any, error) {
	wrap := func(err error) error {
		if name == "" {
			return err
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if v == nil {
		return nil, nil
	}
	if s, ok := scalarString(v); ok {
		out, err := f(s)
		if err != nil {
			return nil, wrap(err)
		}
		return out, nil
	}
	list, ok := asList(v)
	if !ok {
		return nil, wrap(fmt.Errorf("cannot use %T as text", v))
	}
	if len(list) > maxElems {
		return nil, wrap(fmt.Errorf("more than %d values", maxElems))
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		if e == nil {
			continue
		}
		s, ok := scalarString(e)
		if !ok {
			return nil, wrap(fmt.Errorf("cannot use %T as text", e))
		}
		r, err := f(s)
		if err != nil {
			return nil, wrap(err)
		}
		out = append(out, r)
	}
	return out, nil
}

// scalarString gives the text of a scalar: strings as they are, booleans
// as true/false, numbers in their shortest form.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// flatten turns arguments (scalars and lists of scalars) into their
// non-empty texts.
func flatten(args []any) ([]string, error) {
	var out []string
	for _, a := range args {
		if a == nil {
			continue
		}
		if s, ok := scalarString(a); ok {
			if s != "" {
				out = append(out, s)
			}
			continue
		}
		list, ok := asList(a)
		if !ok {
			return nil, fmt.Errorf("cannot use %T as text", a)
		}
		for _, e := range list {
			if e == nil {
				continue
			}
			s, ok := scalarString(e)
			if !ok {
				return nil, fmt.Errorf("cannot use %T as text", e)
			}
			if s != "" {
				out = append(out, s)
			}
		}
		if len(out) > maxElems {
			return nil, fmt.Errorf("more than %d values", maxElems)
		}
	}
	return out, nil
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<31 {
			return int(x), nil
		}
	case json.Number:
		if n, err := strconv.Atoi(x.String()); err == nil {
			return n, nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%v is not a whole number", v)
}

func stripSpaces(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// normalizeDiacritics replaces accented Latin letters by their plain
// letters (é -> e, Ł -> L, ß -> ss, æ -> ae) and drops combining marks, so
// that names become usable in identifiers such as a uid or a mailbox.
// Other characters are kept.
func normalizeDiacritics(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if rep, ok := diacritics[r]; ok {
			b.WriteString(rep)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// diacritics covers Latin-1 Supplement, Latin Extended-A and the
// Romanian comma-below letters: every accented letter of the European
// Latin alphabets.
var diacritics = func() map[rune]string {
	const table = "ÀA ÁA ÂA ÃA ÄA ÅA ÆAE ÇC ÈE ÉE ÊE ËE ÌI ÍI ÎI ÏI ÐD ÑN ÒO ÓO ÔO ÕO ÖO ØO ÙU ÚU ÛU ÜU ÝY ÞTH ßss " +
		"àa áa âa ãa äa åa æae çc èe ée êe ëe ìi íi îi ïi ðd ñn òo óo ôo õo öo øo ùu úu ûu üu ýy þth ÿy " +
		"ĀA āa ĂA ăa ĄA ąa ĆC ćc ĈC ĉc ĊC ċc ČC čc ĎD ďd ĐD đd ĒE ēe ĔE ĕe ĖE ėe ĘE ęe ĚE ěe " +
		"ĜG ĝg ĞG ğg ĠG ġg ĢG ģg ĤH ĥh ĦH ħh ĨI ĩi ĪI īi ĬI ĭi ĮI įi İI ıi ĲIJ ĳij ĴJ ĵj ĶK ķk ĸk " +
		"ĹL ĺl ĻL ļl ĽL ľl ĿL ŀl ŁL łl ŃN ńn ŅN ņn ŇN ňn ŉn ŊN ŋn ŌO ōo ŎO ŏo ŐO őo ŒOE œoe " +
		"ŔR ŕr ŖR ŗr ŘR řr ŚS śs ŜS ŝs ŞS şs ŠS šs ŢT ţt ŤT ťt ŦT ŧt ŨU ũu ŪU ūu ŬU ŭu ŮU ůu ŰU űu ŲU ųu " +
		"ŴW ŵw ŶY ŷy ŸY ŹZ źz ŻZ żz ŽZ žz ſs ȘS șs ȚT țt"
	m := map[rune]string{}
	for _, pair := range strings.Fields(table) {
		r := []rune(pair)
		m[r[0]] = string(r[1:])
	}
	return m
}()
