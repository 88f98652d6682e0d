package introspection

import (
	"slices"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
)

// exec runs a plan over a schema, appending JSON to b.
type exec struct {
	s       *ast.Schema
	keys    []byte // the compiler's key arena
	b       []byte
	scratch []byte // default values are printed here before being quoted
}

// bufPool recycles output buffers: a full introspection answer is written
// into a pooled buffer and copied out once at its final size, instead of
// growing a fresh slice through every doubling.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooled bounds the buffers kept for reuse.
const maxPooled = 8 << 20

func (e *exec) get() {
	bp := bufPool.Get().(*[]byte)
	e.b = (*bp)[:0]
}

// finish returns a copy of the output and recycles the buffers.
func (e *exec) finish() []byte {
	out := make([]byte, len(e.b))
	copy(out, e.b)
	if cap(e.b) <= maxPooled {
		b := e.b[:0]
		bufPool.Put(&b)
	}
	e.b = nil
	return out
}

// typeRef is Hasura's SomeType: a named type or a list, each nullable or not.
type typeRef struct {
	def     *ast.Definition // named type (when !list)
	elem    *ast.Type       // element type (when list)
	list    bool
	nonNull bool
}

func (e *exec) ref(t *ast.Type) typeRef {
	if t == nil {
		return typeRef{def: e.named("")}
	}
	if t.NamedType == "" && t.Elem != nil {
		return typeRef{elem: t.Elem, list: true, nonNull: t.NonNull}
	}
	return typeRef{def: e.named(t.NamedType), nonNull: t.NonNull}
}

// named looks a type up; a name the schema lacks (a schema-builder bug)
// is shown as a scalar of that name rather than failing the request.
func (e *exec) named(name string) *ast.Definition {
	if d := e.s.Types[name]; d != nil {
		return d
	}
	return &ast.Definition{Kind: ast.Scalar, Name: name}
}

func (e *exec) null()        { e.b = append(e.b, "null"...) }
func (e *exec) str(s string) { e.b = appendString(e.b, s) }
func (e *exec) key(s *sel, i int) {
	if i > 0 {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, e.keys[s.ks:s.ke]...)
}

// optStr writes s, or null when it is empty.
func (e *exec) optStr(s string) {
	if s == "" {
		e.null()
	} else {
		e.str(s)
	}
}

func (e *exec) boolean(v bool) {
	if v {
		e.b = append(e.b, "true"...)
	} else {
		e.b = append(e.b, "false"...)
	}
}

func (e *exec) schema(p *plan) {
	s := e.s
	e.b = append(e.b, '{')
	for i := range p.sels {
		sl := &p.sels[i]
		e.key(sl, i)
		switch sl.id {
		case fTypename:
			e.b = append(e.b, typenameJSON[objSchema]...)
		case fDescription:
			e.optStr(s.Description)
		case fTypes:
			names := make([]string, 0, len(s.Types))
			for name, d := range s.Types {
				if d != nil {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			e.b = append(e.b, '[')
			for j, name := range names {
				if j > 0 {
					e.b = append(e.b, ',')
				}
				e.typ(sl.sub, typeRef{def: s.Types[name]})
			}
			e.b = append(e.b, ']')
		case fQueryType:
			e.root(sl.sub, s.Query)
		case fMutationType:
			e.root(sl.sub, s.Mutation)
		case fSubscriptionType:
			e.root(sl.sub, s.Subscription)
		case fDirectives:
			e.b = append(e.b, '[')
			for j, d := range orderedDirectives(s.Directives) {
				if j > 0 {
					e.b = append(e.b, ',')
				}
				e.directive(sl.sub, d)
			}
			e.b = append(e.b, ']')
		default:
			e.null()
		}
	}
	e.b = append(e.b, '}')
}

func (e *exec) root(p *plan, d *ast.Definition) {
	if d == nil {
		e.null()
		return
	}
	e.typ(p, typeRef{def: d})
}

// hasuraDirectives is the order of Hasura's directivesInfo.
var hasuraDirectives = [...]string{"include", "skip", "cached"}

func orderedDirectives(m map[string]*ast.DirectiveDefinition) []*ast.DirectiveDefinition {
	out := make([]*ast.DirectiveDefinition, 0, len(m))
	for _, name := range hasuraDirectives {
		if d := m[name]; d != nil {
			out = append(out, d)
		}
	}
	if len(out) == len(m) {
		return out
	}
	rest := make([]string, 0, len(m)-len(out))
	for name, d := range m {
		if d != nil && !slices.Contains(hasuraDirectives[:], name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		out = append(out, m[name])
	}
	return out
}

var kindJSON = map[ast.DefinitionKind]string{
	ast.Scalar:      `"SCALAR"`,
	ast.Object:      `"OBJECT"`,
	ast.Interface:   `"INTERFACE"`,
	ast.Union:       `"UNION"`,
	ast.Enum:        `"ENUM"`,
	ast.InputObject: `"INPUT_OBJECT"`,
}

func (e *exec) typ(p *plan, t typeRef) {
	plain := !t.list && !t.nonNull // a nullable named type: Hasura's TNamed Nullable
	var kind ast.DefinitionKind
	if !t.list {
		kind = t.def.Kind
	}
	e.b = append(e.b, '{')
	for i := range p.sels {
		sl := &p.sels[i]
		e.key(sl, i)
		switch sl.id {
		case fTypename:
			e.b = append(e.b, typenameJSON[objType]...)
		case fKind:
			switch {
			case t.nonNull:
				e.b = append(e.b, `"NON_NULL"`...)
			case t.list:
				e.b = append(e.b, `"LIST"`...)
			default:
				if k, ok := kindJSON[kind]; ok {
					e.b = append(e.b, k...)
				} else {
					e.str(string(kind))
				}
			}
		case fName:
			if plain {
				e.str(t.def.Name)
			} else {
				e.null()
			}
		case fDescription:
			// Hasura: SomeType (TNamed _ (Definition _ (Just desc) …)), either nullability.
			if t.list {
				e.null()
			} else {
				e.optStr(t.def.Description)
			}
		case fFields:
			if plain && (kind == ast.Object || kind == ast.Interface) {
				e.fields(sl, t.def)
			} else {
				e.null()
			}
		case fInterfaces:
			if plain && kind == ast.Object {
				e.b = append(e.b, '[')
				for j, name := range sortedNames(t.def.Interfaces) {
					if j > 0 {
						e.b = append(e.b, ',')
					}
					e.typ(sl.sub, typeRef{def: e.named(name)})
				}
				e.b = append(e.b, ']')
			} else {
				e.null()
			}
		case fPossibleTypes:
			switch {
			case plain && kind == ast.Union:
				e.b = append(e.b, '[')
				for j, name := range sortedNames(t.def.Types) {
					if j > 0 {
						e.b = append(e.b, ',')
					}
					e.typ(sl.sub, typeRef{def: e.named(name)})
				}
				e.b = append(e.b, ']')
			case plain && kind == ast.Interface:
				e.b = append(e.b, '[')
				for j, d := range e.implementations(t.def) {
					if j > 0 {
						e.b = append(e.b, ',')
					}
					e.typ(sl.sub, typeRef{def: d})
				}
				e.b = append(e.b, ']')
			default:
				e.null()
			}
		case fEnumValues:
			if plain && kind == ast.Enum {
				e.b = append(e.b, '[')
				n := 0
				for _, v := range byName(t.def.EnumValues, enumValueName) {
					if !sl.includeDeprecated && deprecated(v.Directives) {
						continue
					}
					if n > 0 {
						e.b = append(e.b, ',')
					}
					n++
					e.enumValue(sl.sub, v)
				}
				e.b = append(e.b, ']')
			} else {
				e.null()
			}
		case fInputFields:
			if plain && kind == ast.InputObject {
				e.b = append(e.b, '[')
				for j, f := range byName(t.def.Fields, fieldName) {
					if j > 0 {
						e.b = append(e.b, ',')
					}
					e.inputValue(sl.sub, f.Name, f.Description, f.Type, f.DefaultValue)
				}
				e.b = append(e.b, ']')
			} else {
				e.null()
			}
		case fOfType:
			switch {
			case t.nonNull:
				u := t
				u.nonNull = false
				e.typ(sl.sub, u)
			case t.list:
				e.typ(sl.sub, e.ref(t.elem))
			default:
				e.null()
			}
		default:
			e.null()
		}
	}
	e.b = append(e.b, '}')
}

// implementations are an interface's object types (Hasura's
// InterfaceInfo possible types): s.PossibleTypes, or, when the builder left
// it out, the objects that declare the interface; by name either way.
func (e *exec) implementations(iface *ast.Definition) []*ast.Definition {
	var out []*ast.Definition
	if pt, ok := e.s.PossibleTypes[iface.Name]; ok {
		for _, d := range pt {
			if d != nil && d.Kind == ast.Object {
				out = append(out, d)
			}
		}
	} else {
		for _, d := range e.s.Types {
			if d.Kind == ast.Object && slices.Contains(d.Interfaces, iface.Name) {
				out = append(out, d)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *ast.Definition) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (e *exec) fields(sl *sel, def *ast.Definition) {
	isQuery := e.s.Query != nil && (def == e.s.Query || def.Name == e.s.Query.Name)
	e.b = append(e.b, '[')
	n := 0
	for _, f := range byName(def.Fields, fieldName) {
		if isQuery && (f.Name == "__schema" || f.Name == "__type") {
			continue
		}
		if !sl.includeDeprecated && deprecated(f.Directives) {
			continue
		}
		if n > 0 {
			e.b = append(e.b, ',')
		}
		n++
		e.field(sl.sub, f)
	}
	e.b = append(e.b, ']')
}

func (e *exec) field(p *plan, f *ast.FieldDefinition) {
	e.b = append(e.b, '{')
	for i := range p.sels {
		sl := &p.sels[i]
		e.key(sl, i)
		switch sl.id {
		case fTypename:
			e.b = append(e.b, typenameJSON[objField]...)
		case fName:
			e.str(f.Name)
		case fDescription:
			e.optStr(f.Description)
		case fArgs:
			// Hasura: sortOn dName . fArguments.
			e.b = append(e.b, '[')
			for j, a := range byName(f.Arguments, argName) {
				if j > 0 {
					e.b = append(e.b, ',')
				}
				e.inputValue(sl.sub, a.Name, a.Description, a.Type, a.DefaultValue)
			}
			e.b = append(e.b, ']')
		case fType:
			e.typ(sl.sub, e.ref(f.Type))
		case fIsDeprecated:
			e.boolean(deprecated(f.Directives))
		case fDeprecationReason:
			e.deprecationReason(f.Directives)
		default:
			e.null()
		}
	}
	e.b = append(e.b, '}')
}

// byName returns xs sorted by name, stably, as Hasura's Definition smart
// constructors keep every list (Parser/Schema/Definition.hs); it copies
// only when xs is not sorted already.
func byName[T any](xs []T, name func(T) string) []T {
	cmp := func(a, b T) int { return strings.Compare(name(a), name(b)) }
	if slices.IsSortedFunc(xs, cmp) {
		return xs
	}
	xs = slices.Clone(xs)
	slices.SortStableFunc(xs, cmp)
	return xs
}

func sortedNames(xs []string) []string {
	if slices.IsSorted(xs) {
		return xs
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs
}

func fieldName(f *ast.FieldDefinition) string         { return f.Name }
func argName(a *ast.ArgumentDefinition) string        { return a.Name }
func enumValueName(v *ast.EnumValueDefinition) string { return v.Name }

func (e *exec) inputValue(p *plan, name, description string, typ *ast.Type, def *ast.Value) {
	e.b = append(e.b, '{')
	for i := range p.sels {
		sl := &p.sels[i]
		e.key(sl, i)
		switch sl.id {
		case fTypename:
			e.b = append(e.b, typenameJSON[objInputValue]...)
		case fName:
			e.str(name)
		case fDescription:
			e.optStr(description)
		case fType:
			e.typ(sl.sub, e.ref(typ))
		case fDefaultValue:
			if def == nil {
				e.null()
			} else {
				e.scratch = appendValue(e.scratch[:0], def)
				e.b = appendString(e.b, string(e.scratch)) // default values are rare
			}
		default:
			e.null()
		}
	}
	e.b = append(e.b, '}')
}

func (e *exec) enumValue(p *plan, v *ast.EnumValueDefinition) {
	e.b = append(e.b, '{')
	for i := range p.sels {
		sl := &p.sels[i]
		e.key(sl, i)
		switch sl.id {
		case fTypename:
			e.b = append(e.b, typenameJSON[objEnumValue]...)
		case fName:
			e.str(v.Name)
		case fDescription:
			e.optStr(v.Description)
		case fIsDeprecated:
			e.boolean(deprecated(v.Directives))
		case fDeprecationReason:
			e.deprecationReason(v.Directives)
		default:
			e.null()
		}
	}
	e.b = append(e.b, '}')
}

func (e *exec) directive(p *plan, d *ast.DirectiveDefinition) {
	e.b = append(e.b, '{')
	for i := range p.sels {
		sl := &p.sels[i]
		e.key(sl, i)
		switch sl.id {
		case fTypename:
			e.b = append(e.b, typenameJSON[objDirective]...)
		case fName:
			e.str(d.Name)
		case fDescription:
			e.optStr(d.Description)
		case fLocations:
			e.b = append(e.b, '[')
			for j, l := range d.Locations {
				if j > 0 {
					e.b = append(e.b, ',')
				}
				e.str(string(l))
			}
			e.b = append(e.b, ']')
		case fArgs:
			e.b = append(e.b, '[')
			for j, a := range d.Arguments {
				if j > 0 {
					e.b = append(e.b, ',')
				}
				e.inputValue(sl.sub, a.Name, a.Description, a.Type, a.DefaultValue)
			}
			e.b = append(e.b, ']')
		case fIsRepeatable:
			e.boolean(d.IsRepeatable)
		default:
			e.null()
		}
	}
	e.b = append(e.b, '}')
}

// deprecated reports a @deprecated directive.
func deprecated(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		if d.Name == "deprecated" {
			return true
		}
	}
	return false
}

// deprecationReason writes @deprecated's reason, the spec's default when
// it has none, or null when not deprecated.
func (e *exec) deprecationReason(dirs ast.DirectiveList) {
	d := dirs.ForName("deprecated")
	if d == nil {
		e.null()
		return
	}
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil &&
		(a.Value.Kind == ast.StringValue || a.Value.Kind == ast.BlockValue) {
		e.str(a.Value.Raw)
		return
	}
	e.str("No longer supported")
}
