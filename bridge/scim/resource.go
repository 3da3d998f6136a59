package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Decode parses a request body (POST, PUT) into a canonical Resource. The
// body must be one JSON object; numbers stay json.Number. A body that is
// not JSON is 400 invalidSyntax, a known attribute with a wrong type 400
// invalidValue naming it. The size limit is the HTTP layer's job.
func Decode(kind Kind, body []byte) (Resource, error) {
	raw, err := decodeObject(body, "the request body")
	if err != nil {
		return nil, err
	}
	return Normalize(kind, raw)
}

// decodeObject parses exactly one JSON object.
func decodeObject(body []byte, what string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonSyntaxError(what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest(InvalidSyntax, "%s has more after its JSON object; send exactly one object", what)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest(InvalidSyntax, "%s must be a JSON object, got %s", what, jsonKind(v))
	}
	return m, nil
}

func jsonSyntaxError(what string, err error) *Error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest(InvalidSyntax, "%s is empty; send a JSON object", what)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(InvalidSyntax, "%s is not valid JSON: it ends in the middle of a value", what)
	case errors.As(err, &se):
		// encoding/json's syntax messages ("invalid character '}' after
		// object key") are about the client's own text, so they help.
		return badRequest(InvalidSyntax, "%s is not valid JSON at byte %d: %s", what, se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	return badRequest(InvalidSyntax, "%s is not valid JSON", what)
}

// jsonKind names the JSON type of v for error details.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64, int, int64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "an unsupported value"
}

// Normalize turns a decoded JSON object into the canonical Resource form
// (see Resource): known attribute names take their schema casing, nulls
// are dropped, boolean strings become booleans for boolean attributes,
// enterprise attributes given at the top level (bare or URN-qualified)
// move under the SchemaEnterprise object, manager becomes {"value": id},
// members entries become {"value": id} (+ "display"), and what the server
// owns (id, meta, groups, schemas) is removed. Unknown attributes are kept
// untouched; the mapping ignores them.
func Normalize(kind Kind, raw map[string]any) (Resource, error) {
	out := Resource{}
	from := map[string]string{} // canonical location -> raw key, to report conflicts
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		if v == nil || strings.EqualFold(k, "schemas") {
			continue
		}
		if err := normalizeTopKey(kind, out, from, k, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// normalizeTopKey places one top-level key of a request body. Keys this
// package does not know (custom extension objects, unknown names) are kept
// exactly as sent, so that normalising twice changes nothing.
func normalizeTopKey(kind Kind, out Resource, from map[string]string, k string, v any) error {
	if obj, ok := v.(map[string]any); ok {
		if urn := knownExtensionURN(kind, k); urn != "" {
			for _, sk := range slices.Sorted(maps.Keys(obj)) {
				if obj[sk] == nil {
					continue
				}
				if err := placeAttribute(kind, out, from, k+":"+sk, Path{URN: urn, Attr: sk}, obj[sk]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	p, err := ParsePath(kind, k)
	switch {
	case err != nil || p.Filter != nil || p.Attr == "":
		return placeRaw(out, from, k, k, v)
	case p.URN != "" && knownExtensionURN(kind, p.URN) == "":
		return placeRaw(out, from, k, k, v)
	case p.URN == "" && LookupAttribute(kind, "", p.Attr) == nil:
		return placeRaw(out, from, k, k, v)
	}
	return placeAttribute(kind, out, from, k, p, v)
}

// placeAttribute normalises v for the attribute p names and stores it.
func placeAttribute(kind Kind, out Resource, from map[string]string, rawKey string, p Path, v any) error {
	p.Attr = canonicalAttrName(kind, p)
	if readOnlyAttr(kind, p) {
		return nil
	}
	def, subDef := lookupPath(kind, p)
	nd := def
	if p.Sub != "" {
		nd = subDef
	}
	nv := v
	if nd != nil {
		var err error
		if nv, err = normalizeValue(kind, nd, v, ""); err != nil {
			// The name only serves the error detail: build it when
			// there is one (normalising is pure, so again gives the
			// same error, now named).
			_, err = normalizeValue(kind, nd, v, p.String())
			return err
		}
	}
	if nv == nil {
		return nil
	}
	container := map[string]any(out)
	if p.URN != "" {
		c, ok := out[p.URN].(map[string]any)
		if !ok {
			c = map[string]any{}
			out[p.URN] = c
		}
		container = c
	}
	if p.Sub == "" {
		return placeRaw(container, from, p.URN+"|"+p.Attr, rawKey, nv, p.Attr)
	}
	parent, ok := container[p.Attr].(map[string]any)
	if !ok {
		if _, exists := container[p.Attr]; exists {
			return badRequest(InvalidValue, "%s is given both as %s and as a sub-attribute %s", p.Attr, strconvQuote(from[p.URN+"|"+p.Attr]), strconvQuote(rawKey))
		}
		parent = map[string]any{}
		container[p.Attr] = parent
		from[p.URN+"|"+p.Attr] = rawKey
	}
	return placeRaw(parent, from, p.URN+"|"+p.Attr+"."+p.Sub, rawKey, nv, p.Sub)
}

// canonicalAttrName re-applies schema casing for names that came from an
// extension object's keys (which ParsePath did not see).
func canonicalAttrName(kind Kind, p Path) string {
	if def := LookupAttribute(kind, p.URN, p.Attr); def != nil {
		return def.Name
	}
	return p.Attr
}

// placeRaw stores v under key (default: loc's last part) unless another
// spelling already put a different value there.
func placeRaw(container map[string]any, from map[string]string, loc, rawKey string, v any, key ...string) error {
	k := rawKey
	if len(key) > 0 {
		k = key[0]
	}
	if old, exists := container[k]; exists {
		if reflect.DeepEqual(old, v) {
			return nil
		}
		if cm, ok := old.(map[string]any); ok {
			if nm, ok := v.(map[string]any); ok {
				// name.givenName and name{familyName}: merge.
				for sk, sv := range nm {
					if ov, dup := cm[sk]; dup && !reflect.DeepEqual(ov, sv) {
						return badRequest(InvalidValue, "%s.%s is given twice with different values (as %s and %s)", k, sk, strconvQuote(from[loc]), strconvQuote(rawKey))
					}
					cm[sk] = sv
				}
				return nil
			}
		}
		return badRequest(InvalidValue, "%s is given twice with different values (as %s and %s)", k, strconvQuote(from[loc]), strconvQuote(rawKey))
	}
	container[k] = v
	from[loc] = rawKey
	return nil
}

// normalizeValue checks and normalises a value for a known attribute (or
// sub-attribute) definition; nil means "absent".
func normalizeValue(kind Kind, def *Attribute, v any, name string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if def.MultiValued {
		list, ok := v.([]any)
		if !ok {
			return nil, badRequest(InvalidValue, "%s must be a list, got %s", name, jsonKind(v))
		}
		out := make([]any, 0, len(list))
		for _, el := range list {
			if el == nil {
				continue
			}
			nv, err := normalizeElement(kind, def, el, name)
			if err != nil {
				return nil, err
			}
			if nv != nil {
				out = append(out, nv)
			}
		}
		return out, nil
	}
	return normalizeElement(kind, def, v, name)
}

// normalizeElement normalises one (non-list) value of def.
func normalizeElement(kind Kind, def *Attribute, v any, name string) (any, error) {
	if def.Type == TypeComplex {
		switch {
		case kind == User && def.Name == "manager":
			return normalizeManager(v, name)
		case kind == Group && def.Name == "members":
			return normalizeMember(v, name)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, badRequest(InvalidValue, "%s must be an object, got %s", name, jsonKind(v))
		}
		out := map[string]any{}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			sv := obj[k]
			if sv == nil {
				continue
			}
			sd := def.Sub(k)
			if sd == nil {
				out[k] = sv
				continue
			}
			nv, err := normalizeValue(kind, sd, sv, "")
			if err != nil {
				// Named only for the error, as in placeAttribute.
				_, err = normalizeValue(kind, sd, sv, name+"."+sd.Name)
				return nil, err
			}
			if nv != nil {
				out[sd.Name] = nv
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	return normalizeScalar(def, v, name)
}

func normalizeScalar(def *Attribute, v any, name string) (any, error) {
	switch def.Type {
	case TypeBoolean:
		// Quirk: boolean strings (quirks.go BoolValue).
		if b, ok := BoolValue(v); ok {
			return b, nil
		}
		return nil, badRequest(InvalidValue, "%s must be true or false, got %s", name, describeValue(v))
	case TypeDecimal, TypeInteger:
		// v itself, not the value re-boxed: that would allocate.
		if _, ok := v.(json.Number); ok {
			return v, nil
		}
		return nil, badRequest(InvalidValue, "%s must be a number, got %s", name, jsonKind(v))
	default:
		if _, ok := v.(string); ok {
			return v, nil
		}
		return nil, badRequest(InvalidValue, "%s must be a string, got %s", name, jsonKind(v))
	}
}

func describeValue(v any) string {
	if s, ok := v.(string); ok {
		return "the string " + strconvQuote(clip(s))
	}
	return jsonKind(v)
}

// lookupFold finds key in m, exactly or else case-insensitively (unknown
// attributes keep the client's casing).
func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// keyFold returns the key of m that equals key case-insensitively, or key.
func keyFold(m map[string]any, key string) string {
	if _, ok := m[key]; ok {
		return key
	}
	for k := range m {
		if strings.EqualFold(k, key) {
			return k
		}
	}
	return key
}

// container returns the object holding p's attribute: r itself, or the
// extension object for p.URN (created when create is set).
func (r Resource) container(p Path, create bool) map[string]any {
	if p.URN == "" {
		return r
	}
	k := keyFold(r, p.URN)
	if c, ok := r[k].(map[string]any); ok {
		return c
	}
	if !create {
		return nil
	}
	c := map[string]any{}
	r[p.URN] = c
	return c
}

// Get returns the value at p. A simple or sub-attribute path returns the
// stored value; a value-filter path (emails[type eq "work"].value) finds the
// first element matching the filter and returns it, or its sub-attribute;
// a sub-attribute of a multi-valued attribute without filter (emails.value)
// returns the list of those sub-attribute values. For a complex attribute
// with a value sub-attribute (manager) Get(manager) returns the object.
func (r Resource) Get(p Path) (any, bool) {
	c := r.container(p, false)
	if c == nil {
		return nil, false
	}
	if p.Attr == "" {
		return c, true
	}
	v, ok := lookupFold(c, p.Attr)
	if !ok || v == nil {
		return nil, false
	}
	if p.Filter != nil {
		el, ok := firstMatch(v, p.Filter)
		if !ok {
			return nil, false
		}
		if p.Sub == "" {
			return el, true
		}
		sv, ok := lookupFold(el, p.Sub)
		return sv, ok && sv != nil
	}
	if p.Sub == "" {
		return v, true
	}
	switch v := v.(type) {
	case map[string]any:
		sv, ok := lookupFold(v, p.Sub)
		return sv, ok && sv != nil
	case []any:
		var vals []any
		for _, el := range v {
			if m, ok := el.(map[string]any); ok {
				if sv, ok := lookupFold(m, p.Sub); ok && sv != nil {
					vals = append(vals, sv)
				}
			}
		}
		return vals, len(vals) > 0
	}
	return nil, false
}

// firstMatch returns the first element of a multi-valued attribute (or the
// single complex value) that matches f.
func firstMatch(v any, f Filter) (map[string]any, bool) {
	switch v := v.(type) {
	case []any:
		for _, el := range v {
			if m, ok := el.(map[string]any); ok && matchObject(m, f) {
				return m, true
			}
		}
	case map[string]any:
		if matchObject(v, f) {
			return v, true
		}
	}
	return nil, false
}
