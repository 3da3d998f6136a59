// Package console is the operations console: web pages under /console/
// where operators get a tenant's Tenant URL and Secret Token, watch the
// retry queue, see what was written and check a mapping. It is served by
// `scimbridge serve` (Gin, html/template, assets embedded, a little plain
// JavaScript for Copy) and reaches the bridge only through Ops, which
// bridge/ops implements.
//
// Security: sign-in exchanges the admin token (or an allowed OpenID
// Connect identity) for a server-side session in an HttpOnly,
// SameSite=Strict cookie (Secure when served over TLS). Every state change
// is a POST carrying the session's CSRF token, checked in constant time;
// GETs change nothing, so reloading a page or opening it in another tab
// never creates a token. Every answer carries a strict Content Security
// Policy, frame-ancestors 'none' and Cache-Control: no-store.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hashicorp/go-hclog"

	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// Ops is what the console does with the bridge (implemented by
// *ops.Operator). Errors are *scim.Error (status and detail shown), wrap
// opsview.ErrNotFound or opsview.ErrConflict, or are unexpected (logged,
// shown as a generic error with the request id).
type Ops interface {
	// Authenticate checks an admin token.
	Authenticate(ctx context.Context, token string) error
	Status(ctx context.Context) (opsview.Status, error)
	TokenRecords(ctx context.Context, tenant string, admin bool) ([]opsview.TokenRecord, error)
	IssueToken(ctx context.Context, tenant string, admin, regenerate bool) (opsview.Credentials, error)
	Jobs(ctx context.Context, f opsview.JobFilter) ([]opsview.Job, error)
	Job(ctx context.Context, id string) (opsview.Job, error)
	Retry(ctx context.Context, id string) (opsview.Action, error)
	Drop(ctx context.Context, id string) (opsview.Action, error)
	Activity(ctx context.Context, f opsview.ActivityFilter) ([]opsview.Activity, error)
	Mapping(tenant string) ([]opsview.MappingRow, error)
	DryRun(ctx context.Context, tenant string, kind scim.Kind, body []byte) (opsview.DryRun, error)
}

// Options configures New.
type Options struct {
	// Ops is required.
	Ops    Ops
	Logger hclog.Logger
	// Secure marks the cookies Secure: set it when the console is served
	// over TLS (directly or behind a TLS-terminating proxy).
	Secure bool
	// SessionTTL is how long a sign-in lasts. Defaults to 8h.
	SessionTTL time.Duration
	// Grace is how long a replaced token keeps working, for the page's
	// wording before a Regenerate.
	Grace time.Duration
	// OIDC, when set, offers OpenID Connect sign-in.
	OIDC *OIDC
	// Now defaults to time.Now.
	Now func() time.Time
}

// Prefix is where the console lives.
const Prefix = "/console"

// Limits of what the console accepts.
const (
	maxFormBytes = 256 << 10 // the dry run's pasted JSON is the biggest
	maxSessions  = 10000
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// contentSecurityPolicy allows only the console's own script and style:
// no inline script, nothing framed, forms posted only here.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type console struct {
	ops      Ops
	log      hclog.Logger
	secure   bool
	grace    time.Duration
	sessions *sessions
	oidc     *OIDC
	pages    map[string]*template.Template
	now      func() time.Time
}

// New returns the console's handler, for requests under Prefix. It panics
// when o.Ops is nil or a template does not parse (a build mistake).
func New(o Options) http.Handler {
	if o.Ops == nil {
		panic("console: Options.Ops is nil")
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	c := &console{
		ops: o.Ops, log: o.Logger.Named("console"), secure: o.Secure, grace: o.Grace,
		sessions: newSessions(o.SessionTTL, maxSessions, o.Now), oidc: o.OIDC, now: o.Now,
		pages: parsePages(),
	}
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	_ = e.SetTrustedProxies(nil)
	e.Use(c.headers, c.recovery)
	e.NoRoute(func(g *gin.Context) { c.errorPage(g, http.StatusNotFound, "There is no such page.") })
	e.NoMethod(func(g *gin.Context) {
		c.errorPage(g, http.StatusMethodNotAllowed, "This page does not take that method.")
	})

	static, _ := fs.Sub(staticFS, "static")
	e.GET(Prefix+"/static/*file", gin.WrapH(http.StripPrefix(Prefix+"/static/", http.FileServer(http.FS(static)))))
	e.GET(Prefix, func(g *gin.Context) { g.Redirect(http.StatusSeeOther, Prefix+"/") })
	e.GET(Prefix+"/login", c.loginPage)
	e.POST(Prefix+"/login", c.loginToken)
	if c.oidc != nil {
		e.GET(Prefix+"/oidc/login", c.oidcLogin)
		e.GET(Prefix+"/oidc/callback", c.oidcCallback)
	}

	in := e.Group(Prefix, c.requireSession)
	in.POST("/logout", c.logout)
	in.GET("/", c.tenantsPage)
	in.GET("/tenants/:tenant", c.tenantPage)
	in.POST("/tenants/:tenant/token", c.issueToken)
	in.GET("/tenants/:tenant/credentials", c.credentialsPage)
	in.GET("/queue", c.queuePage)
	in.GET("/queue/:id", c.jobPage)
	in.POST("/queue/:id/retry", c.retryJob)
	in.POST("/queue/:id/drop", c.dropJob)
	in.GET("/activity", c.activityPage)
	in.GET("/mapping", c.mappingIndex)
	in.GET("/mapping/:tenant", c.mappingPage)
	in.POST("/mapping/:tenant/dryrun", c.dryRun)
	return e
}

// headers are on every answer, errors included.
func (c *console) headers(g *gin.Context) {
	h := g.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if g.Request.Body != nil {
		g.Request.Body = http.MaxBytesReader(g.Writer, g.Request.Body, maxFormBytes)
	}
	g.Next()
}

func (c *console) recovery(g *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("console handler panicked", "path", g.Request.URL.Path, "panic", fmt.Sprint(r))
			c.errorPage(g, http.StatusInternalServerError, "Something went wrong; the bridge log has the cause.")
			g.Abort()
		}
	}()
	g.Next()
}

// failed shows err as a page: what a person can act on, never a stack.
func (c *console) failed(g *gin.Context, err error) {
	var se *scim.Error
	switch {
	case errors.As(err, &se) && se.Status >= 400 && se.Status <= 599:
		if se.Status >= 500 {
			c.log.Warn("console request failed", "path", g.FullPath(), "error", err)
		}
		c.errorPage(g, se.Status, se.Detail)
	case errors.Is(err, opsview.ErrNotFound):
		c.errorPage(g, http.StatusNotFound, sentence(err, opsview.ErrNotFound))
	case errors.Is(err, opsview.ErrConflict):
		c.errorPage(g, http.StatusConflict, sentence(err, opsview.ErrConflict))
	case errors.Is(err, context.DeadlineExceeded):
		c.errorPage(g, http.StatusServiceUnavailable, "The state store did not answer in time; try again.")
	default:
		c.log.Error("console request failed", "path", g.FullPath(), "error", err)
		c.errorPage(g, http.StatusInternalServerError, "Something went wrong; the bridge log has the cause.")
	}
}

// sentence is err's text without the sentinel's own word.
func sentence(err, sentinel error) string {
	return strings.TrimSuffix(err.Error(), ": "+sentinel.Error())
}
