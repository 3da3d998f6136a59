package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// deadlineRetryAfter is what a 503 for an exceeded request deadline asks the
// client to wait. Entra's own schedule decides in practice; the header
// mostly tells a human with curl that trying again is the right move.
const deadlineRetryAfter = 30 * time.Second

// writeError is the one place where an error becomes an answer. A
// *scim.Error is the client's to see; an exceeded deadline is a 503 the
// client should retry; anything else is logged and hidden behind a generic
// 500 that only names the request id.
func (a *api) writeError(c *gin.Context, err error) {
	ctx := c.Request.Context()
	id := requestID(c)
	var se *scim.Error
	switch {
	case errors.As(err, &se) && se.Status >= 400 && se.Status <= 599:
		if se.Status >= 500 {
			a.log.Warn("request failed", "route", c.FullPath(), "status", se.Status, "error", se, "request_id", id)
		} else if a.log.IsDebug() {
			// A 4xx is routine (Entra's lookups of users not yet
			// there); its line is built only when it is written.
			a.log.Debug("request rejected", "route", c.FullPath(), "status", se.Status, "error", se, "request_id", id)
		}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		a.log.Warn("request deadline exceeded", "route", c.FullPath(), "error", err, "request_id", id)
		se = &scim.Error{
			Status:     http.StatusServiceUnavailable,
			Detail:     "the target directory did not answer in time; retry later",
			RetryAfter: deadlineRetryAfter,
		}
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client went away; nobody reads this answer.
		a.log.Info("request cancelled by the client", "route", c.FullPath(), "request_id", id)
		se = &scim.Error{Status: http.StatusServiceUnavailable, Detail: "request cancelled"}
	default:
		a.log.Error("request failed", "route", c.FullPath(), "error", err, "request_id", id)
		se = internalError(id)
	}
	writeSCIMError(c, se)
}

// internalError is the only body a 500 ever has: the request id lets an
// operator find the real cause in the log.
func internalError(requestID string) *scim.Error {
	return &scim.Error{
		Status: http.StatusInternalServerError,
		Detail: "internal error; the bridge log has the cause under request id " + requestID,
	}
}

// writeSCIMError writes se as an RFC 7644 §3.12 body with its headers.
func writeSCIMError(c *gin.Context, se *scim.Error) {
	if c.Writer.Written() {
		return
	}
	h := c.Writer.Header()
	h.Del("Location")
	if se.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(se.RetryAfter.Seconds()))))
	}
	if se.Status == http.StatusUnauthorized {
		// RFC 6750 §3: a 401 names the scheme the client must use.
		h.Set("WWW-Authenticate", "Bearer")
	}
	body, err := json.Marshal(se)
	if err != nil {
		// Error marshals plain strings only; this cannot fail.
		body = []byte(`{"schemas":["` + scim.SchemaError + `"],"status":"500"}`)
	}
	writeBody(c, se.Status, body)
}

// writeJSON writes v as the answer. Marshalling happens before anything is
// written so that a failure still gets a proper 500.
func (a *api) writeJSON(c *gin.Context, status int, v any) {
	var body []byte
	var err error
	switch v := v.(type) {
	case scim.Resource:
		// The answers of every SCIM request: they encode themselves,
		// compact and without HTML escaping, which is what the encoder
		// below would make of them after a second pass over the bytes.
		body, err = v.MarshalJSON()
	case scim.ListResponse:
		body, err = v.MarshalJSON()
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		// Display names like "R&D" stay readable; the answer is never HTML.
		enc.SetEscapeHTML(false)
		err = enc.Encode(v)
		body = bytes.TrimRight(buf.Bytes(), "\n")
	}
	if err != nil {
		a.writeError(c, fmt.Errorf("httpapi: encode answer: %w", err))
		return
	}
	writeBody(c, status, body)
}

// Header values set on every answer, shared so that setting them
// allocates nothing (gin's renderers do the same); nothing appends to
// or edits a header value in place.
var (
	scimContentType = []string{scim.ContentType}
	noSniff         = []string{"nosniff"}
	noStore         = []string{"no-store"}
)

func writeBody(c *gin.Context, status int, body []byte) {
	// Set, not add: every answer must carry the SCIM Content-Type, even
	// where something set another before.
	c.Writer.Header()["Content-Type"] = scimContentType
	c.Status(status)
	if bodyAllowed(status) {
		_, _ = c.Writer.Write(body)
	} else {
		c.Writer.WriteHeaderNow()
	}
}

// bodyAllowed is gin's (and RFC 9110's) rule: 1xx, 204 and 304 answers
// have no body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// readBody reads the request body up to the limit. Over the limit is 413
// (RFC 7644 §3.12 has no scimType for it); a body that breaks off is 400.
func (a *api) readBody(c *gin.Context) ([]byte, error) {
	tooLarge := scim.Errorf(http.StatusRequestEntityTooLarge, "",
		"request body exceeds the limit of %d bytes", a.bodyLimit)
	if c.Request.ContentLength > a.bodyLimit {
		return nil, tooLarge
	}
	b, err := readAll(http.MaxBytesReader(c.Writer, c.Request.Body, a.bodyLimit), c.Request.ContentLength)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		if ctxErr := c.Request.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("httpapi: read body: %w", ctxErr)
		}
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidSyntax, "the request body could not be read completely")
	}
	return b, nil
}

// readAll is io.ReadAll with the first buffer sized to the announced
// length (+1, so that EOF is seen without growing): Entra announces every
// body, and a membership batch of several kilobytes then costs one
// allocation instead of a doubling series. The limit is r's.
func readAll(r io.Reader, length int64) ([]byte, error) {
	size := 512
	if length > 0 && length < math.MaxInt32 {
		size = int(length) + 1
	}
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// pathParam returns an unescaped path parameter. Gin is told not to
// unescape (see New), so an id keeps an encoded "/" or a literal "+".
// "." and ".." are refused: no target issues them as ids, and proxies on
// the way may already have resolved them against the path.
func pathParam(c *gin.Context, name string) (string, bool) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil || v == "" || v == "." || v == ".." {
		return "", false
	}
	return v, true
}

// resourceURL is the absolute URL of a resource, for Location and
// meta.location. Ids are opaque: escape them.
func (a *api) resourceURL(tenant, seg, id string) string {
	return a.baseURL(tenant) + "/" + seg + "/" + url.PathEscape(id)
}

// baseURL is the tenant's SCIM base, the Tenant URL pasted into Entra.
func (a *api) baseURL(tenant string) string {
	return a.publicURL + "/scim/" + url.PathEscape(tenant) + "/" + segV2
}

// withMeta returns r with meta.location (and meta.resourceType if missing)
// set, without touching r: the provisioner may hand out a shared value, such
// as a stored idempotent answer. When the client asked for a projection, a
// meta the projection removed is not brought back.
func withMeta(r scim.Resource, kind scim.Kind, location string, projected bool) scim.Resource {
	meta, ok := r["meta"].(map[string]any)
	if !ok && (projected || r["meta"] != nil) {
		return r
	}
	m := make(map[string]any, len(meta)+2)
	maps.Copy(m, meta)
	m["location"] = location
	if _, ok := m["resourceType"]; !ok && !projected {
		m["resourceType"] = string(kind)
	}
	out := make(scim.Resource, len(r)+1)
	maps.Copy(out, r)
	out["meta"] = m
	return out
}
