package ldap

import (
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// activeCodec is the attribute the mapping writes SCIM active to, when the
// layout's active block says it is more than a value (see ActiveLayout):
// with bit, a flags integer in which the bit means disabled, which the
// mapping sees as true/false; with moveTo, a false value also moves the
// entry into that container and a true one back to the layout's parent.
type activeCodec struct {
	attr    string
	bit     int64 // 0: the value is stored as written
	initial int64 // the flags of a new entry, before the bit
	moveTo  string
	// addDisabled: a new account gets a random password (kindLayout.password)
	// and Windows refuses to enable one without it, so it is added disabled
	// and enabled by a second write.
	addDisabled bool
}

// ruleBitAnd is Active Directory's LDAP_MATCHING_RULE_BIT_AND.
const ruleBitAnd = "1.2.840.113556.1.4.803"

// encode is a new entry's flags, and where it goes: a disabled entry
// into moveTo. With a password the account is added disabled and enabled
// by Create once it has one (adder.enable).
func (a *activeCodec) encode(ad *adder, name string, vals []string) ([]string, error) {
	on, ok := backends.ParseBool(vals[0])
	if a.bit != 0 {
		if !ok {
			return nil, &backends.InvalidError{Attr: name, Reason: fmt.Sprintf("%q is not true or false", vals[0])}
		}
		vals = []string{a.flags(a.initial, on && !a.addDisabled)}
		if a.addDisabled && on {
			ad.enable = &mod{goldap.ReplaceAttribute, a.attr, []string{a.flags(a.initial, true)}}
		}
	}
	if a.moveTo != "" && ok && !on {
		ad.parent = a.moveTo
	}
	return vals, nil
}

// modify sets or clears the bit in the flags the entry holds, keeping the
// others (the guard asserts they are still those), and moves the entry
// when the layout says so. A flags attribute is never cleared: there is no
// "no value" for it.
func (a *activeCodec) modify(p *planner, ch backends.Change, vals []string) ([]string, bool, error) {
	if len(vals) == 0 {
		return vals, a.bit == 0, nil
	}
	on, ok := backends.ParseBool(vals[0])
	if a.bit != 0 {
		if !ok || ch.Op != backends.Replace {
			return nil, false, &backends.InvalidError{Attr: ch.Attr, Reason: fmt.Sprintf("%q is not true or false", vals[0])}
		}
		flags := a.initial
		cur := p.e.GetEqualFoldAttributeValue(ch.Attr)
		if cur != "" {
			if n, err := strconv.ParseInt(cur, 10, 64); err == nil {
				flags = n
			}
		}
		p.flagsAttr, p.flags = a.attr, &cur
		vals = []string{a.flags(flags, on)}
	}
	if a.moveTo != "" && ok {
		target := p.k.parent
		if !on {
			target = a.moveTo
		}
		p.moveTo(target)
	}
	return vals, true, nil
}

// flags is flags with the disable bit cleared when enabled, set otherwise.
func (a *activeCodec) flags(flags int64, enabled bool) string {
	if enabled {
		flags &^= a.bit
	} else {
		flags |= a.bit
	}
	return strconv.FormatInt(flags, 10)
}

func (*activeCodec) refs(*goldap.Entry, map[string]string) []string { return nil }

// decode shows flags as the SCIM active flag: the disable bit set is
// false.
func (a *activeCodec) decode(vals []string, _ map[string]string) []string {
	if a.bit == 0 {
		return vals
	}
	n, err := strconv.ParseInt(strings.TrimSpace(vals[0]), 10, 64)
	switch {
	case err != nil:
		return []string{""}
	case n&a.bit != 0:
		return []string{"false"}
	}
	return []string{"true"}
}

// filter makes `active eq true` a bitwise match (AD's
// LDAP_MATCHING_RULE_BIT_AND); a value that is not a boolean matches
// nothing.
func (a *activeCodec) filter(f filterer, x backends.Cmp) (string, error) {
	if a.bit == 0 {
		return plainCodec{}.filter(f, x)
	}
	if x.Op == backends.Pr {
		return "(" + x.Attr + "=*)", nil
	}
	on, ok := backends.ParseBool(x.Value)
	if !ok {
		return matchNone, nil
	}
	disabled := "(" + x.Attr + ":" + ruleBitAnd + ":=" + strconv.FormatInt(a.bit, 10) + ")"
	assertion := "(!" + disabled + ")"
	if !on {
		assertion = disabled
	}
	return eqOrNe(x, assertion)
}

// reads is the attribute itself: the flags are read-modify-written.
func (a *activeCodec) reads() []string { return []string{a.attr} }

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
