package schema

import (
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// prelude is gqlparser's built-in schema: the introspection types and the
// standard directives every schema has.
var prelude = sync.OnceValue(func() *ast.Schema {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "empty", Input: "type Query { _: Boolean }"})
	if err != nil {
		panic("gqlparser prelude: " + err.Error())
	}
	return s
})

// introspectionTypes are the __ types, shared read-only by every schema.
func introspectionTypes() map[string]*ast.Definition {
	out := map[string]*ast.Definition{}
	for name, d := range prelude().Types {
		if len(name) > 2 && name[:2] == "__" {
			out[name] = d
		}
	}
	return out
}

// directives are the ones Hasura's schemas declare: include, skip and
// cached (accepted; Strata answers without a response cache).
func directives() map[string]*ast.DirectiveDefinition {
	p := prelude().Directives
	return map[string]*ast.DirectiveDefinition{
		"include": p["include"],
		"skip":    p["skip"],
		"cached": {
			Name:        "cached",
			Description: "whether this query should be cached (Hasura Cloud only)",
			Locations:   []ast.DirectiveLocation{ast.LocationQuery},
			Arguments: ast.ArgumentDefinitionList{
				{Name: "ttl", Description: "measured in seconds", Type: nnNamed("Int"), DefaultValue: &ast.Value{Kind: ast.IntValue, Raw: "60"}},
				{Name: "refresh", Description: "refresh the cache entry", Type: nnNamed("Boolean"), DefaultValue: &ast.Value{Kind: ast.BooleanValue, Raw: "false"}},
			},
		},
	}
}
