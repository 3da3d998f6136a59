-- 0003: OAuth clients (their secrets' hashes, as JSON: a client is always
-- read and written whole) and the signing keys of the bridge's own access
-- tokens. Times are unix milliseconds.

CREATE TABLE clients (
    tenant     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    secrets    TEXT    NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;

CREATE TABLE signing_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    secret     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
