package ldap

import (
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// apply sends mods as one Modify request, falling back to the effective
// changes when the server refuses present or absent values. guard, when
// set, is asserted (the entry is one Get read; a failure is a
// *staleError). placeholderAbsent asserts that the member attribute does
// not hold the placeholder; when it does (122 without a guard), the
// request is sent again removing it.
func (b *Backend) apply(c *conn, k *kindLayout, dn string, mods []mod, guard []string, placeholderAbsent bool) error {
	if len(mods) == 0 {
		return nil
	}
	terms := guard
	if placeholderAbsent {
		terms = append(slices.Clip(terms), k.member.notPlaceholder())
	}
	req, err := b.modifyRequest(dn, mods, terms)
	if err != nil {
		return err
	}
	err = c.modify(req)
	if err == nil {
		return nil
	}
	switch {
	case isNetwork(err):
		return classify("modify "+dn, err, modAttrs(mods))
	case guard != nil && resultCode(err) == int(goldap.LDAPResultAssertionFailed):
		return &staleError{placeholder: placeholderAbsent, err: err}
	case resultCode(err) == int(goldap.LDAPResultAssertionFailed) && placeholderAbsent:
		mods = append(slices.Clip(mods), mod{goldap.DeleteAttribute, k.member.attr, []string{k.member.placeholder}})
		return b.apply(c, k, dn, mods, nil, false)
	case !b.valueConflict(k, err, mods):
		if guard != nil && isStale(err) {
			return &staleError{err: err}
		}
		return classify("modify "+dn, err, modAttrs(mods))
	}
	// The server refused a present or absent value, after checking the
	// guard (an assertion is evaluated before the changes).
	eff, err := b.effective(c, k, dn, mods)
	if err != nil {
		return err
	}
	if len(eff) == 0 {
		return nil
	}
	if req, err = b.modifyRequest(dn, eff, guard); err != nil {
		return err
	}
	err = c.modify(req)
	if guard != nil && err != nil && !isNetwork(err) && isStale(err) {
		return &staleError{err: err}
	}
	return classify("modify "+dn, err, modAttrs(mods))
}

// modifyRequest is the Modify of mods at dn, asserting terms when there
// are any.
func (b *Backend) modifyRequest(dn string, mods []mod, terms []string) (*goldap.ModifyRequest, error) {
	req := goldap.NewModifyRequest(dn, nil)
	for _, m := range mods {
		if m.op != goldap.ReplaceAttribute && b.permissive != nil {
			req.Controls = slices.Clone(b.permissive)
		}
		switch m.op {
		case goldap.AddAttribute:
			req.Add(m.attr, m.vals)
		case goldap.DeleteAttribute:
			req.Delete(m.attr, m.vals)
		default:
			req.Replace(m.attr, m.vals)
		}
	}
	if len(terms) > 0 {
		ctl, err := assertionControl(terms)
		if err != nil {
			return nil, err
		}
		req.Controls = append(req.Controls, ctl)
	}
	return req, nil
}

func modAttrs(mods []mod) []string {
	out := make([]string, 0, len(mods))
	for _, m := range mods {
		out = append(out, m.attr)
	}
	return out
}

// valueConflict reports whether err is a server refusing a present value
// to add or an absent one to delete (or, with members, the last member),
// which re-reading the values resolves.
func (b *Backend) valueConflict(k *kindLayout, err error, mods []mod) bool {
	hasAdd, hasDel, memberOp := false, false, false
	for _, m := range mods {
		hasAdd = hasAdd || m.op == goldap.AddAttribute
		hasDel = hasDel || m.op == goldap.DeleteAttribute
		memberOp = memberOp || k.isMemberAttr(m.attr)
	}
	switch resultCode(err) {
	case int(goldap.LDAPResultAttributeOrValueExists):
		return hasAdd
	case int(goldap.LDAPResultNoSuchAttribute):
		return hasDel
	case int(goldap.LDAPResultEntryAlreadyExists), int(goldap.LDAPResultUnwillingToPerform):
		// Active Directory's answers for a present or absent member.
		return memberOp && (hasAdd || hasDel)
	case int(goldap.LDAPResultObjectClassViolation):
		return memberOp && k.member.placeholder != ""
	}
	return false
}

// effective reads the current values of every attribute that mods add to
// or delete from, applies mods to them in order, and returns the mods that
// take the entry from what it holds to that result: only values really
// missing are added, only values really there are deleted, and an emptied
// member attribute gets the placeholder.
func (b *Backend) effective(c *conn, k *kindLayout, dn string, mods []mod) ([]mod, error) {
	var names []string // the attributes whose values decide, once each
	for _, m := range mods {
		if (m.op != goldap.ReplaceAttribute || k.isMemberAttr(m.attr)) && !k.hasAttr(names, m.attr) {
			names = append(names, m.attr)
		}
	}
	res, err := c.search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", names, nil))
	if err != nil {
		return nil, classify("read "+dn, err, nil)
	}
	if len(res.Entries) == 0 {
		return nil, fmt.Errorf("ldap: %q is gone: %w", dn, backends.ErrNotFound)
	}
	cur := map[string]*valueSet{}
	final := map[string]*valueSet{}
	for _, name := range names {
		vals, err := b.allValues(c, res.Entries[0], name)
		if err != nil {
			return nil, err
		}
		key := foldValue
		if k.isMemberAttr(name) {
			key = k.member.key
		}
		cur[strings.ToLower(name)], final[strings.ToLower(name)] = newValueSet(key, vals), newValueSet(key, vals)
	}
	for _, m := range mods {
		if fs := final[strings.ToLower(m.attr)]; fs != nil {
			fs.apply(m)
		}
	}
	if k.member != nil {
		if fs := final[strings.ToLower(k.member.attr)]; fs != nil {
			k.member.settle(fs)
		}
	}
	var out []mod
	done := map[string]bool{}
	for _, m := range mods {
		la := strings.ToLower(m.attr)
		switch {
		case cur[la] == nil:
			out = append(out, m)
		case !done[la]:
			done[la] = true
			out = append(out, cur[la].diff(m.attr, final[la])...)
		}
	}
	return out, nil
}

// valueSet is the values of one attribute by comparison key (as the
// directory's matching rule would compare them), in order.
type valueSet struct {
	key   func(string) string
	order []string
	vals  map[string]string
}

func newValueSet(key func(string) string, vals []string) *valueSet {
	s := &valueSet{key: key, vals: map[string]string{}}
	for _, v := range vals {
		k := key(v)
		s.vals[k] = v
		s.order = append(s.order, k)
	}
	return s
}

// add adds v under key unless a value with that key is there.
func (s *valueSet) add(key, v string) {
	if _, ok := s.vals[key]; !ok {
		s.vals[key] = v
		s.order = append(s.order, key)
	}
}

// apply makes the modification m to the set, as the directory would.
func (s *valueSet) apply(m mod) {
	switch m.op {
	case goldap.ReplaceAttribute:
		s.vals, s.order = map[string]string{}, nil
		fallthrough
	case goldap.AddAttribute:
		for _, v := range m.vals {
			s.add(s.key(v), v)
		}
	case goldap.DeleteAttribute:
		if len(m.vals) == 0 {
			s.vals = map[string]string{}
			return
		}
		for _, v := range m.vals {
			delete(s.vals, s.key(v))
		}
	}
}

// diff is the modifications of attr that take it from s to final: an add
// of the values missing, a delete of those too many.
func (s *valueSet) diff(attr string, final *valueSet) []mod {
	var add, del []string
	for _, key := range final.order {
		if v, ok := final.vals[key]; ok {
			if _, had := s.vals[key]; !had {
				add = append(add, v)
			}
		}
	}
	for _, key := range s.order {
		if _, keep := final.vals[key]; !keep {
			del = append(del, s.vals[key])
		}
	}
	var out []mod
	if add = dedupe(add); len(add) > 0 {
		out = append(out, mod{goldap.AddAttribute, attr, add})
	}
	if del = dedupe(del); len(del) > 0 {
		out = append(out, mod{goldap.DeleteAttribute, attr, del})
	}
	return out
}
