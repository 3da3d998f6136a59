package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// What an Entra-issued token for a non-gallery SCIM app carries
// (docs/entra.md §1): every tenant's tokens have the same aud, so the
// issuing tenant (iss, tid) and the calling app (appid, azp) are pinned.
const (
	// EntraAudience is the aud of Entra's provisioning tokens.
	EntraAudience = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
	// EntraLegacyAudience is the aud older apps still get.
	EntraLegacyAudience = "00000002-0000-0000-c000-000000000000"
	// EntraProvisioningApp is the appid (v1) or azp (v2) of Entra's
	// provisioning service.
	EntraProvisioningApp = "00000014-0000-0000-c000-000000000000"
)

// EntraIssuer is the iss of a v1 token issued by the Entra tenant tid.
func EntraIssuer(tid string) string { return "https://sts.windows.net/" + tid + "/" }

// EntraFederationIssuer is the iss of a v2.0 token issued by tid, as a
// federated credential's client assertion carries it.
func EntraFederationIssuer(tid string) string {
	return "https://login.microsoftonline.com/" + tid + "/v2.0"
}

// EntraMetadataURL is Entra's OpenID metadata for v1 tokens of tid.
func EntraMetadataURL(tid string) string {
	return "https://login.microsoftonline.com/" + tid + "/.well-known/openid-configuration"
}

// EntraFederationMetadataURL is Entra's OpenID metadata for v2.0 tokens.
func EntraFederationMetadataURL(tid string) string {
	return "https://login.microsoftonline.com/" + tid + "/v2.0/.well-known/openid-configuration"
}

// entraClaims are the claims checked beyond the registered ones.
type entraClaims struct {
	jwt.RegisteredClaims
	TenantID        string `json:"tid"`
	AppID           string `json:"appid"`
	AuthorizedParty string `json:"azp"`
}

// verifyRS256 checks token's RS256 signature against keys, its times, and
// that it was issued by iss for one of auds.
func verifyRS256(ctx context.Context, keys *remoteKeys, token, iss string, auds []string, claims jwt.Claims, p *jwt.Parser) error {
	kf, err := keys.keyfunc(ctx)
	if err != nil {
		return err
	}
	if p == nil {
		p = jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(iss), jwt.WithAudience(auds...),
			jwt.WithExpirationRequired(), jwt.WithLeeway(clockLeeway))
	}
	_, err = p.ParseWithClaims(token, claims, kf)
	return err
}

// verifyEntra checks a bearer token that Entra issued for tenant tid.
func verifyEntra(ctx context.Context, keys *remoteKeys, token, tid string) error {
	var c entraClaims
	if err := verifyRS256(ctx, keys, token, EntraIssuer(tid), []string{EntraAudience, EntraLegacyAudience}, &c, nil); err != nil {
		return err
	}
	if c.TenantID != tid {
		return fmt.Errorf("tid %q is not the configured Entra tenant", c.TenantID)
	}
	// v1 tokens name the caller in appid, v2 in azp: each that is present
	// must be the provisioning service, and one must be.
	apps := slices.DeleteFunc([]string{c.AppID, c.AuthorizedParty}, func(s string) bool { return s == "" })
	if len(apps) == 0 {
		return errors.New("the token names no calling app (appid/azp)")
	}
	for _, a := range apps {
		if a != EntraProvisioningApp {
			return fmt.Errorf("appid/azp %q is not Entra's provisioning service", a)
		}
	}
	return nil
}

// describe turns a verification error into the words of a 401's detail
// and log line: what was wrong, never the token.
func describe(err error) string {
	switch msg := err.Error(); {
	case (errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, jwt.ErrTokenUnverifiable)) && strings.Contains(msg, "signing method"):
		return "the token's signing algorithm is not accepted"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "the token is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token was issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token's issuer (iss) is not accepted"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "the token's audience (aud) is not accepted"
	case errors.Is(err, jwt.ErrTokenInvalidSubject):
		return "the token's subject (sub) is not accepted"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "the token's signature is not valid"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "the token's signing key is not known"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the token is malformed"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the token lacks a required claim"
	default:
		// Our own checks (tid, appid, a revoked secret) say it themselves.
		return msg
	}
}
