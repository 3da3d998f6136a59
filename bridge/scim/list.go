package scim

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Paging defaults (RFC 7644 §3.4.2.4). MaxCount is also advertised as
// filter.maxResults in ServiceProviderConfig.
const (
	DefaultCount = 100
	MaxCount     = 1000
)

// ParseListParams reads the query parameters of a list request: filter
// (ParseFilter; net/url has already turned '+' and %20 into spaces),
// startIndex (default 1; below 1 means 1), count (default 100, clamped to
// 1000; negative means 0), attributes and excludedAttributes (comma
// separated paths). Parameter names are case-insensitive and unknown
// parameters (Entra's aadOptscim062020 flag) are ignored.
func ParseListParams(kind Kind, q url.Values) (ListParams, error) {
	lp := ListParams{StartIndex: 1, Count: DefaultCount}
	// Sorted so that a parameter given in two spellings resolves the
	// same way every time.
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, name := range names {
		key := strings.ToLower(name)
		vals := q[name]
		if len(vals) == 0 || seen[key] {
			continue
		}
		v := strings.TrimSpace(vals[0])
		switch key {
		case "filter":
			seen[key] = true
			if v == "" {
				continue
			}
			f, err := ParseFilter(kind, vals[0])
			if err != nil {
				return ListParams{}, err
			}
			lp.Filter = f
		case "startindex":
			seen[key] = true
			n, err := queryInt(name, v)
			if err != nil {
				return ListParams{}, err
			}
			lp.StartIndex = max(n, 1)
		case "count":
			seen[key] = true
			n, err := queryInt(name, v)
			if err != nil {
				return ListParams{}, err
			}
			lp.Count = min(max(n, 0), MaxCount)
		case "attributes", "excludedattributes":
			seen[key] = true
			paths, err := parsePathList(kind, name, vals)
			if err != nil {
				return ListParams{}, err
			}
			if key == "attributes" {
				lp.Attributes = paths
			} else {
				lp.ExcludedAttributes = paths
			}
		}
	}
	return lp, nil
}

func queryInt(name, v string) (int, error) {
	if v == "" {
		return 0, badRequest(InvalidValue, "%s is empty; give a whole number", name)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		// A huge number is still a number: clamp instead of failing.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			if strings.HasPrefix(v, "-") {
				return -1, nil
			}
			return MaxCount * MaxCount, nil
		}
		return 0, badRequest(InvalidValue, "%s must be a whole number, got %s", name, strconvQuote(clip(v)))
	}
	return n, nil
}

// parsePathList parses comma-separated attribute paths from every value of
// a repeated parameter.
func parsePathList(kind Kind, name string, vals []string) ([]Path, error) {
	var out []Path
	for _, v := range vals {
		for _, part := range splitPaths(v) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			p, err := ParsePath(kind, part)
			if err != nil {
				return nil, prefixError(err, name+": ")
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// splitPaths splits at commas outside brackets and quotes, so that a
// value filter holding a comma stays whole.
func splitPaths(s string) []string {
	var parts []string
	depth, start, inStr := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == ',' && depth <= 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// Project applies attributes / excludedAttributes (RFC 7644 §3.4.2.5) and
// returns a new resource; r is not modified. id, schemas and
// meta.resourceType are always kept (returned "always"); password is never
// returned. With attributes, only the listed attributes (or
// sub-attributes) are kept; otherwise excludedAttributes are removed.
func Project(r Resource, attributes, excluded []Path) Resource {
	out := Resource{}
	if len(attributes) > 0 {
		for _, p := range attributes {
			copyPath(out, r, p)
		}
	} else {
		for k, v := range r {
			out[k] = deepCopy(v)
		}
		for _, p := range excluded {
			if p.URN == "" && isAlwaysReturned(p.Attr) && p.Sub == "" {
				continue
			}
			if p.URN == "" && strings.EqualFold(p.Attr, "meta") && strings.EqualFold(p.Sub, "resourceType") {
				continue
			}
			_ = out.Remove(Path{URN: p.URN, Attr: p.Attr, Sub: p.Sub})
		}
	}
	for _, k := range []string{"id", "schemas"} {
		if v, ok := lookupFold(r, k); ok {
			out[k] = deepCopy(v)
		}
	}
	if meta, ok := lookupFold(r, "meta"); ok {
		if m, ok := meta.(map[string]any); ok {
			if rt, ok := lookupFold(m, "resourceType"); ok {
				om, _ := out["meta"].(map[string]any)
				if om == nil {
					om = map[string]any{}
					out["meta"] = om
				}
				om["resourceType"] = rt
			}
		}
	}
	delete(out, keyFold(out, "password"))
	return out
}

func isAlwaysReturned(attr string) bool {
	return strings.EqualFold(attr, "id") || strings.EqualFold(attr, "schemas")
}

// copyPath copies the attribute (or sub-attribute, or extension) p names
// from src into dst.
func copyPath(dst, src Resource, p Path) {
	srcC := src.container(p, false)
	if srcC == nil {
		return
	}
	if p.Attr == "" {
		dst[p.URN] = deepCopy(srcC)
		return
	}
	key := keyFold(srcC, p.Attr)
	v, ok := srcC[key]
	if !ok {
		return
	}
	dstC := dst.container(Path{URN: keyFold(src, p.URN)}, true)
	if p.URN == "" {
		dstC = dst
	}
	if p.Sub == "" {
		dstC[key] = deepCopy(v)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		sk := keyFold(v, p.Sub)
		sv, ok := v[sk]
		if !ok {
			return
		}
		m, _ := dstC[key].(map[string]any)
		if m == nil {
			m = map[string]any{}
			dstC[key] = m
		}
		m[sk] = deepCopy(sv)
	case []any:
		// emails.value: keep every element, with just that sub-attribute
		// (merged with sub-attributes other entries asked for).
		have, _ := dstC[key].([]any)
		out := make([]any, len(v))
		for i, el := range v {
			var m map[string]any
			if i < len(have) {
				m, _ = have[i].(map[string]any)
			}
			if m == nil {
				m = map[string]any{}
			}
			if em, ok := el.(map[string]any); ok {
				sk := keyFold(em, p.Sub)
				if sv, ok := em[sk]; ok {
					m[sk] = deepCopy(sv)
				}
			}
			out[i] = m
		}
		dstC[key] = out
	}
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case Resource:
		return map[string]any(deepCopy(map[string]any(v)).(map[string]any))
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = deepCopy(e)
		}
		return l
	case []string:
		return append([]string(nil), v...)
	}
	return v
}

// Clone returns a deep copy of r.
func (r Resource) Clone() Resource {
	if r == nil {
		return nil
	}
	return Resource(deepCopy(map[string]any(r)).(map[string]any))
}
