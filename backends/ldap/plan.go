package ldap

import (
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
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
