// Package bridge owns the provisioning service: the write pipeline that takes
// one canonical SCIM operation through the mapping into a backend —
// per-resource ordering, natural-key deduplication, idempotent replays,
// bounded retries, the audit log — and the tenants' Secret Tokens.
//
// It imports bridge/scim, mapping, backends and bridge/state; bridge/httpapi
// reaches it through an interface of its own, and main wires them together.
package bridge
