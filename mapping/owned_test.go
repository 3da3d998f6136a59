package mapping

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// ownedMapping marks badge cards as the directory's and the employee
// number as set on create only.
var ownedMapping = usersWith(`
    - {scim: "emails[type eq \"work\"].value", target: email, required: true}
    - {scim: title, target: title}
    - {scim: "urn:ietf:params:scim:schemas:extension:pharos:2.0:User:badgeCards", target: cards, multiValued: true, mutability: readOnly}
    - {scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", target: emp, mutability: immutable}
`)

func ownedRecord() backends.Record {
	return backends.Record{Kind: backends.User, ID: "7", Attrs: map[string][]string{
		"external_id": {"e-1"}, "login": {"a@x"}, "email": {"a@x"}, "title": {"T"},
		"cards": {"C1"}, "emp": {"100"},
	}}
}

const ownedBody = `{"externalId":"e-1","userName":"a@x","emails":[{"type":"work","value":"a@x"}],"title":"T",
	"urn:ietf:params:scim:schemas:extension:pharos:2.0:User":{"badgeCards":["EVIL"]},
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"999"}}`

func TestMutabilityOnWrites(t *testing.T) {
	m := mustParse(t, ownedMapping)

	t.Run("a create writes immutable attributes, never readOnly ones", func(t *testing.T) {
		req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, ownedBody))
		require.NoError(t, err)
		require.NotContains(t, req.Attrs, "cards")
		require.Equal(t, []string{"999"}, req.Attrs["emp"])
	})
	t.Run("a PUT keeps both", func(t *testing.T) {
		req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, ownedBody))
		require.NoError(t, err)
		got, err := m.ReplaceChanges(ownedRecord(), req)
		require.NoError(t, err)
		require.Empty(t, got.List)
	})
	t.Run("a PUT sets an immutable attribute the entry does not have yet", func(t *testing.T) {
		cur := ownedRecord()
		delete(cur.Attrs, "emp")
		req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, ownedBody))
		require.NoError(t, err)
		got, err := m.ReplaceChanges(cur, req)
		require.NoError(t, err)
		require.Equal(t, []backends.Change{{Op: backends.Replace, Attr: "emp", Values: []string{"999"}}}, got.List)
	})
	t.Run("a PATCH changes neither, removes neither", func(t *testing.T) {
		for _, ops := range []string{
			`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:pharos:2.0:User:badgeCards","value":["EVIL"]}`,
			`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:pharos:2.0:User:badgeCards"}`,
			`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"999"}`,
			`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}`,
		} {
			got, err := m.PatchChanges(scim.User, ownedRecord(), mustPatch(t, scim.User, patchOf(ops)))
			require.NoError(t, err, ops)
			require.Empty(t, got.List, ops)
		}
	})
	t.Run("a retried create keeps them too", func(t *testing.T) {
		req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, ownedBody))
		require.NoError(t, err)
		got, err := m.RetriedCreateChanges(ownedRecord(), req)
		require.NoError(t, err)
		require.Empty(t, got.List)
	})
	t.Run("they are returned", func(t *testing.T) {
		res, err := m.ToResource(scim.User, ownedRecord())
		require.NoError(t, err)
		require.Equal(t, []any{"C1"}, res["urn:ietf:params:scim:schemas:extension:pharos:2.0:User"].(map[string]any)["badgeCards"])
	})
	t.Run("/Schemas says so", func(t *testing.T) {
		idx := schemaAttrs(m.Discovery(), scim.User)
		require.Equal(t, scim.ReadOnly, idx["urn:ietf:params:scim:schemas:extension:pharos:2.0:User"]["badgecards"].Mutability)
		require.Equal(t, scim.Immutable, idx[scim.SchemaEnterprise]["employeenumber"].Mutability)
	})
}

func patchOf(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

func TestMutabilityErrors(t *testing.T) {
	for _, tc := range []struct{ name, item, want string }{
		{"unknown value", `- {scim: title, target: title, mutability: writeOnce}`, `must be readWrite (the default), readOnly`},
		{"readOnly and required", `- {scim: title, target: title, mutability: readOnly, required: true}`, "cannot be required"},
		{"readOnly match key", `- {scim: displayName, target: dn, mutability: readOnly, match: 3}`, "cannot be readOnly"},
		{"readOnly computed", `- {target: cn, toTarget: 'attr("userName")', mutability: readOnly}`, "it cannot be readOnly"},
		{"not a string", `- {scim: title, target: title, mutability: [readOnly]}`, "must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(usersWith("    "+tc.item+"\n")))
			require.ErrorContains(t, err, tc.want)
			require.Regexp(t, `^test\.yaml:\d+:\d+: users\.attributes\[2\]\.mutability`, err.Error())
		})
	}
	m := mustParse(t, usersWith(`    - {target: cn, toTarget: 'attr("userName")', mutability: immutable}`+"\n"))
	req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, `{"userName":"u1","externalId":"e"}`))
	require.NoError(t, err)
	require.Equal(t, []string{"u1"}, req.Attrs["cn"], "an immutable computed attribute is written on create")
	cur := backends.Record{ID: "1", Attrs: map[string][]string{"external_id": {"e"}, "login": {"u1"}, "cn": {"u1"}}}
	got, err := m.PatchChanges(scim.User, cur, mustPatch(t, scim.User, patchOf(`{"op":"replace","path":"userName","value":"u2"}`)))
	require.NoError(t, err)
	require.Equal(t, []backends.Change{{Op: backends.Replace, Attr: "login", Values: []string{"u2"}}}, got.List, "and kept on a rename")
}

// TestPatchRemovingRequired: a PATCH that takes a required attribute's
// value away gets the 400 a create without it gets; one that leaves an
// entry without it (made outside SCIM) as it was is applied.
func TestPatchRemovingRequired(t *testing.T) {
	m := mustLoad(t, pharosMapping)
	for _, op := range []string{
		`{"op":"remove","path":"emails[type eq \"work\"].value"}`,
		`{"op":"remove","path":"emails"}`,
		`{"op":"replace","path":"emails[type eq \"work\"].value","value":""}`,
		`{"op":"replace","path":"emails","value":[]}`,
	} {
		_, err := m.PatchChanges(scim.User, alice(), mustPatch(t, scim.User, patchOf(op)))
		var se *scim.Error
		require.ErrorAs(t, err, &se, op)
		require.Equal(t, scim.Error{Status: http.StatusBadRequest, ScimType: scim.InvalidValue, Detail: mailRequired}, *se, op)
	}
	noMail := alice()
	delete(noMail.Attrs, "email")
	got, err := m.PatchChanges(scim.User, noMail, mustPatch(t, scim.User, patchOf(`{"op":"replace","path":"title","value":"Boss"}`)))
	require.NoError(t, err)
	require.Equal(t, []backends.Change{{Op: backends.Replace, Attr: "title", Values: []string{"Boss"}}}, got.List)
	_, err = m.NewRequest(scim.User, mustDecode(t, scim.User, `{"userName":"u","externalId":"e"}`))
	require.ErrorContains(t, err, mailRequired, "a create gets the same answer")
}
