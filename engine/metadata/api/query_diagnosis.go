package api

// The static check of a saved query against a GraphQL schema, as Hasura's
// schema cache runs it on every query of every collection: pick the one
// operation and inline its fragments (getSingleOperation), then walk the
// selection and the variables against the schema (Hasura.GraphQL.Analyse's
// diagnoseGraphQLQuery), with Hasura's messages and paths.
//
// This is deliberately not full GraphQL validation: Hasura checks that
// fields and types exist and that selection sets fit their types, not
// arguments, and a saved query it accepts must stay consistent here.

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// diagnoseQuery returns what is wrong with doc against schema, in the
// order Hasura's message lists it (the last problem found first); nil
// when the query fits.
func diagnoseQuery(schema *ast.Schema, doc *ast.QueryDocument) []string {
	op, frags, msg := singleOperation(doc)
	if msg != "" {
		return []string{msg}
	}
	a := &analysis{schema: schema, frags: frags, inputs: map[string]bool{}}
	a.operation(op)
	slices.Reverse(a.errs)
	return a.errs
}

// singleOperation is getSingleOperation without an operation name: the
// document's one operation, and its fragments once every spread it makes
// is known to resolve without a cycle.
func singleOperation(doc *ast.QueryDocument) (*ast.OperationDefinition, map[string]*ast.FragmentDefinition, string) {
	if len(doc.Operations) != 1 {
		return nil, nil, "exactly one operation has to be present in the document when operationName is not specified"
	}
	frags := map[string]*ast.FragmentDefinition{}
	for _, f := range doc.Fragments {
		if _, dup := frags[f.Name]; dup {
			return nil, nil, `multiple definitions for fragment "` + f.Name + `"`
		}
		frags[f.Name] = f
	}
	c := &fragmentCheck{defs: frags, done: map[string]bool{}}
	if msg := c.selectionSet(doc.Operations[0].SelectionSet); msg != "" {
		return nil, nil, msg
	}
	return doc.Operations[0], frags, ""
}

// fragmentCheck follows fragment spreads in the order Hasura inlines
// them, to fail as it does on the first undefined fragment or cycle.
type fragmentCheck struct {
	defs  map[string]*ast.FragmentDefinition
	stack []string        // fragments being inlined, outermost first
	done  map[string]bool // inlined already: not followed again
}

func (c *fragmentCheck) selectionSet(set ast.SelectionSet) string {
	for _, s := range set {
		var msg string
		switch s := s.(type) {
		case *ast.Field:
			msg = c.selectionSet(s.SelectionSet)
		case *ast.InlineFragment:
			msg = c.selectionSet(s.SelectionSet)
		case *ast.FragmentSpread:
			msg = c.spread(s.Name)
		}
		if msg != "" {
			return msg
		}
	}
	return ""
}

func (c *fragmentCheck) spread(name string) string {
	if c.done[name] {
		return ""
	}
	if i := slices.Index(c.stack, name); i >= 0 {
		return "the fragment definition(s) " + englishList(append([]string{name}, c.stack[i+1:]...)) + " form a cycle"
	}
	def, ok := c.defs[name]
	if !ok {
		return `reference to undefined fragment "` + name + `"`
	}
	c.stack = append(c.stack, name)
	msg := c.selectionSet(def.SelectionSet)
	c.stack = c.stack[:len(c.stack)-1]
	c.done[name] = msg == ""
	return msg
}

// englishList joins names as Hasura's englishList "and" does.
func englishList(xs []string) string {
	switch len(xs) {
	case 1:
		return xs[0]
	case 2:
		return xs[0] + " and " + xs[1]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + ", and " + xs[len(xs)-1]
}

// analysis walks one operation, recording every problem it can recover
// from: a field that fails is left out and its siblings are still checked.
type analysis struct {
	schema *ast.Schema
	frags  map[string]*ast.FragmentDefinition
	errs   []string
	inputs map[string]bool // input types already walked (they may recurse)
}

// diagnosis is a problem at a path ("$", then field or variable names).
type diagnosis struct {
	path []string
	msg  string
}

func (a *analysis) record(d *diagnosis) {
	a.errs = append(a.errs, strings.Join(d.path, ".")+": "+d.msg)
}

func problem(path []string, msg string) *diagnosis { return &diagnosis{path: path, msg: msg} }

var rootTypes = map[ast.Operation]string{ast.Query: "query_root", ast.Mutation: "mutation_root", ast.Subscription: "subscription_root"}

func (a *analysis) operation(op *ast.OperationDefinition) {
	root := []string{"$"}
	name := rootTypes[op.Operation]
	switch def := a.schema.Types[name]; {
	case def == nil:
		a.record(problem(root, typeNotFound(name)))
	case def.Kind != ast.Object:
		a.record(problem(root, "the root type is not an object"))
	default:
		if _, d := a.objectSelection(def, op.SelectionSet, root); d != nil {
			a.record(d)
		}
	}
	for _, v := range op.VariableDefinitions {
		path := []string{"$", v.Variable}
		base := v.Type.Name()
		def := a.schema.Types[base]
		if def == nil {
			a.record(problem(path, typeNotFound(base)))
			continue
		}
		if d := a.inputType(def, path); d != nil {
			a.record(d)
		}
	}
}

// fieldInfo is what a selected field is: its type, and for an object
// what is selected in it.
type fieldInfo struct {
	typ  *ast.Type
	kind ast.DefinitionKind // Scalar, Enum or Object
	sel  *selection
}

// selection maps response keys to their fields, in the order selected.
type selection struct {
	keys   []string
	fields map[string]*fieldInfo
}

func newSelection() *selection { return &selection{fields: map[string]*fieldInfo{}} }

func (s *selection) put(key string, f *fieldInfo) {
	if _, ok := s.fields[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.fields[key] = f
}

// objectSelection checks a selection set against an object type. A field
// that fails is recorded and left out; a key selected twice with
// different types fails the whole set.
func (a *analysis) objectSelection(obj *ast.Definition, set ast.SelectionSet, path []string) (*selection, *diagnosis) {
	out := newSelection()
	for _, s := range set {
		sel := a.selectionOf(obj, s, path)
		if sel == nil {
			continue
		}
		if d := a.union(out, sel, path); d != nil {
			return nil, d
		}
	}
	return out, nil
}

// selectionOf checks one selection. Fragments (inline or spread) are
// checked against obj whatever their type condition, as Hasura does, and
// their fields are kept side by side without being merged.
func (a *analysis) selectionOf(obj *ast.Definition, s ast.Selection, path []string) *selection {
	var inner ast.SelectionSet
	switch s := s.(type) {
	case *ast.Field:
		fpath := append(slices.Clip(path), s.Name)
		f, d := a.field(obj, s, fpath)
		if d != nil {
			a.record(d)
			return nil
		}
		if f == nil {
			return nil
		}
		key := s.Alias
		if key == "" {
			key = s.Name
		}
		sel := newSelection()
		sel.put(key, f)
		return sel
	case *ast.InlineFragment:
		inner = s.SelectionSet
	case *ast.FragmentSpread:
		inner = a.frags[s.Name].SelectionSet // resolved by singleOperation
	}
	var out *selection
	for _, s := range inner {
		sel := a.selectionOf(obj, s, path)
		if sel == nil {
			continue
		}
		if out == nil {
			out = newSelection()
		}
		for _, k := range sel.keys {
			if _, ok := out.fields[k]; !ok {
				out.put(k, sel.fields[k])
			}
		}
	}
	return out
}

// union adds b's fields to a, merging the keys both select.
func (a *analysis) union(dst, b *selection, path []string) *diagnosis {
	for _, k := range b.keys {
		f := b.fields[k]
		if prev, ok := dst.fields[k]; ok {
			merged, d := a.merge(k, prev, f, path)
			if d != nil {
				return d
			}
			f = merged
		}
		dst.put(k, f)
	}
	return nil
}

func (a *analysis) merge(key string, f1, f2 *fieldInfo, path []string) (*fieldInfo, *diagnosis) {
	if f1.kind != f2.kind || f1.typ.String() != f2.typ.String() {
		return nil, problem(path, "field '"+key+"' seen with two different types: "+showGType(f1.typ)+" and "+showGType(f2.typ))
	}
	if f1.kind != ast.Object {
		return f1, nil
	}
	merged := newSelection()
	for _, k := range f1.sel.keys {
		merged.put(k, f1.sel.fields[k])
	}
	if d := a.union(merged, f2.sel, path); d != nil {
		return nil, d
	}
	return &fieldInfo{typ: f1.typ, kind: ast.Object, sel: merged}, nil
}

// field checks one field of obj; nil info (and no diagnosis) for a field
// of an interface or union type, which Hasura does not analyse.
func (a *analysis) field(obj *ast.Definition, f *ast.Field, path []string) (*fieldInfo, *diagnosis) {
	def := fieldDefinition(obj, f.Name)
	if def == nil {
		return nil, problem(path, "field '"+f.Name+"' not found in object '"+obj.Name+"'")
	}
	base := def.Type.Name()
	td := a.schema.Types[base]
	if td == nil {
		return nil, problem(path, typeNotFound(base))
	}
	switch td.Kind {
	case ast.InputObject:
		return nil, problem(path, "input object '"+td.Name+"' cannot be used for output")
	case ast.Scalar, ast.Enum:
		if len(f.SelectionSet) > 0 {
			return nil, problem(path, strings.ToLower(string(td.Kind))+" '"+td.Name+"' does not accept a selection set")
		}
		return &fieldInfo{typ: def.Type, kind: td.Kind}, nil
	case ast.Object:
		if len(f.SelectionSet) == 0 {
			return nil, problem(path, "object of type '"+td.Name+"' must have a selection set")
		}
		sel, d := a.objectSelection(td, f.SelectionSet, path)
		if d != nil {
			return nil, d
		}
		return &fieldInfo{typ: def.Type, kind: ast.Object, sel: sel}, nil
	}
	return nil, nil
}

// fieldDefinition finds a field of obj, or one of the fields every object
// (__typename) or every root (__schema, __type) has without listing it.
func fieldDefinition(obj *ast.Definition, name string) *ast.FieldDefinition {
	if fd := obj.Fields.ForName(name); fd != nil {
		return fd
	}
	system := map[string]string{"__typename": "String"}
	if slices.Contains([]string{"query_root", "mutation_root", "subscription_root"}, obj.Name) {
		system["__schema"], system["__type"] = "__Schema", "__Type"
	}
	if t, ok := system[name]; ok {
		return &ast.FieldDefinition{Name: name, Type: ast.NonNullNamedType(t, nil)}
	}
	return nil
}

// inputType checks a variable's type, and the types of an input object's
// fields, each input type once.
func (a *analysis) inputType(def *ast.Definition, path []string) *diagnosis {
	if a.inputs[def.Name] {
		return nil
	}
	switch def.Kind {
	case ast.Object:
		return problem(path, "object '"+def.Name+"' cannot be used in an input type")
	case ast.Interface:
		return problem(path, "interface '"+def.Name+"' cannot be used in an input type")
	case ast.Union:
		return problem(path, "union '"+def.Name+"' cannot be used in an input type")
	}
	a.inputs[def.Name] = true
	if def.Kind != ast.InputObject {
		return nil
	}
	for _, f := range def.Fields {
		fpath := append(slices.Clip(path), f.Name)
		base := f.Type.Name()
		td := a.schema.Types[base]
		if td == nil {
			a.record(problem(fpath, typeNotFound(base)))
			continue
		}
		if d := a.inputType(td, fpath); d != nil {
			a.record(d)
		}
	}
	return nil
}

func typeNotFound(name string) string { return "type '" + name + "' not found in the schema" }

// showGType prints a type as Haskell's derived Show of Hasura's GType
// does, which is how its mismatch message shows types.
func showGType(t *ast.Type) string {
	null := "(Nullability {unNullability = " + map[bool]string{true: "False", false: "True"}[t.NonNull] + "})"
	if t.Elem != nil {
		return "TypeList " + null + " (" + showGType(t.Elem) + ")"
	}
	return "TypeNamed " + null + " (Name {unName = " + strconv.Quote(t.NamedType) + "})"
}
