package scim

import (
	"strings"
	"unicode/utf8"
)

// Limits on filter input: a filter is a URL query parameter Entra fills
// with one or two comparisons, so these bounds only stop hostile input from
// costing memory or stack.
const (
	MaxFilterLength = 4096
	MaxFilterDepth  = 32
)

type tokenKind int

const (
	tokWord   tokenKind = iota // attribute paths, operators, bare values, and/or/not
	tokString                  // "…", raw text including the quotes
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
	tokEOF
)

type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the input, 0-based
}

// describe names a token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "the end of the text"
	case tokString:
		return "the string " + clip(t.text)
	}
	return strconvQuote(clip(t.text))
}

// lexSeparators end a word: blanks, brackets, parentheses and quotes.
const lexSeparators = " \t\n\r()[]\""

// lex splits s into tokens. It only knows about quoting and brackets, so
// that quotes, parentheses, '*' and backslashes inside a quoted value stay
// data; the meaning of words is decided by the parser.
func lex(src source) ([]token, error) {
	s := src.text
	// Entra's filters have 4 to 10 tokens: one allocation, not a series.
	toks := make([]token, 0, 8)
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == '[':
			toks = append(toks, token{tokLBrack, "[", i})
			i++
		case c == ']':
			toks = append(toks, token{tokRBrack, "]", i})
			i++
		case c == '"':
			end, err := scanString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, s[i:end], i})
			i = end
		default:
			start := i
			for i < len(s) && !strings.ContainsRune(lexSeparators, rune(s[i])) {
				i++
			}
			toks = append(toks, token{tokWord, s[start:i], start})
		}
	}
	return append(toks, token{tokEOF, "", len(s)}), nil
}

// scanString returns the offset just past the closing quote of the string
// starting at s[start].
func scanString(src source, start int) (int, error) {
	s := src.text
	i := start + 1
	for i < len(s) {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return 0, src.errorf("the string starting at position %d ends with a lone backslash; write \\\\ for a backslash", start+1)
			}
			i += 2
		case '"':
			return i + 1, nil
		default:
			i++
		}
	}
	return 0, src.errorf("the string starting at position %d has no closing double quote", start+1)
}

func isHex4(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return len(s) == 4
}

// isJSONNumber reports whether s is a number in RFC 8259 §6 syntax, the
// only numbers a filter may carry unquoted.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	switch {
	case s[i] == '0':
		i++
	case '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// clip shortens text quoted in an error detail so a hostile 4 KiB filter
// does not come back in full.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
