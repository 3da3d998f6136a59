package auth

import (
	"errors"
	"net/http"
	"testing"

	"github.com/scimbridge/scimbridge/bridge/scim"
)

// FuzzToken feeds the token endpoint's logic arbitrary parameters: every
// answer is a token for the one right secret, or an RFC 6749 error of 400
// or 401, never a panic or another status.
func FuzzToken(f *testing.F) {
	fx := newFixture(f, map[string]Policy{"acme": {ClientCredentials: true, Federation: []Federation{
		{TenantID: tidA, MetadataURL: "http://127.0.0.1:1/never-fetched", Subject: "wl", Audience: "aud"}}}})
	fx.gate.throttle.base = 0 // failures must not slow the fuzzer down
	cl, secret, err := fx.gate.Clients().Create(f.Context(), "acme", "", year)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(GrantClientCredentials, cl.ID, secret, "", "")
	f.Add(GrantClientCredentials, cl.ID, secret+"x", "", "")
	f.Add(GrantClientCredentials, "", "", AssertionTypeJWTBearer, "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln")
	f.Add("password", "a", "b", "c", "d")
	f.Fuzz(func(t *testing.T, grant, id, sec, atype, assertion string) {
		resp, err := fx.gate.Token(t.Context(), "acme", TokenRequest{GrantType: grant, ClientID: id, ClientSecret: sec,
			ClientAssertionType: atype, ClientAssertion: assertion})
		if err == nil {
			if grant != GrantClientCredentials || id != cl.ID || sec != secret || resp.AccessToken == "" {
				t.Fatalf("a token for %q/%q", id, sec)
			}
			return
		}
		var te *TokenError
		if !errors.As(err, &te) {
			t.Fatalf("%T %v", err, err)
		}
		// 503: the federation's keys cannot be fetched (nothing listens).
		if te.Status != http.StatusBadRequest && te.Status != http.StatusUnauthorized && te.Status != http.StatusServiceUnavailable {
			t.Fatalf("status %d: %v", te.Status, te)
		}
	})
}

// FuzzAuthenticate feeds arbitrary bearer tokens to a tenant that takes
// every method: each but the tenant's one Secret Token (the fixture's
// fixedTokens, which the fuzzer finds from its seed) is refused with a 401
// SCIM error (or 503 while Entra's keys cannot be fetched), never a panic.
func FuzzAuthenticate(f *testing.F) {
	fx := newFixture(f, map[string]Policy{"acme": {SecretToken: true, ClientCredentials: true,
		EntraTenantID: tidA, EntraMetadataURL: "http://127.0.0.1:1/never-fetched"}})
	f.Add(acmeSecretToken + "-x")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2JyaWRnZS5leGFtcGxlLm9yZy9zY2ltL2FjbWUvb2F1dGgyIn0.")
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC8xMTExMTExMS0xMTExLTExMTEtMTExMS0xMTExMTExMTExMTEvIn0.c2ln")
	f.Fuzz(func(t *testing.T, token string) {
		err := fx.gate.Authenticate(t.Context(), "acme", token)
		if token == acmeSecretToken {
			if err != nil {
				t.Fatalf("the tenant's Secret Token refused: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("accepted %q", token)
		}
		se, ok := err.(*scim.Error)
		if !ok || (se.Status != http.StatusUnauthorized && se.Status != http.StatusServiceUnavailable) {
			t.Fatalf("%T %v", err, err)
		}
	})
}
