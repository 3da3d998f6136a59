package console

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimbridge/scimbridge/bridge/opsview"
	"github.com/scimbridge/scimbridge/bridge/scim"
)

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Nav     string // the active navigation entry
	CSRF    string
	Subject string
	Flash   string
	Banners []banner
	Data    any
	// Refresh, when set, sends the browser there (a meta refresh).
	Refresh string
}

// banner is a warning at the top of a page: a token near or past expiry.
type banner struct {
	Level string // "warn" or "error"
	Text  string
}

var pageNames = []string{"login", "error", "tenants", "tenant", "credentials", "queue", "job", "activity", "mappings", "mapping"}

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"time":     fmtTime,
		"timep":    func(t *time.Time) string { return fmtTimePtr(t) },
		"ago":      ago,
		"seconds":  func(s float64) string { return opsview.ShortDuration(time.Duration(s * float64(time.Second))) },
		"join":     strings.Join,
		"pathesc":  url.PathEscape,
		"queryesc": url.QueryEscape,
		"count":    count,
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		pages[name] = t
	}
	return pages
}

// count is n and the noun, in the plural unless n is 1: "1 error",
// "3 errors".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func (c *console) render(g *gin.Context, status int, page string, d pageData) {
	if d.CSRF == "" {
		_, s := c.session(g)
		d.CSRF, d.Subject = s.csrf, s.subject
	}
	var buf bytes.Buffer
	if err := c.pages[page].Execute(&buf, d); err != nil {
		c.log.Error("console page failed to render", "page", page, "error", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>The page could not be shown; the bridge log has the cause.</p>")
	}
	g.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

func (c *console) errorPage(g *gin.Context, status int, msg string) {
	c.render(g, status, "error", pageData{Title: http.StatusText(status), Data: msg})
}

// detail is the part of err a person may read: a *scim.Error's detail,
// or fallback.
func detail(err error, fallback string) string {
	var se *scim.Error
	if errors.As(err, &se) && se.Detail != "" {
		return se.Detail
	}
	return fallback
}

// takeFlash reads and clears the session's one-time message.
func (c *console) takeFlash(g *gin.Context) string {
	id, s := c.session(g)
	if s.flash == "" {
		return ""
	}
	c.sessions.update(id, func(s *session) { s.flash = "" })
	return s.flash
}

func (c *console) setFlash(g *gin.Context, msg string) {
	id, _ := c.session(g)
	c.sessions.update(id, func(s *session) { s.flash = msg })
}

// --- Tenants ---

// tokenBanners warns about tokens past a threshold (30, 14, 7 days, the
// same the log and the metric use) or expired.
func tokenBanners(st opsview.Status) []banner {
	var out []banner
	add := func(who string, t opsview.TokenState) {
		switch t.Status {
		case opsview.TokenExpired:
			out = append(out, banner{"error", fmt.Sprintf("The %s expired on %s. Regenerate it now and update it where it is used.", who, fmtTimePtr(t.ExpiresAt))})
		case opsview.TokenExpiring:
			out = append(out, banner{"warn", fmt.Sprintf("The %s expires in %d days (%s). Regenerate it and update it where it is used.", who, *t.DaysLeft, fmtTimePtr(t.ExpiresAt))})
		}
	}
	for _, t := range st.Tenants {
		add("Secret Token of tenant "+t.Name, t.Token)
	}
	add("admin token", st.AdminToken)
	return out
}

func (c *console) tenantsPage(g *gin.Context) {
	st, err := c.ops.Status(g.Request.Context())
	if err != nil {
		c.failed(g, err)
		return
	}
	c.render(g, http.StatusOK, "tenants", pageData{Title: "Tenants", Nav: "tenants", Flash: c.takeFlash(g), Banners: tokenBanners(st), Data: st})
}

type tenantData struct {
	Tenant opsview.Tenant
	Tokens []opsview.TokenRecord
	Grace  string
	// Newest is the newest token, whose first use tells that Entra uses
	// it; Previous those it replaced that still work (grace).
	Newest   *opsview.TokenRecord
	Previous []opsview.TokenRecord
}

func (c *console) tenantPage(g *gin.Context) {
	name := g.Param("tenant")
	st, err := c.ops.Status(g.Request.Context())
	if err != nil {
		c.failed(g, err)
		return
	}
	var d tenantData
	found := false
	for _, t := range st.Tenants {
		if t.Name == name {
			d.Tenant, found = t, true
		}
	}
	if !found {
		c.errorPage(g, http.StatusNotFound, fmt.Sprintf("There is no tenant %q.", name))
		return
	}
	d.Tokens, err = c.ops.TokenRecords(g.Request.Context(), name, false)
	if err != nil {
		c.failed(g, err)
		return
	}
	if n := len(d.Tokens); n > 0 {
		d.Newest = &d.Tokens[n-1]
		for _, t := range d.Tokens[:n-1] {
			if t.Status != opsview.TokenExpired {
				d.Previous = append(d.Previous, t)
			}
		}
	}
	d.Grace = humanDuration(c.grace)
	var banners []banner
	for _, b := range tokenBanners(st) {
		if strings.Contains(b.Text, "tenant "+name+" ") {
			banners = append(banners, b)
		}
	}
	c.render(g, http.StatusOK, "tenant", pageData{Title: "Tenant " + name, Nav: "tenants", Flash: c.takeFlash(g), Banners: banners, Data: d})
}

// issueToken is Generate / Regenerate: a POST, then a redirect to the page
// that shows the token once.
func (c *console) issueToken(g *gin.Context) {
	name := g.Param("tenant")
	regenerate := g.PostForm("action") == "regenerate"
	if a := g.PostForm("action"); a != "generate" && a != "regenerate" {
		c.errorPage(g, http.StatusBadRequest, "The form asked for neither Generate nor Regenerate.")
		return
	}
	cred, err := c.ops.IssueToken(g.Request.Context(), name, false, regenerate)
	if err != nil {
		c.failed(g, err)
		return
	}
	id, _ := c.session(g)
	now := c.now()
	c.sessions.update(id, func(s *session) { s.fresh, s.freshAt = &cred, now })
	g.Redirect(http.StatusSeeOther, Prefix+"/tenants/"+url.PathEscape(name)+"/credentials")
}

type credentialsData struct {
	Tenant string
	Cred   *opsview.Credentials
	// Download is the token file as a data: URL for the Download link.
	Download template.URL
	FileName string
}

// credentialsPage shows a just-issued token once; afterwards (a reload, a
// new tab) it says so and creates nothing.
func (c *console) credentialsPage(g *gin.Context) {
	name := g.Param("tenant")
	id, s := c.session(g)
	d := credentialsData{Tenant: name, FileName: name + "-tenant-token.txt"}
	if s.fresh != nil && s.fresh.Tenant == name && c.now().Sub(s.freshAt) < credentialsShownFor {
		d.Cred = s.fresh
		d.Download = template.URL("data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(s.fresh.File)))
	}
	c.sessions.update(id, func(s *session) { s.fresh = nil })
	c.render(g, http.StatusOK, "credentials", pageData{Title: "Credentials of " + name, Nav: "tenants", Data: d})
}

// --- Retry queue ---

type queueData struct {
	Tenants []string
	Tenant  string
	State   string
	Jobs    []opsview.Job
	Limit   int
}

const queueLimit = 200

func (c *console) tenantNames(g *gin.Context) []string {
	st, err := c.ops.Status(g.Request.Context())
	if err != nil {
		return nil
	}
	names := make([]string, len(st.Tenants))
	for i, t := range st.Tenants {
		names[i] = t.Name
	}
	return names
}

func (c *console) queuePage(g *gin.Context) {
	d := queueData{Tenant: g.Query("tenant"), State: g.Query("state"), Limit: queueLimit, Tenants: c.tenantNames(g)}
	jobs, err := c.ops.Jobs(g.Request.Context(), opsview.JobFilter{Tenant: d.Tenant, State: d.State, Limit: queueLimit})
	if err != nil {
		c.failed(g, err)
		return
	}
	d.Jobs = jobs
	c.render(g, http.StatusOK, "queue", pageData{Title: "Retry queue", Nav: "queue", Flash: c.takeFlash(g), Data: d})
}

type jobData struct {
	Job     opsview.Job
	Payload string
	Confirm string // "retry" or "drop": the confirmation asked for
}

func (c *console) jobPage(g *gin.Context) {
	j, err := c.ops.Job(g.Request.Context(), g.Param("id"))
	if err != nil {
		c.failed(g, err)
		return
	}
	d := jobData{Job: j}
	if conf := g.Query("confirm"); conf == "retry" || conf == "drop" {
		d.Confirm = conf
	}
	if len(j.Payload) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, j.Payload, "", "  ") == nil {
			d.Payload = pretty.String()
		} else {
			d.Payload = string(j.Payload)
		}
	}
	c.render(g, http.StatusOK, "job", pageData{Title: "Job " + j.ID, Nav: "queue", Data: d})
}

func (c *console) retryJob(g *gin.Context) {
	a, err := c.ops.Retry(g.Request.Context(), g.Param("id"))
	if err != nil {
		c.failed(g, err)
		return
	}
	c.setFlash(g, fmt.Sprintf("Job %s requeued: the %s of %s is due now with a fresh retry budget.", a.ID, a.Before.Op, a.Before.Resource))
	g.Redirect(http.StatusSeeOther, Prefix+"/queue")
}

func (c *console) dropJob(g *gin.Context) {
	a, err := c.ops.Drop(g.Request.Context(), g.Param("id"))
	if err != nil {
		c.failed(g, err)
		return
	}
	c.setFlash(g, fmt.Sprintf("Job %s dropped: the %s of %s will not be applied.", a.ID, a.Before.Op, a.Before.Resource))
	g.Redirect(http.StatusSeeOther, Prefix+"/queue")
}

// --- Activity ---

type activityData struct {
	Tenants []string
	Tenant  string
	User    string
	Records []opsview.Activity
	Limit   int
}

const activityLimit = 200

func (c *console) activityPage(g *gin.Context) {
	d := activityData{Tenant: g.Query("tenant"), User: strings.TrimSpace(g.Query("user")), Limit: activityLimit, Tenants: c.tenantNames(g)}
	recs, err := c.ops.Activity(g.Request.Context(), opsview.ActivityFilter{Tenant: d.Tenant, User: d.User, Limit: activityLimit})
	if err != nil {
		c.failed(g, err)
		return
	}
	d.Records = recs
	c.render(g, http.StatusOK, "activity", pageData{Title: "Activity", Nav: "activity", Data: d})
}

// --- Mapping ---

func (c *console) mappingIndex(g *gin.Context) {
	names := c.tenantNames(g)
	if len(names) == 1 {
		g.Redirect(http.StatusSeeOther, Prefix+"/mapping/"+url.PathEscape(names[0]))
		return
	}
	c.render(g, http.StatusOK, "mappings", pageData{Title: "Mappings", Nav: "mapping", Data: names})
}

type mappingData struct {
	Tenant  string
	Tenants []string
	Rows    []opsview.MappingRow
	Kind    string
	Input   string
	Result  *opsview.DryRun
	Problem string
}

func (c *console) mappingData(g *gin.Context) (mappingData, bool) {
	d := mappingData{Tenant: g.Param("tenant"), Tenants: c.tenantNames(g), Kind: "User"}
	rows, err := c.ops.Mapping(d.Tenant)
	if err != nil {
		c.failed(g, err)
		return d, false
	}
	d.Rows = rows
	return d, true
}

func (c *console) mappingPage(g *gin.Context) {
	d, ok := c.mappingData(g)
	if !ok {
		return
	}
	d.Input = sampleUser
	c.render(g, http.StatusOK, "mapping", pageData{Title: "Mapping of " + d.Tenant, Nav: "mapping", Data: d})
}

// dryRun is a POST (it reads the live directory, and the pasted JSON can
// be large) that changes nothing.
func (c *console) dryRun(g *gin.Context) {
	d, ok := c.mappingData(g)
	if !ok {
		return
	}
	d.Input = g.PostForm("resource")
	kind := scim.User
	if g.PostForm("kind") == "Group" {
		kind, d.Kind = scim.Group, "Group"
	}
	status := http.StatusOK
	res, err := c.ops.DryRun(g.Request.Context(), d.Tenant, kind, []byte(d.Input))
	var se *scim.Error
	switch {
	case err == nil:
		d.Result = &res
	case errors.As(err, &se) && se.Status < 500:
		status, d.Problem = se.Status, se.Detail
	default:
		c.failed(g, err)
		return
	}
	c.render(g, status, "mapping", pageData{Title: "Mapping of " + d.Tenant, Nav: "mapping", Data: d})
}

// sampleUser fills the dry run's box: a user as Entra POSTs it.
const sampleUser = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "externalId": "0a1b2c3d-0000-4000-8000-000000000001",
  "userName": "alice@example.org",
  "active": true,
  "displayName": "Alice Example",
  "name": {"givenName": "Alice", "familyName": "Example"},
  "emails": [{"primary": true, "type": "work", "value": "alice@example.org"}]
}`

// --- formatting ---

// humanDuration says a grace period in words: "24 hours", "3 days",
// "90 minutes", else the short form.
func humanDuration(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	switch {
	case d <= 0:
		return "no time (it stops at once)"
	case d%(24*time.Hour) == 0 && d > 48*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return opsview.ShortDuration(d)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return fmtTime(*t)
}

func ago(t time.Time) string { return opsview.ShortDuration(time.Since(t)) + " ago" }
