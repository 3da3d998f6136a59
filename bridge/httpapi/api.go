package httpapi

import (
	"context"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// Provisioner is one tenant's provisioning service (implemented by
// *bridge.Service). Errors are *scim.Error for anything the client should
// see; anything else is answered with a generic 500 and logged.
type Provisioner interface {
	// Create answers 201.
	Create(ctx context.Context, kind scim.Kind, r scim.Resource) (scim.Resource, error)
	// Get answers 200 or 404. p carries attributes/excludedAttributes so
	// that members are not read when they are excluded.
	Get(ctx context.Context, kind scim.Kind, id string, p scim.ListParams) (scim.Resource, error)
	// List answers 200 with Resources already projected.
	List(ctx context.Context, kind scim.Kind, p scim.ListParams) (scim.ListResponse, error)
	// Replace is PUT and answers 200.
	Replace(ctx context.Context, kind scim.Kind, id string, r scim.Resource) (scim.Resource, error)
	// Patch answers 200 with the resource, or 204 when it returns nil.
	Patch(ctx context.Context, kind scim.Kind, id string, ops []scim.PatchOp) (scim.Resource, error)
	// Delete answers 204.
	Delete(ctx context.Context, kind scim.Kind, id string) error
	// Discovery describes the tenant for /ServiceProviderConfig,
	// /ResourceTypes and /Schemas: what its mapping stores and requires.
	Discovery() scim.Discovery
}

// Tenants authenticates a request for a tenant and returns its Provisioner.
// token is the raw bearer token. Errors are *scim.Error (401 with a detail
// such as "token expired"); anything else is answered with a 500.
type Tenants interface {
	Authenticate(ctx context.Context, tenant, token string) (Provisioner, error)
}

// Options configures New.
type Options struct {
	// Tenants authenticates every /scim request. Required.
	Tenants Tenants
	// Logger receives the access log and the real cause of every 500.
	// Defaults to a null logger.
	Logger hclog.Logger
	// PublicURL is the base of Tenant URLs and meta.location, for example
	// http://127.0.0.1:8080. A trailing slash is ignored.
	PublicURL string
	// BodyLimit caps request bodies; larger ones get 413. Defaults to 1 MiB.
	BodyLimit int64
	// RequestTimeout bounds each request's context. Defaults to 25s, well
	// under the 60 s within which Entra needs every answer.
	RequestTimeout time.Duration
	// Metrics, when set, counts every request and is served on GET
	// /metrics, without authentication (see operations.go).
	Metrics Metrics
	// Health, when set, decides GET /readyz; without it /readyz answers
	// like /healthz.
	Health Health
	// Admin, when set, serves the admin API under /admin, behind the admin
	// token; without it /admin answers 404.
	Admin Admin
	// Traffic, when set, counts each tenant's SCIM answers.
	Traffic Traffic
	// Cards, when set with Admin, serves POST /admin/cards/import.
	Cards CardImporter
	// OAuth, when set, serves each tenant's token endpoint at POST
	// /scim/<tenant>/oauth2/token (oauth.go).
	OAuth OAuth
	// AuthenticationSchemes, when set, gives a tenant's
	// authenticationSchemes for /ServiceProviderConfig; without it (or
	// when it returns none) the Secret Token's.
	AuthenticationSchemes func(tenant string) []scim.AuthenticationScheme
	// Reloader, when set with Admin, serves POST /admin/reload.
	Reloader Reloader
	// Limiter, when set, admits each authenticated SCIM request (rate and
	// concurrency limits); without it every request runs.
	Limiter Limiter
	// TrustedProxies are the reverse proxies (IP addresses, CIDR ranges)
	// whose X-Forwarded-For (or X-Real-IP) names the client in the access
	// log. From any other peer the headers are ignored and the peer's own
	// address is logged. Empty: trust none.
	TrustedProxies []string
}

// Defaults applied by New.
const (
	DefaultBodyLimit      int64 = 1 << 20
	DefaultRequestTimeout       = 25 * time.Second
)

// New returns the HTTP handler serving every tenant's SCIM endpoints under
// /scim/<tenant>/v2 plus GET /healthz and GET /readyz, and, when the
// options provide them, GET /metrics and the admin API under /admin. It panics when o.Tenants is nil:
// that is a wiring mistake, not something a request can cause.
func New(o Options) http.Handler {
	if o.Tenants == nil {
		panic("httpapi: Options.Tenants is nil")
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = DefaultBodyLimit
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	a := &api{
		tenants:   o.Tenants,
		log:       o.Logger.Named("httpapi"),
		publicURL: strings.TrimRight(o.PublicURL, "/"),
		bodyLimit: o.BodyLimit,
		timeout:   o.RequestTimeout,
		metrics:   o.Metrics,
		health:    o.Health,
		admin:     o.Admin,
		traffic:   o.Traffic,
		cards:     o.Cards,
		oauth:     o.OAuth,
		schemes:   o.AuthenticationSchemes,
		limiter:   o.Limiter,
	}

	// Debug mode prints every route to stdout; honour an explicit GIN_MODE
	// but default to release. SetMode is atomic, so this is race-free.
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	e := gin.New()
	// Route on the escaped path and unescape ids ourselves: an opaque id may
	// contain an encoded "/" (which must not split the path) or a "+" (which
	// Gin's QueryUnescape would turn into a space).
	e.UseEscapedPath = true
	e.UnescapePathValues = false
	// Redirects would be followed badly (or not at all) by a SCIM client on
	// POST/PATCH; handlerWithCanonicalPath removes empty segments instead.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	// The client address is only logged, never used for a decision; the
	// forwarding headers count only from the proxies the operator named.
	if err := e.SetTrustedProxies(o.TrustedProxies); err != nil {
		panic("httpapi: TrustedProxies: " + err.Error()) // the configuration validated them
	}

	if a.metrics != nil {
		e.Use(a.observe)
	}
	e.Use(a.requestContext, a.accessLog, a.recovery, a.deadline)
	e.NoRoute(a.noRoute)
	e.NoMethod(a.noMethod)

	e.GET("/healthz", healthz)
	e.GET("/readyz", a.readyz)
	if a.metrics != nil {
		e.GET("/metrics", gin.WrapH(a.metrics.Handler()))
	}
	if a.admin != nil {
		adm := e.Group("/admin", a.adminAuthenticate)
		adm.GET("/status", a.adminStatus)
		adm.GET("/queue", a.adminJobs)
		adm.GET("/queue/:id", a.adminJob)
		adm.POST("/queue/:id/retry", a.adminRetry)
		adm.DELETE("/queue/:id", a.adminDrop)
		if o.Reloader != nil {
			adm.POST("/reload", func(c *gin.Context) {
				v, err := o.Reloader.Reload(c.Request.Context())
				adminAnswer(a, c, v, err)
			})
		}
		if a.cards != nil {
			adm.POST("/cards/import", a.adminImportCards)
		}
	}

	if a.oauth != nil {
		e.POST("/scim/:tenant/oauth2/token", a.token)
	}

	v2 := e.Group("/scim/:tenant/v2", a.countTraffic, a.authenticate, a.limit)
	for _, r := range []struct {
		seg  string
		kind scim.Kind
	}{{segUsers, scim.User}, {segGroups, scim.Group}} {
		h := resourceHandler{api: a, kind: r.kind, seg: r.seg}
		v2.POST("/"+r.seg, h.create)
		v2.GET("/"+r.seg, h.list)
		v2.GET("/"+r.seg+"/:id", h.get)
		v2.PUT("/"+r.seg+"/:id", h.replace)
		v2.PATCH("/"+r.seg+"/:id", h.patch)
		v2.DELETE("/"+r.seg+"/:id", h.delete)
	}
	v2.GET("/"+segServiceProviderConfig, a.serviceProviderConfig)
	v2.GET("/"+segSchemas, a.schemas)
	v2.GET("/"+segSchemas+"/:id", a.schema)
	v2.GET("/"+segResourceTypes, a.resourceTypes)
	v2.GET("/"+segResourceTypes+"/:id", a.resourceType)

	return canonicalPaths(e)
}

// api holds what every handler needs; it is immutable after New.
type api struct {
	tenants   Tenants
	log       hclog.Logger
	publicURL string
	bodyLimit int64
	timeout   time.Duration
	metrics   Metrics // nil: no /metrics, nothing observed
	health    Health  // nil: /readyz is /healthz
	admin     Admin   // nil: no /admin
	traffic   Traffic // nil: nothing counted
	cards     CardImporter
	oauth     OAuth // nil: no token endpoint
	schemes   func(tenant string) []scim.AuthenticationScheme
	limiter   Limiter // nil: no limits
}

// NewServer returns an http.Server for h with the timeouts a public SCIM
// endpoint needs: headers within 10 s, a whole body within 30 s, and a write
// deadline (65 s) just past Entra's 60 s so a slow answer is still cut off.
func NewServer(addr string, h http.Handler, log hclog.Logger) *http.Server {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      65 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog: log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{
			// net/http logs TLS handshake failures and recovered panics
			// without a level prefix; none of them is routine.
			ForceLevel: hclog.Warn,
		}),
	}
}

// countTraffic counts the tenant's answer, whatever it was.
func (a *api) countTraffic(c *gin.Context) {
	c.Next()
	if a.traffic != nil {
		if tenant, ok := pathParam(c, "tenant"); ok {
			a.traffic.Observe(tenant, c.Writer.Status())
		}
	}
}

// healthz answers plain "ok" without authentication: it is for load
// balancers and process supervisors, not for SCIM clients.
func healthz(c *gin.Context) {
	// Replace the SCIM type that requestContext presets; c.Data would keep it.
	c.Header("Content-Type", "text/plain; charset=utf-8")
	c.Status(http.StatusOK)
	_, _ = c.Writer.WriteString("ok")
}
