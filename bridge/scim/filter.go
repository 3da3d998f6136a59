package scim

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"
)

// ParseFilter parses a SCIM filter (RFC 7644 §3.4.2.2) as Entra sends it.
// The and/or/not/parentheses/value-path structure is parsed here, because
// filter-parser's value-filter grammar allows only two terms and no
// `a[f].b op v`; every comparison (attribute name and literal) is checked
// by filter-parser. On top of RFC syntax it accepts Entra's unquoted values,
// lower-case \u escapes and `emails[type eq "work"].value eq "x"`
// (quirks.go). Attribute paths are canonicalised exactly like ParsePath.
// Errors are *Error 400 invalidFilter.
func ParseFilter(kind Kind, s string) (Filter, error) {
	src := source{what: "filter", text: s}
	if len(s) > MaxFilterLength {
		return nil, src.errorf("it is %d bytes long; at most %d are allowed", len(s), MaxFilterLength)
	}
	if strings.TrimSpace(s) == "" {
		return nil, src.errorf("the filter is empty; write e.g. userName eq \"someone@example.com\"")
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks, kind: kind}
	f, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, src.errorf("the ')' at position %d closes nothing", t.pos+1)
		}
		return nil, src.errorf("expected 'and', 'or' or the end of the filter at position %d, got %s", t.pos+1, t.describe())
	}
	return f, nil
}

// MustParseFilter is ParseFilter for filters written in code and tests; it
// panics on error, so never call it on input.
func MustParseFilter(kind Kind, s string) Filter {
	f, err := ParseFilter(kind, s)
	if err != nil {
		panic(err)
	}
	return f
}

// valueContext is the attribute whose elements a bracketed filter tests.
type valueContext struct {
	path Path
	def  *Attribute // nil when unknown
}

type parser struct {
	src    source
	toks   []token
	i      int
	kind   Kind
	parent *valueContext // set inside [ ]
	depth  int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isWord(fold string) bool {
	t := p.peek()
	return t.kind == tokWord && strings.EqualFold(t.text, fold)
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return p.src.errorf("it nests parentheses, brackets or 'not' more than %d levels deep (at position %d)", MaxFilterDepth, t.pos+1)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseOr() (Filter, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = Logical{Op: "or", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (Filter, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		p.next()
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = Logical{Op: "and", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseUnary() (Filter, error) {
	t := p.peek()
	switch {
	case t.kind == tokWord && strings.EqualFold(t.text, "not") && p.toks[p.i+1].kind == tokLParen:
		p.next()
		f, err := p.parseParens(p.next())
		if err != nil {
			return nil, err
		}
		return Not{Filter: f}, nil
	case t.kind == tokLParen:
		return p.parseParens(p.next())
	case t.kind == tokWord:
		return p.parseComparison()
	case t.kind == tokEOF:
		return nil, p.src.errorf("it ends where a comparison such as userName eq \"x\" was expected")
	}
	return nil, p.src.errorf("expected an attribute name, '(' or 'not' at position %d, got %s", t.pos+1, t.describe())
}

func (p *parser) parseParens(open token) (Filter, error) {
	if err := p.enter(open); err != nil {
		return nil, err
	}
	defer p.leave()
	f, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if c := p.next(); c.kind != tokRParen {
		return nil, p.src.errorf("the '(' at position %d needs a closing ')'; found %s at position %d", open.pos+1, c.describe(), c.pos+1)
	}
	return f, nil
}

var compareOps = map[string]bool{
	"eq": true, "ne": true, "co": true, "sw": true, "ew": true,
	"gt": true, "ge": true, "lt": true, "le": true, "pr": true,
}

// parseComparison parses `path op value`, `path pr`, a value path
// `attr[filter]`, or `attr[filter].sub op value`.
func (p *parser) parseComparison() (Filter, error) {
	start := p.peek()
	path, err := p.parsePathExpr()
	if err != nil {
		return nil, err
	}
	if path.Attr == "" {
		return nil, p.src.errorf("%s at position %d names a schema, not an attribute", strconvQuote(clip(start.text)), start.pos+1)
	}
	opTok := p.peek()
	if opTok.kind != tokWord || !compareOps[strings.ToLower(opTok.text)] {
		if path.Filter != nil && path.Sub == "" {
			return valuePathFilter(path), nil
		}
		return nil, p.src.errorf("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after %s at position %d, got %s",
			strconvQuote(clip(path.String())), opTok.pos+1, opTok.describe())
	}
	p.next()
	op := strings.ToLower(opTok.text)
	if op == "pr" {
		return Compare{Path: path, Op: op}, nil
	}
	value, err := p.parseValue(path, opTok)
	if err != nil {
		return nil, err
	}
	return Compare{Path: path, Op: op, Value: value}, nil
}

// parseValue parses the literal after a comparison operator.
func (p *parser) parseValue(path Path, opTok token) (any, error) {
	t := p.next()
	var lit string
	switch t.kind {
	case tokString:
		fixed, err := fixStringLiteral(p.src, t.text, t.pos)
		if err != nil {
			return nil, err
		}
		lit = fixed
	case tokWord:
		if strings.HasPrefix(t.text, "'") {
			return nil, p.src.errorf("the value at position %d is in single quotes; SCIM strings use double quotes", t.pos+1)
		}
		lit = bareValueLiteral(t.text) // quirk: unquoted values (quirks.go)
	default:
		return nil, p.src.errorf("expected a value after %q at position %d, got %s", strings.ToLower(opTok.text), t.pos+1, t.describe())
	}
	if s, ok := plainStringLiteral(lit); ok {
		// The common case, `userName eq "x"`: filter-parser would accept
		// it and return it unchanged, at the cost of hundreds of
		// allocations per character of the value.
		return coerceFilterValue(p.valueType(path), s), nil
	}
	// filter-parser checks the literal's JSON syntax (the attribute name
	// was checked by resolveAttrPath).
	exp, err := filter.ParseAttrExpNumber([]byte("a eq " + lit))
	if err != nil {
		return nil, p.src.errorf("the value at position %d is not a valid string, number, true, false or null", t.pos+1)
	}
	v := exp.CompareValue
	if s, ok := v.(string); ok {
		// filter-parser returns strings raw (docs/libraries.md §2.1 gap 1).
		var out string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
			return nil, p.src.errorf("the string at position %d is not a valid JSON string", t.pos+1)
		}
		v = out
	}
	return coerceFilterValue(p.valueType(path), v), nil
}

// plainStringLiteral returns the value of a JSON string literal that has
// no escape and no control character, as filter-parser and encoding/json
// read it: the text between the quotes. ok is false for anything else.
func plainStringLiteral(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", false
	}
	body := lit[1 : len(lit)-1]
	for i := 0; i < len(body); i++ {
		if c := body[i]; c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	return body, utf8.ValidString(body)
}

// valueType is the schema type of the attribute a comparison tests, ""
// when unknown.
func (p *parser) valueType(path Path) string {
	var def *Attribute
	if p.parent != nil {
		def = p.parent.def.Sub(path.Attr)
	} else {
		def = LookupAttribute(p.kind, path.URN, path.Attr)
	}
	switch {
	case def == nil:
		return ""
	case path.Sub != "":
		def = def.Sub(path.Sub)
	case def.Type == TypeComplex:
		// `manager eq "id"`, `members eq "id"`: a complex attribute is
		// compared through its value sub-attribute.
		def = def.Sub("value")
	}
	if def == nil {
		return ""
	}
	return def.Type
}

// conjunction flattens `a and b and c` of plain comparisons on
// sub-attributes (no nested sub-attribute) into its terms.
func conjunction(f Filter, acc []Compare) ([]Compare, bool) {
	switch f := f.(type) {
	case Compare:
		if f.Path.Sub != "" || f.Path.Filter != nil {
			return nil, false
		}
		return append(acc, f), true
	case Logical:
		if f.Op != "and" {
			return nil, false
		}
		acc, ok := conjunction(f.Left, acc)
		if !ok {
			return nil, false
		}
		return conjunction(f.Right, acc)
	}
	return nil, false
}

// String returns the canonical text of the comparison.
func (c Compare) String() string {
	if c.Op == "pr" {
		return c.Path.String() + " pr"
	}
	return c.Path.String() + " " + c.Op + " " + literal(c.Value)
}

// String returns the canonical text of the logical expression, with
// parentheses where `or` sits under `and`.
func (l Logical) String() string {
	return operand(l.Op, l.Left) + " " + l.Op + " " + operand(l.Op, l.Right)
}

// String returns the canonical text of the negation.
func (n Not) String() string { return "not (" + FilterString(n.Filter) + ")" }

func operand(parentOp string, f Filter) string {
	if l, ok := f.(Logical); ok && parentOp == "and" && l.Op == "or" {
		return "(" + l.String() + ")"
	}
	return FilterString(f)
}

// FilterString returns the canonical text of a filter ("" for nil), which
// ParseFilter parses back to an equal filter.
func FilterString(f Filter) string {
	switch f := f.(type) {
	case Compare:
		return f.String()
	case Logical:
		return f.String()
	case Not:
		return f.String()
	case *Compare:
		return f.String()
	case *Logical:
		return f.String()
	case *Not:
		return f.String()
	}
	return ""
}

func literal(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		if v {
			return "true"
		}
		return "false"
	case json.Number:
		return v.String()
	case string:
		return strconvQuote(v)
	}
	b, err := marshalNoEscape(v)
	if err != nil {
		return "null"
	}
	return string(b)
}
