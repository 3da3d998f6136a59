package auth

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/bridge/auth/authtest"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

func entraFixture(t *testing.T, is *authtest.Issuer) *fixture {
	t.Helper()
	return newFixture(t, map[string]Policy{
		"acme": {EntraTenantID: tidA, EntraMetadataURL: is.MetadataURL()},
		"beta": {EntraTenantID: tidB, EntraMetadataURL: is.MetadataURL()},
	})
}

func TestEntraTokenAccepted(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	f := entraFixture(t, is)
	for name, mutate := range map[string]func(jwt.MapClaims){
		"v1 appid":        func(jwt.MapClaims) {},
		"legacy audience": func(c jwt.MapClaims) { c["aud"] = EntraLegacyAudience },
		"v2 azp":          func(c jwt.MapClaims) { delete(c, "appid"); c["azp"] = EntraProvisioningApp },
		"audience list":   func(c jwt.MapClaims) { c["aud"] = []string{"other", EntraAudience} },
	} {
		c := entraClaimsFor(tidA)
		mutate(c)
		require.NoError(t, f.gate.Authenticate(t.Context(), "acme", authtest.SignRS256(t, key, "k1", c)), name)
	}
	require.Equal(t, int32(1), is.JWKSHits.Load(), "the keys are fetched once and cached")
}

func TestEntraTokenHostile(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	other := is.AddKey(t, "unpublished", false)
	is.Withdraw("unpublished")
	f := entraFixture(t, is)
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", authtest.SignRS256(t, key, "k1", entraClaimsFor(tidA))))

	with := func(mutate func(jwt.MapClaims)) jwt.MapClaims {
		c := entraClaimsFor(tidA)
		mutate(c)
		return c
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	none := jwt.NewWithClaims(jwt.SigningMethodNone, entraClaimsFor(tidA))
	none.Header["kid"] = "k1"
	noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, entraClaimsFor(tidA))
	hs.Header["kid"] = "k1"
	hsTok, err := hs.SignedString(pubPEM)
	require.NoError(t, err)

	for _, tc := range []struct {
		name, token, want string
	}{
		{"alg none", noneTok, "signing algorithm is not accepted"},
		{"HS256 with the RSA public key", hsTok, "signing algorithm is not accepted"},
		{"wrong tid", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { c["tid"] = tidB })), "tid"},
		{"wrong iss", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/" + tidA })), "issuer (iss) is not accepted"},
		{"v2 iss", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { c["iss"] = EntraFederationIssuer(tidA) })), "issuer (iss) is not accepted"},
		{"wrong appid", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { c["appid"] = "33333333-3333-3333-3333-333333333333" })), "not Entra's provisioning service"},
		{"wrong azp beside a right appid", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { c["azp"] = "33333333-3333-3333-3333-333333333333" })), "not Entra's provisioning service"},
		{"no appid", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { delete(c, "appid") })), "names no calling app"},
		{"wrong aud", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { c["aud"] = "https://graph.microsoft.com" })), "audience (aud) is not accepted"},
		{"expired", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), "expired"},
		{"no exp", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { delete(c, "exp") })), "lacks a required claim"},
		{"nbf in the future", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), "not valid yet"},
		{"signed by an unpublished key under a known kid", authtest.SignRS256(t, other, "k1", entraClaimsFor(tidA)), "signature is not valid"},
		{"tampered payload", tamper(authtest.SignRS256(t, key, "k1", entraClaimsFor(tidA))), "signature is not valid"},
		{"oversized", authtest.SignRS256(t, key, "k1", with(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", MaxTokenBytes) })), "larger than"},
		{"garbage", "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.!!", "malformed"},
		{"not base64", "a.b.c", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) { f.require401(t, "acme", tc.token, tc.want) })
	}
	require.Equal(t, int32(1), is.JWKSHits.Load(), "no hostile token made the bridge refetch (all had a known kid)")
}

// tamper changes a claim of a signed token, keeping its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	b = bytes.Replace(b, []byte(`"provisioning"`), []byte(`"someone-else"`), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestEntraTokenOfAnotherTenant(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	f := entraFixture(t, is)
	tokA := authtest.SignRS256(t, key, "k1", entraClaimsFor(tidA))
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", tokA))
	f.require401(t, "beta", tokA, "issuer (iss) is not accepted")
	// The same token with beta's iss but acme's tid is still refused.
	forged := entraClaimsFor(tidB)
	forged["tid"] = tidA
	f.require401(t, "beta", authtest.SignRS256(t, key, "k1", forged), "tid")
	// A tenant that takes no Entra tokens refuses them all.
	g := newFixture(t, map[string]Policy{"acme": {SecretToken: true}})
	g.require401(t, "acme", tokA, "not accepted")
}

func TestEntraUnknownKIDRefetchesOnce(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	f := entraFixture(t, is)
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", authtest.SignRS256(t, key, "k1", entraClaimsFor(tidA))))
	require.Equal(t, int32(1), is.JWKSHits.Load())

	f.require401(t, "acme", authtest.SignRS256(t, key, "forged-1", entraClaimsFor(tidA)), "signing key is not known")
	require.Equal(t, int32(2), is.JWKSHits.Load(), "one refetch for the unknown kid")
	f.require401(t, "acme", authtest.SignRS256(t, key, "forged-2", entraClaimsFor(tidA)), "signing key is not known")
	require.Equal(t, int32(2), is.JWKSHits.Load(), "the next unknown kid within the interval does not refetch")
	// The known key still works.
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", authtest.SignRS256(t, key, "k1", entraClaimsFor(tidA))))
}

func TestEntraKeyRotated(t *testing.T) {
	is := authtest.NewIssuer(t)
	old := is.AddKey(t, "k1", false)
	f := entraFixture(t, is)
	oldTok := authtest.SignRS256(t, old, "k1", entraClaimsFor(tidA))
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", oldTok))

	rotated := is.AddKey(t, "k2", true) // k1 withdrawn, k2 published
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", authtest.SignRS256(t, rotated, "k2", entraClaimsFor(tidA))),
		"a token signed with the new key is accepted after one refetch")
	require.Equal(t, int32(2), is.JWKSHits.Load())
	f.require401(t, "acme", authtest.SignRS256(t, old, "k1", entraClaimsFor(tidA)), "signing key is not known")
}

func TestEntraIssuerDown(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	f := entraFixture(t, is)
	good := authtest.SignRS256(t, key, "k1", entraClaimsFor(tidA))
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", good))

	is.Down.Store(true)
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", authtest.SignRS256(t, key, "k1", entraClaimsFor(tidA))),
		"the cached keys keep working while the JWKS is down")
	// An unknown kid is refused, not a 500.
	f.require401(t, "acme", authtest.SignRS256(t, key, "k9", entraClaimsFor(tidA)), "signing key is not known")

	// A replica that never fetched the keys answers 503: the token may be
	// good, and a 401 would quarantine Entra's job.
	cold := entraFixture(t, is)
	err := cold.gate.Authenticate(t.Context(), "acme", good)
	se, ok := err.(*scim.Error)
	require.True(t, ok, "%v", err)
	require.Equal(t, http.StatusServiceUnavailable, se.Status)
	require.NotZero(t, se.RetryAfter)
	require.NotContains(t, cold.logs.String(), good)

	// Once the issuer is back (and the retry interval passed), it works.
	is.Down.Store(false)
	cold.gate.keys[is.MetadataURL()].tried = time.Now().Add(-time.Hour)
	require.NoError(t, cold.gate.Authenticate(t.Context(), "acme", good))
}

func TestSecretTokenBesideJWTs(t *testing.T) {
	is := authtest.NewIssuer(t)
	key := is.AddKey(t, "k1", false)
	f := newFixture(t, map[string]Policy{
		"acme": {SecretToken: true, EntraTenantID: tidA, EntraMetadataURL: is.MetadataURL()},
		"jwt":  {EntraTenantID: tidA, EntraMetadataURL: is.MetadataURL()},
	})
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", "scimb_acme-token"))
	require.NoError(t, f.gate.Authenticate(t.Context(), "acme", authtest.SignRS256(t, key, "k1", entraClaimsFor(tidA))))
	f.require401(t, "acme", "scimb_wrong", "not valid for this tenant")
	f.require401(t, "jwt", "scimb_acme-token", "does not accept Secret Tokens")
	// A tenant with no policy takes its Secret Token only.
	require.Equal(t, []scim.AuthenticationScheme{scim.SecretTokenScheme}, f.gate.Schemes("unconfigured"))
	names := []string{}
	for _, s := range f.gate.Schemes("acme") {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{scim.SecretTokenScheme.Name, "Microsoft Entra ID token"}, names)
}
