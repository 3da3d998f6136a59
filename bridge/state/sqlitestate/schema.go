package sqlitestate

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// schemaFiles are the migrations: schema/NNNN_name.sql, numbered from 1
// without gaps. File NNNN brings the database to user_version NNNN. Never
// edit a released file; add the next number instead.
//
//go:embed schema/*.sql
var schemaFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order, or an error if their
// numbering is broken (a build mistake, caught by a test).
func migrations() ([]migration, error) {
	entries, err := schemaFiles.ReadDir("schema")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("schema file %s is not named NNNN_name.sql", e.Name())
		}
		b, err := schemaFiles.ReadFile(path.Join("schema", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("schema file %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// schemaVersion is the version this build brings a file to.
func schemaVersion() (int, error) {
	ms, err := migrations()
	if err != nil {
		return 0, err
	}
	return len(ms), nil
}

// migrate applies the migrations the file has not seen, in one
// transaction, so that a failure leaves the file as it was and two
// processes opening a fresh file at once do not both create tables (the
// transaction begins IMMEDIATE, and the version is read again inside it).
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	want := len(ms)
	have, err := userVersion(ctx, db)
	if err != nil {
		return err
	}
	if have == want {
		return nil
	}
	if have > want {
		return newerSchema(have, want)
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return err
	}
	if have > want {
		return newerSchema(have, want)
	}
	for _, m := range ms[have:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("schema %s: %w", m.name, err)
		}
	}
	// PRAGMA takes no placeholders; want is our own integer, not input.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", want)); err != nil {
		return err
	}
	return tx.Commit()
}

func userVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

func newerSchema(have, want int) error {
	return fmt.Errorf("schema version %d is newer than this build knows (%d): upgrade scimbridge", have, want)
}
