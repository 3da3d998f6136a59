-- The Pharos user store, SQLite dialect. Every statement is idempotent
-- (IF NOT EXISTS), so running it on an existing database changes nothing.
-- Keys are random UUIDs written by the bridge: opaque, and never shared by a
-- user and a group, which keeps nested-group member ids unambiguous.
-- Uniqueness of the natural keys is the database's job, case-insensitively:
-- unique indexes on lower(column). SQLite's lower() folds ASCII only, the
-- same function the bridge's filters use, so a filter and the index agree.

CREATE TABLE IF NOT EXISTS users (
    id              TEXT PRIMARY KEY NOT NULL,
    login           TEXT NOT NULL,
    external_id     TEXT,
    email           TEXT,
    first_name      TEXT,
    last_name       TEXT,
    display_name    TEXT,
    title           TEXT,
    department      TEXT,
    employee_number TEXT,
    cost_center     TEXT,
    active          INTEGER NOT NULL DEFAULT 1,
    manager_id      TEXT REFERENCES users (id) ON DELETE SET NULL,
    -- Set by a SCIM DELETE that keeps the row (deprovision.marker): the
    -- user is gone for SCIM until a POST with its externalId restores it.
    deprovisioned   TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS users_login_ci ON users (lower(login));
CREATE UNIQUE INDEX IF NOT EXISTS users_external_id_ci ON users (lower(external_id));
CREATE INDEX IF NOT EXISTS users_email_ci ON users (lower(email));
CREATE INDEX IF NOT EXISTS users_manager ON users (manager_id);

CREATE TABLE IF NOT EXISTS groups (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    external_id TEXT,
    deprovisioned TEXT, -- as users.deprovisioned
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS groups_name_ci ON groups (lower(name));
CREATE UNIQUE INDEX IF NOT EXISTS groups_external_id_ci ON groups (lower(external_id));

-- user_id holds a user's or a nested group's id, so it has no foreign key;
-- the bridge checks that it names one and deletes memberships with either.
CREATE TABLE IF NOT EXISTS group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS group_members_user ON group_members (user_id);

-- A badge card opens print release for one user only: unique across users,
-- case-insensitively (hex card numbers are read in either case).
CREATE TABLE IF NOT EXISTS cards (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    card_number TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS cards_card_number_ci ON cards (lower(card_number));
CREATE INDEX IF NOT EXISTS cards_user ON cards (user_id);
