// Package httpapi owns the SCIM 2.0 HTTP surface that Microsoft Entra ID
// talks to: the router (per tenant under /scim/<tenant>/v2), bearer-token
// authentication, request ids, access logging, panic recovery, request
// deadlines, body limits, and the one place where errors become SCIM error
// answers (writeError). It is the only package that imports Gin.
//
// It reaches the provisioning service only through the small Tenants and
// Provisioner interfaces declared here, so that the protocol edge can be
// tested without a directory behind it and the service never sees HTTP.
//
// Beside the SCIM endpoints it serves the operators' ones (operations.go):
// /healthz, /readyz, /metrics and the admin API under /admin, through the
// Metrics, Health and Admin interfaces declared here, and the badge-card
// import (POST /admin/cards/import, cards.go) through CardImporter; they
// answer plain JSON and should not be reachable from the Internet.
//
// Every SCIM answer, errors included, carries Content-Type application/scim+json:
// Entra flags anything else (docs/entra.md §1, §12 row 10). Requests are
// accepted with any Content-Type and Accept, because Entra's Test Connection
// GET arrives without a SCIM Accept header and a 406 there fails the job.
package httpapi
