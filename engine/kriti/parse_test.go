package kriti

import (
	"errors"
	"fmt"
	"testing"
)

// span writes a span as "line:col-line:col" for compact tables.
func (s Span) String() string {
	return fmt.Sprintf("%d:%d-%d:%d", s.Start.Line, s.Start.Column, s.End.Line, s.End.Column)
}

// Parse errors: Kriti names the token it stopped at, but reports every
// parse error at the last token (or blank run) of the template. The
// first three are Kriti's own golden parser failures.
var parseErrorCases = []struct {
	src, code, msg, span string
}{
	{"{{ $.path }\n", CodeParse, "Unexpected token '}'.", "0:12-1:1"},
	{"{ 1: null }\n", CodeParse, "Unexpected token '1'.", "0:12-1:1"},
	{"[true, ]\n", CodeParse, "Unexpected token ']'.", "0:9-1:1"},
	// Hasura's test_webhook_transform_bad_parse: "}}" outside {{ is two '}'.
	{"$body.hello }}", CodeParse, "Unexpected token '}'.", "0:14-0:15"},
	{"", CodeParse, "ParseError: Empty token stream.", "0:1-0:1"},
	{"   ", CodeParse, "ParseError: Empty token stream.", "0:1-0:4"},
	{"[1, 2", CodeParse, "ParseError: Empty token stream.", "0:5-0:6"},
	{`"abc`, CodeParse, "ParseError: Empty token stream.", "0:2-0:5"},
	// Operators do not chain; calls are not operands.
	{"{{ $x == 1 == 2 }}", CodeParse, "Unexpected token '=='.", "0:17-0:19"},
	{"{{ f(1).x }}", CodeParse, "Unexpected token '.'.", "0:11-0:13"},
	{"{{ f(1) == 1 }}", CodeParse, "Unexpected token '=='.", "0:14-0:16"},
	{"{{ 1 == f(1) }}", CodeParse, "Unexpected token '('.", "0:14-0:16"},
	// else is required.
	{"{{ if true }} 1 {{ end }}", CodeParse, "Unexpected token 'end'.", "0:24-0:26"},
	{"{{ range x := [] }} 1 {{ end }}", CodeParse, "Unexpected token ':='.", "0:30-0:32"},
	{"range", CodeParse, "Unexpected token 'range'.", "0:1-0:6"},
	{"{{ $x.in }}", CodeParse, "Unexpected token 'in'.", "0:10-0:12"},
	{"{{ null(1) }}", CodeParse, "Unexpected token '('.", "0:12-0:14"},
	// No templates in object keys.
	{`{"a{{1}}": 1}`, CodeParse, "Unexpected token '{{'.", "0:13-0:14"},
	// Inside {{ }}, "}}" closes, even in an object literal.
	{`{{ {"a": {"b": 1}} }}`, CodeParse, "Unexpected token '}}'.", "0:21-0:22"},
	{`$x['']`, CodeParse, "Unexpected token '''.", "0:6-0:7"},
	{`{"a": 1 "b": 2}`, CodeParse, `Unexpected token '"'.`, "0:15-0:16"},
	// A '...' literal runs to the next quote, "}}" included.
	{`{{ $x['a }}`, CodeParse, "ParseError: Empty token stream.", "0:8-0:12"},
	{`{{ "a" "b" }}`, CodeParse, `Unexpected token '"'.`, "0:12-0:14"},
	// A lexing error quotes the whole template, from where no rule
	// matched, with a span as wide as the template (Kriti's choice).
	{"@", CodeLex, "Invalid Lexeme: '@'", "0:1-0:2"},
	{"{{ $a = 1 }}", CodeLex, "Invalid Lexeme: '{{ $a = 1 }}'", "0:8-0:20"},
	{`"\x"`, CodeLex, `Invalid Lexeme: '"\x"'`, "0:3-0:7"},
	{`"\u12"`, CodeLex, `Invalid Lexeme: '"\u12"'`, "0:6-0:12"},
	{`$x['a{']`, CodeLex, `Invalid Lexeme: '$x['a{']'`, "0:6-0:14"},
	{"-x", CodeLex, "Invalid Lexeme: '-x'", "0:2-0:4"},
	{"[\n  @]", CodeLex, "Invalid Lexeme: '[\n  @]'", "1:3-1:9"},
	{"a & b", CodeLex, "Invalid Lexeme: 'a & b'", "0:4-0:9"},
	// Multi-byte characters do not move Kriti's column.
	{`"é" @`, CodeLex, `Invalid Lexeme: '"é" @'`, "0:4-0:10"},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrorCases {
		_, err := Parse(tc.src)
		var ke *Error
		if !errors.As(err, &ke) {
			t.Errorf("Parse(%q): got %v, want %s", tc.src, err, tc.msg)
			continue
		}
		if ke.Code != tc.code || ke.Message != tc.msg || ke.Span.String() != tc.span {
			t.Errorf("Parse(%q):\n got %s %q %s\nwant %s %q %s", tc.src, ke.Code, ke.Message, ke.Span, tc.code, tc.msg, tc.span)
		}
	}
}

func TestLexer(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		// The longer of the two number rules wins, the integer one on a tie.
		{"01.5", "int(01) . int(5)"},
		{"1.5e3 -0 1e 1. 1E+2", "num(1.5e3) int(-0) int(1) ident(e) int(1) . num(1E+2)"},
		{"true trueish $true $ $a-b_c x-1", "bool(true) ident(trueish) ident($true) ident($) ident($a-b_c) ident(x-1)"},
		{"a??b ?? ? := : == != >= <= > < && || _", "ident(a) ?? ident(b) ?? ? := : == != >= <= > < && || _"},
		// "}}" closes only inside {{ }}.
		{"{{ } }} } }}", "{{ } }} } } }"},
		{"{{{", "{{ {"},
		// Strings: escapes are tokens of their own; "\/" keeps its backslash.
		{`"a\"b\\c\/d\{e{f{{1}}\u00e9"`, `" str(a) str(") str(b) str(\) str(c) str(\/) str(d) str({) str(e) str({) str(f) {{ int(1) }} str(é) "`},
		{`'it''s'`, `' str(it) ' ' str(s) '`},
		{"# a comment\n1 # another", "int(1)"},
		{`"# not a comment"`, `" str(# not a comment) "`},
	} {
		toks, _, err := lex(tc.src)
		if err != nil {
			t.Errorf("lex(%q): %v", tc.src, err)
			continue
		}
		got := ""
		for i, tok := range toks {
			if i > 0 {
				got += " "
			}
			switch tok.kind {
			case tInt, tNum, tBool, tIdent, tStr:
				got += fmt.Sprintf("%s(%s)", map[tokKind]string{tInt: "int", tNum: "num", tBool: "bool", tIdent: "ident", tStr: "str"}[tok.kind], tok.text)
			default:
				got += tok.spelling()
			}
		}
		if got != tc.want {
			t.Errorf("lex(%q):\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestTokenSpans(t *testing.T) {
	toks, last, err := lex("{{ $a }}\n  \"é{{1}}\"")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tok := range toks {
		got = append(got, tok.span.String())
	}
	// Lines from 0, columns from 1; é (two bytes) takes no column.
	want := "[0:1-0:3 0:4-0:6 0:7-0:9 1:3-1:4 1:4-1:4 1:4-1:6 1:6-1:7 1:7-1:9 1:9-1:10]"
	if fmt.Sprint(got) != want {
		t.Errorf("spans:\n got %v\nwant %s", got, want)
	}
	if last.String() != "1:9-1:10" {
		t.Errorf("last span %s", last)
	}
}

func TestNestingLimit(t *testing.T) {
	deep := ""
	for range maxDepth + 1 {
		deep += "["
	}
	_, err := Parse(deep)
	var ke *Error
	if !errors.As(err, &ke) || ke.Message != "Template nested too deeply." {
		t.Fatalf("got %v", err)
	}
	ok := ""
	for range 1000 {
		ok += "["
	}
	for range 1000 {
		ok += "]"
	}
	if _, err := Parse(ok); err != nil {
		t.Fatalf("1000 levels: %v", err)
	}
}
