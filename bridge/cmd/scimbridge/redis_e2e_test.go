package main

import (
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// Entra's same-bodied PATCHes at different times are different writes:
// disable, enable, disable ends disabled (docs/design.md §3 step 5, "Deduplicate": the
// idempotency record is only a fast path), and Entra's repeat of the last
// one changes nothing.
func TestDisableEnableDisable(t *testing.T) {
	disable, enable := fixture(t, "patch-disable-user"), fixture(t, "patch-enable-user-string")
	d := newDirectory(t, sharedSlapd(t))
	block, _ := sharedRedis(t).stateBlock(t)
	s := newBridgeWith(t, d.backend(10*time.Second), "configs/mappings/entra-to-openldap.yaml", bridgeOptions{state: block})
	id := s.must(201, "POST", "/Users", newUser("dis-1", "dis1@contoso.com", "Dis", "One")).body["id"].(string)
	for i, st := range []struct {
		body map[string]any
		want string
	}{{disable, "FALSE"}, {enable, "TRUE"}, {disable, "FALSE"}, {disable, "FALSE"}} {
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), st.body)
		require.Equal(t, st.want, d.users(t)["dis-1"]["scimActive"], "after step %d", i+1)
	}
	require.Equal(t, false, s.must(200, "GET", "/Users/"+url.PathEscape(id), nil).body["active"])
}

// A POST whose answer never reaches Entra (the connection closes as the
// answer starts to come back) is repeated: the repeat answers 201 with the
// id of the one entry there is, from the stored answer, and so does a
// later repeat after another write to the user, which finds the entry by
// its natural keys and leaves what the other write changed.
func TestLostCreateAnswerRepeated(t *testing.T) {
	d := newDirectory(t, sharedSlapd(t))
	block, q := sharedRedis(t).stateBlock(t)
	s := newBridgeWith(t, d.backend(10*time.Second), "configs/mappings/entra-to-openldap.yaml", bridgeOptions{state: block})
	want := map[string]dirUser{}
	for i := range 4 {
		ext := fmt.Sprintf("lost-%d", i)
		upn := ext + "@contoso.com"
		body := newUser(ext, upn, "Lost", ext)
		require.Contains(t, answerLost(t, s, "POST", "/Users", body), " 201 ")
		id := s.must(201, "POST", "/Users", body).body["id"].(string)
		s.must(200, "PATCH", "/Users/"+url.PathEscape(id), replace("title", "kept"))
		require.Equal(t, id, s.must(201, "POST", "/Users", body).body["id"], "%s: the same id every time", ext)
		want[ext] = newUserAttrs(upn, "Lost", ext)
		want[ext]["title"], want[ext]["entryUUID"], want[ext]["dn"] = "kept", id, d.userDN(upn)
	}
	waitDrained(t, q, 30*time.Second)
	require.Empty(t, cmp.Diff(want, d.users(t)), "directory (-want +got)")
}

// Many clients add members to one group at once, one member per PATCH as
// Entra does: every add is answered 204 and no member is lost.
func TestConcurrentMemberAdds(t *testing.T) {
	d := newDirectory(t, sharedSlapd(t))
	block, _ := sharedRedis(t).stateBlock(t)
	s := newBridgeWith(t, d.backend(10*time.Second), "configs/mappings/entra-to-openldap.yaml", bridgeOptions{state: block})
	const clients, perClient = 8, 5
	ids := make([]string, clients*perClient)
	var want []string
	for i := range ids {
		upn := fmt.Sprintf("member-%d@contoso.com", i)
		ids[i] = s.must(201, "POST", "/Users", newUser(fmt.Sprintf("m-%d", i), upn, "Member", strconv.Itoa(i))).body["id"].(string)
		want = append(want, d.userDN(upn))
	}
	gid := s.must(201, "POST", "/Groups", newGroup("grp-many", "many")).body["id"].(string)

	results := make([][]sent, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c * perClient; i < (c+1)*perClient; i++ {
				results[c] = append(results[c], s.send(ids[i], "PATCH", "/Groups/"+url.PathEscape(gid), addMembers(ids[i])))
			}
		}()
	}
	wg.Wait()
	for _, rs := range results {
		for _, r := range rs {
			require.NoError(t, r.err)
			require.Equal(t, 204, r.status, "add %s: %s", r.what, r.rawBody)
		}
	}
	require.Empty(t, cmp.Diff(sortedStrings(want), d.members(t, "many")), "members (-want +got)")
	require.Len(t, s.must(200, "GET", "/Groups/"+url.PathEscape(gid), nil).body["members"], clients*perClient)
}

// Two bridges (two replicas behind one load balancer) share one Redis and
// one directory, and get PATCHes to the same users at the same time: one
// replica changes givenName and title, the other familyName and
// department. Every write is answered 200, and every user ends with the
// last value of each attribute and a cn computed from both last names: a
// write that read the entry before the other replica's write and stored a
// stale cn (a lost update) shows as a cn that is not "given family".
func TestTwoReplicasConflictingPatches(t *testing.T) {
	d := newDirectory(t, sharedSlapd(t))
	block, _ := sharedRedis(t).stateBlock(t)
	a := newBridgeWith(t, d.backend(10*time.Second), "configs/mappings/entra-to-openldap.yaml", bridgeOptions{state: block})
	b := newBridgeWith(t, d.backend(10*time.Second), "configs/mappings/entra-to-openldap.yaml", bridgeOptions{state: block})
	const users, rounds = 4, 8
	const dept = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
	ids := make([]string, users)
	want := map[string]dirUser{}
	for u := range users {
		ext := fmt.Sprintf("both-%d", u)
		upn := ext + "@contoso.com"
		ids[u] = a.must(201, "POST", "/Users", newUser(ext, upn, "G", "F")).body["id"].(string)
		last := strconv.Itoa(rounds - 1)
		want[ext] = newUserAttrs(upn, "ga"+last, "fb"+last)
		want[ext]["title"], want[ext]["departmentNumber"] = "ta"+last, "db"+last
		want[ext]["entryUUID"], want[ext]["dn"] = ids[u], d.userDN(upn)
	}

	var results [2][]sent
	var wg sync.WaitGroup
	for r, replica := range []struct {
		s     *stack
		patch func(k string) map[string]any
	}{
		{a, func(k string) map[string]any { return replace("name.givenName", "ga"+k, "title", "ta"+k) }},
		{b, func(k string) map[string]any { return replace("name.familyName", "fb"+k, dept, "db"+k) }},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var inner sync.WaitGroup
			var mu sync.Mutex
			for u := range users {
				inner.Add(1)
				go func() {
					defer inner.Done()
					for k := range rounds {
						res := replica.s.send(fmt.Sprintf("replica %d user %d round %d", r, u, k), "PATCH", "/Users/"+url.PathEscape(ids[u]), replica.patch(strconv.Itoa(k)))
						mu.Lock()
						results[r] = append(results[r], res)
						mu.Unlock()
					}
				}()
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	for _, rs := range results {
		for _, r := range rs {
			require.NoError(t, r.err, r.what)
			require.Equal(t, 200, r.status, "%s: %s", r.what, r.rawBody)
		}
	}
	require.Empty(t, cmp.Diff(want, d.users(t)), "directory (-want +got)")
}
