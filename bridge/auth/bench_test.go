package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scimbridge/scimbridge/bridge/auth/authtest"
)

// What checking a bearer token costs, against the raw library call that
// verifies the same token (signature and registered claims) in the same
// run: the gate adds routing by iss, the tenant's policy and, for access
// tokens, the (cached) client and secret lookup. Run:
// go test -run '^$' -bench Authenticate -benchmem ./bridge/auth
// and compare ns/op of each gate_* with its raw_* (the ratio is the gate's
// overhead; RSA verification dominates the Entra pair).
func BenchmarkAuthenticate(b *testing.B) {
	is := authtest.NewIssuer(b)
	key := is.AddKey(b, "k1", false)
	f := newFixture(b, map[string]Policy{"acme": {SecretToken: true, ClientCredentials: true, EntraTenantID: tidA, EntraMetadataURL: is.MetadataURL()}})
	ctx := b.Context()
	cl, secret, err := f.gate.Clients().Create(ctx, "acme", "", year)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := f.gate.Token(ctx, "acme", TokenRequest{GrantType: GrantClientCredentials, ClientID: cl.ID, ClientSecret: secret})
	if err != nil {
		b.Fatal(err)
	}
	access := resp.AccessToken
	entra := authtest.SignRS256(b, key, "k1", entraClaimsFor(tidA))
	signing, err := f.gate.issuer.signingKey(ctx)
	if err != nil {
		b.Fatal(err)
	}
	check := func(b *testing.B, tok string) {
		if err := f.gate.Authenticate(ctx, "acme", tok); err != nil {
			b.Fatal(err)
		}
	}
	check(b, entra) // fetch Entra's keys once, outside the timing

	b.Run("raw_hs256", func(b *testing.B) {
		p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
		for b.Loop() {
			if _, err := p.ParseWithClaims(access, &accessClaims{}, func(*jwt.Token) (any, error) { return signing.Secret, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gate_access_token", func(b *testing.B) {
		for b.Loop() {
			check(b, access)
		}
	})
	b.Run("raw_rs256", func(b *testing.B) {
		p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
		for b.Loop() {
			if _, err := p.ParseWithClaims(entra, &entraClaims{}, func(*jwt.Token) (any, error) { return &key.PublicKey, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gate_entra_jwt", func(b *testing.B) {
		for b.Loop() {
			check(b, entra)
		}
	})
}
