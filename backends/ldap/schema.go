package ldap

import (
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// The directory's schema (RFC 4512 §4.2, the subschema subentry) says which
// matching rules an attribute has. Without a SUBSTR or ORDERING rule a
// server evaluates a substring or >= assertion as Undefined and matches
// nothing, which would turn a SCIM `title gt "x"` into a wrong, empty
// answer; with the schema known, such a filter is refused instead
// (backends.ErrUnsupported, a 400 invalidFilter).

type matchRule int

const (
	ruleSubstr matchRule = iota
	ruleOrdering
)

type attrType struct {
	sup                        string
	equality, ordering, substr string
	syntax                     string
}

// subschema maps lower-case attribute names (every NAME of a type) to it.
type subschema struct {
	types map[string]*attrType
	known bool // false: the server would not show its schema
	// declaresRules: some type names a matching rule. Active Directory's
	// subschema names none (its rules follow from the syntax), so there
	// the syntax decides (ruleBySyntax).
	declaresRules bool
	// cutsNUL: the server stores a value holding a NUL but indexes and
	// compares it cut at the NUL (389 DS and Samba AD, from their
	// vendorName: "a\x00b" is found by a filter for "a"), so such values
	// are refused there (ErrInvalid).
	cutsNUL bool
}

// hasRule reports whether attr has the rule, following SUP inheritance.
// When the schema cannot be read, substring filters are allowed (almost
// every string attribute has a SUBSTR rule) and ordering ones are not.
func (b *Backend) hasRule(c *conn, attr string, rule matchRule) (bool, error) {
	s, err := b.subschema(c)
	if err != nil {
		return false, err
	}
	if !s.known {
		return rule == ruleSubstr, nil
	}
	t := s.types[strings.ToLower(attr)]
	if !s.declaresRules {
		return ruleBySyntax(t, rule), nil
	}
	for depth := 0; t != nil && depth < 16; depth++ {
		switch {
		case rule == ruleSubstr && t.substr != "":
			return true, nil
		case rule == ruleOrdering && t.ordering != "":
			return true, nil
		}
		t = s.types[strings.ToLower(t.sup)]
	}
	return false, nil
}

func (b *Backend) subschema(c *conn) (*subschema, error) {
	b.schemaMu.Lock()
	defer b.schemaMu.Unlock()
	if b.schema != nil {
		return b.schema, nil
	}
	dse, err := b.rootDSE(c)
	if err != nil {
		return nil, err
	}
	s := &subschema{types: map[string]*attrType{}, cutsNUL: strings.Contains(dse.vendor, "389 Project") || strings.Contains(dse.vendor, "Samba")}
	if sub := dse.subschemaSubentry; sub != "" {
		res, err := c.search(goldap.NewSearchRequest(sub, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"attributeTypes"}, nil))
		if err != nil && isNetwork(err) {
			return nil, classify("read the schema", err, nil)
		}
		if err == nil && len(res.Entries) == 1 {
			for _, def := range res.Entries[0].GetEqualFoldAttributeValues("attributeTypes") {
				names, t := parseAttributeType(def)
				for _, n := range names {
					s.types[strings.ToLower(n)] = t
				}
				s.declaresRules = s.declaresRules || t.equality != "" || t.substr != "" || t.ordering != ""
			}
			s.known = len(s.types) > 0
		}
	}
	if !s.known {
		b.log.Warn("the directory's schema is not readable; ordering filters (gt, ge, lt, le) are refused")
	}
	b.schema = s
	return s, nil
}

// serverInfo is what the root DSE (RFC 4512 §5.1) says about the server.
type serverInfo struct {
	vendor, subschemaSubentry string
	// assertion: the server supports the assertion control (RFC 4528),
	// which makes a write conditional on a filter matching the entry
	// (OpenLDAP does; 389 DS and Samba do not list it).
	assertion bool
}

// rootDSE reads the root DSE once in the backend's life. A server that
// will not show it (no network error) is taken as supporting nothing
// optional.
func (b *Backend) rootDSE(c *conn) (*serverInfo, error) {
	b.dseMu.Lock()
	defer b.dseMu.Unlock()
	if b.dse != nil {
		return b.dse, nil
	}
	root, err := c.search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"subschemaSubentry", "vendorName", "supportedControl"}, nil))
	if err != nil && isNetwork(err) {
		return nil, classify("read the root DSE", err, nil)
	}
	info := &serverInfo{}
	if err == nil && len(root.Entries) == 1 {
		e := root.Entries[0]
		info.subschemaSubentry = e.GetEqualFoldAttributeValue("subschemaSubentry")
		info.vendor = e.GetEqualFoldAttributeValue("vendorName")
		info.assertion = slices.Contains(e.GetEqualFoldAttributeValues("supportedControl"), controlAssertion)
	}
	b.dse = info
	return info, nil
}

// parseAttributeType reads the parts of an AttributeTypeDescription
// (RFC 4512 §4.1.2) this backend needs: NAMEs, SUP, EQUALITY, ORDERING,
// SUBSTR.
func parseAttributeType(def string) ([]string, *attrType) {
	toks := tokenize(def)
	t := &attrType{}
	var names []string
	for i := 0; i < len(toks); i++ {
		next := func() string {
			if i+1 < len(toks) {
				i++
				return toks[i]
			}
			return ""
		}
		switch strings.ToUpper(toks[i]) {
		case "NAME":
			if i+1 < len(toks) && toks[i+1] == "(" {
				i++
				for i+1 < len(toks) && toks[i+1] != ")" {
					i++
					names = append(names, toks[i])
				}
				i++
			} else {
				names = append(names, next())
			}
		case "SUP":
			t.sup = next()
		case "EQUALITY":
			t.equality = next()
		case "ORDERING":
			t.ordering = next()
		case "SUBSTR":
			t.substr = next()
		case "SYNTAX":
			t.syntax = strings.Trim(next(), "'")
			if i := strings.IndexByte(t.syntax, '{'); i >= 0 {
				t.syntax = t.syntax[:i]
			}
		}
	}
	return names, t
}

// tokenize splits a schema description into parentheses, quoted strings
// (without quotes) and bare words.
func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			out = append(out, string(c))
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				out = append(out, s[i+1:])
				return out
			}
			out = append(out, s[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '(' && s[j] != ')' && s[j] != '\t' && s[j] != '\n' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

// checkNUL refuses values holding a NUL on a server that cuts them there
// (see subschema.cutsNUL); elsewhere they are stored and matched exactly.
func (b *Backend) checkNUL(c *conn, attr string, vals ...string) error {
	if !hasNUL(vals) || c == nil {
		return nil
	}
	s, err := b.subschema(c)
	if err != nil {
		return err
	}
	if s.cutsNUL {
		return &backends.InvalidError{Attr: attr, Reason: "a value holds a NUL character, which this directory cannot match exactly"}
	}
	return nil
}

// hasNUL reports a value holding a NUL character.
func hasNUL(vals []string) bool {
	for _, v := range vals {
		if strings.ContainsRune(v, 0) {
			return true
		}
	}
	return false
}

// Syntaxes (RFC 4517 and Active Directory's) whose values Active Directory
// matches as strings: substring and ordering assertions work on them.
var stringSyntaxes = map[string]bool{
	"1.3.6.1.4.1.1466.115.121.1.15": true, // Directory String (AD: Unicode String)
	"1.3.6.1.4.1.1466.115.121.1.26": true, // IA5 String
	"1.3.6.1.4.1.1466.115.121.1.44": true, // Printable String
	"1.3.6.1.4.1.1466.115.121.1.36": true, // Numeric String
	"1.3.6.1.4.1.1466.115.121.1.50": true, // Telephone Number
	"1.2.840.113556.1.4.905":        true, // AD String(Teletex)
	"1.2.840.113556.1.4.1221":       true, // AD Case-Insensitive String
}

// ruleBySyntax answers hasRule for a directory whose schema names no
// matching rules (Active Directory): string syntaxes have substring and
// ordering matching, integers and times ordering only, others neither.
func ruleBySyntax(t *attrType, rule matchRule) bool {
	if t == nil {
		return false
	}
	switch {
	case stringSyntaxes[t.syntax]:
		return true
	case t.syntax == "1.3.6.1.4.1.1466.115.121.1.27", t.syntax == "1.3.6.1.4.1.1466.115.121.1.24",
		t.syntax == "1.2.840.113556.1.4.906", t.syntax == "1.3.6.1.4.1.1466.115.121.1.53":
		return rule == ruleOrdering // Integer, Generalized Time, Large Integer, UTC Time
	}
	return false
}
