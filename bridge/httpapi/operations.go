package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// This file holds the operators' endpoints: /metrics, /readyz and the
// admin API under /admin. They answer plain JSON (or the Prometheus text
// format), not SCIM: their clients are monitoring systems, scripts and
// people with curl.
//
// None of them is meant for the Internet. /metrics and /readyz need no
// token (scrapers and probes carry none), so the listener they share with
// Entra's endpoints should be reachable from outside only for /scim, by a
// reverse-proxy rule or a firewall; /admin needs the admin token but is
// still best kept on the inside.

// Metrics records every answered request and serves the exposition
// (implemented by *metrics.Metrics).
type Metrics interface {
	// ObserveRequest is called once per request with the tenant (only
	// once its token was accepted, so that the label takes configured
	// names only; "" otherwise) and the route template
	// (c.FullPath(), "unmatched" when no route matched), never the raw
	// path, which carries ids.
	ObserveRequest(tenant, route, method string, status int, d time.Duration)
	// Handler serves GET /metrics.
	Handler() http.Handler
}

// Health answers /readyz.
type Health interface {
	// Ready returns nil when this replica can serve writes now. An error
	// wrapping opsview.ErrDegraded means it serves with reduced guarantees (the
	// state store is down: natural keys still prevent duplicates, docs/design.md §5)
	// and is still ready; any other error means not ready. The error text
	// is shown to unauthenticated callers: it must name what is down, never
	// hosts, DSNs or credentials.
	Ready(ctx context.Context) error
}

// Admin is the operators' API over the retry queue and the bridge's state
// (implemented by *ops.Operator), in opsview's types. Errors are
// *scim.Error (its Status and Detail are used), or wrap opsview.ErrNotFound
// (404) or opsview.ErrConflict (409); anything else is logged and answered
// with a generic 500.
type Admin interface {
	// Authenticate checks the admin bearer token.
	Authenticate(ctx context.Context, token string) error
	// Status describes tenants, tokens, targets, the state store and the
	// queue.
	Status(ctx context.Context) (opsview.Status, error)
	// Jobs lists queue jobs; f is checked here (state, limit from 1 to
	// MaxAdminLimit).
	Jobs(ctx context.Context, f opsview.JobFilter) ([]opsview.Job, error)
	// Job returns one job with everything known about it.
	Job(ctx context.Context, id string) (opsview.Job, error)
	// Retry makes a dead or pending job due now with a fresh retry budget.
	Retry(ctx context.Context, id string) (opsview.Action, error)
	// Drop deletes a job.
	Drop(ctx context.Context, id string) (opsview.Action, error)
}

// Traffic counts each tenant's SCIM answers (implemented by
// *ops.TrafficCounter, for the console's Tenants page).
type Traffic interface {
	Observe(tenant string, status int)
}

// Reloader reloads the configuration of the running bridge (POST
// /admin/reload, `scimbridge reload`). Reload answers what it did; a
// configuration it refuses is a *scim.Error 422 whose detail lists every
// problem, and the old configuration keeps serving.
type Reloader interface {
	Reload(ctx context.Context) (opsview.Reload, error)
}

// Limits of GET /admin/queue.
const (
	DefaultAdminLimit = 100
	MaxAdminLimit     = 1000
)

// readyTimeout bounds /readyz: orchestrators give a probe a few seconds.
const readyTimeout = 5 * time.Second

// jsonContentType is the media type of every operator answer but /metrics.
const jsonContentType = "application/json; charset=utf-8"

// observe feeds the request metrics. It runs outermost, so that the
// duration covers every other middleware and a recovered panic counts as
// the 500 it became.
func (a *api) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	tenant := ""
	if _, ok := c.Get(keyProvisioner); ok {
		tenant = c.Param("tenant")
	}
	a.metrics.ObserveRequest(tenant, route, c.Request.Method, c.Writer.Status(), time.Since(start))
}

// readyz answers 200 when ready (also when degraded, saying so) and 503
// with the reason otherwise. Without a Health it is as live as /healthz.
func (a *api) readyz(c *gin.Context) {
	if a.health == nil {
		a.writeAdminJSON(c, http.StatusOK, map[string]string{"status": "ready"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	err := a.health.Ready(ctx)
	switch {
	case err == nil:
		a.writeAdminJSON(c, http.StatusOK, map[string]string{"status": "ready"})
	case errors.Is(err, opsview.ErrDegraded):
		// The sentinel's own text adds nothing for the reader.
		reason := strings.TrimSuffix(err.Error(), ": "+opsview.ErrDegraded.Error())
		a.writeAdminJSON(c, http.StatusOK, map[string]string{"status": "degraded", "reason": reason})
	default:
		a.log.Warn("not ready", "reason", err)
		a.writeAdminJSON(c, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
	}
}

// adminAuthenticate requires the admin token. Tenants' Secret Tokens are
// not admin tokens: Admin.Authenticate checks against its own.
func (a *api) adminAuthenticate(c *gin.Context) {
	token, ok := bearerToken(c.GetHeader("Authorization"))
	if !ok {
		a.adminError(c, &scim.Error{
			Status: http.StatusUnauthorized,
			Detail: "an admin bearer token is required: send Authorization: Bearer <admin token> (see `scimbridge token generate --admin`)",
		})
		c.Abort()
		return
	}
	if err := a.admin.Authenticate(c.Request.Context(), token); err != nil {
		a.adminError(c, err)
		c.Abort()
		return
	}
	c.Next()
}

func (a *api) adminStatus(c *gin.Context) {
	v, err := a.admin.Status(c.Request.Context())
	adminAnswer(a, c, v, err)
}

func (a *api) adminJobs(c *gin.Context) {
	f := opsview.JobFilter{Tenant: c.Query("tenant"), State: c.Query("state"), Limit: DefaultAdminLimit}
	switch f.State {
	case "", "pending", "leased", "dead":
	default:
		a.adminError(c, scim.Errorf(http.StatusBadRequest, "", "state %q is not one of pending, leased, dead", f.State))
		return
	}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxAdminLimit {
			a.adminError(c, scim.Errorf(http.StatusBadRequest, "", "limit %q is not a whole number from 1 to %d", s, MaxAdminLimit))
			return
		}
		f.Limit = n
	}
	v, err := a.admin.Jobs(c.Request.Context(), f)
	adminAnswer(a, c, v, err)
}

func (a *api) adminJob(c *gin.Context) {
	id, ok := a.adminJobID(c)
	if !ok {
		return
	}
	v, err := a.admin.Job(c.Request.Context(), id)
	adminAnswer(a, c, v, err)
}

func (a *api) adminRetry(c *gin.Context) {
	id, ok := a.adminJobID(c)
	if !ok {
		return
	}
	v, err := a.admin.Retry(c.Request.Context(), id)
	adminAnswer(a, c, v, err)
}

func (a *api) adminDrop(c *gin.Context) {
	id, ok := a.adminJobID(c)
	if !ok {
		return
	}
	v, err := a.admin.Drop(c.Request.Context(), id)
	adminAnswer(a, c, v, err)
}

func (a *api) adminJobID(c *gin.Context) (string, bool) {
	id, ok := pathParam(c, "id")
	if !ok {
		a.adminError(c, fmt.Errorf("no such job: %w", opsview.ErrNotFound))
	}
	return id, ok
}

// adminAnswer writes v, or err. A function, not a method: Go methods
// cannot have type parameters.
func adminAnswer[T any](a *api, c *gin.Context, v T, err error) {
	if err != nil {
		a.adminError(c, err)
		return
	}
	a.writeAdminJSON(c, http.StatusOK, v)
}

// adminError is writeError for the operator endpoints: the same rules
// about what a client may see, as {"error": "..."}.
func (a *api) adminError(c *gin.Context, err error) {
	ctx := c.Request.Context()
	id := requestID(c)
	status := http.StatusInternalServerError
	msg := "internal error; the bridge log has the cause under request id " + id
	var se *scim.Error
	switch {
	case errors.As(err, &se) && se.Status >= 400 && se.Status <= 599:
		status, msg = se.Status, se.Detail
		if se.RetryAfter > 0 {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(se.RetryAfter.Seconds()))))
		}
		if status >= 500 {
			a.log.Warn("admin request failed", "route", c.FullPath(), "status", status, "error", se, "request_id", id)
		}
	case errors.Is(err, opsview.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, opsview.ErrConflict):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		a.log.Warn("admin request deadline exceeded", "route", c.FullPath(), "error", err, "request_id", id)
		status, msg = http.StatusServiceUnavailable, "the state store did not answer in time; retry later"
		c.Header("Retry-After", strconv.Itoa(int(deadlineRetryAfter.Seconds())))
	default:
		a.log.Error("admin request failed", "route", c.FullPath(), "error", err, "request_id", id)
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", "Bearer")
	}
	a.writeAdminJSON(c, status, map[string]string{"error": msg})
}

// writeAdminJSON writes v as indented JSON: these answers are read by
// people as often as by scripts.
func (a *api) writeAdminJSON(c *gin.Context, status int, v any) {
	if c.Writer.Written() {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		a.log.Error("admin answer could not be encoded", "route", c.FullPath(), "error", err, "request_id", requestID(c))
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error": "internal error; the bridge log has the cause under request id ` + requestID(c) + `"}` + "\n")
	}
	c.Header("Content-Type", jsonContentType)
	c.Data(status, jsonContentType, buf.Bytes())
}

// isOperatorPath tells the fallback handlers to answer in JSON rather than
// as SCIM.
func isOperatorPath(p string) bool {
	return p == "/admin" || strings.HasPrefix(p, "/admin/") || p == "/readyz" || p == "/metrics"
}
