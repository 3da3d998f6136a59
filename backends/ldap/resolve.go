package ldap

import (
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// The directory stores references (manager, member) as DNs or attribute
// values, SCIM as ids. These helpers convert whole lists at once, with
// OR filters of up to `batch` values on indexed attributes, so that
// reading a 20,000-member group costs about a hundred searches, not
// 20,000.

// kinds lists the layouts the mapping has.
func (b *Backend) kinds() []*kindLayout {
	var out []*kindLayout
	for _, k := range []*kindLayout{b.users, b.groups} {
		if k != nil {
			out = append(out, k)
		}
	}
	return out
}

// anyKindFilter selects entries of any kind.
func (b *Backend) anyKindFilter() string {
	ks := b.kinds()
	if len(ks) == 1 {
		return ks[0].classFilter
	}
	return "(|" + ks[0].classFilter + ks[1].classFilter + ")"
}

// entryIDAny renders the id of a user or group entry.
func (b *Backend) entryIDAny(e *goldap.Entry) string {
	for _, k := range b.kinds() {
		if id := k.entryID(e); id != "" {
			return id
		}
	}
	return ""
}

func (b *Backend) idAttrs() []string {
	var out []string
	for _, k := range b.kinds() {
		if len(out) == 0 || !strings.EqualFold(out[0], k.idAttr) {
			out = append(out, k.idAttr)
		}
	}
	return out
}

// idsForDNs maps DNs of users and groups to their ids, keyed by dnKey.
// DNs that name nothing (a deleted user, the placeholder) are left out.
func (b *Backend) idsForDNs(c *conn, dns []string) (map[string]string, error) {
	out := map[string]string{}
	if len(dns) == 0 {
		return out, nil
	}
	type group struct {
		parent, attr string
		values       []string
	}
	groups := map[string]*group{}
	var order []string
	seen := map[string]bool{}
	var single []string
	for _, dn := range dns {
		key := dnKey(dn)
		if seen[key] {
			continue
		}
		seen[key] = true
		d, err := goldap.ParseDN(dn)
		if err != nil || len(d.RDNs) < 2 || len(d.RDNs[0].Attributes) != 1 {
			if err == nil && len(d.RDNs) > 0 {
				single = append(single, dn)
			}
			continue
		}
		parent := &goldap.DN{RDNs: d.RDNs[1:]}
		atv := d.RDNs[0].Attributes[0]
		gk := strings.ToLower(atv.Type) + "|" + strings.ToLower(parent.String())
		g := groups[gk]
		if g == nil {
			g = &group{parent: parent.String(), attr: atv.Type}
			groups[gk] = g
			order = append(order, gk)
		}
		g.values = append(g.values, atv.Value)
	}
	attrs := b.idAttrs()
	for _, gk := range order {
		g := groups[gk]
		for start := 0; start < len(g.values); start += batch {
			end := min(start+batch, len(g.values))
			var f strings.Builder
			f.WriteString("(&" + b.anyKindFilter() + "(|")
			for _, v := range g.values[start:end] {
				f.WriteString("(" + g.attr + "=" + goldap.EscapeFilter(v) + ")")
			}
			f.WriteString("))")
			res, err := c.search(goldap.NewSearchRequest(g.parent, goldap.ScopeSingleLevel, goldap.NeverDerefAliases,
				0, 0, false, f.String(), attrs, nil))
			if err != nil {
				if resultCode(err) == int(goldap.LDAPResultNoSuchObject) {
					break // a container that is gone holds none of them
				}
				return nil, classify("resolve member DNs", err, nil)
			}
			for _, e := range res.Entries {
				if id := b.entryIDAny(e); id != "" {
					out[dnKey(e.DN)] = id
				}
			}
		}
	}
	for _, dn := range single {
		res, err := c.search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			1, 0, false, b.anyKindFilter(), attrs, nil))
		if err != nil {
			if resultCode(err) == int(goldap.LDAPResultNoSuchObject) {
				continue
			}
			return nil, classify("resolve a DN", err, nil)
		}
		for _, e := range res.Entries {
			if id := b.entryIDAny(e); id != "" {
				out[dnKey(dn)] = id
			}
		}
	}
	return out, nil
}

// entriesForIDs finds the entries of the given kinds holding ids, asking
// for attrs besides the id; the result maps id to entry. Ids that name no
// entry (or cannot be ids) are left out.
func (b *Backend) entriesForIDs(c *conn, ids []string, attrs []string, kinds ...*kindLayout) (map[string]*goldap.Entry, error) {
	out := map[string]*goldap.Entry{}
	for _, k := range kinds {
		var pending []string
		seen := map[string]bool{}
		for _, id := range ids {
			if _, done := out[id]; done || seen[id] {
				continue
			}
			seen[id] = true
			if _, ok := k.idFilter(id); ok {
				pending = append(pending, id)
			}
		}
		for start := 0; start < len(pending); start += batch {
			end := min(start+batch, len(pending))
			var f strings.Builder
			f.WriteString("(&" + k.classFilter + "(|")
			for _, id := range pending[start:end] {
				s, _ := k.idFilter(id)
				f.WriteString(s)
			}
			f.WriteString("))")
			res, err := c.search(goldap.NewSearchRequest(k.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
				0, 0, false, f.String(), append([]string{k.idAttr}, attrs...), nil))
			if err != nil {
				return nil, classify("resolve ids", err, nil)
			}
			for _, e := range res.Entries {
				if id := k.entryID(e); id != "" {
					out[id] = e
				}
			}
		}
	}
	return out, nil
}

// dnsForIDs maps ids of the given kinds to their DNs.
func (b *Backend) dnsForIDs(c *conn, ids []string, kinds ...*kindLayout) (map[string]string, error) {
	es, err := b.entriesForIDs(c, ids, []string{"1.1"}, kinds...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(es))
	for id, e := range es {
		out[id] = e.DN
	}
	return out, nil
}

// idsForUserValues maps values of a user attribute (posixGroup memberUid
// holding uid) to user ids, keyed by foldValue.
func (b *Backend) idsForUserValues(c *conn, attr string, vals []string) (map[string]string, error) {
	out := map[string]string{}
	k := b.users
	if k == nil || len(vals) == 0 {
		return out, nil
	}
	for start := 0; start < len(vals); start += batch {
		end := min(start+batch, len(vals))
		var f strings.Builder
		f.WriteString("(&" + k.classFilter + "(|")
		for _, v := range vals[start:end] {
			f.WriteString("(" + attr + "=" + goldap.EscapeFilter(v) + ")")
		}
		f.WriteString("))")
		res, err := c.search(goldap.NewSearchRequest(k.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
			0, 0, false, f.String(), []string{k.idAttr, attr}, nil))
		if err != nil {
			return nil, classify("resolve member values", err, nil)
		}
		for _, e := range res.Entries {
			id := k.entryID(e)
			for _, v := range e.GetEqualFoldAttributeValues(attr) {
				if id != "" {
					out[foldValue(v)] = id
				}
			}
		}
	}
	return out, nil
}
