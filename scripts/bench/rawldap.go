package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	goldap "github.com/go-ldap/ldap/v3"
)

// directory is one run's own subtree of the test directory:
//
//	ou=bench-<store>-<random>,<suffix>
//	  ou=people, ou=groups          the bridge's (the shipped mapping's parents)
//	  ou=raw-people, ou=raw-groups  what the raw go-ldap client writes
//
// so that the two state-store runs, and the bridge and the raw client,
// never see each other's entries, while all of them share one slapd, one
// database and its indexes.
type directory struct {
	url, bindDN, password string
	base                  string
	people, groups        string
	rawPeople, rawGroups  string

	mu    sync.Mutex
	admin *goldap.Conn
}

func dialLDAP(url, bindDN, password string) (*goldap.Conn, error) {
	c, err := goldap.DialURL(url)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	if err := c.Bind(bindDN, password); err != nil {
		c.Close()
		return nil, fmt.Errorf("bind %s as %s: %w", url, bindDN, err)
	}
	return c, nil
}

// newDirectory creates a fresh subtree for the run of one state store.
func newDirectory(s *servers, store string) (*directory, error) {
	c, err := dialLDAP(s.ldapURL, s.bindDN, s.password)
	if err != nil {
		return nil, err
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	base := "ou=bench-" + store + "-" + hex.EncodeToString(r[:]) + "," + s.suffix
	d := &directory{url: s.ldapURL, bindDN: s.bindDN, password: s.password, base: base, admin: c,
		people: "ou=people," + base, groups: "ou=groups," + base,
		rawPeople: "ou=raw-people," + base, rawGroups: "ou=raw-groups," + base}
	for _, dn := range []string{base, d.people, d.groups, d.rawPeople, d.rawGroups} {
		add := goldap.NewAddRequest(dn, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "ou=")})
		if err := c.Add(add); err != nil {
			c.Close()
			return nil, fmt.Errorf("create %s: %w", dn, err)
		}
	}
	return d, nil
}

func (d *directory) dial() (*goldap.Conn, error) { return dialLDAP(d.url, d.bindDN, d.password) }

// close removes the subtree when remove is set (a directory the run did
// not start itself), children first, and closes the admin connection.
func (d *directory) close(remove bool, log io.Writer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.admin.Close()
	if !remove {
		return
	}
	res, err := d.admin.SearchWithPaging(goldap.NewSearchRequest(d.base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil), 1000)
	if err != nil {
		fmt.Fprintf(log, "bench: removing %s: %v\n", d.base, err)
		return
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	// Children first: a child's DN is longer than its parent's.
	slices.SortFunc(dns, func(a, b string) int { return len(b) - len(a) })
	for _, dn := range dns {
		if err := d.admin.Del(goldap.NewDelRequest(dn, nil)); err != nil {
			fmt.Fprintf(log, "bench: removing %s: %v\n", dn, err)
		}
	}
}

// entry reads one entry by an equality filter under base, with every user
// attribute and entryUUID.
func (d *directory) entry(base, attr, value string) (*goldap.Entry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	res, err := d.admin.Search(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 0, false,
		"("+attr+"="+goldap.EscapeFilter(value)+")", []string{"*", "entryUUID"}, nil))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("%d entries with %s=%s under %s", len(res.Entries), attr, value, base)
	}
	return res.Entries[0], nil
}

// entryByID reads the entry whose entryUUID is id under base.
func (d *directory) entryByID(base, id string, attrs ...string) (*goldap.Entry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	res, err := d.admin.Search(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 0, false,
		"(entryUUID="+goldap.EscapeFilter(id)+")", attrs, nil))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("%d entries with entryUUID=%s under %s", len(res.Entries), id, base)
	}
	return res.Entries[0], nil
}

// userReadAttrs are the attributes the LDAP backend asks for when it reads
// a user with the shipped OpenLDAP mapping (backends/ldap readAttrs: the
// mapped ones, the id, objectClass and the timestamps), so that the raw
// search returns as much as the bridge's.
var userReadAttrs = []string{
	"scimExternalId", "uid", "mail", "givenName", "sn", "displayName", "title", "cn", "scimActive",
	"telephoneNumber", "mobile", "facsimileTelephoneNumber", "departmentNumber", "employeeNumber", "manager",
	"entryUUID", "objectClass", "createTimestamp", "modifyTimestamp",
}

// rawSearchLimit is the size limit of the backend's filtered read
// (backends/ldap quickLimit).
const rawSearchLimit = 100

// userSearch is the search the LDAP backend sends for
// GET /Users?filter=userName eq "<uid>".
func userSearch(base, uid string) *goldap.SearchRequest {
	return goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, rawSearchLimit, 0, false,
		"(&(objectClass=inetOrgPerson)(uid="+goldap.EscapeFilter(uid)+"))", userReadAttrs, nil)
}

// rawTemplate is a user entry as the bridge wrote it, from which raw Adds
// of the same shape (object classes, attributes, value sizes) are made: the
// entry's values that hold the user's unique token get the raw user's.
type rawTemplate struct {
	token string
	attrs []goldap.Attribute
}

// operational attributes slapd adds itself; a raw Add must not send them.
var operational = map[string]bool{
	"entryuuid": true, "entrycsn": true, "creatorsname": true, "createtimestamp": true,
	"modifiersname": true, "modifytimestamp": true, "structuralobjectclass": true,
	"subschemasubentry": true, "hassubordinates": true, "entrydn": true,
}

func newRawTemplate(e *goldap.Entry, token string) *rawTemplate {
	t := &rawTemplate{token: token}
	for _, a := range e.Attributes {
		if operational[strings.ToLower(a.Name)] {
			continue
		}
		t.attrs = append(t.attrs, goldap.Attribute{Type: a.Name, Vals: slices.Clone(a.Values)})
	}
	return t
}

// add is the raw Add of the user with token tok under parent.
func (t *rawTemplate) add(parent, tok string) *goldap.AddRequest {
	add := goldap.NewAddRequest("uid="+goldap.EscapeDN(userName(tok))+","+parent, nil)
	for _, a := range t.attrs {
		vals := make([]string, len(a.Vals))
		for i, v := range a.Vals {
			vals[i] = strings.ReplaceAll(v, t.token, tok)
		}
		add.Attribute(a.Type, vals)
	}
	return add
}

// describe lists the template's attributes, for the report.
func (t *rawTemplate) describe() []string {
	out := make([]string, 0, len(t.attrs))
	for _, a := range t.attrs {
		if strings.EqualFold(a.Type, "objectClass") {
			out = append(out, "objectClass="+strings.Join(a.Vals, ","))
			continue
		}
		out = append(out, a.Type)
	}
	return out
}

// rawModify is the raw equivalent of the bridge's PATCH replacing
// displayName and title: the two attributes and cn, which the shipped
// mapping computes from the display name.
func rawModify(dn, displayName, title string) *goldap.ModifyRequest {
	m := goldap.NewModifyRequest(dn, nil)
	m.Replace("displayName", []string{displayName})
	m.Replace("title", []string{title})
	m.Replace("cn", []string{displayName})
	return m
}
