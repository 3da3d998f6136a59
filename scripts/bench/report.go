package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Target is one of issue 5's targets, measured with one state store.
type Target struct {
	Store    string  `json:"store"`
	Name     string  `json:"name"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	Limit    float64 `json:"limit"`
	// Op says how Measured must compare with Limit: "<=", ">=" or "<".
	Op   string `json:"op"`
	Pass bool   `json:"pass"`
	// Note qualifies the value (e.g. the phase of the worst probe p99).
	Note string `json:"note,omitempty"`
}

func (t Target) value() string {
	v := fmt.Sprintf("%.3g", t.Measured)
	switch t.Unit {
	case "x":
		v = fmt.Sprintf("%.2f×", t.Measured)
	case "%":
		v = fmt.Sprintf("%.1f %%", t.Measured)
	case "ms":
		v = fmt.Sprintf("%.1f ms", t.Measured)
	case "MB":
		v = fmt.Sprintf("%.1f MB", t.Measured)
	case "":
		v = fmt.Sprintf("%.0f", t.Measured)
	}
	if t.Note != "" {
		v += " (" + t.Note + ")"
	}
	return v
}

func target(store, name string, measured float64, unit, op string, limit float64, note string) Target {
	pass := false
	switch op {
	case "<=":
		pass = measured <= limit
	case ">=":
		pass = measured >= limit
	case "<":
		pass = measured < limit
	}
	return Target{Store: store, Name: name, Measured: measured, Unit: unit, Limit: limit, Op: op, Pass: pass, Note: note}
}

// evaluate checks issue 5's targets against each store's results (the
// issue states them for Redis; SQLite's are shown for comparison).
func evaluate(res *Results) []Target {
	var out []Target
	for _, s := range res.Stores {
		if s.Serial != nil {
			out = append(out, target(s.Store, "serial create: bridge p50 ≤ 1.5× raw Add p50", s.Serial.RatioP50, "x", "<=", 1.5, ""))
		}
		if t, ok := s.throughput("create", 8); ok {
			out = append(out, target(s.Store, "creates at 8 clients ≥ 80 % of raw adds/s", t.Percent, "%", ">=", 80, ""))
		}
		if t, ok := s.throughput("get", 8); ok {
			out = append(out, target(s.Store, "GET by filter at 8 clients ≥ 70 % of raw searches/s", t.Percent, "%", ">=", 70, ""))
		}
		if g := s.Group; g != nil {
			out = append(out, target(s.Store, fmt.Sprintf("%d-member group ≥ 10× one-member-per-Modify rate", g.Members), g.Ratio, "x", ">=", 10, ""))
			out = append(out, target(s.Store, "every member PATCH < 5 s (slowest)", g.SlowestMs, "ms", "<", 5000, ""))
		}
		if c := s.Cycle; c != nil {
			out = append(out, target(s.Store, fmt.Sprintf("initial cycle (%d users) peak RSS ≤ 150 MB", c.Users), c.PeakRSSMB, "MB", "<=", 150, ""))
		}
		if m, ok := s.mix(250); ok {
			out = append(out, target(s.Store, "steady mix 250 req/s: p99 ≤ 250 ms", m.Latency.P99Ms, "ms", "<=", 250, ""))
			out = append(out, target(s.Store, "steady mix 250 req/s: no 5xx", float64(m.N5xx), "", "<=", 0, ""))
		}
		// The raw throughput steps load slapd with the raw client alone:
		// the probe's latency there is the directory's, shown in the table
		// but not held against the bridge.
		var bridgePhases []ProbeResult
		for _, p := range s.Probe {
			if !strings.HasSuffix(p.Phase, " raw") {
				bridgePhases = append(bridgePhases, p)
			}
		}
		if len(bridgePhases) > 0 {
			worst := slices.MaxFunc(bridgePhases, func(a, b ProbeResult) int {
				return cmpFloat(a.P99Ms, b.P99Ms)
			})
			out = append(out, target(s.Store, "probe p99 ≤ 10 ms in every bridge phase (worst)", worst.P99Ms, "ms", "<=", 10, worst.Phase))
		}
		out = append(out, target(s.Store, "no 5xx in the whole run", float64(s.N5xx), "", "<=", 0, ""))
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *StoreResult) throughput(op string, clients int) (ThroughputResult, bool) {
	for _, t := range s.Throughput {
		if t.Op == op && t.Clients == clients {
			return t, true
		}
	}
	return ThroughputResult{}, false
}

func (s *StoreResult) mix(rate int) (MixResult, bool) {
	for _, m := range s.Mix {
		if m.Rate == rate {
			return m, true
		}
	}
	return MixResult{}, false
}

// printReport writes the human-readable table: targets first (the ratios
// against raw are the point), then each store's scenarios.
func printReport(w io.Writer, res *Results) {
	o := res.Options
	fmt.Fprintf(w, "scimbridge bench  %s  %s %s/%s  %d CPUs  rev %s  (%.0f s)\n", res.Date, res.GoVersion, res.GOOS, res.GOARCH, res.CPUs, res.Revision, res.Seconds)
	fmt.Fprintf(w, "cycle %d users on %d workers; group %d members, %d per PATCH; %d serial; clients %s × %s; mix %s req/s × %s; probe every %s\n",
		o.Users, o.Workers, o.Members, o.MembersPerPatch, o.Serial, joinInts(o.Clients), o.Duration.D(), joinInts(o.Rates), o.MixDuration.D(), o.ProbeInterval.D())
	fmt.Fprintln(w, "Ratios are bridge/raw on the same slapd in the same run; absolute numbers on a shared machine are noise.")

	// Targets: one row per target, one column per store.
	var names []string
	byName := map[string]map[string]Target{}
	for _, t := range res.Targets {
		if byName[t.Name] == nil {
			byName[t.Name] = map[string]Target{}
			names = append(names, t.Name)
		}
		byName[t.Name][t.Store] = t
	}
	if len(names) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "TARGET (issue 5)")
		for _, s := range res.Stores {
			fmt.Fprintf(tw, "\t%s\t", s.Store)
		}
		fmt.Fprintln(tw)
		for _, n := range names {
			fmt.Fprint(tw, n)
			for _, s := range res.Stores {
				if t, ok := byName[n][s.Store]; ok {
					fmt.Fprintf(tw, "\t%s\t%s", t.value(), map[bool]string{true: "PASS", false: "MISS"}[t.Pass])
				} else {
					fmt.Fprint(tw, "\t-\t")
				}
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}

	for _, s := range res.Stores {
		fmt.Fprintf(w, "\n== state store %s (%s), %.0f s; 5xx %d, unexpected answers %d, no answer %d ==\n",
			s.Store, s.Config, s.Seconds, s.N5xx, s.Unexpected, s.TransportErrors)
		if c := s.Cycle; c != nil {
			fmt.Fprintf(w, "\ninitial cycle: %d users, %d groups, %d memberships (%d per PATCH), %d workers: %d requests in %.1f s = %.1f req/s, %d failed\n",
				c.Users, c.Groups, c.Memberships, c.MembersPerPatch, c.Workers, c.Requests, c.Seconds, c.RequestsPerSec, c.Failed)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "  request\tn\tp50 ms\tp99 ms\tmax ms\t")
			for _, l := range c.ByType {
				fmt.Fprintf(tw, "  %s\t%d\t%.2f\t%.2f\t%.1f\t\n", l.Name, l.N, l.P50Ms, l.P99Ms, l.MaxMs)
			}
			tw.Flush()
			var pts []string
			for _, p := range c.RSSAt {
				pts = append(pts, fmt.Sprintf("%d %%: %.1f MB (%d goroutines)", p.Percent, p.RSSMB, p.Goroutines))
			}
			fmt.Fprintf(w, "  bridge RSS at start %.1f MB; peak %.1f MB, peak goroutines %d; %s\n", c.StartRSSMB, c.PeakRSSMB, c.PeakGoroutines, strings.Join(pts, "; "))
		}
		if sr := s.Serial; sr != nil {
			fmt.Fprintf(w, "\nserial create, %d each (raw Add: %s)\n", sr.N, strings.Join(s.RawAddShape, " "))
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "  \tp50 ms\tp99 ms\tmax ms\t")
			fmt.Fprintf(tw, "  bridge POST /Users\t%.2f\t%.2f\t%.1f\t\n", sr.Bridge.P50Ms, sr.Bridge.P99Ms, sr.Bridge.MaxMs)
			fmt.Fprintf(tw, "  raw Add\t%.2f\t%.2f\t%.1f\t\n", sr.Raw.P50Ms, sr.Raw.P99Ms, sr.Raw.MaxMs)
			fmt.Fprintf(tw, "  bridge/raw\t%.2f×\t%.2f×\t\t\n", sr.RatioP50, sr.RatioP99)
			tw.Flush()
		}
		if len(s.Throughput) > 0 {
			fmt.Fprintf(w, "\nthroughput, closed loop, %s per step (bridge: create = POST /Users, get = GET filter userName eq, patch = PATCH replace displayName+title; raw: Add, the backend's search, Modify)\n", o.Duration.D())
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "  op\tclients\tbridge ops/s\traw ops/s\tbridge/raw\tbridge p50/p99 ms\traw p50/p99 ms\terrors\t")
			for _, t := range s.Throughput {
				fmt.Fprintf(tw, "  %s\t%d\t%.1f\t%.1f\t%.1f %%\t%.2f / %.2f\t%.2f / %.2f\t%d/%d\t\n", t.Op, t.Clients, t.BridgeOpsPerSec, t.RawOpsPerSec, t.Percent,
					t.Bridge.P50Ms, t.Bridge.P99Ms, t.Raw.P50Ms, t.Raw.P99Ms, t.BridgeErrors, t.RawErrors)
			}
			tw.Flush()
		}
		if g := s.Group; g != nil {
			fmt.Fprintf(w, "\ngroup of %d members: bridge %d PATCHes of %d in %.1f s = %.0f members/s (PATCH p50 %.1f ms, p99 %.1f ms, slowest %.1f ms; %d members in the directory)\n",
				g.Members, g.Patches, g.PerPatch, g.BridgeSeconds, g.BridgeMembersPerSec, g.Patch.P50Ms, g.Patch.P99Ms, g.SlowestMs, g.MembersInDirectory)
			fmt.Fprintf(w, "  raw, one Modify per member: %.1f s = %.0f members/s; bridge/raw %.2f×\n", g.RawSeconds, g.RawMembersPerSec, g.Ratio)
		}
		if len(s.Mix) > 0 {
			fmt.Fprintf(w, "\nsteady mix, open loop (GET 50 %%, POST 15 %%, PATCH 30 %%, DELETE 5 %%), %s per rate; latency from the scheduled send time\n", o.MixDuration.D())
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "  req/s\tsent\tachieved\tp50 ms\tp99 ms\tmax ms\t5xx\tunexpected\tp99 GET/POST/PATCH/DELETE ms\t")
			for _, m := range s.Mix {
				var per []string
				for _, l := range m.ByOp {
					if l.N == 0 {
						per = append(per, "-")
						continue
					}
					per = append(per, fmt.Sprintf("%.1f", l.P99Ms))
				}
				fmt.Fprintf(tw, "  %d\t%d\t%.1f\t%.2f\t%.2f\t%.1f\t%d\t%d\t%s\t\n", m.Rate, m.Sent, m.AchievedRate, m.Latency.P50Ms, m.Latency.P99Ms, m.Latency.MaxMs, m.N5xx, m.Unexpected, strings.Join(per, " / "))
			}
			tw.Flush()
		}
		if len(s.Probe) > 0 {
			fmt.Fprintf(w, "\nprobe (Test Connection every %s) and bridge footprint per phase\n", o.ProbeInterval.D())
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "  phase\tprobes\tp50 ms\tp99 ms\tmax ms\tfailed\tpeak RSS MB\tpeak goroutines\t")
			res := map[string]PhaseResources{}
			for _, p := range s.Resources {
				res[p.Phase] = p
			}
			for _, p := range s.Probe {
				r, ok := res[p.Phase]
				rss, gs := "-", "-"
				if ok {
					rss, gs = fmt.Sprintf("%.1f", r.PeakRSSMB), fmt.Sprintf("%d", r.PeakGoroutines)
				}
				fmt.Fprintf(tw, "  %s\t%d\t%.2f\t%.2f\t%.1f\t%d\t%s\t%s\t\n", p.Phase, p.N, p.P50Ms, p.P99Ms, p.MaxMs, p.Failures, rss, gs)
			}
			tw.Flush()
		}
	}
}
