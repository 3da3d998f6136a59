package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// HeaderRequestID carries the request id in both directions.
const HeaderRequestID = "X-Request-Id"

// Keys of values stored on the gin.Context.
const (
	keyRequestID   = "httpapi.request_id"
	keyProvisioner = "httpapi.provisioner"
)

// maxRequestIDLen bounds a client-supplied request id: it goes into every
// log line of the request.
const maxRequestIDLen = 128

// requestContext runs first: it fixes the request id, presets the SCIM
// Content-Type so that no answer (not even Gin's own 404/405) goes out
// without it, and attaches a request-scoped logger to the context for the
// layers below (hclog.FromContext).
func (a *api) requestContext(c *gin.Context) {
	id := c.GetHeader(HeaderRequestID)
	if !validRequestID(id) {
		id = rand.Text()
	}
	c.Set(keyRequestID, id)
	h := c.Writer.Header()
	h.Set(HeaderRequestID, id)
	h["Content-Type"] = scimContentType
	h["X-Content-Type-Options"] = noSniff
	// Answers carry personal data; no intermediary should keep them.
	h["Cache-Control"] = noStore
	ctx := hclog.WithContext(c.Request.Context(), a.log, "request_id", id)
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// validRequestID accepts a client's id only if it is short and made of
// characters that cannot forge or break a log line.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-', r == '_', r == '.', r == ':':
		default:
			return false
		}
	}
	return true
}

func requestID(c *gin.Context) string { return c.GetString(keyRequestID) }

// accessLog writes one line per request. It logs the route template, never
// the raw path (ids and filter values are personal data), and never headers
// (Authorization) or bodies.
func (a *api) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	if !a.log.IsInfo() {
		return // the level drops every access line: build none
	}
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	args := []any{
		"method", c.Request.Method,
		"route", route,
		"tenant", c.Param("tenant"),
		"status", c.Writer.Status(),
		"duration", time.Since(start),
		"request_id", requestID(c),
		"client", c.ClientIP(),
	}
	if route == "/healthz" || route == "/readyz" || route == "/metrics" {
		// Probes and scrapes every few seconds would drown the real traffic.
		a.log.Debug("request", args...)
		return
	}
	a.log.Info("request", args...)
}

// recovery turns a panic into a generic 500 and a logged stack; the server
// keeps serving. It sits inside accessLog so the 500 is logged as such.
func (a *api) recovery(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			// net/http's deliberate abort: let it reach the server.
			panic(v)
		}
		a.log.Error("panic while serving request",
			"panic", fmt.Sprint(v),
			"route", c.FullPath(),
			"request_id", requestID(c),
			"stack", string(debug.Stack()))
		if !c.Writer.Written() {
			writeSCIMError(c, internalError(requestID(c)))
		}
		c.Abort()
	}()
	c.Next()
}

// deadline bounds the whole request, authentication included, so that an
// answer (503 at worst) goes out well before Entra gives up at 60 s.
func (a *api) deadline(c *gin.Context) {
	timeout := a.timeout
	if c.FullPath() == cardsImportRoute {
		timeout = CardsImportTimeout // no SCIM client waits on it
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// authenticate requires `Authorization: Bearer <token>` (scheme matched
// without regard to case, RFC 7235 §2.1) and asks Tenants for the tenant's
// provisioner. Entra reports a 401 as invalid credentials, so only a
// missing or rejected token may produce one.
func (a *api) authenticate(c *gin.Context) {
	token, ok := bearerToken(c.GetHeader("Authorization"))
	if !ok {
		a.writeError(c, &scim.Error{
			Status: http.StatusUnauthorized,
			Detail: "a bearer token is required: send the Secret Token as Authorization: Bearer <token>",
		})
		c.Abort()
		return
	}
	tenant, ok := pathParam(c, "tenant")
	if !ok {
		a.writeError(c, notFound())
		c.Abort()
		return
	}
	p, err := a.tenants.Authenticate(c.Request.Context(), tenant, token)
	if err == nil && p == nil {
		err = fmt.Errorf("httpapi: tenants returned no provisioner for tenant %q", tenant)
	}
	if err != nil {
		a.writeError(c, err)
		c.Abort()
		return
	}
	c.Set(keyProvisioner, p)
	c.Next()
}

// bearerToken extracts the token of a Bearer Authorization header.
func bearerToken(h string) (string, bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token := strings.TrimSpace(rest)
	return token, token != ""
}

func provisioner(c *gin.Context) Provisioner {
	p, _ := c.MustGet(keyProvisioner).(Provisioner)
	return p
}

func (a *api) noRoute(c *gin.Context) {
	if isOperatorPath(c.Request.URL.Path) {
		a.writeAdminJSON(c, http.StatusNotFound, map[string]string{"error": "no such endpoint"})
		return
	}
	writeSCIMError(c, notFound())
}

func (a *api) noMethod(c *gin.Context) {
	// Gin has already set the Allow header from the routes that match.
	if isOperatorPath(c.Request.URL.Path) {
		a.writeAdminJSON(c, http.StatusMethodNotAllowed, map[string]string{
			"error": fmt.Sprintf("method %s is not allowed here; allowed: %s", c.Request.Method, c.Writer.Header().Get("Allow")),
		})
		return
	}
	writeSCIMError(c, scim.Errorf(http.StatusMethodNotAllowed, "",
		"method %s is not allowed here; allowed: %s", c.Request.Method, c.Writer.Header().Get("Allow")))
}

func notFound() *scim.Error {
	return &scim.Error{Status: http.StatusNotFound, Detail: "no such resource or endpoint"}
}
