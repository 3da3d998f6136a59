package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testPublicURL = "http://127.0.0.1:8080"
	testTenant    = "t"
	testToken     = "scimb_QWERTYUIOPASDFGHJKLZXCVBNM234567"
)

// call is one recorded Provisioner call.
type call struct {
	Method   string
	Kind     scim.Kind
	ID       string
	Params   scim.ListParams
	Resource scim.Resource
	Ops      []scim.PatchOp
}

// recProvisioner is the test double of the provisioning service: it
// records every call and answers through optional hooks, with defaults
// that echo what a real service would.
type recProvisioner struct {
	mu    sync.Mutex
	calls []call

	create  func(ctx context.Context, r scim.Resource) (scim.Resource, error)
	get     func(ctx context.Context, id string) (scim.Resource, error)
	list    func(ctx context.Context, p scim.ListParams) (scim.ListResponse, error)
	replace func(ctx context.Context, id string, r scim.Resource) (scim.Resource, error)
	patch   func(ctx context.Context, id string, ops []scim.PatchOp) (scim.Resource, error)
	delete  func(ctx context.Context, id string) error
}

var _ Provisioner = (*recProvisioner)(nil)

func (p *recProvisioner) record(c call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, c)
}

func (p *recProvisioner) recorded() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]call(nil), p.calls...)
}

func (p *recProvisioner) Create(ctx context.Context, kind scim.Kind, r scim.Resource) (scim.Resource, error) {
	p.record(call{Method: "Create", Kind: kind, Resource: r})
	if p.create != nil {
		return p.create(ctx, r)
	}
	out := scim.Resource{"id": "new-id"}
	for k, v := range r {
		out[k] = v
	}
	return out, nil
}

func (p *recProvisioner) Get(ctx context.Context, kind scim.Kind, id string, lp scim.ListParams) (scim.Resource, error) {
	p.record(call{Method: "Get", Kind: kind, ID: id, Params: lp})
	if p.get != nil {
		return p.get(ctx, id)
	}
	return scim.Resource{"id": id, "displayName": "Some Name"}, nil
}

func (p *recProvisioner) List(ctx context.Context, kind scim.Kind, lp scim.ListParams) (scim.ListResponse, error) {
	p.record(call{Method: "List", Kind: kind, Params: lp})
	if p.list != nil {
		return p.list(ctx, lp)
	}
	return scim.ListResponse{StartIndex: 1}, nil
}

func (p *recProvisioner) Replace(ctx context.Context, kind scim.Kind, id string, r scim.Resource) (scim.Resource, error) {
	p.record(call{Method: "Replace", Kind: kind, ID: id, Resource: r})
	if p.replace != nil {
		return p.replace(ctx, id, r)
	}
	out := scim.Resource{"id": id}
	for k, v := range r {
		out[k] = v
	}
	return out, nil
}

func (p *recProvisioner) Patch(ctx context.Context, kind scim.Kind, id string, ops []scim.PatchOp) (scim.Resource, error) {
	p.record(call{Method: "Patch", Kind: kind, ID: id, Ops: ops})
	if p.patch != nil {
		return p.patch(ctx, id, ops)
	}
	return nil, nil
}

func (p *recProvisioner) Delete(ctx context.Context, kind scim.Kind, id string) error {
	p.record(call{Method: "Delete", Kind: kind, ID: id})
	if p.delete != nil {
		return p.delete(ctx, id)
	}
	return nil
}

// recTenants authenticates like the real service does: SHA-256 of the
// presented token compared in constant time with the stored digest.
type recTenants struct {
	mu     sync.Mutex
	tokens map[string][32]byte // tenant -> digest
	prov   *recProvisioner
	// fail, if set, decides the answer for a tenant before the token check.
	fail  func(tenant string) error
	calls []string // "tenant|token"
}

var _ Tenants = (*recTenants)(nil)

func (t *recTenants) Authenticate(ctx context.Context, tenant, token string) (Provisioner, error) {
	t.mu.Lock()
	t.calls = append(t.calls, tenant+"|"+token)
	t.mu.Unlock()
	if t.fail != nil {
		if err := t.fail(tenant); err != nil {
			return nil, err
		}
	}
	want, ok := t.tokens[tenant]
	got := sha256.Sum256([]byte(token))
	if !ok || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return nil, &scim.Error{Status: http.StatusUnauthorized, Detail: "the token is not valid for this tenant"}
	}
	if t.prov == nil {
		return nil, nil // an untyped nil: the case httpapi must survive
	}
	return t.prov, nil
}

func (t *recTenants) recorded() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.calls...)
}

// syncBuffer collects log output written from handler goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	handler http.Handler
	prov    *recProvisioner
	tenants *recTenants
	logs    *syncBuffer
}

// newTestHarness builds the handler with a recording provisioner behind
// tenant "t" (token testToken) and a log that records every level.
func newTestHarness(tb testing.TB, opts ...func(*Options)) *harness {
	tb.Helper()
	prov := &recProvisioner{}
	tenants := &recTenants{
		tokens: map[string][32]byte{testTenant: sha256.Sum256([]byte(testToken))},
		prov:   prov,
	}
	logs := &syncBuffer{}
	o := Options{
		Tenants:   tenants,
		Logger:    hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace}),
		PublicURL: testPublicURL,
	}
	for _, f := range opts {
		f(&o)
	}
	return &harness{handler: New(o), prov: prov, tenants: tenants, logs: logs}
}

// req describes one request; Header values replace the default bearer
// header when they name Authorization.
type req struct {
	Method string
	Target string
	Body   string
	Header map[string]string
}

// do serves r and checks what must hold for every answer: the SCIM
// Content-Type (except /healthz) and an X-Request-Id.
func (h *harness) do(tb testing.TB, r req) *httptest.ResponseRecorder {
	tb.Helper()
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	hr := httptest.NewRequest(r.Method, r.Target, body)
	hr.Header.Set("Authorization", "Bearer "+testToken)
	if r.Body != "" {
		hr.Header.Set("Content-Type", scim.ContentType)
	}
	for k, v := range r.Header {
		if v == "" {
			hr.Header.Del(k)
			continue
		}
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, hr)
	if !strings.HasPrefix(r.Target, "/healthz") {
		require.Equal(tb, scim.ContentType, w.Header().Get("Content-Type"), "Content-Type of %s %s (status %d)", r.Method, r.Target, w.Code)
	}
	require.NotEmpty(tb, w.Header().Get(HeaderRequestID), "X-Request-Id of %s %s", r.Method, r.Target)
	return w
}

// scimError is a decoded SCIM error body.
type scimError struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType"`
	Detail   string   `json:"detail"`
}

// mustSCIMError decodes w as a SCIM error with the given status.
func mustSCIMError(tb testing.TB, w *httptest.ResponseRecorder, status int) scimError {
	tb.Helper()
	require.Equal(tb, status, w.Code, "body: %s", w.Body.String())
	var e scimError
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(tb, dec.Decode(&e), "body: %s", w.Body.String())
	require.Equal(tb, []string{scim.SchemaError}, e.Schemas)
	require.Equal(tb, strconv.Itoa(status), e.Status)
	return e
}

// mustObject decodes w's body as one JSON object.
func mustObject(tb testing.TB, w *httptest.ResponseRecorder) map[string]any {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.Unmarshal(w.Body.Bytes(), &m), "body: %s", w.Body.String())
	return m
}

// Discovery describes every standard attribute: discovery tests here
// check the protocol edge; what a mapping advertises is mapping's test.
func (p *recProvisioner) Discovery() scim.Discovery { return scim.StandardDiscovery() }
