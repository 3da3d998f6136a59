package cards

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Report writes every rejected row to a CSV file (line, reason, user,
// card, detail), as an Options.OnReject, so that the rows can be fixed and
// imported again.
type Report struct {
	f   *os.File
	buf *bufio.Writer
	w   *csv.Writer
}

// CreateReport creates (or truncates) the report file, readable by its
// owner only: it holds card numbers.
func CreateReport(path string) (*Report, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cards: create the report: %w", err)
	}
	buf := bufio.NewWriter(f)
	r := &Report{f: f, buf: buf, w: csv.NewWriter(buf)}
	_ = r.w.Write([]string{"line", "reason", "user", "card", "detail"})
	return r, nil
}

// Add writes one rejected row.
func (r *Report) Add(rj Rejection) {
	_ = r.w.Write([]string{strconv.Itoa(rj.Line), string(rj.Reason), rj.User, rj.Card, rj.Detail})
}

// Close flushes and closes the file, reporting any write that failed.
func (r *Report) Close() error {
	r.w.Flush()
	err := errors.Join(r.w.Error(), r.buf.Flush(), r.f.Close())
	if err != nil {
		return fmt.Errorf("cards: write the report: %w", err)
	}
	return nil
}
