package ldap

import (
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// Filters that match every entry and none, whatever the schema.
const (
	matchAll  = "(objectClass=*)"
	matchNone = "(!(objectClass=*))"
)

// ruleBitAnd is Active Directory's LDAP_MATCHING_RULE_BIT_AND.
const ruleBitAnd = "1.2.840.113556.1.4.803"

// filter translates e into an LDAP filter for kind k. Every assertion
// value goes through goldap.EscapeFilter (RFC 4515), so `*`, `(`, `)`,
// `\` and NUL in a SCIM value are data: an eq is always an equality match.
// References (manager, members) are converted from ids to the stored DNs
// or values first; one that names nothing matches nothing.
func (b *Backend) filter(c *conn, k *kindLayout, e backends.Expr) (string, error) {
	switch x := e.(type) {
	case nil:
		return matchAll, nil
	case backends.None:
		return matchNone, nil
	case backends.Not:
		in, err := b.filter(c, k, x.X)
		if err != nil {
			return "", err
		}
		return "(!" + in + ")", nil
	case backends.And:
		l, err := b.filter(c, k, x.Left)
		if err != nil {
			return "", err
		}
		r, err := b.filter(c, k, x.Right)
		if err != nil {
			return "", err
		}
		return "(&" + l + r + ")", nil
	case backends.Or:
		l, err := b.filter(c, k, x.Left)
		if err != nil {
			return "", err
		}
		r, err := b.filter(c, k, x.Right)
		if err != nil {
			return "", err
		}
		return "(|" + l + r + ")", nil
	case backends.Cmp:
		return b.compare(c, k, x)
	}
	return "", fmt.Errorf("ldap: filter term %T: %w", e, backends.ErrUnsupported)
}

func (b *Backend) compare(c *conn, k *kindLayout, x backends.Cmp) (string, error) {
	// 389 DS compares values cut at a NUL: "a\x00b" would match "a".
	if err := b.checkNUL(c, x.Attr, x.Value); err != nil {
		return "", fmt.Errorf("ldap: filter %s: %w", x.Attr, err)
	}
	unsupported := func(why string) error {
		return fmt.Errorf("ldap: filter %s %s: %s: %w", x.Attr, x.Op, why, backends.ErrUnsupported)
	}
	// eqOrNe builds eq/ne of an already stored-form assertion.
	eqOrNe := func(assertion string) (string, error) {
		switch x.Op {
		case backends.Eq:
			return assertion, nil
		case backends.Ne:
			return "(!" + assertion + ")", nil
		}
		return "", unsupported("only eq, ne and pr")
	}
	switch {
	case x.Attr == backends.AttrID:
		if x.Op == backends.Pr {
			return "(" + k.idAttr + "=*)", nil
		}
		f, ok := k.idFilter(x.Value)
		if !ok {
			f = matchNone
		}
		return eqOrNe(f)
	case x.Attr == backends.AttrMembers:
		if k.member == nil {
			return "", unsupported("this kind has no members")
		}
		m := k.member
		notPlaceholder := ""
		if m.placeholder != "" {
			notPlaceholder = "(!(" + m.attr + "=" + goldap.EscapeFilter(m.placeholder) + "))"
		}
		if x.Op == backends.Pr {
			return "(&(" + m.attr + "=*)" + notPlaceholder + ")", nil
		}
		vals, err := b.memberValues(c, m, []string{x.Value})
		if err != nil {
			return "", err
		}
		f := matchNone
		if v, ok := vals[x.Value]; ok {
			f = "(" + m.attr + "=" + goldap.EscapeFilter(v) + ")"
		}
		return eqOrNe(f)
	}
	if !isAttrName(x.Attr) {
		return "", unsupported("not an attribute name")
	}
	a, _ := k.attr(x.Attr)
	if a.Ref != "" {
		if x.Op == backends.Pr {
			return "(" + x.Attr + "=*)", nil
		}
		ref, err := b.layout(a.Ref)
		if err != nil {
			return "", err
		}
		dns, err := b.dnsForIDs(c, []string{x.Value}, ref)
		if err != nil {
			return "", err
		}
		f := matchNone
		if dn, ok := dns[x.Value]; ok {
			f = "(" + x.Attr + "=" + goldap.EscapeFilter(dn) + ")"
		}
		return eqOrNe(f)
	}
	if act := k.active; act != nil && act.bit != 0 && strings.EqualFold(x.Attr, act.attr) {
		if x.Op == backends.Pr {
			return "(" + x.Attr + "=*)", nil
		}
		on, ok := parseBool(x.Value)
		if !ok {
			return matchNone, nil
		}
		disabled := "(" + x.Attr + ":" + ruleBitAnd + ":=" + strconv.FormatInt(act.bit, 10) + ")"
		f := "(!" + disabled + ")"
		if !on {
			f = disabled
		}
		return eqOrNe(f)
	}
	v := goldap.EscapeFilter(x.Value)
	switch x.Op {
	case backends.Pr:
		return "(" + x.Attr + "=*)", nil
	case backends.Eq:
		return "(" + x.Attr + "=" + v + ")", nil
	case backends.Ne:
		return "(!(" + x.Attr + "=" + v + "))", nil
	case backends.Co, backends.Sw, backends.Ew:
		if ok, err := b.hasRule(c, x.Attr, ruleSubstr); err != nil {
			return "", err
		} else if !ok {
			return "", unsupported("the directory schema has no substring matching rule for it")
		}
		if x.Value == "" {
			return "(" + x.Attr + "=*)", nil
		}
		switch x.Op {
		case backends.Co:
			return "(" + x.Attr + "=*" + v + "*)", nil
		case backends.Sw:
			return "(" + x.Attr + "=" + v + "*)", nil
		}
		return "(" + x.Attr + "=*" + v + ")", nil
	case backends.Gt, backends.Ge, backends.Lt, backends.Le:
		// Without an ORDERING rule a directory evaluates >= as
		// Undefined and silently matches nothing: refuse instead.
		if ok, err := b.hasRule(c, x.Attr, ruleOrdering); err != nil {
			return "", err
		} else if !ok {
			return "", unsupported("the directory schema has no ordering rule for it")
		}
		switch x.Op {
		case backends.Ge:
			return "(" + x.Attr + ">=" + v + ")", nil
		case backends.Le:
			return "(" + x.Attr + "<=" + v + ")", nil
		case backends.Gt:
			return "(&(" + x.Attr + ">=" + v + ")(!(" + x.Attr + "=" + v + ")))", nil
		}
		return "(&(" + x.Attr + "<=" + v + ")(!(" + x.Attr + "=" + v + ")))", nil
	}
	return "", unsupported("unknown operator")
}
