package mapping

import (
	"testing"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// BenchmarkToAttrs measures the per-request cost of the shipped mapping.
func BenchmarkToAttrs(b *testing.B) {
	m := mustLoad(b, pharosMapping)
	r := mustDecode(b, scim.User, entraCreateFull)
	for b.Loop() {
		if _, err := m.ToAttrs(scim.User, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToResource measures reading a record back.
func BenchmarkToResource(b *testing.B) {
	m := mustLoad(b, pharosMapping)
	attrs, err := m.ToAttrs(scim.User, mustDecode(b, scim.User, entraCreateFull))
	if err != nil {
		b.Fatal(err)
	}
	rec := backends.Record{ID: "1", Attrs: attrs}
	for b.Loop() {
		if _, err := m.ToResource(scim.User, rec); err != nil {
			b.Fatal(err)
		}
	}
}
