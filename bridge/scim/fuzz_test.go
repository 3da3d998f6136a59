package scim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"
)

// requireClientError fails unless err is nil or a *Error with a 4xx status:
// bad input must never become a panic or a 500.
func requireClientError(t *testing.T, err error, input any) {
	t.Helper()
	if err == nil {
		return
	}
	e, ok := asError(err)
	if !ok {
		t.Fatalf("error for %q is %T, not *scim.Error: %v", input, err, err)
	}
	if e.Status < 400 || e.Status > 499 || e.ScimType == "" || e.Detail == "" {
		t.Fatalf("error for %q is not an actionable 4xx: %+v", input, e)
	}
}

var kinds = []Kind{User, Group}

func FuzzParseFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range kinds {
			flt, err := ParseFilter(kind, s)
			requireClientError(t, err, s)
			if err != nil {
				continue
			}
			// The canonical text is a fixed point, unless escaping control
			// characters made it longer than a filter may be.
			text := FilterString(flt)
			if len(text) > MaxFilterLength {
				continue
			}
			again, err := ParseFilter(kind, text)
			if err != nil {
				t.Fatalf("canonical text %q of %q does not parse: %v", text, s, err)
			}
			if FilterString(again) != text {
				t.Fatalf("canonical text not stable: %q -> %q", text, FilterString(again))
			}
			_ = Match(Resource{"userName": "u", "emails": []any{map[string]any{"type": "work", "value": "w"}}}, flt)
		}
	})
}

func FuzzParsePath(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range kinds {
			p, err := ParsePath(kind, s)
			requireClientError(t, err, s)
			if len(s) <= MaxFilterLength && strings.TrimSpace(s) != "" {
				// One word or not, the general parser agrees.
				lp, lerr := parseLexedPath(kind, source{what: "path", text: s})
				if !reflect.DeepEqual(lp, p) || fmt.Sprint(lerr) != fmt.Sprint(err) {
					t.Fatalf("%q: ParsePath %+v, %v; parseLexedPath %+v, %v", s, p, err, lp, lerr)
				}
			}
			if err != nil {
				continue
			}
			again, err := ParsePath(kind, p.String())
			if err != nil {
				t.Fatalf("canonical text %q of %q does not parse: %v", p.String(), s, err)
			}
			if !again.Equal(p) || again.String() != p.String() {
				t.Fatalf("canonical text not stable: %q -> %q", p.String(), again.String())
			}
			r := fuzzResource()
			_, _ = r.Get(p)
			requireClientError(t, r.Set(p, "v"), s)
			requireClientError(t, r.Remove(p), s)
		}
	})
}

// FuzzAttrPath checks parseAttrPath's fast path against filter-parser: a
// name it accepts, filter-parser accepts alike, and the other way round
// for names without a URI prefix.
func FuzzAttrPath(f *testing.F) {
	for _, s := range []string{"userName", "name.givenName", "$ref", "members.$ref", "a-b_c9", "emails.value",
		"a.b.c", "9a", "a.", ".a", "$", "$$a", "urn:x:y", "a:b", "name.given Name", "é", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantErr := filter.ParseAttrPath([]byte(s))
		name, sub, ok := simpleAttrPath(s)
		plain := wantErr == nil && want.URIPrefix == nil
		if ok != plain {
			t.Fatalf("%q: fast path ok=%v, filter-parser %+v, %v", s, ok, want, wantErr)
		}
		if ok && (name != want.AttributeName || sub != want.SubAttributeName()) {
			t.Fatalf("%q: fast path %q.%q, filter-parser %q.%q", s, name, sub, want.AttributeName, want.SubAttributeName())
		}
	})
}

// FuzzStringLiteral checks plainStringLiteral against filter-parser and
// encoding/json, which read every other literal of a filter.
func FuzzStringLiteral(f *testing.F) {
	for _, s := range []string{`"x"`, `""`, `"a\"b"`, `"\u00e9"`, `"é"`, "\"\x01\"", `"a"b"`, `x`, `"`, "\"\xff\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		got, ok := plainStringLiteral(lit)
		if !ok {
			return
		}
		exp, err := filter.ParseAttrExpNumber([]byte("a eq " + lit))
		if err != nil {
			t.Fatalf("%q: fast path accepts, filter-parser refuses: %v", lit, err)
		}
		raw, _ := exp.CompareValue.(string)
		var want string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &want); err != nil || want != got {
			t.Fatalf("%q: fast path %q, filter-parser and encoding/json %q (%v)", lit, got, want, err)
		}
	})
}

func FuzzDecodePatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, kind := range kinds {
			ops, err := DecodePatch(kind, body)
			requireClientError(t, err, string(body))
			if err != nil {
				continue
			}
			for _, op := range ops {
				if op.Path == nil {
					t.Fatalf("decoded operation without path from %q", body)
				}
			}
			r := fuzzResource()
			_, err = ApplyPatch(kind, r, ops)
			requireClientError(t, err, string(body))
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("patched resource does not marshal: %v", err)
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	ops := []PatchOp{
		{Op: "replace", Path: &Path{Attr: "emails", Filter: Compare{Path: Path{Attr: "type"}, Op: "eq", Value: "work"}, Sub: "value"}, Value: "w@x"},
		{Op: "add", Path: &Path{URN: SchemaEnterprise, Attr: "manager"}, Value: map[string]any{"value": "m"}},
		{Op: "remove", Path: &Path{Attr: "name", Sub: "givenName"}},
		{Op: "add", Path: &Path{Attr: "members"}, Value: []any{map[string]any{"value": "u"}}},
		{Op: "replace", Path: &Path{Attr: "active"}, Value: false},
		{Op: "remove", Path: &Path{Attr: "emails"}, Value: []any{map[string]any{"value": "w@x"}}},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, kind := range kinds {
			r, err := Decode(kind, body)
			requireClientError(t, err, string(body))
			if err != nil {
				continue
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("decoded resource does not marshal: %v", err)
			}
			requireStdlibJSON(t, r)
			// Normalize is idempotent: canonical input stays canonical.
			b, _ := json.Marshal(r)
			again, err := Decode(kind, b)
			if err != nil {
				t.Fatalf("canonical form %s does not decode: %v", b, err)
			}
			b2, _ := json.Marshal(again)
			if string(b) != string(b2) {
				t.Fatalf("Normalize not idempotent:\n%s\n%s", b, b2)
			}
			projected := Project(r, []Path{{Attr: "userName"}, {Attr: "emails", Sub: "value"}}, nil)
			_, _ = projected.Get(Path{Attr: "userName"})
			_ = Project(r, nil, []Path{{Attr: "members"}, {URN: SchemaEnterprise, Attr: "manager"}})
			_, err = ApplyPatch(kind, r, ops)
			requireClientError(t, err, string(body))
		}
	})
}

func fuzzResource() Resource {
	return Resource{
		"userName": "u",
		"name":     map[string]any{"givenName": "g"},
		"emails":   []any{map[string]any{"type": "work", "value": "w@x", "primary": true}, "odd"},
		"title":    json.Number("1"),
		SchemaEnterprise: map[string]any{
			"manager": map[string]any{"value": "m"},
		},
	}
}
