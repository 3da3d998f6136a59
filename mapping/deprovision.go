package mapping

import (
	"strings"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// A resource Entra DELETEs is gone for SCIM whatever the policy keeps in
// the directory (RFC 7644 §3.6: 404 by id, omitted from every query). A
// policy that keeps the entry marks it (the deprovision block's marker),
// and the marker is what hides it: Deprovisioned for reads by id, Filter
// for queries. The one write that reaches a marked entry again is a POST
// naming it by its identity key, which restores it (RestoreChanges).

// Deprovisioned reports whether rec is an entry a SCIM DELETE kept: it
// holds the kind's marker value (compared case-insensitively, as the
// directories compare it).
func (m *Mapping) Deprovisioned(kind scim.Kind, rec backends.Record) bool {
	km, err := m.kindMap(kind)
	if err != nil || km.marker == nil {
		return false
	}
	for _, v := range rec.Attrs[km.marker.attr] {
		if strings.EqualFold(v, km.marker.value) {
			return true
		}
	}
	return false
}

// HasMarker reports whether the mapping marks the entries of kind that a
// SCIM DELETE kept (and so hides them).
func (m *Mapping) HasMarker(kind scim.Kind) bool {
	km, err := m.kindMap(kind)
	return err == nil && km.marker != nil
}

// visible restricts x to the entries that are not deprovisioned; nil (no
// filter) becomes "not deprovisioned", or stays nil without a marker.
func (km *kindMap) visible(x backends.Expr) backends.Expr {
	if km.marker == nil {
		return x
	}
	hidden := backends.Not{X: backends.Cmp{Attr: km.marker.attr, Op: backends.Eq, Value: km.marker.value}}
	switch x.(type) {
	case nil:
		return hidden
	case backends.None:
		return x
	}
	return backends.And{Left: x, Right: hidden}
}

// DeprovisionChanges are the changes a SCIM DELETE makes under a policy
// that keeps the entry: the marker, and for users active=false (whatever
// the mapping stores for it; with the LDAP layout's active.moveTo, the
// entry moves to the leavers' container too).
func (m *Mapping) DeprovisionChanges(kind scim.Kind, cur backends.Record) ([]backends.Change, error) {
	km, err := m.kindMap(kind)
	if err != nil {
		return nil, err
	}
	var changes []backends.Change
	if kind == scim.User {
		if changes, err = m.DisableChanges(kind, cur); err != nil {
			return nil, err
		}
	}
	if km.marker != nil {
		changes = append(changes, backends.Change{Op: backends.Replace, Attr: km.marker.attr, Values: []string{km.marker.value}})
	}
	return changes, nil
}

// RestoreChanges bring back cur, an entry a SCIM DELETE kept, for a POST
// that names it by its identity key (a re-hire, or Entra's reassignment):
// the marker is removed, a user is enabled (and moved back from the
// leavers' container) unless the request says active=false, the request's
// attributes are written and its members added. Everything else the entry
// holds (group memberships, history) stays.
func (m *Mapping) RestoreChanges(cur backends.Record, req Request) (Changes, error) {
	km, err := m.kindMap(req.Kind)
	if err != nil {
		return Changes{}, err
	}
	res, old, err := m.mapped(req.Kind, cur)
	if err != nil {
		return Changes{}, err
	}
	if req.Kind == scim.User {
		res["active"] = true
	}
	enabled, err := m.ToAttrs(req.Kind, res)
	if err != nil {
		return Changes{}, err
	}
	return m.fromRequest(req, func(attrs map[string][]string) []backends.Change {
		changes := m.overlay(req.Kind, old, enabled, attrs)
		if km.marker != nil {
			changes = append(changes, backends.Change{Op: backends.Replace, Attr: km.marker.attr})
		}
		return changes
	})
}
