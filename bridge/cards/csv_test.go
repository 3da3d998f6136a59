package cards

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rows reads every row of a file the way Import does.
func rows(t *testing.T, file string, delim rune) ([]row, error) {
	t.Helper()
	rd, err := newReader(strings.NewReader(file), delim, "userName", "card")
	if err != nil {
		return nil, err
	}
	var out []row
	for {
		r, err := rd.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
}

func TestReaderShapes(t *testing.T) {
	want := []row{{line: 2, user: "ana@x", card: "A1"}, {line: 3, user: "bob@x", card: "B 2"}}
	for name, file := range map[string]string{
		"commas":            "userName,card\nana@x,A1\nbob@x,B 2\n",
		"semicolons":        "userName;card\nana@x;A1\nbob@x;B 2\n",
		"BOM and CRLF":      "\uFEFFuserName;card\r\nana@x;A1\r\nbob@x;B 2\r\n",
		"spaces and case":   " USERNAME , Card ,site\n ana@x , A1 ,x\n bob@x,B 2 ,y\n",
		"quoted and extra":  "site;\"userName\";card\n\"a;b\";ana@x;\"A1\"\nc;\"bob@x\";B 2\n",
		"no final newline":  "userName,card\nana@x,A1\nbob@x,B 2",
		"blank lines":       "userName,card\nana@x,A1\n\n",
		"semicolon, commas": "userName;card\nana@x;A1\nbob@x;B 2\n",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := rows(t, file, 0)
			require.NoError(t, err)
			if name == "blank lines" {
				require.Equal(t, want[:1], got)
				return
			}
			require.Equal(t, want, got)
		})
	}
}

func TestReaderBadRows(t *testing.T) {
	got, err := rows(t, "userName,card\n,A1\nana@x,\nana@x\nana@x,\"x\"y\nana@x,\xff\nana@x,"+strings.Repeat("9", maxValue+1)+"\nana@x,a\x01b\nbob@x,ok\n", 0)
	require.NoError(t, err)
	var bad []string
	for _, r := range got {
		bad = append(bad, r.bad)
	}
	require.Equal(t, []string{
		"no userName", "no card number", "the row has 1 fields; the user and card columns are fields 1 and 2",
		`not valid CSV: extraneous or missing " in quoted-field`, "the card number is not valid UTF-8 (save the file as UTF-8)",
		"the card number is longer than 256 characters", "the card number holds a control character", "",
	}, bad)
	require.Equal(t, 9, got[len(got)-1].line)
}

func TestReaderUnusableFiles(t *testing.T) {
	for name, c := range map[string]struct {
		file string
		msg  string
	}{
		"empty":          {"", "the file is empty"},
		"only a BOM":     {"\uFEFF", "the file is empty"},
		"no card column": {"userName,badge\n", `no column "card" (the card number); it has "userName", "badge"`},
		"no columns":     {"login;badge\n", `no column "userName" (the user) and no column "card"`},
		"twice":          {"userName,card,USERNAME\n", `names the column "USERNAME" twice`},
		"a long line":    {"userName,card\n" + strings.Repeat("x", maxLine+10), "longer than 65536 bytes"},
		"a long header":  {strings.Repeat("x", maxLine+10), "longer than 65536 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := rows(t, c.file, 0)
			require.ErrorIs(t, err, ErrFile)
			require.ErrorContains(t, err, c.msg)
		})
	}
}

func TestSniff(t *testing.T) {
	require.Equal(t, ';', sniff([]byte("a;b,c;d\n1,2,3,4,5")))
	require.Equal(t, ',', sniff([]byte(`"a;b;c",d`)))
	require.Equal(t, ',', sniff([]byte("single")))
}

func TestParseParams(t *testing.T) {
	o, err := ParseParams(url.Values{"tenant": {"x"}, "key": {"EMAIL"}, "user_column": {"Mail"}, "card_column": {"Badge"},
		"delimiter": {";"}, "replace": {"true"}, "dry_run": {"1"}, "resume_at": {"17"}, "batch": {"50"}})
	require.NoError(t, err)
	require.Equal(t, Options{Key: KeyEmail, UserColumn: "Mail", CardColumn: "Badge", Delimiter: ';', Replace: true, DryRun: true, ResumeAt: 17, BatchSize: 50}, o)
	for q, msg := range map[string]string{
		"keys=x":        `unknown parameter "keys"`,
		"key=upn":       `key "upn" is not one of`,
		"delimiter=|":   `delimiter "|"`,
		"replace=yes":   `replace "yes"`,
		"resume_at=-1":  `resume_at "-1"`,
		"batch=x":       `batch "x"`,
		"batch=1000000": "over 10000 rows",
	} {
		v, _ := url.ParseQuery(q)
		_, err := ParseParams(v)
		require.ErrorContains(t, err, msg, q)
	}
}

func TestSummary(t *testing.T) {
	r := Result{Rows: 5, Added: 2, Unchanged: 1, Rejected: map[Reason]int{NoSuchUser: 1, BadRow: 1}}
	require.Equal(t, "5 rows read: 2 cards added, 1 unchanged, 2 rejected (1 no-such-user, 1 bad-row).\n", r.Summary())
	r = Result{Rows: 3, Unchanged: 3, Rejected: map[Reason]int{}}
	require.Contains(t, r.Summary(), "Nothing changed: every card of the file was already held by its user.")
	r = Result{Rows: 3, Added: 3, DryRun: true, Replace: true, Removed: 1, Rejected: map[Reason]int{}}
	require.Equal(t, "3 rows read: 3 cards would be added, 0 unchanged, 1 would be removed, 0 rejected.\nDry run: nothing was written.\n", r.Summary())
	r = Result{Rows: 20, Skipped: 10, Added: 20, Stopped: true, ResumeAt: 32, Error: "interrupted", Rejected: map[Reason]int{}}
	require.Contains(t, r.Summary(), "Stopped early (interrupted): every batch before line 32 is committed, nothing after it. Resume with --resume-at 32.")
	require.Contains(t, r.Summary(), "(10 before the resume line skipped)")
}

func TestPrinter(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	p := NewPrinter(&buf, true, 1000)
	p.now = func() time.Time { return now }
	now = now.Add(time.Second)
	p.Update(Progress{Line: 51, Rows: 50, Added: 50, Bytes: 250, Elapsed: 10 * time.Second})
	p.Update(Progress{Line: 52, Rows: 51}) // within 100 ms: not drawn
	p.Done()
	require.Equal(t, "\r[#######.......................]  25% 50 rows, 5 rows/s, 50 added, 0 unchanged, 0 rejected, ETA 0:30\033[K\n", buf.String())

	buf.Reset()
	p = NewPrinter(&buf, false, 0)
	p.now = func() time.Time { return now }
	p.Update(Progress{Line: 11, Rows: 10, Added: 9, Rejected: 1, Elapsed: 2 * time.Second})
	p.Done()
	require.Equal(t, "cards import: line 11: 10 rows, 5 rows/s, 9 added, 0 unchanged, 1 rejected\n", buf.String())
}

func TestPrinterWriterClearsTheBar(t *testing.T) {
	var buf bytes.Buffer
	p := NewPrinter(&buf, true, 0)
	p.Update(Progress{Rows: 1})
	_, _ = p.Writer().Write([]byte("audit line\n"))
	p.Update(Progress{Rows: 2}) // drawn again at once, below the line
	p.Done()
	require.Equal(t, "\r1 rows, 0 rows/s, 0 added, 0 unchanged, 0 rejected\033[K\r\033[Kaudit line\n\r2 rows, 0 rows/s, 0 added, 0 unchanged, 0 rejected\033[K\n", buf.String())
}

func TestMask(t *testing.T) {
	require.Equal(t, "…5678", mask("12345678"))
	require.Equal(t, "***", mask("123"))
}
