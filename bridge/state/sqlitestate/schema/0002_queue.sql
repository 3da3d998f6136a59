-- 0002: the retry queue. Times are unix milliseconds (0: not set).
-- seq is the enqueue order: per-resource FIFO and every listing follow it,
-- and AUTOINCREMENT keeps it growing even after the newest job is deleted,
-- so a requeued job keeps its place and a new one never takes an old place.

CREATE TABLE jobs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    tenant      TEXT    NOT NULL,
    resource    TEXT    NOT NULL,
    op          TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    fingerprint TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    not_before  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    error_class TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'leased', 'dead')),
    owner       TEXT    NOT NULL,
    lease_until INTEGER NOT NULL
);
-- Lease and Pending look up a resource's live jobs in order.
CREATE INDEX jobs_resource ON jobs (tenant, resource, seq) WHERE state <> 'dead';
-- Lease scans pending jobs oldest first and finds expired leases; List and
-- Stats go by state.
CREATE INDEX jobs_state ON jobs (state, seq);
