package mapping

import (
	"errors"
	"maps"
	"strings"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// The SCIM ⇄ target round trip of a write lives here, so that the write
// pipeline hands over a request and the current record and gets back the
// target changes. Every write compares mapped values on both sides (what
// the current record maps to, and what it maps to once the request is
// applied), never raw target values: a target attribute is written only
// when its mapped value really changes, and an attribute the mapping does
// not name is never touched.
//
// A selectUniqueValue attribute (AD's cn, sAMAccountName) is written with
// its first candidate; when the directory refuses that value because
// another entry holds it, Request.Next (for a create) and Changes.Next
// (for a rename) give the next candidate. The directory decides, so two
// replicas racing for one name end with one each.

// Request is a POST or PUT body in target terms, checked before the write
// takes its locks or reads anything: the required attributes are there
// and every transform ran. A bad body is therefore a 400 whatever the
// resource's state.
type Request struct {
	Kind scim.Kind
	// Attrs are the target attributes the body carries, as ToAttrs builds
	// them; for a group whose members are provisioned and given,
	// Attrs[backends.AttrMembers] holds the member ids (possibly none).
	Attrs map[string][]string

	m     *Mapping
	res   scim.Resource
	tries tries // the selectUniqueValue candidates Attrs holds
}

// NewRequest checks the required attributes of a POST or PUT body and maps
// it. Errors are *scim.Error 400 invalidValue naming the attribute.
func (m *Mapping) NewRequest(kind scim.Kind, in scim.Resource) (Request, error) {
	if err := m.CheckRequired(kind, in); err != nil {
		return Request{}, err
	}
	attrs, err := m.requestAttrs(kind, in, nil)
	if err != nil {
		return Request{}, err
	}
	return Request{Kind: kind, Attrs: attrs, m: m, res: in}, nil
}

// requestAttrs is what a request body writes on a create: its mapped
// attributes without those the directory owns (owned.go).
func (m *Mapping) requestAttrs(kind scim.Kind, in scim.Resource, t tries) (map[string][]string, error) {
	km, err := m.kindMap(kind)
	if err != nil {
		return nil, err
	}
	attrs, err := m.toAttrsAt(kind, in, t)
	if err != nil {
		return nil, err
	}
	return km.keepUnowned(nil, attrs, nil), nil
}

// Value is the request's first value of target attribute attr ("" when it
// has none).
func (r Request) Value(attr string) string {
	if v := r.Attrs[attr]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Next is the request with the next candidate of a selectUniqueValue
// attribute, for a create that the directory refused (err) on a value no
// SCIM key holds: of the attribute err names, or of every such attribute
// when err names none of them. False when the mapping has none, or none
// is left.
func (r Request) Next(err error) (Request, bool, error) {
	if r.m == nil {
		return r, false, nil
	}
	t, ok := r.m.advance(r.Kind, r.tries, err, nil)
	if !ok {
		return r, false, nil
	}
	attrs, err := r.m.requestAttrs(r.Kind, r.res, t)
	if err != nil {
		return r, false, err
	}
	r.Attrs, r.tries = attrs, t
	return r, true, nil
}

// tries is the try of each selectUniqueValue attribute, by lower-cased
// target name; nil is every first candidate.
type tries map[string]int

func (t tries) of(a *attribute) int { return t[strings.ToLower(a.target)] }

// advance is t with the next try of the selectUniqueValue attribute err's
// conflict names, or, when it names none of them and any is true, of every
// one of them (only those changes writes, when changes is not nil). False
// when nothing is left to try.
func (m *Mapping) advance(kind scim.Kind, t tries, err error, changes []backends.Change) (tries, bool) {
	km, kerr := m.kindMap(kind)
	if kerr != nil {
		return t, false
	}
	var ce *backends.ConflictError
	named := ""
	if errors.As(err, &ce) && m.isUnique(kind, ce.Attr) {
		named = strings.ToLower(ce.Attr)
	}
	out := make(tries, len(t)+1)
	for k, v := range t {
		out[k] = v
	}
	moved := false
	for _, a := range km.attrs {
		key := strings.ToLower(a.target)
		if a.candidates == nil || (named != "" && key != named) || (changes != nil && !changesAttr(changes, a.target)) {
			continue
		}
		if out[key]+1 < a.tries() {
			out[key]++
			moved = true
		}
	}
	return out, moved
}

func changesAttr(changes []backends.Change, attr string) bool {
	for _, c := range changes {
		if strings.EqualFold(c.Attr, attr) {
			return true
		}
	}
	return false
}

// Changes are the target changes of one write, in order.
type Changes struct {
	List []backends.Change
	// build makes the changes with the selectUniqueValue candidates of
	// tries; nil when the write changes no such attribute.
	build func(t tries) ([]backends.Change, error)
	m     *Mapping
	kind  scim.Kind
	tries tries
}

// Next is the write with the next candidate of a selectUniqueValue
// attribute, when err is the directory refusing its value because another
// entry holds it (a rename to a name taken); false for any other error, or
// when no candidate is left.
func (c Changes) Next(err error) (Changes, bool, error) {
	var ce *backends.ConflictError
	if c.build == nil || !errors.As(err, &ce) || !c.m.isUnique(c.kind, ce.Attr) {
		return c, false, nil
	}
	t, ok := c.m.advance(c.kind, c.tries, err, c.List)
	if !ok {
		return c, false, nil
	}
	list, err := c.build(t)
	if err != nil {
		return c, false, err
	}
	c.List, c.tries = list, t
	return c, true, nil
}

// isUnique reports whether attr is a selectUniqueValue target of kind.
func (m *Mapping) isUnique(kind scim.Kind, attr string) bool {
	km, err := m.kindMap(kind)
	if err != nil {
		return false
	}
	for _, a := range km.attrs {
		if a.candidates != nil && strings.EqualFold(a.target, attr) {
			return true
		}
	}
	return false
}

// changes runs build for the candidates of start and keeps it for Next when
// the changes write a selectUniqueValue attribute.
func (m *Mapping) changes(kind scim.Kind, start tries, build func(t tries) ([]backends.Change, error)) (Changes, error) {
	list, err := build(start)
	if err != nil {
		return Changes{}, err
	}
	c := Changes{List: list, m: m, kind: kind, tries: start}
	for _, ch := range list {
		if m.isUnique(kind, ch.Attr) {
			c.build = build
			break
		}
	}
	return c, nil
}

// ReplaceChanges are the changes a SCIM PUT makes to cur: every mapped
// attribute SCIM owns becomes the request's (one it omits is cleared),
// except an extension's when the request carries none of it (owned.go);
// group members are replaced only when the request carries them.
func (m *Mapping) ReplaceChanges(cur backends.Record, req Request) (Changes, error) {
	km, err := m.kindMap(req.Kind)
	if err != nil {
		return Changes{}, err
	}
	_, old, err := m.mapped(req.Kind, cur)
	if err != nil {
		return Changes{}, err
	}
	carried := carriesExtension(req.res)
	return m.fromRequest(req, func(next map[string][]string) []backends.Change {
		changes := Diff(old, km.keepUnowned(old, next, carried))
		if ids, ok := next[backends.AttrMembers]; ok && m.members {
			changes = append(changes, backends.Change{Op: backends.Replace, Attr: backends.AttrMembers, Values: ids})
		}
		return changes
	})
}

// fromRequest builds a write's changes with f from the request's
// attributes, at each try of its selectUniqueValue candidates.
func (m *Mapping) fromRequest(req Request, f func(attrs map[string][]string) []backends.Change) (Changes, error) {
	return m.changes(req.Kind, req.tries, func(t tries) ([]backends.Change, error) {
		attrs, err := req.at(t)
		if err != nil {
			return nil, err
		}
		return f(attrs), nil
	})
}

// at is the request's attributes with the selectUniqueValue candidates of
// try.
func (r Request) at(t tries) (map[string][]string, error) {
	if maps.Equal(t, r.tries) {
		return r.Attrs, nil
	}
	return r.m.requestAttrs(r.Kind, r.res, t)
}

// RetriedCreateChanges are the changes that bring cur, the entry an
// earlier try of a create made (its answer lost), up to the create's
// request: only the attributes the request carries are written, since a
// create says nothing about the others, and its members are added.
func (m *Mapping) RetriedCreateChanges(cur backends.Record, req Request) (Changes, error) {
	_, old, err := m.mapped(req.Kind, cur)
	if err != nil {
		return Changes{}, err
	}
	return m.fromRequest(req, func(attrs map[string][]string) []backends.Change {
		return m.overlay(req.Kind, old, old, attrs)
	})
}

// overlay is the changes from old to base with attrs written over it
// (what SCIM owns of them), and attrs' members added.
func (m *Mapping) overlay(kind scim.Kind, old, base, attrs map[string][]string) []backends.Change {
	next := make(map[string][]string, len(base)+len(attrs))
	for k, v := range base {
		next[k] = v
	}
	for k, v := range attrs {
		next[k] = v
	}
	if km, err := m.kindMap(kind); err == nil {
		next = km.keepUnowned(old, next, nil)
	}
	changes := Diff(old, next)
	if ids := attrs[backends.AttrMembers]; len(ids) > 0 && m.members {
		changes = append(changes, backends.Change{Op: backends.Add, Attr: backends.AttrMembers, Values: ids})
	}
	return changes
}

// PatchChanges are the changes a SCIM PATCH makes to cur: the operations
// are applied to cur's SCIM resource (Entra's quirks already normalised),
// and the mapped attributes whose value changed are replaced. Member
// operations go to the target as they are, in order, without the member
// list being read; an add of no member is no change. Errors are
// *scim.Error 400 naming the operation.
func (m *Mapping) PatchChanges(kind scim.Kind, cur backends.Record, ops []scim.PatchOp) (Changes, error) {
	km, err := m.kindMap(kind)
	if err != nil {
		return Changes{}, err
	}
	// The baseline, before ApplyPatch changes res in place.
	res, old, err := m.mapped(kind, cur)
	if err != nil {
		return Changes{}, err
	}
	members, err := scim.ApplyPatch(kind, res, ops)
	if err != nil {
		return Changes{}, err
	}
	return m.changes(kind, nil, func(t tries) ([]backends.Change, error) {
		next, err := m.toAttrsAt(kind, res, t)
		if err != nil {
			return nil, err
		}
		delete(next, backends.AttrMembers)
		next = km.keepUnowned(old, next, nil)
		if err := km.removedRequired(old, next); err != nil {
			return nil, err
		}
		changes := Diff(old, next)
		if m.members {
			changes = appendMembers(changes, members)
		}
		return changes, nil
	})
}

// appendMembers adds a PATCH's member operations, in order; an add of no
// member is no change.
func appendMembers(changes []backends.Change, members []scim.MemberChange) []backends.Change {
	for _, mc := range members {
		c := backends.Change{Attr: backends.AttrMembers, Values: mc.IDs}
		switch mc.Op {
		case "add":
			c.Op = backends.Add
		case "remove":
			c.Op = backends.Remove
		default:
			c.Op = backends.Replace
		}
		if c.Op == backends.Add && len(c.Values) == 0 {
			continue
		}
		changes = append(changes, c)
	}
	return changes
}

// DisableChanges are the changes that keep cur but make it inactive:
// whatever the mapping stores for active=false (a flag, a bit of a bit
// mask).
func (m *Mapping) DisableChanges(kind scim.Kind, cur backends.Record) ([]backends.Change, error) {
	res, old, err := m.mapped(kind, cur)
	if err != nil {
		return nil, err
	}
	res["active"] = false
	next, err := m.ToAttrs(kind, res)
	if err != nil {
		return nil, err
	}
	return Diff(old, next), nil
}

// mapped is cur's SCIM resource and what it maps to: the baseline of a
// diff, without members (they change through their own Add, Remove and
// Replace changes). The resource is the caller's to change.
func (m *Mapping) mapped(kind scim.Kind, cur backends.Record) (scim.Resource, map[string][]string, error) {
	res, err := m.ToResource(kind, cur)
	if err != nil {
		return nil, nil, err
	}
	attrs, err := m.ToAttrs(kind, res)
	if err != nil {
		return nil, nil, err
	}
	delete(attrs, backends.AttrMembers)
	return res, attrs, nil
}
