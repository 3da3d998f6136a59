package pharos

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/scimbridge/scimbridge/backends"
)

func TestCategorize(t *testing.T) {
	tests := map[string]category{
		"INTEGER": catInteger, "INT4": catInteger, "INT8": catInteger, "BIGINT": catInteger, "TINYINT": catInteger,
		"TEXT": catText, "VARCHAR(64)": catText, "NVARCHAR(10)": catText, "BPCHAR": catText, "": catText, "CITEXT": catText,
		"BOOLEAN": catBoolean, "BOOL": catBoolean,
		"REAL": catReal, "FLOAT8": catReal, "NUMERIC": catReal, "DOUBLE PRECISION": catReal,
		"TIMESTAMPTZ": catTimestamp, "DATETIME": catTimestamp, "DATE": catTimestamp, "TIMESTAMP": catTimestamp,
		"UUID": catUUID, "BLOB": catText, "12345": catText,
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			require.Equal(t, want.String(), categorize(in).String())
		})
	}
}

func TestToDB(t *testing.T) {
	ts := time.Date(2026, 11, 26, 18, 25, 0, 0, time.UTC)
	tests := []struct {
		name    string
		col     column
		in      string
		want    any
		invalid string // reason substring when the value is refused
	}{
		{"text", column{cat: catText}, "Alice", "Alice", ""},
		{"text kept verbatim", column{cat: catText}, "  a b  ", "  a b  ", ""},
		{"text within varchar", column{cat: catText, maxLen: 3}, "äöü", "äöü", ""},
		{"text over varchar", column{cat: catText, maxLen: 3}, "abcd", nil, "longer than 3 characters"},
		{"text with NUL", column{cat: catText}, "a\x00b", nil, "NUL"},
		{"invalid UTF-8", column{cat: catText}, "a\xffb", nil, "UTF-8"},
		{"integer", column{cat: catInteger}, " 42 ", int64(42), ""},
		{"integer negative", column{cat: catInteger}, "-7", int64(-7), ""},
		{"integer from true", column{cat: catInteger}, "True", int64(1), ""},
		{"integer from false", column{cat: catInteger}, "false", int64(0), ""},
		{"integer refused", column{cat: catInteger}, "12x", nil, `"12x" is not an integer`},
		{"integer overflow", column{cat: catInteger}, "99999999999999999999", nil, "not an integer"},
		{"integer empty", column{cat: catInteger}, " ", nil, "not an integer"},
		{"real", column{cat: catReal}, "1.5", 1.5, ""},
		{"real refused", column{cat: catReal}, "NaN", nil, "not a number"},
		{"boolean", column{cat: catBoolean}, "TRUE", true, ""},
		{"boolean 0", column{cat: catBoolean}, "0", false, ""},
		{"boolean refused", column{cat: catBoolean}, "maybe", nil, "not a boolean"},
		{"timestamp", column{cat: catTimestamp}, "2026-11-26T18:25:00Z", ts, ""},
		{"timestamp refused", column{cat: catTimestamp}, "yesterday", nil, "not an RFC 3339 timestamp"},
		{"uuid", column{cat: catUUID}, "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", ""},
		{"uuid refused", column{cat: catUUID}, "not-a-uuid", nil, "not a UUID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.col.toDB("balance", tc.in)
			if tc.invalid == "" {
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
				return
			}
			require.ErrorIs(t, err, backends.ErrInvalid)
			var ie *backends.InvalidError
			require.ErrorAs(t, err, &ie)
			require.Equal(t, "balance", ie.Attr, "the error names the attribute")
			require.Contains(t, ie.Reason, tc.invalid)
		})
	}
}

func TestKeyToDB(t *testing.T) {
	tests := []struct {
		name string
		col  column
		id   string
		want any // nil: names no record
	}{
		{"text", column{cat: catText}, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"text empty", column{cat: catText}, "", nil},
		{"text NUL", column{cat: catText}, "a\x00", nil},
		{"integer", column{cat: catInteger}, "7", int64(7)},
		{"integer not numeric", column{cat: catInteger}, "abc", nil},
		{"integer leading zero is another id", column{cat: catInteger}, "007", nil},
		{"integer plus sign", column{cat: catInteger}, "+7", nil},
		{"integer too big", column{cat: catInteger}, strings.Repeat("9", 40), nil},
		{"uuid", column{cat: catUUID}, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"uuid upper case is another id", column{cat: catUUID}, "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", nil},
		{"uuid garbage", column{cat: catUUID}, "x", nil},
		{"boolean key", column{cat: catBoolean}, "true", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.col.keyToDB(tc.id)
			require.Equal(t, tc.want != nil, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestTimeFromDB(t *testing.T) {
	want := time.Date(2026, 11, 26, 18, 25, 1, 123000000, time.UTC)
	tests := []struct {
		name string
		in   any
		want time.Time
	}{
		{"time", want.In(time.FixedZone("CET", 3600)), want},
		{"sqlite strftime text", "2026-11-26T18:25:01.123Z", want},
		{"modernc time text", []byte("2026-11-26 19:25:01.123+01:00"), want},
		{"unix seconds", int64(1795717501), time.Unix(1795717501, 0).UTC()},
		{"garbage", "soon", time.Time{}},
		{"null", nil, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, tc.want.Equal(timeFromDB(tc.in)), "got %v", timeFromDB(tc.in))
		})
	}
}

func TestIndexColumns(t *testing.T) {
	cols := []column{{name: "id"}, {name: "login"}, {name: "external_id"}, {name: "Text"}, {name: "GroupID"}, {name: "UID"}}
	tests := []struct {
		name, def string
		want      []string
	}{
		{"sqlite expression", "CREATE UNIQUE INDEX users_login_ci ON users (lower(login))", []string{"login"}},
		{"postgres expression", "CREATE UNIQUE INDEX users_login_ci ON bt_1.users USING btree (lower(login))", []string{"login"}},
		{"postgres cast", "CREATE UNIQUE INDEX x ON public.users USING btree (lower((external_id)::text))", []string{"external_id"}},
		{"postgres quoted", `CREATE UNIQUE INDEX "x" ON "tblMember" USING btree ("GroupID", "UID")`, []string{"GroupID", "UID"}},
		{"partial index", "CREATE UNIQUE INDEX x ON users USING btree (login) WHERE (external_id IS NOT NULL)", []string{"login"}},
		{"string literal is no column", "CREATE UNIQUE INDEX x ON users (coalesce(login, 'id'))", []string{"login"}},
		{"autoindex column list", "GroupID,UID", []string{"GroupID", "UID"}},
		{"case-insensitive names", "CREATE UNIQUE INDEX x ON users (LOGIN)", []string{"login"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, indexColumns(tc.def, cols))
		})
	}
}

func TestClassifyPostgres(t *testing.T) {
	tests := []struct {
		code string
		want errClass
	}{
		{"23505", classConflict},
		{"23502", classInvalid}, {"23503", classInvalid}, {"23514", classInvalid},
		{"22001", classInvalid}, {"22P02", classInvalid}, {"22021", classInvalid}, {"54000", classInvalid},
		{"08006", classUnavailable}, {"08001", classUnavailable}, {"57P01", classUnavailable}, {"57P03", classUnavailable},
		{"53300", classUnavailable}, {"40001", classUnavailable}, {"40P01", classUnavailable}, {"55P03", classUnavailable},
		{"42601", classOther}, {"42P01", classOther}, {"XX000", classOther},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			err := fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: tc.code})
			require.Equal(t, tc.want, classify(err).class)
		})
	}
}

func TestClassifyConnectionErrors(t *testing.T) {
	b := newSQLite(t)
	ctx := t.Context()
	for _, err := range []error{
		errors.New("write tcp 127.0.0.1:5432: broken pipe: conn closed"),
		fmt.Errorf("dial: %w", &pgconn.ConnectError{}),
	} {
		got := b.fail(ctx, "test", err)
		require.ErrorIs(t, got, backends.ErrUnavailable, "%v", err)
		require.ErrorIs(t, got, err, "the cause is kept")
	}
	got := b.fail(ctx, "test", errors.New("something else"))
	require.NotErrorIs(t, got, backends.ErrUnavailable)
	require.EqualError(t, got, "pharos: test: something else")
}
