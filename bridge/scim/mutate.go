package scim

import (
	"reflect"
	"sort"
	"strings"
)

// Set stores v at p, creating what is missing: a sub-attribute path
// creates its parent object, and a value-filter path with no matching
// element appends a typed element built from the filter
// (emails[type eq "work"].value -> {"type": "work", "value": v}), which is
// what Entra and the Microsoft validator expect (docs/entra.md §7 item 5).
// A value-filter path sets the sub-attribute (or merges an object value)
// in every matching element (RFC 7644 §3.5.2.3). v nil removes.
func (r Resource) Set(p Path, v any) error {
	if v == nil {
		return r.Remove(p)
	}
	c := r.container(p, true)
	if p.Attr == "" {
		obj, ok := v.(map[string]any)
		if !ok {
			return badRequest(InvalidValue, "%s is a schema extension; its value must be an object, got %s", p.URN, jsonKind(v))
		}
		for k, sv := range obj {
			c[keyFold(c, k)] = sv
		}
		return nil
	}
	key := keyFold(c, p.Attr)
	cur, exists := c[key]
	if !exists || cur == nil {
		key = p.Attr
	}
	switch {
	case p.Filter == nil && p.Sub == "":
		c[key] = v
		return nil
	case p.Filter == nil:
		return setSub(c, key, cur, p, v)
	}
	return setFiltered(c, key, cur, p, v)
}

// setSub handles `attr.sub` without a filter.
func setSub(c map[string]any, key string, cur any, p Path, v any) error {
	switch cur := cur.(type) {
	case nil:
		if isMultiValued(p) {
			c[key] = []any{map[string]any{p.Sub: v}}
		} else {
			c[key] = map[string]any{p.Sub: v}
		}
	case map[string]any:
		cur[keyFold(cur, p.Sub)] = v
	case []any:
		// RFC 7644 §3.5.2.3: without a filter, a sub-attribute of a
		// multi-valued attribute is set in every element.
		n := 0
		for _, el := range cur {
			if m, ok := el.(map[string]any); ok {
				m[keyFold(m, p.Sub)] = v
				n++
			}
		}
		if n == 0 {
			c[key] = append(cur, map[string]any{p.Sub: v})
		}
	default:
		return badRequest(InvalidPath, "%s has no sub-attributes, so %s cannot be set", p.Attribute().String(), p.String())
	}
	return nil
}

// setFiltered handles `attr[filter]` and `attr[filter].sub`.
func setFiltered(c map[string]any, key string, cur any, p Path, v any) error {
	var list []any
	single := false
	switch cur := cur.(type) {
	case nil:
		single = !isMultiValued(p) && isKnown(p)
	case []any:
		list = cur
	case map[string]any:
		single = true
		list = []any{cur}
	default:
		return badRequest(InvalidPath, "%s is not a multi-valued attribute, so %s has no elements to select", p.Attribute().String(), p.String())
	}
	matched := 0
	for _, el := range list {
		m, ok := el.(map[string]any)
		if !ok || !matchObject(m, p.Filter) {
			continue
		}
		if err := setInElement(m, p, v); err != nil {
			return err
		}
		matched++
	}
	if matched > 0 {
		return nil
	}
	el, ok := elementFromFilter(p.Filter)
	if !ok {
		return badRequest(NoTarget, "no element of %s matches [%s], and no element can be created from a filter that is not a plain 'eq' condition", p.Attribute().String(), FilterString(p.Filter))
	}
	if err := setInElement(el, p, v); err != nil {
		return err
	}
	if single {
		c[key] = el
		return nil
	}
	c[key] = append(list, el)
	return nil
}

func setInElement(el map[string]any, p Path, v any) error {
	if p.Sub != "" {
		el[keyFold(el, p.Sub)] = v
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return badRequest(InvalidValue, "%s selects whole elements, so its value must be an object, got %s", p.String(), jsonKind(v))
	}
	for k, sv := range obj {
		el[keyFold(el, k)] = sv
	}
	return nil
}

// elementFromFilter builds the element a filter of `eq` terms describes:
// [type eq "work"] -> {"type": "work"}.
func elementFromFilter(f Filter) (map[string]any, bool) {
	terms, ok := conjunction(f, nil)
	if !ok {
		return nil, false
	}
	el := map[string]any{}
	for _, t := range terms {
		if t.Op != "eq" || t.Value == nil {
			return nil, false
		}
		el[t.Path.Attr] = t.Value
	}
	return el, true
}

// Remove deletes what p addresses: an attribute, a sub-attribute (in every
// element when the attribute is multi-valued), the elements matching a
// value filter, or a sub-attribute of those elements. An element left with
// nothing but type/primary/display is dropped, and so is an emptied
// attribute or extension object. Removing what is absent is not an error.
func (r Resource) Remove(p Path) error {
	c := r.container(p, false)
	if c == nil {
		return nil
	}
	defer r.dropEmptyExtension(p)
	if p.Attr == "" {
		delete(r, keyFold(r, p.URN))
		return nil
	}
	key := keyFold(c, p.Attr)
	cur, ok := c[key]
	if !ok {
		return nil
	}
	if p.Filter == nil && p.Sub == "" {
		delete(c, key)
		return nil
	}
	switch cur := cur.(type) {
	case map[string]any:
		if p.Filter != nil && !matchObject(cur, p.Filter) {
			return nil
		}
		if p.Sub == "" {
			delete(c, key)
			return nil
		}
		delete(cur, keyFold(cur, p.Sub))
		if len(cur) == 0 {
			delete(c, key)
		}
	case []any:
		kept := cur[:0:0]
		for _, el := range cur {
			m, ok := el.(map[string]any)
			if !ok || (p.Filter != nil && !matchObject(m, p.Filter)) {
				kept = append(kept, el)
				continue
			}
			if p.Sub == "" {
				continue
			}
			delete(m, keyFold(m, p.Sub))
			if !hollow(m) {
				kept = append(kept, m)
			}
		}
		if len(kept) == 0 {
			delete(c, key)
		} else {
			c[key] = kept
		}
	default:
		if p.Sub != "" || p.Filter != nil {
			// userName.x or userName[...]: nothing there to remove.
			return nil
		}
	}
	return nil
}

// hollow reports whether an element of a multi-valued attribute has lost
// everything that carries data.
func hollow(m map[string]any) bool {
	for k := range m {
		switch strings.ToLower(k) {
		case "type", "primary", "display":
		default:
			return false
		}
	}
	return true
}

func (r Resource) dropEmptyExtension(p Path) {
	if p.URN == "" {
		return
	}
	k := keyFold(r, p.URN)
	if m, ok := r[k].(map[string]any); ok && len(m) == 0 {
		delete(r, k)
	}
}

// isMultiValued reports whether the schema (User or Group) declares p's
// attribute multi-valued; Resource methods do not know the kind, and no
// attribute name is multi-valued in one kind and single in the other.
func isMultiValued(p Path) bool {
	for _, k := range []Kind{User, Group} {
		if a := LookupAttribute(k, p.URN, p.Attr); a != nil {
			return a.MultiValued
		}
	}
	// Unknown attributes addressed with a value filter are lists.
	return p.Filter != nil
}

func isKnown(p Path) bool {
	return LookupAttribute(User, p.URN, p.Attr) != nil || LookupAttribute(Group, p.URN, p.Attr) != nil
}

// sameValue compares two canonical values; strings fold case, because the
// directories behind the bridge do.
func sameValue(a, b any) bool {
	if as, ok := a.(string); ok {
		bs, ok := b.(string)
		return ok && strings.EqualFold(as, bs)
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		if len(am) != len(bm) {
			return false
		}
		for k, av := range am {
			bv, ok := lookupFold(bm, k)
			if !ok || !sameValue(av, bv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// foldKey is a canonical text of v in which strings and object keys are
// case-folded, so that sameValue(a, b) implies foldKey(a) == foldKey(b);
// it lets large lists be deduplicated through a set.
func foldKey(v any) string {
	var b strings.Builder
	writeFoldKey(&b, v)
	return b.String()
}

func writeFoldKey(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteString(strconvQuote(strings.ToLower(v)))
	case map[string]any:
		keys := make([]string, 0, len(v))
		folded := make(map[string]any, len(v))
		for k, e := range v {
			lk := strings.ToLower(k)
			keys = append(keys, lk)
			folded[lk] = e
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for _, k := range keys {
			b.WriteString(strconvQuote(k))
			b.WriteByte(':')
			writeFoldKey(b, folded[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for _, e := range v {
			writeFoldKey(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case struct{}:
		b.WriteString("<absent>")
	default:
		b.WriteString(literal(v))
	}
}

// matchesItem reports whether an element matches a removal value: every
// key the value gives must be equal in the element; a scalar value is
// compared with the element's "value".
func matchesItem(el, item any) bool {
	em, ok := el.(map[string]any)
	if !ok {
		return sameValue(el, item)
	}
	im, ok := item.(map[string]any)
	if !ok {
		v, found := lookupFold(em, "value")
		return found && sameValue(v, item)
	}
	if len(im) == 0 {
		return false
	}
	for k, iv := range im {
		ev, found := lookupFold(em, k)
		if !found || !sameValue(ev, iv) {
			return false
		}
	}
	return true
}
