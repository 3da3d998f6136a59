package ldap

import (
	"fmt"

	"github.com/scimbridge/scimbridge/backends"
)

// Filters that match every entry and none, whatever the schema.
const (
	matchAll  = "(objectClass=*)"
	matchNone = "(!(objectClass=*))"
)

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

// compare translates one comparison: the id and the members here, every
// attribute by its codec.
func (b *Backend) compare(c *conn, k *kindLayout, x backends.Cmp) (string, error) {
	// 389 DS compares values cut at a NUL: "a\x00b" would match "a".
	if err := b.checkNUL(c, x.Attr, x.Value); err != nil {
		return "", fmt.Errorf("ldap: filter %s: %w", x.Attr, err)
	}
	f := filterer{b: b, c: c}
	switch {
	case x.Attr == backends.AttrID:
		if x.Op == backends.Pr {
			return "(" + k.idAttr + "=*)", nil
		}
		a, ok := k.idFilter(x.Value)
		if !ok {
			a = matchNone
		}
		return eqOrNe(x, a)
	case x.Attr == backends.AttrMembers:
		if k.member == nil {
			return "", unsupported(x, "this kind has no members")
		}
		return k.member.filter(f, x)
	case !isAttrName(x.Attr):
		return "", unsupported(x, "not an attribute name")
	}
	return k.codec(x.Attr).filter(f, x)
}
