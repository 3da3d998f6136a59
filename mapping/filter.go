package mapping

import (
	"errors"
	"net/http"
	"strings"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// cmpOps maps SCIM's operator names to backends' operators.
var cmpOps = map[string]backends.CmpOp{
	"eq": backends.Eq, "ne": backends.Ne, "co": backends.Co, "sw": backends.Sw, "ew": backends.Ew,
	"gt": backends.Gt, "ge": backends.Ge, "lt": backends.Lt, "le": backends.Le, "pr": backends.Pr,
}

// Filter translates a parsed SCIM filter into a backend expression over
// target attributes. `id` becomes backends.AttrID and `members` (or
// `members.value`) backends.AttrMembers. A mapped attribute becomes its
// target, and the value is converted exactly as ToAttrs converts it for a
// write, so `active eq true` finds what writing active=true stored.
// and/or/not are kept. A filter on an attribute the tenant's mapping does
// not store (or SCIM does not know, or meta, or members when membership is
// not provisioned) gives *scim.Error 400 invalidFilter naming the
// attribute: the target cannot answer it, and an empty list would tell the
// client that nothing matches. A comparison that cannot be translated
// faithfully (ordering or substring operators through a transform, gt on a
// boolean, any filter on a value computed from other attributes) gives the
// same error naming attribute and operator. A comparison that no record
// can satisfy (id eq "") becomes backends.None{}. A nil filter gives a nil
// expression (everything). Entries a SCIM DELETE kept (the deprovision
// marker) are excluded from every query, a nil filter's too.
func (m *Mapping) Filter(kind scim.Kind, f scim.Filter) (backends.Expr, error) {
	km, err := m.kindMap(kind)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return km.visible(nil), nil
	}
	t := &translator{m: m, km: km}
	x, err := t.translate(f, 0)
	if err != nil {
		return nil, err
	}
	return km.visible(x), nil
}

type translator struct {
	m  *Mapping
	km *kindMap
}

// maxFilterDepth bounds recursion; bridge/scim already bounds nesting,
// this only guards against filters built in code.
const maxFilterDepth = 200

func (t *translator) translate(f scim.Filter, depth int) (backends.Expr, error) {
	if depth > maxFilterDepth {
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter, "the filter is nested too deeply")
	}
	switch f := f.(type) {
	case scim.Compare:
		return t.compare(f)
	case scim.Logical:
		l, err := t.translate(f.Left, depth+1)
		if err != nil {
			return nil, err
		}
		r, err := t.translate(f.Right, depth+1)
		if err != nil {
			return nil, err
		}
		_, lNone := l.(backends.None)
		_, rNone := r.(backends.None)
		switch strings.ToLower(f.Op) {
		case "and":
			if lNone || rNone {
				return backends.None{}, nil
			}
			return backends.And{Left: l, Right: r}, nil
		case "or":
			switch {
			case lNone:
				return r, nil
			case rNone:
				return l, nil
			}
			return backends.Or{Left: l, Right: r}, nil
		}
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter, "unknown logical operator %q", f.Op)
	case scim.Not:
		x, err := t.translate(f.Filter, depth+1)
		if err != nil {
			return nil, err
		}
		if containsNone(x) {
			// not(unmapped eq x) is true of every record in SCIM terms,
			// but answering "everything" for a term we cannot evaluate
			// is exactly the wider answer this package never gives.
			return backends.None{}, nil
		}
		return backends.Not{X: x}, nil
	case nil:
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter, "empty filter term")
	}
	return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter, "unsupported filter term %T", f)
}

func containsNone(x backends.Expr) bool {
	switch x := x.(type) {
	case backends.None:
		return true
	case backends.And:
		return containsNone(x.Left) || containsNone(x.Right)
	case backends.Or:
		return containsNone(x.Left) || containsNone(x.Right)
	case backends.Not:
		return containsNone(x.X)
	}
	return false
}

func (t *translator) compare(c scim.Compare) (backends.Expr, error) {
	op, ok := cmpOps[strings.ToLower(c.Op)]
	if !ok {
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter, "unknown operator %q", c.Op)
	}
	p := c.Path
	switch {
	case p.URN == "" && strings.EqualFold(p.Attr, "id") && p.Sub == "" && p.Filter == nil:
		return idCompare(backends.AttrID, "id", op, c.Value)
	case t.km.kind == scim.Group && p.URN == "" && strings.EqualFold(p.Attr, "members") && p.Filter == nil &&
		(p.Sub == "" || strings.EqualFold(p.Sub, "value")):
		if !t.m.members {
			return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter,
				"cannot filter on members: this tenant's mapping does not provision group membership (groups.members is false)")
		}
		return idCompare(backends.AttrMembers, "members", op, c.Value)
	}
	if a := t.lookup(p); a != nil {
		return t.attrCompare(a, c, op)
	}
	// `emails.value eq x` with only emails[type eq "work"].value mapped:
	// a stored work email equal to x is an email of the user, so the
	// element mappings answer it soundly (never wider), OR-ed together.
	// Other operators cannot be answered from some of the elements (the
	// work email differing from x says nothing of the others).
	if p.Filter == nil && p.Sub != "" {
		var out backends.Expr
		for _, a := range t.km.attrs {
			if a.computed || a.path.Filter == nil || !strings.EqualFold(a.path.URN, p.URN) ||
				!strings.EqualFold(a.path.Attr, p.Attr) || !strings.EqualFold(a.path.Sub, p.Sub) {
				continue
			}
			if op != backends.Eq && op != backends.Co && op != backends.Sw && op != backends.Ew && op != backends.Pr {
				return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter,
					"cannot filter on %s with %s: this tenant's mapping stores only some elements of %s", p.String(), op, p.Attr)
			}
			x, err := t.attrCompare(a, c, op)
			if err != nil {
				return nil, err
			}
			if out == nil {
				out = x
			} else {
				out = backends.Or{Left: out, Right: x}
			}
		}
		if out != nil {
			return out, nil
		}
	}
	return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter,
		"cannot filter on %s: this tenant's mapping does not store it", p.String())
}

// lookup finds the attribute mapping a filter path names.
func (t *translator) lookup(p scim.Path) *attribute {
	if a := t.km.byKey[strings.ToLower(p.String())]; a != nil {
		return a
	}
	// manager.value is manager.
	if strings.EqualFold(p.Sub, "value") && p.Filter == nil {
		if a := t.km.byKey[strings.ToLower(p.Attribute().String())]; a != nil && a.vk == vRef {
			return a
		}
	}
	return nil
}

// idCompare translates a comparison on an opaque id: only equality and
// presence make sense, and the value is never converted.
func idCompare(attr, name string, op backends.CmpOp, v any) (backends.Expr, error) {
	switch op {
	case backends.Pr:
		return backends.Cmp{Attr: attr, Op: backends.Pr}, nil
	case backends.Eq, backends.Ne:
		s, ok := scalarString(v)
		if !ok || s == "" {
			if v == nil && op == backends.Ne {
				return backends.Cmp{Attr: attr, Op: backends.Pr}, nil
			}
			return backends.None{}, nil
		}
		return backends.Cmp{Attr: attr, Op: op, Value: s}, nil
	}
	return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidFilter, "%s supports eq, ne and pr, not %s", name, op)
}

func (t *translator) attrCompare(a *attribute, c scim.Compare, op backends.CmpOp) (backends.Expr, error) {
	name := a.path.String()
	invalid := func(why string) error {
		return scim.Errorf(http.StatusBadRequest, scim.InvalidFilter, "cannot filter on %s with %s: %s", name, op, why)
	}
	if a.readsOthers {
		return nil, invalid("its target value is computed from other attributes")
	}
	if op == backends.Pr {
		return backends.Cmp{Attr: a.target, Op: backends.Pr}, nil
	}
	if c.Value == nil {
		// `x eq null` asks for records without x (RFC 7644 §3.4.2.2
		// treats null as absent).
		switch op {
		case backends.Eq:
			return backends.Not{X: backends.Cmp{Attr: a.target, Op: backends.Pr}}, nil
		case backends.Ne:
			return backends.Cmp{Attr: a.target, Op: backends.Pr}, nil
		}
		return nil, invalid("null can only be compared with eq or ne")
	}
	switch op {
	case backends.Eq, backends.Ne:
		v := c.Value
		if a.vk == vBool {
			b, ok := boolOf(v)
			if !ok {
				return nil, invalid("the value must be true or false")
			}
			v = b
		}
		if a.multi {
			// Expressions of a multi-valued attribute see a list.
			v = []any{v}
		}
		vals, err := a.convert(v, func(...any) any { return nil })
		if err != nil {
			var se *scim.Error
			if errors.As(err, &se) {
				return nil, invalid(se.Detail)
			}
			return nil, err
		}
		switch {
		case len(vals) == 0 && op == backends.Eq:
			return backends.None{}, nil
		case len(vals) == 0:
			return backends.Cmp{Attr: a.target, Op: backends.Pr}, nil
		case len(vals) > 1:
			return nil, invalid("the mapping turns the value into several target values")
		}
		return backends.Cmp{Attr: a.target, Op: op, Value: vals[0]}, nil
	}
	// Ordering and substring operators compare raw text, which is only
	// faithful when the stored text is the SCIM text.
	switch {
	case a.vk == vBool:
		return nil, invalid("a boolean supports eq, ne and pr only")
	case a.vk == vRef:
		return nil, invalid("a reference supports eq, ne and pr only")
	case a.toTarget != nil:
		return nil, invalid("the mapping transforms the value (toTarget), so the stored text cannot be compared that way")
	}
	s, ok := scalarString(c.Value)
	if !ok {
		return nil, invalid("the value must be a string, number or boolean")
	}
	return backends.Cmp{Attr: a.target, Op: op, Value: s}, nil
}
