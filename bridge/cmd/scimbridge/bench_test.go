package main

import (
	"fmt"
	"net/url"
	"sort"
	"testing"
	"time"

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
