package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/auth"
	"github.com/scimbridge/scimbridge/bridge/auth/authtest"
)

// pharosSQLite is the backend block of an embedded Pharos store in dir.
func pharosSQLite(t testing.TB) string {
	return `{ type: pharos, config: { driver: sqlite, dsn: '` + filepath.Join(t.TempDir(), "pharos.db") + `', init: true } }`
}

const e2eMapping = "configs/mappings/entra-to-pharos.yaml"

// tokenAnswer is a token endpoint's answer.
type tokenAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

// postToken sends a token request the way Entra does: a form body, the
// client's credentials in HTTP Basic when user is set.
func (s *stack) postToken(form url.Values, user, pass string, contentType string) tokenAnswer {
	s.t.Helper()
	u := strings.TrimSuffix(s.base, "/v2") + "/oauth2/token"
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(s.t, err)
	if contentType == "" {
		contentType = "application/x-www-form-urlencoded"
	}
	req.Header.Set("Content-Type", contentType)
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	a := tokenAnswer{status: resp.StatusCode, header: resp.Header}
	require.NoError(s.t, json.Unmarshal(raw, &a.body), "not JSON: %s", raw)
	require.Equal(s.t, "application/json", strings.Split(resp.Header.Get("Content-Type"), ";")[0])
	require.Equal(s.t, "no-store", resp.Header.Get("Cache-Control"))
	return a
}

func grant(kv ...string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func TestClientCredentialsEndToEnd(t *testing.T) {
	s := newBridgeWith(t, pharosSQLite(t), e2eMapping, bridgeOptions{auth: `{ client_credentials: true, access_token_lifetime: 2h }`})
	ctx := context.Background()
	cl, secret, err := s.app.gate.Clients().Create(ctx, "default", "entra", auth.DefaultSecretValidity)
	require.NoError(t, err)

	// client_secret_basic, with an unknown scope and resource ignored.
	a := s.postToken(grant("scope", "https://graph.microsoft.com/.default", "resource", "urn:x"), cl.ID, secret, "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Equal(t, "Bearer", a.body["token_type"])
	require.Equal(t, float64(7200), a.body["expires_in"])
	basicToken := a.body["access_token"].(string)
	// client_secret_post.
	a = s.postToken(grant("client_id", cl.ID, "client_secret", secret), "", "", "application/x-www-form-urlencoded; charset=utf-8")
	require.Equal(t, http.StatusOK, a.status, a.body)
	postToken := a.body["access_token"].(string)

	user := newUser("e2e-cc-1", "cc1@example.org", "Client", "Credentials")
	created := s.doWith("POST", "/Users", user, "Bearer "+basicToken)
	require.Equal(t, http.StatusCreated, created.status, created.raw)
	require.Equal(t, http.StatusOK, s.doWith("GET", "/Users/"+created.body["id"].(string), nil, "Bearer "+postToken).status)
	// The Secret Token still works beside them.
	require.Equal(t, http.StatusOK, s.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "cc1@example.org"`), nil).status)

	// /ServiceProviderConfig lists both.
	spc := s.doWith("GET", "/ServiceProviderConfig", nil, "Bearer "+basicToken)
	require.Equal(t, http.StatusOK, spc.status)
	var names []string
	for _, sc := range spc.body["authenticationSchemes"].([]any) {
		names = append(names, sc.(map[string]any)["name"].(string))
	}
	require.Equal(t, []string{"OAuth Bearer Token", "OAuth 2.0 client credentials"}, names)

	// Refusals, RFC 6749 §5.2.
	for _, tc := range []struct {
		name             string
		form             url.Values
		user, pass, ct   string
		status           int
		code, descriptor string
	}{
		{"wrong secret", grant(), cl.ID, secret + "x", "", 401, "invalid_client", "client authentication failed"},
		{"unknown client", grant("client_id", "nobody", "client_secret", secret), "", "", "", 401, "invalid_client", "client authentication failed"},
		{"no credentials", grant(), "", "", "", 401, "invalid_client", "client authentication is required"},
		{"password grant", url.Values{"grant_type": {"password"}}, cl.ID, secret, "", 400, "unsupported_grant_type", "client_credentials"},
		{"no grant type", url.Values{}, cl.ID, secret, "", 400, "invalid_request", "grant_type"},
		{"json body", grant(), cl.ID, secret, "application/json", 400, "invalid_request", "x-www-form-urlencoded"},
		{"repeated parameter", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, cl.ID, secret, "", 400, "invalid_request", "repeated"},
		{"basic and post at once", grant("client_secret", secret), cl.ID, secret, "", 400, "invalid_request", "one client authentication method"},
		{"other client_id in the body", grant("client_id", "other"), cl.ID, secret, "", 400, "invalid_request", "client_id"},
		{"oversized body", grant("pad", strings.Repeat("x", 70<<10)), cl.ID, secret, "", 400, "invalid_request", "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.postToken(tc.form, tc.user, tc.pass, tc.ct)
			require.Equal(t, tc.status, a.status, a.body)
			require.Equal(t, tc.code, a.body["error"])
			require.Contains(t, a.body["error_description"], tc.descriptor)
			if tc.status == 401 {
				require.Contains(t, a.header.Get("WWW-Authenticate"), "Basic")
			}
		})
	}

	// An access token is a bearer token for its tenant's SCIM only, and
	// a huge one is refused before it is parsed.
	for _, bad := range []string{basicToken + "x", strings.Repeat("a.", 20_000) + "a"} {
		got := s.doWith("GET", "/Users", nil, "Bearer "+bad)
		require.Equal(t, http.StatusUnauthorized, got.status, got.raw)
		require.Contains(t, got.body["detail"], "not valid for this tenant")
	}

	// Revoking the secret stops its tokens.
	require.NoError(t, s.app.gate.Clients().RevokeSecret(ctx, "default", cl.ID, cl.Secrets[0].ID))
	got := s.doWith("GET", "/Users", nil, "Bearer "+basicToken)
	require.Equal(t, http.StatusUnauthorized, got.status, got.raw)
	require.Contains(t, got.body["detail"], "revoked")
}

func TestTenantWithoutClientCredentials(t *testing.T) {
	s := newBridge(t, pharosSQLite(t), e2eMapping)
	a := s.postToken(grant("client_id", "x", "client_secret", "y"), "", "", "")
	require.Equal(t, http.StatusUnauthorized, a.status)
	require.Equal(t, "invalid_client", a.body["error"])
	spc := s.do("GET", "/ServiceProviderConfig", nil)
	require.Len(t, spc.body["authenticationSchemes"], 1)
}

const e2eTID = "5f8a2a49-4e38-4b0c-9b6e-2c0b0f1e7a11"

func entraClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": auth.EntraIssuer(e2eTID), "aud": auth.EntraAudience, "tid": e2eTID, "appid": auth.EntraProvisioningApp,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func TestEntraJWTEndToEnd(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	s := newBridgeWith(t, pharosSQLite(t), e2eMapping, bridgeOptions{
		auth: `{ secret_token: false, entra_tenant_id: ` + e2eTID + `, entra_metadata_url: '` + is.MetadataURL() + `' }`})
	tok := authtest.SignRS256(t, key, "k1", entraClaims())
	created := s.doWith("POST", "/Users", newUser("e2e-jwt-1", "jwt1@example.org", "Entra", "Token"), "Bearer "+tok)
	require.Equal(t, http.StatusCreated, created.status, created.raw)

	expired := entraClaims()
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	for name, bad := range map[string]string{
		"expired":      authtest.SignRS256(t, key, "k1", expired),
		"secret token": s.token, // this tenant takes no Secret Token
	} {
		got := s.doWith("GET", "/Users", nil, "Bearer "+bad)
		require.Equal(t, http.StatusUnauthorized, got.status, name)
		require.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:Error"}, got.body["schemas"], name)
	}
	spc := s.doWith("GET", "/ServiceProviderConfig", nil, "Bearer "+tok)
	schemes := spc.body["authenticationSchemes"].([]any)
	require.Len(t, schemes, 1)
	require.Equal(t, "Microsoft Entra ID token", schemes[0].(map[string]any)["name"])
	require.Equal(t, true, schemes[0].(map[string]any)["primary"])
}

func TestFederationEndToEnd(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	s := newBridgeWith(t, pharosSQLite(t), e2eMapping, bridgeOptions{
		auth: `{ federation: [ { tenant_id: ` + e2eTID + `, metadata_url: '` + is.MetadataURL() + `', subject: wl-1, audience: 'api://AzureADTokenExchange' } ] }`})
	now := time.Now()
	assertion := authtest.SignRS256(t, key, "k1", jwt.MapClaims{"iss": auth.EntraFederationIssuer(e2eTID), "sub": "wl-1",
		"aud": "api://AzureADTokenExchange", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
	a := s.postToken(grant("client_assertion_type", auth.AssertionTypeJWTBearer, "client_assertion", assertion), "", "", "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	got := s.doWith("GET", "/Users", nil, "Bearer "+a.body["access_token"].(string))
	require.Equal(t, http.StatusOK, got.status, got.raw)

	bad := authtest.SignRS256(t, key, "k1", jwt.MapClaims{"iss": auth.EntraFederationIssuer(e2eTID), "sub": "wl-1",
		"aud": "someone-else", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
	a = s.postToken(grant("client_assertion_type", auth.AssertionTypeJWTBearer, "client_assertion", bad), "", "", "")
	require.Equal(t, http.StatusUnauthorized, a.status)
	require.Equal(t, "invalid_client", a.body["error"])
}

// A directory that cannot be reached is 503 for a caller with a good
// access token or Entra JWT: a 401 would quarantine Entra's job.
func TestDirectoryDownIsNever401(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	backend := fmt.Sprintf(`{ type: ldap, config: { url: 'ldap://%s', bindDN: 'cn=admin,dc=example,dc=org', password: x, baseDN: 'dc=example,dc=org', timeout: 1s } }`, dead)
	s := newBridgeWith(t, backend, "configs/mappings/entra-to-openldap.yaml", bridgeOptions{
		auth: `{ client_credentials: true, entra_tenant_id: ` + e2eTID + `, entra_metadata_url: '` + is.MetadataURL() + `' }`})
	cl, secret, err := s.app.gate.Clients().Create(context.Background(), "default", "", auth.DefaultSecretValidity)
	require.NoError(t, err)
	a := s.postToken(grant(), cl.ID, secret, "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	for name, bearer := range map[string]string{
		"access token": a.body["access_token"].(string),
		"entra jwt":    authtest.SignRS256(t, key, "k1", entraClaims()),
		"secret token": s.token,
	} {
		got := s.doWith("POST", "/Users", newUser("e2e-down-"+name, strings.ReplaceAll(name, " ", "")+"@example.org", "Down", "Directory"), "Bearer "+bearer)
		require.Equal(t, http.StatusServiceUnavailable, got.status, "%s: %s", name, got.raw)
		require.NotEmpty(t, got.header.Get("Retry-After"), name)
	}
}

var clientIDRE = regexp.MustCompile(`client_id: ([0-9a-f-]{36})`)
var secretIDRE = regexp.MustCompile(`secret_id: ([0-9a-f]{12})`)

func TestClientCommands(t *testing.T) {
	cfg, dir := writeTestConfig(t, "127.0.0.1:8080")
	out, err := run(t, "client", "create", "--config", cfg, "--tenant", "acme", "--name", "Entra provisioning", "--validity", "2y")
	require.NoError(t, err)
	require.Contains(t, out, "token_url: http://127.0.0.1:8080/scim/acme/oauth2/token")
	require.Contains(t, out, "client_secret: "+auth.SecretPrefix)
	require.Contains(t, out, "does not accept client credentials yet", "the tenant's config does not allow them")
	id := clientIDRE.FindStringSubmatch(out)
	require.NotNil(t, id, out)
	first := secretIDRE.FindStringSubmatch(out)

	outFile := filepath.Join(dir, "secret.txt")
	out, err = run(t, "client", "add-secret", "--config", cfg, "--tenant", "acme", "--client", id[1], "--validity", "400d", "--out", outFile)
	require.NoError(t, err)
	require.NotContains(t, out, auth.SecretPrefix)
	body, err := os.ReadFile(outFile)
	require.NoError(t, err)
	require.Contains(t, string(body), "client_secret: "+auth.SecretPrefix)

	out, err = run(t, "client", "list", "--config", cfg, "--tenant", "acme")
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(out, "\n"), out) // header + two secrets
	require.Contains(t, out, "Entra provisioning")
	require.NotContains(t, out, auth.SecretPrefix)
	require.NotContains(t, out, "sha256:")

	// token list shows the secrets and their expiry too, with the warnings.
	_, err = run(t, "token", "generate", "--config", cfg, "--tenant", "acme")
	require.NoError(t, err)
	out, err = run(t, "token", "list", "--config", cfg)
	require.NoError(t, err)
	require.Contains(t, out, "client "+id[1]+" secret "+first[1])
	require.Equal(t, 4, strings.Count(out, "\n"), out) // header, token, two secrets
	require.Contains(t, expiryWarningOf(t, cfg, id[1]), "expires in 9 days: add a secret")

	_, err = run(t, "client", "revoke-secret", "--config", cfg, "--tenant", "acme", "--client", id[1], "--secret", first[1])
	require.NoError(t, err)
	out, err = run(t, "client", "list", "--config", cfg, "--tenant", "acme")
	require.NoError(t, err)
	require.NotContains(t, out, first[1])

	for _, args := range [][]string{
		{"client", "create", "--config", cfg, "--tenant", "acme", "--validity", "4y"},
		{"client", "create", "--config", cfg, "--tenant", "acme", "--validity", "6mo"},
		{"client", "create", "--config", cfg, "--tenant", "nobody"},
		{"client", "add-secret", "--config", cfg, "--tenant", "acme", "--client", "nobody"},
		{"client", "revoke-secret", "--config", cfg, "--tenant", "acme", "--client", id[1], "--secret", "nope"},
		{"client", "create", "--config", cfg},
	} {
		_, err := run(t, args...)
		require.Error(t, err, "%v", args)
	}
	_, err = run(t, "client", "delete", "--config", cfg, "--tenant", "acme", "--client", id[1])
	require.NoError(t, err)
	out, err = run(t, "client", "list", "--config", cfg, "--tenant", "acme")
	require.NoError(t, err)
	require.Contains(t, out, "no client")
}

// expiryWarningOf makes the client's secrets expire in 9 days and returns
// what `token list` says then.
func expiryWarningOf(t *testing.T, cfg, clientID string) string {
	t.Helper()
	c, err := loadConfig(cfg)
	require.NoError(t, err)
	st, err := openState(context.Background(), c)
	require.NoError(t, err)
	cl, err := st.Client(context.Background(), "acme", clientID)
	require.NoError(t, err)
	for i := range cl.Secrets {
		cl.Secrets[i].ExpiresAt = time.Now().Add(9*24*time.Hour + time.Hour)
	}
	require.NoError(t, st.PutClient(context.Background(), cl))
	require.NoError(t, st.Close())
	out, err := run(t, "token", "list", "--config", cfg, "--tenant", "acme")
	require.NoError(t, err)
	return out
}

// Two replicas on one Redis: a client created through one gets a token
// from the other, and each accepts the other's tokens (the signing key is
// shared through the state store).
func TestAccessTokensAcrossReplicasOnRedis(t *testing.T) {
	block, _ := sharedRedis(t).stateBlock(t)
	o := bridgeOptions{state: block, auth: `{ client_credentials: true }`}
	a := newBridgeWith(t, pharosSQLite(t), e2eMapping, o)
	b := newBridgeWith(t, pharosSQLite(t), e2eMapping, o)
	cl, secret, err := a.app.gate.Clients().Create(context.Background(), "default", "", auth.DefaultSecretValidity)
	require.NoError(t, err)
	fromB := b.postToken(grant(), cl.ID, secret, "")
	require.Equal(t, http.StatusOK, fromB.status, fromB.body)
	fromA := a.postToken(grant(), cl.ID, secret, "")
	require.Equal(t, http.StatusOK, fromA.status, fromA.body)
	for name, c := range map[string]struct {
		s   *stack
		tok string
	}{"b's token on a": {a, fromB.body["access_token"].(string)}, "a's token on b": {b, fromA.body["access_token"].(string)}} {
		got := c.s.doWith("GET", "/Users", nil, "Bearer "+c.tok)
		require.Equal(t, http.StatusOK, got.status, "%s: %s", name, got.raw)
	}
}

// serve's first start makes no Secret Token for a tenant that takes none.
func TestNoFirstTokenWithoutSecretTokens(t *testing.T) {
	s := newBridgeWith(t, pharosSQLite(t), e2eMapping, bridgeOptions{auth: `{ secret_token: false, client_credentials: true }`})
	toks, err := s.app.tokens.List(context.Background(), "default")
	require.NoError(t, err)
	for _, tk := range toks { // the one newBridgeWith made
		require.NoError(t, s.app.state.DeleteToken(context.Background(), "default", tk.ID))
	}
	var out strings.Builder
	cmd := newRootCmd()
	cmd.SetOut(&out)
	require.NoError(t, ensureTokens(context.Background(), s.cfg, s.app.tokens, cmd.OutOrStdout()))
	toks, err = s.app.tokens.List(context.Background(), "default")
	require.NoError(t, err)
	require.Empty(t, toks)
	require.Empty(t, out.String())
}
