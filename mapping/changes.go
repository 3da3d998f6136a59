package mapping

import (
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
}

// NewRequest checks the required attributes of a POST or PUT body and maps
// it. Errors are *scim.Error 400 invalidValue naming the attribute.
func (m *Mapping) NewRequest(kind scim.Kind, in scim.Resource) (Request, error) {
	if err := m.CheckRequired(kind, in); err != nil {
		return Request{}, err
	}
	attrs, err := m.ToAttrs(kind, in)
	if err != nil {
		return Request{}, err
	}
	return Request{Kind: kind, Attrs: attrs}, nil
}

// Value is the request's first value of target attribute attr ("" when it
// has none).
func (r Request) Value(attr string) string {
	if v := r.Attrs[attr]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ReplaceChanges are the changes a SCIM PUT makes to cur: every mapped
// attribute becomes the request's (one it omits is cleared); group members
// are replaced only when the request carries them.
func (m *Mapping) ReplaceChanges(cur backends.Record, req Request) ([]backends.Change, error) {
	old, err := m.mapped(req.Kind, cur)
	if err != nil {
		return nil, err
	}
	changes := Diff(old, req.Attrs)
	if ids, ok := req.Attrs[backends.AttrMembers]; ok && m.members {
		changes = append(changes, backends.Change{Op: backends.Replace, Attr: backends.AttrMembers, Values: ids})
	}
	return changes, nil
}

// RetriedCreateChanges are the changes that bring cur, the entry an
// earlier try of a create made (its answer lost), up to the create's
// request: only the attributes the request carries are written, since a
// create says nothing about the others, and its members are added.
func (m *Mapping) RetriedCreateChanges(cur backends.Record, req Request) ([]backends.Change, error) {
	old, err := m.mapped(req.Kind, cur)
	if err != nil {
		return nil, err
	}
	next := make(map[string][]string, len(old)+len(req.Attrs))
	for k, v := range old {
		next[k] = v
	}
	for k, v := range req.Attrs {
		next[k] = v
	}
	changes := Diff(old, next)
	if ids := req.Attrs[backends.AttrMembers]; len(ids) > 0 && m.members {
		changes = append(changes, backends.Change{Op: backends.Add, Attr: backends.AttrMembers, Values: ids})
	}
	return changes, nil
}

// PatchChanges are the changes a SCIM PATCH makes to cur: the operations
// are applied to cur's SCIM resource (Entra's quirks already normalised),
// and the mapped attributes whose value changed are replaced. Member
// operations go to the target as they are, in order, without the member
// list being read; an add of no member is no change. Errors are
// *scim.Error 400 naming the operation.
func (m *Mapping) PatchChanges(kind scim.Kind, cur backends.Record, ops []scim.PatchOp) ([]backends.Change, error) {
	res, err := m.ToResource(kind, cur)
	if err != nil {
		return nil, err
	}
	// The baseline, before ApplyPatch changes res in place.
	old, err := m.ToAttrs(kind, res)
	if err != nil {
		return nil, err
	}
	members, err := scim.ApplyPatch(kind, res, ops)
	if err != nil {
		return nil, err
	}
	next, err := m.ToAttrs(kind, res)
	if err != nil {
		return nil, err
	}
	delete(next, backends.AttrMembers)
	changes := Diff(old, next)
	if !m.members {
		return changes, nil
	}
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
	return changes, nil
}

// DisableChanges are the changes that keep cur but make it inactive, as
// the deprovisioning policy "disable" does on a SCIM DELETE: whatever the
// mapping stores for active=false (a flag, a bit of a bit mask).
func (m *Mapping) DisableChanges(kind scim.Kind, cur backends.Record) ([]backends.Change, error) {
	res, err := m.ToResource(kind, cur)
	if err != nil {
		return nil, err
	}
	old, err := m.ToAttrs(kind, res)
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

// mapped is what cur maps to: the baseline of a diff, without members
// (they change through their own Add, Remove and Replace changes).
func (m *Mapping) mapped(kind scim.Kind, cur backends.Record) (map[string][]string, error) {
	res, err := m.ToResource(kind, cur)
	if err != nil {
		return nil, err
	}
	attrs, err := m.ToAttrs(kind, res)
	if err != nil {
		return nil, err
	}
	delete(attrs, backends.AttrMembers)
	return attrs, nil
}
