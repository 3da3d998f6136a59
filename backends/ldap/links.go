package ldap

import (
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

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
