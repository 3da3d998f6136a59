package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
)

// scimClient sends requests to one tenant the way Entra does (bearer
// token, application/scim+json bodies) and counts, over the whole run of a
// state store, every 5xx and every answer the scenario did not expect.
type scimClient struct {
	base string // the Tenant URL
	auth string
	hc   *http.Client
	log  io.Writer

	n5xx, unexpected, transport atomic.Int64
	// The first few unexpected answers go to the log, so that a failing
	// run says why.
	shown atomic.Int64
}

func newSCIMClient(tenantURL, token string, log io.Writer) *scimClient {
	tr := &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	// Entra gives up on a request after 60 s.
	return &scimClient{base: tenantURL, auth: "Bearer " + token, log: log,
		hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (c *scimClient) close() { c.hc.CloseIdleConnections() }

// do sends one request and reads the whole answer. status is 0 when no
// answer came (counted as a transport error).
func (c *scimClient) do(ctx context.Context, method, path string, body []byte) (status int, answer []byte, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			c.transport.Add(1)
		}
		return 0, nil, err
	}
	answer, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		c.n5xx.Add(1)
	}
	return resp.StatusCode, answer, err
}

// expect reports whether status is one of want, counting and logging the
// unexpected.
func (c *scimClient) expect(what string, status int, answer []byte, err error, want ...int) bool {
	if slices.Contains(want, status) {
		return true
	}
	if status == 0 && err != nil && isCanceled(err) {
		return false
	}
	c.unexpected.Add(1)
	if c.shown.Add(1) <= 5 {
		if status == 0 {
			fmt.Fprintf(c.log, "bench: %s: %v\n", what, err)
		} else {
			fmt.Fprintf(c.log, "bench: %s answered %d (want %v): %.300s\n", what, status, want, answer)
		}
	}
	return false
}

// fail counts and logs an answer with the expected status but the wrong
// content.
func (c *scimClient) fail(what string, answer []byte) {
	c.unexpected.Add(1)
	if c.shown.Add(1) <= 5 {
		fmt.Fprintf(c.log, "bench: %s: %.300s\n", what, answer)
	}
}

// timed sends one request and returns its latency too.
func (c *scimClient) timed(ctx context.Context, method, path string, body []byte) (int, []byte, time.Duration, error) {
	start := time.Now()
	status, answer, err := c.do(ctx, method, path, body)
	return status, answer, time.Since(start), err
}

// resourceID reads "id" from a created resource.
func resourceID(answer []byte) string {
	var r struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(answer, &r)
	return r.ID
}

func filterPath(resource, expr string) string {
	return "/" + resource + "?filter=" + url.QueryEscape(expr)
}

func usersByUserName(v string) string   { return filterPath("Users", `userName eq "`+v+`"`) }
func usersByExternalID(v string) string { return filterPath("Users", `externalId eq "`+v+`"`) }

// groupsByDisplayName is Entra's group match (docs/entra.md §2.11).
func groupsByDisplayName(v string) string {
	return "/Groups?excludedAttributes=members&filter=" + url.QueryEscape(`displayName eq "`+v+`"`)
}

// A user's identity follows from its token (u0000001 through the bridge,
// r0000001 raw), so that a raw entry is the bridge's with other values.
func userName(tok string) string    { return "bench." + tok + "@contoso.com" }
func externalID(tok string) string  { return "ext-" + tok }
func mailOf(tok string) string      { return "mail." + tok + "@contoso.com" }
func displayName(tok string) string { return "Bench User " + tok }

// bodies builds request bodies from the Entra fixtures of bridge/scim
// (docs/entra.md §2.2, §2.9, §2.13, §2.17), so that the bench sends what
// the bridge's own tests prove Entra sends.
type bodies struct {
	user, group map[string]any
}

func loadBodies(root string) (*bodies, error) {
	u, err := fixtureRequest(root, "create-user")
	if err != nil {
		return nil, err
	}
	g, err := fixtureRequest(root, "create-group")
	if err != nil {
		return nil, err
	}
	return &bodies{user: u, group: g}, nil
}

func fixtureRequest(root, name string) (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join(root, "bridge/scim/testdata/entra", name+".json"))
	if err != nil {
		return nil, err
	}
	var f struct {
		Request map[string]any `json:"request"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("fixture %s: %w", name, err)
	}
	if f.Request == nil {
		return nil, fmt.Errorf("fixture %s has no request body", name)
	}
	return f.Request, nil
}

// The fixture maps are templates shared by every worker: only read, never
// changed (each body is a shallow copy with new values).

// createUser is Entra's POST /Users for the user with token tok, plus the
// displayName Entra's default mapping sends.
func (b *bodies) createUser(tok string) []byte {
	u := cloneMap(b.user)
	u["externalId"], u["userName"], u["displayName"] = externalID(tok), userName(tok), displayName(tok)
	if emails, ok := u["emails"].([]any); ok && len(emails) > 0 {
		e := cloneMap(emails[0].(map[string]any))
		e["value"] = mailOf(tok)
		u["emails"] = []any{e}
	}
	return mustJSON(u)
}

// createGroup is Entra's POST /Groups (created empty, members by PATCH).
func (b *bodies) createGroup(name, ext string) []byte {
	g := cloneMap(b.group)
	g["displayName"], g["externalId"] = name, ext
	return mustJSON(g)
}

const patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// patchUser is Entra's PATCH of changed attributes (§2.17: Replace with a
// path per attribute): displayName and title.
func patchUser(displayName, title string) []byte {
	return mustJSON(map[string]any{
		"schemas": []string{patchOp},
		"Operations": []any{
			map[string]any{"op": "Replace", "path": "displayName", "value": displayName},
			map[string]any{"op": "Replace", "path": "title", "value": title},
		},
	})
}

// patchAddMembers is Entra's member add (§2.13): one Add with the SCIM ids
// the bridge answered, each with "$ref": null.
func patchAddMembers(ids []string) []byte {
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = map[string]any{"$ref": nil, "value": id}
	}
	return mustJSON(map[string]any{
		"schemas":    []string{patchOp},
		"Operations": []any{map[string]any{"op": "Add", "path": "members", "value": vals}},
	})
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// isCanceled is an error of a request the run itself cancelled (a
// client's own timeout is not one).
func isCanceled(err error) bool { return errors.Is(err, context.Canceled) }
