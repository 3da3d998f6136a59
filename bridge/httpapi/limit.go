package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/gin-gonic/gin"
)

// Limiter admits SCIM requests: per-tenant and per-client rates and a
// per-tenant cap on requests in flight (implemented, through main, by
// bridge/limits). A refusal is a *scim.Error (429 with Retry-After, which
// Entra honours); anything else is answered like any other error.
type Limiter interface {
	Admit(ctx context.Context, tenant, client string) (done func(), err error)
}

// limit runs after authenticate, so that only callers with a valid token
// spend a tenant's budget and a wrong token is still answered 401.
func (a *api) limit(c *gin.Context) {
	if a.limiter == nil {
		c.Next()
		return
	}
	tenant, _ := pathParam(c, "tenant")
	done, err := a.limiter.Admit(c.Request.Context(), tenant, clientKey(c))
	if err != nil {
		a.writeError(c, err)
		c.Abort()
		return
	}
	defer done()
	c.Next()
}

// clientKey names the caller for the per-client rate: today the token it
// authenticated with (a tenant has one, two during a rotation's grace
// period), hashed so that no token is kept in memory as a map key. Change
// this one function when callers are identified otherwise.
func clientKey(c *gin.Context) string {
	token, _ := bearerToken(c.GetHeader("Authorization"))
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}
