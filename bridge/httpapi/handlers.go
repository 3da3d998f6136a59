package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// resourceHandler serves /Users or /Groups of the authenticated tenant.
type resourceHandler struct {
	*api
	kind scim.Kind
	seg  string // canonical path segment, "Users" or "Groups"
}

// Query parameters of a list request (RFC 7644 §3.4.2). Anything else, such
// as Entra's `aadOptscim062020` flag, is ignored (docs/entra.md §1).
var (
	listParams       = []string{"filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder"}
	projectionParams = []string{"attributes", "excludedAttributes"}
)

// POST /Users → 201 with Location (RFC 7644 §3.3).
func (h resourceHandler) create(c *gin.Context) {
	_, proj, in, ok := h.readResource(c, false)
	if !ok {
		return
	}
	out, err := provisioner(c).Create(c.Request.Context(), h.kind, in)
	if err == nil && out == nil {
		err = errors.New("httpapi: create returned no resource")
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	out, loc := h.finish(c, out, proj)
	if loc != "" {
		c.Header("Location", loc)
	}
	h.writeJSON(c, http.StatusCreated, out)
}

// GET /Users?filter=… → 200 ListResponse, also for zero hits: Entra's Test
// Connection probe expects exactly that (docs/entra.md §2.1).
func (h resourceHandler) list(c *gin.Context) {
	q, err := h.query(c, listParams)
	if err != nil {
		h.writeError(c, err)
		return
	}
	p, err := scim.ParseListParams(h.kind, q)
	if err != nil {
		h.writeError(c, badInput(err))
		return
	}
	lr, err := provisioner(c).List(c.Request.Context(), h.kind, p)
	if err != nil {
		h.writeError(c, err)
		return
	}
	projected := len(p.Attributes) > 0 || len(p.ExcludedAttributes) > 0
	tenant, _ := pathParam(c, "tenant")
	// A fresh slice: the provisioner's may be shared.
	res := make([]scim.Resource, len(lr.Resources))
	for i, r := range lr.Resources {
		if id, ok := r["id"].(string); ok && id != "" {
			r = withMeta(r, h.kind, h.resourceURL(tenant, h.seg, id), projected)
		}
		res[i] = r
	}
	lr.Resources = res
	h.writeJSON(c, http.StatusOK, lr)
}

// GET /Users/{id}[?attributes=…|excludedAttributes=…] → 200 or 404.
func (h resourceHandler) get(c *gin.Context) {
	id, proj, ok := h.readTarget(c, true)
	if !ok {
		return
	}
	out, err := provisioner(c).Get(c.Request.Context(), h.kind, id, proj)
	if err == nil && out == nil {
		err = notFound()
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	out, _ = h.finish(c, out, proj)
	h.writeJSON(c, http.StatusOK, out)
}

// PUT /Users/{id} → 200.
func (h resourceHandler) replace(c *gin.Context) {
	id, proj, in, ok := h.readResource(c, true)
	if !ok {
		return
	}
	out, err := provisioner(c).Replace(c.Request.Context(), h.kind, id, in)
	if err == nil && out == nil {
		err = errors.New("httpapi: replace returned no resource")
	}
	if err != nil {
		h.writeError(c, err)
		return
	}
	out, _ = h.finish(c, out, proj)
	h.writeJSON(c, http.StatusOK, out)
}

// PATCH /Users/{id} → 200 with the resource, or 204 (Entra accepts both;
// 204 is what it expects for group membership batches).
func (h resourceHandler) patch(c *gin.Context) {
	id, proj, ok := h.readTarget(c, true)
	if !ok {
		return
	}
	body, err := h.readBody(c)
	if err != nil {
		h.writeError(c, err)
		return
	}
	ops, err := scim.DecodePatch(h.kind, body)
	if err != nil {
		h.writeError(c, badInput(err))
		return
	}
	out, err := provisioner(c).Patch(c.Request.Context(), h.kind, id, ops)
	if err != nil {
		h.writeError(c, err)
		return
	}
	if out == nil {
		c.Status(http.StatusNoContent)
		return
	}
	out, _ = h.finish(c, out, proj)
	h.writeJSON(c, http.StatusOK, out)
}

// readTarget reads what every handler of one resource needs: its id (when
// withID) and the projection. On failure it has answered and ok is false.
func (h resourceHandler) readTarget(c *gin.Context, withID bool) (id string, proj scim.ListParams, ok bool) {
	if withID {
		if id, ok = pathParam(c, "id"); !ok {
			h.writeError(c, notFound())
			return "", proj, false
		}
	}
	proj, err := h.projection(c)
	if err != nil {
		h.writeError(c, err)
		return "", proj, false
	}
	return id, proj, true
}

// readResource is readTarget plus the request body decoded as a resource
// (POST, PUT).
func (h resourceHandler) readResource(c *gin.Context, withID bool) (id string, proj scim.ListParams, in scim.Resource, ok bool) {
	if id, proj, ok = h.readTarget(c, withID); !ok {
		return "", proj, nil, false
	}
	body, err := h.readBody(c)
	if err != nil {
		h.writeError(c, err)
		return "", proj, nil, false
	}
	if in, err = scim.Decode(h.kind, body); err != nil {
		h.writeError(c, badInput(err))
		return "", proj, nil, false
	}
	return id, proj, in, true
}

// DELETE /Users/{id} → 204.
func (h resourceHandler) delete(c *gin.Context) {
	id, ok := pathParam(c, "id")
	if !ok {
		h.writeError(c, notFound())
		return
	}
	if err := provisioner(c).Delete(c.Request.Context(), h.kind, id); err != nil {
		h.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// projection parses attributes/excludedAttributes, which RFC 7644 §3.9
// allows on every request that answers with a resource.
func (h resourceHandler) projection(c *gin.Context) (scim.ListParams, error) {
	q, err := h.query(c, projectionParams)
	if err != nil || len(q) == 0 {
		return scim.ListParams{}, err
	}
	p, err := scim.ParseListParams(h.kind, q)
	if err != nil {
		return scim.ListParams{}, badInput(err)
	}
	return scim.ListParams{Attributes: p.Attributes, ExcludedAttributes: p.ExcludedAttributes}, nil
}

// finish projects a resource as asked (the provisioner may already have
// done so; projecting twice is harmless) and sets meta.location. It returns
// the resource's URL, "" when it has no id.
func (h resourceHandler) finish(c *gin.Context, r scim.Resource, proj scim.ListParams) (scim.Resource, string) {
	projected := len(proj.Attributes) > 0 || len(proj.ExcludedAttributes) > 0
	if projected {
		r = scim.Project(r, proj.Attributes, proj.ExcludedAttributes)
	}
	id, ok := r["id"].(string)
	if !ok || id == "" {
		return r, ""
	}
	tenant, _ := pathParam(c, "tenant")
	loc := h.resourceURL(tenant, h.seg, id)
	return withMeta(r, h.kind, loc, projected), loc
}

// query returns the parameters named in keep, matched without regard to
// case and keyed by their canonical spelling. A query string that does not
// parse is refused: silently dropping a garbled filter would widen a search
// to every resource (docs/failure-model.md §2.2, Cogtrix#124).
func (a *api) query(c *gin.Context, keep []string) (url.Values, error) {
	if c.Request.URL.RawQuery == "" {
		return nil, nil // most requests: nothing to parse or keep
	}
	all, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return nil, scim.Errorf(http.StatusBadRequest, scim.InvalidSyntax, "the query string is malformed: %v", err)
	}
	out := url.Values{}
	for k, vs := range all {
		for _, name := range keep {
			if strings.EqualFold(k, name) {
				out[name] = append(out[name], vs...)
				break
			}
		}
	}
	return out, nil
}

// badInput keeps a parser's *scim.Error. Anything else from a parser is
// still the request's fault, but its text is not meant for clients: it
// becomes a generic 400 and stays in the chain for the log.
func badInput(err error) error {
	if _, ok := errors.AsType[*scim.Error](err); ok {
		return err
	}
	return fmt.Errorf("httpapi: %w (%w)",
		scim.Errorf(http.StatusBadRequest, scim.InvalidSyntax, "the request could not be parsed"), err)
}
