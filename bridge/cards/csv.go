package cards

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of what a card file may make the reader hold: a physical line of
// at most maxLine bytes (a card row is a few dozen), values of at most
// maxValue characters.
const (
	maxLine  = 64 << 10
	maxValue = 256
)

// bom is UTF-8's byte-order mark, which spreadsheet programs write first.
var bom = []byte{0xEF, 0xBB, 0xBF}

// row is one data row of the file.
type row struct {
	line       int // 1-based physical line where the row starts
	user, card string
	bad        string // why the row is unusable, "" when it is fine
}

// reader streams the rows of a card file.
type reader struct {
	csv        *csv.Reader
	userCol    int
	cardCol    int
	userName   string // the user column's name, for messages
	lastOffset int64
	prefix     int64 // bytes consumed before csv saw the input (the BOM)
}

// ErrFile is wrapped by every error about the file as a whole (its header,
// its encoding, a line too long): nothing of it was imported.
var ErrFile = errors.New("cards: unusable file")

func fileError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFile, fmt.Sprintf(format, args...))
}

// newReader reads the header and finds the two columns.
func newReader(r io.Reader, delim rune, userCol, cardCol string) (*reader, error) {
	br := bufio.NewReaderSize(&lineLimiter{r: r}, maxLine+len(bom))
	var prefix int64
	if b, _ := br.Peek(len(bom)); bytes.Equal(b, bom) {
		_, _ = br.Discard(len(bom))
		prefix = int64(len(bom))
	}
	if delim == 0 {
		head, err := br.Peek(maxLine)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, readError(err)
		}
		delim = sniff(head)
	}
	c := csv.NewReader(br)
	c.Comma = delim
	c.FieldsPerRecord = -1 // a short row is a bad row, not the end of the import
	c.ReuseRecord = true
	header, err := c.Read()
	if errors.Is(err, io.EOF) {
		return nil, fileError("the file is empty: it needs a header row naming the columns %q and %q", userCol, cardCol)
	}
	if err != nil {
		return nil, readError(err)
	}
	rd := &reader{csv: c, userCol: -1, cardCol: -1, userName: userCol, prefix: prefix}
	var names []string
	for i, h := range header {
		h = strings.TrimSpace(h)
		names = append(names, h)
		switch {
		case strings.EqualFold(h, userCol):
			if rd.userCol >= 0 {
				return nil, fileError("the header names the column %q twice", h)
			}
			rd.userCol = i
		case strings.EqualFold(h, cardCol):
			if rd.cardCol >= 0 {
				return nil, fileError("the header names the column %q twice", h)
			}
			rd.cardCol = i
		}
	}
	var missing []string
	if rd.userCol < 0 {
		missing = append(missing, fmt.Sprintf("%q (the user)", userCol))
	}
	if rd.cardCol < 0 {
		missing = append(missing, fmt.Sprintf("%q (the card number)", cardCol))
	}
	if len(missing) > 0 {
		return nil, fileError("the header (line 1, separated by %q) has no column %s; it has %s. Name the columns with the user and card column options",
			string(delim), strings.Join(missing, " and no column "), quoteAll(names))
	}
	return rd, nil
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// sniff picks the separator of the header line: the one of , and ; that
// occurs more often outside quotes (a comma when neither does).
func sniff(head []byte) rune {
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	quoted := false
	commas, semis := 0, 0
	for _, b := range head {
		switch {
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == ',':
			commas++
		case b == ';':
			semis++
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

// next returns the next row, io.EOF after the last one, or an error that
// ends the import (the file cannot be read on). A row that cannot be
// parsed is returned as a bad row.
func (rd *reader) next() (row, error) {
	for {
		rec, err := rd.csv.Read()
		var pe *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return row{}, io.EOF
		case errors.As(err, &pe) && !errors.Is(pe.Err, errLineTooLong):
			off := rd.csv.InputOffset()
			if off == rd.lastOffset {
				return row{}, readError(err) // no progress: do not spin
			}
			rd.lastOffset = off
			return row{line: pe.StartLine, bad: "not valid CSV: " + pe.Err.Error()}, nil
		case err != nil:
			return row{}, readError(err)
		}
		rd.lastOffset = rd.csv.InputOffset()
		line, _ := rd.csv.FieldPos(0)
		r := row{line: line}
		if rd.userCol >= len(rec) || rd.cardCol >= len(rec) {
			r.bad = fmt.Sprintf("the row has %d fields; the user and card columns are fields %d and %d", len(rec), rd.userCol+1, rd.cardCol+1)
			return r, nil
		}
		r.user, r.card = strings.TrimSpace(rec[rd.userCol]), strings.TrimSpace(rec[rd.cardCol])
		switch {
		case r.user == "":
			r.bad = "no " + rd.userName
		case r.card == "":
			r.bad = "no card number"
		default:
			if why := badValue(r.user); why != "" {
				r.bad = rd.userName + " " + why
			} else if why := badValue(r.card); why != "" {
				r.bad = "the card number " + why
			}
		}
		return r, nil
	}
}

// offset is how many bytes of the input have been consumed.
func (rd *reader) offset() int64 { return rd.prefix + rd.csv.InputOffset() }

// badValue says what is wrong with a value no store could keep.
func badValue(v string) string {
	if !utf8.ValidString(v) {
		return "is not valid UTF-8 (save the file as UTF-8)"
	}
	if utf8.RuneCountInString(v) > maxValue {
		return fmt.Sprintf("is longer than %d characters", maxValue)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return "holds a control character"
		}
	}
	return ""
}

func readError(err error) error {
	if errors.Is(err, errLineTooLong) {
		return fileError("%v", err)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fileError("line %d: %v", pe.StartLine, pe.Err)
	}
	return fmt.Errorf("cards: read the file: %w", err)
}

var errLineTooLong = fmt.Errorf("a line is longer than %d bytes, which no card file has", maxLine)

// lineLimiter fails a read that would make a physical line longer than
// maxLine, so that a file without line breaks cannot fill memory.
type lineLimiter struct {
	r   io.Reader
	run int // bytes since the last newline
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.run = 0
			continue
		}
		l.run++
		if l.run > maxLine {
			return 0, errLineTooLong
		}
	}
	return n, err
}
