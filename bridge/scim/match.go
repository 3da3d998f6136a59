package scim

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Match reports whether r satisfies f, evaluated in memory. Strings compare
// case-insensitively, because the targets this bridge writes to (LDAP
// directories, the Pharos store) fold case for the attributes Entra
// matches on; a complex attribute with a value sub-attribute (manager,
// members) compares through that value; a multi-valued attribute matches
// when any element does. It serves value-filter paths, tests and in-memory
// fakes; the real reads are translated to target queries by the mapping.
func Match(r Resource, f Filter) bool {
	return matchObject(r, f)
}

// matchObject evaluates f with paths relative to obj: a resource, or one
// element of a multi-valued attribute inside a value filter.
func matchObject(obj map[string]any, f Filter) bool {
	switch f := f.(type) {
	case Compare:
		return matchCompare(obj, f)
	case *Compare:
		return f != nil && matchCompare(obj, *f)
	case Logical:
		return matchLogical(obj, f)
	case *Logical:
		return f != nil && matchLogical(obj, *f)
	case Not:
		return f.Filter != nil && !matchObject(obj, f.Filter)
	case *Not:
		return f != nil && f.Filter != nil && !matchObject(obj, f.Filter)
	}
	return false
}

func matchLogical(obj map[string]any, l Logical) bool {
	if l.Op == "or" {
		return matchObject(obj, l.Left) || matchObject(obj, l.Right)
	}
	return matchObject(obj, l.Left) && matchObject(obj, l.Right)
}

func matchCompare(obj map[string]any, c Compare) bool {
	vals := pathValues(obj, c.Path)
	switch {
	case c.Op == "pr":
		for _, v := range vals {
			if present(v) {
				return true
			}
		}
		return false
	case c.Value == nil && (c.Op == "eq" || c.Op == "ne"):
		// `x eq null` is "x is absent" (RFC 7644 §3.4.2.2).
		found := false
		for _, v := range vals {
			found = found || present(v)
		}
		return found == (c.Op == "ne")
	case c.Op == "ne":
		return !matchCompare(obj, Compare{Path: c.Path, Op: "eq", Value: c.Value})
	}
	for _, v := range vals {
		if compareOne(c.Op, v, c.Value) {
			return true
		}
	}
	return false
}

// pathValues returns every value p reaches in obj, flattening lists.
func pathValues(obj map[string]any, p Path) []any {
	base := obj
	if p.URN != "" {
		m, ok := lookupFold(obj, p.URN)
		if !ok {
			return nil
		}
		if base, ok = m.(map[string]any); !ok {
			return nil
		}
	}
	v, ok := lookupFold(base, p.Attr)
	if !ok || v == nil {
		return nil
	}
	var elems []any
	if list, ok := v.([]any); ok {
		elems = list
	} else {
		elems = []any{v}
	}
	if p.Filter != nil {
		kept := elems[:0:0]
		for _, el := range elems {
			if m, ok := el.(map[string]any); ok && matchObject(m, p.Filter) {
				kept = append(kept, m)
			}
		}
		elems = kept
	}
	if p.Sub == "" {
		return elems
	}
	var out []any
	for _, el := range elems {
		if m, ok := el.(map[string]any); ok {
			if sv, ok := lookupFold(m, p.Sub); ok && sv != nil {
				if list, ok := sv.([]any); ok {
					out = append(out, list...)
				} else {
					out = append(out, sv)
				}
			}
		}
	}
	return out
}

func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// compareOne applies op to one stored value and the filter's literal.
func compareOne(op string, actual, want any) bool {
	if m, ok := actual.(map[string]any); ok {
		v, ok := lookupFold(m, "value")
		if !ok {
			return false
		}
		actual = v
	}
	switch w := want.(type) {
	case bool:
		a, ok := BoolValue(actual)
		return ok && op == "eq" && a == w
	case json.Number:
		af, aok := number(actual)
		wf, wok := number(w)
		if aok && wok {
			return orderMatch(op, compareFloat(af, wf))
		}
		return compareStrings(op, text(actual), w.String())
	case string:
		return compareStrings(op, text(actual), w)
	}
	return false
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	}
	return literal(v)
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case int:
		return float64(v), true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareStrings(op, actual, want string) bool {
	a, w := strings.ToLower(actual), strings.ToLower(want)
	switch op {
	case "co":
		return strings.Contains(a, w)
	case "sw":
		return strings.HasPrefix(a, w)
	case "ew":
		return strings.HasSuffix(a, w)
	}
	return orderMatch(op, strings.Compare(a, w))
}

func orderMatch(op string, cmp int) bool {
	switch op {
	case "eq":
		return cmp == 0
	case "gt":
		return cmp > 0
	case "ge":
		return cmp >= 0
	case "lt":
		return cmp < 0
	case "le":
		return cmp <= 0
	}
	return false
}
