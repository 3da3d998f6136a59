package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"
)

// These tests replay Entra's catalogue through HTTP → mapping → a real
// slapd (scripts/slapd-start.sh) with the shipped OpenLDAP mapping, and read
// the directory back with a plain LDAP client: DNs, attributes, member
// values and the disabled state, not only the HTTP answers.

// ldapStack is the bridge on a fresh subtree of the test directory, plus an
// admin connection to read it.
type ldapStack struct {
	*stack
	conn *goldap.Conn
	base string // the test's own suffix: ou=e2e-…,dc=example,dc=org
}

func newLDAPStack(t testing.TB) *ldapStack {
	t.Helper()
	return newDirectoryStack(t, "SCIMBRIDGE_LDAP", "slapd", "configs/mappings/entra-to-openldap.yaml")
}

// newDirectoryStack is the bridge on a fresh subtree (ou=e2e-…, with
// ou=people and ou=groups) of the test directory whose start script
// exported prefix_URL, _BIND_DN, _PASSWORD and _BASE_DN, with the given
// mapping; the subtree is removed when the test ends.
func newDirectoryStack(t testing.TB, prefix, name, mappingFile string) *ldapStack {
	t.Helper()
	d := newDirectorySubtree(t, prefix, name)
	return &ldapStack{stack: newBridge(t, d.backend(), mappingFile), conn: d.conn, base: d.base}
}

// directorySubtree is a fresh subtree of a test directory and an admin
// connection to it.
type directorySubtree struct {
	conn                  *goldap.Conn
	url, bindDN, password string
	base                  string // ou=e2e-…,<suffix>, with ou=people and ou=groups
}

// backend is the tenant's backend block for the subtree (YAML flow form).
func (d directorySubtree) backend() string {
	return fmt.Sprintf(`{ type: ldap, config: { url: '%s', bindDN: '%s', password: '%s', baseDN: '%s', timeout: 10s } }`,
		d.url, d.bindDN, d.password, d.base)
}

// newDirectorySubtree makes ou=e2e-… (with ou=people and ou=groups) in the
// test directory whose start script exported prefix_URL, _BIND_DN,
// _PASSWORD and _BASE_DN, and removes it when the test ends.
func newDirectorySubtree(t testing.TB, prefix, name string) directorySubtree {
	t.Helper()
	url, bindDN, password, suffix := os.Getenv(prefix+"_URL"), os.Getenv(prefix+"_BIND_DN"),
		os.Getenv(prefix+"_PASSWORD"), os.Getenv(prefix+"_BASE_DN")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s_URL is not set, and CI must test %s: run `make test`", prefix, name)
		}
		t.Skipf("%s_URL is not set: `make test` starts %s and sets it", prefix, name)
	}
	conn, err := goldap.DialURL(url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.Bind(bindDN, password))

	var r [4]byte
	_, _ = rand.Read(r[:])
	base := "ou=e2e-" + hex.EncodeToString(r[:]) + "," + suffix
	for _, dn := range []string{base, "ou=people," + base, "ou=groups," + base} {
		add := goldap.NewAddRequest(dn, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "ou=")})
		require.NoError(t, conn.Add(add))
	}
	t.Cleanup(func() { deleteSubtree(t, conn, base) })
	return directorySubtree{conn: conn, url: url, bindDN: bindDN, password: password, base: base}
}

func deleteSubtree(t testing.TB, conn *goldap.Conn, base string) {
	res, err := conn.Search(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	if err != nil {
		t.Logf("cleanup of %s: %v", base, err)
		return
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	sort.Slice(dns, func(i, j int) bool { return len(dns[i]) > len(dns[j]) }) // children first
	for _, dn := range dns {
		_ = conn.Del(goldap.NewDelRequest(dn, nil))
	}
}

// entry reads one entry under the test base by an equality filter.
func (s *ldapStack) entry(attr, value string) *goldap.Entry {
	s.t.Helper()
	es := s.entries(fmt.Sprintf("(%s=%s)", attr, goldap.EscapeFilter(value)))
	require.Len(s.t, es, 1, "entries with %s=%s", attr, value)
	return es[0]
}

func (s *ldapStack) entries(filter string) []*goldap.Entry {
	s.t.Helper()
	res, err := s.conn.Search(goldap.NewSearchRequest(s.base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		filter, []string{"*", "entryUUID"}, nil))
	require.NoError(s.t, err)
	return res.Entries
}

func TestLDAPEntraUserLifecycle(t *testing.T) {
	s := newLDAPStack(t)
	// Probe.
	a := s.must(200, "GET", "/Users?filter=userName+eq+%22"+probeGUID+"%22", nil)
	require.Empty(t, resources(t, a))

	create := fixture(t, "create-user")
	upn := create["userName"].(string)
	a = s.must(201, "POST", "/Users", create)
	id := a.body["id"].(string)
	e := s.entry("uid", upn)
	require.Equal(t, id, e.GetAttributeValue("entryUUID"), "the SCIM id is the entryUUID")
	require.Equal(t, "uid="+upn+",ou=people,"+s.base, e.DN)
	require.Equal(t, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", e.GetAttributeValue("scimExternalId"))
	require.Equal(t, "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com", e.GetAttributeValue("mail"))
	require.Equal(t, "givenName", e.GetAttributeValue("givenName"))
	require.Equal(t, "familyName", e.GetAttributeValue("sn"))
	require.Equal(t, "TRUE", e.GetAttributeValue("scimActive"))
	require.Subset(t, e.GetAttributeValues("objectClass"), []string{"inetOrgPerson", "scimBridgeUser"})

	// The same POST again: same id, one entry. Another externalId with the
	// same userName in other case: 409, and the filter sees the user.
	require.Equal(t, id, s.must(201, "POST", "/Users", create).body["id"])
	other := fixture(t, "create-user")
	other["externalId"], other["userName"] = "other", strings.ToUpper(upn)
	require.Equal(t, "uniqueness", s.must(409, "POST", "/Users", other).body["scimType"])
	a = s.must(200, "GET", "/Users"+filterQ(`userName eq "`+strings.ToUpper(upn)+`"`), nil)
	require.Len(t, resources(t, a), 1)
	a = s.must(200, "GET", "/Users?filter=externalId+eq+0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", nil)
	require.Len(t, resources(t, a), 1)
	require.Len(t, s.entries("(objectClass=inetOrgPerson)"), 1)

	// Manager: stored as the manager's DN, answered as its id.
	mgr := s.must(201, "POST", "/Users", fixture(t, "create-user-nulls")).body["id"].(string)
	// An id the directory does not know is a 400 naming the manager.
	a = s.must(400, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-manager-string"))
	require.Contains(t, a.body["detail"], "manager")
	patchManager := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": mgr}}}
	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), patchManager)
	require.Equal(t, "uid=jyoung@testuser.com,ou=people,"+s.base, s.entry("uid", upn).GetAttributeValue("manager"))
	a = s.must(200, "GET", "/Users"+filterQ(`id eq "`+id+`" and manager eq "`+mgr+`"`)+"&attributes=id", nil)
	require.Len(t, resources(t, a), 1)
	a = s.must(200, "GET", "/Users/"+url.PathEscape(id), nil)
	require.Equal(t, map[string]any{"value": mgr}, a.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)["manager"])

	// Updates (§2.5, §2.17).
	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-user-multi"))
	e = s.entry("uid", upn)
	require.Equal(t, "updatedEmail@microsoft.com", e.GetAttributeValue("mail"))
	require.Equal(t, "updatedFamilyName", e.GetAttributeValue("sn"))
	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-replace-multiple-flag"))
	e = s.entry("uid", upn)
	require.Equal(t, []string{"Bjfe", "Kkom", "Unua", "Aklq"},
		[]string{e.GetAttributeValue("displayName"), e.GetAttributeValue("givenName"), e.GetAttributeValue("sn"), e.GetAttributeValue("employeeNumber")})

	// Soft delete and re-enable: the entry stays, scimActive flips, GET and filters still find it.
	for _, c := range []struct{ fixture, want string }{
		{"patch-disable-user-string", "FALSE"}, {"patch-enable-user-string", "TRUE"}, {"patch-disable-user", "FALSE"},
	} {
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, c.fixture))
		require.Equal(t, c.want, s.entry("uid", upn).GetAttributeValue("scimActive"), c.fixture)
	}
	require.Equal(t, false, s.must(200, "GET", "/Users/"+url.PathEscape(id), nil).body["active"])

	// Rename the UPN: the RDN changes (ModifyDN), the id does not.
	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-user-username"))
	newUPN := "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
	e = s.entry("uid", newUPN)
	require.Equal(t, "uid="+newUPN+",ou=people,"+s.base, e.DN)
	require.Equal(t, id, e.GetAttributeValue("entryUUID"))
	require.Empty(t, s.entries("(uid="+goldap.EscapeFilter(upn)+")"))

	// Hard delete.
	s.must(204, "DELETE", "/Users/"+url.PathEscape(id), nil)
	s.must(404, "GET", "/Users/"+url.PathEscape(id), nil)
	require.Empty(t, s.entries("(entryUUID="+id+")"))
}

func TestLDAPEntraGroupLifecycle(t *testing.T) {
	s := newLDAPStack(t)
	var users, dns []string
	for i := range 3 {
		u := fixture(t, "create-user")
		u["externalId"], u["userName"] = fmt.Sprintf("ext-%d", i), fmt.Sprintf("member%d@contoso.com", i)
		users = append(users, s.must(201, "POST", "/Users", u).body["id"].(string))
		dns = append(dns, fmt.Sprintf("uid=member%d@contoso.com,ou=people,%s", i, s.base))
	}
	placeholder := "cn=empty-membership-placeholder," + s.base
	members := func() []string {
		e := s.entry("cn", "dm_group_a")
		v := e.GetAttributeValues("member")
		slices.Sort(v)
		return v
	}

	a := s.must(201, "POST", "/Groups", fixture(t, "create-group-empty-members"))
	gid := a.body["id"].(string)
	e := s.entry("cn", "dm_group_a")
	require.Equal(t, "cn=dm_group_a,ou=groups,"+s.base, e.DN)
	require.Equal(t, gid, e.GetAttributeValue("entryUUID"))
	require.Equal(t, []string{placeholder}, members(), "an empty groupOfNames holds the placeholder")
	require.NotContains(t, s.must(200, "GET", "/Groups/"+url.PathEscape(gid), nil).raw, "placeholder", "the placeholder is never a SCIM member")

	patch := func(ops ...map[string]any) {
		t.Helper()
		s.must(204, "PATCH", "/Groups/"+url.PathEscape(gid), map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops})
	}
	ref := func(ids ...string) []any {
		out := []any{}
		for _, id := range ids {
			out = append(out, map[string]any{"$ref": nil, "value": id})
		}
		return out
	}
	patch(map[string]any{"op": "Add", "path": "members", "value": ref(users...)})
	require.Equal(t, dns, members(), "member DNs, placeholder gone")
	patch(map[string]any{"op": "Add", "path": "members", "value": ref(users[0])})
	require.Equal(t, dns, members(), "adding a present member is a success")

	a = s.must(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "DM_GROUP_A"`), nil)
	require.Len(t, resources(t, a), 1)
	require.NotContains(t, resources(t, a)[0], "members")
	a = s.must(200, "GET", "/Groups/"+url.PathEscape(gid), nil)
	require.Len(t, a.body["members"], 3)

	patch(map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": users[0]}}})
	require.Equal(t, dns[1:], members())
	patch(map[string]any{"op": "remove", "path": `members[value eq "` + users[1] + `"]`})
	require.Equal(t, dns[2:], members())
	patch(map[string]any{"op": "Remove", "path": "members", "value": ref(users[0])})
	require.Equal(t, dns[2:], members(), "removing an absent member is a success")
	patch(map[string]any{"op": "Remove", "path": "members"})
	require.Equal(t, []string{placeholder}, members(), "the last member leaving brings the placeholder back")

	// Rename (§2.12): the RDN follows, the id stays.
	patch(map[string]any{"op": "Add", "path": "members", "value": ref(users...)})
	patch(map[string]any{"op": "Replace", "path": "displayName", "value": "renamed"})
	e = s.entry("cn", "renamed")
	require.Equal(t, "cn=renamed,ou=groups,"+s.base, e.DN)
	require.Equal(t, gid, e.GetAttributeValue("entryUUID"))

	// A user deleted while in the group leaves it.
	s.must(204, "DELETE", "/Users/"+url.PathEscape(users[0]), nil)
	got := s.entry("cn", "renamed").GetAttributeValues("member")
	require.NotContains(t, got, dns[0])
	require.Len(t, got, 2)

	s.must(204, "DELETE", "/Groups/"+url.PathEscape(gid), nil)
	s.must(404, "GET", "/Groups/"+url.PathEscape(gid), nil)
	require.Empty(t, s.entries("(cn=renamed)"))
}

// An entry that existed before the bridge is found by userName, linked by
// Entra's PATCH of externalId, and never duplicated.
func TestLDAPPreExistingEntryIsLinked(t *testing.T) {
	s := newLDAPStack(t)
	dn := "uid=bob@contoso.com,ou=people," + s.base
	add := goldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"bob@contoso.com"})
	add.Attribute("cn", []string{"Bob"})
	add.Attribute("sn", []string{"Builder"})
	add.Attribute("mail", []string{"bob@contoso.com"})
	require.NoError(t, s.conn.Add(add))

	a := s.must(200, "GET", "/Users"+filterQ(`userName eq "BOB@contoso.com"`), nil)
	require.Len(t, resources(t, a), 1)
	id := resources(t, a)[0]["id"].(string)
	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "Replace", "path": "externalId", "value": "obj-bob"}},
	})
	e := s.entry("uid", "bob@contoso.com")
	require.Equal(t, "obj-bob", e.GetAttributeValue("scimExternalId"))
	require.Contains(t, e.GetAttributeValues("objectClass"), "scimBridgeUser")
	a = s.must(201, "POST", "/Users", map[string]any{"externalId": "obj-bob", "userName": "bob@contoso.com",
		"name":   map[string]any{"familyName": "Builder"},
		"emails": []any{map[string]any{"type": "work", "value": "bob@contoso.com", "primary": true}}})
	require.Equal(t, id, a.body["id"])
	require.Len(t, s.entries("(objectClass=inetOrgPerson)"), 1)
}

// Filter values and DNs with LDAP syntax characters are data.
func TestLDAPHostileValues(t *testing.T) {
	s := newLDAPStack(t)
	names := []string{`o"brien@x.com`, `a*@x.com`, `(cn=*)`, `back\slash@x.com`, `comma,plus+@x.com`, `#hash@x.com`, `é@ünïcode.test`}
	for i, n := range names {
		u := fixture(t, "create-user")
		u["externalId"], u["userName"] = fmt.Sprintf("h%d", i), n
		s.must(201, "POST", "/Users", u)
	}
	for _, n := range names {
		esc := strings.ReplaceAll(strings.ReplaceAll(n, `\`, `\\`), `"`, `\"`)
		a := s.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+esc+`"`), nil)
		require.Len(t, resources(t, a), 1, n)
		require.Equal(t, n, resources(t, a)[0]["userName"])
		require.Equal(t, n, s.entry("uid", n).GetAttributeValue("uid"))
	}
	a := s.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName sw "a*"`), nil)
	require.Len(t, resources(t, a), 1)
	require.Len(t, s.entries("(objectClass=inetOrgPerson)"), len(names))

	// The directory folds case and inner spaces: a userName that differs
	// only so is the same key, answered 409 (never a second entry), and the
	// filter Entra sends next finds the first.
	u := fixture(t, "create-user")
	u["externalId"], u["userName"] = "sp-1", "Alice  Case@x.com"
	s.must(201, "POST", "/Users", u)
	u["externalId"], u["userName"] = "sp-2", "alice case@x.com"
	require.Equal(t, "uniqueness", s.must(409, "POST", "/Users", u).body["scimType"])
	a = s.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "alice case@x.com"`), nil)
	require.Len(t, resources(t, a), 1)
	require.Len(t, s.entries("(objectClass=inetOrgPerson)"), len(names)+1)
}
