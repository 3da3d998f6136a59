package ldap

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

// hostile is the alphabet of the injection property tests: every
// character with a meaning in an RFC 4515 filter or an RFC 4514 DN,
// quotes, NUL, white space, and multi-byte UTF-8.
var hostile = []rune("()*\\=+,;<>\"#' \t\x00\nabcXYZ019-_.@éß€漢字😀")

func hostileString(r *rand.Rand, maxLen int) string {
	n := 1 + r.IntN(maxLen)
	var sb strings.Builder
	for range n {
		sb.WriteRune(hostile[r.IntN(len(hostile))])
	}
	return sb.String()
}

// TestEscapingProperty: for any value, the filter a SCIM eq becomes is one
// equality match whose assertion is exactly the value, and the DN built
// for a value parses back to exactly that value under the parent (no
// server needed).
func TestEscapingProperty(t *testing.T) {
	_, users, _, err := compile(backends.Config{"url": "ldap://127.0.0.1:1", "bindDN": "cn=admin,dc=example,dc=org",
		"password": "x", "baseDN": "dc=example,dc=org"}, testSchema())
	require.NoError(t, err)
	users.longAttr = "" // every value as an RDN here
	b := &Backend{users: users}
	n := 200000
	if testing.Short() {
		n = 20000
	}
	r := rand.New(rand.NewPCG(1, 2))
	parent, err := goldap.ParseDN(users.parent)
	require.NoError(t, err)
	for i := range n {
		v := hostileString(r, 24)
		for _, op := range []backends.CmpOp{backends.Eq, backends.Ne} {
			f, err := b.compare(nil, users, backends.Cmp{Attr: "uid", Op: op, Value: v})
			require.NoError(t, err)
			p, err := goldap.CompileFilter(f)
			require.NoError(t, err, "value %q gave filter %q", v, f)
			if op == backends.Ne {
				require.Equal(t, ber.Tag(goldap.FilterNot), p.Tag, "value %q", v)
				p = p.Children[0]
			}
			require.Equal(t, ber.Tag(goldap.FilterEqualityMatch), p.Tag, "value %q became %q", v, f)
			require.Equal(t, "uid", p.Children[0].Value)
			require.Equal(t, v, p.Children[1].Data.String(), "case %d", i)
		}
		dn, err := goldap.ParseDN(users.dnFor(v, users.parent))
		require.NoError(t, err, "value %q", v)
		require.Len(t, dn.RDNs, len(parent.RDNs)+1, "value %q split the DN", v)
		require.Len(t, dn.RDNs[0].Attributes, 1)
		require.Equal(t, v, dn.RDNs[0].Attributes[0].Value, "DN of %q", v)
		require.True(t, parent.AncestorOf(dn))
	}
}

// TestInjectionAgainstSlapd creates thousands of users named with hostile
// values through the backend and finds each exactly once by equality, and
// checks that each entry's DN carries its value.
func TestInjectionAgainstSlapd(t *testing.T) {
	b, ou := newTestBackend(t)
	n := 2000
	if testing.Short() {
		n = 200
	}
	r := rand.New(rand.NewPCG(3, 4))
	values := make([]string, n)
	for i := range values {
		// The number in the middle keeps values distinct even where the
		// directory folds case and spaces.
		values[i] = hostileString(r, 10) + fmt.Sprintf("|%d|", i) + hostileString(r, 10)
	}
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range work {
				rec, err := b.Create(context.Background(), backends.User, map[string][]string{
					"uid": {values[i]}, "sn": {"x"}, "cn": {values[i]}, "scimExternalId": {fmt.Sprintf("ext-%d", i)},
				})
				ids[i], errs[i] = rec.ID, err
			}
		})
	}
	for i := range values {
		work <- i
	}
	close(work)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "create %q", values[i])
	}
	l := adminConn(t, requireServer(t))
	for i, v := range values {
		recs, total, err := b.Find(context.Background(), backends.Query{Kind: backends.User,
			Filter: backends.Cmp{Attr: "uid", Op: backends.Eq, Value: v}, Limit: 5})
		require.NoError(t, err, "find %q", v)
		require.Equal(t, 1, total, "find %q", v)
		require.Equal(t, ids[i], recs[0].ID, "find %q", v)
		require.Equal(t, []string{v}, recs[0].Attrs["uid"])
		if i%10 != 0 {
			continue
		}
		res, err := l.Search(goldap.NewSearchRequest(ou, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(entryUUID="+ids[i]+")", []string{"1.1"}, nil))
		require.NoError(t, err)
		require.Len(t, res.Entries, 1)
		dn, err := goldap.ParseDN(res.Entries[0].DN)
		require.NoError(t, err, "the server's DN %q", res.Entries[0].DN)
		attr, val := b.users.naming(v)
		require.Equal(t, attr, dn.RDNs[0].Attributes[0].Type)
		require.Equal(t, val, dn.RDNs[0].Attributes[0].Value, "DN round trip of %q", v)
	}
}
