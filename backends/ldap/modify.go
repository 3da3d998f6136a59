package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// mod is one modification of a Modify request, in the stored form.
type mod struct {
	op   uint // goldap.AddAttribute, DeleteAttribute, ReplaceAttribute
	attr string
	vals []string
}

// Modify applies changes to one entry: a rename first (ModifyDN) when the
// naming attribute's value changes or a disable moves the entry, then
// every attribute and member change in ONE Modify request, in order, so
// that the changes land together or not at all. Member changes for the
// group are coalesced: however many members a PATCH adds, they travel as
// one multi-value add.
//
// Adding a present value and removing an absent one succeed: the
// Permissive Modify control is sent (Config.PermissiveModify), and when the
// server still answers attributeOrValueExists (20) or noSuchAttribute (16)
// (slapd for an absent value; AD answers 68/53 for members), the current
// values are read and the request is sent again with only the effective
// changes. A groupOfNames that would lose its last member (65) gets the
// layout's placeholder instead.
//
// A Modify whose connection drops after sending is reported unavailable:
// every change is idempotent as written here, and a retry starts by
// re-reading the entry.
func (b *Backend) Modify(ctx context.Context, kind backends.Kind, id string, changes []backends.Change) error {
	k, err := b.layout(kind)
	if err != nil {
		return err
	}
	err = b.pool.with(ctx, func(c *conn) error {
		attrs := []string{"objectClass", k.rdn}
		if k.active != nil {
			attrs = append(attrs, k.active.attr)
		}
		e, err := b.lookup(c, k, id, attrs)
		if err != nil {
			return err
		}
		p, err := b.plan(c, k, e, changes)
		if err != nil {
			return err
		}
		if err := b.checkUnique(c, k, p.unique, id); err != nil {
			return err
		}
		dn := e.DN
		if p.newRDN != "" || p.newParent != "" {
			rdn := p.newRDN
			if rdn == "" {
				rdn = firstRDN(e.DN)
			}
			req := goldap.NewModifyDNRequest(e.DN, rdn, true, p.newParent)
			if err := c.modifyDN(req); err != nil {
				if resultCode(err) == int(goldap.LDAPResultEntryAlreadyExists) {
					return b.conflictAt(c, k, newDN(e.DN, rdn, p.newParent))
				}
				return classify("rename", err, []string{k.rdn})
			}
			dn = newDN(e.DN, rdn, p.newParent)
			if err := b.relink(c, k, e.DN, dn); err != nil {
				return err
			}
		}
		return b.apply(c, k, dn, p.mods)
	})
	return classify("modify", err, nil)
}

// modPlan is a Modify turned into LDAP requests.
type modPlan struct {
	newRDN    string // "rdn=value", or "" to keep it
	newParent string // a new superior, or "" to stay
	mods      []mod
	unique    map[string][]string // values of unique attributes written
}

// plan converts changes into the stored form: ids to DNs, the active flag
// to the flags bit, members to member values (one batch lookup), the
// auxiliary classes the entry lacks, the placeholder when members arrive.
func (b *Backend) plan(c *conn, k *kindLayout, e *goldap.Entry, changes []backends.Change) (*modPlan, error) {
	p := &modPlan{unique: map[string][]string{}}
	// Members: every id of every member change, converted at once.
	var memberIDs []string
	for _, ch := range changes {
		if ch.Attr == backends.AttrMembers {
			if k.member == nil {
				return nil, &backends.InvalidError{Attr: backends.AttrMembers, Reason: "only groups have members"}
			}
			memberIDs = append(memberIDs, ch.Values...)
		}
	}
	var memberVals map[string]string
	if len(memberIDs) > 0 {
		var err error
		if memberVals, err = b.memberValues(c, k.member, memberIDs); err != nil {
			return nil, err
		}
	}
	curRDNAttr, curRDN := rdnOf(e.DN)
	parent := parentDN(e.DN)
	membersAdded := false
	attrChanged := false
	for _, ch := range changes {
		vals := dedupe(nonEmpty(ch.Values))
		if ch.Attr == backends.AttrMembers {
			m := k.member
			var mv []string
			seen := map[string]bool{}
			for _, id := range vals {
				v, ok := memberVals[id]
				if !ok {
					if ch.Op == backends.Remove {
						continue // not a member of anything: nothing to remove
					}
					return nil, &backends.InvalidError{Attr: backends.AttrMembers, Reason: fmt.Sprintf("no user or group has id %q", id)}
				}
				if key := m.key(v); !seen[key] {
					seen[key] = true
					mv = append(mv, v)
				}
			}
			switch ch.Op {
			case backends.Add:
				if len(mv) > 0 {
					p.mods = append(p.mods, mod{goldap.AddAttribute, m.attr, mv})
					membersAdded = true
				}
			case backends.Remove:
				switch {
				case len(vals) == 0:
					p.mods = append(p.mods, mod{goldap.ReplaceAttribute, m.attr, placeholderOr(m, nil)})
				case len(mv) > 0:
					p.mods = append(p.mods, mod{goldap.DeleteAttribute, m.attr, mv})
				}
			case backends.Replace:
				p.mods = append(p.mods, mod{goldap.ReplaceAttribute, m.attr, placeholderOr(m, mv)})
			}
			continue
		}
		name := ch.Attr
		if !isAttrName(name) || strings.EqualFold(name, "objectClass") || strings.EqualFold(name, k.idAttr) || k.isMemberAttr(name) {
			return nil, &backends.InvalidError{Attr: name, Reason: "not an attribute this backend writes"}
		}
		if err := b.checkNUL(c, name, vals...); err != nil {
			return nil, err
		}
		attrChanged = true
		a, _ := k.attr(name)
		if a.Unique && (ch.Op == backends.Replace || ch.Op == backends.Add) && len(vals) > 0 {
			p.unique[name] = vals
		}
		switch {
		case strings.EqualFold(name, k.rdn):
			if ch.Op == backends.Replace && len(vals) == 0 {
				return nil, &backends.InvalidError{Attr: name, Reason: "the naming attribute of an entry cannot be cleared"}
			}
			// The exact value is compared: a change of case is a rename
			// too, so the DN reads as written.
			if ch.Op == backends.Replace && !slices.Contains(vals, curRDN) {
				want := k.rdnFor(vals[0])
				wantAttr, wantVal := k.naming(vals[0])
				if !strings.EqualFold(wantAttr, curRDNAttr) || wantVal != curRDN {
					p.newRDN = want
				}
				curRDNAttr, curRDN = wantAttr, wantVal
			}
			// The ModifyDN (or the current name) already gives the
			// attribute its one value; Active Directory refuses any
			// modify of the RDN attribute, even to the same value
			// (67, "must use 'rename' operation instead").
			if ch.Op == backends.Replace && len(vals) == 1 && len(e.GetEqualFoldAttributeValues(name)) <= 1 &&
				strings.EqualFold(curRDNAttr, name) && curRDN == vals[0] {
				continue
			}
		case a.Ref != "":
			conv, err := b.refDNs(c, a, vals, ch.Op != backends.Remove)
			if err != nil {
				return nil, err
			}
			if ch.Op == backends.Remove && len(vals) > 0 && len(conv) == 0 {
				continue
			}
			vals = conv
		case k.active != nil && strings.EqualFold(name, k.active.attr):
			if len(vals) == 0 {
				if k.active.bit != 0 {
					continue // the flags stay; there is no "no value" for them
				}
				break
			}
			on, ok := parseBool(vals[0])
			if k.active.bit != 0 {
				if !ok || ch.Op != backends.Replace {
					return nil, &backends.InvalidError{Attr: name, Reason: fmt.Sprintf("%q is not true or false", vals[0])}
				}
				flags := k.active.initial
				if cur := e.GetEqualFoldAttributeValue(name); cur != "" {
					if n, err := strconv.ParseInt(cur, 10, 64); err == nil {
						flags = n
					}
				}
				vals = []string{strconv.FormatInt(setBit(flags, k.active.bit, !on), 10)}
			}
			if k.active.moveTo != "" && ok {
				target := k.parent
				if !on {
					target = k.active.moveTo
				}
				if !strings.EqualFold(dnKey(target), dnKey(parent)) {
					p.newParent, parent = target, target
				} else {
					p.newParent = ""
				}
			}
		}
		switch ch.Op {
		case backends.Replace:
			p.mods = append(p.mods, mod{goldap.ReplaceAttribute, name, vals})
		case backends.Add:
			if len(vals) > 0 {
				p.mods = append(p.mods, mod{goldap.AddAttribute, name, vals})
			}
		case backends.Remove:
			if len(vals) == 0 {
				// Replacing with nothing removes every value and, unlike
				// a delete without values, is no error when there is none.
				p.mods = append(p.mods, mod{goldap.ReplaceAttribute, name, nil})
			} else {
				p.mods = append(p.mods, mod{goldap.DeleteAttribute, name, vals})
			}
		default:
			return nil, &backends.InvalidError{Attr: name, Reason: "unknown change " + ch.Op.String()}
		}
	}
	if attrChanged {
		var missing []string
		have := e.GetEqualFoldAttributeValues("objectClass")
		for _, aux := range k.auxClasses {
			found := false
			for _, h := range have {
				found = found || strings.EqualFold(h, aux)
			}
			if !found {
				missing = append(missing, aux)
			}
		}
		if len(missing) > 0 {
			// An entry from before scimbridge: the class that allows
			// the attributes about to be written comes first.
			p.mods = append([]mod{{goldap.AddAttribute, "objectClass", missing}}, p.mods...)
		}
	}
	if membersAdded && k.member.placeholder != "" {
		ph := k.member.placeholder
		res, err := c.search(goldap.NewSearchRequest(e.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
			"("+k.member.attr+"="+goldap.EscapeFilter(ph)+")", []string{"1.1"}, nil))
		if err != nil {
			return nil, classify("placeholder check", err, nil)
		}
		if len(res.Entries) > 0 {
			p.mods = append(p.mods, mod{goldap.DeleteAttribute, k.member.attr, []string{ph}})
		}
	}
	return p, nil
}

// placeholderOr is vals, or the placeholder when vals is empty and the
// layout has one.
func placeholderOr(m *memberLayout, vals []string) []string {
	if len(vals) == 0 && m.placeholder != "" {
		return []string{m.placeholder}
	}
	return vals
}

// apply sends mods as one Modify request, falling back to the effective
// changes when the server refuses present or absent values.
func (b *Backend) apply(c *conn, k *kindLayout, dn string, mods []mod) error {
	if len(mods) == 0 {
		return nil
	}
	err := c.modify(b.modifyRequest(dn, mods))
	if err == nil {
		return nil
	}
	if isNetwork(err) || !b.valueConflict(k, err, mods) {
		return classify("modify "+dn, err, modAttrs(mods))
	}
	eff, err := b.effective(c, k, dn, mods)
	if err != nil {
		return err
	}
	if len(eff) == 0 {
		return nil
	}
	return classify("modify "+dn, c.modify(b.modifyRequest(dn, eff)), modAttrs(mods))
}

func (b *Backend) modifyRequest(dn string, mods []mod) *goldap.ModifyRequest {
	req := goldap.NewModifyRequest(dn, nil)
	for _, m := range mods {
		if m.op != goldap.ReplaceAttribute && b.permissive != nil {
			req.Controls = b.permissive
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
	return req
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
	valueAttrs := map[string]bool{}
	var names []string
	for _, m := range mods {
		if m.op != goldap.ReplaceAttribute || k.isMemberAttr(m.attr) {
			la := strings.ToLower(m.attr)
			if !valueAttrs[la] {
				valueAttrs[la] = true
				names = append(names, m.attr)
			}
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
	e := res.Entries[0]
	keyOf := func(attr, v string) string {
		if k.isMemberAttr(attr) {
			return k.member.key(v)
		}
		return foldValue(v)
	}
	type valueSet struct {
		order []string
		vals  map[string]string
	}
	cur := map[string]*valueSet{}
	final := map[string]*valueSet{}
	for _, name := range names {
		vals, err := b.allValues(c, e, name)
		if err != nil {
			return nil, err
		}
		cs, fs := &valueSet{vals: map[string]string{}}, &valueSet{vals: map[string]string{}}
		for _, v := range vals {
			key := keyOf(name, v)
			cs.vals[key] = v
			cs.order = append(cs.order, key)
			fs.vals[key] = v
			fs.order = append(fs.order, key)
		}
		cur[strings.ToLower(name)], final[strings.ToLower(name)] = cs, fs
	}
	for _, m := range mods {
		fs := final[strings.ToLower(m.attr)]
		if fs == nil {
			continue
		}
		switch m.op {
		case goldap.ReplaceAttribute:
			fs.vals, fs.order = map[string]string{}, nil
			fallthrough
		case goldap.AddAttribute:
			for _, v := range m.vals {
				key := keyOf(m.attr, v)
				if _, ok := fs.vals[key]; !ok {
					fs.vals[key] = v
					fs.order = append(fs.order, key)
				}
			}
		case goldap.DeleteAttribute:
			if len(m.vals) == 0 {
				fs.vals = map[string]string{}
				continue
			}
			for _, v := range m.vals {
				delete(fs.vals, keyOf(m.attr, v))
			}
		}
	}
	if k.member != nil && k.member.placeholder != "" {
		if fs := final[strings.ToLower(k.member.attr)]; fs != nil {
			ph := k.member.key(k.member.placeholder)
			real := 0
			for key := range fs.vals {
				if key != ph {
					real++
				}
			}
			if real == 0 {
				if _, ok := fs.vals[ph]; !ok {
					fs.vals[ph] = k.member.placeholder
					fs.order = append(fs.order, ph)
				}
			} else {
				delete(fs.vals, ph)
			}
		}
	}
	var out []mod
	done := map[string]bool{}
	for _, m := range mods {
		la := strings.ToLower(m.attr)
		if !valueAttrs[la] {
			out = append(out, m)
			continue
		}
		if done[la] {
			continue
		}
		done[la] = true
		cs, fs := cur[la], final[la]
		var add, del []string
		for _, key := range fs.order {
			if v, ok := fs.vals[key]; ok {
				if _, had := cs.vals[key]; !had {
					add = append(add, v)
				}
			}
		}
		for _, key := range cs.order {
			if _, keep := fs.vals[key]; !keep {
				del = append(del, cs.vals[key])
			}
		}
		add, del = dedupe(add), dedupe(del)
		if len(add) > 0 {
			out = append(out, mod{goldap.AddAttribute, m.attr, add})
		}
		if len(del) > 0 {
			out = append(out, mod{goldap.DeleteAttribute, m.attr, del})
		}
	}
	return out, nil
}

// Delete removes an entry, after removing it from every group holding it
// (directories without referential integrity keep dangling member values)
// and clearing references to it (manager). If the connection drops after
// the delete was sent, the entry is looked up again: gone means done.
func (b *Backend) Delete(ctx context.Context, kind backends.Kind, id string) error {
	k, err := b.layout(kind)
	if err != nil {
		return err
	}
	ambiguous := false
	err = b.pool.with(ctx, func(c *conn) error {
		attrs := []string{"1.1"}
		if b.groups != nil && b.groups.member != nil && b.groups.member.format == formatAttr {
			attrs = []string{b.groups.member.userAttr}
		}
		e, err := b.lookup(c, k, id, attrs)
		if err != nil {
			return err
		}
		if err := b.unlink(c, k, e, id); err != nil {
			return err
		}
		if err := c.del(goldap.NewDelRequest(e.DN, nil)); err != nil {
			if isNetwork(err) {
				ambiguous = true
			}
			return classify("delete "+e.DN, err, nil)
		}
		return nil
	})
	if err != nil && ambiguous && ctx.Err() == nil {
		rerr := b.pool.with(ctx, func(c *conn) error {
			_, err := b.lookup(c, k, id, []string{"1.1"})
			return err
		})
		if rerr != nil && isNotFound(rerr) {
			return nil
		}
	}
	return classify("delete", err, nil)
}

func isNotFound(err error) bool { return errors.Is(err, backends.ErrNotFound) }

// unlink removes entry e (of kind k) from the groups holding it and from
// the reference attributes naming it.
func (b *Backend) unlink(c *conn, k *kindLayout, e *goldap.Entry, id string) error {
	if g := b.groups; g != nil && g.member != nil {
		var v string
		switch g.member.format {
		case formatDN:
			v = e.DN
		case formatID:
			v = id
		case formatAttr:
			if k.kind == backends.User {
				v = e.GetEqualFoldAttributeValue(g.member.userAttr)
			}
		}
		if v != "" {
			res, err := c.search(goldap.NewSearchRequest(g.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
				"(&"+g.classFilter+"("+g.member.attr+"="+goldap.EscapeFilter(v)+"))", []string{"1.1"}, nil))
			if err != nil {
				return classify("find the groups of "+e.DN, err, nil)
			}
			for _, ge := range res.Entries {
				if err := b.apply(c, g, ge.DN, []mod{{goldap.DeleteAttribute, g.member.attr, []string{v}}}); err != nil {
					return err
				}
			}
		}
	}
	for _, rk := range b.kinds() {
		for _, name := range rk.attrNames {
			a, _ := rk.attr(name)
			if a.Ref != k.kind {
				continue
			}
			res, err := c.search(goldap.NewSearchRequest(rk.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
				"(&"+rk.classFilter+"("+name+"="+goldap.EscapeFilter(e.DN)+"))", []string{"1.1"}, nil))
			if err != nil {
				return classify("find references to "+e.DN, err, nil)
			}
			for _, re := range res.Entries {
				if err := b.apply(c, rk, re.DN, []mod{{goldap.DeleteAttribute, name, []string{e.DN}}}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// relink points the groups and references (manager) that hold oldDN at
// newDN after a rename, as OpenLDAP's refint overlay would: a directory
// without it keeps the old DN, which then names nothing. Where the
// directory rewrites them itself (AD's linked attributes) nothing holds the
// old DN any more and nothing is written.
func (b *Backend) relink(c *conn, k *kindLayout, oldDN, newDN string) error {
	type ref struct {
		k    *kindLayout
		attr string
	}
	var refs []ref
	if g := b.groups; g != nil && g.member != nil && g.member.format == formatDN {
		refs = append(refs, ref{g, g.member.attr})
	}
	for _, rk := range b.kinds() {
		for _, name := range rk.attrNames {
			if a, _ := rk.attr(name); a.Ref == k.kind {
				refs = append(refs, ref{rk, name})
			}
		}
	}
	for _, r := range refs {
		res, err := c.search(goldap.NewSearchRequest(r.k.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(&"+r.k.classFilter+"("+r.attr+"="+goldap.EscapeFilter(oldDN)+"))", []string{"1.1"}, nil))
		if err != nil {
			return classify("find references to "+oldDN, err, nil)
		}
		for _, re := range res.Entries {
			if err := b.apply(c, r.k, re.DN, []mod{
				{goldap.DeleteAttribute, r.attr, []string{oldDN}},
				{goldap.AddAttribute, r.attr, []string{newDN}},
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// rdnOf is the type and value of the first RDN of dn ("" if unparsable).
func rdnOf(dn string) (string, string) {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return "", ""
	}
	return d.RDNs[0].Attributes[0].Type, d.RDNs[0].Attributes[0].Value
}

// firstRDN is the first RDN of dn as written.
func firstRDN(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 {
		return dn
	}
	var parts []string
	for _, a := range d.RDNs[0].Attributes {
		parts = append(parts, a.Type+"="+escapeDN(a.Value))
	}
	return strings.Join(parts, "+")
}

// parentDN is dn without its first RDN.
func parentDN(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) < 2 {
		return ""
	}
	return (&goldap.DN{RDNs: d.RDNs[1:]}).String()
}

// newDN is the DN after a ModifyDN to rdn under parent ("" = the same).
func newDN(dn, rdn, parent string) string {
	if parent == "" {
		parent = parentDN(dn)
	}
	return rdn + "," + parent
}
