package tenantapi

import (
	"context"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Introspection (__schema, __type) as obj values built from the schema,
// so GraphQL clients and IDEs can read the tenant API's schema.

func introspectSchema(s *ast.Schema) obj {
	names := make([]string, 0, len(s.Types))
	for n := range s.Types {
		names = append(names, n)
	}
	sort.Strings(names)
	return obj{
		"description": nilIfEmpty(s.Description),
		"types": fieldFunc(func(context.Context, map[string]any) (any, error) {
			out := make([]any, 0, len(names))
			for _, n := range names {
				out = append(out, introspectNamed(s, s.Types[n]))
			}
			return out, nil
		}),
		"queryType":        introspectNamed(s, s.Query),
		"mutationType":     introspectNamed(s, s.Mutation),
		"subscriptionType": introspectNamed(s, s.Subscription),
		"directives": fieldFunc(func(context.Context, map[string]any) (any, error) {
			dn := make([]string, 0, len(s.Directives))
			for n := range s.Directives {
				dn = append(dn, n)
			}
			sort.Strings(dn)
			out := make([]any, 0, len(dn))
			for _, n := range dn {
				d := s.Directives[n]
				locs := make([]any, len(d.Locations))
				for i, l := range d.Locations {
					locs[i] = string(l)
				}
				out = append(out, obj{"name": d.Name, "description": nilIfEmpty(d.Description), "isRepeatable": d.IsRepeatable,
					"locations": locs, "args": introspectArgs(s, d.Arguments)})
			}
			return out, nil
		}),
	}
}

func introspectTypeByName(s *ast.Schema, name string) any {
	def := s.Types[name]
	if def == nil {
		return nil
	}
	return introspectNamed(s, def)
}

func introspectNamed(s *ast.Schema, def *ast.Definition) any {
	if def == nil {
		return nil
	}
	includeDeprecated := func(args map[string]any) bool { return args["includeDeprecated"] == true }
	o := obj{
		"kind":           string(def.Kind),
		"name":           def.Name,
		"description":    nilIfEmpty(def.Description),
		"specifiedByURL": nil,
		"isOneOf":        nil,
		"ofType":         nil,
		"interfaces":     nil,
		"possibleTypes":  nil,
		"fields":         nil,
		"enumValues":     nil,
		"inputFields":    nil,
	}
	switch def.Kind {
	case ast.Object, ast.Interface:
		o["fields"] = fieldFunc(func(_ context.Context, args map[string]any) (any, error) {
			out := []any{}
			for _, f := range def.Fields {
				if strings.HasPrefix(f.Name, "__") {
					continue
				}
				dep := f.Directives.ForName("deprecated")
				if dep != nil && !includeDeprecated(args) {
					continue
				}
				out = append(out, obj{"name": f.Name, "description": nilIfEmpty(f.Description),
					"args": introspectArgs(s, f.Arguments), "type": introspectRef(s, f.Type),
					"isDeprecated": dep != nil, "deprecationReason": deprecationReason(dep)})
			}
			return out, nil
		})
		o["interfaces"] = fieldFunc(func(context.Context, map[string]any) (any, error) {
			out := []any{}
			for _, n := range def.Interfaces {
				out = append(out, introspectNamed(s, s.Types[n]))
			}
			return out, nil
		})
		if def.Kind == ast.Interface {
			o["possibleTypes"] = possibleTypes(s, def)
		}
	case ast.Union:
		o["possibleTypes"] = possibleTypes(s, def)
	case ast.Enum:
		o["enumValues"] = fieldFunc(func(_ context.Context, args map[string]any) (any, error) {
			out := []any{}
			for _, v := range def.EnumValues {
				dep := v.Directives.ForName("deprecated")
				if dep != nil && !includeDeprecated(args) {
					continue
				}
				out = append(out, obj{"name": v.Name, "description": nilIfEmpty(v.Description),
					"isDeprecated": dep != nil, "deprecationReason": deprecationReason(dep)})
			}
			return out, nil
		})
	case ast.InputObject:
		o["inputFields"] = fieldFunc(func(context.Context, map[string]any) (any, error) {
			out := []any{}
			for _, f := range def.Fields {
				out = append(out, inputValue(s, f.Name, f.Description, f.Type, f.DefaultValue))
			}
			return out, nil
		})
	}
	return o
}

func possibleTypes(s *ast.Schema, def *ast.Definition) fieldFunc {
	return func(context.Context, map[string]any) (any, error) {
		out := []any{}
		for _, t := range s.GetPossibleTypes(def) {
			out = append(out, introspectNamed(s, t))
		}
		return out, nil
	}
}

// introspectRef describes a type reference: NON_NULL and LIST wrap the
// named type.
func introspectRef(s *ast.Schema, t *ast.Type) any {
	if t == nil {
		return nil
	}
	if t.NonNull {
		inner := *t
		inner.NonNull = false
		return wrapper("NON_NULL", introspectRef(s, &inner))
	}
	if t.Elem != nil {
		return wrapper("LIST", introspectRef(s, t.Elem))
	}
	return introspectNamed(s, s.Types[t.NamedType])
}

func wrapper(kind string, of any) obj {
	return obj{"kind": kind, "name": nil, "description": nil, "specifiedByURL": nil, "isOneOf": nil,
		"fields": nil, "interfaces": nil, "possibleTypes": nil, "enumValues": nil, "inputFields": nil, "ofType": of}
}

func introspectArgs(s *ast.Schema, args ast.ArgumentDefinitionList) []any {
	out := []any{}
	for _, a := range args {
		out = append(out, inputValue(s, a.Name, a.Description, a.Type, a.DefaultValue))
	}
	return out
}

func inputValue(s *ast.Schema, name, description string, t *ast.Type, def *ast.Value) obj {
	var dv any
	if def != nil {
		dv = def.String()
	}
	return obj{"name": name, "description": nilIfEmpty(description), "type": introspectRef(s, t),
		"defaultValue": dv, "isDeprecated": false, "deprecationReason": nil}
}

func deprecationReason(d *ast.Directive) any {
	if d == nil {
		return nil
	}
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil {
		return a.Value.Raw
	}
	return "No longer supported"
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
