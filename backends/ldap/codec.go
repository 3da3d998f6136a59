package ldap

import (
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// attrCodec is how one attribute travels between the values the mapping
// reads and writes and the values the directory stores: as they are, as
// DNs of the records they name (manager), as a bit of a flags integer
// (AD's userAccountControl), or as the entry's name (the RDN attribute,
// whose change is a rename). compileLayout builds one per mapped attribute,
// once, and kindLayout.codec finds it by name, so that Create, Modify,
// the readers and the filter ask the attribute instead of asking what kind
// of attribute it is. The SCIM id and the members are not attributes of
// the entry's own and have their types of their own (idFilter,
// memberLayout).
type attrCodec interface {
	// encode is the stored form of a new entry's values of name (none
	// empty, none repeated).
	encode(a *adder, name string, vals []string) ([]string, error)
	// modify is the stored form of the values of change ch (vals: its
	// values, none empty, none repeated), or false when ch writes nothing.
	modify(p *planner, ch backends.Change, vals []string) ([]string, bool, error)
	// refs lists the stored values of e that decode needs as ids, but
	// for the DNs known already (by dnKey).
	refs(e *goldap.Entry, known map[string]string) []string
	// decode is the record form of stored values; ids maps the dnKey of
	// every DN refs listed to its id, when it names a record.
	decode(vals []string, ids map[string]string) []string
	// filter is the LDAP filter of the comparison x on this attribute.
	filter(f filterer, x backends.Cmp) (string, error)
	// reads lists what Modify must read from the entry itself to write
	// this attribute (flags kept by read-modify-write).
	reads() []string
}

// codec returns the codec of attribute name, by any case: the mapped
// attribute's, or the plain one for an attribute the mapping does not
// list (a naming attribute written only by defaults, say).
func (k *kindLayout) codec(name string) attrCodec {
	if c, ok := k.codecs[strings.ToLower(name)]; ok {
		return c
	}
	if strings.EqualFold(name, k.rdn) {
		return rdnCodec{plainCodec{}}
	}
	return plainCodec{}
}

// compileCodecs builds the codec of every mapped attribute, once the
// attributes are compiled; active is the active block's (nil without
// one). An attribute that is both a reference and the active flag is a
// reference, as it has always been read and written; the naming attribute
// keeps whatever else it is and adds renaming.
func (k *kindLayout) compileCodecs(active *activeCodec) {
	k.codecs = make(map[string]attrCodec, len(k.attrNames))
	for _, name := range k.attrNames {
		a, _ := k.attr(name)
		var c attrCodec = plainCodec{}
		switch {
		case a.Ref != "":
			c = refCodec{schema: a}
		case active != nil && strings.EqualFold(name, active.attr):
			c = active
		}
		if strings.EqualFold(name, k.rdn) {
			c = rdnCodec{c}
		}
		k.codecs[strings.ToLower(name)] = c
	}
}

// writable reports whether the mapping may write attribute name: the
// classes come from the layout, the id from the directory, the members
// from SCIM members only.
func (k *kindLayout) writable(name string) bool {
	return isAttrName(name) && !strings.EqualFold(name, "objectClass") && !strings.EqualFold(name, k.idAttr) && !k.isMemberAttr(name)
}

// refsTo lists the mapped attributes whose values are DNs of records of
// kind (manager), which a rename or delete of such a record must update.
func (k *kindLayout) refsTo(kind backends.Kind) []string {
	var out []string
	for _, name := range k.attrNames {
		if a, _ := k.attr(name); a.Ref == kind {
			out = append(out, name)
		}
	}
	return out
}

// plainCodec stores values as they are.
type plainCodec struct{}

func (plainCodec) encode(_ *adder, _ string, vals []string) ([]string, error) { return vals, nil }

func (plainCodec) modify(_ *planner, _ backends.Change, vals []string) ([]string, bool, error) {
	return vals, true, nil
}

func (plainCodec) refs(*goldap.Entry, map[string]string) []string { return nil }

func (plainCodec) decode(vals []string, _ map[string]string) []string { return vals }

func (plainCodec) reads() []string { return nil }

// filter compares stored values: eq and ne as equality matches, co, sw
// and ew as substrings, gt, ge, lt and le as orderings, each only where the
// directory's schema has the matching rule.
func (plainCodec) filter(f filterer, x backends.Cmp) (string, error) {
	v := goldap.EscapeFilter(x.Value)
	switch x.Op {
	case backends.Pr:
		return "(" + x.Attr + "=*)", nil
	case backends.Eq:
		return "(" + x.Attr + "=" + v + ")", nil
	case backends.Ne:
		return "(!(" + x.Attr + "=" + v + "))", nil
	case backends.Co, backends.Sw, backends.Ew:
		if ok, err := f.b.hasRule(f.c, x.Attr, ruleSubstr); err != nil {
			return "", err
		} else if !ok {
			return "", unsupported(x, "the directory schema has no substring matching rule for it")
		}
		if x.Value == "" {
			return "(" + x.Attr + "=*)", nil
		}
		switch x.Op {
		case backends.Co:
			return "(" + x.Attr + "=*" + v + "*)", nil
		case backends.Sw:
			return "(" + x.Attr + "=" + v + "*)", nil
		}
		return "(" + x.Attr + "=*" + v + ")", nil
	case backends.Gt, backends.Ge, backends.Lt, backends.Le:
		// Without an ORDERING rule a directory evaluates >= as
		// Undefined and silently matches nothing: refuse instead.
		if ok, err := f.b.hasRule(f.c, x.Attr, ruleOrdering); err != nil {
			return "", err
		} else if !ok {
			return "", unsupported(x, "the directory schema has no ordering rule for it")
		}
		switch x.Op {
		case backends.Ge:
			return "(" + x.Attr + ">=" + v + ")", nil
		case backends.Le:
			return "(" + x.Attr + "<=" + v + ")", nil
		case backends.Gt:
			return "(&(" + x.Attr + ">=" + v + ")(!(" + x.Attr + "=" + v + ")))", nil
		}
		return "(&(" + x.Attr + "<=" + v + ")(!(" + x.Attr + "=" + v + ")))", nil
	}
	return "", unsupported(x, "unknown operator")
}

// refCodec stores the ids of records of another kind (manager) as their
// DNs.
type refCodec struct {
	plainCodec
	schema backends.AttrSchema
}

// encode converts every id, strictly (a dangling reference is never
// stored), and remembers which id each DN came from: Create's answer
// shows the ids without reading them back.
func (r refCodec) encode(a *adder, _ string, vals []string) ([]string, error) {
	dns, err := a.b.refDNs(a.c, r.schema, vals, true)
	if err != nil {
		return nil, err
	}
	for i, dn := range dns { // strict: one DN per id, in order
		a.refIDs[dnKey(dn)] = vals[i]
	}
	return dns, nil
}

// modify converts the ids; removing ids that name nothing removes nothing.
func (r refCodec) modify(p *planner, ch backends.Change, vals []string) ([]string, bool, error) {
	dns, err := p.b.refDNs(p.c, r.schema, vals, ch.Op != backends.Remove)
	if err != nil {
		return nil, false, err
	}
	if ch.Op == backends.Remove && len(vals) > 0 && len(dns) == 0 {
		return nil, false, nil
	}
	return dns, true, nil
}

func (r refCodec) refs(e *goldap.Entry, known map[string]string) []string {
	var out []string
	for _, dn := range e.GetEqualFoldAttributeValues(r.schema.Name) {
		if _, ok := known[dnKey(dn)]; !ok {
			out = append(out, dn)
		}
	}
	return out
}

// decode shows the DNs that name records as their ids; the others (a
// deleted manager) are left out.
func (refCodec) decode(vals []string, ids map[string]string) []string {
	var out []string
	for _, dn := range vals {
		if id, ok := ids[dnKey(dn)]; ok {
			out = append(out, id)
		}
	}
	return out
}

// filter compares with the DN of the id; an id naming nothing matches
// nothing.
func (r refCodec) filter(f filterer, x backends.Cmp) (string, error) {
	if x.Op == backends.Pr {
		return "(" + x.Attr + "=*)", nil
	}
	ref, err := f.b.layout(r.schema.Ref)
	if err != nil {
		return "", err
	}
	dns, err := f.b.dnsForIDs(f.c, []string{x.Value}, ref)
	if err != nil {
		return "", err
	}
	a := matchNone
	if dn, ok := dns[x.Value]; ok {
		a = "(" + x.Attr + "=" + goldap.EscapeFilter(dn) + ")"
	}
	return eqOrNe(x, a)
}

// rdnCodec is the naming attribute: a change of its value renames the
// entry (ModifyDN). Otherwise it is what it would be without naming the
// entry.
type rdnCodec struct{ attrCodec }

// modify plans the rename a new value needs, comparing the exact value:
// a change of case is a rename too, so that the DN reads as written. The
// values themselves are written as given.
func (rdnCodec) modify(p *planner, ch backends.Change, vals []string) ([]string, bool, error) {
	if ch.Op != backends.Replace {
		return vals, true, nil
	}
	if len(vals) == 0 {
		return nil, false, &backends.InvalidError{Attr: ch.Attr, Reason: "the naming attribute of an entry cannot be cleared"}
	}
	if !slices.Contains(vals, p.rdnValue) {
		want := p.k.rdnFor(vals[0])
		wantAttr, wantVal := p.k.naming(vals[0])
		if !strings.EqualFold(wantAttr, p.rdnAttr) || wantVal != p.rdnValue {
			p.newRDN = want
		}
		p.rdnAttr, p.rdnValue = wantAttr, wantVal
	}
	// The ModifyDN (or the current name) already gives the attribute its
	// one value; Active Directory refuses any modify of the RDN attribute,
	// even to the same value (67, "must use 'rename' operation instead").
	if len(vals) == 1 && len(p.e.GetEqualFoldAttributeValues(ch.Attr)) <= 1 &&
		strings.EqualFold(p.rdnAttr, ch.Attr) && p.rdnValue == vals[0] {
		return nil, false, nil
	}
	return vals, true, nil
}

// filterer builds the LDAP filter of a neutral one, with the connection
// that converts ids to the DNs and values the directory stores.
type filterer struct {
	b *Backend
	c *conn
}

// unsupported is the ErrUnsupported of comparison x, saying why.
func unsupported(x backends.Cmp, why string) error {
	return fmt.Errorf("ldap: filter %s %s: %s: %w", x.Attr, x.Op, why, backends.ErrUnsupported)
}

// eqOrNe is the eq or ne of an assertion already in the stored form.
func eqOrNe(x backends.Cmp, assertion string) (string, error) {
	switch x.Op {
	case backends.Eq:
		return assertion, nil
	case backends.Ne:
		return "(!" + assertion + ")", nil
	}
	return "", unsupported(x, "only eq, ne and pr")
}
