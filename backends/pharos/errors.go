package pharos

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/scimbridge/scimbridge/backends"
)

// errClass is what an error from the driver means for the bridge.
type errClass int

const (
	classOther       errClass = iota // a bug or something unforeseen: 500
	classUnavailable                 // transient: retry, maybe queue
	classConflict                    // a unique index said no
	classInvalid                     // the database rejected a value
)

// dbError is a driver error taken apart: its class and, when the engine
// says, the constraint or column involved.
type dbError struct {
	class      errClass
	constraint string   // index or constraint name (both engines)
	columns    []string // columns named by the message (SQLite)
	column     string   // column named by the engine (PostgreSQL)
	reason     string   // for classInvalid: what was wrong, in words
}

// Reasons given to the client for values the database refused; the
// engine's own message (table names and all) stays in the debug log.
const (
	reasonRequired     = "a value is required"
	reasonNoSuchRecord = "refers to a record that does not exist"
	reasonCheck        = "the value violates a check constraint"
	reasonRejected     = "the database rejected the value"
)

// sqliteConstraintRE picks the columns or index out of SQLite's constraint
// messages, "UNIQUE constraint failed: users.login, users.x" or "UNIQUE
// constraint failed: index 'users_login_ci'", which modernc prefixes with
// "constraint failed: " and suffixes with the result code.
var sqliteConstraintRE = regexp.MustCompile(`[A-Z ]+constraint failed: (index '([^']+)'|[^()]+?)(?: \(\d+\))?$`)

// pgIndexRE finds the index named in a PostgreSQL message.
var pgIndexRE = regexp.MustCompile(`for index "([^"]+)"`)

// classify sorts a driver error. Context errors come first: a statement
// interrupted because ctx ended is the caller's deadline, not the database's.
func classify(err error) dbError {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return dbError{class: classUnavailable}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return classifySQLite(se)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return classifyPostgres(pe)
	}
	if isConnectionError(err) {
		return dbError{class: classUnavailable}
	}
	return dbError{class: classOther}
}

func classifySQLite(se *sqlite.Error) dbError {
	code := se.Code()
	d := dbError{}
	if m := sqliteConstraintRE.FindStringSubmatch(se.Error()); m != nil {
		if m[2] != "" {
			d.constraint = m[2]
		} else {
			for _, tc := range strings.Split(m[1], ",") {
				tc = strings.TrimSpace(tc)
				if i := strings.LastIndexByte(tc, '.'); i >= 0 {
					tc = tc[i+1:]
				}
				d.columns = append(d.columns, tc)
			}
		}
	}
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		d.class = classConflict
		return d
	}
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		d.reason = reasonRequired
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		d.reason = reasonNoSuchRecord
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		d.reason = reasonCheck
	default:
		d.reason = reasonRejected
	}
	switch code & 0xff { // the primary result code
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
		d.class = classInvalid
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_INTERRUPT:
		d.class = classUnavailable
	default:
		d.class = classOther
	}
	return d
}

func classifyPostgres(pe *pgconn.PgError) dbError {
	d := dbError{constraint: pe.ConstraintName, column: pe.ColumnName, reason: reasonRejected}
	code := pe.Code
	switch code {
	case "23502":
		d.reason = reasonRequired
	case "23503":
		d.reason = reasonNoSuchRecord
	case "23514":
		d.reason = reasonCheck
	case "22001":
		d.reason = "value too long for the column"
	case "54000":
		// "index row size 3016 exceeds btree version 4 maximum 2704 for
		// index "users_login_ci"": the index names the column.
		d.reason = "value too long to be indexed"
		if m := pgIndexRE.FindStringSubmatch(pe.Message); m != nil {
			d.constraint = m[1]
		}
	}
	switch {
	case code == "23505": // unique_violation
		d.class = classConflict
	case strings.HasPrefix(code, "22"), // data exception: bad input, too long, bad encoding
		code == "23502", code == "23503", code == "23514", // not null, foreign key, check
		code == "54000": // program_limit_exceeded: a value too large for an index
		d.class = classInvalid
	case strings.HasPrefix(code, "08"), // connection exception
		strings.HasPrefix(code, "53"),    // insufficient resources, too many connections
		strings.HasPrefix(code, "57P"),   // admin/crash shutdown, cannot connect now
		code == "57014",                  // query_canceled (statement timeout)
		code == "40001", code == "40P01", // serialization failure, deadlock
		code == "55P03", code == "55006", // lock not available, object in use
		strings.HasPrefix(code, "58"): // system error: I/O
		d.class = classUnavailable
	default:
		d.class = classOther
	}
	return d
}

// isConnectionError reports errors that mean the connection, not the
// statement, failed: the database is down, restarting or unreachable.
func isConnectionError(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ne), errors.As(err, &ce),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), pgconn.Timeout(err):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "database is closed")
}

// unavailable wraps a transient failure so that errors.Is finds both
// backends.ErrUnavailable and the cause (a context error among them).
func unavailable(op string, err error) error {
	return fmt.Errorf("pharos: %s: %w: %w", op, backends.ErrUnavailable, err)
}

// isOurs reports errors this package already classified.
func isOurs(err error) bool {
	return errors.Is(err, backends.ErrNotFound) || errors.Is(err, backends.ErrConflict) ||
		errors.Is(err, backends.ErrInvalid) || errors.Is(err, backends.ErrUnsupported) ||
		errors.Is(err, backends.ErrUnavailable)
}

// invalid builds the error for a value the target cannot take.
func invalid(attr, format string, args ...any) error {
	return &backends.InvalidError{Attr: attr, Reason: fmt.Sprintf(format, args...)}
}

// unsupported builds the error for a request this backend cannot express.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("pharos: %s: %w", fmt.Sprintf(format, args...), backends.ErrUnsupported)
}

func notFound(kind backends.Kind, id string) error {
	return fmt.Errorf("pharos: %s %q: %w", strings.ToLower(string(kind)), truncate(id, 64), backends.ErrNotFound)
}

// truncate keeps error messages short whatever the client sent.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
