-- 0003: what the operations console shows. first_used_at (unix ms, 0:
-- never) says when Entra switched to a token; audit keeps the newest
-- applied writes per tenant (the store trims it to state.AuditLimit).

ALTER TABLE tokens ADD COLUMN first_used_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    op         TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    attrs      TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    request_id TEXT    NOT NULL
);
CREATE INDEX audit_tenant ON audit (tenant, seq);
