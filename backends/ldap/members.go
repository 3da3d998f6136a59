package ldap

import (
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// memberLayout is how a group stores backends.AttrMembers: the member ids
// as values of one attribute, in one of three formats (Format), with a
// placeholder value where the class wants one in an empty group.
type memberLayout struct {
	attr        string
	format      string
	userAttr    string
	placeholder string
	allowEmpty  bool
}

// errNoMembers is the error of a member change of a kind without members.
func errNoMembers() error {
	return &backends.InvalidError{Attr: backends.AttrMembers, Reason: "only groups have members"}
}

// key is the comparison key of a member value.
func (m *memberLayout) key(v string) string {
	if m.format == formatDN {
		return dnKey(v)
	}
	return foldValue(v)
}

// unknown is the error of adding an id that names no user or group.
func unknown(id string) error {
	return &backends.InvalidError{Attr: backends.AttrMembers, Reason: fmt.Sprintf("no user or group has id %q", id)}
}

// addValues is what a new group's member attribute holds for ids (stored
// maps them to their values, see memberValues), and the ids written, in
// order, once each.
func (m *memberLayout) addValues(ids []string, stored map[string]string) (vals, written []string, err error) {
	written = []string{}
	seen := map[string]bool{}
	for _, id := range ids {
		v, ok := stored[id]
		if !ok {
			return nil, nil, unknown(id)
		}
		if key := m.key(v); !seen[key] {
			seen[key] = true
			vals = append(vals, v)
			written = append(written, id)
		}
	}
	return m.placeholderOr(vals), written, nil
}

// changes is what a change of members writes (ids: its values, none
// empty, none repeated; stored as for addValues), and whether it adds
// members. Adding an id that names nothing is invalid; removing one
// removes nothing.
func (m *memberLayout) changes(op backends.ChangeOp, ids []string, stored map[string]string) ([]mod, bool, error) {
	var vals []string
	seen := map[string]bool{}
	for _, id := range ids {
		v, ok := stored[id]
		if !ok {
			if op == backends.Remove {
				continue // not a member of anything: nothing to remove
			}
			return nil, false, unknown(id)
		}
		if key := m.key(v); !seen[key] {
			seen[key] = true
			vals = append(vals, v)
		}
	}
	switch op {
	case backends.Add:
		if len(vals) > 0 {
			return []mod{{goldap.AddAttribute, m.attr, vals}}, true, nil
		}
	case backends.Remove:
		switch {
		case len(ids) == 0:
			return []mod{{goldap.ReplaceAttribute, m.attr, m.placeholderOr(nil)}}, false, nil
		case len(vals) > 0:
			return []mod{{goldap.DeleteAttribute, m.attr, vals}}, false, nil
		}
	case backends.Replace:
		return []mod{{goldap.ReplaceAttribute, m.attr, m.placeholderOr(vals)}}, false, nil
	}
	return nil, false, nil
}

// placeholderOr is vals, or the placeholder when vals is empty and the
// layout has one.
func (m *memberLayout) placeholderOr(vals []string) []string {
	if len(vals) == 0 && m.placeholder != "" {
		return []string{m.placeholder}
	}
	return vals
}

// notPlaceholder is the filter term that the attribute does not hold the
// placeholder.
func (m *memberLayout) notPlaceholder() string {
	return "(!(" + m.attr + "=" + goldap.EscapeFilter(m.placeholder) + "))"
}

// settle makes an emptied member attribute hold the placeholder, and one
// with members not hold it.
func (m *memberLayout) settle(s *valueSet) {
	if m.placeholder == "" {
		return
	}
	ph := m.key(m.placeholder)
	real := 0
	for key := range s.vals {
		if key != ph {
			real++
		}
	}
	if real == 0 {
		s.add(ph, m.placeholder)
	} else {
		delete(s.vals, ph)
	}
}

// decode turns stored member values into member ids, once each: DNs
// through dnIDs, user attribute values through attrIDs (both keyed as
// idsForDNs and idsForUserValues key them). The placeholder and values
// naming nothing are left out.
func (m *memberLayout) decode(vals []string, dnIDs, attrIDs map[string]string) []string {
	ids := []string{}
	seen := map[string]bool{}
	for _, v := range vals {
		var id string
		var ok bool
		switch m.format {
		case formatDN:
			id, ok = dnIDs[dnKey(v)]
		case formatID:
			id, ok = v, v != m.placeholder
		case formatAttr:
			id, ok = attrIDs[foldValue(v)]
		}
		if ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// filter compares the member attribute with the stored value of a member
// id; pr is a group with a member other than the placeholder.
func (m *memberLayout) filter(f filterer, x backends.Cmp) (string, error) {
	if x.Op == backends.Pr {
		notPlaceholder := ""
		if m.placeholder != "" {
			notPlaceholder = m.notPlaceholder()
		}
		return "(&(" + m.attr + "=*)" + notPlaceholder + ")", nil
	}
	vals, err := f.b.memberValues(f.c, m, []string{x.Value})
	if err != nil {
		return "", err
	}
	a := matchNone
	if v, ok := vals[x.Value]; ok {
		a = "(" + m.attr + "=" + goldap.EscapeFilter(v) + ")"
	}
	return eqOrNe(x, a)
}

// memberValues maps member ids (users or groups) to the values stored in
// the member attribute. Ids that name nothing are left out.
func (b *Backend) memberValues(c *conn, m *memberLayout, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	switch m.format {
	case formatDN:
		return b.dnsForIDs(c, ids, b.kinds()...)
	case formatID:
		es, err := b.entriesForIDs(c, ids, []string{"1.1"}, b.kinds()...)
		if err != nil {
			return nil, err
		}
		for id := range es {
			out[id] = id
		}
		return out, nil
	}
	if b.users == nil {
		return out, nil
	}
	es, err := b.entriesForIDs(c, ids, []string{m.userAttr}, b.users)
	if err != nil {
		return nil, err
	}
	for id, e := range es {
		if v := e.GetEqualFoldAttributeValue(m.userAttr); v != "" {
			out[id] = v
		}
	}
	return out, nil
}

// memberChangeValues converts the ids of every member change at once (one
// batched search per kind) to the values stored in the member attribute.
func (b *Backend) memberChangeValues(c *conn, k *kindLayout, changes []backends.Change) (map[string]string, error) {
	var ids []string
	for _, ch := range changes {
		if ch.Attr == backends.AttrMembers {
			if k.member == nil {
				return nil, errNoMembers()
			}
			ids = append(ids, ch.Values...)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return b.memberValues(c, k.member, ids)
}

// storedMembers reads the member values of every entry (following AD's
// range retrieval).
func (b *Backend) storedMembers(c *conn, m *memberLayout, entries []*goldap.Entry) (map[*goldap.Entry][]string, error) {
	out := make(map[*goldap.Entry][]string, len(entries))
	for _, e := range entries {
		vals, err := b.allValues(c, e, m.attr)
		if err != nil {
			return nil, err
		}
		out[e] = vals
	}
	return out, nil
}
