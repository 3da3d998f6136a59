// Package pharos owns the legacy Pharos user store as a backends.Backend: a
// SQL database of users, groups, group memberships and badge cards (used for
// print release), reached through database/sql on SQLite (modernc.org/sqlite,
// the embedded default) or PostgreSQL (pgx).
//
// The tenant's backend block and the mapping's "target" blocks say where
// everything lives:
//
//	backend:
//	  type: pharos
//	  config:
//	    driver: sqlite          # sqlite (default) | postgres
//	    dsn: data/pharos.db     # sqlite: a file path; postgres: a URL
//	    maxOpenConns: 4         # default 4
//	    init: true              # create the Pharos schema when the users table is
//	                            # missing; default true for sqlite, false for postgres
//
//	# mapping, users:                      # mapping, groups:
//	target:                                target:
//	  table: users                           table: groups
//	  key: id                                key: id
//	  created: created_at   # optional       members:
//	  modified: updated_at  # optional         table: group_members
//	  multiValued:                             group: group_id
//	    cards:                                 member: user_id
//	      table: cards
//	      key: user_id
//	      value: card_number
//
// Attribute names in the mapping are column names of the kind's table, or
// the name of a multiValued entry (a child table holding one row per value).
// Identifiers are checked against ^[A-Za-z_][A-Za-z0-9_]*$ and quoted in SQL,
// so they are matched exactly as the catalog spells them (PostgreSQL stores
// unquoted names in lower case). Values only ever travel as placeholders.
//
// Behaviour worth knowing (backendtest holds every backend to the rest):
//
//   - The SCIM id is the key column as a string. A new database (schema.sql)
//     uses text keys filled with random UUIDs, so ids are opaque and users and
//     groups never share one. An integer key column of a legacy database is
//     left to the database (RETURNING); any other key gets a UUID.
//   - Column types are discovered at Open: a value an INTEGER, REAL, BOOLEAN,
//     timestamp or UUID column cannot take, or one longer than a VARCHAR(n),
//     is an *backends.InvalidError naming the attribute before it reaches
//     the database. An INTEGER column also takes true/false as 1/0, since
//     SQLite and many legacy schemas keep booleans that way. Text must be
//     valid UTF-8 without NUL, which PostgreSQL cannot store.
//   - Unique attributes (Schema marks them) are looked up case-insensitively
//     inside the write transaction, which names the holder in the
//     *backends.ConflictError; the database's unique indexes on lower(column)
//     stay the arbiter under concurrency, and their violations (SQLite
//     2067/1555, PostgreSQL 23505) are mapped back to the attribute.
//   - Group members are user or group ids (nested groups), held in a column
//     without a foreign key. Adding an id that names no user and no group, or
//     the group itself, is an *backends.InvalidError on $members: a dangling
//     member would be read back as a member Entra never sent. Removing an
//     absent member succeeds.
//     Legacy schemas with integer keys in both tables can give a user and a
//     group the same id: a member id is then ambiguous, and deleting either
//     record removes both's memberships. Give group keys a range of their
//     own there, or provision no nested groups.
//   - Add keeps present values by looking them up first (case-insensitively
//     for text), not with INSERT ... ON CONFLICT DO NOTHING: a legacy child
//     table may have no unique key to conflict on, and DO NOTHING would also
//     swallow a card held by another user, which must be a conflict. Every
//     Modify first bumps the modification time, which locks the record's row
//     (PostgreSQL) or the database (SQLite, BEGIN IMMEDIATE), so the look-up
//     cannot race with another writer of the same record.
//   - ModifyBatch (backends.BatchModifier, for the badge-card import) runs
//     many records' Modify in one transaction, each in a savepoint of its
//     own: a record the database refuses (a card another user holds trips
//     the unique index) rolls back to its savepoint and is reported with
//     the holder, looked up inside the transaction, and the rest commits.
//   - Deleting a record deletes its child rows and memberships (as a group
//     and as a member) and clears references to it (manager) in one
//     transaction.
//   - With init, a SQLite file's directory is created. ":memory:" works, on
//     a single connection (each connection would be a database of its own).
//   - Busy/locked SQLite, lost connections and PostgreSQL's connection,
//     shutdown, serialization and resource errors wrap
//     backends.ErrUnavailable, so the bridge retries them.
package pharos
