package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimbridge/scimbridge/bridge/opsview"
)

// Cookie names. The session cookie is scoped to the console's path.
const (
	sessionCookie = "scimbridge_console"
	// loginCookie carries the sign-in form's CSRF token before there is a
	// session (double submit).
	loginCookie = "scimbridge_login"
	// oidcCookie carries an OpenID Connect sign-in's state, nonce and PKCE
	// verifier between the redirect and the callback.
	oidcCookie = "scimbridge_oidc"
)

// credentialsShownFor is how long a freshly issued token waits, in its
// session only, for its one showing.
const credentialsShownFor = 5 * time.Minute

// session is one signed-in browser. Only the SHA-256 of its cookie value
// is kept, so a memory dump holds no usable session.
type session struct {
	subject string // "admin token" or the OIDC subject
	csrf    string
	expires time.Time
	// fresh is a token just issued, waiting for its one showing by the
	// credentials page (POST, redirect, GET: a reload shows nothing and
	// creates nothing).
	fresh   *opsview.Credentials
	freshAt time.Time
	// flash is a one-time message for the next page (a job retried).
	flash string
}

// sessions is the in-memory session store, bounded. Sessions do not
// survive a restart: an operator signs in again.
type sessions struct {
	ttl time.Duration
	max int
	now func() time.Time
	mu  sync.Mutex
	by  map[string]*session // by hashed id
}

func newSessions(ttl time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, max: max, now: now, by: map[string]*session{}}
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create starts a session and returns its cookie value.
func (s *sessions) create(subject string) string {
	id := rand.Text() + rand.Text()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.by) >= s.max {
		s.sweepLocked(now)
	}
	if len(s.by) >= s.max {
		// Full of live sessions: the oldest to expire makes room.
		var oldest string
		for k, v := range s.by {
			if oldest == "" || v.expires.Before(s.by[oldest].expires) {
				oldest = k
			}
		}
		delete(s.by, oldest)
	}
	s.by[hashID(id)] = &session{subject: subject, csrf: rand.Text(), expires: now.Add(s.ttl)}
	return id
}

func (s *sessions) sweepLocked(now time.Time) {
	for k, v := range s.by {
		if !now.Before(v.expires) {
			delete(s.by, k)
		}
	}
}

// get returns a copy of the live session for a cookie value.
func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.by[hashID(id)]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(v.expires) {
		delete(s.by, hashID(id))
		return session{}, false
	}
	return *v, true
}

// update changes the live session of a cookie value under the lock.
func (s *sessions) update(id string, f func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.by[hashID(id)]; ok {
		f(v)
	}
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.by, hashID(id))
}

// Context keys of the signed-in request.
const (
	keySessionID = "console.session"
	keySession   = "console.session.value"
)

// requireSession lets signed-in requests through; a page request without
// a session goes to the sign-in page, any other gets 401. A POST must
// carry the session's CSRF token.
func (c *console) requireSession(g *gin.Context) {
	id, _ := g.Cookie(sessionCookie)
	s, ok := c.sessions.get(id)
	if !ok {
		if g.Request.Method == http.MethodGet {
			g.Redirect(http.StatusSeeOther, Prefix+"/login")
			g.Abort()
			return
		}
		c.errorPage(g, http.StatusUnauthorized, "You are not signed in (or your session expired). Sign in again.")
		g.Abort()
		return
	}
	if g.Request.Method == http.MethodPost && !c.checkCSRF(g, s.csrf) {
		g.Abort()
		return
	}
	g.Set(keySessionID, id)
	g.Set(keySession, s)
	g.Next()
}

// checkCSRF compares the form's csrf field with want in constant time and
// answers 403 when they differ.
func (c *console) checkCSRF(g *gin.Context, want string) bool {
	got := g.PostForm("csrf")
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		c.log.Warn("console POST refused: missing or wrong CSRF token", "path", g.Request.URL.Path)
		c.errorPage(g, http.StatusForbidden, "This form has expired or did not come from the console. Go back, reload the page and try again.")
		return false
	}
	return true
}

func (c *console) session(g *gin.Context) (string, session) {
	id := g.GetString(keySessionID)
	s, _ := g.Get(keySession)
	v, _ := s.(session)
	return id, v
}

// setCookie sets a console cookie: HttpOnly, scoped to the console,
// Secure when served over TLS. sameSite is Strict for the session; the
// OIDC round trip needs Lax (the provider's redirect back is cross-site).
func (c *console) setCookie(g *gin.Context, name, value string, maxAge time.Duration, sameSite http.SameSite) {
	http.SetCookie(g.Writer, &http.Cookie{
		Name: name, Value: value, Path: Prefix + "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: c.secure, SameSite: sameSite,
	})
}

func (c *console) clearCookie(g *gin.Context, name string) {
	http.SetCookie(g.Writer, &http.Cookie{Name: name, Value: "", Path: Prefix + "/", MaxAge: -1,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode})
}

// signIn starts a session for subject and sets its cookie.
func (c *console) signIn(g *gin.Context, subject string) {
	id := c.sessions.create(subject)
	c.setCookie(g, sessionCookie, id, c.sessions.ttl, http.SameSiteStrictMode)
	c.log.Info("console sign-in", "subject", subject)
}

func (c *console) loginPage(g *gin.Context) {
	if id, _ := g.Cookie(sessionCookie); id != "" {
		if _, ok := c.sessions.get(id); ok {
			g.Redirect(http.StatusSeeOther, Prefix+"/")
			return
		}
	}
	c.renderLogin(g, http.StatusOK, "")
}

func (c *console) renderLogin(g *gin.Context, status int, problem string) {
	token := rand.Text()
	c.setCookie(g, loginCookie, token, time.Hour, http.SameSiteStrictMode)
	c.render(g, status, "login", pageData{Title: "Sign in", CSRF: token, Data: loginData{Problem: problem, OIDC: c.oidc != nil}})
}

type loginData struct {
	Problem string
	OIDC    bool
}

// loginToken exchanges the admin token for a session.
func (c *console) loginToken(g *gin.Context) {
	want, _ := g.Cookie(loginCookie)
	if !c.checkCSRF(g, want) {
		return
	}
	token := g.PostForm("token")
	if token == "" {
		c.renderLogin(g, http.StatusBadRequest, "Paste the admin token.")
		return
	}
	if err := c.ops.Authenticate(g.Request.Context(), token); err != nil {
		c.log.Warn("console sign-in refused", "error", err)
		c.renderLogin(g, http.StatusUnauthorized, detail(err, "That is not a valid admin token."))
		return
	}
	c.clearCookie(g, loginCookie)
	c.signIn(g, "admin token")
	g.Redirect(http.StatusSeeOther, Prefix+"/")
}

func (c *console) logout(g *gin.Context) {
	id, _ := c.session(g)
	c.sessions.end(id)
	c.clearCookie(g, sessionCookie)
	g.Redirect(http.StatusSeeOther, Prefix+"/login")
}
