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

// memberChangeValues converts the ids of every member change at once (one
// batched search per kind) to the values stored in the member attribute.
func (b *Backend) memberChangeValues(c *conn, k *kindLayout, changes []backends.Change) (map[string]string, error) {
	var ids []string
	for _, ch := range changes {
		if ch.Attr == backends.AttrMembers {
			if k.member == nil {
				return nil, &backends.InvalidError{Attr: backends.AttrMembers, Reason: "only groups have members"}
			}
			ids = append(ids, ch.Values...)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return b.memberValues(c, k.member, ids)
}

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
			terms = append(terms, "(!("+k.active.attr+"=*))")
		} else {
			terms = append(terms, "("+k.active.attr+"="+goldap.EscapeFilter(*p.flags)+")")
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

// sameFlags compares two flags values as integers (integerMatch), or as
// text when they are not numbers.
func sameFlags(a, b string) bool {
	x, errA := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	y, errB := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if errA != nil || errB != nil {
		return a == b
	}
	return x == y
}

// plan converts changes into the stored form: ids to DNs, the active flag
// to the flags bit, members to member values (memberVals, converted by
// memberChangeValues), the auxiliary classes the entry lacks, the
// placeholder when members arrive (as ph says).
func (b *Backend) plan(c *conn, k *kindLayout, e *goldap.Entry, changes []backends.Change,
	memberVals map[string]string, mode placeholderMode) (*modPlan, error) {
	p := &modPlan{unique: map[string][]string{}, dn: e.DN}
	for _, ch := range changes {
		if ch.Attr == backends.AttrMembers && k.member == nil {
			return nil, &backends.InvalidError{Attr: backends.AttrMembers, Reason: "only groups have members"}
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
				cur := e.GetEqualFoldAttributeValue(name)
				if cur != "" {
					if n, err := strconv.ParseInt(cur, 10, 64); err == nil {
						flags = n
					}
				}
				p.flagsAttr, p.flags = k.active.attr, &cur
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
			if slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, aux) }) {
				p.classes = append(p.classes, aux)
			} else {
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
		switch mode {
		case placeholderAssert:
			p.placeholderAbsent = true
		case placeholderPresent:
			p.mods = append(p.mods, mod{goldap.DeleteAttribute, k.member.attr, []string{ph}})
		default:
			res, err := c.search(goldap.NewSearchRequest(e.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
				"("+k.member.attr+"="+goldap.EscapeFilter(ph)+")", []string{"1.1"}, nil))
			if err != nil {
				return nil, classify("placeholder check", err, nil)
			}
			if len(res.Entries) > 0 {
				p.mods = append(p.mods, mod{goldap.DeleteAttribute, k.member.attr, []string{ph}})
			}
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
		terms = append(slices.Clip(terms), "(!("+k.member.attr+"="+goldap.EscapeFilter(k.member.placeholder)+"))")
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
