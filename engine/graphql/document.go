package graphql

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/subscriptions"
)

// Request is one GraphQL request as clients send it, over HTTP or a
// websocket.
type Request = subscriptions.Request

// operation is the request's one operation, fragments inlined (as inline
// fragments) and variables bound.
type operation struct {
	def  *ast.OperationDefinition
	vars map[string]*variable
}

// parseDocument parses the query text.
func parseDocument(query string) (*ast.QueryDocument, *errAt) {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return nil, fail("$.query", "not a valid graphql query")
	}
	return doc, nil
}

// selectOperation picks the operation to run and inlines its fragments,
// as Hasura's getSingleOperation does.
func selectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, *errAt) {
	var anon []*ast.OperationDefinition
	for _, op := range doc.Operations {
		if op.Name == "" && op.Operation == ast.Query && len(op.VariableDefinitions) == 0 && isShorthand(op) {
			anon = append(anon, op)
		}
	}
	var op *ast.OperationDefinition
	switch {
	case name != "" && len(anon) == 0:
		for _, o := range doc.Operations {
			if o.Name == name {
				op = o
			}
		}
		if op == nil {
			return nil, fail("$", "no such operation found in the document: %q", name)
		}
	case name != "":
		return nil, fail("$", "operationName cannot be used when an anonymous operation exists in the document")
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	default:
		return nil, fail("$", "exactly one operation has to be present in the document when operationName is not specified")
	}
	frags := map[string]*ast.FragmentDefinition{}
	for _, f := range doc.Fragments {
		if _, dup := frags[f.Name]; dup {
			return nil, &errAt{path: "$", msg: "multiple definitions for fragment \"" + f.Name + "\"", code: "parse-failed"}
		}
		frags[f.Name] = f
	}
	in := &inliner{defs: frags, done: map[string]*ast.InlineFragment{}}
	sel, err := in.selectionSet(op.SelectionSet, "$")
	if err != nil {
		return nil, err
	}
	out := *op
	out.SelectionSet = sel
	return &out, nil
}

// isShorthand: gqlparser gives `{ ... }` no name; Hasura counts it as the
// anonymous selection set that forbids operationName.
func isShorthand(op *ast.OperationDefinition) bool {
	return op.Position != nil && op.Position.Src != nil && strings.HasPrefix(strings.TrimSpace(op.Position.Src.Input[op.Position.Start:]), "{")
}

// inliner replaces fragment spreads by inline fragments (Hasura's
// Execute/Inline.hs), rejecting cycles and undefined fragments.
type inliner struct {
	defs  map[string]*ast.FragmentDefinition
	stack []string
	done  map[string]*ast.InlineFragment
}

func (in *inliner) selectionSet(set ast.SelectionSet, path string) (ast.SelectionSet, *errAt) {
	out := make(ast.SelectionSet, 0, len(set))
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			f := *s
			if len(s.SelectionSet) > 0 {
				sub, err := in.selectionSet(s.SelectionSet, path+".selectionSet."+s.Name)
				if err != nil {
					return nil, err
				}
				f.SelectionSet = sub
			}
			out = append(out, &f)
		case *ast.InlineFragment:
			f := *s
			sub, err := in.selectionSet(s.SelectionSet, path)
			if err != nil {
				return nil, err
			}
			f.SelectionSet = sub
			out = append(out, &f)
		case *ast.FragmentSpread:
			f, err := in.spread(s, path+".selectionSet")
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func (in *inliner) spread(s *ast.FragmentSpread, path string) (*ast.InlineFragment, *errAt) {
	withDirectives := func(f *ast.InlineFragment) *ast.InlineFragment {
		c := *f
		c.Directives = append(append(ast.DirectiveList{}, f.Directives...), s.Directives...)
		return &c
	}
	if f, ok := in.done[s.Name]; ok {
		return withDirectives(f), nil
	}
	for i, name := range in.stack {
		if name == s.Name {
			cycle := append([]string{s.Name}, in.stack[i+1:]...)
			return nil, fail(path, "the fragment definition(s) %s form a cycle", englishList(cycle))
		}
	}
	def, ok := in.defs[s.Name]
	if !ok {
		return nil, fail(path, "reference to undefined fragment %q", s.Name)
	}
	in.stack = append(in.stack, s.Name)
	sub, err := in.selectionSet(def.SelectionSet, path+"."+s.Name)
	in.stack = in.stack[:len(in.stack)-1]
	if err != nil {
		return nil, err
	}
	f := &ast.InlineFragment{TypeCondition: def.TypeCondition, SelectionSet: sub, Position: s.Position}
	in.done[s.Name] = f
	return withDirectives(f), nil
}

func englishList(xs []string) string {
	switch len(xs) {
	case 1:
		return xs[0]
	case 2:
		return xs[0] + " and " + xs[1]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + ", and " + xs[len(xs)-1]
}

// bindVariables resolves the operation's variables from the request's
// JSON, as Hasura's Execute/Resolve.hs does.
func bindVariables(op *ast.OperationDefinition, raw json.RawMessage) (map[string]*variable, *errAt) {
	given := map[string]any{}
	if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.UseNumber()
		if err := dec.Decode(&given); err != nil {
			return nil, &errAt{path: "$.variables", msg: "expected Object, but encountered " + aeson.Kind(t), code: "parse-failed"}
		}
	}
	vars := make(map[string]*variable, len(op.VariableDefinitions))
	for _, d := range op.VariableDefinitions {
		if _, dup := vars[d.Variable]; dup {
			return nil, &errAt{path: "$", msg: "multiple definitions for variable \"" + d.Variable + "\"", code: "parse-failed"}
		}
		v := &variable{def: d}
		if val, ok := given[d.Variable]; ok {
			if val == nil && d.Type.NonNull {
				return nil, fail("$", "null value found for non-nullable type: %q", d.Type.String())
			}
			v.value, v.present = val, true
		} else if d.DefaultValue != nil {
			v.value, v.present = (&coercer{}).literal(d.DefaultValue), true
		} else if d.Type.NonNull {
			return nil, fail("$", "expecting a value for non-nullable variable: %q", d.Variable)
		}
		vars[d.Variable] = v
	}
	var unexpected []string
	for name := range given {
		if _, ok := vars[name]; !ok {
			unexpected = append(unexpected, name)
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		return nil, fail("$", "unexpected variables in variableValues: %s", strings.Join(unexpected, ", "))
	}
	return vars, nil
}

// collected is one response key of a selection set: the first field seen
// for the key, with the sub-selections of every field merged.
type collected struct {
	key   string
	field *ast.Field
	sub   ast.SelectionSet
}

// collect flattens a selection set for an object type: inline fragments
// that apply to typeName (or to an interface it implements) are merged,
// @skip/@include honoured, same response keys merged.
func (c *coercer) collect(set ast.SelectionSet, typeName string, interfaces []string, path string) ([]*collected, *errAt) {
	var out []*collected
	index := map[string]*collected{}
	var walk func(ast.SelectionSet) *errAt
	walk = func(set ast.SelectionSet) *errAt {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				ok, err := c.included(s.Directives, path)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				if prev, ok := index[key]; ok {
					prev.sub = append(prev.sub, s.SelectionSet...)
					continue
				}
				cf := &collected{key: key, field: s, sub: append(ast.SelectionSet{}, s.SelectionSet...)}
				index[key] = cf
				out = append(out, cf)
			case *ast.InlineFragment:
				ok, err := c.included(s.Directives, path)
				if err != nil {
					return err
				}
				if !ok || !typeApplies(s.TypeCondition, typeName, interfaces) {
					continue
				}
				if err := walk(s.SelectionSet); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(set); err != nil {
		return nil, err
	}
	return out, nil
}

func typeApplies(cond, typeName string, interfaces []string) bool {
	if cond == "" || cond == typeName {
		return true
	}
	for _, i := range interfaces {
		if i == cond {
			return true
		}
	}
	return false
}

// included evaluates @skip and @include.
func (c *coercer) included(ds ast.DirectiveList, path string) (bool, *errAt) {
	for _, d := range ds {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		a := d.Arguments.ForName("if")
		if a == nil {
			return false, fail(path, "missing required field 'if'")
		}
		v, err := c.coerce(nnBoolean, inValue{lit: a.Value}, path+".directives."+d.Name+".args.if")
		if err != nil {
			return false, err
		}
		if b, _ := v.(bool); b == (d.Name == "skip") {
			return false, nil
		}
	}
	return true, nil
}

var nnBoolean = &ast.Type{NamedType: "Boolean", NonNull: true}
