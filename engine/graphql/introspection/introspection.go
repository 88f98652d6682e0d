// Package introspection answers the GraphQL introspection fields `__schema`
// and `__type(name:)` over a gqlparser *ast.Schema, byte for byte the way
// Hasura GraphQL Engine v2 does (server/src-lib/Hasura/GraphQL/Schema/
// Introspect.hs, with the parser combinators of server/lib/schema-parsers).
// The engine builds the ast.Schema of a role; this package only resolves.
//
// # Two phases, like Hasura
//
// Hasura parses the introspection selection set once into a "printer" and
// only then applies it to the schema, so every error in the selection is
// reported even where the result would not visit it (`fields { bogus }` on a
// scalar, a selection under a type that does not exist, `types { … }` of an
// empty list). This package does the same: a selection set is compiled into a
// plan (fragments flattened, fields merged, arguments parsed and checked),
// then the plan is run over the schema, writing JSON straight into a byte
// slice. Errors carry Hasura's messages and paths (the field name, not the
// alias, is the path segment, as in Hasura's withKey):
//
//	field 'x' not found in type: '__Type'                      <p>.selectionSet.x
//	missing selection set for '__Type'                         <p>.selectionSet
//	unexpected subselection set for non-object field           <p>.selectionSet.name
//	'name' has no argument named 'x'                           <p>.selectionSet.name
//	selection of both 'a' and 'b' specify the same response name, 'k'   <p>.selectionSet
//	inconsistent arguments between multiple selections of field 'f'     <p>.selectionSet
//	expected a boolean for type 'Boolean', but found a string  <p>.args.includeDeprecated
//	missing required field 'name'                              <p>.args.name
//
// Fields with the same response key are merged in first-seen order (Hasura's
// InsOrdHashMap keeps the first position); an inline fragment applies when
// its type condition is empty or the object type's own name, any other
// condition is silently ignored (Hasura's flattenSelectionSet returns []).
// `__typename` is answered on every object, whatever its arguments.
//
// # Ordering and shape rules taken from Hasura
//
//   - __Schema.types: Hasura collects the types into a HashMap
//     (collectTypeDefinitions) but prints `sortOn getName (HashMap.elems …)`,
//     so the list is sorted by name, by code point: upper case, then `__…`,
//     then lower case. Every entry of s.Types is listed.
//   - __Schema.directives: Hasura lists its static directivesInfo in the
//     order include, skip, cached. s.Directives is a map, so those three
//     come first in that order, then any others sorted by name.
//   - __Schema.description is always null in Hasura (s.Description is
//     printed when non-empty, which a Hasura-like schema never sets).
//   - Every other list is by name too. Hasura's Definition smart
//     constructors (schema-parsers Parser/Schema/Definition.hs: the
//     ObjectInfo, InterfaceInfo, UnionInfo, InputObjectInfo and TIEnum
//     pattern synonyms) sort object and interface fields, an object's
//     interfaces, possible types, union members, input fields and enum
//     values with `sortOn dName`, and Introspect.hs sorts __Field.args. So
//     they are printed sorted (stably, by byte order) whatever the order in
//     the ast.Schema, copying a list only when it is not sorted already.
//     The one exception is __Directive.args, in definition order (cached:
//     ttl, refresh).
//   - interfaces is a list (possibly []) for OBJECT only and null for every
//     other kind, INTERFACE included; possibleTypes is a list for INTERFACE
//     (the objects in s.PossibleTypes, or if it has no entry the objects
//     declaring the interface) and UNION; fields for OBJECT and INTERFACE;
//     enumValues for ENUM; inputFields for INPUT_OBJECT; all null otherwise
//     and on wrapping types.
//   - A NON_NULL wrapper of a named type has the named type's description
//     (Hasura matches `TNamed _ (Definition _ (Just desc) …)` for either
//     nullability); its name is null. LIST has neither.
//   - __Type has no specifiedByURL and no isOneOf in Hasura: asking for them
//     is the "not found in type" error, as it is there.
//   - includeDeprecated (Boolean, default false; null or an absent variable
//     mean false) is accepted on fields and enumValues. Hasura ignores it
//     and never deprecates anything; here a definition carrying @deprecated
//     is deprecated (isDeprecated true, deprecationReason from
//     @deprecated(reason:), "No longer supported" by default) and is left
//     out unless includeDeprecated is true. Without @deprecated in the
//     schema this is exactly Hasura's output.
//   - defaultValue is the default printed as GraphQL source by Hasura's
//     printer (graphql-parser's Printer.value with the Text.Builder
//     instance): ints in decimal, floats as Haskell shows a Scientific
//     (1.5, 100.0, 0.5, 1.0e-2, 1.2345678e8), strings quoted as aeson
//     encodes them (\" \\ \n \r \t, other control characters \u00xx; the
//     block-string branch can never fire because '\n' is itself a control
//     character), lists as [a,b], objects as {a: 1,b: 2}, enums and
//     booleans bare. Hasura orders object fields by its HashMap; here they
//     keep source order (no Hasura default value has two fields).
//   - The `__schema` and `__type` fields gqlparser's validator appends to the
//     query type are not listed among its fields (Hasura hides them).
//
// JSON strings are escaped like encoding/json without HTML escaping (the
// rest of the engine's convention, engine/aeson): `<`, `>` and `&` stay
// literal.
//
// # What the schema must hold for Hasura's output
//
// Everything listed comes from the ast.Schema, so it is the builder's job
// to put there exactly what Hasura's collectTypeDefinitions would find:
// the types reachable from the roots, from the directives' arguments
// (Boolean, Int) and from the `__schema`/`__type` fields — Hasura's own
// introspection types, which are not the spec's: no descriptions, no
// __DirectiveLocation, and every field typed after Hasura's parsers:
//
//	type __Schema { description: String! types: __Type queryType: __Type
//	  mutationType: __Type subscriptionType: __Type directives: __Directive }
//	type __Type { kind: __TypeKind! name: String! description: String!
//	  fields(includeDeprecated: Boolean = false): __Field interfaces: __Type
//	  possibleTypes: __Type enumValues(includeDeprecated: Boolean = false): __EnumValue
//	  inputFields: __InputValue ofType: __Type }
//	enum __TypeKind { ENUM INPUT_OBJECT INTERFACE LIST NON_NULL OBJECT SCALAR UNION }
//	type __Field { name: String! description: String! args: __InputValue
//	  type: __Type isDeprecated: String! deprecationReason: String! }
//	type __InputValue { name: String! description: String! type: __Type defaultValue: String! }
//	type __EnumValue { name: String! description: String! isDeprecated: String!
//	  deprecationReason: String! }
//	type __Directive { name: String! description: String! locations: String!
//	  args: __InputValue isRepeatable: Boolean! }
//
// and s.Directives should be include and skip (if: Boolean!, on FIELD,
// FRAGMENT_SPREAD, INLINE_FRAGMENT, described "whether this query should be
// included" / "… skipped") and cached ("whether this query should be cached
// (Hasura Cloud only)", on QUERY, ttl: Int! = 60 "measured in seconds",
// refresh: Boolean! = false "refresh the cache entry"), nothing else.
package introspection

import (
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Error is a field error: Hasura reports it with code validation-failed and this path
// (e.g. "$.selectionSet.__schema.selectionSet.types.selectionSet.foo").
type Error struct{ Path, Message string }

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Schema resolves a `__schema` field: f.SelectionSet is the selection on __Schema. path is
// the JSON path of f (e.g. "$.selectionSet.__schema") for errors.
func Schema(s *ast.Schema, f *ast.Field, vars map[string]any, path string) ([]byte, *Error) {
	c := compiler{vars: vars, base: path}
	if err := c.noArgs(f.Name, f.Arguments, nil); err != nil {
		return nil, err
	}
	p, err := c.compile(objSchema, f.SelectionSet)
	if err != nil {
		return nil, err
	}
	e := exec{s: s, keys: c.keys}
	e.get()
	e.schema(p)
	return e.finish(), nil
}

// Type resolves a `__type(name: String!)` field; null when no such type.
func Type(s *ast.Schema, f *ast.Field, vars map[string]any, path string) ([]byte, *Error) {
	c := compiler{vars: vars, base: path}
	if err := c.noArgs(f.Name, f.Arguments, argsName); err != nil {
		return nil, err
	}
	name, err := c.nameArg(f.Arguments)
	if err != nil {
		return nil, err
	}
	p, err := c.compile(objType, f.SelectionSet)
	if err != nil {
		return nil, err
	}
	def := s.Types[name]
	if def == nil {
		return []byte("null"), nil
	}
	e := exec{s: s, keys: c.keys}
	e.get()
	e.typ(p, typeRef{def: def})
	return e.finish(), nil
}

// obj is one of the introspection object types.
type obj uint8

const (
	objSchema obj = iota
	objType
	objField
	objInputValue
	objEnumValue
	objDirective
)

var objNames = [...]string{"__Schema", "__Type", "__Field", "__InputValue", "__EnumValue", "__Directive"}

// typenameJSON is objNames, JSON-quoted.
var typenameJSON = [...]string{`"__Schema"`, `"__Type"`, `"__Field"`, `"__InputValue"`, `"__EnumValue"`, `"__Directive"`}

// fieldID names a field of an introspection object. The same id is shared
// by the objects that have a field of that name.
type fieldID uint8

const (
	fTypename fieldID = iota
	fName
	fDescription
	// __Schema
	fTypes
	fQueryType
	fMutationType
	fSubscriptionType
	fDirectives
	// __Type
	fKind
	fFields
	fInterfaces
	fPossibleTypes
	fEnumValues
	fInputFields
	fOfType
	// __Field, __InputValue, __EnumValue, __Directive
	fArgs
	fType
	fIsDeprecated
	fDeprecationReason
	fDefaultValue
	fLocations
	fIsRepeatable
)

// fieldSpec describes a field: its id, whether it has a selection set (and
// on which object), and whether it takes includeDeprecated.
type fieldSpec struct {
	id         fieldID
	object     bool
	sub        obj
	deprecated bool // takes includeDeprecated
}

func leaf(id fieldID) fieldSpec          { return fieldSpec{id: id} }
func object(id fieldID, o obj) fieldSpec { return fieldSpec{id: id, object: true, sub: o} }

// lookupField returns the field name of object o, as Hasura defines the
// introspection selection sets (Introspect.hs).
func lookupField(o obj, name string) (fieldSpec, bool) {
	switch o {
	case objSchema:
		switch name {
		case "description":
			return leaf(fDescription), true
		case "types":
			return object(fTypes, objType), true
		case "queryType":
			return object(fQueryType, objType), true
		case "mutationType":
			return object(fMutationType, objType), true
		case "subscriptionType":
			return object(fSubscriptionType, objType), true
		case "directives":
			return object(fDirectives, objDirective), true
		}
	case objType:
		switch name {
		case "kind":
			return leaf(fKind), true
		case "name":
			return leaf(fName), true
		case "description":
			return leaf(fDescription), true
		case "fields":
			return fieldSpec{id: fFields, object: true, sub: objField, deprecated: true}, true
		case "interfaces":
			return object(fInterfaces, objType), true
		case "possibleTypes":
			return object(fPossibleTypes, objType), true
		case "enumValues":
			return fieldSpec{id: fEnumValues, object: true, sub: objEnumValue, deprecated: true}, true
		case "inputFields":
			return object(fInputFields, objInputValue), true
		case "ofType":
			return object(fOfType, objType), true
		}
	case objField:
		switch name {
		case "name":
			return leaf(fName), true
		case "description":
			return leaf(fDescription), true
		case "args":
			return object(fArgs, objInputValue), true
		case "type":
			return object(fType, objType), true
		case "isDeprecated":
			return leaf(fIsDeprecated), true
		case "deprecationReason":
			return leaf(fDeprecationReason), true
		}
	case objInputValue:
		switch name {
		case "name":
			return leaf(fName), true
		case "description":
			return leaf(fDescription), true
		case "type":
			return object(fType, objType), true
		case "defaultValue":
			return leaf(fDefaultValue), true
		}
	case objEnumValue:
		switch name {
		case "name":
			return leaf(fName), true
		case "description":
			return leaf(fDescription), true
		case "isDeprecated":
			return leaf(fIsDeprecated), true
		case "deprecationReason":
			return leaf(fDeprecationReason), true
		}
	case objDirective:
		switch name {
		case "name":
			return leaf(fName), true
		case "description":
			return leaf(fDescription), true
		case "locations":
			return leaf(fLocations), true
		case "args":
			return object(fArgs, objInputValue), true
		case "isRepeatable":
			return leaf(fIsRepeatable), true
		}
	}
	return fieldSpec{}, false
}

// sel is one compiled selection: the response key (an offset range in the
// compiler's key arena, already JSON-encoded with its colon), what to write,
// and the plan of its selection set.
type sel struct {
	ks, ke            int32
	id                fieldID
	includeDeprecated bool
	sub               *plan
}

// plan is a compiled selection set on one introspection object.
type plan struct {
	obj  obj
	sels []sel
}

// merged is a field after Hasura's collectFields: one per response key.
type merged struct {
	alias string
	field *ast.Field       // the first occurrence (name, arguments)
	ss    ast.SelectionSet // the concatenated selection sets
}

type compiler struct {
	vars map[string]any
	base string   // path of the field being resolved
	segs []string // path segments below base
	keys []byte   // arena of encoded response keys
}

func (c *compiler) path(extra ...string) string {
	n := len(c.base)
	for _, s := range c.segs {
		n += len(s) + 1
	}
	for _, s := range extra {
		n += len(s) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(c.base)
	for _, s := range c.segs {
		b.WriteByte('.')
		b.WriteString(s)
	}
	for _, s := range extra {
		b.WriteByte('.')
		b.WriteString(s)
	}
	return b.String()
}

func (c *compiler) errorf(msg string, extra ...string) *Error {
	return &Error{Path: c.path(extra...), Message: msg}
}

func quote(name string) string { return "'" + name + "'" }

// compile compiles the selection set ss of a field of type o; the current
// path is that field's.
func (c *compiler) compile(o obj, ss ast.SelectionSet) (*plan, *Error) {
	if len(ss) == 0 {
		return nil, c.errorf("missing selection set for "+quote(objNames[o]), "selectionSet")
	}
	fields, err := c.collect(o, ss)
	if err != nil {
		return nil, err
	}
	p := &plan{obj: o, sels: make([]sel, len(fields))}
	c.segs = append(c.segs, "selectionSet", "")
	defer func() { c.segs = c.segs[:len(c.segs)-2] }()
	for i := range fields {
		m := &fields[i]
		name := m.field.Name
		c.segs[len(c.segs)-1] = name
		s := &p.sels[i]
		s.ks = int32(len(c.keys))
		c.keys = appendString(c.keys, m.alias)
		c.keys = append(c.keys, ':')
		s.ke = int32(len(c.keys))
		if name == "__typename" {
			s.id = fTypename
			continue
		}
		spec, ok := lookupField(o, name)
		if !ok {
			return nil, c.errorf("field " + quote(name) + " not found in type: " + quote(objNames[o]))
		}
		s.id = spec.id
		if !spec.object {
			if len(m.ss) > 0 {
				return nil, c.errorf("unexpected subselection set for non-object field")
			}
			if err := c.noArgs(name, m.field.Arguments, nil); err != nil {
				return nil, err
			}
			continue
		}
		var allowed []string
		if spec.deprecated {
			allowed = argsIncludeDeprecated
		}
		if err := c.noArgs(name, m.field.Arguments, allowed); err != nil {
			return nil, err
		}
		if spec.deprecated {
			if s.includeDeprecated, err = c.includeDeprecatedArg(m.field.Arguments); err != nil {
				return nil, err
			}
		}
		if s.sub, err = c.compile(spec.sub, m.ss); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// collect flattens the inline fragments that apply to o and merges fields
// by response key (Hasura's collectFields). Errors are at <path>.selectionSet.
func (c *compiler) collect(o obj, ss ast.SelectionSet) ([]merged, *Error) {
	var out []merged
	var index map[string]int // only for large selection sets
	var walk func(ss ast.SelectionSet) *Error
	walk = func(ss ast.SelectionSet) *Error {
		for _, sel := range ss {
			switch sel := sel.(type) {
			case *ast.Field:
				alias := sel.Alias
				if alias == "" {
					alias = sel.Name
				}
				i := -1
				if index != nil {
					if j, ok := index[alias]; ok {
						i = j
					}
				} else {
					for j := range out {
						if out[j].alias == alias {
							i = j
							break
						}
					}
				}
				if i < 0 {
					out = append(out, merged{alias: alias, field: sel, ss: sel.SelectionSet})
					if index != nil {
						index[alias] = len(out) - 1
					} else if len(out) > 32 {
						index = make(map[string]int, 2*len(out))
						for j := range out {
							if _, dup := index[out[j].alias]; !dup {
								index[out[j].alias] = j
							}
						}
					}
					continue
				}
				m := &out[i]
				if m.field.Name != sel.Name {
					return c.errorf("selection of both "+quote(m.field.Name)+" and "+quote(sel.Name)+
						" specify the same response name, "+quote(alias), "selectionSet")
				}
				if !sameArguments(m.field.Arguments, sel.Arguments) {
					return c.errorf("inconsistent arguments between multiple selections of field "+quote(m.field.Name), "selectionSet")
				}
				if len(sel.SelectionSet) > 0 {
					m.ss = append(m.ss[:len(m.ss):len(m.ss)], sel.SelectionSet...)
				}
			case *ast.InlineFragment:
				if sel.TypeCondition == "" || sel.TypeCondition == objNames[o] {
					if err := walk(sel.SelectionSet); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk(ss); err != nil {
		return nil, err
	}
	return out, nil
}

var (
	argsIncludeDeprecated = []string{"includeDeprecated"}
	argsName              = []string{"name"}
)

// noArgs reports the first argument of field name not in allowed, as
// Hasura's rawSelection/rawSubselection do (at the field's path).
func (c *compiler) noArgs(name string, args ast.ArgumentList, allowed []string) *Error {
	for _, a := range args {
		if !slices.Contains(allowed, a.Name) {
			return c.errorf(quote(name) + " has no argument named " + quote(a.Name))
		}
	}
	return nil
}

// sameArguments compares two argument lists as Hasura compares its
// HashMap Name Value: order does not matter.
func sameArguments(a, b ast.ArgumentList) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		y := b.ForName(x.Name)
		if y == nil || !sameValue(x.Value, y.Value) {
			return false
		}
	}
	return true
}

func sameValue(a, b *ast.Value) bool {
	if a == nil || b == nil {
		return a == b
	}
	ka, kb := a.Kind, b.Kind
	if ka == ast.BlockValue {
		ka = ast.StringValue
	}
	if kb == ast.BlockValue {
		kb = ast.StringValue
	}
	if ka != kb || a.Raw != b.Raw || len(a.Children) != len(b.Children) {
		return false
	}
	switch a.Kind {
	case ast.ListValue:
		for i := range a.Children {
			if !sameValue(a.Children[i].Value, b.Children[i].Value) {
				return false
			}
		}
	case ast.ObjectValue:
		for _, x := range a.Children {
			if !sameValue(x.Value, b.Children.ForName(x.Name)) {
				return false
			}
		}
	}
	return true
}
