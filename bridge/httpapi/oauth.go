package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// The token endpoint (RFC 6749 §3.2, §4.4): POST
// /scim/<tenant>/oauth2/token with an application/x-www-form-urlencoded
// body, the client authenticated by HTTP Basic (client_secret_basic), by
// client_id and client_secret in the body (client_secret_post) or by a
// client assertion (RFC 7523). Its answers are OAuth's JSON, not SCIM's.

// OAuth issues access tokens (implemented by *auth.Gate through main).
// Errors that carry an OAuth answer implement
// OAuthError() (status int, code, description string, retryAfter time.Duration);
// anything else is answered 500 server_error.
type OAuth interface {
	Token(ctx context.Context, tenant string, r TokenRequest) (accessToken string, expiresIn time.Duration, err error)
}

// TokenRequest is what the endpoint read from the request. scope,
// resource and any other parameter are ignored.
type TokenRequest struct {
	GrantType                            string
	ClientID, ClientSecret               string
	ClientAssertionType, ClientAssertion string
}

// tokenBodyLimit bounds a token request: a client assertion is a few KiB.
const tokenBodyLimit = 64 << 10

type oauthAnswerer interface {
	error
	OAuthError() (status int, code, description string, retryAfter time.Duration)
}

func (a *api) token(c *gin.Context) {
	h := c.Writer.Header()
	// RFC 6749 §5.1: no cache may keep a token answer.
	h["Cache-Control"] = noStore
	h.Set("Pragma", "no-cache")
	tenant, ok := pathParam(c, "tenant")
	if !ok {
		a.writeOAuthError(c, http.StatusUnauthorized, "invalid_client", "no such tenant", 0)
		return
	}
	r, status, code, desc := a.readTokenRequest(c)
	if code != "" {
		a.writeOAuthError(c, status, code, desc, 0)
		return
	}
	tok, expiresIn, err := a.oauth.Token(c.Request.Context(), tenant, r)
	if err != nil {
		if oe, ok := errors.AsType[oauthAnswerer](err); ok {
			status, code, desc, retry := oe.OAuthError()
			a.writeOAuthError(c, status, code, desc, retry)
			return
		}
		a.log.Error("token endpoint failed", "tenant", tenant, "error", err, "request_id", requestID(c))
		a.writeOAuthError(c, http.StatusInternalServerError, "server_error",
			"internal error; the bridge log has the cause under request id "+requestID(c), 0)
		return
	}
	a.writeOAuthJSON(c, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int64(expiresIn / time.Second),
	})
}

// readTokenRequest parses the form and the client's credentials. A code
// means the request is refused with that status, code and description.
func (a *api) readTokenRequest(c *gin.Context) (r TokenRequest, status int, code, desc string) {
	bad := func(d string) (TokenRequest, int, string, string) {
		return TokenRequest{}, http.StatusBadRequest, "invalid_request", d
	}
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return bad("the body must be application/x-www-form-urlencoded")
	}
	if c.Request.ContentLength > tokenBodyLimit {
		return bad("the request body exceeds " + strconv.Itoa(tokenBodyLimit) + " bytes")
	}
	body, err := readAll(http.MaxBytesReader(c.Writer, c.Request.Body, tokenBodyLimit), c.Request.ContentLength)
	if err != nil {
		return bad("the request body could not be read completely, or exceeds " + strconv.Itoa(tokenBodyLimit) + " bytes")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return bad("the body is not valid form encoding")
	}
	for k, vs := range form {
		if len(vs) > 1 {
			// RFC 6749 §3.2: request parameters must not repeat.
			return bad("parameter " + strconv.Quote(k) + " is repeated")
		}
	}
	r = TokenRequest{
		GrantType:           form.Get("grant_type"),
		ClientID:            form.Get("client_id"),
		ClientSecret:        form.Get("client_secret"),
		ClientAssertionType: form.Get("client_assertion_type"),
		ClientAssertion:     form.Get("client_assertion"),
	}
	if authz := c.GetHeader("Authorization"); authz != "" {
		user, pass, ok := c.Request.BasicAuth()
		if !ok {
			return TokenRequest{}, http.StatusUnauthorized, "invalid_client", "the Authorization header must be HTTP Basic with the client_id and client_secret"
		}
		// RFC 6749 §2.3.1: both are form-encoded before Basic encodes them.
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		switch {
		case err1 != nil || err2 != nil:
			return TokenRequest{}, http.StatusUnauthorized, "invalid_client", "the HTTP Basic credentials are not form-encoded"
		case r.ClientSecret != "" || r.ClientAssertion != "":
			// RFC 6749 §2.3: one authentication method per request.
			return bad("use one client authentication method: HTTP Basic, the body, or a client assertion")
		case r.ClientID != "" && r.ClientID != id:
			return bad("client_id in the body is not the client of the HTTP Basic credentials")
		}
		r.ClientID, r.ClientSecret = id, secret
	}
	return r, 0, "", ""
}

// writeOAuthError writes an RFC 6749 §5.2 error. invalid_client carries
// WWW-Authenticate, as §5.2 asks of a 401.
func (a *api) writeOAuthError(c *gin.Context, status int, code, desc string, retryAfter time.Duration) {
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="scimbridge", charset="UTF-8"`)
	}
	if retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	}
	a.writeOAuthJSON(c, status, map[string]any{"error": code, "error_description": oauthText(desc)})
}

// oauthText keeps a description within RFC 6749 §5.2's character set
// (printable ASCII but '"' and '\').
func oauthText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '\''
		}
		return r
	}, s)
}

func (a *api) writeOAuthJSON(c *gin.Context, status int, v map[string]any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings and numbers only: cannot fail
	c.Header("Content-Type", jsonContentType)
	c.Data(status, jsonContentType, buf.Bytes())
}
