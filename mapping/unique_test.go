package mapping

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

const uniqueSrc = `
users:
  target: {table: users, key: id}
  attributes:
    - {scim: externalId, target: ext, match: 1}
    - {scim: userName, target: login, match: 2}
    - {scim: displayName, target: display}
    - target: cn
      selectUniqueValue:
        - 'attr("displayName")'
        - 'value + " (" + Left(attr("externalId"), 4) + ")"'
        - 'Join(" ", value, n + 1)'
    - target: sam
      selectUniqueValue:
        - 'Word(attr("userName"), 1, "@")'
        - 'Left(value, 3) + Left(attr("externalId"), 2)'
` + minimalGroups

// A create the directory refuses on a selectUniqueValue attribute tries
// the next candidate of the attribute the directory named, in order, the
// same for the same input; the last one counts until maxUniqueTries.
func TestSelectUniqueValue(t *testing.T) {
	m := mustParse(t, uniqueSrc)
	req, err := m.NewRequest(scim.User, mustDecode(t, scim.User, `{"externalId":"abcdef","userName":"ana@x.com","displayName":"Ana Silva"}`))
	require.NoError(t, err)
	require.Equal(t, []string{"Ana Silva"}, req.Attrs["cn"])
	require.Equal(t, []string{"ana"}, req.Attrs["sam"])

	cnTaken := fmt.Errorf("ldap: add: %w", &backends.ConflictError{Attr: "CN"})
	var cns []string
	r := req
	for {
		cns = append(cns, r.Value("cn"))
		require.Equal(t, "ana", r.Value("sam"), "only the attribute the directory named moves on")
		next, ok, err := r.Next(cnTaken)
		require.NoError(t, err)
		if !ok {
			break
		}
		r = next
	}
	require.Len(t, cns, maxUniqueTries)
	require.Equal(t, []string{"Ana Silva", "Ana Silva (abcd)", "Ana Silva 2", "Ana Silva 3"}, cns[:4])
	require.Equal(t, "Ana Silva 99", cns[maxUniqueTries-1])

	// A refusal that names no candidate attribute moves every one on;
	// sam has two candidates, then stays.
	r, ok, err := req.Next(backends.ErrConflict)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "anaab", r.Value("sam"))
	require.Equal(t, "Ana Silva (abcd)", r.Value("cn"))

	samTaken := &backends.ConflictError{Attr: "sam"}
	r, ok, err = r.Next(samTaken)
	require.NoError(t, err)
	require.False(t, ok, "sam has no third candidate")

	again, err := m.NewRequest(scim.User, mustDecode(t, scim.User, `{"externalId":"abcdef","userName":"ana@x.com","displayName":"Ana Silva"}`))
	require.NoError(t, err)
	n1, _, _ := again.Next(cnTaken)
	n2, _, _ := req.Next(cnTaken)
	require.Equal(t, n2.Attrs, n1.Attrs, "deterministic")
}

// A rename the directory refuses tries the next candidate; any other
// conflict (a SCIM key) is not the mapping's to solve.
func TestRenameTriesTheNextCandidate(t *testing.T) {
	m := mustParse(t, uniqueSrc)
	cur := backends.Record{Kind: backends.User, ID: "1", Attrs: map[string][]string{
		"ext": {"abcdef"}, "login": {"ana@x.com"}, "display": {"Ana Silva"}}}
	cs, err := m.PatchChanges(scim.User, cur, mustPatch(t, scim.User,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Ana Maria"}]}`))
	require.NoError(t, err)
	require.Equal(t, []backends.Change{
		{Op: backends.Replace, Attr: "cn", Values: []string{"Ana Maria"}},
		{Op: backends.Replace, Attr: "display", Values: []string{"Ana Maria"}},
	}, cs.List)
	_, ok, err := cs.Next(&backends.ConflictError{Attr: "login"})
	require.NoError(t, err)
	require.False(t, ok, "a taken userName is a 409")
	next, ok, err := cs.Next(&backends.ConflictError{Attr: "cn"})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []string{"Ana Maria (abcd)"}, next.List[0].Values)

	title, err := m.PatchChanges(scim.User, cur, mustPatch(t, scim.User,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"ana2@x.com"}]}`))
	require.NoError(t, err)
	_, ok, _ = title.Next(&backends.ConflictError{Attr: "cn"})
	require.False(t, ok, "a write that does not change cn has no cn to try again")
}

func TestSelectUniqueValueErrors(t *testing.T) {
	for _, tc := range []struct{ name, item, want string }{
		{"with scim", `    - {scim: title, target: t, selectUniqueValue: ['attr("title")']}`, "selectUniqueValue computes a value of its own"},
		{"with toTarget", `    - {target: t, toTarget: '"x"', selectUniqueValue: ['"y"']}`, "give toTarget or selectUniqueValue, not both"},
		{"empty", `    - {target: t, selectUniqueValue: []}`, "needs at least one candidate"},
		{"n before the last", `    - {target: t, selectUniqueValue: ['Join("", n)', '"y"']}`, "only the last candidate may count with n"},
		{"not a list", `    - {target: t, selectUniqueValue: 'x'}`, "must be a list of candidate expressions"},
		{"bad expression", `    - {target: t, selectUniqueValue: ['attr(']}`, "candidate does not compile"},
		{"n in toTarget", `    - {target: t, toTarget: 'Join("", n)'}`, "toTarget does not compile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(usersWith(tc.item+"\n")))
			require.ErrorContains(t, err, tc.want)
		})
	}
}
