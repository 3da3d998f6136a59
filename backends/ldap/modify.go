package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
// one multi-value add, their ids converted in one batched search.
//
// Adding a present value and removing an absent one succeed: the
// Permissive Modify control is sent (Config.PermissiveModify), and when the
// server still answers attributeOrValueExists (20) or noSuchAttribute (16)
// (slapd for an absent value; AD answers 68/53 for members), the current
// values are read and the request is sent again with only the effective
// changes. A groupOfNames that would lose its last member (65) gets the
// layout's placeholder instead.
//
// The entry is the one Get read just before, when there is one (see
// recentEntries), and otherwise looked up by id.
//
// A Modify whose connection drops after sending is reported unavailable:
// every change is idempotent as written here, and a retry starts by
// re-reading the entry.
func (b *Backend) Modify(ctx context.Context, kind backends.Kind, id string, changes []backends.Change) error {
	k, err := b.layout(kind)
	if err != nil {
		return err
	}
	recent := b.recent.take(k, id)
	err = b.pool.write(ctx, func(c *conn) error {
		info, err := b.rootDSE(c)
		if err != nil {
			return err
		}
		// Where the server can check it, a member add asserts that the
		// placeholder is gone instead of searching for it first.
		ph := placeholderSearch
		if info.assertion {
			ph = placeholderAssert
		}
		var (
			memberVals map[string]string
			resolved   bool
		)
		resolve := func() error {
			if resolved {
				return nil
			}
			var err error
			memberVals, err = b.memberChangeValues(c, k, changes)
			resolved = err == nil
			return err
		}
		if recent != nil && info.assertion {
			if err := resolve(); err != nil {
				return err
			}
			err := b.modifyEntry(c, k, id, recent, changes, memberVals, ph, true)
			var stale *staleError
			if !errors.As(err, &stale) {
				return err
			}
			b.log.Debug("the entry Get read has changed since; looking it up again", "id", id, "error", stale.err)
			fresh, err := b.lookup(c, k, id, k.modifyAttrs())
			if err != nil {
				return err
			}
			// An entry that still holds everything the plan asserted
			// failed the assertion on the placeholder: it is there.
			if stale.placeholder && stale.plan.holds(fresh) {
				ph = placeholderPresent
			}
			return b.modifyEntry(c, k, id, fresh, changes, memberVals, ph, false)
		}
		e, err := b.lookup(c, k, id, k.modifyAttrs())
		if err != nil {
			return err
		}
		if err := resolve(); err != nil {
			return err
		}
		return b.modifyEntry(c, k, id, e, changes, memberVals, ph, false)
	})
	return classify("modify", err, nil)
}

// modifyEntry plans changes against entry e and writes them. With
// fromGet, e is the entry a Get read earlier: the first write asserts what
// the plan took from it (its id, flags and classes), and a failed
// assertion or a DN that is gone is a *staleError, nothing written.
func (b *Backend) modifyEntry(c *conn, k *kindLayout, id string, e *goldap.Entry, changes []backends.Change,
	memberVals map[string]string, ph placeholderMode, fromGet bool) error {
	p, err := b.plan(c, k, e, changes, memberVals, ph)
	if err != nil {
		return err
	}
	if err := b.checkUnique(c, k, p.unique, id); err != nil {
		return err
	}
	var guard []string
	if fromGet {
		guard = p.guard(k, id)
	}
	dn := e.DN
	if p.newRDN != "" || p.newParent != "" {
		rdn := p.newRDN
		if rdn == "" {
			rdn = firstRDN(e.DN)
		}
		req := goldap.NewModifyDNRequest(e.DN, rdn, true, p.newParent)
		if guard != nil {
			ctl, err := assertionControl(guard)
			if err != nil {
				return err
			}
			req.Controls = []goldap.Control{ctl}
		}
		if err := c.modifyDN(req); err != nil {
			if guard != nil && isStale(err) {
				return &staleError{plan: p, err: err}
			}
			if resultCode(err) == int(goldap.LDAPResultEntryAlreadyExists) {
				return b.conflictAt(c, k, newDN(e.DN, rdn, p.newParent), p.unique, id)
			}
			return classify("rename", err, []string{k.rdn})
		}
		guard = nil // the entry is the one the plan was made for
		dn = newDN(e.DN, rdn, p.newParent)
		if err := b.relink(c, k, e.DN, dn); err != nil {
			return err
		}
	}
	err = b.apply(c, k, dn, p.mods, guard, p.placeholderAbsent)
	var stale *staleError
	if errors.As(err, &stale) {
		stale.plan = p
	}
	return err
}

// staleError is a write refused because the entry Get read is no longer
// what is at its DN; Modify looks the entry up and plans again.
type staleError struct {
	plan        *modPlan
	placeholder bool // the assertion also said the placeholder was absent
	err         error
}

func (e *staleError) Error() string {
	return "ldap: the entry changed since it was read: " + e.err.Error()
}
func (e *staleError) Unwrap() error { return e.err }

// isStale reports the answers to a write at a DN read earlier that mean
// the entry there is not (or no longer) the one read: gone or renamed
// (32), another entry, or other flags or classes (122, the assertion), a
// class removed meanwhile (65).
func isStale(err error) bool {
	switch resultCode(err) {
	case int(goldap.LDAPResultNoSuchObject), int(goldap.LDAPResultAssertionFailed), int(goldap.LDAPResultObjectClassViolation):
		return true
	}
	return false
}

// controlAssertion is the LDAP assertion control (RFC 4528): the server
// performs the operation only if the filter matches the entry, and
// answers assertionFailed (122) otherwise.
const controlAssertion = "1.3.6.1.1.12"

// assertionControl is a critical assertion control of the conjunction of
// terms (filters).
func assertionControl(terms []string) (goldap.Control, error) {
	var f string
	switch len(terms) {
	case 0:
		return nil, errors.New("ldap: an assertion without terms")
	case 1:
		f = terms[0]
	default:
		f = "(&" + strings.Join(terms, "") + ")"
	}
	p, err := goldap.CompileFilter(f)
	if err != nil {
		return nil, fmt.Errorf("ldap: assertion %q: %w", f, err)
	}
	return goldap.NewControlString(controlAssertion, true, string(p.Bytes())), nil
}

// placeholderMode says how a member add learns whether the empty group's
// placeholder is there to be removed.
type placeholderMode int

const (
	placeholderSearch  placeholderMode = iota // search for it first
	placeholderAssert                         // assert it is absent; 122 says it is there
	placeholderPresent                        // known to be there: remove it
)

// modPlan is a Modify turned into LDAP requests.
type modPlan struct {
	newRDN    string // "rdn=value", or "" to keep it
	newParent string // a new superior, or "" to stay
	mods      []mod
	unique    map[string][]string // values of unique attributes written
	// placeholderAbsent: the member Modify asserts that the placeholder
	// is not there (placeholderAssert).
	placeholderAbsent bool

	// What the plan took from the entry, for guard and holds.
	dn        string
	flagsAttr string
	flags     *string  // the active flags read-modify-written (nil: not used); "" when the entry had none
	classes   []string // auxiliary classes the entry was taken to have
}

// guard lists the filters the first write asserts when the entry is the
// one Get read: that the entry at the DN has this id, and the flags and
// classes the plan took from it.
func (p *modPlan) guard(k *kindLayout, id string) []string {
	f, _ := k.idFilter(id) // e was found by id, so the id is one
	terms := []string{k.classFilter, f}
	if p.flags != nil {
		if *p.flags == "" {
			terms = append(terms, "(!("+p.flagsAttr+"=*))")
		} else {
			terms = append(terms, "("+p.flagsAttr+"="+goldap.EscapeFilter(*p.flags)+")")
		}
	}
	for _, oc := range p.classes {
		terms = append(terms, "(objectClass="+goldap.EscapeFilter(oc)+")")
	}
	return terms
}

// holds reports whether e, found by id, still has what guard asserted.
func (p *modPlan) holds(e *goldap.Entry) bool {
	if dnKey(e.DN) != dnKey(p.dn) {
		return false
	}
	if p.flags != nil && !sameFlags(*p.flags, e.GetEqualFoldAttributeValue(p.flagsAttr)) {
		return false
	}
	have := e.GetEqualFoldAttributeValues("objectClass")
	for _, oc := range p.classes {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, oc) }) {
			return false
		}
	}
	return true
}

// planner is the state of one plan: the entry the changes are made to,
// and the name and container it will have once the changes before the
// current one are made.
type planner struct {
	*modPlan
	b                 *Backend
	c                 *conn
	k                 *kindLayout
	e                 *goldap.Entry
	rdnAttr, rdnValue string
	parent            string
}

// moveTo plans the entry into the container target; the container it is
// in already means no move.
func (p *planner) moveTo(target string) {
	if !strings.EqualFold(dnKey(target), dnKey(p.parent)) {
		p.newParent, p.parent = target, target
	} else {
		p.newParent = ""
	}
}

// plan converts changes into the stored form, each attribute's through its
// codec (ids to DNs, the active flag to the flags bit, a new name to a
// rename), members to member values (memberVals, converted by
// memberChangeValues), adding the auxiliary classes the entry lacks and
// removing the placeholder when members arrive (as mode says).
func (b *Backend) plan(c *conn, k *kindLayout, e *goldap.Entry, changes []backends.Change,
	memberVals map[string]string, mode placeholderMode) (*modPlan, error) {
	for _, ch := range changes {
		if ch.Attr == backends.AttrMembers && k.member == nil {
			return nil, errNoMembers()
		}
	}
	p := &planner{modPlan: &modPlan{unique: map[string][]string{}, dn: e.DN}, b: b, c: c, k: k, e: e, parent: parentDN(e.DN)}
	p.rdnAttr, p.rdnValue = rdnOf(e.DN)
	membersAdded := false
	attrChanged := false
	for _, ch := range changes {
		vals := dedupe(nonEmpty(ch.Values))
		if ch.Attr == backends.AttrMembers {
			mods, added, err := k.member.changes(ch.Op, vals, memberVals)
			if err != nil {
				return nil, err
			}
			p.mods = append(p.mods, mods...)
			membersAdded = membersAdded || added
			continue
		}
		name := ch.Attr
		if !k.writable(name) {
			return nil, &backends.InvalidError{Attr: name, Reason: "not an attribute this backend writes"}
		}
		if err := b.checkNUL(c, name, vals...); err != nil {
			return nil, err
		}
		attrChanged = true
		if a, _ := k.attr(name); a.Unique && (ch.Op == backends.Replace || ch.Op == backends.Add) && len(vals) > 0 {
			p.unique[name] = vals
		}
		vals, write, err := k.codec(name).modify(p, ch, vals)
		if err != nil {
			return nil, err
		}
		if !write {
			continue
		}
		m, ok := changeMod(ch.Op, name, vals)
		if !ok {
			return nil, &backends.InvalidError{Attr: name, Reason: "unknown change " + ch.Op.String()}
		}
		if m != nil {
			p.mods = append(p.mods, *m)
		}
	}
	if attrChanged {
		p.addMissingClasses()
	}
	if membersAdded && k.member.placeholder != "" {
		if err := p.removePlaceholder(mode); err != nil {
			return nil, err
		}
	}
	return p.modPlan, nil
}

// changeMod is the modification of attr that op with the stored values
// vals makes (nil: none), or false for an unknown op.
func changeMod(op backends.ChangeOp, attr string, vals []string) (*mod, bool) {
	switch op {
	case backends.Replace:
		return &mod{goldap.ReplaceAttribute, attr, vals}, true
	case backends.Add:
		if len(vals) == 0 {
			return nil, true
		}
		return &mod{goldap.AddAttribute, attr, vals}, true
	case backends.Remove:
		if len(vals) == 0 {
			// Replacing with nothing removes every value and, unlike
			// a delete without values, is no error when there is none.
			return &mod{goldap.ReplaceAttribute, attr, nil}, true
		}
		return &mod{goldap.DeleteAttribute, attr, vals}, true
	}
	return nil, false
}

// addMissingClasses adds the auxiliary classes the entry lacks (an entry
// from before scimbridge) first, so that the class allowing the attributes
// about to be written is there when they are; the others are taken as
// there, which the guard asserts.
func (p *planner) addMissingClasses() {
	var missing []string
	have := p.e.GetEqualFoldAttributeValues("objectClass")
	for _, aux := range p.k.auxClasses {
		if slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, aux) }) {
			p.classes = append(p.classes, aux)
		} else {
			missing = append(missing, aux)
		}
	}
	if len(missing) > 0 {
		p.mods = append([]mod{{goldap.AddAttribute, "objectClass", missing}}, p.mods...)
	}
}

// removePlaceholder plans the removal of an empty group's placeholder
// when members arrive, as mode says how to learn that it is there.
func (p *planner) removePlaceholder(mode placeholderMode) error {
	m := p.k.member
	switch mode {
	case placeholderAssert:
		p.placeholderAbsent = true
		return nil
	case placeholderPresent:
	default:
		res, err := p.c.search(goldap.NewSearchRequest(p.e.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
			"("+m.attr+"="+goldap.EscapeFilter(m.placeholder)+")", []string{"1.1"}, nil))
		if err != nil {
			return classify("placeholder check", err, nil)
		}
		if len(res.Entries) == 0 {
			return nil
		}
	}
	p.mods = append(p.mods, mod{goldap.DeleteAttribute, m.attr, []string{m.placeholder}})
	return nil
}

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

// Delete removes an entry, after removing it from every group holding it
// (directories without referential integrity keep dangling member values)
// and clearing references to it (manager). If the connection drops after
// the delete was sent, the entry is looked up again: gone means done.
func (b *Backend) Delete(ctx context.Context, kind backends.Kind, id string) error {
	k, err := b.layout(kind)
	if err != nil {
		return err
	}
	// The entry Get may have read is not used: unlinking writes other
	// entries before the delete could assert anything about this one.
	b.recent.take(k, id)
	ambiguous := false
	err = b.pool.write(ctx, func(c *conn) error {
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
		rerr := b.pool.write(ctx, func(c *conn) error {
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
				if err := b.apply(c, g, ge.DN, []mod{{goldap.DeleteAttribute, g.member.attr, []string{v}}}, nil, false); err != nil {
					return err
				}
			}
		}
	}
	for _, rk := range b.kinds() {
		for _, name := range rk.refsTo(k.kind) {
			res, err := c.search(goldap.NewSearchRequest(rk.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
				"(&"+rk.classFilter+"("+name+"="+goldap.EscapeFilter(e.DN)+"))", []string{"1.1"}, nil))
			if err != nil {
				return classify("find references to "+e.DN, err, nil)
			}
			for _, re := range res.Entries {
				if err := b.apply(c, rk, re.DN, []mod{{goldap.DeleteAttribute, name, []string{e.DN}}}, nil, false); err != nil {
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
		for _, name := range rk.refsTo(k.kind) {
			refs = append(refs, ref{rk, name})
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
			}, nil, false); err != nil {
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
