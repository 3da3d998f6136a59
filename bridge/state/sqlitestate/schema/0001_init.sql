-- 0001: tokens, idempotency answers, resource versions and locks.
-- Times are unix milliseconds. Expiry is decided by the caller's clock, passed
-- as a parameter, so that every process sharing the file agrees on it.

CREATE TABLE tokens (
    tenant     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;

CREATE TABLE answers (
    key         TEXT    NOT NULL PRIMARY KEY,
    status      INTEGER NOT NULL,
    body        BLOB    NOT NULL,
    resource_id TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
-- Sweep deletes by expiry.
CREATE INDEX answers_expires_at ON answers (expires_at);

CREATE TABLE versions (
    resource TEXT    NOT NULL PRIMARY KEY,
    version  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE locks (
    key        TEXT    NOT NULL PRIMARY KEY,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
