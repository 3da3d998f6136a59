package scim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// opText renders decoded operations compactly for table tests.
func opText(ops []PatchOp) []string {
	var out []string
	for _, op := range ops {
		p := "<nil>"
		if op.Path != nil {
			p = op.Path.String()
		}
		v := "-"
		if op.Value != nil {
			b, err := marshalNoEscape(op.Value)
			if err != nil {
				v = fmt.Sprint(op.Value)
			} else {
				v = string(b)
			}
		}
		out = append(out, op.Op+" "+p+" "+v)
	}
	return out
}

func TestDecodePatch(t *testing.T) {
	ent := SchemaEnterprise
	tests := []struct {
		name string
		kind Kind
		ops  string // the Operations list
		want []string
	}{
		{name: "op casing", kind: User, ops: `[{"op":"Add","path":"title","value":"a"},{"op":"REPLACE","path":"nickName","value":"b"},{"op":"Remove","path":"locale"}]`,
			want: []string{`add title "a"`, `replace nickName "b"`, `remove locale -`}},
		{name: "active strings", kind: User, ops: `[{"op":"Replace","path":"active","value":"False"},{"op":"Replace","path":"active","value":"true"},{"op":"Replace","path":"Active","value":false}]`,
			want: []string{`replace active false`, `replace active true`, `replace active false`}},
		{name: "primary string in filter path", kind: User, ops: `[{"op":"replace","path":"emails[type eq \"work\"].primary","value":"True"}]`,
			want: []string{`replace emails[type eq "work"].primary true`}},
		{name: "manager string", kind: User, ops: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}]`,
			want: []string{`add ` + ent + `:manager {"value":"m1"}`}},
		{name: "manager array", kind: User, ops: `[{"op":"Add","path":"manager","value":[{"$ref":"http://x/Users/m1","value":"m1"}]}]`,
			want: []string{`add ` + ent + `:manager {"value":"m1"}`}},
		{name: "manager object", kind: User, ops: `[{"op":"replace","path":"manager","value":{"value":"m1","displayName":"Boss"}}]`,
			want: []string{`replace ` + ent + `:manager {"value":"m1"}`}},
		{name: "manager empty string is removal", kind: User, ops: `[{"op":"replace","path":"manager","value":""}]`,
			want: []string{`remove ` + ent + `:manager -`}},
		{name: "manager value sub-attribute", kind: User, ops: `[{"op":"replace","path":"manager.value","value":"m2"}]`,
			want: []string{`replace ` + ent + `:manager.value "m2"`}},
		{name: "null value is removal", kind: User, ops: `[{"op":"replace","path":"title","value":null}]`,
			want: []string{`remove title -`}},
		{name: "path-less dotted and URN keys", kind: User,
			ops:  `[{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]`,
			want: []string{`replace displayName "Bjfe"`, `replace name.familyName "Unua"`, `replace name.givenName "Kkom"`, `replace ` + ent + `:employeeNumber "Aklq"`}},
		{name: "path-less extension object", kind: User,
			ops:  `[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Department":"D","manager":"m1"}}}]`,
			want: []string{`add ` + ent + `:department "D"`, `add ` + ent + `:manager {"value":"m1"}`}},
		{name: "path-less value-filter key", kind: User, ops: `[{"op":"add","value":{"emails[type eq \"work\"].value":"a@b"}}]`,
			want: []string{`add emails[type eq "work"].value "a@b"`}},
		{name: "path-less complex object expands", kind: User, ops: `[{"op":"replace","value":{"name":{"givenName":"G","familyName":null}}}]`,
			want: []string{`remove name.familyName -`, `replace name.givenName "G"`}},
		{name: "path-less active string and read-only dropped", kind: User, ops: `[{"op":"replace","value":{"active":"False","id":"x","meta":{},"schemas":[],"groups":[]}}]`,
			want: []string{`replace active false`}},
		{name: "path-less empty object", kind: User, ops: `[{"op":"replace","value":{}}]`, want: nil},
		{name: "complex path expands", kind: User, ops: `[{"op":"replace","path":"name","value":{"GivenName":"G"}}]`,
			want: []string{`replace name.givenName "G"`}},
		{name: "extension URN path expands", kind: User, ops: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"costCenter":"c"}}]`,
			want: []string{`add ` + ent + `:costCenter "c"`}},
		{name: "read-only paths dropped", kind: User, ops: `[{"op":"replace","path":"id","value":"x"},{"op":"add","path":"meta.created","value":"x"},{"op":"add","path":"groups","value":[]},{"op":"replace","path":"schemas","value":[]}]`,
			want: nil},
		{name: "multi-valued single object wrapped", kind: User, ops: `[{"op":"add","path":"emails","value":{"value":"a@b","type":"home","primary":"false"}}]`,
			want: []string{`add emails [{"primary":false,"type":"home","value":"a@b"}]`}},
		{name: "value-filter path without sub takes an element", kind: User, ops: `[{"op":"replace","path":"emails[type eq \"work\"]","value":{"value":"a@b","primary":"True"}}]`,
			want: []string{`replace emails[type eq "work"] {"primary":true,"value":"a@b"}`}},
		{name: "remove with old value on sub path ignores it", kind: User, ops: `[{"op":"Remove","path":"emails[type eq \"work\"].value","value":"old@x"}]`,
			want: []string{`remove emails[type eq "work"].value -`}},
		{name: "remove manager with value", kind: User, ops: `[{"op":"remove","path":"manager","value":[{"value":"m1"}]}]`,
			want: []string{`remove ` + ent + `:manager {"value":"m1"}`}},
		{name: "members add shapes", kind: Group, ops: `[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"},"u2",{"value":"u3","display":"U3","type":"User"}]}]`,
			want: []string{`add members [{"value":"u1"},{"value":"u2"},{"display":"U3","value":"u3"}]`}},
		{name: "members single object", kind: Group, ops: `[{"op":"add","path":"members","value":{"value":"u1"}}]`,
			want: []string{`add members [{"value":"u1"}]`}},
		{name: "members remove with value", kind: Group, ops: `[{"op":"Remove","path":"members","value":[{"value":"u1091"}]}]`,
			want: []string{`remove members [{"value":"u1091"}]`}},
		{name: "members remove filter", kind: Group, ops: `[{"op":"remove","path":"members[value eq \"7f4b\"]"}]`,
			want: []string{`remove members[value eq "7f4b"] -`}},
		{name: "path-less members replace", kind: Group, ops: `[{"op":"replace","value":{"members":[{"value":"u1"}],"displayName":"g"}}]`,
			want: []string{`replace displayName "g"`, `replace members [{"value":"u1"}]`}},
		{name: "roles JSON string kept", kind: User, ops: `[{"op":"Add","path":"roles","value":[{"value":"{\"id\":\"1\"}"}]}]`,
			want: []string{`add roles [{"value":"{\"id\":\"1\"}"}]`}},
		{name: "unknown attributes pass through", kind: User, ops: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:Custom:2.0:User:Attr","value":{"deep":[1]}},{"op":"add","path":"foo","value":7}]`,
			want: []string{`add urn:ietf:params:scim:schemas:extension:Custom:2.0:User:Attr {"deep":[1]}`, `add foo 7`}},
		{name: "blank path is path-less", kind: User, ops: `[{"op":"replace","path":" ","value":{"title":"x"}}]`,
			want: []string{`replace title "x"`}},
		{name: "legacy dotted path", kind: User, ops: `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager","value":"m"}]`,
			want: []string{`replace ` + ent + `:manager {"value":"m"}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + tc.ops + `}`
			ops, err := DecodePatch(tc.kind, []byte(body))
			require.NoError(t, err)
			if d := cmp.Diff(tc.want, opText(ops)); d != "" {
				t.Fatalf("DecodePatch mismatch (-want +got):\n%s", d)
			}
			for _, op := range ops {
				require.NotNil(t, op.Path)
			}
		})
	}
}

func TestDecodePatchErrors(t *testing.T) {
	many := `{"Operations":[` + strings.TrimSuffix(strings.Repeat(`{"op":"add","path":"title","value":"x"},`, MaxPatchOperations+1), ",") + `]}`
	tests := []struct {
		name      string
		body      string
		scimType  string
		fragments []string
	}{
		{"not JSON", `{"Operations":[`, InvalidSyntax, []string{"PATCH body"}},
		{"not an object", `[]`, InvalidSyntax, []string{"must be a JSON object"}},
		{"no Operations", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, InvalidSyntax, []string{`"Operations"`}},
		{"Operations null", `{"Operations":null}`, InvalidSyntax, []string{`"Operations"`}},
		{"Operations not a list", `{"Operations":{"op":"add"}}`, InvalidSyntax, []string{"must be a list"}},
		{"Operations empty", `{"Operations":[]}`, InvalidSyntax, []string{"empty"}},
		{"too many", many, InvalidSyntax, []string{"at most 1000"}},
		{"operation not object", `{"Operations":["add"]}`, InvalidSyntax, []string{"Operations[0]", "must be an object"}},
		{"bad op", `{"Operations":[{"op":"move","path":"title","value":"x"}]}`, InvalidSyntax, []string{"Operations[0]", `"move"`}},
		{"missing op", `{"Operations":[{"path":"title","value":"x"}]}`, InvalidSyntax, []string{`"op"`, "null"}},
		{"remove without path", `{"Operations":[{"op":"Remove"}]}`, NoTarget, []string{"remove needs a"}},
		{"path-less scalar", `{"Operations":[{"op":"replace","value":"x"}]}`, InvalidValue, []string{"needs an object value"}},
		{"path not string", `{"Operations":[{"op":"add","path":5,"value":"x"}]}`, InvalidPath, []string{`"path" must be a string`}},
		{"bad path", `{"Operations":[{"op":"add","path":"title","value":"x"},{"op":"add","path":"emails[type eq","value":"x"}]}`, InvalidPath, []string{"Operations[1]", "emails[type eq"}},
		{"bad path-less key", `{"Operations":[{"op":"add","value":{"1bad":"x"}}]}`, InvalidPath, []string{`"1bad"`}},
		{"missing value", `{"Operations":[{"op":"add","path":"title"}]}`, InvalidValue, []string{"needs a \"value\""}},
		{"userName number", `{"Operations":[{"op":"replace","path":"userName","value":5}]}`, InvalidValue, []string{"userName must be a string"}},
		{"active word", `{"Operations":[{"op":"replace","path":"active","value":"nope"}]}`, InvalidValue, []string{"active must be true or false"}},
		{"name scalar", `{"Operations":[{"op":"replace","path":"name","value":"x"}]}`, InvalidValue, []string{"name must be an object"}},
		{"emails element scalar", `{"Operations":[{"op":"add","path":"emails","value":["a@b"]}]}`, InvalidValue, []string{"emails must be an object"}},
		{"manager object without string", `{"Operations":[{"op":"add","path":"manager","value":{"value":5}}]}`, InvalidValue, []string{"manager.value must be a string"}},
		{"member without value", `{"Operations":[{"op":"add","path":"members","value":[{"display":"x"}]}]}`, InvalidValue, []string{"members"}},
		{"extension path non-object", `{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":"x"}]}`, InvalidValue, []string{"must be an object"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind := User
			if strings.Contains(tc.body, "members") {
				kind = Group
			}
			_, err := DecodePatch(kind, []byte(tc.body))
			requireSCIMError(t, err, tc.scimType, tc.fragments...)
		})
	}
}

func TestApplyPatch(t *testing.T) {
	ent := SchemaEnterprise
	base := `{"userName":"u","name":{"givenName":"g","familyName":"f"},
		"emails":[{"type":"work","value":"w@x","primary":true},{"type":"other","value":"o@x"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`
	tests := []struct {
		name    string
		kind    Kind
		before  string
		ops     string
		after   string
		changes []MemberChange
	}{
		{name: "add single-valued replaces", kind: User, before: `{"title":"a"}`, ops: `[{"op":"add","path":"title","value":"b"}]`, after: `{"title":"b"}`},
		{name: "add multi-valued appends and dedupes", kind: User, before: base,
			ops: `[{"op":"add","path":"emails","value":[{"type":"other","value":"O@X"},{"type":"home","value":"h@x"}]}]`,
			after: `{"userName":"u","name":{"givenName":"g","familyName":"f"},
				"emails":[{"type":"work","value":"w@x","primary":true},{"type":"other","value":"o@x"},{"type":"home","value":"h@x"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`},
		{name: "add primary element takes primary", kind: User, before: `{"emails":[{"type":"work","value":"w@x","primary":true}]}`,
			ops:   `[{"op":"add","path":"emails","value":[{"type":"home","value":"h@x","primary":true}]}]`,
			after: `{"emails":[{"type":"work","value":"w@x","primary":false},{"type":"home","value":"h@x","primary":true}]}`},
		{name: "replace multi-valued replaces list", kind: User, before: base,
			ops: `[{"op":"replace","path":"emails","value":[{"type":"work","value":"n@x"}]}]`,
			after: `{"userName":"u","name":{"givenName":"g","familyName":"f"},"emails":[{"type":"work","value":"n@x"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`},
		{name: "replace filtered creates typed element", kind: User, before: `{"userName":"u"}`,
			ops:   `[{"op":"replace","path":"emails[type eq \"work\"].value","value":"w@x"}]`,
			after: `{"userName":"u","emails":[{"type":"work","value":"w@x"}]}`},
		{name: "replace filtered with two conditions creates both", kind: User, before: `{}`,
			ops:   `[{"op":"replace","path":"emails[type eq \"work\" and primary eq true].value","value":"w@x"}]`,
			after: `{"emails":[{"type":"work","primary":true,"value":"w@x"}]}`},
		{name: "replace filtered element object merges", kind: User, before: base,
			ops: `[{"op":"replace","path":"emails[type eq \"other\"]","value":{"value":"o2@x","display":"Other"}}]`,
			after: `{"userName":"u","name":{"givenName":"g","familyName":"f"},
				"emails":[{"type":"work","value":"w@x","primary":true},{"type":"other","value":"o2@x","display":"Other"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`},
		{name: "replace with or filter and no match fails", kind: User, before: `{}`,
			ops: `[{"op":"replace","path":"emails[type eq \"a\" or type eq \"b\"].value","value":"x"}]`, after: "noTarget"},
		{name: "replace complex merges", kind: User, before: base,
			ops: `[{"op":"replace","path":"name","value":{"givenName":"G2"}}]`,
			after: `{"userName":"u","name":{"givenName":"G2","familyName":"f"},
				"emails":[{"type":"work","value":"w@x","primary":true},{"type":"other","value":"o@x"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`},
		{name: "remove sub clears and drops hollow element", kind: User, before: base,
			ops: `[{"op":"remove","path":"emails[type eq \"work\"].value","value":"w@x"}]`,
			after: `{"userName":"u","name":{"givenName":"g","familyName":"f"},"emails":[{"type":"other","value":"o@x"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`},
		{name: "remove filtered elements", kind: User, before: base,
			ops: `[{"op":"remove","path":"emails[type eq \"other\"]"}]`,
			after: `{"userName":"u","name":{"givenName":"g","familyName":"f"},"emails":[{"type":"work","value":"w@x","primary":true}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`},
		{name: "remove multi-valued by value", kind: User, before: base,
			ops: `[{"op":"remove","path":"emails","value":[{"value":"O@x"}]}]`,
			after: `{"userName":"u","name":{"givenName":"g","familyName":"f"},"emails":[{"type":"work","value":"w@x","primary":true}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`},
		{name: "remove manager filter mismatch keeps it", kind: User, before: base,
			ops: `[{"op":"remove","path":"manager[value eq \"other\"]"}]`, after: base},
		{name: "remove manager with other value keeps it", kind: User, before: base,
			ops: `[{"op":"remove","path":"manager","value":"other"}]`, after: base},
		{name: "remove manager with matching value", kind: User, before: base,
			ops: `[{"op":"remove","path":"manager","value":{"value":"M1"}}]`,
			after: `{"userName":"u","name":{"givenName":"g","familyName":"f"},
				"emails":[{"type":"work","value":"w@x","primary":true},{"type":"other","value":"o@x"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`},
		{name: "remove last extension attribute drops the object", kind: User, before: `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			ops: `[{"op":"remove","path":"department"}]`, after: `{}`},
		{name: "remove absent is fine", kind: User, before: `{"userName":"u"}`,
			ops: `[{"op":"remove","path":"title"},{"op":"remove","path":"emails[type eq \"work\"].value"},{"op":"remove","path":"manager"}]`, after: `{"userName":"u"}`},
		{name: "read-only ignored", kind: User, before: `{"userName":"u"}`,
			ops: `[{"op":"replace","path":"id","value":"x"}]`, after: `{"userName":"u"}`},
		{name: "set sub of scalar fails", kind: User, before: `{"userName":"u"}`,
			ops: `[{"op":"replace","path":"userName.x","value":"y"}]`, after: "invalidPath"},
		{name: "simple paths of section 7", kind: User, before: `{"userName":"u"}`,
			ops: `[{"op":"Replace","path":"userName","value":"v"},{"op":"Add","path":"active","value":"True"},{"op":"Add","path":"displayName","value":"D"},
				{"op":"Add","path":"title","value":"T"},{"op":"Replace","path":"externalId","value":"E"},{"op":"Add","path":"nickName","value":"N"},
				{"op":"Add","path":"preferredLanguage","value":"en-US"},{"op":"Replace","path":"name.formatted","value":"F"}]`,
			after: `{"userName":"v","active":true,"displayName":"D","title":"T","externalId":"E","nickName":"N","preferredLanguage":"en-US","name":{"formatted":"F"}}`},
		{name: "duplicate operations tolerated", kind: User, before: `{}`,
			ops: `[{"op":"Add","path":"emails[type eq \"work\"].value","value":"w@x"},{"op":"Add","path":"emails[type eq \"work\"].value","value":"w@x"},
				{"op":"Add","path":"roles","value":[{"value":"r"}]},{"op":"Add","path":"roles","value":[{"value":"r"}]}]`,
			after: `{"emails":[{"type":"work","value":"w@x"}],"roles":[{"value":"r"}]}`},
		{name: "ops apply in order", kind: User, before: `{}`,
			ops: `[{"op":"add","path":"title","value":"a"},{"op":"remove","path":"title"},{"op":"add","path":"title","value":"b"}]`, after: `{"title":"b"}`},
		{name: "manager replaced", kind: User, before: base,
			ops: `[{"op":"replace","path":"` + ent + `:manager","value":"m2"}]`,
			after: `{"userName":"u","name":{"givenName":"g","familyName":"f"},
				"emails":[{"type":"work","value":"w@x","primary":true},{"type":"other","value":"o@x"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m2"},"department":"D"}}`},
		{name: "group members become changes", kind: Group, before: `{"displayName":"g"}`,
			ops: `[{"op":"Add","path":"members","value":[{"value":"u1"},{"value":"u1"},"u2"]},
				{"op":"Remove","path":"members","value":[{"value":"u3"}]},
				{"op":"remove","path":"members[value eq \"u4\" or value eq \"u5\"]"},
				{"op":"replace","path":"members","value":[]},
				{"op":"replace","value":{"members":[{"value":"u6"}],"displayName":"g2"}},
				{"op":"Remove","path":"members"},
				{"op":"add","path":"members","value":[]},
				{"op":"replace","path":"members[value eq \"u7\"].display","value":"x"}]`,
			after: `{"displayName":"g2"}`,
			changes: []MemberChange{{Op: "add", IDs: []string{"u1", "u2"}}, {Op: "remove", IDs: []string{"u3"}}, {Op: "remove", IDs: []string{"u4", "u5"}},
				{Op: "replace", IDs: []string{}}, {Op: "replace", IDs: []string{"u6"}}, {Op: "remove"}}},
		{name: "members filter by display fails", kind: Group, before: `{}`,
			ops: `[{"op":"remove","path":"members[display eq \"x\"]"}]`, after: "invalidFilter"},
		{name: "members on a user is a plain attribute", kind: User, before: `{}`,
			ops: `[{"op":"add","path":"members","value":[{"value":"u1"}]}]`, after: `{"members":[{"value":"u1"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops, err := DecodePatch(tc.kind, []byte(`{"Operations":`+tc.ops+`}`))
			require.NoError(t, err)
			r := mustResource(t, []byte(tc.before))
			changes, err := ApplyPatch(tc.kind, r, ops)
			if !strings.HasPrefix(tc.after, "{") {
				requireSCIMError(t, err, tc.after, "Operations[")
				return
			}
			require.NoError(t, err)
			if d := cmp.Diff(mustJSON(t, tc.after), map[string]any(r)); d != "" {
				t.Fatalf("ApplyPatch mismatch (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.changes, changes, cmpEmptyNil()); d != "" {
				t.Fatalf("member changes mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// TestApplyPatchHandBuilt covers operations built in code (path-less
// object values, odd op spellings) rather than decoded.
func TestApplyPatchHandBuilt(t *testing.T) {
	r := Resource{}
	changes, err := ApplyPatch(Group, r, []PatchOp{
		{Op: "Replace", Value: map[string]any{"displayName": "g", "members": []any{map[string]any{"value": "u1"}}}},
	})
	require.NoError(t, err)
	require.Equal(t, Resource{"displayName": "g"}, r)
	require.Equal(t, []MemberChange{{Op: "replace", IDs: []string{"u1"}}}, changes)

	_, err = ApplyPatch(User, r, []PatchOp{{Op: "move", Path: &Path{Attr: "title"}}})
	requireSCIMError(t, err, InvalidSyntax, "Operations[0]")
	_, err = ApplyPatch(User, r, []PatchOp{{Op: "remove"}})
	requireSCIMError(t, err, NoTarget)
	_, err = ApplyPatch(User, r, []PatchOp{{Op: "add", Value: "x"}})
	requireSCIMError(t, err, InvalidValue)
}

func TestSetRemove(t *testing.T) {
	r := Resource{}
	require.NoError(t, r.Set(MustParsePath(User, "name.givenName"), "g"))
	require.NoError(t, r.Set(MustParsePath(User, `phoneNumbers[type eq "mobile"].value`), "+1"))
	require.NoError(t, r.Set(MustParsePath(User, `phoneNumbers[type eq "mobile"].value`), "+2"))
	require.NoError(t, r.Set(MustParsePath(User, "emails.value"), "a@b"))
	require.NoError(t, r.Set(MustParsePath(User, "department"), "D"))
	require.NoError(t, r.Set(MustParsePath(User, SchemaEnterprise), map[string]any{"costCenter": "c"}))
	require.NoError(t, r.Set(MustParsePath(User, `manager[value eq "m"].displayName`), "Boss"))
	want := mustJSON(t, `{"name":{"givenName":"g"},"phoneNumbers":[{"type":"mobile","value":"+2"}],"emails":[{"value":"a@b"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","costCenter":"c","manager":{"value":"m","displayName":"Boss"}}}`)
	if d := cmp.Diff(want, map[string]any(r)); d != "" {
		t.Fatalf("Set mismatch (-want +got):\n%s", d)
	}
	require.Error(t, r.Set(MustParsePath(User, SchemaEnterprise), "x"))
	require.Error(t, r.Set(MustParsePath(User, `emails[type eq "work"]`), "x"), "an element needs an object")

	require.NoError(t, r.Remove(MustParsePath(User, "emails.value")))
	_, ok := r.Get(MustParsePath(User, "emails"))
	require.False(t, ok, "emptied list is dropped")
	require.NoError(t, r.Remove(MustParsePath(User, "name.givenName")))
	_, ok = r.Get(MustParsePath(User, "name"))
	require.False(t, ok, "emptied complex is dropped")
	require.NoError(t, r.Remove(MustParsePath(User, SchemaEnterprise)))
	require.NoError(t, r.Remove(MustParsePath(User, "urn:x:y:User:z")))
	require.NoError(t, r.Set(MustParsePath(User, "title"), nil))
	require.Equal(t, Resource{"phoneNumbers": []any{map[string]any{"type": "mobile", "value": "+2"}}}, r)
}

// TestPatchHostileSizes checks that big bodies are bounded with a clear
// 400 and that the largest accepted batch is applied.
func TestPatchHostileSizes(t *testing.T) {
	members := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"value":"u%d"}`, i)
		}
		return b.String()
	}
	ops, err := DecodePatch(Group, []byte(`{"Operations":[{"op":"Add","path":"members","value":[`+members(MaxPatchValues)+`]}]}`))
	require.NoError(t, err)
	changes, err := ApplyPatch(Group, Resource{}, ops)
	require.NoError(t, err)
	require.Len(t, changes, 1)
	require.Len(t, changes[0].IDs, MaxPatchValues)

	_, err = DecodePatch(Group, []byte(`{"Operations":[{"op":"Remove","path":"members","value":[`+members(MaxPatchValues+1)+`]}]}`))
	requireSCIMError(t, err, InvalidValue, "10001 values", "at most 10000")

	// A large add to a multi-valued attribute and a large removal stay
	// linear (set-based), and dedupe case-insensitively.
	var emails strings.Builder
	for i := 0; i < MaxPatchValues; i++ {
		if i > 0 {
			emails.WriteByte(',')
		}
		fmt.Fprintf(&emails, `{"type":"other","value":"A%d@x"}`, i%5000)
	}
	ops, err = DecodePatch(User, []byte(`{"Operations":[{"op":"add","path":"emails","value":[`+emails.String()+`]},
		{"op":"remove","path":"emails","value":[`+strings.ReplaceAll(emails.String(), `"type":"other",`, "")+`]}]}`))
	require.NoError(t, err)
	r := Resource{"emails": []any{map[string]any{"type": "other", "value": "a1@X"}}}
	_, err = ApplyPatch(User, r, ops)
	require.NoError(t, err)
	require.Equal(t, Resource{}, r)

	var keys strings.Builder
	for i := 0; i <= maxExpandedOps; i++ {
		if i > 0 {
			keys.WriteByte(',')
		}
		fmt.Fprintf(&keys, `"x%d":"v"`, i)
	}
	_, err = DecodePatch(User, []byte(`{"Operations":[{"op":"replace","value":{`+keys.String()+`}}]}`))
	requireSCIMError(t, err, InvalidValue, "10001 attributes", "at most 10000")

	deep := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	ops, err = DecodePatch(User, []byte(`{"Operations":[{"op":"add","path":"custom","value":[`+deep+`]},{"op":"add","path":"custom","value":[`+deep+`]}]}`))
	require.NoError(t, err, "unknown attributes are carried, however deep")
	r = Resource{}
	_, err = ApplyPatch(User, r, ops)
	require.NoError(t, err)
	require.Len(t, r["custom"], 1, "deep equal values dedupe")
}
