package rest

import (
	"github.com/vektah/gqlparser/v2/ast"
)

// The static analysis of a stored query against a schema that Hasura's
// OpenAPI generator reads (GraphQL/Analyse.hs): what each selected field
// is (scalar, enum or object, with its own selection) and what each
// variable is (scalar, enum or input object, with its fields). Problems
// are collected as messages in Hasura's wording, and the analysis goes on
// without the field at fault.

type infoKind int

const (
	scalarInfo infoKind = iota
	enumInfo
	objectInfo
)

// fieldInfo is a selected field.
type fieldInfo struct {
	kind infoKind
	typ  *ast.Type
	def  *ast.Definition
	sel  *selection // objectInfo
}

// selection is an object's selected fields by response key, in order.
type selection struct {
	keys   []string
	fields map[string]*fieldInfo
}

func newSelection() *selection { return &selection{fields: map[string]*fieldInfo{}} }

// varInfo is a variable of the operation.
type varInfo struct {
	name string
	typ  *ast.Type
	info *inputInfo
	def  *ast.Value // default value, if any
}

// inputInfo is an input type.
type inputInfo struct {
	kind   infoKind
	def    *ast.Definition
	fields []inputField // objectInfo
}

type inputField struct {
	name string
	typ  *ast.Type
	info *inputInfo
}

// structure is the result of the analysis.
type structure struct {
	sel  *selection
	vars []*varInfo
}

type analysis struct {
	schema *ast.Schema
	frags  map[string]*ast.FragmentDefinition
	errs   []string
	inputs map[string]*inputInfo
}

// analyseOperation analyses op of a document against schema.
func analyseOperation(schema *ast.Schema, doc *ast.QueryDocument, op *ast.OperationDefinition) (*structure, []string) {
	a := &analysis{schema: schema, frags: map[string]*ast.FragmentDefinition{}, inputs: map[string]*inputInfo{}}
	for _, f := range doc.Fragments {
		a.frags[f.Name] = f
	}
	out := &structure{sel: newSelection()}
	var root *ast.Definition
	rootName := "query_root"
	switch op.Operation {
	case ast.Mutation:
		root, rootName = schema.Mutation, "mutation_root"
	case ast.Subscription:
		root, rootName = schema.Subscription, "subscription_root"
	default:
		root = schema.Query
	}
	switch {
	case root == nil:
		a.fail("$", "type '"+rootName+"' not found in the schema")
	case root.Kind != ast.Object:
		a.fail("$", "the root type is not an object")
	default:
		out.sel = a.objectSelection(root, op.SelectionSet, "$", true, map[string]bool{})
	}
	for _, v := range op.VariableDefinitions {
		path := "$." + v.Variable
		def := schema.Types[v.Type.Name()]
		if def == nil {
			a.fail(path, "type '"+v.Type.Name()+"' not found in the schema")
			continue
		}
		info := a.input(def, path)
		if info == nil {
			continue
		}
		out.vars = append(out.vars, &varInfo{name: v.Variable, typ: v.Type, info: info, def: v.DefaultValue})
	}
	return out, a.errs
}

func (a *analysis) fail(path, msg string) { a.errs = append(a.errs, path+": "+msg) }

var typenameField = &ast.FieldDefinition{Name: "__typename", Type: ast.NonNullNamedType("String", nil)}

func (a *analysis) findField(obj *ast.Definition, name string, root bool) *ast.FieldDefinition {
	if f := obj.Fields.ForName(name); f != nil {
		return f
	}
	switch {
	case name == "__typename":
		return typenameField
	case root && name == "__schema":
		return &ast.FieldDefinition{Name: name, Type: ast.NonNullNamedType("__Schema", nil)}
	case root && name == "__type":
		return &ast.FieldDefinition{Name: name, Type: ast.NamedType("__Type", nil)}
	}
	return nil
}

// objectSelection analyses a selection set on an object type.
func (a *analysis) objectSelection(obj *ast.Definition, set ast.SelectionSet, path string, root bool, spreading map[string]bool) *selection {
	out := newSelection()
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				f := a.frags[s.Name]
				if f == nil || spreading[s.Name] {
					continue
				}
				spreading[s.Name] = true
				walk(f.SelectionSet)
				delete(spreading, s.Name)
			case *ast.Field:
				at := path + "." + s.Name
				fd := a.findField(obj, s.Name, root)
				if fd == nil {
					a.fail(at, "field '"+s.Name+"' not found in object '"+obj.Name+"'")
					continue
				}
				def := a.schema.Types[fd.Type.Name()]
				if def == nil {
					a.fail(at, "type '"+fd.Type.Name()+"' not found in the schema")
					continue
				}
				fi := a.field(fd.Type, def, s, at, spreading)
				if fi == nil {
					continue
				}
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				if prev, ok := out.fields[key]; ok {
					if merged := a.merge(key, prev, fi, at); merged != nil {
						out.fields[key] = merged
					}
					continue
				}
				out.keys = append(out.keys, key)
				out.fields[key] = fi
			}
		}
	}
	walk(set)
	return out
}

func (a *analysis) field(t *ast.Type, def *ast.Definition, f *ast.Field, path string, spreading map[string]bool) *fieldInfo {
	switch def.Kind {
	case ast.InputObject:
		a.fail(path, "input object '"+def.Name+"' cannot be used for output")
	case ast.Scalar:
		if len(f.SelectionSet) > 0 {
			a.fail(path, "scalar '"+def.Name+"' does not accept a selection set")
			return nil
		}
		return &fieldInfo{kind: scalarInfo, typ: t, def: def}
	case ast.Enum:
		if len(f.SelectionSet) > 0 {
			a.fail(path, "enum '"+def.Name+"' does not accept a selection set")
			return nil
		}
		return &fieldInfo{kind: enumInfo, typ: t, def: def}
	case ast.Object:
		if len(f.SelectionSet) == 0 {
			a.fail(path, "object of type '"+def.Name+"' must have a selection set")
			return nil
		}
		return &fieldInfo{kind: objectInfo, typ: t, def: def, sel: a.objectSelection(def, f.SelectionSet, path, false, spreading)}
	}
	return nil // unions and interfaces are not analysed, as in Hasura
}

// merge combines two selections of the same response key.
func (a *analysis) merge(key string, x, y *fieldInfo, path string) *fieldInfo {
	if x.kind != y.kind || x.typ.String() != y.typ.String() {
		a.fail(path, "field '"+key+"' seen with two different types: "+showType(x.typ)+" and "+showType(y.typ))
		return nil
	}
	if x.kind != objectInfo {
		return x
	}
	merged := *x
	merged.sel = newSelection()
	for _, s := range []*selection{x.sel, y.sel} {
		for _, k := range s.keys {
			f := s.fields[k]
			if prev, ok := merged.sel.fields[k]; ok {
				if m := a.merge(k, prev, f, path+"."+k); m != nil {
					merged.sel.fields[k] = m
				}
				continue
			}
			merged.sel.keys = append(merged.sel.keys, k)
			merged.sel.fields[k] = f
		}
	}
	return &merged
}

// showType is Hasura's Show of a GType, roughly: the GraphQL notation.
func showType(t *ast.Type) string { return t.String() }

// input analyses an input type, once per type name (input objects may
// refer to themselves).
func (a *analysis) input(def *ast.Definition, path string) *inputInfo {
	if info, ok := a.inputs[def.Name]; ok {
		return info
	}
	switch def.Kind {
	case ast.Scalar:
		info := &inputInfo{kind: scalarInfo, def: def}
		a.inputs[def.Name] = info
		return info
	case ast.Enum:
		info := &inputInfo{kind: enumInfo, def: def}
		a.inputs[def.Name] = info
		return info
	case ast.InputObject:
		info := &inputInfo{kind: objectInfo, def: def}
		a.inputs[def.Name] = info
		for _, f := range def.Fields {
			at := path + "." + f.Name
			fdef := a.schema.Types[f.Type.Name()]
			if fdef == nil {
				a.fail(at, "type '"+f.Type.Name()+"' not found in the schema")
				continue
			}
			if fi := a.input(fdef, at); fi != nil {
				info.fields = append(info.fields, inputField{name: f.Name, typ: f.Type, info: fi})
			}
		}
		return info
	case ast.Object:
		a.fail(path, "object '"+def.Name+"' cannot be used in an input type")
	case ast.Interface:
		a.fail(path, "interface '"+def.Name+"' cannot be used in an input type")
	case ast.Union:
		a.fail(path, "union '"+def.Name+"' cannot be used in an input type")
	}
	return nil
}
