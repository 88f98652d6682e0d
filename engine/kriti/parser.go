package kriti

import (
	"encoding/json"
	"math/big"
	"strings"
)

// The parser is a recursive descent over Kriti's grammar (an LALR one in
// Happy), accepting the same language and failing at the same token:
//
//	expr     = atom op atom | ident "(" expr ")" | "not" expr | atom
//	         | "{{" expr "}}"
//	op       = ">" | "<" | ">=" | "<=" | "!=" | "==" | "&&" | "||" | "in" | "??"
//	atom     = primary { "." ident | "[" key "]" | "?" { "." ident | "[" key "]" } }
//	key      = "'" text "'" | atom
//	primary  = ident | string | number | "true" | "false" | "null"
//	         | "[" [ expr { "," expr } ] "]"
//	         | "{" [ string ":" expr { "," string ":" expr } ] "}"
//	         | "(" expr ")" | if | range
//	if       = "{{" "if" expr "}}" expr { "{{" "elif" expr "}}" expr }
//	           "{{" "else" "}}" expr "{{" "end" "}}"
//	range    = "{{" "range" (ident | "_") "," ident ":=" expr "}}" expr
//	           "{{" "end" "}}"
//
// So operators do not chain ("a == b == c" needs parentheses), a function
// call is not an operand, and "?" makes every lookup after it optional.
// Kriti reports every parse error at the last token (or blank) of the
// template, naming the token it stopped at.

// maxDepth bounds nesting, so that a hostile template cannot exhaust the
// stack; Kriti has no such limit, but no real template comes near it.
const maxDepth = 10000

type parser struct {
	toks  []token
	i     int
	errAt Span
	depth int
}

// parseFailure carries a parse error up the recursion to parse.
type parseFailure struct{ err *Error }

func parse(src string) (root node, err *Error) {
	toks, last, lerr := lex(src)
	if lerr != nil {
		return nil, lerr
	}
	p := &parser{toks: toks, errAt: last}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(parseFailure)
			if !ok {
				panic(r)
			}
			root, err = nil, f.err
		}
	}()
	root = p.expr()
	if p.cur().kind != tEOF {
		p.fail()
	}
	return root, nil
}

func (p *parser) cur() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{kind: tEOF}
}

func (p *parser) peek() token {
	if p.i+1 < len(p.toks) {
		return p.toks[p.i+1]
	}
	return token{kind: tEOF}
}

func (p *parser) next() token {
	t := p.cur()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

// fail stops at the current token, with Kriti's message for it.
func (p *parser) fail() {
	msg := "ParseError: Empty token stream."
	if t := p.cur(); t.kind != tEOF {
		msg = "Unexpected token '" + t.spelling() + "'."
	}
	panic(parseFailure{&Error{CodeParse, msg, p.errAt}})
}

func (p *parser) expect(k tokKind) token {
	if p.cur().kind != k {
		p.fail()
	}
	return p.next()
}

func isKeyword(t token, kw string) bool { return t.kind == tIdent && t.text == kw }

func (p *parser) expectKeyword(kw string) token {
	if !isKeyword(p.cur(), kw) {
		p.fail()
	}
	return p.next()
}

// name is an identifier that is not a keyword.
func (p *parser) name() token {
	if t := p.cur(); t.kind != tIdent || t.isKeyword() {
		p.fail()
	}
	return p.next()
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		panic(parseFailure{&Error{CodeParse, "Template nested too deeply.", p.cur().span}})
	}
}

func (p *parser) leave() { p.depth-- }

// opOf names the binary operator a token is, if it is one.
func opOf(t token) (string, bool) {
	switch t.kind {
	case tGt, tLt, tGte, tLte, tNotEq, tEq, tAnd, tOr, tDefault:
		return symbols[t.kind], true
	case tIdent:
		return "in", t.text == "in"
	}
	return "", false
}

func (p *parser) expr() node {
	p.enter()
	defer p.leave()
	t := p.cur()
	switch {
	case t.kind == tOpen && !p.atBlock():
		// {{ expr }} where an expression may stand: the inner one, as is.
		p.next()
		e := p.expr()
		p.expect(tClose)
		return e
	case isKeyword(t, "not"):
		p.next()
		e := p.expr()
		return &callNode{sp: t.span.join(e.span()), name: "not", arg: e}
	case t.kind == tIdent && !t.isKeyword() && p.peek().kind == tLParen:
		p.next()
		p.next()
		arg := p.expr()
		rp := p.expect(tRParen)
		return &callNode{sp: t.span.join(rp.span), name: t.text, arg: arg}
	}
	l := p.atom()
	op, ok := opOf(p.cur())
	if !ok {
		return l
	}
	p.next()
	r := p.atom()
	return &binaryNode{sp: l.span().join(r.span()), op: op, l: l, r: r}
}

// atBlock reports whether the current "{{" opens an if or a range.
func (p *parser) atBlock() bool {
	t := p.peek()
	return isKeyword(t, "if") || isKeyword(t, "range")
}

func (p *parser) atom() node {
	p.enter()
	defer p.leave()
	var a node
	t := p.cur()
	switch t.kind {
	case tIdent:
		if isKeyword(t, "null") {
			p.next()
			a = &nullNode{t.span}
			break
		}
		p.name()
		a = &varNode{t.span, t.text}
	case tOpen:
		p.next()
		switch {
		case isKeyword(p.cur(), "if"):
			a = p.ifBlock(t)
		case isKeyword(p.cur(), "range"):
			a = p.rangeBlock(t)
		default:
			p.fail()
		}
	case tStrBegin:
		a = p.stringLiteral()
	case tInt:
		p.next()
		a = &numNode{t.span, intLiteral(t.text)}
	case tNum:
		p.next()
		a = &numNode{t.span, json.Number(t.text)}
	case tBool:
		p.next()
		a = &boolNode{t.span, t.text == "true"}
	case tLBracket:
		a = p.array()
	case tLBrace:
		a = p.object()
	case tLParen:
		p.next()
		a = p.expr() // the parentheses are not part of its span
		p.expect(tRParen)
	default:
		p.fail()
	}
	return p.lookups(a)
}

// lookups parses the field and index lookups after an atom.
func (p *parser) lookups(a node) node {
	for {
		switch p.cur().kind {
		case tDot:
			p.next()
			n := p.name()
			a = &fieldNode{sp: a.span().join(n.span), obj: a, name: n.text}
		case tLBracket:
			idx, rb := p.index()
			a = &fieldNode{sp: a.span().join(rb.span), obj: a, index: idx}
		case tQuestion:
			p.next()
			a = &optionalNode{sp: a.span(), obj: a, path: p.optionalPath()}
		default:
			return a
		}
	}
}

// optionalPath takes every lookup after a "?": Kriti's grammar shifts
// rather than ending the chain.
func (p *parser) optionalPath() []lookup {
	var path []lookup
	for {
		switch p.cur().kind {
		case tDot:
			p.next()
			path = append(path, lookup{name: p.name().text})
		case tLBracket:
			idx, _ := p.index()
			path = append(path, lookup{index: idx})
		default:
			return path
		}
	}
}

// index parses [ 'text' ] or [ atom ], returning the key and the "]".
func (p *parser) index() (node, token) {
	p.expect(tLBracket)
	var idx node
	if p.cur().kind == tQuote {
		p.next()
		s := p.expect(tStr)
		p.expect(tQuote)
		idx = &strNode{s.span, s.text}
	} else {
		idx = p.atom()
	}
	return idx, p.expect(tRBracket)
}

func (p *parser) ifBlock(open token) node {
	p.expectKeyword("if")
	n := &ifNode{cond: p.expr()}
	p.expect(tClose)
	n.then = p.expr()
	for {
		p.expect(tOpen)
		if kw := p.cur(); isKeyword(kw, "elif") {
			p.next()
			cond := p.expr()
			p.expect(tClose)
			n.elifs = append(n.elifs, elifNode{sp: kw.span.join(cond.span()), cond: cond, then: p.expr()})
			continue
		}
		p.expectKeyword("else")
		p.expect(tClose)
		n.els = p.expr()
		p.expect(tOpen)
		p.expectKeyword("end")
		n.sp = open.span.join(p.expect(tClose).span)
		return n
	}
}

func (p *parser) rangeBlock(open token) node {
	p.expectKeyword("range")
	n := &rangeNode{}
	if p.cur().kind == tUnderscore {
		p.next()
	} else {
		n.index = p.name().text
	}
	p.expect(tComma)
	n.elem = p.name().text
	p.expect(tAssign)
	n.over = p.expr()
	p.expect(tClose)
	n.body = p.expr()
	p.expect(tOpen)
	p.expectKeyword("end")
	n.sp = open.span.join(p.expect(tClose).span)
	return n
}

func (p *parser) stringLiteral() node {
	begin := p.expect(tStrBegin)
	n := &tmplNode{}
	for {
		switch t := p.cur(); t.kind {
		case tStr:
			p.next()
			n.parts = append(n.parts, &strNode{t.span, t.text})
		case tOpen:
			p.next()
			n.parts = append(n.parts, p.expr())
			p.expect(tClose)
		default:
			n.sp = begin.span.join(p.expect(tStrEnd).span)
			return n
		}
	}
}

func (p *parser) array() node {
	open := p.expect(tLBracket)
	n := &arrayNode{}
	if p.cur().kind != tRBracket {
		for {
			n.elems = append(n.elems, p.expr())
			if p.cur().kind != tComma {
				break
			}
			p.next()
		}
	}
	n.sp = open.span.join(p.expect(tRBracket).span)
	return n
}

func (p *parser) object() node {
	open := p.expect(tLBrace)
	n := &objectNode{fields: map[string]node{}}
	if p.cur().kind != tRBrace {
		for {
			p.expect(tStrBegin)
			var key strings.Builder
			for p.cur().kind == tStr {
				key.WriteString(p.next().text)
			}
			p.expect(tStrEnd)
			p.expect(tColon)
			v := p.expr()
			if _, dup := n.fields[key.String()]; !dup {
				n.fields[key.String()] = v
			}
			if p.cur().kind != tComma {
				break
			}
			p.next()
		}
	}
	n.sp = open.span.join(p.expect(tRBrace).span)
	return n
}

// intLiteral is an integer token's value as Kriti reads it: into a
// 64-bit Int, wrapping around on overflow as Haskell's read does.
func intLiteral(text string) json.Number {
	v, ok := new(big.Int).SetString(text, 10)
	if !ok {
		return "0"
	}
	if v.IsInt64() {
		return json.Number(v.String())
	}
	mod := new(big.Int).Lsh(big.NewInt(1), 64)
	v.Mod(v, mod)
	if v.Cmp(new(big.Int).Lsh(big.NewInt(1), 63)) >= 0 {
		v.Sub(v, mod)
	}
	return json.Number(v.String())
}
