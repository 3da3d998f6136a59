package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// reader reads SCIM values out of one resource for a write.
type reader struct {
	km *kindMap
	r  scim.Resource
	// attr is attrFunc bound once: a method value allocates, and every
	// transform of the resource needs it.
	attr func(...any) any
	// tries selects the value of each selectUniqueValue attribute: the
	// first candidate, then the next one after each refusal.
	tries tries
}

// attrFn returns attr() for toTarget expressions over this resource.
func (rd *reader) attrFn() func(...any) any {
	if rd.attr == nil {
		rd.attr = rd.attrFunc
	}
	return rd.attr
}

// get returns the value at p. For emails[type eq "work"].value it falls
// back to the primary email, then to the only email, when no email has
// type work: Entra sends type work, other clients (and older Entra apps)
// send an untyped primary address, and the target should not lose it.
func (rd *reader) get(p scim.Path, workEmail bool) any {
	v, ok := rd.r.Get(p)
	if ok && !isEmpty(v) {
		return v
	}
	if !workEmail {
		return nil
	}
	list, _ := rd.r["emails"].([]any)
	var primary, only map[string]any
	for _, e := range list {
		el, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if t, _ := el["type"].(string); strings.EqualFold(t, "work") {
			return nil // the work email exists and has no value
		}
		if b, ok := boolOf(el["primary"]); ok && b && primary == nil {
			primary = el
		}
	}
	if len(list) == 1 {
		only, _ = list[0].(map[string]any)
	}
	for _, el := range []map[string]any{primary, only} {
		if el != nil && !isEmpty(el[p.Sub]) {
			return el[p.Sub]
		}
	}
	return nil
}

// attrFunc is attr(path) for toTarget expressions over this resource.
func (rd *reader) attrFunc(args ...any) any {
	if len(args) != 1 {
		return nil // the guard lets no other call compile
	}
	path, _ := args[0].(string)
	p, ok := rd.km.attrPaths[path]
	if !ok {
		return nil
	}
	return exprValue(rd.get(p, isWorkEmailPath(p)))
}

func isWorkEmailPath(p scim.Path) bool {
	c, ok := p.Filter.(scim.Compare)
	return ok && p.URN == "" && p.Attr == "emails" && p.Sub == "value" && c.Op == "eq" && strings.EqualFold(c.Path.Attr, "type") && isWork(c.Value)
}

// targetValues converts the attribute's SCIM value in rd into target
// values, exactly as it will be written.
func (a *attribute) targetValues(rd *reader) ([]string, error) {
	var v any
	if !a.computed {
		v = rd.get(a.path, a.workEmail)
		if isEmpty(v) {
			// A transform runs on a value only: defaults for absent
			// values belong in Entra's mapping, where Entra knows
			// whether the attribute is really empty.
			return nil, nil
		}
	}
	if a.candidates != nil {
		return a.candidate(rd, rd.tries.of(a))
	}
	if a.toTarget == nil {
		return a.convert(v, nil)
	}
	return a.convert(v, rd.attrFn())
}

// candidate is the value of selectUniqueValue's try: candidate try, or,
// once the list is used up, the last candidate counting with n (n is 1 in
// its first try). Every candidate after the first sees the first one's
// result as value. Past the last try there is no value.
func (a *attribute) candidate(rd *reader, try int) ([]string, error) {
	k := len(a.candidates)
	if try >= a.tries() {
		return nil, nil
	}
	first, err := a.runCandidate(0, uniqueEnv{Attr: rd.attrFn(), N: 1})
	if err != nil || try == 0 {
		return a.candidateValues(first, err)
	}
	idx, n := try, 1
	if try >= k-1 {
		idx, n = k-1, try-(k-1)+1
	}
	out, err := a.runCandidate(idx, uniqueEnv{Value: exprValue(first), Attr: rd.attrFn(), N: n})
	return a.candidateValues(out, err)
}

func (a *attribute) runCandidate(i int, env uniqueEnv) (any, error) {
	out, err := a.candidates[i].run(env)
	if err != nil {
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidValue,
			"attribute %s: the mapping's selectUniqueValue candidate %d failed: %s", a.label(), i+1, err)
	}
	return out, nil
}

func (a *attribute) candidateValues(out any, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	vals, err := toStrings(out)
	if err != nil {
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "attribute %s: %s", a.label(), err)
	}
	if len(vals) > 1 {
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "attribute %s takes one value, got %d", a.label(), len(vals))
	}
	return vals, nil
}

// convert turns one SCIM value (nil for a computed attribute) into target
// values through toTarget or the default conversion. attr serves attr().
func (a *attribute) convert(v any, attr func(...any) any) ([]string, error) {
	var out any = v
	if a.toTarget != nil {
		res, err := a.toTarget.run(toEnv{Value: exprValue(v), Attr: attr})
		if err != nil {
			return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "attribute %s: the mapping's toTarget transform failed: %s", a.label(), err)
		}
		out = res
	}
	vals, err := toStrings(out)
	if err != nil {
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "attribute %s: %s", a.label(), err)
	}
	if !a.multi && len(vals) > 1 {
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "attribute %s takes one value, got %d", a.label(), len(vals))
	}
	return vals, nil
}

// exprValue is a SCIM value as expressions see it: json.Number becomes
// float64, a complex value with a "value" member (manager, the elements of
// emails or members) becomes that member.
func exprValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		if inner, ok := x["value"]; ok {
			return exprValue(inner)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = exprValue(e)
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, exprValue(e))
		}
		return out
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

// toStrings is the default conversion of a SCIM value, and the coercion of
// a toTarget result, to target values: strings as they are, booleans
// "true"/"false", numbers in their shortest text, lists element by element,
// a complex value through its "value" member; nil and "" give no value.
func toStrings(v any) ([]string, error) {
	return appendStrings(nil, v, 0)
}

// appendStrings is toStrings' walk; depth counts the lists v is inside.
func appendStrings(out []string, v any, depth int) ([]string, error) {
	if len(out) > maxElems {
		return nil, fmt.Errorf("more than %d values", maxElems)
	}
	if s, ok := scalarString(v); ok {
		if s != "" {
			out = append(out, s)
		}
		return out, nil
	}
	switch x := v.(type) {
	case nil:
		return out, nil
	case []string:
		if depth > 0 {
			return nil, fmt.Errorf("a list inside a list cannot be stored")
		}
		for _, s := range x {
			if s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []any:
		if depth > 0 {
			return nil, fmt.Errorf("a list inside a list cannot be stored")
		}
		for _, e := range x {
			var err error
			if out, err = appendStrings(out, e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		if inner, ok := x["value"]; ok {
			if _, nested := inner.(map[string]any); !nested {
				return appendStrings(out, inner, depth)
			}
		}
		return nil, fmt.Errorf("an object with no value member cannot be stored")
	case float64:
		return nil, fmt.Errorf("the number %v cannot be stored", x)
	}
	return nil, fmt.Errorf("a %T cannot be stored", v)
}

// ToAttrs converts a SCIM resource into target attributes: every mapped
// attribute whose SCIM value is present (or whose computed expression
// yields a value), under its target name. Attributes the mapping does not
// name are not read, and read-only ones cannot be mapped. For a group whose
// members are provisioned and given, Attrs[backends.AttrMembers] holds the
// member ids (possibly none). A transform that fails, or a value the
// target cannot hold, gives a *scim.Error 400 invalidValue naming the
// attribute.
func (m *Mapping) ToAttrs(kind scim.Kind, r scim.Resource) (map[string][]string, error) {
	return m.toAttrsAt(kind, r, nil)
}

// toAttrsAt is ToAttrs with the selectUniqueValue attributes at their try.
func (m *Mapping) toAttrsAt(kind scim.Kind, r scim.Resource, t tries) (map[string][]string, error) {
	km, err := m.kindMap(kind)
	if err != nil {
		return nil, err
	}
	rd := &reader{km: km, r: r, tries: t}
	out := make(map[string][]string, len(km.attrs)+1)
	for _, a := range km.attrs {
		vals, err := a.targetValues(rd)
		if err != nil {
			return nil, err
		}
		if len(vals) > 0 {
			out[a.target] = vals
		}
	}
	if kind == scim.Group && m.members {
		if raw, ok := r["members"]; ok && raw != nil {
			ids, err := memberIDs(raw)
			if err != nil {
				return nil, err
			}
			out[backends.AttrMembers] = ids
		}
	}
	return out, nil
}

// memberIDs reads [{"value": id}, …] (or bare ids) into ids.
func memberIDs(raw any) ([]string, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "attribute members must be a list of {\"value\": id}")
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		var v any = e
		if el, ok := e.(map[string]any); ok {
			v = el["value"]
		}
		id, ok := v.(string)
		if !ok || id == "" {
			return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "attribute members: every member needs a value holding the member's id")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// CheckRequired checks that every attribute the mapping marks required has
// a value in r (after the same conversion ToAttrs applies). A missing one
// gives *scim.Error 400 invalidValue naming it and the Entra attribute to
// map (requiredDetail); when several are missing, each is named.
func (m *Mapping) CheckRequired(kind scim.Kind, r scim.Resource) error {
	km, err := m.kindMap(kind)
	if err != nil {
		return err
	}
	rd := &reader{km: km, r: r}
	var missing []*attribute
	for _, a := range km.attrs {
		if !a.required {
			continue
		}
		vals, err := a.targetValues(rd)
		if err != nil {
			return err
		}
		if len(vals) == 0 {
			missing = append(missing, a)
		}
	}
	return requiredError(missing)
}

// requiredError is the one 400 for required attributes without a value.
func requiredError(missing []*attribute) error {
	if len(missing) == 0 {
		return nil
	}
	details := make([]string, len(missing))
	for i, a := range missing {
		details[i] = a.requiredDetail()
	}
	return scim.Errorf(http.StatusBadRequest, scim.InvalidValue, "%s", strings.Join(details, "; "))
}

// ToResource builds the canonical SCIM resource of a target record:
// schemas, id, meta (resourceType, created and lastModified when known;
// the bridge adds location) and every mapped attribute that has a value,
// read back through fromTarget or the default conversion. Attributes with
// no value are left out, never null. Group members appear only when the
// record carries them (they are read on request).
func (m *Mapping) ToResource(kind scim.Kind, rec backends.Record) (scim.Resource, error) {
	km, err := m.kindMap(kind)
	if err != nil {
		return nil, err
	}
	res := scim.Resource{}
	attrs := rec.Attrs
	if attrs == nil {
		attrs = map[string][]string{}
	}
	for _, a := range km.attrs {
		if a.computed || a.writeOnly {
			continue
		}
		v, ok, err := a.scimValue(attrs)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if err := res.Set(a.setPath, v); err != nil {
			return nil, fmt.Errorf("mapping: set %s: %w", a.path.String(), err)
		}
		if a.workEmail {
			markPrimary(res)
		}
	}
	if kind == scim.Group && m.members {
		if ids, ok := attrs[backends.AttrMembers]; ok {
			members := make([]any, 0, len(ids))
			for _, id := range ids {
				members = append(members, map[string]any{"value": id})
			}
			res["members"] = members
		}
	}
	res["schemas"] = schemasOf(kind, res)
	res["id"] = rec.ID
	meta := map[string]any{"resourceType": string(kind)}
	if !rec.Created.IsZero() {
		meta["created"] = rec.Created.UTC().Format(time.RFC3339)
	}
	if !rec.Modified.IsZero() {
		meta["lastModified"] = rec.Modified.UTC().Format(time.RFC3339)
	}
	res["meta"] = meta
	return res, nil
}

// schemasOf lists the core schema, then the extension schemas the resource
// has values in (the enterprise one first).
func schemasOf(kind scim.Kind, res scim.Resource) []any {
	if kind == scim.Group {
		return []any{scim.SchemaGroup}
	}
	out := []any{scim.SchemaUser}
	if ext, ok := res[scim.SchemaEnterprise].(map[string]any); ok && len(ext) > 0 {
		out = append(out, scim.SchemaEnterprise)
	}
	var custom []string
	for k, v := range res {
		if ext, ok := v.(map[string]any); ok && len(ext) > 0 && k != scim.SchemaEnterprise && strings.HasPrefix(strings.ToLower(k), "urn:") {
			custom = append(custom, k)
		}
	}
	sort.Strings(custom)
	for _, k := range custom {
		out = append(out, k)
	}
	return out
}

// markPrimary makes the work email primary unless another email already
// is: Entra's own answer examples carry "primary": true on it.
func markPrimary(res scim.Resource) {
	list, _ := res["emails"].([]any)
	var work map[string]any
	for _, e := range list {
		el, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if b, ok := boolOf(el["primary"]); ok && b {
			return
		}
		if t, _ := el["type"].(string); strings.EqualFold(t, "work") && work == nil {
			work = el
		}
	}
	if work != nil {
		work["primary"] = true
	}
}

// scimValue reads the attribute back from target attributes; ok is false
// when there is nothing to return.
func (a *attribute) scimValue(attrs map[string][]string) (any, bool, error) {
	vals := nonEmpty(attrs[a.target])
	if a.fromTarget == nil {
		v, ok := a.defaultSCIM(vals)
		return v, ok, nil
	}
	var in any
	switch {
	case len(vals) == 0:
		in = nil
	case a.multi:
		in = vals
	default:
		in = vals[0]
	}
	out, err := a.fromTarget.run(fromEnv{Value: in, Attrs: attrs})
	if err != nil {
		return nil, false, fmt.Errorf("mapping: attribute %s: fromTarget: %w", a.label(), err)
	}
	v, ok, err := a.normalizeOut(out)
	if err != nil {
		return nil, false, fmt.Errorf("mapping: attribute %s: fromTarget: %w", a.label(), err)
	}
	return v, ok, nil
}

// defaultSCIM is the default conversion from target values to SCIM.
func (a *attribute) defaultSCIM(vals []string) (any, bool) {
	if len(vals) == 0 {
		return nil, false
	}
	switch {
	case a.vk == vMultiComplex:
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = map[string]any{"value": v}
		}
		return out, true
	case a.multi:
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = v
		}
		return out, true
	case a.vk == vRef:
		return map[string]any{"value": vals[0]}, true
	case a.vk == vBool:
		return backends.ParseBool(vals[0])
	}
	return vals[0], true
}

// normalizeOut shapes a fromTarget result into the attribute's SCIM form.
func (a *attribute) normalizeOut(out any) (any, bool, error) {
	if isEmpty(out) {
		return nil, false, nil
	}
	if list, ok := asList(out); ok {
		if !a.multi {
			return nil, false, fmt.Errorf("returned a list for a single-valued attribute")
		}
		var res []any
		for _, e := range list {
			if isEmpty(e) {
				continue
			}
			v, err := jsonValue(e)
			if err != nil {
				return nil, false, err
			}
			if a.vk == vMultiComplex {
				if _, isMap := v.(map[string]any); !isMap {
					v = map[string]any{"value": v}
				}
			}
			res = append(res, v)
		}
		return res, len(res) > 0, nil
	}
	v, err := jsonValue(out)
	if err != nil {
		return nil, false, err
	}
	switch {
	case a.vk == vBool:
		if s, ok := v.(string); ok {
			b, ok := backends.ParseBool(s)
			return b, ok, nil
		}
	case a.vk == vRef:
		if s, ok := v.(string); ok {
			return map[string]any{"value": s}, true, nil
		}
	case a.vk == vMultiComplex:
		if _, isMap := v.(map[string]any); !isMap {
			v = map[string]any{"value": v}
		}
		return []any{v}, true, nil
	case a.multi:
		return []any{v}, true, nil
	}
	return v, true, nil
}

// jsonValue converts an expression result into a canonical JSON value:
// numbers become json.Number.
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case string, bool, json.Number:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("returned %v", x)
		}
		return json.Number(strconv.FormatFloat(x, 'f', -1, 64)), nil
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = j
		}
		return out, nil
	}
	return nil, fmt.Errorf("returned a %T, which is not a SCIM value", v)
}

// boolOf reads a SCIM boolean, including Entra's "True"/"False" strings.
func boolOf(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func nonEmpty(vals []string) []string {
	for _, v := range vals {
		if v == "" {
			out := make([]string, 0, len(vals))
			for _, v := range vals {
				if v != "" {
					out = append(out, v)
				}
			}
			return out
		}
	}
	return vals
}

// Diff returns the changes that turn old into new, one Replace per
// attribute that differs, sorted by attribute name: a changed attribute is
// replaced with its new values, one absent from new is replaced with none
// (cleared). Values compare exactly (a change of case is a change) and as
// a set for multi-valued attributes, so a reordering is no change.
// backends.AttrMembers is never diffed: members change through their own
// Add/Remove changes.
func Diff(old, new map[string][]string) []backends.Change {
	keys := make([]string, 0, len(old)+len(new))
	for k := range old {
		if k != backends.AttrMembers {
			keys = append(keys, k)
		}
	}
	for k := range new {
		if _, both := old[k]; !both && k != backends.AttrMembers {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var changes []backends.Change
	for _, k := range keys {
		o, n := nonEmpty(old[k]), nonEmpty(new[k])
		if sameValues(o, n) {
			continue
		}
		var vals []string
		if len(n) > 0 {
			vals = slices.Clone(n)
		}
		changes = append(changes, backends.Change{Op: backends.Replace, Attr: k, Values: vals})
	}
	return changes
}

func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if slices.Equal(a, b) {
		return true
	}
	if len(a) == 1 {
		return false // single values, most attributes: nothing to sort
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	return slices.Equal(sa, sb)
}
