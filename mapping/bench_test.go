package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// The benchmarks below measure the CPU and allocations of one request's
// SCIM and mapping work, as the bridge does it (bridge/service.go), with
// the shipped OpenLDAP mapping and Entra's own request bodies
// (bridge/scim/testdata/entra); the directory and the state store are left
// out. Run: go test -run '^$' -bench . -benchmem ./mapping

const openLDAPMapping = "../configs/mappings/entra-to-openldap.yaml"

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

// entraRequest returns the request body of an Entra fixture, and its query.
func entraRequest(tb testing.TB, name string) (body []byte, query string) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "bridge", "scim", "testdata", "entra", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var fx struct {
		Query   string          `json:"query"`
		Request json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		tb.Fatal(err)
	}
	return fx.Request, fx.Query
}

// entraUserPatch is Entra's replace of several attributes in one PATCH
// (fixture patch-user-ssoready) plus its disable without the
// aadOptscim062020 flag, active as the string "False" (fixture
// patch-disable-user-string).
func entraUserPatch(tb testing.TB) []byte {
	tb.Helper()
	var ops []json.RawMessage
	for _, name := range []string{"patch-user-ssoready", "patch-disable-user-string"} {
		body, _ := entraRequest(tb, name)
		var p struct{ Operations []json.RawMessage }
		if err := json.Unmarshal(body, &p); err != nil {
			tb.Fatal(err)
		}
		ops = append(ops, p.Operations...)
	}
	out, err := json.Marshal(map[string]any{"schemas": []string{scim.SchemaPatchOp}, "Operations": ops})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// entraMemberAdd is Entra's member add (fixture
// patch-group-add-members-batch) with n members.
func entraMemberAdd(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"schemas":["` + scim.SchemaPatchOp + `"],"Operations":[{"op":"Add","path":"members","value":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"$ref":null,"value":"%08d-6a2c-4c3e-9f0e-5d5c1a7b9e%02d"}`, i, i%100)
	}
	b.WriteString(`]}]}`)
	return []byte(b.String())
}

// encodeAnswer encodes an answer as bridge/httpapi does.
func encodeAnswer(tb testing.TB, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		tb.Fatal(err)
	}
}

var (
	benchCreated  = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	benchModified = benchCreated.Add(time.Hour)
)

// BenchmarkCreateUserPath is a POST /Users: decode and normalise the body,
// check required attributes, map it to target attributes, read the created
// record back and encode the answer.
func BenchmarkCreateUserPath(b *testing.B) {
	m := mustLoad(b, openLDAPMapping)
	body, _ := entraRequest(b, "create-user")
	b.ReportAllocs()
	for b.Loop() {
		r, err := scim.Decode(scim.User, body)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.CheckRequired(scim.User, r); err != nil {
			b.Fatal(err)
		}
		attrs, err := m.ToAttrs(scim.User, r)
		if err != nil {
			b.Fatal(err)
		}
		res, err := m.ToResource(scim.User, backends.Record{ID: "2441309d-8532-4e77-93ae-0a21f0f28d2a", Attrs: attrs, Created: benchCreated, Modified: benchCreated})
		if err != nil {
			b.Fatal(err)
		}
		encodeAnswer(b, res)
	}
}

// BenchmarkListByUserNamePath is Entra's GET /Users?filter=userName eq "…":
// parse the query and filter, translate the filter, read the hit back,
// project it and encode the ListResponse.
func BenchmarkListByUserNamePath(b *testing.B) {
	m := mustLoad(b, openLDAPMapping)
	body, _ := entraRequest(b, "create-user")
	r := mustDecode(b, scim.User, string(body))
	attrs, err := m.ToAttrs(scim.User, r)
	if err != nil {
		b.Fatal(err)
	}
	rec := backends.Record{ID: "2441309d-8532-4e77-93ae-0a21f0f28d2a", Attrs: attrs, Created: benchCreated, Modified: benchModified}
	_, rawQuery := entraRequest(b, "get-user-by-username")
	rawQuery = url.Values{"filter": {strings.TrimPrefix(rawQuery, "filter=")}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			b.Fatal(err)
		}
		lp, err := scim.ParseListParams(scim.User, q)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Filter(scim.User, lp.Filter); err != nil {
			b.Fatal(err)
		}
		res, err := m.ToResource(scim.User, rec)
		if err != nil {
			b.Fatal(err)
		}
		lr := scim.ListResponse{TotalResults: 1, StartIndex: 1, ItemsPerPage: 1,
			Resources: []scim.Resource{scim.Project(res, lp.Attributes, lp.ExcludedAttributes)}}
		encodeAnswer(b, lr)
	}
}

// patchPath is the service's PATCH: the current record read back as a
// resource, the operations applied to it, both sides mapped and diffed.
func patchPath(b *testing.B, m *Mapping, kind scim.Kind, rec backends.Record, body []byte) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		ops, err := scim.DecodePatch(kind, body)
		if err != nil {
			b.Fatal(err)
		}
		cur, err := m.ToResource(kind, rec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := scim.ApplyPatch(kind, cur, ops); err != nil {
			b.Fatal(err)
		}
		attrs, err := m.ToAttrs(kind, cur)
		if err != nil {
			b.Fatal(err)
		}
		curRes, err := m.ToResource(kind, rec)
		if err != nil {
			b.Fatal(err)
		}
		old, err := m.ToAttrs(kind, curRes)
		if err != nil {
			b.Fatal(err)
		}
		if len(Diff(old, attrs)) == 0 && kind == scim.User {
			b.Fatal("the PATCH changed nothing")
		}
	}
}

// BenchmarkPatchUserPath is Entra's user PATCH of several replace ops,
// active as the string "False".
func BenchmarkPatchUserPath(b *testing.B) {
	m := mustLoad(b, openLDAPMapping)
	body, _ := entraRequest(b, "create-user")
	attrs, err := m.ToAttrs(scim.User, mustDecode(b, scim.User, string(body)))
	if err != nil {
		b.Fatal(err)
	}
	rec := backends.Record{ID: "2441309d-8532-4e77-93ae-0a21f0f28d2a", Attrs: attrs, Created: benchCreated, Modified: benchModified}
	patchPath(b, m, scim.User, rec, entraUserPatch(b))
}

// BenchmarkPatchGroupMembersPath is Entra's member add of 100 members.
func BenchmarkPatchGroupMembersPath(b *testing.B) {
	m := mustLoad(b, openLDAPMapping)
	rec := backends.Record{ID: "a99962b9-f99d-4c4f-ac67-0a21f0f28d2a", Created: benchCreated, Modified: benchModified,
		Attrs: map[string][]string{"cn": {"displayName"}, "scimExternalId": {"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}}}
	patchPath(b, m, scim.Group, rec, entraMemberAdd(100))
}
