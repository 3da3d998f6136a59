package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The expansion runs on the raw text, before the YAML parser sees it: an
// unexpanded reference is not valid YAML in every place it may appear (the
// '}' of "${DIR:-data}" ends a flow mapping). To keep the YAML structure the
// author wrote whatever a value contains, it tracks just enough YAML to know
// where a reference sits: in a comment (left alone), a key (left alone), a
// double- or single-quoted scalar (the value is escaped for that style), a
// block scalar, or a plain scalar (the value is inserted as is when YAML
// would read it back unchanged, so numbers and booleans keep their type;
// otherwise the whole scalar is turned into a double-quoted one). It never
// adds a line, so line numbers stay those of the file on disk, and it records
// where a line's columns moved so positions can be reported in the original.

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// edit records that bytes [inStart,inEnd) of an original line became bytes
// [outStart,outEnd) of the expanded line.
type edit struct {
	inStart, inEnd, outStart, outEnd int
}

// expansion is the result of expanding one file.
type expansion struct {
	out []byte
	// lines of out, each with its line ending.
	lines []string
	// edits per line (index 0 is line 1), in increasing order.
	edits [][]edit
	// secrets holds every value read through ${file:...}.
	secrets []string
}

type expander struct {
	dir    string
	lookup func(string) (string, bool)
	src    *source

	lineNo int // 1-based, for error positions
	line   string
	out    strings.Builder
	edits  []edit

	flow        int  // depth of flow collections
	quote       byte // '"' or '\'' while inside a quoted scalar spanning lines
	blockParent int  // column a block scalar's content must be indented past; -1 outside one

	secrets []string
	errs    []error
}

// expand replaces ${NAME}, ${NAME:-default}, ${file:PATH} and $$ in the
// scalar values of src. dir is where relative ${file:} paths start.
func expand(src *source, dir string, lookup func(string) (string, bool)) (*expansion, error) {
	e := &expander{dir: dir, lookup: lookup, src: src, blockParent: -1}
	res := &expansion{}
	var out bytes.Buffer
	for i, raw := range src.lines {
		e.lineNo = i + 1
		content, eol := splitEOL(raw)
		e.line = content
		e.out.Reset()
		e.edits = nil
		e.scanLine()
		out.WriteString(e.out.String())
		out.WriteString(eol)
		res.edits = append(res.edits, e.edits)
	}
	if len(e.errs) > 0 {
		return nil, errors.Join(e.errs...)
	}
	res.out = out.Bytes()
	res.lines = strings.SplitAfter(out.String(), "\n")
	res.secrets = e.secrets
	return res, nil
}

func splitEOL(s string) (content, eol string) {
	switch {
	case strings.HasSuffix(s, "\r\n"):
		return s[:len(s)-2], "\r\n"
	case strings.HasSuffix(s, "\n"):
		return s[:len(s)-1], "\n"
	}
	return s, ""
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// spaceOrEnd reports whether position i of s is past the end or a blank.
func spaceOrEnd(s string, i int) bool { return i >= len(s) || isSpace(s[i]) }

func isFlowIndicator(c byte) bool {
	return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'
}

func (e *expander) errorf(col int, format string, args ...any) {
	e.errs = append(e.errs, e.src.errorAt(e.lineNo, col, fmt.Sprintf(format, args...), nil))
}

// copyRange copies bytes [from,to) of the original line unchanged.
func (e *expander) copyRange(from, to int) {
	e.out.WriteString(e.line[from:to])
}

// replace writes repl in place of the original bytes [start,end).
func (e *expander) replace(start, end int, repl string) {
	outStart := e.out.Len()
	e.out.WriteString(repl)
	e.edits = append(e.edits, edit{inStart: start, inEnd: end, outStart: outStart, outEnd: e.out.Len()})
}

func indentOf(s string) int {
	n := 0
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

// scanLine copies one line to the output, expanding references in the
// scalar values it holds.
func (e *expander) scanLine() {
	line := e.line
	if e.blockParent >= 0 {
		if strings.TrimSpace(line) == "" || indentOf(line) > e.blockParent {
			e.blockLine()
			return
		}
		e.blockParent = -1
	}
	i, copied := 0, 0
	nodeCol := -1 // column of the key or "- " that owns what follows
	if e.quote != 0 {
		i, copied = e.quoted(0, 0)
	}
	for i < len(line) {
		c := line[i]
		switch {
		case isSpace(c) || c == '\r':
			i++
		case c == '#' && (i == 0 || isSpace(line[i-1])):
			i = len(line) // a comment: copied as written
		case c == '"' || c == '\'':
			e.quote = c
			i, copied = e.quoted(i+1, copied)
		case c == '{' || c == '[':
			e.flow++
			i++
		case c == '}' || c == ']':
			if e.flow > 0 {
				e.flow--
			}
			i++
		case c == ',' && e.flow > 0:
			i++
		case (c == '-' || c == '?' || c == ':') && spaceOrEnd(line, i+1),
			c == ':' && e.flow > 0 && isFlowIndicator(line[i+1]):
			if c == '-' {
				nodeCol = i
			}
			i++
		case (c == '|' || c == '>') && e.flow == 0:
			// A block scalar header: its content is on the following lines,
			// indented past the node that owns it.
			e.blockParent = nodeCol
			if e.blockParent < 0 {
				e.blockParent = indentOf(line)
			}
			i = len(line)
		case c == '&' || c == '*' || c == '!':
			for i < len(line) && !isSpace(line[i]) && !(e.flow > 0 && isFlowIndicator(line[i])) {
				i++
			}
		default:
			end, isKey := e.plainEnd(i)
			if isKey {
				nodeCol = i
			} else if strings.Contains(line[i:end], "$") {
				e.copyRange(copied, i)
				e.plain(i, end)
				copied = end
			}
			i = max(end, i+1) // always progress, whatever the input
		}
	}
	e.copyRange(copied, len(line))
}

// refEnd returns the index just past the '}' closing the reference that
// starts at line[i] ("${"), counting nested references, or -1.
func refEnd(line string, i int) int {
	depth := 0
	for j := i; j < len(line); j++ {
		switch {
		case line[j] == '$' && j+1 < len(line) && line[j+1] == '$':
			j++
		case line[j] == '$' && j+1 < len(line) && line[j+1] == '{':
			depth++
			j++
		case line[j] == '}':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// plainEnd finds where the plain scalar starting at i ends, and whether it
// is a mapping key.
func (e *expander) plainEnd(i int) (end int, isKey bool) {
	line := e.line
	j := i
	for j < len(line) {
		c := line[j]
		if c == '$' && j+1 < len(line) && line[j+1] == '{' {
			if k := refEnd(line, j); k > 0 {
				j = k
				continue
			}
			// Unterminated: reported when the scalar is expanded.
			j = len(line)
			break
		}
		if c == '#' && j > i && isSpace(line[j-1]) {
			break
		}
		if c == ':' && (spaceOrEnd(line, j+1) || (e.flow > 0 && isFlowIndicator(line[j+1]))) {
			return j, true
		}
		if e.flow > 0 && isFlowIndicator(c) {
			break
		}
		j++
	}
	for j > i && (isSpace(line[j-1]) || line[j-1] == '\r') {
		j--
	}
	return j, false
}

// piece is a part of a scalar: literal text, or the value of a reference.
type piece struct {
	text  string
	isRef bool
}

// pieces expands the text line[start:end] into its parts. ok is false when
// a reference could not be expanded (the error is recorded).
func (e *expander) pieces(start, end int) (ps []piece, ok bool) {
	line := e.line
	ok = true
	lit := strings.Builder{}
	flush := func() {
		if lit.Len() > 0 {
			ps = append(ps, piece{text: lit.String()})
			lit.Reset()
		}
	}
	for j := start; j < end; {
		switch {
		case line[j] == '$' && j+1 < end && line[j+1] == '$':
			lit.WriteByte('$')
			j += 2
		case line[j] == '$' && j+1 < end && line[j+1] == '{':
			k := refEnd(line[:end], j)
			if k < 0 {
				e.errorf(j, "unterminated ${ (a literal $ is written $$)")
				return nil, false
			}
			v, vok := e.ref(j, line[j+2:k-1])
			if !vok {
				ok = false
			}
			flush()
			ps = append(ps, piece{text: v, isRef: true})
			j = k
		default:
			lit.WriteByte(line[j])
			j++
		}
	}
	flush()
	return ps, ok
}

// text expands nested references in a default value or a file path.
func (e *expander) text(col int, s string) (string, bool) {
	var b strings.Builder
	ok := true
	for j := 0; j < len(s); {
		switch {
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '$':
			b.WriteByte('$')
			j += 2
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '{':
			k := refEnd(s, j)
			if k < 0 {
				e.errorf(col, "unterminated ${ (a literal $ is written $$)")
				return "", false
			}
			v, vok := e.ref(col, s[j+2:k-1])
			ok = ok && vok
			b.WriteString(v)
			j = k
		default:
			b.WriteByte(s[j])
			j++
		}
	}
	return b.String(), ok
}

// ref evaluates the body of one reference found at column col.
func (e *expander) ref(col int, body string) (string, bool) {
	if p, isFile := strings.CutPrefix(body, "file:"); isFile {
		p, ok := e.text(col, p)
		if !ok {
			return "", false
		}
		if p == "" {
			e.errorf(col, "${file:} needs a path")
			return "", false
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(e.dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			e.errs = append(e.errs, e.src.errorAt(e.lineNo, col, fmt.Sprintf("read secret file: %v", err), err))
			return "", false
		}
		v := string(b)
		v = strings.TrimSuffix(v, "\n")
		v = strings.TrimSuffix(v, "\r")
		if v != "" {
			e.secrets = append(e.secrets, v)
		}
		return v, true
	}
	name, def, hasDef := strings.Cut(body, ":-")
	if !envName.MatchString(name) {
		e.errorf(col, "invalid reference ${%s}: want ${NAME}, ${NAME:-default} or ${file:PATH} (a literal $ is written $$)", body)
		return "", false
	}
	v, set := e.lookup(name)
	if hasDef {
		if set && v != "" {
			return v, true
		}
		return e.text(col, def)
	}
	if !set {
		e.errorf(col, "environment variable %s is not set (give a default with ${%s:-default})", name, name)
		return "", false
	}
	return v, true
}

// plain expands the plain scalar line[start:end].
func (e *expander) plain(start, end int) {
	ps, ok := e.pieces(start, end)
	if !ok {
		e.replace(start, end, "")
		return
	}
	var all strings.Builder
	safe := true
	for i, p := range ps {
		all.WriteString(p.text)
		if p.isRef {
			if !utf8.ValidString(p.text) {
				e.errorf(start, "value is not valid UTF-8")
				e.replace(start, end, "")
				return
			}
			if !plainSafe(p.text, i == 0, i == len(ps)-1, e.flow > 0) {
				safe = false
			}
		}
	}
	// An empty plain scalar would read as null: quote it to keep a string.
	if safe && all.Len() > 0 {
		e.replace(start, end, all.String())
		return
	}
	e.replace(start, end, `"`+dqEscape(all.String())+`"`)
}

// plainSafe reports whether v, inserted into a plain scalar, reads back as
// the same characters without changing the YAML structure around it.
// It is conservative: anything doubtful is quoted, which costs at most the
// type inference of a value that was not a number or boolean anyway.
func plainSafe(v string, atStart, atEnd, inFlow bool) bool {
	if v == "" {
		return true
	}
	if isSpace(v[0]) || isSpace(v[len(v)-1]) {
		return false
	}
	if atStart {
		switch v[0] {
		case '?', ':', '-':
			if spaceOrEnd(v, 1) {
				return false
			}
		case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
			return false
		}
	}
	if atEnd && v[len(v)-1] == ':' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return false
		case c == '#':
			return false
		case c == ':' && spaceOrEnd(v, i+1):
			return false
		case inFlow && (isFlowIndicator(c) || c == ':'):
			return false
		}
	}
	return true
}

// dqEscape escapes s for a YAML double-quoted scalar.
func dqEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			// YAML line breaks and the BOM would not survive unescaped.
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// quoted scans a quoted scalar (style e.quote) from i until its closing
// quote or the end of the line, expanding references with the escaping of
// that style. It returns where scanning stopped and how far the line has
// been copied.
func (e *expander) quoted(i, copied int) (int, int) {
	line := e.line
	for i < len(line) {
		c := line[i]
		switch {
		case e.quote == '"' && c == '\\':
			i += 2
		case e.quote == '\'' && c == '\'' && i+1 < len(line) && line[i+1] == '\'':
			i += 2
		case c == e.quote:
			e.quote = 0
			return i + 1, copied
		case c == '$' && i+1 < len(line) && (line[i+1] == '$' || line[i+1] == '{'):
			end := i + 2
			if line[i+1] == '{' {
				end = refEnd(line, i)
				if end < 0 {
					e.errorf(i, "unterminated ${ (a literal $ is written $$)")
					return len(line), copied
				}
			}
			ps, ok := e.pieces(i, end)
			e.copyRange(copied, i)
			copied = end
			if !ok {
				e.replace(i, end, "")
				i = end
				continue
			}
			v := ps[0].text
			switch {
			case !utf8.ValidString(v):
				e.errorf(i, "value is not valid UTF-8")
				v = ""
			case e.quote == '"':
				v = dqEscape(v)
			case strings.ContainsAny(v, "\r\n"):
				e.errorf(i, "value contains a line break, which a single-quoted scalar cannot hold: use double quotes or no quotes")
				v = ""
			default:
				v = strings.ReplaceAll(v, "'", "''")
			}
			e.replace(i, end, v)
			i = end
		default:
			i++
		}
	}
	return i, copied
}

// blockLine expands references in one content line of a block scalar.
func (e *expander) blockLine() {
	line := e.line
	copied := 0
	for i := 0; i < len(line); {
		if line[i] != '$' || i+1 >= len(line) || (line[i+1] != '$' && line[i+1] != '{') {
			i++
			continue
		}
		end := i + 2
		if line[i+1] == '{' {
			end = refEnd(line, i)
			if end < 0 {
				e.errorf(i, "unterminated ${ (a literal $ is written $$)")
				break
			}
		}
		ps, ok := e.pieces(i, end)
		e.copyRange(copied, i)
		copied = end
		v := ""
		if ok {
			v = ps[0].text
			if strings.ContainsAny(v, "\r\n") {
				e.errorf(i, "value contains a line break, which cannot be inserted into a block scalar: write the reference as the whole value instead (key: ${...})")
				v = ""
			}
		}
		e.replace(i, end, v)
		i = end
	}
	e.copyRange(copied, len(line))
}
