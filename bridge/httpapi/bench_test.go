package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/backends"
	"github.com/scimbridge/scimbridge/bridge/metrics"
	"github.com/scimbridge/scimbridge/bridge/scim"
	"github.com/scimbridge/scimbridge/mapping"
)

// The benchmarks below measure what one request costs in this process
// without the directory and the state store: the HTTP layer alone (gin,
// authentication, metrics, the JSON access log, body and query handling,
// the answer's encoding) against a provisioner with canned answers, and the
// same with the provisioner doing the SCIM and mapping work the bridge does
// (the shipped OpenLDAP mapping). Requests are Entra's own
// (bridge/scim/testdata/entra). Run:
// go test -run '^$' -bench Handler -benchmem ./bridge/httpapi

// benchProvisioner answers like the bridge would. With a mapping it does
// the bridge's CPU work (bridge/service.go: CheckRequired, ToAttrs,
// Filter, ToResource, Project, ApplyPatch, Diff) on one in-memory record
// per kind; without one it hands back canned answers, so that only the
// HTTP layer is measured.
type benchProvisioner struct {
	m          *mapping.Mapping
	user       backends.Record
	group      backends.Record
	userAnswer scim.Resource // canned answer without a mapping
}

func (p *benchProvisioner) rec(kind scim.Kind) backends.Record {
	if kind == scim.Group {
		return p.group
	}
	return p.user
}

func (p *benchProvisioner) Create(_ context.Context, kind scim.Kind, r scim.Resource) (scim.Resource, error) {
	if p.m == nil {
		return p.userAnswer, nil
	}
	if err := p.m.CheckRequired(kind, r); err != nil {
		return nil, err
	}
	attrs, err := p.m.ToAttrs(kind, r)
	if err != nil {
		return nil, err
	}
	rec := p.rec(kind)
	rec.Attrs = attrs
	return p.m.ToResource(kind, rec)
}

func (p *benchProvisioner) Get(_ context.Context, kind scim.Kind, _ string, lp scim.ListParams) (scim.Resource, error) {
	if p.m == nil {
		return p.userAnswer, nil
	}
	res, err := p.m.ToResource(kind, p.rec(kind))
	if err != nil {
		return nil, err
	}
	return scim.Project(res, lp.Attributes, lp.ExcludedAttributes), nil
}

func (p *benchProvisioner) List(_ context.Context, kind scim.Kind, lp scim.ListParams) (scim.ListResponse, error) {
	if p.m == nil {
		return scim.ListResponse{TotalResults: 1, StartIndex: 1, ItemsPerPage: 1, Resources: []scim.Resource{p.userAnswer}}, nil
	}
	if _, err := p.m.Filter(kind, lp.Filter); err != nil {
		return scim.ListResponse{}, err
	}
	res, err := p.m.ToResource(kind, p.rec(kind))
	if err != nil {
		return scim.ListResponse{}, err
	}
	return scim.ListResponse{TotalResults: 1, StartIndex: 1, ItemsPerPage: 1,
		Resources: []scim.Resource{scim.Project(res, lp.Attributes, lp.ExcludedAttributes)}}, nil
}

func (p *benchProvisioner) Replace(ctx context.Context, kind scim.Kind, _ string, r scim.Resource) (scim.Resource, error) {
	return p.Create(ctx, kind, r)
}

func (p *benchProvisioner) Patch(_ context.Context, kind scim.Kind, _ string, ops []scim.PatchOp) (scim.Resource, error) {
	if p.m == nil {
		if kind == scim.Group {
			return nil, nil
		}
		return p.userAnswer, nil
	}
	rec := p.rec(kind)
	cur, err := p.m.ToResource(kind, rec)
	if err != nil {
		return nil, err
	}
	if _, err := scim.ApplyPatch(kind, cur, ops); err != nil {
		return nil, err
	}
	attrs, err := p.m.ToAttrs(kind, cur)
	if err != nil {
		return nil, err
	}
	curRes, err := p.m.ToResource(kind, rec)
	if err != nil {
		return nil, err
	}
	old, err := p.m.ToAttrs(kind, curRes)
	if err != nil {
		return nil, err
	}
	_ = mapping.Diff(old, attrs)
	if kind == scim.Group {
		return nil, nil
	}
	rec.Attrs = attrs
	return p.m.ToResource(kind, rec)
}

func (p *benchProvisioner) Delete(context.Context, scim.Kind, string) error { return nil }

// benchTenants checks the token as the real service does (SHA-256 compared
// in constant time) and records nothing.
type benchTenants struct {
	digest [32]byte
	prov   Provisioner
}

func (t *benchTenants) Authenticate(_ context.Context, tenant, token string) (Provisioner, error) {
	got := sha256.Sum256([]byte(token))
	if tenant != testTenant || subtle.ConstantTimeCompare(t.digest[:], got[:]) != 1 {
		return nil, &scim.Error{Status: http.StatusUnauthorized, Detail: "the token is not valid for this tenant"}
	}
	return t.prov, nil
}

// benchWriter is a ResponseWriter reused across iterations, so that the
// benchmark's own allocations (httptest.NewRecorder's) do not count.
type benchWriter struct {
	header http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.header }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *benchWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}

func (w *benchWriter) reset() {
	clear(w.header)
	w.status, w.n = 0, 0
}

// benchBody is a request body rewound for every iteration.
type benchBody struct{ bytes.Reader }

func (*benchBody) Close() error { return nil }

func entraFixtureRequest(tb testing.TB, name string) (body []byte, query string) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "scim", "testdata", "entra", name+".json"))
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

// benchUserPatch is Entra's replace of several attributes (fixture
// patch-user-ssoready) plus its disable with active as the string "False"
// (fixture patch-disable-user-string), in one PATCH.
func benchUserPatch(tb testing.TB) []byte {
	tb.Helper()
	var ops []json.RawMessage
	for _, name := range []string{"patch-user-ssoready", "patch-disable-user-string"} {
		body, _ := entraFixtureRequest(tb, name)
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

// benchMemberAdd is Entra's member add (fixture
// patch-group-add-members-batch) with n members.
func benchMemberAdd(n int) []byte {
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

func BenchmarkHandler(b *testing.B) {
	m, err := mapping.Load("../../configs/mappings/entra-to-openldap.yaml")
	if err != nil {
		b.Fatal(err)
	}
	createBody, _ := entraFixtureRequest(b, "create-user")
	in, err := scim.Decode(scim.User, createBody)
	if err != nil {
		b.Fatal(err)
	}
	userAttrs, err := m.ToAttrs(scim.User, in)
	if err != nil {
		b.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	user := backends.Record{ID: "2441309d-8532-4e77-93ae-0a21f0f28d2a", Attrs: userAttrs, Created: created, Modified: created}
	group := backends.Record{ID: "a99962b9-f99d-4c4f-ac67-0a21f0f28d2a", Created: created, Modified: created,
		Attrs: map[string][]string{"cn": {"displayName"}, "scimExternalId": {"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}}}
	answer, err := m.ToResource(scim.User, user)
	if err != nil {
		b.Fatal(err)
	}
	_, filterQuery := entraFixtureRequest(b, "get-user-by-username")
	listTarget := "/scim/t/v2/Users?" + url.Values{"filter": {strings.TrimPrefix(filterQuery, "filter=")}}.Encode()

	requests := []struct {
		name, method, target string
		body                 []byte
		status               int
	}{
		{"create", http.MethodPost, "/scim/t/v2/Users", createBody, http.StatusCreated},
		{"list-by-username", http.MethodGet, listTarget, nil, http.StatusOK},
		{"patch-user", http.MethodPatch, "/scim/t/v2/Users/" + user.ID, benchUserPatch(b), http.StatusOK},
		{"patch-group-100-members", http.MethodPatch, "/scim/t/v2/Groups/" + group.ID, benchMemberAdd(100), http.StatusNoContent},
	}
	for _, layer := range []struct {
		name string
		m    *mapping.Mapping
	}{{"http", nil}, {"http+mapping", m}} {
		prov := &benchProvisioner{m: layer.m, user: user, group: group, userAnswer: answer}
		h := New(Options{
			Tenants: &benchTenants{digest: sha256.Sum256([]byte(testToken)), prov: prov},
			// As in production: JSON lines at info, the access log on.
			Logger:    hclog.New(&hclog.LoggerOptions{Level: hclog.Info, JSONFormat: true, Output: io.Discard}),
			PublicURL: testPublicURL,
			Metrics:   metrics.New(metrics.Options{}),
		})
		for _, rq := range requests {
			b.Run(layer.name+"/"+rq.name, func(b *testing.B) {
				body := &benchBody{}
				r, err := http.NewRequest(rq.method, "http://127.0.0.1:8080"+rq.target, nil)
				if err != nil {
					b.Fatal(err)
				}
				r.Header.Set("Authorization", "Bearer "+testToken)
				if rq.body != nil {
					r.Header.Set("Content-Type", scim.ContentType)
					r.ContentLength = int64(len(rq.body))
					r.Body = body
				}
				w := &benchWriter{header: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					body.Reset(rq.body)
					w.reset()
					h.ServeHTTP(w, r)
					if w.status != rq.status {
						b.Fatalf("status %d, want %d", w.status, rq.status)
					}
				}
			})
		}
	}
}

func (p *benchProvisioner) Discovery() scim.Discovery { return scim.StandardDiscovery() }
