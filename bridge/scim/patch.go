package scim

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// MaxPatchOperations bounds the Operations of one PATCH. Entra sends a
// handful per request (membership batches included); the bound only stops
// hostile bodies.
const MaxPatchOperations = 1000

// Further bounds on one PATCH, so that cost stays linear in the body: the
// values of one operation (members added in one batch, emails) and the
// operations a body expands to (path-less objects with many keys).
const (
	MaxPatchValues = 10000
	maxExpandedOps = 10 * MaxPatchOperations
)

// DecodePatch parses an RFC 7644 §3.5.2 PatchOp body into normalised
// operations: op in lower case, every path parsed with ParsePath, values
// normalised like Normalize (boolean strings for active/primary, the
// manager shapes, members entries). A path-less add/replace is expanded
// into one operation per attribute of its value object, whatever the keys
// look like (`displayName`, `name.givenName`, `urn:…:User:employeeNumber`,
// `emails[type eq "work"].value`, or an extension object
// {"urn:…:enterprise:2.0:User": {…}}); so is an add/replace of a
// single-valued complex attribute (`name` -> name.givenName, …). Every
// returned operation has a Path; an add/replace with a null value becomes
// a remove (RFC 7643 §2.5: null is unassigned), and read-only targets
// (id, meta, groups, schemas) are dropped.
func DecodePatch(kind Kind, body []byte) ([]PatchOp, error) {
	obj, err := decodeObject(body, "the PATCH body")
	if err != nil {
		return nil, err
	}
	rawOps, found := lookupFold(obj, "Operations")
	if !found || rawOps == nil {
		return nil, badRequest(InvalidSyntax, `the PATCH body needs an "Operations" list (RFC 7644 §3.5.2)`)
	}
	list, ok := rawOps.([]any)
	if !ok {
		return nil, badRequest(InvalidSyntax, `"Operations" must be a list, got %s`, jsonKind(rawOps))
	}
	if len(list) == 0 {
		return nil, badRequest(InvalidSyntax, `"Operations" is empty; send at least one operation`)
	}
	if len(list) > MaxPatchOperations {
		return nil, badRequest(InvalidSyntax, `"Operations" has %d entries; at most %d are allowed per request`, len(list), MaxPatchOperations)
	}
	var out []PatchOp
	for i, raw := range list {
		ops, err := decodeOperation(kind, raw)
		if err != nil {
			return nil, prefixError(err, "Operations["+strconv.Itoa(i)+"]: ")
		}
		out = append(out, ops...)
		if len(out) > maxExpandedOps {
			return nil, badRequest(InvalidValue, "the PATCH changes more than %d attributes; split it into several requests", maxExpandedOps)
		}
	}
	return out, nil
}

// prefixError puts where in the body an error happened in front of its
// detail.
func prefixError(err error, prefix string) error {
	if e, ok := asError(err); ok {
		c := *e
		c.Detail = prefix + c.Detail
		return &c
	}
	return err
}

func decodeOperation(kind Kind, raw any) ([]PatchOp, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, badRequest(InvalidSyntax, "an operation must be an object, got %s", jsonKind(raw))
	}
	rawOp, _ := lookupFold(m, "op")
	opText, _ := rawOp.(string)
	op, ok := normalizeOp(opText) // quirk: "Add"/"Replace"/"Remove"
	if !ok {
		return nil, badRequest(InvalidSyntax, `"op" must be "add", "replace" or "remove", got %s`, describeValue(rawOp))
	}
	value, hasValue := lookupFold(m, "value")
	rawPath, _ := lookupFold(m, "path")
	if s, ok := rawPath.(string); rawPath == nil || ok && strings.TrimSpace(s) == "" {
		if op == "remove" {
			return nil, badRequest(NoTarget, `remove needs a "path" naming what to remove`)
		}
		obj, ok := value.(map[string]any)
		if !ok {
			return nil, badRequest(InvalidValue, `%s without a "path" needs an object value keyed by attribute, got %s`, op, jsonKind(value))
		}
		return expandObject(kind, op, Path{}, obj)
	}
	text, ok := rawPath.(string)
	if !ok {
		return nil, badRequest(InvalidPath, `"path" must be a string, got %s`, jsonKind(rawPath))
	}
	p, err := ParsePath(kind, text)
	if err != nil {
		return nil, err
	}
	if op != "remove" && !hasValue {
		return nil, badRequest(InvalidValue, `%s of %s needs a "value"`, op, p.String())
	}
	return leafOps(kind, op, p, value)
}

// expandObject turns the value object of a path-less add/replace (or of a
// path naming an extension schema) into one operation per key. Keys are
// processed in sorted order so the result is deterministic.
func expandObject(kind Kind, op string, base Path, obj map[string]any) ([]PatchOp, error) {
	if len(obj) > maxExpandedOps {
		return nil, badRequest(InvalidValue, "the PATCH value has %d attributes; at most %d are allowed, split it into several requests", len(obj), maxExpandedOps)
	}
	var out []PatchOp
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		var p Path
		switch {
		case base.URN != "":
			// Keys of an extension object are its attribute names.
			parsed, err := ParsePath(kind, base.URN+":"+k)
			if err != nil {
				return nil, err
			}
			p = parsed
		case looksLikeExtensionKey(k) && isObject(v):
			urn := k
			if ext := knownExtensionURN(kind, k); ext != "" {
				urn = ext
			}
			ops, err := expandObject(kind, op, Path{URN: urn}, v.(map[string]any))
			if err != nil {
				return nil, err
			}
			out = append(out, ops...)
			continue
		default:
			parsed, err := ParsePath(kind, k)
			if err != nil {
				return nil, err
			}
			p = parsed
		}
		ops, err := leafOps(kind, op, p, v)
		if err != nil {
			return nil, err
		}
		out = append(out, ops...)
	}
	return out, nil
}

func isObject(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

// leafOps normalises one operation on a parsed path.
func leafOps(kind Kind, op string, p Path, v any) ([]PatchOp, error) {
	if p.URN == "" && (readOnlyAttr(kind, p) || strings.EqualFold(p.Attr, "schemas")) {
		return nil, nil // the server owns these (RFC 7643 §3.1 readOnly)
	}
	if p.Attr == "" {
		// A path naming an extension schema: its value is an object of
		// that schema's attributes.
		if op == "remove" {
			return []PatchOp{{Op: op, Path: &p}}, nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, badRequest(InvalidValue, "%s names a schema extension; its value must be an object, got %s", p.URN, jsonKind(v))
		}
		return expandObject(kind, op, p, obj)
	}
	if op != "remove" && v == nil {
		op = "remove"
	}
	def, subDef := lookupPath(kind, p)
	if op == "remove" {
		nv, err := normalizeRemoveValue(kind, p, def, v)
		if err != nil {
			return nil, err
		}
		return []PatchOp{{Op: op, Path: &p, Value: nv}}, nil
	}
	// A single-valued complex attribute other than manager expands into
	// its sub-attributes: add/replace merge sub-attributes anyway (RFC 7644
	// §3.5.2.1, §3.5.2.3), and the mapping then sees leaves only.
	if def != nil && def.Type == TypeComplex && !def.MultiValued && !isManager(kind, def) && p.Filter == nil && p.Sub == "" {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, badRequest(InvalidValue, "%s must be an object, got %s", p.String(), jsonKind(v))
		}
		var out []PatchOp
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			sp := Path{URN: p.URN, Attr: p.Attr, Sub: k}
			if s := def.Sub(k); s != nil {
				sp.Sub = s.Name
			}
			ops, err := leafOps(kind, op, sp, obj[k])
			if err != nil {
				return nil, err
			}
			out = append(out, ops...)
		}
		return out, nil
	}
	nv, err := normalizePatchValue(kind, p, def, subDef, v)
	if err != nil {
		return nil, err
	}
	if nv == nil {
		// Normalised to nothing ("manager": "" is "no manager").
		return []PatchOp{{Op: "remove", Path: &p}}, nil
	}
	return []PatchOp{{Op: op, Path: &p, Value: nv}}, nil
}

func isManager(kind Kind, def *Attribute) bool { return kind == User && def.Name == "manager" }

func isMembers(kind Kind, p Path) bool {
	return kind == Group && p.URN == "" && p.Attr == "members"
}

// normalizePatchValue checks and normalises the value of an add/replace.
func normalizePatchValue(kind Kind, p Path, def, subDef *Attribute, v any) (any, error) {
	name := p.String()
	if err := checkValueCount(name, v); err != nil {
		return nil, err
	}
	switch {
	case p.Sub != "" && subDef != nil:
		if list, ok := v.([]any); ok && p.Filter != nil && !subDef.MultiValued {
			// emails[type eq "other"].value with a list: one element per
			// item (mail-enabled groups, docs/entra.md §2.12).
			out := make([]any, 0, len(list))
			for _, it := range list {
				if m, ok := it.(map[string]any); ok {
					it, _ = lookupFold(m, subDef.Name)
				}
				nv, err := normalizeValue(kind, subDef, it, name)
				if err != nil {
					return nil, err
				}
				if nv != nil {
					out = append(out, nv)
				}
			}
			return out, nil
		}
		return normalizeValue(kind, subDef, v, name)
	case p.Sub != "" || def == nil:
		return v, nil // unknown: the mapping ignores it
	case p.Filter != nil:
		// attr[filter] selects elements; the value is one element.
		if def.MultiValued {
			return normalizeElement(kind, def, v, name)
		}
		return normalizeValue(kind, def, v, name)
	case def.MultiValued:
		if _, ok := v.([]any); !ok {
			v = []any{v} // a single element is accepted for a list
		}
	}
	return normalizeValue(kind, def, v, name)
}

// normalizeRemoveValue normalises the optional value of a remove: it
// selects which elements of a multi-valued attribute go (members!).
func normalizeRemoveValue(kind Kind, p Path, def *Attribute, v any) (any, error) {
	if err := checkValueCount(p.String(), v); err != nil {
		return nil, err
	}
	if v == nil || def == nil || p.Sub != "" || p.Filter != nil {
		// A value on a sub-attribute or filtered path is ignored: Entra
		// sends the old value with `remove emails[type eq "work"].value`
		// (SCIMReferenceCode PR #87) and means "clear it".
		return nil, nil
	}
	if def.MultiValued {
		if _, ok := v.([]any); !ok {
			v = []any{v}
		}
		return normalizeValue(kind, def, v, p.String())
	}
	if isManager(kind, def) {
		return normalizeManager(v, p.String())
	}
	return nil, nil
}

func checkValueCount(name string, v any) error {
	if list, ok := v.([]any); ok && len(list) > MaxPatchValues {
		return badRequest(InvalidValue, "%s has %d values; at most %d are allowed per operation, split the change into several operations", name, len(list), MaxPatchValues)
	}
	return nil
}

// ApplyPatch applies ops in order to r, in place (RFC 7644 §3.5.2 with
// Entra's behaviour, docs/entra.md §7):
//   - add on a single-valued attribute replaces it; add on a multi-valued
//     attribute appends the elements not already there; add/replace on a
//     complex attribute merges sub-attributes;
//   - add/replace on a value-filter path creates the typed element when none
//     matches; replace of a multi-valued attribute without filter replaces
//     the list;
//   - remove of a sub-attribute or filtered path clears it, whatever value
//     comes along; remove of a multi-valued attribute with a value removes
//     only the elements given; remove manager with a value (or
//     manager[value eq "x"]) removes the manager only if it matches;
//   - read-only targets (id, meta, groups, schemas) are ignored;
//   - group members are not applied to r: they come back as MemberChanges,
//     in order, so a member list never has to be read to change it.
//
// Errors are *Error 400 naming the path.
func ApplyPatch(kind Kind, r Resource, ops []PatchOp) ([]MemberChange, error) {
	var changes []MemberChange
	for i, op := range ops {
		var err error
		changes, err = applyOne(kind, r, op, changes)
		if err != nil {
			return nil, prefixError(err, "Operations["+strconv.Itoa(i)+"]: ")
		}
	}
	return changes, nil
}

func applyOne(kind Kind, r Resource, op PatchOp, changes []MemberChange) ([]MemberChange, error) {
	opName, ok := normalizeOp(op.Op)
	if !ok {
		return nil, badRequest(InvalidSyntax, `"op" must be "add", "replace" or "remove", got %s`, strconvQuote(op.Op))
	}
	if op.Path == nil {
		if opName == "remove" {
			return nil, badRequest(NoTarget, `remove needs a "path" naming what to remove`)
		}
		obj, ok := op.Value.(map[string]any)
		if !ok {
			return nil, badRequest(InvalidValue, `%s without a "path" needs an object value keyed by attribute, got %s`, opName, jsonKind(op.Value))
		}
		expanded, err := expandObject(kind, opName, Path{}, obj)
		if err != nil {
			return nil, err
		}
		for _, e := range expanded {
			if changes, err = applyOne(kind, r, e, changes); err != nil {
				return nil, err
			}
		}
		return changes, nil
	}
	p := *op.Path
	if p.URN == "" && (readOnlyAttr(kind, p) || strings.EqualFold(p.Attr, "schemas")) {
		return changes, nil
	}
	if isMembers(kind, p) {
		mc, err := memberChange(opName, p, op.Value)
		if err != nil {
			return nil, err
		}
		if mc != nil {
			changes = append(changes, *mc)
		}
		return changes, nil
	}
	switch opName {
	case "add":
		return changes, applyAdd(kind, r, p, op.Value)
	case "replace":
		return changes, applyReplace(kind, r, p, op.Value)
	}
	return changes, applyRemove(kind, r, p, op.Value)
}

// memberChange turns an operation on a group's members into a
// MemberChange (nil when it changes no membership).
func memberChange(op string, p Path, v any) (*MemberChange, error) {
	if p.Sub != "" {
		// members[…].display and the like: nothing the bridge stores.
		return nil, nil
	}
	if p.Filter != nil {
		if op != "remove" {
			// Updating an existing member's element changes no
			// membership.
			return nil, nil
		}
		ids, ok := memberFilterIDs(p.Filter, nil)
		if !ok {
			return nil, badRequest(InvalidFilter, `members can be selected for removal only by value, as in members[value eq "id"]; got [%s]`, FilterString(p.Filter))
		}
		return &MemberChange{Op: "remove", IDs: ids}, nil
	}
	ids, err := memberIDs(v, "members")
	if err != nil {
		return nil, err
	}
	switch {
	case op == "replace":
		if ids == nil {
			ids = []string{}
		}
		return &MemberChange{Op: "replace", IDs: ids}, nil
	case op == "remove" && v == nil:
		return &MemberChange{Op: "remove"}, nil // remove all (RFC 7644 §3.5.2.2)
	case len(ids) == 0:
		return nil, nil
	}
	return &MemberChange{Op: op, IDs: ids}, nil
}

// memberFilterIDs collects the ids of `value eq "x"` terms joined by or.
func memberFilterIDs(f Filter, acc []string) ([]string, bool) {
	switch f := f.(type) {
	case Compare:
		s, ok := f.Value.(string)
		if f.Op != "eq" || !strings.EqualFold(f.Path.Attr, "value") || f.Path.Sub != "" || !ok {
			return nil, false
		}
		return append(acc, s), true
	case Logical:
		if f.Op != "or" {
			return nil, false
		}
		acc, ok := memberFilterIDs(f.Left, acc)
		if !ok {
			return nil, false
		}
		return memberFilterIDs(f.Right, acc)
	}
	return nil, false
}

func applyAdd(kind Kind, r Resource, p Path, v any) error {
	def := LookupAttribute(kind, p.URN, p.Attr)
	if p.Filter == nil && p.Sub == "" {
		if list, ok := v.([]any); ok && (def == nil || def.MultiValued) {
			appendElements(r, p, list)
			return nil
		}
		if obj, ok := v.(map[string]any); ok && def != nil && def.Type == TypeComplex && !def.MultiValued {
			return mergeComplex(r, p, obj)
		}
	}
	if list, ok := v.([]any); ok && p.Filter != nil && p.Sub != "" {
		for _, it := range list {
			if err := addTypedElement(r, p, it); err != nil {
				return err
			}
		}
		return nil
	}
	return r.Set(p, v)
}

func applyReplace(kind Kind, r Resource, p Path, v any) error {
	def := LookupAttribute(kind, p.URN, p.Attr)
	if obj, ok := v.(map[string]any); ok && p.Filter == nil && p.Sub == "" && def != nil && def.Type == TypeComplex && !def.MultiValued {
		return mergeComplex(r, p, obj)
	}
	if list, ok := v.([]any); ok && p.Filter != nil && p.Sub != "" {
		// Replace the selected elements with one element per item.
		if err := r.Remove(Path{URN: p.URN, Attr: p.Attr, Filter: p.Filter}); err != nil {
			return err
		}
		for _, it := range list {
			if err := addTypedElement(r, p, it); err != nil {
				return err
			}
		}
		return nil
	}
	return r.Set(p, v)
}

// addTypedElement appends {filter terms…, sub: v} unless an element
// matching the filter already has that value.
func addTypedElement(r Resource, p Path, v any) error {
	c := r.container(p, true)
	key := keyFold(c, p.Attr)
	list, _ := c[key].([]any)
	for _, el := range list {
		if m, ok := el.(map[string]any); ok && matchObject(m, p.Filter) {
			if sv, found := lookupFold(m, p.Sub); found && sameValue(sv, v) {
				return nil
			}
		}
	}
	el, ok := elementFromFilter(p.Filter)
	if !ok {
		return badRequest(NoTarget, "no element of %s can be created from the filter [%s]; use a plain 'eq' condition", p.Attribute().String(), FilterString(p.Filter))
	}
	el[p.Sub] = v
	if _, exists := c[key]; !exists {
		key = p.Attr
	}
	c[key] = append(list, el)
	return nil
}

// appendElements adds the elements of list that are not already present
// (compared like sameValue, through a set so a large batch stays linear);
// a new primary element takes primary from the others (RFC 7643 §2.4).
func appendElements(r Resource, p Path, list []any) {
	c := r.container(p, true)
	key := keyFold(c, p.Attr)
	cur, _ := c[key].([]any)
	if _, exists := c[key]; !exists {
		key = p.Attr
	}
	seen := make(map[string]bool, len(cur)+len(list))
	for _, have := range cur {
		seen[foldKey(have)] = true
	}
	for _, el := range list {
		k := foldKey(el)
		if seen[k] {
			continue
		}
		seen[k] = true
		if m, ok := el.(map[string]any); ok {
			if prim, _ := lookupFold(m, "primary"); prim == true {
				for _, have := range cur {
					if hm, ok := have.(map[string]any); ok {
						if _, has := lookupFold(hm, "primary"); has {
							hm[keyFold(hm, "primary")] = false
						}
					}
				}
			}
		}
		cur = append(cur, el)
	}
	if cur == nil {
		cur = []any{}
	}
	c[key] = cur
}

// mergeComplex merges sub-attributes into a single-valued complex
// attribute (RFC 7644 §3.5.2.1/§3.5.2.3: unspecified sub-attributes stay).
func mergeComplex(r Resource, p Path, obj map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		sp := Path{URN: p.URN, Attr: p.Attr, Sub: k}
		if err := r.Set(sp, obj[k]); err != nil {
			return err
		}
	}
	return nil
}

func applyRemove(kind Kind, r Resource, p Path, v any) error {
	def := LookupAttribute(kind, p.URN, p.Attr)
	if v == nil || p.Filter != nil || p.Sub != "" || def == nil {
		return r.Remove(p)
	}
	if def.MultiValued {
		items, ok := v.([]any)
		if !ok {
			items = []any{v}
		}
		c := r.container(p, false)
		if c == nil {
			return nil
		}
		key := keyFold(c, p.Attr)
		cur, _ := c[key].([]any)
		kept := cur[:0:0]
		byValue, general := splitRemovalItems(items)
		for _, el := range cur {
			gone := byValue[foldKey(elementValue(el))]
			for _, it := range general {
				if gone {
					break
				}
				gone = matchesItem(el, it)
			}
			if !gone {
				kept = append(kept, el)
			}
		}
		if len(kept) == 0 {
			delete(c, key)
		} else {
			c[key] = kept
		}
		r.dropEmptyExtension(p)
		return nil
	}
	if isManager(kind, def) {
		cur, ok := r.Get(Path{URN: p.URN, Attr: p.Attr})
		if ok && !matchesItem(cur, v) {
			return nil // a different manager is set now: keep it
		}
	}
	return r.Remove(p)
}

// looksLikeExtensionKey reports whether a key names a schema extension
// object such as `urn:…:enterprise:2.0:User` or a custom
// `urn:…:CustomExtensionName:2.0:User` (docs/entra.md §6).
func looksLikeExtensionKey(k string) bool {
	if !hasPrefixFold(k, "urn:") {
		return false
	}
	last := k[strings.LastIndexByte(k, ':')+1:]
	return strings.EqualFold(last, "User") || strings.EqualFold(last, "Group")
}

// splitRemovalItems separates removal values that select by "value" alone
// (the common case, looked up in a set) from those that need a full
// comparison.
func splitRemovalItems(items []any) (byValue map[string]bool, general []any) {
	byValue = map[string]bool{}
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			if v, found := lookupFold(m, "value"); found && len(m) == 1 {
				byValue[foldKey(v)] = true
				continue
			}
			general = append(general, it)
			continue
		}
		byValue[foldKey(it)] = true
	}
	return byValue, general
}

// elementValue is what a removal by value compares: an element's "value",
// or the element itself when it is not an object.
func elementValue(el any) any {
	if m, ok := el.(map[string]any); ok {
		v, found := lookupFold(m, "value")
		if !found {
			return struct{}{}
		}
		return v
	}
	return el
}
