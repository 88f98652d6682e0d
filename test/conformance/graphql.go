package main

import (
	"errors"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"
)

// GraphQL text helpers. Documents are parsed without a schema: the runner
// only needs their shape, and the engine under test does the validating.

// responseNames collects the response name (alias, else field name) of
// every field in the document, fragments included; false when it does not
// parse. See orderRule.
func responseNames(query string) (map[string]bool, bool) {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil || doc == nil {
		return nil, false
	}
	names := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(ss ast.SelectionSet) {
		for _, s := range ss {
			switch s := s.(type) {
			case *ast.Field:
				name := s.Alias
				if name == "" {
					name = s.Name
				}
				names[name] = true
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				// its definition is walked below
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		walk(f.SelectionSet)
	}
	return names, true
}

// multiFieldsDirective lets a subscription have several root fields, which
// Hasura's runner needs to replay a query as a subscription.
const multiFieldsDirective = "@_multiple_top_level_fields"

// toSubscription turns a query into the subscription the "subscription"
// transport sends: `query Name($v: T) {` becomes
// `subscription Name($v: T) @_multiple_top_level_fields {`, and an anonymous
// `{ ... }` becomes `subscription @_multiple_top_level_fields { ... }`.
// The operation rewritten is the one named operationName, else the first.
//
// The directive goes right before the operation's selection set, found with
// the lexer so braces in variable defaults or comments do not mislead it.
// A document that does not parse gets Hasura's runner's textual rewrite
// (first "query" and first "{"), and the engine reports the parse error.
func toSubscription(query, operationName string) (string, error) {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil || doc == nil || len(doc.Operations) == 0 {
		return textualSubscription(query), nil
	}
	op := doc.Operations[0]
	if operationName != "" {
		if named := doc.Operations.ForName(operationName); named != nil {
			op = named
		}
	}
	if op.Operation != ast.Query {
		return "", errors.New("the subscription transport needs a query operation, got a " + string(op.Operation))
	}
	if op.Position == nil {
		return textualSubscription(query), nil
	}
	runes := []rune(query)
	start := op.Position.Start
	brace := selectionSetStart(query, start)
	if start < 0 || brace < start || brace >= len(runes) {
		return textualSubscription(query), nil
	}
	head := string(runes[:start])
	if runes[start] == '{' { // anonymous shorthand
		return head + "subscription " + multiFieldsDirective + " " + string(runes[start:]), nil
	}
	if !strings.HasPrefix(string(runes[start:]), "query") {
		return textualSubscription(query), nil
	}
	mid := strings.TrimRight(string(runes[start+len("query"):brace]), " \t\r\n,")
	return head + "subscription" + mid + " " + multiFieldsDirective + " " + string(runes[brace:]), nil
}

// selectionSetStart is the rune offset of the first "{" at parenthesis
// depth 0 from rune offset start on: the operation's selection set.
func selectionSetStart(query string, start int) int {
	lx := lexer.New(&ast.Source{Input: query})
	depth := 0
	for {
		tok, err := lx.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return -1
		}
		if tok.Pos.Start < start {
			continue
		}
		switch tok.Kind {
		case lexer.ParenL:
			depth++
		case lexer.ParenR:
			depth--
		case lexer.BraceL:
			if depth == 0 {
				return tok.Pos.Start
			}
		}
	}
}

// textualSubscription is Hasura's runner's own rewrite, for documents we
// cannot parse.
func textualSubscription(query string) string {
	trimmed := strings.TrimLeft(query, " \t\r\n")
	lead := query[:len(query)-len(trimmed)]
	switch {
	case strings.HasPrefix(trimmed, "query"):
		rest := "subscription" + trimmed[len("query"):]
		return lead + strings.Replace(rest, "{", " "+multiFieldsDirective+" {", 1)
	case strings.HasPrefix(trimmed, "{"):
		return lead + "subscription " + multiFieldsDirective + " " + trimmed
	}
	return query
}
