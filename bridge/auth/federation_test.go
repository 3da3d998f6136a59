package auth

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/auth/authtest"
)

const (
	fedSubject  = "44444444-4444-4444-4444-444444444444"
	fedAudience = "api://AzureADTokenExchange"
)

func assertionClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": EntraFederationIssuer(tidA), "sub": fedSubject, "aud": fedAudience, "tid": tidA,
		"iat": now.Add(-time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

func federationFixture(t *testing.T, is *authtest.Issuer) *fixture {
	t.Helper()
	fed := []Federation{{TenantID: tidA, MetadataURL: is.MetadataURL(), Subject: fedSubject, Audience: fedAudience}}
	return newFixture(t, map[string]Policy{
		"acme": {Federation: fed},
		"beta": {ClientCredentials: true},
	})
}

func TestFederatedAssertion(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	f := federationFixture(t, is)
	assertion := authtest.SignRS256(t, key, "k1", assertionClaims())
	resp, err := f.gate.Token(t.Context(), "acme", TokenRequest{GrantType: GrantClientCredentials,
		ClientAssertionType: AssertionTypeJWTBearer, ClientAssertion: assertion})
	require.NoError(t, err)
	require.Equal(t, DefaultAccessTokenLifetime, resp.ExpiresIn)
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", resp.AccessToken))
	f.require401(t, "beta", resp.AccessToken, "issuer (iss) is not accepted")
	// client_id may come along, if it is the subject.
	_, err = f.gate.Token(t.Context(), "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: fedSubject,
		ClientAssertionType: AssertionTypeJWTBearer, ClientAssertion: assertion})
	require.NoError(t, err)
	require.NotContains(t, f.logs.String(), assertion)

	// The identity removed from the configuration: its tokens stop.
	other := newFixtureOn(t, f.path, map[string]Policy{"acme": {Federation: []Federation{{TenantID: tidA, MetadataURL: is.MetadataURL(), Subject: "someone-else", Audience: fedAudience}}}})
	other.require401(t, "acme", resp.AccessToken, "no longer configured")
}

func TestFederatedAssertionHostile(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	f := federationFixture(t, is)
	with := func(mutate func(jwt.MapClaims)) string {
		c := assertionClaims()
		mutate(c)
		return authtest.SignRS256(t, key, "k1", c)
	}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, assertionClaims())
	hs.Header["kid"] = "k1"
	hsTok, err := hs.SignedString([]byte("anything"))
	require.NoError(t, err)
	for _, tc := range []struct{ name, assertion, want string }{
		{"wrong aud", with(func(c jwt.MapClaims) { c["aud"] = "https://elsewhere" }), "audience (aud) is not accepted"},
		{"wrong sub", with(func(c jwt.MapClaims) { c["sub"] = "intruder" }), "match no federated identity"},
		{"wrong iss", with(func(c jwt.MapClaims) { c["iss"] = EntraFederationIssuer(tidB) }), "match no federated identity"},
		{"v1 iss", with(func(c jwt.MapClaims) { c["iss"] = EntraIssuer(tidA) }), "match no federated identity"},
		{"expired", with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), "expired"},
		{"nbf in the future", with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), "not valid yet"},
		{"HS256", hsTok, "signing algorithm is not accepted"},
		{"unknown kid", authtest.SignRS256(t, key, "k2", assertionClaims()), "signing key is not known"},
		{"not a JWT", "not-a-jwt", "not a JWT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.gate.throttle.succeed("acme\x00federation") // no waiting between cases
			_, err := f.gate.Token(t.Context(), "acme", TokenRequest{GrantType: GrantClientCredentials,
				ClientAssertionType: AssertionTypeJWTBearer, ClientAssertion: tc.assertion})
			requireTokenError(t, err, http.StatusUnauthorized, "invalid_client", tc.want)
			require.NotContains(t, f.logs.String(), tc.assertion)
		})
	}
	f.gate.throttle.succeed("acme\x00federation")
	_, err = f.gate.Token(t.Context(), "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: "other",
		ClientAssertionType: AssertionTypeJWTBearer, ClientAssertion: with(func(jwt.MapClaims) {})})
	requireTokenError(t, err, http.StatusUnauthorized, "invalid_client", "client_id is not")
	f.gate.throttle.succeed("acme\x00federation")
	_, err = f.gate.Token(t.Context(), "acme", TokenRequest{GrantType: GrantClientCredentials, ClientSecret: "s",
		ClientAssertionType: AssertionTypeJWTBearer, ClientAssertion: with(func(jwt.MapClaims) {})})
	requireTokenError(t, err, http.StatusBadRequest, "invalid_request", "one client authentication method")

	// Entra's keys never fetched: 503, the assertion may be good.
	is.Down.Store(true)
	cold := federationFixture(t, is)
	_, err = cold.gate.Token(t.Context(), "acme", TokenRequest{GrantType: GrantClientCredentials,
		ClientAssertionType: AssertionTypeJWTBearer, ClientAssertion: with(func(jwt.MapClaims) {})})
	requireTokenError(t, err, http.StatusServiceUnavailable, "temporarily_unavailable", "retry later")
}
