// Package auth decides who may call a tenant's SCIM endpoint, beside the
// Secret Token that package bridge checks: OAuth 2.0 clients (the client
// credentials grant, RFC 6749 §4.4) and workload identity federation (RFC
// 7523 client assertions signed by Entra) get access tokens from the
// tenant's token endpoint, and Entra may send JWTs it issued itself.
//
// The bridge's own access tokens are JWTs signed (HS256) with a key kept in
// the state store and rotated daily, rather than opaque tokens stored
// there: any replica verifies one with the keys it has cached, so a state
// store outage does not lock Entra out (docs/design.md §5), and a request
// costs no state store round trip beyond what the write itself needs. The
// client's secret is looked up (cached) on each request all the same, so a
// revoked secret's tokens stop working within the cache's few seconds.
//
// Every answer to a bad credential is a 401 whose detail says what was
// wrong without echoing the credential; a log line says the same. Only
// failures to reach what is needed to decide (the state store with nothing
// cached, Entra's keys never fetched) are 503: a 401 would make Entra
// quarantine the provisioning job.
package auth
