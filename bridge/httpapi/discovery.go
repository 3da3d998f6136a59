package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// The discovery endpoints (RFC 7644 §4) describe what the tenant serves,
// as its provisioner says (generated from its mapping). They need a valid
// token like everything under /scim.

// GET /ServiceProviderConfig.
func (a *api) serviceProviderConfig(c *gin.Context) {
	base, ok := a.discoveryBase(c)
	if !ok {
		return
	}
	d := provisioner(c).Discovery()
	if a.schemes != nil {
		tenant, _ := pathParam(c, "tenant")
		d.AuthenticationSchemes = a.schemes(tenant)
	}
	a.writeJSON(c, http.StatusOK, scim.ServiceProviderConfig(base, d))
}

// GET /Schemas → ListResponse.
func (a *api) schemas(c *gin.Context) {
	if base, ok := a.discoveryBase(c); ok {
		a.writeJSON(c, http.StatusOK, listOf(scim.Schemas(base, provisioner(c).Discovery())))
	}
}

// GET /Schemas/{urn}.
func (a *api) schema(c *gin.Context) {
	if base, ok := a.discoveryBase(c); ok {
		a.writeOne(c, scim.Schemas(base, provisioner(c).Discovery()))
	}
}

// GET /ResourceTypes → ListResponse.
func (a *api) resourceTypes(c *gin.Context) {
	if base, ok := a.discoveryBase(c); ok {
		a.writeJSON(c, http.StatusOK, listOf(scim.ResourceTypes(base, provisioner(c).Discovery())))
	}
}

// GET /ResourceTypes/{name}.
func (a *api) resourceType(c *gin.Context) {
	if base, ok := a.discoveryBase(c); ok {
		a.writeOne(c, scim.ResourceTypes(base, provisioner(c).Discovery()))
	}
}

// discoveryBase returns the tenant's base URL, or answers and returns false.
// A filter is refused with 403, as RFC 7644 §4 asks, so that a client
// cannot take an unfiltered answer for a filtered one.
func (a *api) discoveryBase(c *gin.Context) (string, bool) {
	q, err := a.query(c, []string{"filter"})
	if err != nil {
		a.writeError(c, err)
		return "", false
	}
	if len(q) > 0 {
		a.writeError(c, scim.Errorf(http.StatusForbidden, "", "filtering is not supported on discovery endpoints"))
		return "", false
	}
	tenant, _ := pathParam(c, "tenant")
	return a.baseURL(tenant), true
}

// writeOne answers the resource whose id matches the path (schema URNs and
// resource type names compare without regard to case), or 404.
func (a *api) writeOne(c *gin.Context, all []map[string]any) {
	id, ok := pathParam(c, "id")
	if ok {
		for _, r := range all {
			if rid, _ := r["id"].(string); strings.EqualFold(rid, id) {
				a.writeJSON(c, http.StatusOK, r)
				return
			}
		}
	}
	a.writeError(c, notFound())
}

func listOf(docs []map[string]any) scim.ListResponse {
	rs := make([]scim.Resource, len(docs))
	for i, d := range docs {
		rs[i] = d
	}
	return scim.ListResponse{TotalResults: len(rs), StartIndex: 1, ItemsPerPage: len(rs), Resources: rs}
}
