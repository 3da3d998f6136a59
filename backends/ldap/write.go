package ldap

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf16"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/scimbridge/scimbridge/backends"
)

// Create adds an entry named RDN=value,parent (the value escaped as a DN
// value, RFC 4514) with the layout's object classes, after checking the
// mapping's unique attributes with equality filters, which fold case and
// spaces as the directory's matching rules do. The directory stays the
// arbiter: two racing creates of one name meet at the DN, and the loser's
// entryAlreadyExists (68) is a ConflictError naming the holder.
//
// If the connection drops after the add was sent, the entry is read back
// by its DN: if it is there with the values written, the add landed and
// Create succeeds; otherwise it reports ErrUnavailable.
func (b *Backend) Create(ctx context.Context, kind backends.Kind, attrs map[string][]string) (backends.Record, error) {
	k, err := b.layout(kind)
	if err != nil {
		return backends.Record{}, err
	}
	var (
		rec       backends.Record
		ap        *addPlan
		ambiguous bool
	)
	_, withMembers := attrs[backends.AttrMembers]
	withMembers = withMembers && k.member != nil
	err = b.pool.write(ctx, func(c *conn) error {
		var err error
		ap, err = b.addRequest(c, k, attrs)
		if err != nil {
			return err
		}
		if err := b.checkUnique(c, k, attrs, ""); err != nil {
			return err
		}
		dn := ap.dn
		if err := c.add(ap.req); err != nil {
			if isNetwork(err) {
				ambiguous = true
				return classify("add", err, nil)
			}
			if resultCode(err) == int(goldap.LDAPResultEntryAlreadyExists) {
				return b.conflictAt(c, k, dn, attrs, "")
			}
			if resultCode(err) == int(goldap.LDAPResultNoSuchObject) {
				return fmt.Errorf("ldap: add %q: the parent container is missing: %w: %w", dn, backends.ErrUnavailable, err)
			}
			if resultCode(err) == int(goldap.LDAPResultOther) && len(dn) > 250 {
				// slapd's mdb says "other" for a DN too long to index.
				return fmt.Errorf("ldap: add: %w", &backends.InvalidError{Attr: k.rdn,
					Reason: "the name is too long for a DN in this directory (set the layout's longNames)"})
			}
			return classify("add", err, attrNames(ap.written))
		}
		if en := ap.enable; en != nil {
			req := goldap.NewModifyRequest(dn, nil)
			req.Replace(en.attr, en.vals)
			if err := c.modify(req); err != nil {
				// The account stays, disabled: a retried POST finds it
				// (409), and Entra's next PATCH of active enables it.
				return classify("enable "+dn, err, []string{en.attr})
			}
		}
		// The entry is read back for its id and timestamps (go-ldap's Add
		// returns no response controls, so no Post-Read control), and
		// for the values as the directory holds them. Not for what this
		// add just wrote and converted: the members and the ids behind
		// reference DNs.
		rec, err = b.readDN(c, k, dn, false, ap.refIDs)
		if err == nil && withMembers {
			rec.Attrs[backends.AttrMembers] = ap.members
		}
		return err
	})
	if err != nil && ambiguous && ctx.Err() == nil {
		// The add may have landed before the connection dropped: look.
		rerr := b.pool.write(ctx, func(c *conn) error {
			r, err := b.readDN(c, k, ap.dn, withMembers, nil)
			if err != nil {
				return err
			}
			if !landed(r, ap.written) {
				return fmt.Errorf("ldap: %q holds other values than the lost add wrote: %w", ap.dn, &backends.ConflictError{Attr: k.rdn, ID: r.ID})
			}
			rec = r
			return nil
		})
		switch {
		case rerr == nil:
			b.log.Debug("an add whose answer was lost had landed", "dn", ap.dn)
			return rec, nil
		case errors.Is(rerr, backends.ErrConflict):
			return backends.Record{}, rerr
		}
	}
	if err != nil {
		return backends.Record{}, classify("create", err, nil)
	}
	return rec, nil
}

// landed reports whether rec holds every value written (compared as the
// directory's default matching rules would).
func landed(rec backends.Record, written map[string][]string) bool {
	for name, want := range written {
		got, ok := rec.Attrs[name]
		if !ok {
			continue // not a mapped attribute: not read back
		}
		if !sameFold(got, want) {
			return false
		}
	}
	return true
}

func sameFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	fa, fb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		fa[i], fb[i] = foldValue(a[i]), foldValue(b[i])
	}
	sort.Strings(fa)
	sort.Strings(fb)
	return slices.Equal(fa, fb)
}

func attrNames(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// readDN reads the entry at dn as a record; known is as for records.
func (b *Backend) readDN(c *conn, k *kindLayout, dn string, members bool, known map[string]string) (backends.Record, error) {
	res, err := c.search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		k.classFilter, k.readAttrs(members), nil))
	if err != nil {
		return backends.Record{}, classify("read "+dn, err, nil)
	}
	recs, err := b.records(c, k, res.Entries, members, known)
	if err != nil {
		return backends.Record{}, err
	}
	if len(recs) == 0 {
		return backends.Record{}, fmt.Errorf("ldap: %q has no %s: %w", dn, k.idAttr, backends.ErrNotFound)
	}
	return recs[0], nil
}

// conflictAt is the ConflictError for a DN that exists already (a racing
// create or rename of the same name won between our uniqueness check and
// our write), naming the entry holding it when it is one of ours. The
// uniqueness check is made again first, so that the error names the
// mapped attribute the winner holds (userName) rather than the RDN
// attribute it was derived into (AD's cn). written are the unique values
// of the losing write, self the id of the entry it renames ("" for a
// create).
func (b *Backend) conflictAt(c *conn, k *kindLayout, dn string, written map[string][]string, self string) error {
	if err := b.checkUnique(c, k, written, self); err != nil {
		return err
	}
	ce := &backends.ConflictError{Attr: k.rdn}
	res, err := c.search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{k.idAttr}, nil))
	switch {
	case err == nil && len(res.Entries) == 1:
		ce.ID = k.entryID(res.Entries[0])
	case err == nil || errors.Is(err, backends.ErrNotFound) || resultCode(err) == int(goldap.LDAPResultNoSuchObject):
		// No entry at the DN: the directory refused another of its
		// unique values (AD's sAMAccountName answers 68 too), which it
		// does not name.
		ce.Attr = ""
		return fmt.Errorf("ldap: a unique value of %q is taken: %w", dn, ce)
	}
	return fmt.Errorf("ldap: %q exists: %w", dn, ce)
}

// addPlan is a Create turned into an LDAP add.
type addPlan struct {
	req     *goldap.AddRequest
	dn      string
	written map[string][]string // the attribute values written (not members)
	refIDs  map[string]string   // dnKey of every reference DN written → the id it came from
	members []string            // the member ids written, in order, once each
	enable  *mod                // the write enabling the account once it has its password, or nil
}

// adder is what the codecs of a new entry's attributes tell its add
// besides their values.
type adder struct {
	b      *Backend
	c      *conn
	refIDs map[string]string // as addPlan.refIDs
	parent string            // the container of the entry
	enable *mod              // as addPlan.enable
}

// addRequest builds the add of a new entry from the mapping's attributes,
// each as its codec stores it.
func (b *Backend) addRequest(c *conn, k *kindLayout, attrs map[string][]string) (*addPlan, error) {
	written := map[string][]string{}
	a := &adder{b: b, c: c, refIDs: map[string]string{}, parent: k.parent}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		if name == backends.AttrMembers {
			continue
		}
		vals := dedupe(nonEmpty(attrs[name]))
		if len(vals) == 0 {
			continue
		}
		if !k.writable(name) {
			return nil, &backends.InvalidError{Attr: name, Reason: "not an attribute this backend writes"}
		}
		if err := b.checkNUL(c, name, vals...); err != nil {
			return nil, err
		}
		vals, err := k.codec(name).encode(a, name, vals)
		if err != nil {
			return nil, err
		}
		written[name] = vals
	}
	for _, name := range slices.Sorted(maps.Keys(k.defaults)) {
		if !hasFold(written, name) {
			written[name] = k.defaults[name]
		}
	}
	rdnVals := valuesFold(written, k.rdn)
	if len(rdnVals) == 0 {
		return nil, &backends.InvalidError{Attr: k.rdn, Reason: "a new entry needs a value for its naming attribute"}
	}
	dn := k.dnFor(rdnVals[0], a.parent)
	if attr, v := k.naming(rdnVals[0]); !strings.EqualFold(attr, k.rdn) {
		written[attr] = []string{v}
	}
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", append(slices.Clone(k.objectClasses), k.auxClasses...))
	for _, name := range slices.Sorted(maps.Keys(written)) {
		req.Attribute(name, written[name])
	}
	if k.password != "" {
		pw, err := randomPassword()
		if err != nil {
			return nil, fmt.Errorf("ldap: add: %w: %w", backends.ErrUnavailable, err)
		}
		req.Attribute(k.password, []string{encodePassword(k.password, pw)})
	}
	memberIDs := []string{}
	ids := attrs[backends.AttrMembers]
	switch {
	case k.member != nil:
		stored, err := b.memberValues(c, k.member, ids)
		if err != nil {
			return nil, err
		}
		var vals []string
		if vals, memberIDs, err = k.member.addValues(ids, stored); err != nil {
			return nil, err
		}
		if len(vals) > 0 {
			req.Attribute(k.member.attr, vals)
		}
	case len(ids) > 0:
		return nil, errNoMembers()
	}
	return &addPlan{req: req, dn: dn, written: written, refIDs: a.refIDs, members: memberIDs, enable: a.enable}, nil
}

func nonEmpty(vals []string) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// dedupe drops exact repeats: a directory refuses a value given twice.
func dedupe(vals []string) []string {
	seen := make(map[string]bool, len(vals))
	out := vals[:0:0]
	for _, v := range vals {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func hasFold(m map[string][]string, name string) bool {
	return valuesFold(m, name) != nil
}

func valuesFold(m map[string][]string, name string) []string {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// refDNs converts ids of a reference attribute to DNs. An unknown id is
// invalid when strict (writing it would store a dangling reference) and
// dropped otherwise (removing it changes nothing).
func (b *Backend) refDNs(c *conn, a backends.AttrSchema, ids []string, strict bool) ([]string, error) {
	ref, err := b.layout(a.Ref)
	if err != nil {
		return nil, err
	}
	dns, err := b.dnsForIDs(c, ids, ref)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		dn, ok := dns[id]
		if !ok {
			if strict {
				return nil, &backends.InvalidError{Attr: a.Name, Reason: fmt.Sprintf("no %s has id %q", strings.ToLower(string(a.Ref)), id)}
			}
			continue
		}
		out = append(out, dn)
	}
	return out, nil
}

// checkUnique looks for another entry of kind k holding a value of one of
// the mapping's unique attributes in attrs, with one equality search.
func (b *Backend) checkUnique(c *conn, k *kindLayout, attrs map[string][]string, self string) error {
	var terms []string
	var uniq []string
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		a, ok := k.attr(name)
		if !ok || !a.Unique || a.Ref != "" {
			continue
		}
		vals := nonEmpty(attrs[name])
		if len(vals) == 0 {
			continue
		}
		uniq = append(uniq, name)
		for _, v := range vals {
			terms = append(terms, "("+name+"="+goldap.EscapeFilter(v)+")")
		}
	}
	if len(terms) == 0 {
		return nil
	}
	f := "(&" + k.classFilter + "(|" + strings.Join(terms, "") + ")"
	if self != "" {
		if idf, ok := k.idFilter(self); ok {
			f += "(!" + idf + ")"
		}
	}
	f += ")"
	res, err := c.search(goldap.NewSearchRequest(k.searchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 0, false,
		f, append([]string{k.idAttr}, uniq...), nil))
	if err != nil && resultCode(err) != int(goldap.LDAPResultSizeLimitExceeded) {
		return classify("uniqueness check", err, nil)
	}
	if res == nil || len(res.Entries) == 0 {
		return nil
	}
	e := res.Entries[0]
	attr := uniq[0]
	// Name the attribute whose value the holder has, in precedence of the
	// mapping order (a folded comparison stands in for the matching rule).
found:
	for _, name := range uniq {
		for _, have := range e.GetEqualFoldAttributeValues(name) {
			for _, v := range attrs[name] {
				if foldValue(have) == foldValue(v) {
					attr = name
					break found
				}
			}
		}
	}
	return fmt.Errorf("ldap: %s is taken: %w", attr, &backends.ConflictError{Attr: attr, ID: k.entryID(e)})
}

// randomPassword is 32 characters from crypto/rand with at least one
// upper-case letter, lower-case letter, digit and symbol, so that it meets
// Active Directory's complexity rules and any length policy up to 32.
func randomPassword() (string, error) {
	const (
		upper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower  = "abcdefghijkmnopqrstuvwxyz"
		digits = "23456789"
		symbol = "!#%+-.:=?@_~"
		n      = 32
	)
	classes := []string{upper, lower, digits, symbol}
	all := upper + lower + digits + symbol
	buf := make([]byte, 2*n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("ldap: random password: %w", err)
	}
	out := make([]byte, n)
	for i := range out {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		out[i] = set[int(buf[i])%len(set)]
	}
	// Spread the four fixed-class characters (Fisher-Yates on the rest of
	// the random bytes; the small modulo bias does not matter here).
	for i := n - 1; i > 0; i-- {
		j := int(buf[n+i]) % (i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

// encodePassword is the value written to attr: Active Directory's
// unicodePwd wants the password in double quotes, UTF-16LE encoded; any
// other attribute gets the text.
func encodePassword(attr, pw string) string {
	if !strings.EqualFold(attr, "unicodePwd") {
		return pw
	}
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return string(b)
}
