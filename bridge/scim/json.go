package scim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Every answer and every idempotency fingerprint encodes resources, and
// encoding/json walks a map[string]any by reflection, allocating for every
// entry. appendJSON writes the canonical values of a Resource (objects,
// lists, strings, booleans, json.Number, null) directly, byte for byte as
// encoding/json does: keys sorted, the same string escapes. HTML
// characters are left alone here: encoding/json escapes them in what a
// MarshalJSON returns when it is asked to (json.Marshal), and leaves them
// when it is not (an Encoder with SetEscapeHTML(false)), exactly as for
// its own strings. Anything else goes to encoding/json.

// maxJSONDepth is where appendJSON hands over to encoding/json, which
// turns a cyclic value into an error instead of a stack overflow. Decoded
// JSON nests at most 10000 levels (encoding/json's own limit).
const maxJSONDepth = 10000

// MarshalJSON encodes r as encoding/json encodes a map[string]any.
func (r Resource) MarshalJSON() ([]byte, error) {
	if r == nil {
		return []byte("null"), nil
	}
	return appendJSON(make([]byte, 0, 1024), map[string]any(r), 0)
}

// MarshalJSON writes the RFC 7644 §3.4.2 envelope.
func (l ListResponse) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 256+768*len(l.Resources))
	b = append(b, `{"schemas":["`+SchemaListResponse+`"],"totalResults":`...)
	b = strconv.AppendInt(b, int64(l.TotalResults), 10)
	b = append(b, `,"startIndex":`...)
	b = strconv.AppendInt(b, int64(l.StartIndex), 10)
	b = append(b, `,"itemsPerPage":`...)
	b = strconv.AppendInt(b, int64(l.ItemsPerPage), 10)
	// Never "Resources": null: Entra rejects it.
	b = append(b, `,"Resources":[`...)
	for i, r := range l.Resources {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSON(b, r, 1); err != nil {
			return nil, err
		}
	}
	return append(b, "]}"...), nil
}

func appendJSON(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return appendMarshalled(b, v)
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case json.Number:
		s := v.String()
		if s == "" {
			s = "0" // encoding/json's zero Number
		}
		if !isJSONNumber(s) {
			return nil, fmt.Errorf("json: invalid number literal %q", s)
		}
		return append(b, s...), nil
	case Resource:
		return appendJSONObject(b, v, depth)
	case map[string]any:
		return appendJSONObject(b, v, depth)
	case []any:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	return appendMarshalled(b, v)
}

func appendJSONObject(b []byte, m map[string]any, depth int) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	var buf [32]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendJSON(b, m[k], depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendMarshalled encodes a value that is not in canonical form (a
// float64, a []string a caller put in) with encoding/json.
func appendMarshalled(b []byte, v any) ([]byte, error) {
	out, err := marshalNoEscape(v)
	if err != nil {
		return nil, err
	}
	return append(b, out...), nil
}

// appendJSONString is encoding/json's string encoding without HTML
// escaping: `"` and `\` escaped, control characters as \b \f \n \r \t or
// \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
