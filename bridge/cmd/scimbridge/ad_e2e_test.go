package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// These tests replay Entra's catalogue through HTTP → mapping → a real
// Samba AD domain controller (scripts/samba-start.sh) over LDAPS with the
// shipped Active Directory mapping, and read the directory back with a
// plain LDAP client: objectGUID ids, userAccountControl bits, the
// password set before enabling, sAMAccountName, member DNs and renames.

// adStack is the bridge on a fresh OU of the test domain (with a CN=Users
// container, where the mapping puts users and groups), plus an LDAPS
// connection as Administrator to read it.
type adStack struct {
	*stack
	conn *goldap.Conn
	base string // OU=e2e-…,DC=test,DC=example,DC=org
	tag  string // random, for names that are unique in the whole domain
	// backend is the tenant's backend block, for a second replica or a
	// variant of the mapping.
	backend string
}

// adTLS is the TLS configuration trusting the test DC's own CA.
func adTLS(t testing.TB, caFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem), "no certificate in %s", caFile)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func newADStack(t testing.TB) *adStack {
	t.Helper()
	d := newADSubtree(t)
	return &adStack{stack: newBridge(t, d.backend, "configs/mappings/entra-to-active-directory.yaml"), conn: d.conn, base: d.base, tag: d.tag, backend: d.backend}
}

// adSubtree is a fresh OU of the test domain with a CN=Users container
// (where the AD mapping puts users and groups), an LDAPS connection to it
// as Administrator, and the environment the AD configuration reads.
type adSubtree struct {
	conn                               *goldap.Conn
	base, tag, backend                 string
	ldapsURL, caFile, bindDN, password string
}

func newADSubtree(t testing.TB) adSubtree {
	t.Helper()
	ldapsURL, caFile := os.Getenv("SCIMBRIDGE_AD_LDAPS_URL"), os.Getenv("SCIMBRIDGE_AD_CA_FILE")
	bindDN, password, suffix := os.Getenv("SCIMBRIDGE_AD_BIND_DN"), os.Getenv("SCIMBRIDGE_AD_PASSWORD"), os.Getenv("SCIMBRIDGE_AD_BASE_DN")
	if ldapsURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SCIMBRIDGE_AD_LDAPS_URL is not set, and CI must test Active Directory: run `make test` (scripts/samba-start.sh)")
		}
		t.Skip("SCIMBRIDGE_AD_LDAPS_URL is not set: `make test` starts a Samba AD DC and sets it")
	}
	conn, err := goldap.DialURL(ldapsURL, goldap.DialWithTLSConfig(adTLS(t, caFile)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.Bind(bindDN, password))

	var r [4]byte
	_, _ = rand.Read(r[:])
	tag := hex.EncodeToString(r[:])
	base := "OU=e2e-" + tag + "," + suffix
	add := goldap.NewAddRequest(base, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	require.NoError(t, conn.Add(add))
	add = goldap.NewAddRequest("CN=Users,"+base, nil)
	add.Attribute("objectClass", []string{"container"})
	require.NoError(t, conn.Add(add))
	t.Cleanup(func() { deleteSubtree(t, conn, base) })

	backend := fmt.Sprintf(`{ type: ldap, config: { url: '%s', caFile: '%s', bindDN: '%s', password: '%s', baseDN: '%s', timeout: 10s } }`,
		ldapsURL, caFile, bindDN, password, base)
	return adSubtree{conn: conn, base: base, tag: tag, backend: backend, ldapsURL: ldapsURL, caFile: caFile, bindDN: bindDN, password: password}
}

// byGUID reads the entry whose objectGUID is the SCIM id, with AD's
// <GUID=…> base search, which also proves the id is the GUID in AD's
// string form.
func (s *adStack) byGUID(id string) *goldap.Entry {
	s.t.Helper()
	res, err := s.conn.Search(goldap.NewSearchRequest("<GUID="+id+">", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*", "pwdLastSet"}, nil))
	require.NoError(s.t, err, "<GUID=%s>", id)
	require.Len(s.t, res.Entries, 1)
	return res.Entries[0]
}

// guidOf renders an entry's objectGUID as Windows does.
func guidOf(t testing.TB, e *goldap.Entry) string {
	t.Helper()
	raw := e.GetRawAttributeValue("objectGUID")
	require.Len(t, raw, 16)
	var u uuid.UUID
	copy(u[:], raw)
	u[0], u[1], u[2], u[3] = raw[3], raw[2], raw[1], raw[0]
	u[4], u[5] = raw[5], raw[4]
	u[6], u[7] = raw[7], raw[6]
	return u.String()
}

func uac(t testing.TB, e *goldap.Entry) int64 {
	t.Helper()
	n, err := strconv.ParseInt(e.GetAttributeValue("userAccountControl"), 10, 64)
	require.NoError(t, err)
	return n
}

func (s *adStack) patchUser(id string, ops ...map[string]any) {
	s.t.Helper()
	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops})
}

func TestADEntraUserLifecycle(t *testing.T) {
	s := newADStack(t)
	a := s.must(200, "GET", "/Users?filter=userName+eq+%22"+probeGUID+"%22", nil)
	require.Empty(t, resources(t, a))

	create := fixture(t, "create-user")
	local := "Test_User_" + s.tag + "_long_name"
	upn := local + "@testuser.com"
	create["userName"] = upn
	id := s.must(201, "POST", "/Users", create).body["id"].(string)
	e := s.byGUID(id)
	require.Equal(t, id, guidOf(t, e), "the SCIM id is the objectGUID in AD's string form")
	require.Equal(t, "CN=givenName familyName,CN=Users,"+s.base, e.DN)
	require.Equal(t, upn, e.GetAttributeValue("userPrincipalName"))
	require.Equal(t, local[:20], e.GetAttributeValue("sAMAccountName"), "the UPN's local part, 20 characters")
	require.Equal(t, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", e.GetAttributeValue("employeeNumber"))
	require.Equal(t, int64(512), uac(t, e), "created disabled with a password, then enabled: NORMAL_ACCOUNT only")
	require.NotEqual(t, "0", e.GetAttributeValue("pwdLastSet"), "a password was set")
	require.Contains(t, e.GetAttributeValues("objectClass"), "user")

	// The same POST again: same id. Another user whose UPN starts with
	// the same 20 characters collides on sAMAccountName, which is no SCIM
	// key: created with the mapping's next candidate, never a 409.
	require.Equal(t, id, s.must(201, "POST", "/Users", create).body["id"])
	other := fixture(t, "create-user")
	other["externalId"], other["userName"], other["displayName"] = "other-ext", "Test_User_"+s.tag+"_long_twin@testuser.com", "Twin"
	tid := s.must(201, "POST", "/Users", other).body["id"].(string)
	require.Equal(t, local[:15]+"other", s.byGUID(tid).GetAttributeValue("sAMAccountName"))
	// So is a rename of another user into those 20 characters.
	second := fixture(t, "create-user")
	second["externalId"], second["userName"], second["displayName"] = "second", "second-"+s.tag+"@testuser.com", "Second "+s.tag
	sid := s.must(201, "POST", "/Users", second).body["id"].(string)
	s.must(200, "PATCH", "/Users/"+url.PathEscape(sid), map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "Replace", "path": "userName", "value": local + "_other@testuser.com"}}})
	require.Equal(t, local[:15]+"secon", s.byGUID(sid).GetAttributeValue("sAMAccountName"))

	// Disable and enable flip bit 2 only: a flag set by someone else stays.
	mod := goldap.NewModifyRequest(e.DN, nil)
	mod.Replace("userAccountControl", []string{"66048"}) // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
	require.NoError(t, s.conn.Modify(mod))
	for _, c := range []struct {
		fixture string
		want    int64
	}{
		{"patch-disable-user-string", 66050}, {"patch-enable-user-string", 66048}, {"patch-disable-user", 66050},
	} {
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, c.fixture))
		require.Equal(t, c.want, uac(t, s.byGUID(id)), c.fixture)
	}
	require.Equal(t, false, s.must(200, "GET", "/Users/"+url.PathEscape(id), nil).body["active"])
	a = s.must(200, "GET", "/Users"+filterQ(`userName eq "`+upn+`" and active eq false`), nil)
	require.Len(t, resources(t, a), 1)
	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-enable-user-string"))

	// Manager set, then removed.
	mgrBody := fixture(t, "create-user-nulls")
	mgrBody["userName"], mgrBody["externalId"] = "jyoung-"+s.tag+"@testuser.com", "jyoung-"+s.tag
	mgr := s.must(201, "POST", "/Users", mgrBody).body["id"].(string)
	const mgrPath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
	s.patchUser(id, map[string]any{"op": "add", "path": mgrPath, "value": mgr})
	require.Equal(t, "CN=Joy Young,CN=Users,"+s.base, s.byGUID(id).GetAttributeValue("manager"))
	a = s.must(200, "GET", "/Users/"+url.PathEscape(id), nil)
	require.Equal(t, map[string]any{"value": mgr}, a.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)["manager"])
	s.patchUser(id, map[string]any{"op": "remove", "path": mgrPath})
	require.Empty(t, s.byGUID(id).GetAttributeValues("manager"))

	// A new display name renames the entry (ModifyDN, deleteoldrdn);
	// the GUID stays. employeeID takes Entra's employeeId.
	s.must(200, "PATCH", "/Users/"+url.PathEscape(id), fixture(t, "patch-replace-multiple-flag"))
	e = s.byGUID(id)
	require.Equal(t, "CN=Bjfe,CN=Users,"+s.base, e.DN)
	require.Equal(t, []string{"Bjfe"}, e.GetAttributeValues("cn"), "the old RDN value is gone")
	require.Equal(t, "Aklq", e.GetAttributeValue("employeeID"))
	require.Equal(t, "TestMhvaes@test.microsoft.com", e.GetAttributeValue("mail"))

	// A new UPN: sAMAccountName follows.
	newUPN := "renamed-" + s.tag + "@testuser.com"
	s.patchUser(id, map[string]any{"op": "Replace", "path": "userName", "value": newUPN})
	e = s.byGUID(id)
	require.Equal(t, newUPN, e.GetAttributeValue("userPrincipalName"))
	require.Equal(t, "renamed-"+s.tag, e.GetAttributeValue("sAMAccountName"))

	// DELETE disables (onDelete: disable): the account stays, bit 2 set
	// and marked, and is gone for SCIM.
	s.must(204, "DELETE", "/Users/"+url.PathEscape(id), nil)
	require.Equal(t, int64(66050), uac(t, s.byGUID(id)))
	require.Equal(t, "scimbridge: deprovisioned", s.byGUID(id).GetAttributeValue("adminDescription"))
	s.must(404, "GET", "/Users/"+url.PathEscape(id), nil)
}

func TestADEntraGroupLifecycle(t *testing.T) {
	s := newADStack(t)
	var users, dns []string
	for i := range 3 {
		u := fixture(t, "create-user")
		u["externalId"], u["userName"], u["displayName"] = fmt.Sprintf("ext-%d", i), fmt.Sprintf("m%d-%s@contoso.com", i, s.tag), fmt.Sprintf("Member %d", i)
		users = append(users, s.must(201, "POST", "/Users", u).body["id"].(string))
		dns = append(dns, fmt.Sprintf("CN=Member %d,CN=Users,%s", i, s.base))
	}
	members := func(gid string) []string {
		v := s.byGUID(gid).GetAttributeValues("member")
		slices.Sort(v)
		return v
	}
	name := "dm_group_" + s.tag
	body := fixture(t, "create-group-empty-members")
	body["displayName"] = name
	gid := s.must(201, "POST", "/Groups", body).body["id"].(string)
	e := s.byGUID(gid)
	require.Equal(t, gid, guidOf(t, e))
	require.Equal(t, "CN="+name+",CN=Users,"+s.base, e.DN)
	require.Equal(t, "-2147483646", e.GetAttributeValue("groupType"), "a global security group")
	require.Equal(t, name, e.GetAttributeValue("sAMAccountName"))
	require.Equal(t, "555fb2ba-9254-4921-bce8-2ef9b630e36d", e.GetAttributeValue("adminDescription"))
	require.Empty(t, members(gid), "AD groups may be empty")

	patch := func(ops ...map[string]any) {
		t.Helper()
		s.must(204, "PATCH", "/Groups/"+url.PathEscape(gid), map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops})
	}
	ref := func(ids ...string) []any {
		out := []any{}
		for _, id := range ids {
			out = append(out, map[string]any{"value": id})
		}
		return out
	}
	patch(map[string]any{"op": "Add", "path": "members", "value": ref(users...)})
	require.Equal(t, dns, members(gid))
	require.Equal(t, []string{"CN=" + name + ",CN=Users," + s.base}, s.byGUID(users[0]).GetAttributeValues("memberOf"))
	patch(map[string]any{"op": "Add", "path": "members", "value": ref(users[0])})
	require.Equal(t, dns, members(gid), "adding a present member is a success (AD: 68)")
	patch(map[string]any{"op": "Remove", "path": "members", "value": ref(users[0])})
	require.Equal(t, dns[1:], members(gid))
	patch(map[string]any{"op": "Remove", "path": "members", "value": ref(users[0])})
	require.Equal(t, dns[1:], members(gid), "removing an absent member is a success (AD: 53)")
	patch(map[string]any{"op": "Remove", "path": "members"})
	require.Empty(t, members(gid), "emptied")
	patch(map[string]any{"op": "Add", "path": "members", "value": ref(users...)})
	require.Equal(t, dns, members(gid), "refilled")
	a := s.must(200, "GET", "/Groups"+filterQ(`displayName eq "`+strings.ToUpper(name)+`"`)+"&excludedAttributes=members", nil)
	require.Len(t, resources(t, a), 1)
	a = s.must(200, "GET", "/Groups/"+url.PathEscape(gid), nil)
	require.Len(t, a.body["members"], 3)

	// Renaming the group: DN follows, GUID stays.
	renamed := "renamed_" + s.tag
	patch(map[string]any{"op": "Replace", "path": "displayName", "value": renamed})
	e = s.byGUID(gid)
	require.Equal(t, "CN="+renamed+",CN=Users,"+s.base, e.DN)
	require.Equal(t, renamed, e.GetAttributeValue("sAMAccountName"))

	// Renaming a member: AD rewrites the member value itself.
	s.patchUser(users[1], map[string]any{"op": "Replace", "path": "displayName", "value": "Moved One"})
	moved := "CN=Moved One,CN=Users," + s.base
	require.Equal(t, []string{dns[0], dns[2], moved}, members(gid))

	// DELETE of a user disables it (onDelete: disable): still a member.
	s.must(204, "DELETE", "/Users/"+url.PathEscape(users[0]), nil)
	require.Equal(t, []string{dns[0], dns[2], moved}, members(gid))
	// An administrator deleting the account: AD drops the member value.
	require.NoError(t, s.conn.Del(goldap.NewDelRequest(dns[0], nil)))
	require.Equal(t, []string{dns[2], moved}, members(gid))
	a = s.must(200, "GET", "/Groups/"+url.PathEscape(gid), nil)
	require.Len(t, a.body["members"], 2)

	s.must(204, "DELETE", "/Groups/"+url.PathEscape(gid), nil)
	s.must(404, "GET", "/Groups/"+url.PathEscape(gid), nil)
}
