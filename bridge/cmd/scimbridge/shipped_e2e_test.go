package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/config"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/mapping"
)

// Every configuration under configs/ is run as shipped (only the
// environment it reads points it at the test's own server) through
// Entra's request catalogue (docs/entra.md §11), the deprovisioning steps
// included: DELETE, then 404 by id, filters empty, PATCH, PUT and DELETE
// of the old id 404, then Entra's reassignment POST. Each step is read
// back from the directory through the backend.

// shippedTarget points one shipped configuration at a test server: it
// sets the environment the file reads and says where a user's entry is
// (its parent DN on LDAP; nil on Pharos).
type shippedTarget func(t *testing.T) (parent func(id string) string)

// shippedTargets has an entry for every file in configs/: a new
// configuration without one fails TestShippedConfigurationsCatalogue.
var shippedTargets = map[string]shippedTarget{
	"bridge.yaml": func(t *testing.T) func(string) string { return nil }, // SQLite under SCIMBRIDGE_DATA_DIR
	"pharos-postgres.yaml": func(t *testing.T) func(string) string {
		t.Setenv("SCIMBRIDGE_PG_DSN", newPGSchema(t))
		return nil
	},
	"openldap.yaml":       ldapTarget("SCIMBRIDGE_LDAP", "slapd"),
	"openldap-redis.yaml": redisTarget(ldapTarget("SCIMBRIDGE_LDAP", "slapd")),
	"389ds.yaml":          ldapTarget("SCIMBRIDGE_389DS", "389 DS"),
	"active-directory.yaml": func(t *testing.T) func(string) string {
		d := newADSubtree(t)
		setLDAPEnv(t, d.ldapsURL, d.bindDN, d.password, d.base)
		t.Setenv("SCIMBRIDGE_LDAP_CA_FILE", d.caFile)
		return func(id string) string {
			res, err := d.conn.Search(goldap.NewSearchRequest("<GUID="+id+">", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=*)", []string{"1.1"}, nil))
			require.NoError(t, err)
			require.Len(t, res.Entries, 1)
			return strings.SplitN(res.Entries[0].DN, ",", 2)[1]
		}
	},
}

func setLDAPEnv(t *testing.T, url, bindDN, password, base string) {
	t.Setenv("SCIMBRIDGE_LDAP_URL", url)
	t.Setenv("SCIMBRIDGE_LDAP_BIND_DN", bindDN)
	t.Setenv("SCIMBRIDGE_LDAP_PASSWORD", password)
	t.Setenv("SCIMBRIDGE_LDAP_BASE_DN", base)
	t.Setenv("SCIMBRIDGE_LDAP_CA_FILE", "")
}

// ldapTarget points the configuration at a fresh subtree of the test
// directory whose start script exported prefix_URL and the rest.
func ldapTarget(prefix, name string) shippedTarget {
	return func(t *testing.T) func(string) string {
		d := newDirectorySubtree(t, prefix, name)
		setLDAPEnv(t, d.url, d.bindDN, d.password, d.base)
		return parentOf(t, d.conn, d.base, "entryUUID")
	}
}

// redisTarget adds the test Redis to a target.
func redisTarget(next shippedTarget) shippedTarget {
	return func(t *testing.T) func(string) string {
		u := os.Getenv("SCIMBRIDGE_REDIS_URL")
		if u == "" {
			if os.Getenv("CI") == "true" {
				t.Fatal("SCIMBRIDGE_REDIS_URL is not set, and CI must test Redis: run `make test` (scripts/redis-start.sh)")
			}
			t.Skip("SCIMBRIDGE_REDIS_URL is not set: `make test` starts redis-server and sets it")
		}
		t.Setenv("SCIMBRIDGE_REDIS_URL", u)
		return next(t)
	}
}

func TestShippedConfigurationsCatalogue(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "configs", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			target, ok := shippedTargets[name]
			require.True(t, ok, "configs/%s has no test target in shippedTargets", name)
			t.Setenv("SCIMBRIDGE_DATA_DIR", t.TempDir())
			parent := target(t)
			cfg, err := loadConfig(file)
			require.NoError(t, err)
			require.Len(t, cfg.Tenants, 1, "one tenant per shipped configuration")
			tenant := cfg.Tenants[0].Name
			s := bridgeFromConfig(t, file, tenant)
			// A replica whose state store holds no record of the first
			// one's answers: what it answers comes from the directory.
			replica := bridgeFromConfig(t, file, tenant, func(c *config.Config) {
				c.State = config.StateConfig{SQLite: &config.SQLiteConfig{Path: filepath.Join(t.TempDir(), "state.db")}}
			})
			catalogue{s: s, replica: replica, parent: parent}.run(t)
		})
	}
}

// catalogue is Entra's replay sequence (docs/entra.md §11) on one bridge.
type catalogue struct {
	s, replica *stack
	parent     func(id string) string
}

// fixtureWith is a fixture's request body with each old string (an id of
// Microsoft's example) replaced by its new one.
func fixtureWith(t testing.TB, name string, pairs ...string) map[string]any {
	t.Helper()
	raw, err := json.Marshal(fixture(t, name))
	require.NoError(t, err)
	s := string(raw)
	for i := 0; i < len(pairs); i += 2 {
		require.Contains(t, s, pairs[i], "fixture %s", name)
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &out))
	return out
}

func patchOp(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, op := range ops {
		list[i] = op
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

func (c catalogue) run(t *testing.T) {
	s := c.s
	ctx := context.Background()
	svc := s.app.services[0]
	be, m := svc.Backend(), svc.Mapping()
	// stored reads a resource back from the directory, through the
	// mapping but around the bridge: what is there, marked or not.
	stored := func(kind scim.Kind, id string) (backends.Record, scim.Resource) {
		t.Helper()
		rec, err := be.Get(ctx, map[scim.Kind]backends.Kind{scim.User: backends.User, scim.Group: backends.Group}[kind], id, backends.Read{Members: kind == scim.Group})
		require.NoError(t, err, "%s %s in the directory", kind, id)
		res, err := m.ToResource(kind, rec)
		require.NoError(t, err)
		return rec, res
	}
	gone := func(kind scim.Kind, id string) {
		t.Helper()
		_, err := be.Get(ctx, map[scim.Kind]backends.Kind{scim.User: backends.User, scim.Group: backends.Group}[kind], id, backends.Read{})
		require.ErrorIs(t, err, backends.ErrNotFound, "%s %s is removed from the directory", kind, id)
	}
	tag := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	users, groups := "/Users", "/Groups"

	// 1. Test Connection: a random GUID, '+' for spaces.
	require.Empty(t, resources(t, s.must(200, "GET", users+"?filter=userName+eq+%22"+probeGUID+"%22", nil)))
	require.Empty(t, resources(t, s.must(200, "GET", groups+"?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "`+probeGUID+`"`), nil)))

	// 2. Match, then create; the repeat of a lost answer; a namesake UPN.
	ext := uuid.NewString()
	user := fixture(t, "create-user")
	user["externalId"], user["userName"], user["displayName"] = ext, "cat-"+tag+"@testuser.com", "Catalogue "+tag
	require.Empty(t, resources(t, s.must(200, "GET", users+filterQ(`userName eq "`+user["userName"].(string)+`"`), nil)))
	id := s.must(201, "POST", users, user).body["id"].(string)
	_, res := stored(scim.User, id)
	require.Equal(t, user["userName"], res["userName"])
	require.Equal(t, ext, res["externalId"])
	require.Equal(t, true, res["active"])
	home := ""
	if c.parent != nil {
		home = c.parent(id)
	}
	require.Equal(t, id, s.must(201, "POST", users, user).body["id"], "a repeated create is the same user")
	require.Equal(t, id, c.replica.must(201, "POST", users, user).body["id"], "also on a replica that never saw it")
	other := fixture(t, "create-user")
	other["externalId"], other["userName"] = uuid.NewString(), strings.ToUpper(user["userName"].(string))
	a := s.must(409, "POST", users, other)
	require.Equal(t, "uniqueness", a.body["scimType"])
	found := resources(t, s.must(200, "GET", users+filterQ(`userName eq "`+strings.ToUpper(user["userName"].(string))+`"`), nil))
	require.Len(t, found, 1)
	require.Equal(t, id, found[0]["id"])
	require.Len(t, resources(t, s.must(200, "GET", users+"?filter=externalId+eq+"+ext, nil)), 1)
	s.must(404, "GET", users+"/5171a35d82074e068ce2", nil)

	// 3. Manager, in the string and the array form, checked and removed.
	mgrBody := fixture(t, "create-user-nulls")
	mgrBody["externalId"], mgrBody["userName"], mgrBody["displayName"] = uuid.NewString(), "mgr-"+tag+"@testuser.com", "Manager "+tag
	mgr := s.must(201, "POST", users, mgrBody).body["id"].(string)
	const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	for f, old := range map[string]string{"patch-manager-string": "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2", "patch-manager-array": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"} {
		s.must(200, "PATCH", users+"/"+url.PathEscape(id), fixtureWith(t, f, old, mgr))
		_, res = stored(scim.User, id)
		require.Equal(t, map[string]any{"value": mgr}, res[enterprise].(map[string]any)["manager"], f)
	}
	require.Len(t, resources(t, s.must(200, "GET", users+filterQ(`id eq "`+id+`" and manager eq "`+mgr+`"`)+"&attributes=id", nil)), 1)
	s.must(200, "PATCH", users+"/"+url.PathEscape(id), fixtureWith(t, "patch-manager-remove-filter", "manager-id", mgr))
	_, res = stored(scim.User, id)
	require.Nil(t, res[enterprise], "manager removed")

	// 4. Updates: filtered email path, path-less dotted keys, externalId.
	s.must(200, "GET", users+"/"+url.PathEscape(id), nil)
	s.must(200, "PATCH", users+"/"+url.PathEscape(id), fixture(t, "patch-user-multi"))
	_, res = stored(scim.User, id)
	require.Equal(t, "updatedFamilyName", res["name"].(map[string]any)["familyName"])
	s.must(200, "PATCH", users+"/"+url.PathEscape(id), fixture(t, "patch-replace-multiple-flag"))
	_, res = stored(scim.User, id)
	require.Equal(t, "Bjfe", res["displayName"])
	s.must(200, "PATCH", users+"/"+url.PathEscape(id), fixture(t, "patch-replace-multiple"))
	_, res = stored(scim.User, id)
	require.Equal(t, "Pvlo", res["displayName"])
	require.Equal(t, "Eqpj", res["externalId"])
	renamed := "cat-renamed-" + tag + "@testuser.com"
	s.must(200, "PATCH", users+"/"+url.PathEscape(id), patchOp(
		map[string]any{"op": "Replace", "path": "externalId", "value": ext},
		map[string]any{"op": "Replace", "path": "userName", "value": renamed}))
	_, res = stored(scim.User, id)
	require.Equal(t, renamed, res["userName"])
	require.Equal(t, ext, res["externalId"])
	user["userName"] = renamed

	// 5. Disable and enable, in every form Entra sends.
	for _, f := range []struct {
		name   string
		active bool
	}{{"patch-disable-user-string", false}, {"patch-enable-user-string", true}, {"patch-disable-user", false},
		{"patch-enable-user-string", true}, {"patch-disable-user-lowercase", false}, {"patch-enable-user-string", true}, {"patch-disable-user-flag", false}} {
		s.must(200, "PATCH", users+"/"+url.PathEscape(id), fixture(t, f.name))
		_, res = stored(scim.User, id)
		require.Equal(t, f.active, res["active"], f.name)
	}
	require.Equal(t, false, s.must(200, "GET", users+"/"+url.PathEscape(id), nil).body["active"], "a disabled user is still returned")
	require.Len(t, resources(t, s.must(200, "GET", users+filterQ(`userName eq "`+renamed+`" and active eq false`), nil)), 1)
	s.must(200, "PATCH", users+"/"+url.PathEscape(id), fixture(t, "patch-enable-user-string"))

	// 6. Groups: find, create, the group key's 409, members in every form,
	// excludedAttributes, rename.
	group := fixture(t, "create-group-empty-members")
	group["externalId"], group["displayName"] = uuid.NewString(), "cat_group_"+tag
	require.Empty(t, resources(t, s.must(200, "GET", groups+"?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "`+group["displayName"].(string)+`"`), nil)))
	gid := s.must(201, "POST", groups, group).body["id"].(string)
	require.Equal(t, gid, s.must(201, "POST", groups, group).body["id"])
	twin := fixture(t, "create-group-empty-members")
	twin["externalId"], twin["displayName"] = uuid.NewString(), group["displayName"]
	require.Equal(t, "uniqueness", s.must(409, "POST", groups, twin).body["scimType"], "the group's key is a 409")
	gpath := groups + "/" + url.PathEscape(gid)
	members := func() []string {
		t.Helper()
		rec, _ := stored(scim.Group, gid)
		return rec.Attrs[backends.AttrMembers]
	}
	s.must(204, "PATCH", gpath, fixtureWith(t, "patch-group-add-members-batch", `"u1"`, `"`+id+`"`, `"u2"`, `"`+mgr+`"`, `,{"$ref":null,"value":"u3"}`, ""))
	require.ElementsMatch(t, []string{id, mgr}, members())
	a = s.must(200, "GET", gpath+"?excludedAttributes=members", nil)
	require.NotContains(t, a.body, "members")
	require.Len(t, s.must(200, "GET", gpath, nil).body["members"], 2)
	s.must(204, "PATCH", gpath, fixtureWith(t, "patch-group-rename", "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName", "cat_renamed_"+tag))
	_, res = stored(scim.Group, gid)
	require.Equal(t, "cat_renamed_"+tag, res["displayName"])
	group["displayName"] = "cat_renamed_" + tag
	require.Len(t, resources(t, s.must(200, "GET", groups+filterQ(`displayName eq "`+strings.ToUpper(group["displayName"].(string))+`"`)+"&excludedAttributes=members", nil)), 1)
	s.must(204, "PATCH", gpath, fixtureWith(t, "patch-group-remove-member-filter", "7f4bc1a3-285e-48ae-8202-5accb43efb0e", mgr))
	require.Equal(t, []string{id}, members())
	s.must(204, "PATCH", gpath, fixtureWith(t, "patch-group-remove-member-value", "u1091", id))
	require.Empty(t, members())
	s.must(204, "PATCH", gpath, fixtureWith(t, "patch-group-add-member", "f648f8d5ea4e4cd38e9c", mgr))
	s.must(204, "PATCH", gpath, fixture(t, "patch-group-remove-all-members"))
	require.Empty(t, members())
	s.must(204, "PATCH", gpath, fixtureWith(t, "patch-group-add-member", "f648f8d5ea4e4cd38e9c", id))
	require.Equal(t, []string{id}, members())

	// 7. Filters the mapping cannot answer are 400 naming the attribute.
	a = s.do("GET", users+filterQ(`meta.lastModified gt "2011-05-13T04:42:34Z"`), nil)
	require.Equal(t, 400, a.status, a.raw)
	require.Equal(t, "invalidFilter", a.body["scimType"])
	require.Contains(t, a.body["detail"], "meta.lastModified")

	// 8. Unassigned: DELETE, and the resource is gone for SCIM.
	upath := users + "/" + url.PathEscape(id)
	s.must(204, "DELETE", upath, nil)
	for _, b := range []*stack{s, c.replica} {
		b.must(404, "GET", upath, nil)
		require.Empty(t, resources(t, b.must(200, "GET", users+filterQ(`userName eq "`+renamed+`"`), nil)))
		require.Empty(t, resources(t, b.must(200, "GET", users+filterQ(`externalId eq "`+ext+`"`), nil)))
		for _, r := range resources(t, b.must(200, "GET", users+"?count=1000", nil)) {
			require.NotEqual(t, id, r["id"], "a listing leaves it out")
		}
		b.must(404, "PATCH", upath, fixture(t, "patch-replace-multiple-flag"))
		b.must(404, "PUT", upath, user)
	}
	// Entra's own retry of the DELETE within the window gets its 204; one
	// the state store has no record of reaches the directory: 404.
	s.must(204, "DELETE", upath, nil)
	c.replica.must(404, "DELETE", upath, nil)
	kept := m.OnDelete(scim.User) != mapping.OnDeleteDelete
	if kept {
		rec, res := stored(scim.User, id)
		require.True(t, m.Deprovisioned(scim.User, rec), "kept and marked")
		require.Equal(t, false, res["active"])
		require.Equal(t, "Pvlo", res["displayName"], "the PATCH and PUT to its old id wrote nothing")
		require.Equal(t, []string{id}, members(), "still a member")
	} else {
		gone(scim.User, id)
		require.Empty(t, members(), "its membership went with it")
	}

	// 9. Reassigned: Entra's POST with the same externalId and userName.
	user["title"] = "Returner"
	back := s.must(201, "POST", users, user).body
	if kept {
		require.Equal(t, id, back["id"], "the kept entry is restored")
		require.Equal(t, []string{id}, members(), "its membership survived")
		if c.parent != nil {
			require.Equal(t, strings.ToLower(home), strings.ToLower(c.parent(id)), "back in its container")
		}
	} else {
		require.NotEqual(t, id, back["id"], "a new entry")
		gone(scim.User, id)
	}
	rec, res := stored(scim.User, back["id"].(string))
	require.False(t, m.Deprovisioned(scim.User, rec))
	require.Equal(t, true, res["active"])
	require.Equal(t, "Returner", res["title"], "the POST's attributes are written")
	require.Equal(t, back["id"], s.must(200, "GET", users+"/"+url.PathEscape(back["id"].(string)), nil).body["id"])
	require.Len(t, resources(t, c.replica.must(200, "GET", users+filterQ(`externalId eq "`+ext+`"`), nil)), 1)

	// 10. A group deleted: gone for SCIM, kept or removed by the policy.
	s.must(204, "DELETE", gpath, nil)
	c.replica.must(404, "GET", gpath, nil)
	c.replica.must(404, "PATCH", gpath, fixtureWith(t, "patch-group-add-member", "f648f8d5ea4e4cd38e9c", mgr))
	c.replica.must(404, "DELETE", gpath, nil)
	require.Empty(t, resources(t, s.must(200, "GET", groups+filterQ(`displayName eq "`+group["displayName"].(string)+`"`), nil)))
	againID := s.must(201, "POST", groups, group).body["id"].(string)
	if m.OnDelete(scim.Group) != mapping.OnDeleteDelete {
		require.Equal(t, gid, againID, "a kept group is restored")
	} else {
		gone(scim.Group, gid)
		require.NotEqual(t, gid, againID)
	}

	// 11. A bad token: 401.
	require.Equal(t, 401, s.doWith("GET", users, nil, "Bearer not-a-token").status)
}
