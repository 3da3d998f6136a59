package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"
)

// Error is one problem found in a configuration file, with the position it
// was found at. Load returns them joined with errors.Join, so a caller can
// list every problem (errors.As finds the first).
type Error struct {
	// File is the configuration file as named to Load.
	File string
	// Line and Column are 1-based positions in the file as written (before
	// ${...} expansion); 0 when the problem has no position.
	Line, Column int
	// Msg says what is wrong, starting with the key's path when there is one
	// ("tenants[1].name: ...").
	Msg string
	// Snippet shows the lines up to the position with a caret under the
	// column, taken from the file as written so that no expanded value
	// (a secret) is ever shown.
	Snippet string
	// Err is the underlying cause, if any.
	Err error
}

// Error formats as "config: FILE:LINE:COL: MSG" followed by the snippet.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Snippet != "" {
		b.WriteString("\n")
		b.WriteString(e.Snippet)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// source is the configuration file as written.
type source struct {
	name  string
	lines []string // each with its line ending
}

func newSource(name string, b []byte) *source {
	return &source{name: name, lines: strings.SplitAfter(string(b), "\n")}
}

// errorAt builds an Error at 1-based line and 0-based byte offset off of
// that line of the file as written.
func (s *source) errorAt(line, off int, msg string, cause error) *Error {
	e := &Error{File: s.name, Msg: msg, Err: cause}
	if line < 1 || len(s.lines) == 0 {
		return e
	}
	if line > len(s.lines) {
		line = len(s.lines)
	}
	text, _ := splitEOL(s.lines[line-1])
	off = max(0, min(off, len(text)))
	e.Line = line
	e.Column = utf8.RuneCountInString(text[:off]) + 1
	e.Snippet = s.snippet(line, text[:off])
	return e
}

// snippet renders up to three lines ending at line, and a caret under the
// end of prefix (the part of the line before the position).
func (s *source) snippet(line int, prefix string) string {
	var b strings.Builder
	width := len(fmt.Sprint(line))
	for n := max(1, line-2); n <= line; n++ {
		text, _ := splitEOL(s.lines[n-1])
		mark := "  "
		if n == line {
			mark = "> "
		}
		fmt.Fprintf(&b, "%s%*d | %s\n", mark, width, n, redactLine(strings.TrimRight(text, "\r")))
	}
	// The caret line repeats tabs so that it lines up under the position.
	b.WriteString(strings.Repeat(" ", width+5))
	for _, r := range prefix {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("^")
	return b.String()
}

// origOffset maps a 1-based rune column of a line of the expanded text back
// to a byte offset of the same line as written.
func (x *expansion) origOffset(line, col int) int {
	if line < 1 || line > len(x.lines) {
		return 0
	}
	text, _ := splitEOL(x.lines[line-1])
	off, n := len(text), 1
	for i := range text {
		if n == col {
			off = i
			break
		}
		n++
	}
	var edits []edit
	if line-1 < len(x.edits) {
		edits = x.edits[line-1]
	}
	delta := 0
	for _, ed := range edits {
		if off < ed.outStart {
			break
		}
		if off < ed.outEnd {
			return ed.inStart
		}
		delta = ed.inEnd - ed.outEnd
	}
	return off + delta
}

// tokenError turns an error of the YAML library into an Error positioned in
// the file as written.
func (l *loader) tokenError(err error) error {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		return &Error{File: l.src.name, Msg: l.scrub(err.Error()), Err: err}
	}
	msg := ye.GetMessage()
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = fmt.Sprintf("cannot use %s here: want %s", yamlKind(te.SrcType), yamlKind(te.DstType))
		if yamlKind(te.SrcType) == "a mapping" && yamlKind(te.DstType) == "a string" {
			// The usual cause: host:port in a flow list, [a:6379], which
			// YAML reads as {a: 6379}.
			msg += ` (quote a value that contains ':', e.g. "a:6379")`
		}
	}
	return l.errorAtToken(ye.GetToken(), l.scrub(msg), err)
}

func (l *loader) errorAtToken(tk *token.Token, msg string, cause error) *Error {
	p := tk.Position
	return l.src.errorAt(p.Line, l.exp.origOffset(p.Line, p.Column), msg, cause)
}

// yamlKind names a Go type the way a YAML author thinks of it.
func yamlKind(t reflect.Type) string {
	if t == nil {
		return "nothing"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}
