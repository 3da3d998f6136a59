package scim

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// source is text being parsed, kept so that an error can say what was
// wrong, where, and in which input.
type source struct {
	what string // "filter" or "path"
	text string
}

// errorf returns a 400 whose scimType follows the input kind and whose
// detail quotes (a clipped copy of) the input.
func (s source) errorf(format string, args ...any) *Error {
	scimType := InvalidPath
	if s.what == "filter" {
		scimType = InvalidFilter
	}
	return &Error{
		Status:   http.StatusBadRequest,
		ScimType: scimType,
		Detail:   "invalid " + s.what + " " + strconvQuote(clip(s.text)) + ": " + sprintf(format, args...),
	}
}

func badRequest(scimType, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, scimType, format, args...)
}

// strconvQuote quotes like JSON would (without HTML escaping), so details
// read naturally to people who wrote the JSON; it never fails. Filters and
// paths print their strings with it, so it is on the request path.
func strconvQuote(s string) string {
	return string(appendJSONString(make([]byte, 0, len(s)+2), s))
}

// marshalNoEscape is json.Marshal without HTML escaping, so that `<`, `>`
// and `&` in values survive String() round trips readably.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := b.Bytes()
	if n := len(out); n > 0 && out[n-1] == '\n' {
		out = out[:n-1]
	}
	return out, nil
}
