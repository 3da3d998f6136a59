package scim

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// ParsePath parses a PATCH path or an attributes/excludedAttributes entry
// (RFC 7644 §3.5.2, §3.10): `userName`, `name.givenName`,
// `emails[type eq "work"].value`, `members[value eq "id"]`,
// `urn:…:enterprise:2.0:User:manager`. Names come back in canonical casing
// when the schema knows them; unknown names are kept as written, because
// unknown attributes are ignored later rather than rejected. Errors are
// *Error 400 invalidPath.
func ParsePath(kind Kind, s string) (Path, error) {
	src := source{what: "path", text: s}
	if len(s) > MaxFilterLength {
		return Path{}, src.errorf("it is %d bytes long; at most %d are allowed", len(s), MaxFilterLength)
	}
	if strings.TrimSpace(s) == "" {
		return Path{}, src.errorf("the path is empty; name an attribute such as userName or emails[type eq \"work\"].value")
	}
	if !strings.ContainsAny(s, lexSeparators) {
		// One word, as nearly every path is: what the parser does with
		// its only token, without lexing (an allocation per path, and a
		// POST's body has a path per key).
		// FuzzParsePath checks it against parseLexedPath.
		p := parser{src: src, kind: kind}
		return p.resolveAttrPath(token{tokWord, s, 0})
	}
	return parseLexedPath(kind, src)
}

// parseLexedPath is ParsePath's general case.
func parseLexedPath(kind Kind, src source) (Path, error) {
	toks, err := lex(src)
	if err != nil {
		return Path{}, err
	}
	p := &parser{src: src, toks: toks, kind: kind}
	path, err := p.parsePathExpr()
	if err != nil {
		return Path{}, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return Path{}, src.errorf("unexpected %s at position %d after the attribute path", t.describe(), t.pos+1)
	}
	return path, nil
}

// parsePathExpr parses `attrPath ["[" valFilter "]" ["." subAttr]]`.
func (p *parser) parsePathExpr() (Path, error) {
	t := p.next()
	if t.kind != tokWord {
		return Path{}, p.src.errorf("expected an attribute name at position %d, got %s", t.pos+1, t.describe())
	}
	path, err := p.resolveAttrPath(t)
	if err != nil {
		return Path{}, err
	}
	if p.peek().kind != tokLBrack {
		return path, nil
	}
	open := p.next()
	if path.Sub != "" || path.Attr == "" {
		return Path{}, p.src.errorf("a value filter '[' at position %d must follow a plain attribute name such as emails, not %s", open.pos+1, strconvQuote(t.text))
	}
	f, err := p.parseValueFilter(path, open)
	if err != nil {
		return Path{}, err
	}
	path.Filter = f
	if nt := p.peek(); nt.kind == tokWord && strings.HasPrefix(nt.text, ".") {
		p.next()
		sub, err := p.parseSubAttr(path, nt)
		if err != nil {
			return Path{}, err
		}
		path.Sub = sub
	}
	return path, nil
}

// parseValueFilter parses the filter between brackets; open is the '['.
func (p *parser) parseValueFilter(path Path, open token) (Filter, error) {
	if p.parent != nil {
		return nil, p.src.errorf("value filters cannot be nested ('[' at position %d)", open.pos+1)
	}
	if err := p.enter(open); err != nil {
		return nil, err
	}
	defer p.leave()
	// Inside the brackets names are the attribute's sub-attributes. p
	// itself is switched, not a copy of it: a copy would move p's tokens
	// to the heap.
	p.parent = &valueContext{path: path, def: LookupAttribute(p.kind, path.URN, path.Attr)}
	f, err := p.parseOr()
	p.parent = nil
	if err != nil {
		return nil, err
	}
	closing := p.next()
	if closing.kind != tokRBrack {
		return nil, p.src.errorf("the value filter opened at position %d needs a closing ']'; found %s at position %d", open.pos+1, closing.describe(), closing.pos+1)
	}
	return f, nil
}

// parseSubAttr parses `.name` after a value filter.
func (p *parser) parseSubAttr(path Path, t token) (string, error) {
	name := strings.TrimPrefix(t.text, ".")
	attr, sub, uri, err := parseAttrPath(name)
	if err != nil || uri || sub != "" {
		return "", p.src.errorf("%s at position %d is not a sub-attribute name (letters, digits, '-', '_')", strconvQuote(clip(name)), t.pos+2)
	}
	if s := LookupAttribute(p.kind, path.URN, path.Attr).Sub(attr); s != nil {
		return s.Name, nil
	}
	return attr, nil
}

// parseAttrPath is filter.ParseAttrPath with a fast path: the paths every
// request carries (`userName`, `name.givenName`, `$ref`) are recognised
// here without allocating, because filter-parser's PEG parser allocates a
// few hundred objects per name (most of a POST's allocations went there).
// Anything else, which is rare and mostly invalid, goes to filter-parser,
// so what is refused and the error's position stay exactly as they were.
// FuzzAttrPath checks that both agree. uri reports a URI prefix, which
// filter-parser would have split off.
func parseAttrPath(s string) (name, sub string, uri bool, err error) {
	if name, sub, ok := simpleAttrPath(s); ok {
		return name, sub, false, nil
	}
	ap, err := filter.ParseAttrPath([]byte(s))
	if err != nil {
		return "", "", false, err
	}
	return ap.AttributeName, ap.SubAttributeName(), ap.URIPrefix != nil, nil
}

// simpleAttrPath recognises filter-parser's AttrPath without a URI prefix:
// ATTRNAME ["." ATTRNAME], where ATTRNAME is ["$"] ALPHA *("-" / "_" /
// DIGIT / ALPHA), ASCII only.
func simpleAttrPath(s string) (name, sub string, ok bool) {
	n := attrNameLen(s)
	if n == 0 {
		return "", "", false
	}
	if n == len(s) {
		return s, "", true
	}
	if s[n] != '.' {
		return "", "", false
	}
	m := attrNameLen(s[n+1:])
	if m == 0 || n+1+m != len(s) {
		return "", "", false
	}
	return s[:n], s[n+1:], true
}

// attrNameLen is the length of the ATTRNAME s starts with, 0 if none.
func attrNameLen(s string) int {
	i := 0
	if i < len(s) && s[i] == '$' {
		i++
	}
	if i >= len(s) || !isAlpha(s[i]) {
		return 0
	}
	for i++; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' {
			break
		}
	}
	return i
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// resolveAttrPath turns one word such as `name.givenName` or
// `urn:…:enterprise:2.0:User:manager` into a canonical Path without filter.
// URNs are split at the last ':' by hand: filter-parser's URI grammar
// rejects legal URNs (e.g. with '_') and the dotted "2.0" confuses naive
// splitting (docs/entra.md §12 row 6).
func (p *parser) resolveAttrPath(t token) (Path, error) {
	word := fixLegacyExtensionDot(p.kind, t.text)
	urn, tail := "", word
	tailPos := t.pos
	if hasPrefixFold(word, "urn:") {
		if ext := knownExtensionURN(p.kind, word); ext != "" {
			if p.parent != nil {
				return Path{}, p.src.errorf("a value filter compares sub-attributes; %s at position %d names a schema", strconvQuote(clip(word)), t.pos+1)
			}
			return Path{URN: ext}, nil
		}
		if isCoreURN(word) {
			return Path{}, p.src.errorf("%s at position %d names a schema, not an attribute; append ':' and an attribute name", strconvQuote(clip(word)), t.pos+1)
		}
		i := strings.LastIndexByte(word, ':')
		urn, tail = word[:i], word[i+1:]
		tailPos = t.pos + i + 1
		if tail == "" {
			return Path{}, p.src.errorf("nothing follows the schema URN at position %d; append an attribute name", t.pos+1)
		}
		if p.parent != nil {
			return Path{}, p.src.errorf("a value filter compares sub-attributes; %s at position %d carries a schema URN", strconvQuote(clip(word)), t.pos+1)
		}
	}
	name, sub, uri, err := parseAttrPath(tail)
	if err != nil {
		return Path{}, p.src.errorf("%s at position %d is not an attribute path; names are letters, digits, '-' and '_', starting with a letter, with at most one '.sub-attribute'%s",
			strconvQuote(clip(tail)), tailPos+1, parserErrorOffset(err, tailPos))
	}
	if uri {
		// Unreachable with the split above, kept so a parser change
		// cannot silently drop a URN.
		return Path{}, p.src.errorf("%s at position %d is not an attribute path", strconvQuote(clip(tail)), tailPos+1)
	}
	return p.canonicalPath(urn, name, sub), nil
}

// canonicalPath applies schema casing, drops the core URN and moves bare
// enterprise attribute names under the enterprise URN.
func (p *parser) canonicalPath(urn, name, sub string) Path {
	if p.parent != nil {
		// Inside brackets names are sub-attributes of the bracketed
		// attribute (`type` in emails[type eq "work"]).
		if s := p.parent.def.Sub(name); s != nil {
			name = s.Name
		}
		return Path{Attr: name, Sub: sub}
	}
	if isCoreURN(urn) {
		urn = ""
	} else if ext := knownExtensionURN(p.kind, urn); ext != "" {
		urn = ext
	}
	var def *Attribute
	if urn == "" {
		def = LookupAttribute(p.kind, "", name)
		if def == nil && p.kind == User {
			// Quirk: bare enterprise attribute names (quirks.go).
			if ext := bareEnterpriseAttribute(name); ext != nil {
				urn, def = SchemaEnterprise, ext
			}
		}
	} else {
		def = LookupAttribute(p.kind, urn, name)
	}
	if def != nil {
		name = def.Name
		if s := def.Sub(sub); s != nil {
			sub = s.Name
		}
	}
	return Path{URN: urn, Attr: name, Sub: sub}
}

var parserOffset = regexp.MustCompile(`\[(\d+):(\d+)\]`)

// parserErrorOffset turns filter-parser's "[00:014]" into plain words; its
// own message is never shown (docs/libraries.md §2.1 gap 4).
func parserErrorOffset(err error, base int) string {
	m := parserOffset.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	off, convErr := strconv.Atoi(m[2])
	if convErr != nil || off <= 1 {
		return ""
	}
	return " (the problem is at position " + strconv.Itoa(base+off) + ")"
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// String returns the canonical text of the path, e.g.
// `emails[type eq "work"].value` or
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`.
func (p Path) String() string {
	if p.URN == "" && p.Filter == nil && p.Sub == "" {
		return p.Attr // most paths: nothing to build
	}
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN)
		if p.Attr != "" {
			b.WriteByte(':')
		}
	}
	b.WriteString(p.Attr)
	if p.Filter != nil {
		b.WriteByte('[')
		b.WriteString(FilterString(p.Filter))
		b.WriteByte(']')
	}
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// Equal reports whether p and q address the same attribute: names and URNs
// compare case-insensitively, filters by their canonical text.
func (p Path) Equal(q Path) bool {
	if !strings.EqualFold(p.URN, q.URN) || !strings.EqualFold(p.Attr, q.Attr) || !strings.EqualFold(p.Sub, q.Sub) {
		return false
	}
	if (p.Filter == nil) != (q.Filter == nil) {
		return false
	}
	return p.Filter == nil || FilterString(p.Filter) == FilterString(q.Filter)
}

// Attribute returns p without filter and sub-attribute: the top-level
// attribute it belongs to.
func (p Path) Attribute() Path { return Path{URN: p.URN, Attr: p.Attr} }

// MustParsePath is ParsePath for paths written in code and tests; it
// panics on error, so never call it on input.
func MustParsePath(kind Kind, s string) Path {
	p, err := ParsePath(kind, s)
	if err != nil {
		panic(err)
	}
	return p
}

// asError returns err as *Error when it is one.
func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
