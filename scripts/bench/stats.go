package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Latency summarises one series of request latencies, in milliseconds.
type Latency struct {
	N      int     `json:"n"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// summarize computes the percentiles of d (nearest rank), leaving d sorted.
func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Latency{
		N:      len(d),
		P50Ms:  ms(rank(d, 0.50)),
		P99Ms:  ms(rank(d, 0.99)),
		MaxMs:  ms(d[len(d)-1]),
		MeanMs: ms(sum / time.Duration(len(d))),
	}
}

// rank is the nearest-rank percentile of sorted d: the smallest value with
// at least p of the series at or below it.
func rank(d []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// ratio is a/b, 0 when b is 0 (a scenario that did not run).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return round3(a / b)
}

// recorder collects latencies from many goroutines.
type recorder struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
}

func (r *recorder) summary() Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	return summarize(r.d)
}

// series is a set of named recorders, kept in first-use order.
type series struct {
	mu    sync.Mutex
	names []string
	by    map[string]*recorder
}

func (s *series) get(name string) *recorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[string]*recorder{}
	}
	r, ok := s.by[name]
	if !ok {
		r = &recorder{}
		s.by[name] = r
		s.names = append(s.names, name)
	}
	return r
}

// NamedLatency is one named series' summary.
type NamedLatency struct {
	Name string `json:"name"`
	Latency
}

func (s *series) summaries() []NamedLatency {
	s.mu.Lock()
	names := slices.Clone(s.names)
	s.mu.Unlock()
	out := make([]NamedLatency, 0, len(names))
	for _, n := range names {
		out = append(out, NamedLatency{Name: n, Latency: s.get(n).summary()})
	}
	return out
}
