package pharos

import (
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// category is what a column holds, as far as converting a neutral string
// value goes. It comes from the declared type SQLite or PostgreSQL reports.
type category int

const (
	catText category = iota
	catInteger
	catReal
	catBoolean
	catTimestamp
	catUUID
)

func (c category) String() string {
	return [...]string{"text", "integer", "number", "boolean", "timestamp", "uuid"}[c]
}

// column is one discovered column.
type column struct {
	name   string // as the catalog spells it
	cat    category
	maxLen int // VARCHAR(n) limit in characters, 0 = none
}

// categorize maps a declared type name to a category. SQLite's rules of
// type affinity (datatype3.html §3.1) decide there; PostgreSQL reports its
// internal names (INT4, BOOL, TIMESTAMPTZ). Unknown types are text: the
// value goes through as a string and the database has the last word.
func categorize(dbType string) category {
	t := strings.ToUpper(dbType)
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	switch t {
	case "INT2", "INT4", "INT8", "SMALLINT", "INTEGER", "BIGINT", "SERIAL", "BIGSERIAL", "SMALLSERIAL":
		return catInteger
	case "BOOL", "BOOLEAN":
		return catBoolean
	case "FLOAT4", "FLOAT8", "NUMERIC", "DECIMAL", "REAL", "DOUBLE PRECISION", "DOUBLE", "FLOAT":
		return catReal
	case "TIMESTAMP", "TIMESTAMPTZ", "DATE", "DATETIME", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITHOUT TIME ZONE":
		return catTimestamp
	case "UUID":
		return catUUID
	}
	switch {
	case strings.Contains(t, "INT"):
		return catInteger
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return catText
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return catReal
	}
	return catText
}

// newColumn builds a column from what the driver reports.
func newColumn(ct *sql.ColumnType) column {
	dbType := ct.DatabaseTypeName()
	c := column{name: ct.Name(), cat: categorize(dbType)}
	if c.cat == catText {
		if n, ok := ct.Length(); ok && n > 0 && n < math.MaxInt32 {
			c.maxLen = int(n) // PostgreSQL's VARCHAR(n)
		} else {
			c.maxLen = declaredLength(dbType)
		}
	}
	return c
}

// declaredLength reads n from a declared type such as VARCHAR(n): SQLite
// does not enforce it, but a legacy application reading the column may
// rely on it, so the bridge does.
func declaredLength(dbType string) int {
	t := strings.ToUpper(dbType)
	open, end := strings.IndexByte(t, '('), strings.IndexByte(t, ')')
	if !strings.Contains(t, "CHAR") || open < 0 || end < open {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(t[open+1 : end]))
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// checkText rejects what no engine stores as text: invalid UTF-8, and NUL,
// which PostgreSQL refuses and SQLite's string functions stop at.
func checkText(attr, v string) error {
	if !utf8.ValidString(v) {
		return invalid(attr, "value is not valid UTF-8")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return invalid(attr, "value contains a NUL character")
	}
	return nil
}

// toDB converts a neutral string value into what col takes, or an
// *backends.InvalidError naming attr.
func (c column) toDB(attr, v string) (any, error) {
	if err := checkText(attr, v); err != nil {
		return nil, err
	}
	switch c.cat {
	case catInteger:
		s := strings.TrimSpace(v)
		switch strings.ToLower(s) {
		case "true":
			return int64(1), nil
		case "false":
			return int64(0), nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, invalid(attr, "%q is not an integer", truncate(v, 40))
		}
		return n, nil
	case catReal:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, invalid(attr, "%q is not a number", truncate(v, 40))
		}
		return f, nil
	case catBoolean:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1", "t", "yes":
			return true, nil
		case "false", "0", "f", "no":
			return false, nil
		}
		return nil, invalid(attr, "%q is not a boolean", truncate(v, 40))
	case catTimestamp:
		t, err := parseTime(strings.TrimSpace(v))
		if err != nil {
			return nil, invalid(attr, "%q is not an RFC 3339 timestamp", truncate(v, 40))
		}
		return t, nil
	case catUUID:
		u, err := uuid.Parse(strings.TrimSpace(v))
		if err != nil {
			return nil, invalid(attr, "%q is not a UUID", truncate(v, 40))
		}
		return u.String(), nil
	}
	if c.maxLen > 0 && utf8.RuneCountInString(v) > c.maxLen {
		return nil, invalid(attr, "value is longer than %d characters", c.maxLen)
	}
	return v, nil
}

// timeLayouts are the forms timestamps take: RFC 3339 from clients and
// PostgreSQL, SQLite's strftime and datetime() forms, and modernc's default
// for a bound time.Time.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("pharos: unparsable time %q", truncate(s, 40))
}

// timeFromDB reads a Created/Modified column, whatever the legacy schema
// keeps there; an unreadable value is zero rather than a failed read.
func timeFromDB(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case int64:
		return time.Unix(x, 0).UTC()
	case float64:
		return time.Unix(int64(x), 0).UTC()
	case []byte:
		t, _ := parseTime(string(x))
		return t.UTC()
	case string:
		t, _ := parseTime(x)
		return t.UTC()
	}
	return time.Time{}
}

// timeToDB writes now the way the column keeps time.
func (c column) timeToDB(now time.Time) any {
	switch c.cat {
	case catInteger:
		return now.Unix()
	case catTimestamp:
		return now
	case catReal:
		return float64(now.UnixMilli()) / 1000
	}
	// Text: fixed width, so that text order is time order; the same form
	// as the schema's strftime default.
	return now.UTC().Format("2006-01-02T15:04:05.000Z")
}

// keyToDB parses an id for a key (or member) column. An id the column
// cannot hold names no record, which is not an error: ok is false.
func (c column) keyToDB(id string) (v any, ok bool) {
	if id == "" || checkText("", id) != nil {
		return nil, false
	}
	switch c.cat {
	case catInteger:
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != id {
			return nil, false // "007" is not the id "7" returned
		}
		return n, true
	case catUUID:
		u, err := uuid.Parse(id)
		if err != nil || u.String() != id {
			return nil, false
		}
		return id, true
	case catReal, catBoolean, catTimestamp:
		return nil, false
	}
	return id, true
}
