package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var cardRows = flag.Int("cards-rows", 100_000, "rows of the badge-card import benchmark's large file")

// BenchmarkCardsImport runs the built `scimbridge cards import` as a
// process of its own under /usr/bin/time -v on a file of -cards-rows rows
// (one card for each of as many users), and reports rows/s and the peak
// RSS the kernel measured for the process, for a tenth of the file and
// the whole of it (memory must not grow with the file), the re-run of the
// whole file (everything unchanged), and the ratio to a raw baseline: the
// same look-up and insert per row in plain SQL, 500 rows per transaction,
// on the same database in the same run.
func BenchmarkCardsImport(b *testing.B) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Skip("/usr/bin/time is not installed (apt-get install time): it measures the peak RSS")
	}
	bin := buildBinary(b)
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStack(b, name)
			n := *cardRows
			tag := uuid.NewString()[:8]
			logins := seedUsersBulk(b, s, n, tag)
			small := writeCardFile(b, logins[:n/10], "T")
			large := writeCardFile(b, logins, "C")
			b.ResetTimer()

			smallRate, smallRSS := timedImport(b, bin, s.cfgPath, small, n/10)
			rate, rss := timedImport(b, bin, s.cfgPath, large, n)
			rerun, _ := timedImport(b, bin, s.cfgPath, large, n)
			raw := rawCardInserts(b, s, logins)

			b.ReportMetric(rate, "rows/s")
			b.ReportMetric(rss/1024, "peak-RSS-MB")
			b.ReportMetric(smallRSS/1024, "peak-RSS-MB-tenth")
			b.ReportMetric(smallRate, "rows/s-tenth")
			b.ReportMetric(rerun, "rows/s-rerun")
			b.ReportMetric(raw, "raw-rows/s")
			b.ReportMetric(raw/rate, "x-raw")
			b.Logf("%s, %d rows: import %.0f rows/s (raw SQL %.0f rows/s, %.2fx), re-run %.0f rows/s, peak RSS %.1f MB (%d rows: %.1f MB)",
				name, n, rate, raw, raw/rate, rerun, rss/1024, n/10, smallRSS/1024)
		})
	}
}

// seedUsersBulk inserts n users with multi-row INSERTs (PostgreSQL takes
// minutes one row at a time).
func seedUsersBulk(tb testing.TB, s *stack, n int, tag string) []string {
	tb.Helper()
	logins := make([]string, n)
	const chunk = 500
	for start := 0; start < n; start += chunk {
		var q strings.Builder
		q.WriteString("INSERT INTO users (id, login, external_id, email, active) VALUES ")
		var args []any
		for i := start; i < min(start+chunk, n); i++ {
			logins[i] = fmt.Sprintf("bulk%07d-%s@example.org", i, tag)
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, 1)")
			args = append(args, uuid.NewString(), logins[i], uuid.NewString(), logins[i])
		}
		if _, err := s.db.Exec(s.rebind(q.String()), args...); err != nil {
			tb.Fatal(err)
		}
	}
	return logins
}

func writeCardFile(tb testing.TB, logins []string, prefix string) string {
	tb.Helper()
	var f strings.Builder
	f.WriteString("userName,card\n")
	for i, l := range logins {
		fmt.Fprintf(&f, "%s,%s%07d\n", l, prefix, i)
	}
	path := filepath.Join(tb.TempDir(), prefix+".csv")
	if err := os.WriteFile(path, []byte(f.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

var maxRSS = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)

// timedImport runs the import process and returns its rows/s and peak RSS
// in KiB.
func timedImport(tb testing.TB, bin, cfg, file string, rows int) (float64, float64) {
	tb.Helper()
	cmd := exec.Command("/usr/bin/time", "-v", bin, "cards", "import", "--config", cfg, "--tenant", "default", "--progress", "none", file)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		tb.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("%d rows read", rows)) || strings.Contains(string(out), "rejected (") {
		tb.Fatalf("unexpected import: %s", out)
	}
	m := maxRSS.FindSubmatch(out)
	if m == nil {
		tb.Fatalf("no RSS in %s", out)
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return float64(rows) / elapsed.Seconds(), kb
}

// rawCardInserts is the baseline: per row, the user's look-up by login
// and the card's insert, 500 rows per transaction, in plain SQL.
func rawCardInserts(tb testing.TB, s *stack, logins []string) float64 {
	tb.Helper()
	start := time.Now()
	for b := 0; b < len(logins); b += 500 {
		tx, err := s.db.Begin()
		if err != nil {
			tb.Fatal(err)
		}
		for i := b; i < min(b+500, len(logins)); i++ {
			var id string
			if err := tx.QueryRow(s.rebind("SELECT id FROM users WHERE lower(login) = lower(?)"), logins[i]).Scan(&id); err != nil {
				tb.Fatal(err)
			}
			if _, err := tx.Exec(s.rebind("INSERT INTO cards (user_id, card_number) VALUES (?, ?)"), id, fmt.Sprintf("R%07d", i)); err != nil {
				tb.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
	return float64(len(logins)) / time.Since(start).Seconds()
}
