package main

import (
	"flag"
	"fmt"
	"net/url"
	"sort"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
)

// Benchmarks of the whole bridge (HTTP → mapping → Pharos store) against
// the raw database doing the same write or read, measured in the same run
// on the same database, so the ratio is what counts on a shared machine.
// Each reports bridge and raw p50 and the ratio bridge/raw (x-raw).

func BenchmarkCreateVsRawInsert(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStack(b, name)
			var bridge, raw []time.Duration
			for i := 0; i < b.N; i++ {
				u := fixture(s.t, "create-user")
				u["externalId"], u["userName"] = fmt.Sprintf("b-%d", i), fmt.Sprintf("bench%d@contoso.com", i)
				start := time.Now()
				s.must(201, "POST", "/Users", u)
				bridge = append(bridge, time.Since(start))

				start = time.Now()
				_, err := s.db.Exec(s.rebind(`INSERT INTO users (id, login, external_id, email, first_name, last_name, active, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`), uuid.NewString(), fmt.Sprintf("raw%d@contoso.com", i), fmt.Sprintf("r-%d", i),
					fmt.Sprintf("raw%d@contoso.com", i), "givenName", "familyName", time.Now().UTC().Format(time.RFC3339Nano), time.Now().UTC().Format(time.RFC3339Nano))
				if err != nil {
					b.Fatal(err)
				}
				raw = append(raw, time.Since(start))
			}
			report(b, bridge, raw)
		})
	}
}

func BenchmarkFilterVsRawSelect(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStack(b, name)
			const n = 200
			for i := range n {
				u := fixture(s.t, "create-user")
				u["externalId"], u["userName"] = fmt.Sprintf("b-%d", i), fmt.Sprintf("bench%d@contoso.com", i)
				s.must(201, "POST", "/Users", u)
			}
			b.ResetTimer()
			var bridge, raw []time.Duration
			for i := 0; i < b.N; i++ {
				upn := fmt.Sprintf("BENCH%d@contoso.com", i%n)
				start := time.Now()
				a := s.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+upn+`"`), nil)
				bridge = append(bridge, time.Since(start))
				if a.body["totalResults"] != float64(1) {
					b.Fatalf("want one user: %s", a.raw)
				}
				start = time.Now()
				rows, err := s.db.Query(s.rebind(`SELECT * FROM users WHERE lower(login) = lower(?)`), upn)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				rows.Close()
				raw = append(raw, time.Since(start))
			}
			report(b, bridge, raw)
		})
	}
}

// benchStack builds the full stack for a benchmark.
func benchStack(b *testing.B, name string) *stack {
	b.Helper()
	switch name {
	case "sqlite":
		return newStack(b, target{name: "sqlite", driver: "sqlite", sqlDrv: "sqlite", dsn: b.TempDir() + "/pharos.db"})
	default:
		return newStack(b, target{name: "postgres", driver: "postgres", sqlDrv: "pgx", dsn: newPGSchema(b)})
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[int(float64(len(s)-1)*p)]
}

func report(b *testing.B, bridge, raw []time.Duration) {
	b.Helper()
	bp50, rp50 := percentile(bridge, .5), percentile(raw, .5)
	b.ReportMetric(float64(bp50.Microseconds()), "bridge-p50-µs")
	b.ReportMetric(float64(percentile(bridge, .99).Microseconds()), "bridge-p99-µs")
	b.ReportMetric(float64(rp50.Microseconds()), "raw-p50-µs")
	if rp50 > 0 {
		b.ReportMetric(float64(bp50)/float64(rp50), "x-raw")
	}
}

// LDAP: the same comparisons on the test slapd with the shipped OpenLDAP
// mapping, and member adds to a large group through Entra-shaped PATCHes
// (coalesced into one Modify per request) against one raw Modify per
// member. -ldap.members sets the group size (the figure: 20000).
var benchMembers = flag.Int("ldap.members", 2000, "members of the large group in BenchmarkLDAPGroupMembers")

func BenchmarkLDAPCreateVsRawAdd(b *testing.B) {
	s := newLDAPStack(b)
	var bridge, raw []time.Duration
	for i := 0; i < b.N; i++ {
		u := fixture(b, "create-user")
		u["externalId"], u["userName"] = fmt.Sprintf("b-%d", i), fmt.Sprintf("bench%d@contoso.com", i)
		start := time.Now()
		s.must(201, "POST", "/Users", u)
		bridge = append(bridge, time.Since(start))

		add := goldap.NewAddRequest(fmt.Sprintf("uid=raw%d@contoso.com,ou=people,%s", i, s.base), nil)
		add.Attribute("objectClass", []string{"inetOrgPerson", "scimBridgeUser"})
		for k, v := range map[string]string{"uid": fmt.Sprintf("raw%d@contoso.com", i), "cn": "givenName familyName", "sn": "familyName",
			"givenName": "givenName", "mail": fmt.Sprintf("raw%d@contoso.com", i), "scimExternalId": fmt.Sprintf("r-%d", i), "scimActive": "TRUE"} {
			add.Attribute(k, []string{v})
		}
		start = time.Now()
		if err := s.conn.Add(add); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, time.Since(start))
	}
	report(b, bridge, raw)
}

func BenchmarkLDAPFilterVsRawSearch(b *testing.B) {
	s := newLDAPStack(b)
	const n = 200
	for i := range n {
		u := fixture(b, "create-user")
		u["externalId"], u["userName"] = fmt.Sprintf("b-%d", i), fmt.Sprintf("bench%d@contoso.com", i)
		s.must(201, "POST", "/Users", u)
	}
	b.ResetTimer()
	var bridge, raw []time.Duration
	for i := 0; i < b.N; i++ {
		upn := fmt.Sprintf("BENCH%d@contoso.com", i%n)
		start := time.Now()
		a := s.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+upn+`"`), nil)
		bridge = append(bridge, time.Since(start))
		if a.body["totalResults"] != float64(1) {
			b.Fatalf("want one user: %s", a.raw)
		}
		start = time.Now()
		if _, err := s.conn.Search(goldap.NewSearchRequest("ou=people,"+s.base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=inetOrgPerson)(uid="+goldap.EscapeFilter(upn)+"))", []string{"*", "entryUUID"}, nil)); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, time.Since(start))
	}
	report(b, bridge, raw)
}

// BenchmarkLDAPGroupMembers fills two groups of -ldap.members users: one
// through the bridge with Entra-shaped member PATCHes of 100 members each,
// one with a raw Modify per member, and reports members/s of each and the
// ratio. b.N is ignored beyond the first round: the group is the workload.
func BenchmarkLDAPGroupMembers(b *testing.B) {
	s := newLDAPStack(b)
	n := *benchMembers
	ids := make([]string, n)
	dns := make([]string, n)
	for i := range n {
		add := goldap.NewAddRequest(fmt.Sprintf("uid=m%06d,ou=people,%s", i, s.base), nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("uid", []string{fmt.Sprintf("m%06d", i)})
		add.Attribute("cn", []string{"m"})
		add.Attribute("sn", []string{"m"})
		if err := s.conn.Add(add); err != nil {
			b.Fatal(err)
		}
		dns[i] = add.DN
	}
	res, err := s.conn.Search(goldap.NewSearchRequest("ou=people,"+s.base, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"uid", "entryUUID"}, nil))
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range res.Entries {
		var i int
		fmt.Sscanf(e.GetAttributeValue("uid"), "m%06d", &i)
		ids[i] = e.GetAttributeValue("entryUUID")
	}
	gid := s.must(201, "POST", "/Groups", map[string]any{"displayName": "big", "externalId": "big"}).body["id"].(string)
	raw := goldap.NewAddRequest("cn=raw-big,ou=groups,"+s.base, nil)
	raw.Attribute("objectClass", []string{"groupOfNames"})
	raw.Attribute("cn", []string{"raw-big"})
	raw.Attribute("member", []string{dns[0]})
	if err := s.conn.Add(raw); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var slowest time.Duration
	start := time.Now()
	for lo := 0; lo < n; lo += 100 {
		var vals []any
		for _, id := range ids[lo:min(lo+100, n)] {
			vals = append(vals, map[string]any{"value": id})
		}
		t0 := time.Now()
		s.must(204, "PATCH", "/Groups/"+url.PathEscape(gid), map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "Add", "path": "members", "value": vals}},
		})
		slowest = max(slowest, time.Since(t0))
	}
	bridgeRate := float64(n) / time.Since(start).Seconds()
	start = time.Now()
	for _, dn := range dns[1:] {
		m := goldap.NewModifyRequest(raw.DN, nil)
		m.Add("member", []string{dn})
		if err := s.conn.Modify(m); err != nil {
			b.Fatal(err)
		}
	}
	rawRate := float64(n-1) / time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(bridgeRate, "bridge-members/s")
	b.ReportMetric(rawRate, "raw-one-per-modify-members/s")
	b.ReportMetric(bridgeRate/rawRate, "x-raw")
	b.ReportMetric(float64(slowest.Milliseconds()), "slowest-patch-ms")
}
