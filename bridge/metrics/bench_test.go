package metrics

import (
	"testing"
	"time"
)

// BenchmarkObserveRequest is what every HTTP request costs the metrics.
func BenchmarkObserveRequest(b *testing.B) {
	m := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("default", "/scim/:tenant/v2/Users", "POST", 201, 3*time.Millisecond)
	}
}
