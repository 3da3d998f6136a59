package scim

// This file holds every normalisation of an Entra ID quirk (docs/entra.md
// §7, §8, §12), so that the rest of the package, and every package after
// it, sees one canonical form. Each quirk names the test or fixture
// (testdata/entra/…) that proves it.

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// bareValueLiteral quotes a bare filter value. Entra's documented requests
// send `externalId eq jyoung` and `id eq 54D3… and manager eq 2819…`
// unquoted (docs/entra.md §2.4). true/false/null and JSON numbers stay
// literals; everything else becomes a JSON string.
// Proof: TestParseFilter cases "unquoted externalId", "unquoted id and
// manager"; fixtures entra/get-user-by-externalid-unquoted.json,
// entra/get-user-manager-check.json.
func bareValueLiteral(word string) string {
	switch strings.ToLower(word) {
	case "true", "false", "null":
		return strings.ToLower(word)
	}
	if isJSONNumber(word) {
		return word
	}
	b, err := marshalNoEscape(word)
	if err != nil {
		return `""`
	}
	return string(b)
}

// coerceFilterValue adapts a literal to the attribute's type: a bare
// number or boolean compared with a string attribute is the string Entra
// meant (`externalId eq 12345`, an objectId that happens to be digits), and
// "True"/"False" compared with a boolean attribute is the boolean
// (`roles[primary eq "True"]`, docs/entra.md §2.18).
// Proof: TestParseFilter cases "number on string attribute", "string
// boolean on primary".
func coerceFilterValue(attrType string, v any) any {
	switch attrType {
	case TypeString, TypeReference, TypeDateTime, TypeBinary:
		switch v := v.(type) {
		case json.Number:
			return v.String()
		case bool:
			if v {
				return "true"
			}
			return "false"
		}
	case TypeBoolean:
		if b, ok := BoolValue(v); ok {
			return b
		}
	}
	return v
}

// BoolValue interprets v as a SCIM boolean: a JSON boolean, or the strings
// "true"/"false" in any case, which Entra sends for active ("False",
// "True", "false") without the aadOptscim062020 flag (docs/entra.md §2.7,
// §12 row 2). ok is false for anything else.
// Proof: TestBoolValue; fixtures entra/patch-disable-user-string.json,
// entra/patch-disable-user-lowercase.json, entra/create-user-active-string.json.
func BoolValue(v any) (b, ok bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// fixLegacyExtensionDot rewrites the pre-2018 extension path
// `urn:…:enterprise:2.0:User.manager` to the colon form (docs/entra.md §7
// item 2, MS-COMPAT fixed-issues table).
// Proof: TestParsePath case "legacy dotted enterprise path".
func fixLegacyExtensionDot(kind Kind, word string) string {
	prefix := SchemaEnterprise + "."
	if kind == User && hasPrefixFold(word, prefix) && len(word) > len(prefix) {
		return SchemaEnterprise + ":" + word[len(prefix):]
	}
	return word
}

// bareEnterpriseAttribute returns the enterprise attribute a bare name
// means (manager, department, employeeNumber, costCenter, organization,
// division) when it is not a core attribute: Entra's own filter
// `manager eq 2819…` uses the bare name (docs/entra.md §2.4), and some
// clients put enterprise attributes at the top level of a POST.
// Proof: TestParsePath case "bare manager", TestDecode case "enterprise
// attributes at top level".
func bareEnterpriseAttribute(name string) *Attribute {
	if LookupAttribute(User, "", name) != nil {
		return nil
	}
	return LookupAttribute(User, SchemaEnterprise, name)
}

// normalizeManager accepts every manager shape Entra has sent: a bare id
// string (current wire form, SCIM-SDK#686), an object {"value", "$ref",
// "displayName"}, or the old one-element array [{"$ref", "value"}]
// (docs/entra.md §2.16); it returns {"value": id}, or nil when no id is
// left (an empty string or empty array means "no manager").
// Proof: TestNormalizeManager; fixtures entra/patch-manager-string.json,
// entra/patch-manager-array.json, entra/create-user-extension.json.
func normalizeManager(v any, name string) (any, error) {
	switch m := v.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(m) == "" {
			return nil, nil
		}
		return map[string]any{"value": m}, nil
	case map[string]any:
		id, found := lookupFold(m, "value")
		if !found || id == nil {
			return nil, nil
		}
		s, ok := id.(string)
		if !ok {
			return nil, badRequest(InvalidValue, "%s.value must be a string id, got %s", name, jsonKind(id))
		}
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		return map[string]any{"value": s}, nil
	case []any:
		switch len(m) {
		case 0:
			return nil, nil
		case 1:
			return normalizeManager(m[0], name)
		}
		return nil, badRequest(InvalidValue, "%s takes one manager, got a list of %d", name, len(m))
	}
	return nil, badRequest(InvalidValue, "%s must be a user id or an object with a value, got %s", name, jsonKind(v))
}

// normalizeMember reduces a members entry to {"value": id} (+ "display"
// when given): "$ref": null and "type" are dropped because members are
// identified by the SCIM id this server returned (docs/entra.md §2.13),
// and a bare id string is accepted as the Microsoft Postman suite sends
// it (docs/entra.md §12 row 18).
// Proof: TestNormalizeMember; fixtures entra/patch-group-add-member.json,
// entra/patch-group-remove-member-value.json.
func normalizeMember(v any, name string) (map[string]any, error) {
	id, display, hasDisplay, err := memberID(v, name)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"value": id}
	if hasDisplay {
		out["display"] = display
	}
	return out, nil
}

// memberID reads the id (and display, when given as a string) of one
// members entry in the shapes normalizeMember accepts, without building
// the normalised object: a membership batch has thousands of them.
func memberID(v any, name string) (id, display string, hasDisplay bool, err error) {
	switch m := v.(type) {
	case string:
		if strings.TrimSpace(m) == "" {
			return "", "", false, badRequest(InvalidValue, "%s: a member id is empty", name)
		}
		return m, "", false, nil
	case map[string]any:
		raw, _ := lookupFold(m, "value")
		s, ok := raw.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return "", "", false, badRequest(InvalidValue, "%s: each member needs a \"value\" with the member's id", name)
		}
		if d, ok := lookupFold(m, "display"); ok {
			display, hasDisplay = d.(string)
		}
		return s, display, hasDisplay, nil
	}
	return "", "", false, badRequest(InvalidValue, "%s: a member must be an object with a \"value\" id, got %s", name, jsonKind(v))
}

// memberIDs extracts member ids from every value shape of a members PATCH:
// a list of {value} objects or strings, a single object, or a bare id.
// Proof: TestApplyPatch group cases; fixtures entra/patch-group-*.json.
func memberIDs(v any, name string) ([]string, error) {
	var items []any
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		items = v
	default:
		items = []any{v}
	}
	ids := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		id, _, _, err := memberID(it, name)
		if err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// normalizeOp accepts op in any case: Entra sends "Add", "Replace",
// "Remove" (docs/entra.md §7 item 1, §12 row 1).
// Proof: fixtures entra/patch-user-multi.json (Replace) and
// entra/patch-group-remove-member-filter.json (remove).
func normalizeOp(op string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(op)) {
	case "add":
		return "add", true
	case "replace":
		return "replace", true
	case "remove":
		return "remove", true
	}
	return "", false
}

// fixStringLiteral makes a quoted filter literal acceptable to filter-parser
// and encoding/json: lower-case hex in \u escapes is upper-cased
// (filter-parser accepts only A-F, docs/libraries.md §2.1 gap 2) and raw control
// characters, which JSON forbids but a URL-decoded filter can contain, are
// escaped. Invalid UTF-8 is rejected because no directory can store it.
// Proof: TestParseFilter cases "lower-case unicode escape", "raw control
// character escaped"; TestParseFilterErrors "invalid utf-8".
func fixStringLiteral(src source, lit string, pos int) (string, error) {
	if !utf8.ValidString(lit) {
		return "", src.errorf("the string at position %d is not valid UTF-8", pos+1)
	}
	var b strings.Builder
	b.Grow(len(lit))
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		switch {
		case c == '\\' && i+1 < len(lit):
			next := lit[i+1]
			switch next {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				b.WriteByte(c)
				b.WriteByte(next)
				i++
			case 'u':
				if i+6 > len(lit) || !isHex4(lit[i+2:i+6]) {
					return "", src.errorf("the string at position %d has a \\u escape without four hex digits", pos+1)
				}
				b.WriteString(`\u`)
				b.WriteString(strings.ToUpper(lit[i+2 : i+6]))
				i += 5
			default:
				return "", src.errorf("the string at position %d has an unknown escape \\%c; only \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX are allowed", pos+1, next)
			}
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&0xF])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// valuePathFilter turns a bracketed term with nothing after it into one
// Compare, so that `emails[type eq "work" and value eq "x"]` and
// `emails[type eq "work"].value eq "x"` have one representation: the
// target term (on `value` if there is one, else the last) becomes the
// comparison, the other and-ed terms stay as the path's filter. The
// Microsoft SCIM validator sends the second form, which filter-parser
// rejects (docs/entra.md §2.4, docs/libraries.md §2.1 gap 3). A filter that is
// not a plain conjunction of comparisons becomes `attr[filter] pr`: "some
// element matches".
// Proof: TestParseFilter cases "work email conjunction in brackets",
// "value term first in brackets"; fixture entra/get-user-by-work-email.json.
func valuePathFilter(path Path) Filter {
	terms, ok := conjunction(path.Filter, nil)
	if !ok {
		return Compare{Path: path, Op: "pr"}
	}
	target := len(terms) - 1
	for i, t := range terms {
		if strings.EqualFold(t.Path.Attr, "value") && t.Path.Sub == "" {
			target = i
		}
	}
	var rest Filter
	for i, t := range terms {
		if i == target {
			continue
		}
		if rest == nil {
			rest = t
		} else {
			rest = Logical{Op: "and", Left: rest, Right: t}
		}
	}
	c := terms[target]
	return Compare{
		Path:  Path{URN: path.URN, Attr: path.Attr, Filter: rest, Sub: c.Path.Attr},
		Op:    c.Op,
		Value: c.Value,
	}
}
