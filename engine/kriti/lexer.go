package kriti

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The lexer follows Kriti's (an Alex lexer) rule for rule: the same
// tokens, the same longest-match choices, the same positions, and the
// same place for an invalid lexeme. It has four modes on a stack:
//
//	code     the template outside any {{ }}
//	expr     inside {{ }}: as code, but "}}" closes
//	string   inside "...": text, escapes, and {{ }} templates
//	literal  inside '...': raw text, only for field lookups
//
// A '"' pushes string, a '{{' pushes expr, a "'" pushes literal; the
// matching close pops. So `}}` in code is two '}', and an object literal
// ending in `}}` cannot be written inside {{ }}, as in Kriti.

type tokKind uint8

const (
	tEOF        tokKind = iota
	tIdent              // identifiers, and the keywords if elif else end null range in not
	tInt                // -?[0-9]+
	tNum                // a JSON number with a fraction or an exponent
	tBool               // true, false
	tStr                // text in a string or a '...' literal, escapes resolved
	tStrBegin           // " opening a string
	tStrEnd             // " closing it
	tQuote              // '
	tColon              // :
	tDot                // .
	tComma              // ,
	tQuestion           // ?
	tDefault            // ??
	tEq                 // ==
	tNotEq              // !=
	tGt                 // >
	tGte                // >=
	tLt                 // <
	tLte                // <=
	tAnd                // &&
	tOr                 // ||
	tUnderscore         // _
	tAssign             // :=
	tLBrace             // {
	tRBrace             // }
	tOpen               // {{
	tClose              // }}
	tLBracket           // [
	tRBracket           // ]
	tLParen             // (
	tRParen             // )
)

// symbols spells the tokens whose text is fixed.
var symbols = [...]string{
	tStrBegin: `"`, tStrEnd: `"`, tQuote: "'", tColon: ":", tDot: ".", tComma: ",",
	tQuestion: "?", tDefault: "??", tEq: "==", tNotEq: "!=", tGt: ">", tGte: ">=",
	tLt: "<", tLte: "<=", tAnd: "&&", tOr: "||", tUnderscore: "_", tAssign: ":=",
	tLBrace: "{", tRBrace: "}", tOpen: "{{", tClose: "}}", tLBracket: "[",
	tRBracket: "]", tLParen: "(", tRParen: ")",
}

type token struct {
	kind tokKind
	text string // identifiers and numbers as written, a tStr's text, "true"/"false"
	span Span
}

// spelling is how Kriti quotes a token in "Unexpected token '...'".
func (t token) spelling() string {
	switch t.kind {
	case tEOF:
		return ""
	case tStr:
		return `"` + t.text + `"`
	case tIdent, tInt, tNum, tBool:
		return t.text
	}
	return symbols[t.kind]
}

// isKeyword reports whether an identifier token is one of Kriti's
// keywords, which its grammar never takes as a name.
func (t token) isKeyword() bool {
	switch t.text {
	case "if", "elif", "else", "end", "null", "range", "in", "not":
		return true
	}
	return false
}

type mode uint8

const (
	modeCode mode = iota
	modeExpr
	modeString
	modeLiteral
)

type lexer struct {
	src   string
	off   int
	pos   Pos
	modes []mode // never empty; popping the last one leaves modeCode
	toks  []token
	// last is the span of the last token or skipped run: where Kriti
	// reports any parse error, whichever token it is about.
	last Span
}

// lex splits a template into tokens. On success it also returns the span
// that parse errors are reported at.
func lex(src string) ([]token, Span, *Error) {
	l := &lexer{src: src, pos: Pos{0, 1}, modes: []mode{modeCode}}
	l.last = Span{l.pos, l.pos}
	for l.off < len(src) {
		var err *Error
		switch m := l.modes[len(l.modes)-1]; m {
		case modeString:
			err = l.stringToken()
		case modeLiteral:
			err = l.literalToken()
		default:
			err = l.codeToken(m == modeExpr)
		}
		if err != nil {
			return nil, Span{}, err
		}
	}
	return l.toks, l.last, nil
}

// advance moves over n bytes and returns their span. Kriti's columns
// count ASCII characters only: a multi-byte character does not move the
// column.
func (l *lexer) advance(n int) Span {
	start := l.pos
	for _, c := range []byte(l.src[l.off : l.off+n]) {
		switch {
		case c == '\n':
			l.pos.Line++
			l.pos.Column = 1
		case c < utf8.RuneSelf:
			l.pos.Column++
		}
	}
	l.off += n
	l.last = Span{start, l.pos}
	return l.last
}

func (l *lexer) emit(k tokKind, n int, text string) {
	l.toks = append(l.toks, token{kind: k, text: text, span: l.advance(n)})
}

func (l *lexer) skip(n int) { l.advance(n) }

func (l *lexer) push(m mode) { l.modes = append(l.modes, m) }

func (l *lexer) pop() {
	if len(l.modes) > 1 {
		l.modes = l.modes[:len(l.modes)-1]
	} else {
		l.modes[0] = modeCode
	}
}

// invalid is Kriti's lexing error: the whole template quoted, at the
// place where no rule could go on, live is how far the longest rule
// still matching had got. (Its span's width is the template's length,
// also as in Kriti.)
func (l *lexer) invalid(live int) *Error {
	p := l.pos
	for _, c := range []byte(l.src[l.off : l.off+live]) {
		if c < utf8.RuneSelf && c != '\n' {
			p.Column++
		}
	}
	return &Error{CodeLex, "Invalid Lexeme: '" + l.src + "'", Span{p, Pos{p.Line, p.Column + len(l.src)}}}
}

func (l *lexer) at(i int) byte {
	if l.off+i < len(l.src) {
		return l.src[l.off+i]
	}
	return 0
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\v' || c == '\r'
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isIdentChar(c byte) bool { return isAlpha(c) || isDigit(c) || c == '$' || c == '_' || c == '-' }

// codeToken lexes one token (or skips blanks or a comment) in code or
// expr mode.
func (l *lexer) codeToken(expr bool) *Error {
	c := l.at(0)
	two := func(second byte, long, short tokKind) {
		if l.at(1) == second {
			l.emit(long, 2, "")
		} else {
			l.emit(short, 1, "")
		}
	}
	pair := func(k tokKind) *Error {
		if l.at(1) != c {
			return l.invalid(1)
		}
		l.emit(k, 2, "")
		return nil
	}
	switch {
	case isSpace(c):
		n := 1
		for isSpace(l.at(n)) {
			n++
		}
		l.skip(n)
	case c == '#':
		n := strings.IndexByte(l.src[l.off:], '\n')
		if n < 0 {
			n = len(l.src) - l.off
		}
		l.skip(n)
	case c == '$' || isAlpha(c):
		l.identifier()
	case c == '-' || isDigit(c):
		k, n := l.number()
		if n == 0 {
			return l.invalid(1) // a '-' that starts no number
		}
		l.emit(k, n, l.src[l.off:l.off+n])
	case c == '"':
		l.push(modeString)
		l.emit(tStrBegin, 1, "")
	case c == '\'':
		l.push(modeLiteral)
		l.emit(tQuote, 1, "")
	case c == '{':
		if l.at(1) == '{' {
			l.push(modeExpr)
			l.emit(tOpen, 2, "")
		} else {
			l.emit(tLBrace, 1, "")
		}
	case c == '}':
		if expr && l.at(1) == '}' {
			l.pop()
			l.emit(tClose, 2, "")
		} else {
			l.emit(tRBrace, 1, "")
		}
	case c == ':':
		two('=', tAssign, tColon)
	case c == '?':
		two('?', tDefault, tQuestion)
	case c == '>':
		two('=', tGte, tGt)
	case c == '<':
		two('=', tLte, tLt)
	case c == '=':
		return pair(tEq)
	case c == '&':
		return pair(tAnd)
	case c == '|':
		return pair(tOr)
	case c == '!':
		if l.at(1) != '=' {
			return l.invalid(1)
		}
		l.emit(tNotEq, 2, "")
	default:
		k, ok := singles[c]
		if !ok {
			return l.invalid(0)
		}
		l.emit(k, 1, "")
	}
	return nil
}

// identifier lexes \$?[a-zA-Z][$a-zA-Z0-9_-]*, a lone '$' (an
// identifier of its own), and true and false.
func (l *lexer) identifier() {
	n := 0
	if l.at(0) == '$' {
		n = 1
	}
	if !isAlpha(l.at(n)) {
		l.emit(tIdent, 1, "$")
		return
	}
	n++
	for isIdentChar(l.at(n)) {
		n++
	}
	text := l.src[l.off : l.off+n]
	if text == "true" || text == "false" {
		l.emit(tBool, n, text)
	} else {
		l.emit(tIdent, n, text)
	}
}

// singles are the one-character tokens that no longer token starts with.
var singles = map[byte]tokKind{'.': tDot, ',': tComma, '_': tUnderscore, '[': tLBracket, ']': tRBracket, '(': tLParen, ')': tRParen}

// number picks the longer of Kriti's two number rules at the current
// place, the integer one on a tie: -?[0-9]+ and
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. n is 0 if neither
// matches.
func (l *lexer) number() (tokKind, int) {
	digits := func(i int) int {
		for isDigit(l.at(i)) {
			i++
		}
		return i
	}
	start := 0
	if l.at(0) == '-' {
		start = 1
	}
	if !isDigit(l.at(start)) {
		return tInt, 0
	}
	intLen := digits(start)
	// The JSON rule: no leading zeros, then an optional fraction and
	// exponent, each only if complete.
	n := start + 1
	if l.at(start) != '0' {
		n = digits(start)
	}
	if l.at(n) == '.' && isDigit(l.at(n+1)) {
		n = digits(n + 1)
	}
	if c := l.at(n); c == 'e' || c == 'E' {
		e := n + 1
		if c := l.at(e); c == '+' || c == '-' {
			e++
		}
		if isDigit(l.at(e)) {
			n = digits(e)
		}
	}
	if n > intLen {
		return tNum, n
	}
	return tInt, intLen
}

// stringToken lexes inside "...": text runs, escapes (each its own
// token), a lone '{', a '{{' opening a template, or the closing quote.
func (l *lexer) stringToken() *Error {
	switch c := l.at(0); c {
	case '"':
		l.pop()
		l.emit(tStrEnd, 1, "")
	case '{':
		if l.at(1) == '{' {
			l.push(modeExpr)
			l.emit(tOpen, 2, "")
		} else {
			l.emit(tStr, 1, "{")
		}
	case '\\':
		return l.escape()
	default:
		n := strings.IndexAny(l.src[l.off:], "\\\"{")
		if n < 0 {
			n = len(l.src) - l.off
		}
		l.emit(tStr, n, l.src[l.off:l.off+n])
	}
	return nil
}

// escape lexes a backslash escape. Kriti's set is JSON's, except that
// "\/" stays a backslash and a slash, and "\{" is a brace.
func (l *lexer) escape() *Error {
	e := l.at(1)
	if s, ok := escapes[e]; ok {
		l.emit(tStr, 2, s)
		return nil
	}
	if e != 'u' {
		return l.invalid(1)
	}
	for i := 2; i < 6; i++ {
		if !isHex(l.at(i)) {
			return l.invalid(i)
		}
	}
	v, _ := strconv.ParseUint(l.src[l.off+2:l.off+6], 16, 32)
	r := rune(v)
	if !utf8.ValidRune(r) {
		r = utf8.RuneError // a lone surrogate cannot be text
	}
	l.emit(tStr, 6, string(r))
	return nil
}

var escapes = map[byte]string{'{': "{", '"': `"`, '\\': `\`, '/': `\/`, 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t"}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// literalToken lexes inside '...': raw text up to the closing quote. A
// '{' has no rule there.
func (l *lexer) literalToken() *Error {
	switch l.at(0) {
	case '\'':
		l.pop()
		l.emit(tQuote, 1, "")
	case '{':
		return l.invalid(0)
	default:
		n := strings.IndexAny(l.src[l.off:], "'{")
		if n < 0 {
			n = len(l.src) - l.off
		}
		l.emit(tStr, n, l.src[l.off:l.off+n])
	}
	return nil
}
