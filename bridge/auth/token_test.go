package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

func clientFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixture(t, map[string]Policy{
		"acme": {SecretToken: true, ClientCredentials: true},
		"beta": {ClientCredentials: true, AccessTokenLifetime: 6 * time.Hour},
		"none": {SecretToken: true},
	})
}

func requireTokenError(t testing.TB, err error, status int, code, want string) {
	t.Helper()
	var te *TokenError
	require.True(t, errors.As(err, &te), "%T %v", err, err)
	require.Equal(t, status, te.Status, te.Description)
	require.Equal(t, code, te.Code)
	require.Contains(t, te.Description, want)
}

func TestClientCredentials(t *testing.T) {
	f := clientFixture(t)
	ctx := t.Context()
	cl, secret, err := f.gate.Clients().Create(ctx, "acme", "entra", 2*year)
	require.NoError(t, err)
	require.Len(t, cl.Secrets, 1)
	require.Equal(t, cl.Secrets[0].CreatedAt.Add(2*year), cl.Secrets[0].ExpiresAt)

	resp, err := f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	require.NoError(t, err)
	require.Equal(t, DefaultAccessTokenLifetime, resp.ExpiresIn)
	require.NoError(t, f.gate.Authenticate(ctx, "acme", resp.AccessToken))
	require.NotContains(t, f.logs.String(), secret)
	require.NotContains(t, f.logs.String(), resp.AccessToken)

	// The stored secret is a hash, not the secret.
	stored, err := f.store.Client(ctx, "acme", cl.ID)
	require.NoError(t, err)
	require.Equal(t, hashSecret(secret), stored.Secrets[0].Hash)
	require.NotContains(t, stored.Secrets[0].Hash, secret)

	// A second replica on the same state store accepts the token.
	replica := newFixtureOn(t, f.path, map[string]Policy{"acme": {ClientCredentials: true}})
	require.NoError(t, replica.gate.Authenticate(ctx, "acme", resp.AccessToken))

	// The token is acme's only: beta refuses it, and a token endpoint
	// of a tenant that has no clients refuses the credentials.
	f.require401(t, "beta", resp.AccessToken, "issuer (iss) is not accepted")
	_, err = f.gate.Token(ctx, "beta", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	requireTokenError(t, err, http.StatusUnauthorized, "invalid_client", "client authentication failed")
	_, err = f.gate.Token(ctx, "none", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	requireTokenError(t, err, http.StatusUnauthorized, "invalid_client", "does not issue access tokens")

	// A tenant's configured lifetime is the token's.
	bcl, bsecret, err := f.gate.Clients().Create(ctx, "beta", "", year)
	require.NoError(t, err)
	resp, err = f.gate.Token(ctx, "beta", TokenRequest{GrantType: GrantClientCredentials, ClientID: bcl.ID, ClientSecret: bsecret})
	require.NoError(t, err)
	require.Equal(t, 6*time.Hour, resp.ExpiresIn)
}

func TestTokenRequestRefused(t *testing.T) {
	f := clientFixture(t)
	ctx := t.Context()
	cl, secret, err := f.gate.Clients().Create(ctx, "acme", "entra", year)
	require.NoError(t, err)
	for _, tc := range []struct {
		name         string
		r            TokenRequest
		status       int
		code, detail string
	}{
		{"no grant type", TokenRequest{ClientID: cl.ID, ClientSecret: secret}, 400, "invalid_request", "grant_type is required"},
		{"password grant", TokenRequest{GrantType: "password", ClientID: cl.ID, ClientSecret: secret}, 400, "unsupported_grant_type", "client_credentials"},
		{"no secret", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID}, 401, "invalid_client", "client authentication is required"},
		{"wrong secret", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret + "x"}, 401, "invalid_client", "client authentication failed"},
		{"unknown client", TokenRequest{GrantType: GrantClientCredentials, ClientID: "nobody", ClientSecret: secret}, 401, "invalid_client", "client authentication failed"},
		{"assertion of a tenant without federation", TokenRequest{GrantType: GrantClientCredentials, ClientAssertionType: AssertionTypeJWTBearer, ClientAssertion: "a.b.c"}, 401, "invalid_client", "accepts no client assertions"},
		{"unknown assertion type", TokenRequest{GrantType: GrantClientCredentials, ClientAssertionType: "saml", ClientAssertion: "x"}, 400, "invalid_request", "client_assertion_type"},
	} {
		_, err := f.gate.Token(ctx, "acme", tc.r)
		requireTokenError(t, err, tc.status, tc.code, tc.detail)
	}
	require.NotContains(t, f.logs.String(), secret)
	require.Contains(t, f.logs.String(), "token request refused")

	// A long client_id is logged cut short.
	long := strings.Repeat("x", 10_000)
	_, err = f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: long, ClientSecret: "s"})
	requireTokenError(t, err, 401, "invalid_client", "client authentication failed")
	require.NotContains(t, f.logs.String(), long[:maxLoggedID+1])
	require.Contains(t, f.logs.String(), long[:maxLoggedID])
}

func TestExpiredAndRevokedSecrets(t *testing.T) {
	f := clientFixture(t)
	ctx := t.Context()
	cl, first, err := f.gate.Clients().Create(ctx, "acme", "entra", year)
	require.NoError(t, err)
	second, secondSecret, err := f.gate.Clients().AddSecret(ctx, "acme", cl.ID, 3*year)
	require.NoError(t, err)

	// Both secrets work at once (rotation without a failed cycle).
	tok1, err := f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: first})
	require.NoError(t, err)
	tok2, err := f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secondSecret})
	require.NoError(t, err)

	// Revoking the first stops it and its token, not the second's.
	require.NoError(t, f.gate.Clients().RevokeSecret(ctx, "acme", cl.ID, cl.Secrets[0].ID))
	_, err = f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: first})
	requireTokenError(t, err, 401, "invalid_client", "client authentication failed")
	f.require401(t, "acme", tok1.AccessToken, "revoked or has expired")
	require.NoError(t, f.gate.Authenticate(ctx, "acme", tok2.AccessToken))

	// An expired secret never yields a token, and says so.
	stored, err := f.store.Client(ctx, "acme", cl.ID)
	require.NoError(t, err)
	stored.Secrets[0].ExpiresAt = time.Now().Add(-time.Minute)
	require.Equal(t, second.ID, stored.Secrets[0].ID)
	require.NoError(t, f.store.PutClient(ctx, stored))
	f.gate.clients.forget("acme", cl.ID)
	f.gate.throttle.succeed("acme\x00" + cl.ID)
	_, err = f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secondSecret})
	requireTokenError(t, err, 401, "invalid_client", "expired on")
	f.require401(t, "acme", tok2.AccessToken, "revoked or has expired")

	// Validity bounds, unknown clients and secrets.
	_, _, err = f.gate.Clients().Create(ctx, "acme", "", 364*24*time.Hour)
	require.ErrorContains(t, err, "1 to 3 years")
	_, _, err = f.gate.Clients().AddSecret(ctx, "acme", cl.ID, 4*year)
	require.ErrorContains(t, err, "1 to 3 years")
	_, _, err = f.gate.Clients().AddSecret(ctx, "acme", "nobody", year)
	require.ErrorIs(t, err, ErrNoClient)
	require.ErrorContains(t, f.gate.Clients().RevokeSecret(ctx, "acme", cl.ID, "nope"), "no secret")
	require.ErrorIs(t, f.gate.Clients().Delete(ctx, "acme", "nobody"), ErrNoClient)

	list, err := f.gate.Clients().List(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, []SecretInfo{{ID: second.ID, CreatedAt: second.CreatedAt, ExpiresAt: stored.Secrets[0].ExpiresAt.UTC().Truncate(time.Millisecond)}},
		truncate(list[0].Secrets))
	require.NoError(t, f.gate.Clients().Delete(ctx, "acme", cl.ID))
	list, err = f.gate.Clients().List(ctx, "acme")
	require.NoError(t, err)
	require.Empty(t, list)
}

func truncate(ss []SecretInfo) []SecretInfo {
	for i := range ss {
		ss[i].CreatedAt = ss[i].CreatedAt.UTC()
		ss[i].ExpiresAt = ss[i].ExpiresAt.UTC().Truncate(time.Millisecond)
	}
	return ss
}

func TestFailedAttemptsSlowDown(t *testing.T) {
	th := newThrottle()
	now := time.Unix(1_000_000, 0)
	th.now = func() time.Time { return now }
	require.Zero(t, th.delay("c"))
	var delays []time.Duration
	for range 6 {
		th.fail("c")
		delays = append(delays, th.delay("c"))
	}
	require.Equal(t, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}, delays)
	require.Zero(t, th.delay("other"), "per client")
	now = now.Add(throttleForget + time.Second)
	require.Zero(t, th.delay("c"), "forgotten after a quiet while")
	th.fail("c")
	th.succeed("c")
	require.Zero(t, th.delay("c"), "a success clears it")

	// Through the gate: a wrong secret makes the next attempt wait.
	f := clientFixture(t)
	cl, secret, err := f.gate.Clients().Create(t.Context(), "acme", "", year)
	require.NoError(t, err)
	_, err = f.gate.Token(t.Context(), "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: "wrong"})
	require.Error(t, err)
	require.Equal(t, throttleBase, f.gate.throttle.delay("acme\x00"+cl.ID))
	start := time.Now()
	_, err = f.gate.Token(t.Context(), "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), throttleBase, "one-sided: the attempt waited at least the delay")
	require.Zero(t, f.gate.throttle.delay("acme\x00"+cl.ID))
	// A caller that gives up while waiting gets 503, not 401.
	_, _ = f.gate.Token(t.Context(), "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: "wrong"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	requireTokenError(t, err, 503, "temporarily_unavailable", "retry later")
}

func TestSigningKeyRotation(t *testing.T) {
	f := clientFixture(t)
	ctx := t.Context()
	cl, secret, err := f.gate.Clients().Create(ctx, "beta", "", year)
	require.NoError(t, err)
	// Late in a key period, a 6 h token; then the next period's key signs,
	// and the old token still verifies until it expires.
	start := time.Now().Truncate(keyPeriod).Add(23 * time.Hour)
	now := start
	clock := func() time.Time { return now }
	f.gate.issuer.now, f.gate.now, f.gate.clients.now = clock, clock, clock
	old, err := f.gate.Token(ctx, "beta", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	require.NoError(t, err)
	now = start.Add(2 * time.Hour)
	fresh, err := f.gate.Token(ctx, "beta", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	require.NoError(t, err)
	require.NotEqual(t, kidOf(t, old.AccessToken), kidOf(t, fresh.AccessToken))
	keys, err := f.store.SigningKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	// The issuer's own clock drives jwt's checks; move past the expiry.
	require.NoError(t, f.gate.Authenticate(ctx, "beta", old.AccessToken))
	now = start.Add(6*time.Hour + 2*clockLeeway)
	f.require401(t, "beta", old.AccessToken, "expired")
	require.NoError(t, f.gate.Authenticate(ctx, "beta", fresh.AccessToken))
	// After the retention, the old key is gone from the store.
	now = start.Add(keyRetain + keyPeriod)
	_, err = f.gate.issuer.signingKey(ctx)
	require.NoError(t, err)
	keys, err = f.store.SigningKeys(ctx)
	require.NoError(t, err)
	for _, k := range keys {
		require.True(t, now.Before(k.ExpiresAt), "expired key %s kept", k.ID)
	}
}

func kidOf(t testing.TB, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, &jwt.RegisteredClaims{})
	require.NoError(t, err)
	return p.Header["kid"].(string)
}

func TestForgedAccessTokens(t *testing.T) {
	f := clientFixture(t)
	ctx := t.Context()
	cl, secret, err := f.gate.Clients().Create(ctx, "acme", "", year)
	require.NoError(t, err)
	good, err := f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	require.NoError(t, err)
	kid := kidOf(t, good.AccessToken)
	claims := jwt.MapClaims{"iss": publicURL + "/scim/acme/oauth2", "aud": publicURL + "/scim/acme/v2", "sub": cl.ID,
		"sid": cl.Secrets[0].ID, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	sign := func(key []byte, kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	none.Header["kid"] = kid
	noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	f.require401(t, "acme", sign([]byte("guessed key"), kid), "signature is not valid")
	f.require401(t, "acme", sign([]byte("guessed key"), "k0"), "signing key is not known")
	f.require401(t, "acme", noneTok, "signing algorithm is not accepted")
}

func TestStateStoreDown(t *testing.T) {
	f := clientFixture(t)
	ctx := t.Context()
	cl, secret, err := f.gate.Clients().Create(ctx, "acme", "", year)
	require.NoError(t, err)
	tok, err := f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	require.NoError(t, err)
	require.NoError(t, f.gate.Authenticate(ctx, "acme", tok.AccessToken))

	cold := newFixtureOn(t, f.path, map[string]Policy{"acme": {ClientCredentials: true}})
	require.NoError(t, f.store.Close())
	require.NoError(t, cold.store.Close())
	// The replica that has the key and the client cached keeps serving.
	require.NoError(t, f.gate.Authenticate(ctx, "acme", tok.AccessToken))
	// One that has neither answers 503, never 401.
	err = cold.gate.Authenticate(ctx, "acme", tok.AccessToken)
	var se *scim.Error
	require.True(t, errors.As(err, &se))
	require.Equal(t, http.StatusServiceUnavailable, se.Status)
	_, err = cold.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	requireTokenError(t, err, 503, "temporarily_unavailable", "retry later")
}
