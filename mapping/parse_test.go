package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// TestExampleMappings compiles every shipped mapping: an integrator's copy
// of one must start from a file that loads.
func TestExampleMappings(t *testing.T) {
	files, err := filepath.Glob("../configs/mappings/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m := mustLoad(t, f)
			require.NotEmpty(t, m.MatchKeys(scim.User))
			require.NotEmpty(t, m.MatchKeys(scim.Group))
		})
	}
}

// TestPharosMapping pins what the shipped Pharos mapping tells the backend:
// the table layout, the columns and Entra's default attribute list.
func TestPharosMapping(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	want := backends.Schema{
		Users: backends.KindSchema{
			Layout: map[string]any{
				"table": "users", "key": "id",
				"multiValued": map[string]any{"cards": map[string]any{"table": "cards", "key": "user_id", "value": "card_number"}},
			},
			Attrs: []backends.AttrSchema{
				{Name: "external_id", Unique: true},
				{Name: "login", Unique: true},
				{Name: "email"},
				{Name: "first_name"},
				{Name: "last_name"},
				{Name: "display_name"},
				{Name: "title"},
				{Name: "active"},
				{Name: "department"},
				{Name: "employee_number"},
				{Name: "cost_center"},
				{Name: "manager_id", Ref: backends.User},
				{Name: "cards", Multi: true},
			},
		},
		Groups: backends.KindSchema{
			Layout: map[string]any{
				"table": "groups", "key": "id",
				"members": map[string]any{"table": "group_members", "group": "group_id", "member": "user_id"},
			},
			Attrs: []backends.AttrSchema{{Name: "name", Unique: true}, {Name: "external_id"}},
		},
	}
	if diff := cmp.Diff(want, m.Schema()); diff != "" {
		t.Fatalf("Schema() (-want +got):\n%s", diff)
	}
	require.True(t, m.Members())
	require.Equal(t, OnDeleteDelete, m.OnDelete(scim.User))
	require.Equal(t, OnDeleteDelete, m.OnDelete(scim.Group))
	require.Equal(t, pharosMapping, m.Name())

	keys := m.MatchKeys(scim.User)
	require.Len(t, keys, 2)
	require.Equal(t, "externalId", keys[0].Path.String())
	require.Equal(t, MatchKey{Path: keys[0].Path, Attr: "external_id", Precedence: 1}, keys[0])
	require.Equal(t, "userName", keys[1].Path.String())
	require.Equal(t, "login", keys[1].Attr)
	gkeys := m.MatchKeys(scim.Group)
	require.Len(t, gkeys, 1)
	require.Equal(t, "displayName", gkeys[0].Path.String())
	require.Nil(t, m.MatchKeys("Device"))
}

// TestMatchKeysSorted: precedence order, not file order.
func TestMatchKeysSorted(t *testing.T) {
	m := mustParse(t, `
users:
  target: {table: users, key: id}
  attributes:
    - {scim: userName, target: login, match: 5}
    - {scim: 'emails[type eq "work"].value', target: email, match: 2}
    - {scim: externalId, target: external_id, match: 3}
`+minimalGroups)
	var got []string
	for _, k := range m.MatchKeys(scim.User) {
		got = append(got, k.Path.String())
	}
	require.Equal(t, []string{`emails[type eq "work"].value`, "externalId", "userName"}, got)
}

// TestParseReportsEveryError: one broken file, every problem reported at
// once, each with file:line:col and YAML path, in file order.
func TestParseReportsEveryError(t *testing.T) {
	src := `users:
  target: {table: users, key: id}
  atributes: []
  attributes:
    - scim: externalId
      target: external_id
      match: 1
    - scim: userNmae
      target: login
      match: 1
    - scim: emails
      target: mail
    - scim: active
      target: active
      toTarget: 'valeu ? "1" : "0"'
      multivalued: true
    - scim: displayName
      target: mail
    - target: cn
      toTarget: 'Join(" ", attr(value))'
    - scim: groups
      target: g
    - scim: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager
      target: manager_id
      reference: Grup
    - scim: title
      target: title
      match: "x"
groups:
  target: []
  attributes:
    - {scim: displayName, target: name, required: yes}
deprovision:
  onDelete: remove
`
	_, err := Parse("bad.yaml", []byte(src))
	require.Error(t, err)
	want := []string{
		`bad.yaml:1:1: users: must map userName: userName is Entra's default matching attribute (userPrincipalName)`,
		`bad.yaml:3:3: users.atributes: unknown key "atributes"; did you mean "attributes"?`,
		`bad.yaml:8:13: users.attributes[1].scim: userNmae is not an attribute of the core User schema; an attribute of your own needs an extension URN, e.g. urn:example:2.0:User:userNmae`,
		`bad.yaml:10:14: users.attributes[1].match: match precedence 1 is already used by users.attributes[0] (line 5); each match key needs its own precedence`,
		`bad.yaml:11:13: users.attributes[2].scim: emails is multi-valued: add multiValued: true, or select one element, e.g. emails[type eq "work"].value`,
		`bad.yaml:15:17: users.attributes[3].toTarget: toTarget does not compile: unknown name valeu (at column 1 of the expression)`,
		`bad.yaml:16:7: users.attributes[3].multivalued: unknown key "multivalued"; did you mean "multiValued"?`,
		`bad.yaml:18:15: users.attributes[4].target: target "mail" is already written by users.attributes[2] (line 11)`,
		`bad.yaml:20:17: users.attributes[5].toTarget: toTarget does not compile: attr takes a path in quotes, e.g. attr("name.givenName"), so that it is checked when the mapping loads`,
		`bad.yaml:21:13: users.attributes[6].scim: groups is read-only: the server sets it, it cannot be mapped`,
		`bad.yaml:25:18: users.attributes[7].reference: reference must be User or Group, not "Grup"`,
		`bad.yaml:28:14: users.attributes[8].match: must be a whole number, not a string`,
		`bad.yaml:30:11: groups.target: must be a mapping (the backend's layout, e.g. {table: users, key: id})`,
		`bad.yaml:32:7: groups.attributes[0]: displayName must be a match key (add match: <precedence>): Entra matches groups on displayName`,
		`bad.yaml:32:51: groups.attributes[0].required: must be true or false, not a string`,
		`bad.yaml:34:13: deprovision.onDelete: must be delete or disable, not "remove"`,
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Fatalf("errors (-want +got):\n%s", diff)
	}
	// Each one is a *SpecError a CLI can render on its own.
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok)
	require.Len(t, joined.Unwrap(), len(want))
	var se *SpecError
	require.True(t, errors.As(joined.Unwrap()[1], &se))
	require.Equal(t, SpecError{File: "bad.yaml", Line: 3, Column: 3, Path: "users.atributes", Msg: `unknown key "atributes"; did you mean "attributes"?`}, *se)
}

// TestParseErrors: one problem per case; the message is asserted in full.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"empty file", "", `test.yaml: the mapping file is empty; it needs users and groups sections`},
		{"comments only", "# nothing\n", `test.yaml: the mapping file is empty; it needs users and groups sections`},
		{"not a mapping", "- a\n- b\n", `test.yaml:1:1: a mapping file is a mapping with the keys users, groups and deprovision, not a list`},
		{"two documents", minimalUsers + minimalGroups + "---\nusers: {}\n", `test.yaml:13:1: a mapping file holds one YAML document; remove the second one (after ---)`},
		{"syntax error", "users: [\n", `test.yaml:1:8: YAML syntax: sequence end token ']' not found`},
		{"duplicate key", "users:\n  target: {a: 1}\n  target: {b: 2}\n", `test.yaml:3:3: YAML syntax: mapping key "target" already defined at [2:3]`},
		{"missing users", minimalGroups, `test.yaml:2:1: the users section is missing; every mapping maps both users and groups`},
		{"missing groups", minimalUsers, `test.yaml:2:1: the groups section is missing; every mapping maps both users and groups`},
		{"unknown top key", minimalUsers + minimalGroups + "user: {}\n", `test.yaml:12:1: user: unknown key "user"; did you mean "users"?`},
		{"members under users", "users:\n  target: {t: 1}\n  members: true\n  attributes:\n    - {scim: externalId, target: e, match: 1}\n    - {scim: userName, target: l, match: 2}\n" + minimalGroups,
			`test.yaml:3:3: users.members: unknown key "members" (known keys: attributes, target)`},
		{"unknown key far off", usersWith("    - {scim: title, target: title, flavour: x}\n"),
			`test.yaml:7:36: users.attributes[2].flavour: unknown key "flavour" (known keys: fromTarget, match, multiValued, mutability, reference, required, scim, selectUniqueValue, target, toTarget)`},
		{"users not a mapping", "users: 3\n" + minimalGroups, `test.yaml:1:8: users: must be a mapping of keys (target, attributes), not a number (3)`},
		{"target missing", "users:\n  attributes:\n    - {scim: externalId, target: e, match: 1}\n    - {scim: userName, target: l, match: 2}\n" + minimalGroups,
			`test.yaml:1:1: users: target is missing: say where users live in the backend (e.g. target: {table: users, key: id})`},
		{"attributes missing", "users:\n  target: {t: 1}\n" + minimalGroups, "test.yaml:1:1: users: attributes is missing: list the SCIM attributes to provision"},
		{"attributes not a list", "users:\n  target: {t: 1}\n  attributes: {scim: userName}\n" + minimalGroups, "test.yaml:3:15: users.attributes: must be a list of attribute mappings, not a mapping"},
		{"externalId not a match key", "users:\n  target: {t: 1}\n  attributes:\n    - {scim: externalId, target: e}\n    - {scim: userName, target: l, match: 2}\n" + minimalGroups,
			`test.yaml:4:7: users.attributes[0]: externalId must be a match key (add match: <precedence>): externalId holds Entra's objectId, the anchor a retried create is recognised by`},
		{"groups without displayName", minimalUsers + "groups:\n  target: {t: 1}\n  attributes:\n    - {scim: externalId, target: e}\n",
			`test.yaml:7:1: groups: must map displayName: Entra matches groups on displayName`},
		{"target missing on attribute", usersWith("    - {scim: title}\n"),
			`test.yaml:7:7: users.attributes[2]: target is missing: name the user attribute or column this maps to`},
		{"target empty", usersWith("    - {scim: title, target: ''}\n"), `test.yaml:7:29: users.attributes[2].target: target is empty`},
		{"target reserved", usersWith("    - {scim: title, target: $members}\n"), `test.yaml:7:29: users.attributes[2].target: target names starting with $ are reserved`},
		{"target not a string", usersWith("    - {scim: title, target: [a]}\n"), `test.yaml:7:29: users.attributes[2].target: must be a string, not a list`},
		{"scim and toTarget missing", usersWith("    - {target: x}\n"),
			`test.yaml:7:7: users.attributes[2]: scim is missing: name the SCIM attribute this maps (e.g. scim: userName), or give a toTarget expression to compute the target from other attributes`},
		{"bad scim path", usersWith("    - {scim: 'emails[type eq', target: x}\n"),
			`test.yaml:7:14: users.attributes[2].scim: ` + scimDetail(scimErr(scim.ParsePath(scim.User, "emails[type eq")))},
		{"schema URN only", usersWith("    - {scim: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', target: x}\n"),
			`test.yaml:7:14: users.attributes[2].scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" names a schema, not an attribute; append ':' and the attribute name`},
		{"unknown enterprise attribute", usersWith("    - {scim: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:floor', target: x}\n"),
			`test.yaml:7:14: users.attributes[2].scim: floor is not an attribute of the enterprise extension (employeeNumber, costCenter, organization, division, department, manager)`},
		{"id is read-only", usersWith("    - {scim: id, target: x}\n"), `test.yaml:7:14: users.attributes[2].scim: id is read-only: the server sets it, it cannot be mapped`},
		{"meta is read-only", usersWith("    - {scim: meta.created, target: x}\n"), `test.yaml:7:14: users.attributes[2].scim: meta is read-only: the server sets it, it cannot be mapped`},
		{"manager displayName is read-only", usersWith("    - {scim: manager.displayName, target: x}\n"),
			`test.yaml:7:14: users.attributes[2].scim: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName is read-only and cannot be mapped`},
		{"members as attribute", minimalUsers + "groups:\n  target: {t: 1}\n  attributes:\n    - {scim: displayName, target: n, match: 1}\n    - {scim: members, target: m, multiValued: true}\n",
			`test.yaml:11:14: groups.attributes[1].scim: members is provisioned through groups.members (and the target layout), not as an attribute`},
		{"unknown sub-attribute", usersWith("    - {scim: name.nickname, target: x}\n"), `test.yaml:7:14: users.attributes[2].scim: name has no sub-attribute "nickname"`},
		{"complex without sub-attribute", usersWith("    - {scim: name, target: x}\n"),
			`test.yaml:7:14: users.attributes[2].scim: name is complex; map its sub-attributes one by one (name.formatted, name.familyName, name.givenName, name.middleName, name.honorificPrefix, name.honorificSuffix)`},
		{"filter without sub-attribute", usersWith("    - {scim: 'emails[type eq \"work\"]', target: x}\n"),
			`test.yaml:7:14: users.attributes[2].scim: add the sub-attribute to store, e.g. emails[type eq "work"].value`},
		{"filter not an equality", usersWith("    - {scim: 'emails[type sw \"w\"].value', target: x}\n"),
			`test.yaml:7:14: users.attributes[2].scim: the value filter must be one equality such as [type eq "work"], so that the element can be created on write`},
		{"multi-valued sub without filter", usersWith("    - {scim: emails.type, target: x, multiValued: true}\n"),
			`test.yaml:7:14: users.attributes[2].scim: select one element with a value filter, e.g. emails[type eq "work"].type`},
		{"multiValued on a single-valued attribute", usersWith("    - {scim: title, target: x, multiValued: true}\n"),
			`test.yaml:7:45: users.attributes[2].multiValued: title is single-valued; remove multiValued`},
		{"multiValued on a filtered element", usersWith("    - {scim: 'emails[type eq \"work\"].value', target: x, multiValued: true}\n"),
			`test.yaml:7:70: users.attributes[2].multiValued: emails[type eq "work"].value selects one element; it is single-valued`},
		{"same scim path twice", usersWith("    - {scim: title, target: a}\n    - {scim: TITLE, target: b}\n"),
			`test.yaml:8:14: users.attributes[3].scim: title is already mapped by users.attributes[2] (line 7)`},
		{"same target twice ignoring case", usersWith("    - {scim: title, target: Login}\n"),
			`test.yaml:7:29: users.attributes[2].target: target "Login" is already written by users.attributes[1] (line 6)`},
		{"match zero", usersWith("    - {scim: title, target: t, match: 0}\n"), `test.yaml:7:39: users.attributes[2].match: match precedence must be 1 or more, not 0`},
		{"match on multi-valued", usersWith("    - {scim: emails, target: t, multiValued: true, match: 3}\n"),
			`test.yaml:7:59: users.attributes[2].match: a multi-valued attribute cannot be a match key`},
		{"match reading other attributes", usersWith("    - {scim: title, target: t, match: 3, toTarget: 'Join(\" \", value, attr(\"displayName\"))'}\n"),
			`test.yaml:7:39: users.attributes[2].match: a match key cannot read other attributes with attr(): Entra's filter on it could not be translated`},
		{"computed with fromTarget", usersWith("    - {target: cn, toTarget: '\"x\"', fromTarget: value}\n"),
			`test.yaml:7:49: users.attributes[2].fromTarget: a computed attribute (no scim) has nothing to read back into; remove fromTarget`},
		{"computed match key", usersWith("    - {target: cn, toTarget: '\"x\"', match: 3}\n"),
			`test.yaml:7:44: users.attributes[2].match: a computed attribute (no scim) cannot be a match key: Entra filters on a SCIM attribute`},
		{"computed reference", usersWith("    - {target: cn, toTarget: '\"x\"', reference: User}\n"),
			`test.yaml:7:48: users.attributes[2].reference: a computed attribute (no scim) cannot be a reference`},
		{"manager references a group", usersWith("    - {scim: manager, target: m, reference: Group}\n"),
			`test.yaml:7:45: users.attributes[2].reference: manager references a User`},
		{"boolean reference", usersWith("    - {scim: active, target: a, reference: User}\n"),
			`test.yaml:7:44: users.attributes[2].reference: a boolean attribute cannot be a reference`},
		{"match not a number", usersWith("    - {scim: title, target: t, match: 1.5}\n"), `test.yaml:7:39: users.attributes[2].match: must be a whole number, not a number (1.5)`},
		{"match out of range", usersWith("    - {scim: title, target: t, match: 99999999999}\n"), `test.yaml:7:39: users.attributes[2].match: 99999999999 is out of range`},
		{"required not a boolean", usersWith("    - {scim: title, target: t, required: 1}\n"), `test.yaml:7:42: users.attributes[2].required: must be true or false, not a number (1)`},
		{"toTarget empty", usersWith("    - {scim: title, target: t, toTarget: ' '}\n"), `test.yaml:7:42: users.attributes[2].toTarget: toTarget does not compile: the expression is empty`},
		{"toTarget syntax", usersWith("    - {scim: title, target: t, toTarget: 'ToLower(value'}\n"),
			`test.yaml:7:42: users.attributes[2].toTarget: toTarget does not compile: unexpected token EOF (at column 13 of the expression)`},
		{"toTarget unknown function", usersWith("    - {scim: title, target: t, toTarget: 'Lower(value)'}\n"),
			`test.yaml:7:42: users.attributes[2].toTarget: toTarget does not compile: unknown name Lower (at column 1 of the expression)`},
		{"toTarget wrong arity", usersWith("    - {scim: title, target: t, toTarget: 'Left(value)'}\n"),
			`test.yaml:7:42: users.attributes[2].toTarget: toTarget does not compile: not enough arguments to call Left (at column 1 of the expression)`},
		{"toTarget now disabled", usersWith("    - {scim: title, target: t, toTarget: 'now()'}\n"),
			`test.yaml:7:42: users.attributes[2].toTarget: toTarget does not compile: unknown name now (at column 1 of the expression)`},
		{"toTarget repeat disabled", usersWith("    - {scim: title, target: t, toTarget: 'repeat(value, 9)'}\n"),
			`test.yaml:7:42: users.attributes[2].toTarget: toTarget does not compile: unknown name repeat (at column 1 of the expression)`},
		{"toTarget Switch pairs", usersWith("    - {scim: title, target: t, toTarget: 'Switch(value, \"d\", \"k\")'}\n"),
			`test.yaml:7:42: users.attributes[2].toTarget: toTarget does not compile: Switch takes a source, a default and then key, value pairs: Switch(value, "default", "key1", "value1", …)`},
		{"toTarget attr of a bad path", usersWith("    - {target: cn, toTarget: 'attr(\"emails[\")'}\n"),
			`test.yaml:7:30: users.attributes[2].toTarget: attr("emails["): ` + scimDetail(scimErr(scim.ParsePath(scim.User, "emails[")))},
		{"toTarget too big", usersWith("    - {scim: title, target: t, toTarget: '" + strings.Repeat("value + ", 200) + "value'}\n"),
			`test.yaml:7:42: users.attributes[2].toTarget: toTarget does not compile: compilation failed: expression exceeds maximum allowed nodes (at column 1207 of the expression)`},
		{"fromTarget has no attr", usersWith("    - {scim: title, target: t, fromTarget: 'attr(\"title\")'}\n"),
			`test.yaml:7:44: users.attributes[2].fromTarget: fromTarget does not compile: unknown name attr (at column 1 of the expression)`},
		{"fromTarget of password", usersWith("    - {scim: password, target: p, fromTarget: value}\n"),
			`test.yaml:7:47: users.attributes[2].fromTarget: password is never returned, so it has no fromTarget`},
		{"onDelete unknown", minimalUsers + minimalGroups + "deprovision: {onDelete: purge}\n",
			`test.yaml:12:25: deprovision.onDelete: must be delete or disable, not "purge"`},
		{"onDelete disable without active", minimalUsers + minimalGroups + "deprovision: {onDelete: disable, marker: {target: gone, value: \"1\"}}\n",
			`test.yaml:12:25: deprovision.onDelete: disable writes active=false, but users maps no active attribute`},
		{"onDelete disable without a marker", usersWith("    - {scim: active, target: active}\n") + "deprovision: {onDelete: disable}\n",
			`test.yaml:13:25: deprovision.onDelete: disable keeps the entry of a deleted user: add marker: {target: <attribute>, value: <value>} (how the kept entry is told apart and hidden from SCIM)`},
		{"groups keep without a marker", minimalUsers + minimalGroups + "deprovision: {groups: {onDelete: keep}}\n",
			`test.yaml:12:34: deprovision.groups.onDelete: keep keeps the entry of a deleted group: add marker: {target: <attribute>, value: <value>} (how the kept entry is told apart and hidden from SCIM)`},
		{"groups cannot disable", minimalUsers + minimalGroups + "deprovision: {groups: {onDelete: disable}}\n",
			`test.yaml:12:34: deprovision.groups.onDelete: must be delete or keep, not "disable"`},
		{"marker without a value", minimalUsers + minimalGroups + "deprovision: {marker: {target: gone}}\n",
			`test.yaml:12:15: deprovision.marker: marker needs a value: what the target holds on a deprovisioned entry`},
		{"marker on a mapped attribute", minimalUsers + minimalGroups + "deprovision: {marker: {target: LOGIN, value: x}}\n",
			`test.yaml:12:32: deprovision.marker.target: LOGIN is mapped to userName (login) already; the marker needs an attribute of its own`},
		{"deprovision unknown key", minimalUsers + minimalGroups + "deprovision: {ondelete: disable}\n",
			`test.yaml:12:15: deprovision.ondelete: unknown key "ondelete"; did you mean "onDelete"?`},
		{"members not a boolean", minimalUsers + "groups:\n  target: {t: 1}\n  members: yes\n  attributes:\n    - {scim: displayName, target: n, match: 1}\n",
			`test.yaml:9:12: groups.members: must be true or false, not a string`},
		{"anchor referring to itself", "users:\n  target: &t {a: *t}\n  attributes:\n    - {scim: externalId, target: e, match: 1}\n    - {scim: userName, target: l, match: 2}\n" + minimalGroups,
			`test.yaml:2:18: users.target: nested more than 50 levels deep; is an anchor referring to itself?`},
		{"merge cycle", "users: &u\n  <<: *u\n  target: {t: 1}\n  attributes:\n    - {scim: externalId, target: e, match: 1}\n    - {scim: userName, target: l, match: 2}\n" + minimalGroups,
			`test.yaml:2:7: more than 1000 alias expansions; is an anchor referring to itself?`},
		{"billion laughs", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
			"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nusers:\n  target: {x: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]}\n  attributes:\n    - {scim: externalId, target: e, match: 1}\n    - {scim: userName, target: l, match: 2}\n" + minimalGroups,
			"test.yaml:1:1: a: unknown key \"a\" (known keys: deprovision, groups, users)\n" +
				"test.yaml:2:1: b: unknown key \"b\" (known keys: deprovision, groups, users)\n" +
				"test.yaml:3:1: c: unknown key \"c\" (known keys: deprovision, groups, users)\n" +
				"test.yaml:4:1: d: unknown key \"d\" (known keys: deprovision, groups, users)\n" +
				"test.yaml:4:44: more than 1000 alias expansions; is an anchor referring to itself?"},
		{"deep target", "users:\n  target: {x: " + strings.Repeat("[", 60) + strings.Repeat("]", 60) + "}\n  attributes:\n    - {scim: externalId, target: e, match: 1}\n    - {scim: userName, target: l, match: 2}\n" + minimalGroups,
			"test.yaml:2:65: users.target: nested more than 50 levels deep; is an anchor referring to itself?"},
		{"null value", usersWith("    - {scim: title, target: }\n"), `test.yaml:7:28: users.attributes[2].target: must be a string, not an empty value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tt.src))
			require.Error(t, err)
			require.Equal(t, tt.want, err.Error())
		})
	}
}

func scimErr(_ scim.Path, err error) error { return err }

// TestParseYAMLFeatures: anchors, aliases, merge keys and block scalars
// work as in any YAML file.
func TestParseYAMLFeatures(t *testing.T) {
	m := mustParse(t, `
users:
  target: &users {table: users, key: id}
  attributes:
    - &ext {scim: externalId, target: external_id, match: 1}
    - <<: {scim: userName, target: login}
      match: 2
    - scim: displayName
      target: display_name
      toTarget: |
        Trim(value)
groups:
  target: *users
  attributes:
    - {scim: displayName, target: name, match: 1}
`)
	require.Equal(t, map[string]any{"table": "users", "key": "id"}, m.Schema().Groups.Layout)
	attrs, err := m.ToAttrs(scim.User, scim.Resource{"userName": "u", "externalId": "e", "displayName": "  D  "})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"login": {"u"}, "external_id": {"e"}, "display_name": {"D"}}, attrs)
}

// TestLoadErrors: the file name starts every error.
func TestLoadErrors(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "testdata/does-not-exist.yaml: cannot read the mapping file: "), err.Error())

	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(path, []byte("users: {target: {}, attributes: []}\n"), 0o600))
	_, err = Load(path)
	require.Error(t, err)
	for _, line := range strings.Split(err.Error(), "\n") {
		require.True(t, strings.HasPrefix(line, path+":"), line)
	}
}

func TestSCIMPathAndTarget(t *testing.T) {
	m := mustParse(t, usersWith(`
    - {scim: 'emails[type eq "work"].value', target: mail}
    - {scim: roles, target: role, multiValued: true}
    - {scim: manager.value, target: boss}
    - {target: cn, toTarget: 'attr("userName")'}
`))
	for target, want := range map[string]string{
		"login": "userName", "LOGIN": "userName", "mail": `emails[type eq "work"].value`, "role": "roles.value",
		"boss": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
	} {
		got, ok := m.SCIMPath(scim.User, target)
		require.True(t, ok, target)
		require.Equal(t, want, got, target)
	}
	for _, target := range []string{"cn", "nope"} {
		_, ok := m.SCIMPath(scim.User, target)
		require.False(t, ok, target)
	}
	for path, want := range map[string]string{
		"externalId": "external_id", "USERNAME": "login", `emails[type eq "work"].value`: "mail", "roles": "role", "roles.value": "role",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "boss",
	} {
		got, ok := m.Target(scim.User, path)
		require.True(t, ok, path)
		require.Equal(t, want, got, path)
	}
	_, ok := m.Target(scim.User, "title")
	require.False(t, ok)
	_, ok = m.Target("Device", "title")
	require.False(t, ok)
	_, ok = m.SCIMPath("Device", "login")
	require.False(t, ok)
}

// TestDocExample: the annotated example in the package documentation is a
// valid mapping file.
func TestDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	var yaml []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(line, "//\tusers:"):
			in = true
		case in && !strings.HasPrefix(line, "//\t"):
			in = false
		}
		if in {
			yaml = append(yaml, strings.TrimPrefix(line, "//\t"))
		}
	}
	require.NotEmpty(t, yaml)
	m, err := Parse("doc.go example", []byte(strings.Join(yaml, "\n")))
	require.NoError(t, err)
	attrs, err := m.ToAttrs(scim.User, mustDecode(t, scim.User, entraCreateFull))
	require.NoError(t, err)
	require.Equal(t, []string{"Barbara Jensen"}, attrs["cn"])
	require.Equal(t, []string{"1"}, attrs["active"])
}
