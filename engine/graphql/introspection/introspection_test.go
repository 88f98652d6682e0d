package introspection

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

const testSDL = `
schema { query: query_root mutation: mutation_root }

scalar Boolean
scalar Float
scalar ID
scalar Int
scalar String

type __Schema { description: String }

"A node"
interface Node { id: ID! }

"columns and relationships of \"author\""
type author implements Node {
  id: ID!
  name: String
  articles(where: article_bool_exp, limit: Int, distinct_on: [article_select_column!], offset: Int = 0): [article!]!
  nick: String @deprecated(reason: "use name")
}

type article implements Node {
  id: ID!
  title: String!
  tags: [[String!]]
}

union search_result = author | article

"select columns of table \"article\""
enum article_select_column {
  "column name"
  id
  title
  legacy @deprecated
}

input article_bool_exp {
  _and: [article_bool_exp!]
  title: String_comparison_exp
}

"<b>&amp; \u2028"
input String_comparison_exp {
  _eq: String
  _like: String = "%<a&b>%"
}

input defaults {
  i: Int = -0
  f: Float = 1.50
  g: Float = 0.01
  h: Float = 1e3
  b: Boolean = false
  e: article_select_column = title
  l: [Int] = [1, 2]
  o: String_comparison_exp = {_eq: "x\ny", _like: "\"q\""}
  n: String = null
}

type query_root {
  author(id: ID!): author
  search: [search_result!]!
  __schema: __Schema!
  __type(name: String!): author
}

type mutation_root { delete_author(id: ID!): author }

"whether this query should be cached (Hasura Cloud only)"
directive @cached("measured in seconds" ttl: Int! = 60, "refresh the cache entry" refresh: Boolean! = false) on QUERY
"whether this query should be skipped"
directive @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
"whether this query should be included"
directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
`

func testSchema(t testing.TB) *ast.Schema {
	t.Helper()
	doc, err := parser.ParseSchema(&ast.Source{Name: "test.graphql", Input: testSDL})
	if err != nil {
		t.Fatal(err)
	}
	s := &ast.Schema{
		Types:         map[string]*ast.Definition{},
		Directives:    map[string]*ast.DirectiveDefinition{},
		PossibleTypes: map[string][]*ast.Definition{},
		Implements:    map[string][]*ast.Definition{},
	}
	for _, d := range doc.Definitions {
		s.Types[d.Name] = d
	}
	for _, d := range doc.Directives {
		s.Directives[d.Name] = d
	}
	s.Query, s.Mutation = s.Types["query_root"], s.Types["mutation_root"]
	s.PossibleTypes["Node"] = []*ast.Definition{s.Types["author"], s.Types["article"]}
	return s
}

// inline replaces fragment spreads by inline fragments, as the caller of
// this package does, and links variable references to their definitions,
// as gqlparser's validator does.
func inline(ss ast.SelectionSet, doc *ast.QueryDocument, op *ast.OperationDefinition) ast.SelectionSet {
	var link func(v *ast.Value)
	link = func(v *ast.Value) {
		if v == nil {
			return
		}
		if v.Kind == ast.Variable {
			v.VariableDefinition = op.VariableDefinitions.ForName(v.Raw)
		}
		for _, c := range v.Children {
			link(c.Value)
		}
	}
	out := make(ast.SelectionSet, 0, len(ss))
	for _, s := range ss {
		switch s := s.(type) {
		case *ast.Field:
			for _, a := range s.Arguments {
				link(a.Value)
			}
			f := *s
			f.SelectionSet = inline(s.SelectionSet, doc, op)
			out = append(out, &f)
		case *ast.InlineFragment:
			out = append(out, &ast.InlineFragment{TypeCondition: s.TypeCondition, SelectionSet: inline(s.SelectionSet, doc, op)})
		case *ast.FragmentSpread:
			fd := doc.Fragments.ForName(s.Name)
			out = append(out, &ast.InlineFragment{TypeCondition: fd.TypeCondition, SelectionSet: inline(fd.SelectionSet, doc, op)})
		}
	}
	return out
}

// run resolves the first field of query.
func run(t testing.TB, s *ast.Schema, query string, vars map[string]any) (string, *Error) {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Name: "q", Input: query})
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Operations[0]
	f := inline(op.SelectionSet, doc, op)[0].(*ast.Field)
	path := "$.selectionSet." + f.Name
	var out []byte
	var ierr *Error
	switch f.Name {
	case "__schema":
		out, ierr = Schema(s, f, vars, path)
	case "__type":
		out, ierr = Type(s, f, vars, path)
	default:
		t.Fatalf("not an introspection field: %s", f.Name)
	}
	if ierr == nil && !json.Valid(out) {
		t.Fatalf("invalid JSON: %s", out)
	}
	return string(out), ierr
}

func expect(t *testing.T, s *ast.Schema, query string, vars map[string]any, want string) {
	t.Helper()
	got, err := run(t, s, query, vars)
	if err != nil {
		t.Fatalf("query %s: unexpected error %+v", query, err)
	}
	if got != want {
		t.Errorf("query %s:\n got: %s\nwant: %s", query, got, want)
	}
}

func expectError(t *testing.T, s *ast.Schema, query string, vars map[string]any, path, msg string) {
	t.Helper()
	got, err := run(t, s, query, vars)
	if err == nil {
		t.Fatalf("query %s: want error %q, got %s", query, msg, got)
	}
	if err.Path != path || err.Message != msg || err.Error() != msg {
		t.Errorf("query %s:\n got error %q at %s\nwant error %q at %s", query, err.Message, err.Path, msg, path)
	}
}

func TestAliasesTypenameFragments(t *testing.T) {
	s := testSchema(t)
	expect(t, s, `{ __type(name: "Node") {
		k: kind
		__typename
		... on __Type { name kind }
		... on __Field { description }
		... { tn: __typename possibleTypes { n: name name } }
		name
		...F
	} }
	fragment F on __Type { description interfaces { name } }`, nil,
		`{"k":"INTERFACE","__typename":"__Type","name":"Node","kind":"INTERFACE","tn":"__Type","possibleTypes":[{"n":"article","name":"article"},{"n":"author","name":"author"}],"description":"A node","interfaces":null}`)

	// Merged fields keep the first position; their selection sets concatenate.
	expect(t, s, `{ __type(name: "author") {
		fields { name }
		kind
		fields { type { kind } }
		fields { name }
	} }`, nil,
		`{"fields":[{"name":"articles","type":{"kind":"NON_NULL"}},{"name":"id","type":{"kind":"NON_NULL"}},{"name":"name","type":{"kind":"SCALAR"}}],"kind":"OBJECT"}`)
}

func TestMissingType(t *testing.T) {
	s := testSchema(t)
	expect(t, s, `{ __type(name: "nope") { name } }`, nil, `null`)
	expect(t, s, `{ __type(name: "") { name } }`, nil, `null`)
}

func TestVariables(t *testing.T) {
	s := testSchema(t)
	q := `query q($n: String!, $d: Boolean) { __type(name: $n) { enumValues(includeDeprecated: $d) { name isDeprecated deprecationReason } } }`
	expect(t, s, q, map[string]any{"n": "article_select_column", "d": true},
		`{"enumValues":[{"name":"id","isDeprecated":false,"deprecationReason":null},{"name":"legacy","isDeprecated":true,"deprecationReason":"No longer supported"},{"name":"title","isDeprecated":false,"deprecationReason":null}]}`)
	notDeprecated := `{"enumValues":[{"name":"id","isDeprecated":false,"deprecationReason":null},{"name":"title","isDeprecated":false,"deprecationReason":null}]}`
	expect(t, s, q, map[string]any{"n": "article_select_column", "d": false}, notDeprecated)
	expect(t, s, q, map[string]any{"n": "article_select_column", "d": nil}, notDeprecated)
	expect(t, s, q, map[string]any{"n": "article_select_column"}, notDeprecated)

	expectError(t, s, q, map[string]any{"n": "article_select_column", "d": "yes"},
		"$.selectionSet.__type.selectionSet.enumValues.args.includeDeprecated",
		"expected a boolean for type 'Boolean', but found a string")
	expectError(t, s, q, map[string]any{"n": 3.0},
		"$.selectionSet.__type.args.name", "expected a string for type 'String', but found a number")
	expectError(t, s, `query q($n: Int) { __type(name: $n) { name } }`, map[string]any{"n": 1.0},
		"$.selectionSet.__type.args.name", "variable 'n' is declared as 'Int', but used where 'String!' is expected")
	expectError(t, s, `query q($n: String) { __type(name: $n) { name } }`, map[string]any{"n": "author"},
		"$.selectionSet.__type.args.name", "variable 'n' is declared as 'String', but used where 'String!' is expected")
	expect(t, s, `query q($n: String = "author") { __type(name: $n) { name } }`, nil, `{"name":"author"}`)
	expectError(t, s, `query q($d: String) { __type(name: "author") { fields(includeDeprecated: $d) { name } } }`, nil,
		"$.selectionSet.__type.selectionSet.fields.args.includeDeprecated",
		"variable 'd' is declared as 'String', but used where 'Boolean' is expected")
	expect(t, s, `query q($d: Boolean!) { __type(name: "author") { fields(includeDeprecated: $d) { name } } }`, map[string]any{"d": true},
		`{"fields":[{"name":"articles"},{"name":"id"},{"name":"name"},{"name":"nick"}]}`)
	expectError(t, s, `{ __type(name: "author") { fields(includeDeprecated: 1) { name } } }`, nil,
		"$.selectionSet.__type.selectionSet.fields.args.includeDeprecated",
		"expected a boolean for type 'Boolean', but found an integer")
	expectError(t, s, `{ __type { name } }`, nil, "$.selectionSet.__type.args.name", "missing required field 'name'")
	expectError(t, s, `{ __type(name: null) { name } }`, nil, "$.selectionSet.__type.args.name", "expected a string for type 'String', but found null")
}

func TestErrors(t *testing.T) {
	s := testSchema(t)
	expectError(t, s, `{ __schema { types { foo } } }`, nil,
		"$.selectionSet.__schema.selectionSet.types.selectionSet.foo", "field 'foo' not found in type: '__Type'")
	// The path names the field, not its alias.
	expectError(t, s, `{ __schema { t: types { f: fields { x: bogus } } } }`, nil,
		"$.selectionSet.__schema.selectionSet.types.selectionSet.fields.selectionSet.bogus", "field 'bogus' not found in type: '__Field'")
	// Hasura has no specifiedByURL.
	expectError(t, s, `{ __type(name: "Int") { specifiedByURL } }`, nil,
		"$.selectionSet.__type.selectionSet.specifiedByURL", "field 'specifiedByURL' not found in type: '__Type'")
	// The whole selection is checked, even where nothing would be printed.
	expectError(t, s, `{ __type(name: "nope") { name ofType { ofType { oops } } } }`, nil,
		"$.selectionSet.__type.selectionSet.ofType.selectionSet.ofType.selectionSet.oops", "field 'oops' not found in type: '__Type'")
	expectError(t, s, `{ __type(name: "Int") { fields { args { defaultValue { x } } } } }`, nil,
		"$.selectionSet.__type.selectionSet.fields.selectionSet.args.selectionSet.defaultValue", "unexpected subselection set for non-object field")
	expectError(t, s, `{ __schema { types } }`, nil,
		"$.selectionSet.__schema.selectionSet.types.selectionSet", "missing selection set for '__Type'")
	expectError(t, s, `{ __schema }`, nil, "$.selectionSet.__schema.selectionSet", "missing selection set for '__Schema'")
	expectError(t, s, `{ __schema(x: 1) { description } }`, nil, "$.selectionSet.__schema", "'__schema' has no argument named 'x'")
	expectError(t, s, `{ __type(name: "Int", x: 1) { name } }`, nil, "$.selectionSet.__type", "'__type' has no argument named 'x'")
	expectError(t, s, `{ __type(name: "Int") { kind(x: 1) } }`, nil,
		"$.selectionSet.__type.selectionSet.kind", "'kind' has no argument named 'x'")
	expectError(t, s, `{ __type(name: "Int") { fields(first: 1) { name } } }`, nil,
		"$.selectionSet.__type.selectionSet.fields", "'fields' has no argument named 'first'")
	expectError(t, s, `{ __type(name: "Int") { a: name a: kind } }`, nil,
		"$.selectionSet.__type.selectionSet", "selection of both 'name' and 'kind' specify the same response name, 'a'")
	expectError(t, s, `{ __type(name: "Int") { fields { name } fields(includeDeprecated: true) { name } } }`, nil,
		"$.selectionSet.__type.selectionSet", "inconsistent arguments between multiple selections of field 'fields'")
}

func TestWrappingTypes(t *testing.T) {
	s := testSchema(t)
	tr := `kind name description ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`
	expect(t, s, `{ __type(name: "author") { fields { name type { `+tr+` } } } }`, nil,
		`{"fields":[`+
			`{"name":"articles","type":{"kind":"NON_NULL","name":null,"description":null,"ofType":{"kind":"LIST","name":null,"ofType":{"kind":"NON_NULL","name":null,"ofType":{"kind":"OBJECT","name":"article","ofType":null}}}}},`+
			`{"name":"id","type":{"kind":"NON_NULL","name":null,"description":null,"ofType":{"kind":"SCALAR","name":"ID","ofType":null}}},`+
			`{"name":"name","type":{"kind":"SCALAR","name":"String","description":null,"ofType":null}}]}`)
	expect(t, s, `{ __type(name: "article") { fields { name type { `+tr+` } } } }`, nil,
		`{"fields":[`+
			`{"name":"id","type":{"kind":"NON_NULL","name":null,"description":null,"ofType":{"kind":"SCALAR","name":"ID","ofType":null}}},`+
			`{"name":"tags","type":{"kind":"LIST","name":null,"description":null,"ofType":{"kind":"LIST","name":null,"ofType":{"kind":"NON_NULL","name":null,"ofType":{"kind":"SCALAR","name":"String","ofType":null}}}}},`+
			`{"name":"title","type":{"kind":"NON_NULL","name":null,"description":null,"ofType":{"kind":"SCALAR","name":"String","ofType":null}}}]}`)
	// Hasura gives NON_NULL of a named type that type's description.
	expect(t, s, `{ __type(name: "query_root") { fields { name type { kind name description } } } }`, nil,
		`{"fields":[{"name":"author","type":{"kind":"OBJECT","name":"author","description":"columns and relationships of \"author\""}},`+
			`{"name":"search","type":{"kind":"NON_NULL","name":null,"description":null}}]}`)
	expect(t, s, `{ __type(name: "mutation_root") { fields { args { type { kind name description } } } } }`, nil,
		`{"fields":[{"args":[{"type":{"kind":"NON_NULL","name":null,"description":null}}]}]}`)
	s.Types["ID"].Description = "an id"
	expect(t, s, `{ __type(name: "mutation_root") { fields { args { type { kind name description } } } } }`, nil,
		`{"fields":[{"args":[{"type":{"kind":"NON_NULL","name":null,"description":"an id"}}]}]}`)
}

func TestArgsAndDefaultValues(t *testing.T) {
	s := testSchema(t)
	// Hasura lists fields, args, input fields, enum values and possible types
	// by name, whatever the schema's order; deprecated fields are left out by
	// default.
	expect(t, s, `{ __type(name: "author") { fields { name args { name defaultValue } isDeprecated } } }`, nil,
		`{"fields":[{"name":"articles","args":[{"name":"distinct_on","defaultValue":null},{"name":"limit","defaultValue":null},{"name":"offset","defaultValue":"0"},{"name":"where","defaultValue":null}],"isDeprecated":false},`+
			`{"name":"id","args":[],"isDeprecated":false},{"name":"name","args":[],"isDeprecated":false}]}`)
	expect(t, s, `{ __type(name: "author") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }`, nil,
		`{"fields":[{"name":"articles","isDeprecated":false,"deprecationReason":null},{"name":"id","isDeprecated":false,"deprecationReason":null},`+
			`{"name":"name","isDeprecated":false,"deprecationReason":null},{"name":"nick","isDeprecated":true,"deprecationReason":"use name"}]}`)
	expect(t, s, `{ __type(name: "defaults") { kind inputFields { name defaultValue } } }`, nil,
		`{"kind":"INPUT_OBJECT","inputFields":[`+
			`{"name":"b","defaultValue":"false"},`+
			`{"name":"e","defaultValue":"title"},`+
			`{"name":"f","defaultValue":"1.5"},`+
			`{"name":"g","defaultValue":"1.0e-2"},`+
			`{"name":"h","defaultValue":"1000.0"},`+
			`{"name":"i","defaultValue":"0"},`+
			`{"name":"l","defaultValue":"[1,2]"},`+
			`{"name":"n","defaultValue":"null"},`+
			`{"name":"o","defaultValue":"{_eq: \"x\\ny\",_like: \"\\\"q\\\"\"}"}]}`)
	// Strings are not HTML-escaped.
	expect(t, s, `{ __type(name: "String_comparison_exp") { description inputFields { name description type { name } defaultValue } fields { name } enumValues { name } } }`, nil,
		"{\"description\":\"<b>&amp; \\u2028\",\"inputFields\":[{\"name\":\"_eq\",\"description\":null,\"type\":{\"name\":\"String\"},\"defaultValue\":null},"+
			`{"name":"_like","description":null,"type":{"name":"String"},"defaultValue":"\"%<a&b>%\""}],"fields":null,"enumValues":null}`)
}

func TestEnumValues(t *testing.T) {
	s := testSchema(t)
	expect(t, s, `{ __type(name: "article_select_column") { name kind description enumValues { name description } fields { name } inputFields { name } interfaces { name } possibleTypes { name } ofType { name } } }`, nil,
		`{"name":"article_select_column","kind":"ENUM","description":"select columns of table \"article\"","enumValues":[{"name":"id","description":"column name"},{"name":"title","description":null}],"fields":null,"inputFields":null,"interfaces":null,"possibleTypes":null,"ofType":null}`)
}

func TestInterfacesAndPossibleTypes(t *testing.T) {
	s := testSchema(t)
	q := `{ __type(name: "%s") { kind interfaces { name kind } possibleTypes { name } } }`
	for _, c := range []struct{ name, want string }{
		{"author", `{"kind":"OBJECT","interfaces":[{"name":"Node","kind":"INTERFACE"}],"possibleTypes":null}`},
		{"query_root", `{"kind":"OBJECT","interfaces":[],"possibleTypes":null}`},
		{"Node", `{"kind":"INTERFACE","interfaces":null,"possibleTypes":[{"name":"article"},{"name":"author"}]}`},
		{"search_result", `{"kind":"UNION","interfaces":null,"possibleTypes":[{"name":"article"},{"name":"author"}]}`},
		{"Int", `{"kind":"SCALAR","interfaces":null,"possibleTypes":null}`},
		{"defaults", `{"kind":"INPUT_OBJECT","interfaces":null,"possibleTypes":null}`},
	} {
		expect(t, s, strings.Replace(q, "%s", c.name, 1), nil, c.want)
	}
	// Without s.PossibleTypes, the objects that declare the interface.
	delete(s.PossibleTypes, "Node")
	expect(t, s, `{ __type(name: "Node") { possibleTypes { name } } }`, nil,
		`{"possibleTypes":[{"name":"article"},{"name":"author"}]}`)
	// An object's interfaces are listed by name too.
	s.Types["Aardvark"] = &ast.Definition{Kind: ast.Interface, Name: "Aardvark"}
	s.Types["author"].Interfaces = []string{"Node", "Aardvark"}
	expect(t, s, `{ __type(name: "author") { interfaces { name kind } } }`, nil,
		`{"interfaces":[{"name":"Aardvark","kind":"INTERFACE"},{"name":"Node","kind":"INTERFACE"}]}`)
}

func TestSchemaField(t *testing.T) {
	s := testSchema(t)
	expect(t, s, `{ __schema {
		description
		types { name }
		queryType { name }
		mutationType { name kind }
		subscriptionType { name }
		directives { name description locations args { name description type { kind name ofType { name } } defaultValue } isRepeatable }
		__typename
	} }`, nil,
		`{"description":null,"types":[{"name":"Boolean"},{"name":"Float"},{"name":"ID"},{"name":"Int"},{"name":"Node"},{"name":"String"},{"name":"String_comparison_exp"},{"name":"__Schema"},`+
			`{"name":"article"},{"name":"article_bool_exp"},{"name":"article_select_column"},{"name":"author"},{"name":"defaults"},{"name":"mutation_root"},{"name":"query_root"},{"name":"search_result"}],`+
			`"queryType":{"name":"query_root"},"mutationType":{"name":"mutation_root","kind":"OBJECT"},"subscriptionType":null,"directives":[`+
			`{"name":"include","description":"whether this query should be included","locations":["FIELD","FRAGMENT_SPREAD","INLINE_FRAGMENT"],"args":[{"name":"if","description":null,"type":{"kind":"NON_NULL","name":null,"ofType":{"name":"Boolean"}},"defaultValue":null}],"isRepeatable":false},`+
			`{"name":"skip","description":"whether this query should be skipped","locations":["FIELD","FRAGMENT_SPREAD","INLINE_FRAGMENT"],"args":[{"name":"if","description":null,"type":{"kind":"NON_NULL","name":null,"ofType":{"name":"Boolean"}},"defaultValue":null}],"isRepeatable":false},`+
			`{"name":"cached","description":"whether this query should be cached (Hasura Cloud only)","locations":["QUERY"],"args":[`+
			`{"name":"ttl","description":"measured in seconds","type":{"kind":"NON_NULL","name":null,"ofType":{"name":"Int"}},"defaultValue":"60"},`+
			`{"name":"refresh","description":"refresh the cache entry","type":{"kind":"NON_NULL","name":null,"ofType":{"name":"Boolean"}},"defaultValue":"false"}],"isRepeatable":false}],`+
			`"__typename":"__Schema"}`)
	// The __schema and __type fields of the query type are hidden.
	expect(t, s, `{ __schema { queryType { fields { name } } } }`, nil,
		`{"queryType":{"fields":[{"name":"author"},{"name":"search"}]}}`)
	// Other directives follow Hasura's three, by name.
	s.Directives["a"] = &ast.DirectiveDefinition{Name: "a", Locations: []ast.DirectiveLocation{ast.LocationField}, IsRepeatable: true}
	s.Directives["z"] = &ast.DirectiveDefinition{Name: "z"}
	expect(t, s, `{ __schema { directives { name isRepeatable } } }`, nil,
		`{"directives":[{"name":"include","isRepeatable":false},{"name":"skip","isRepeatable":false},{"name":"cached","isRepeatable":false},{"name":"a","isRepeatable":true},{"name":"z","isRepeatable":false}]}`)
}

// TestHasuraFixtures runs the introspection queries of Hasura's own test
// suite and checks the shape of what they return.
func TestHasuraFixtures(t *testing.T) {
	s := testSchema(t)
	const full = `query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }`
	out, ierr := run(t, s, full, nil)
	if ierr != nil {
		t.Fatal(ierr)
	}
	var res struct {
		QueryType struct{ Name string }
		Types     []struct {
			Kind, Name    string
			Fields        []json.RawMessage
			Interfaces    []json.RawMessage
			EnumValues    []json.RawMessage
			InputFields   []json.RawMessage
			PossibleTypes []json.RawMessage
		}
		Directives []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.QueryType.Name != "query_root" || len(res.Types) != len(s.Types) || len(res.Directives) != 3 {
		t.Fatalf("unexpected result %s", out)
	}
	for _, ty := range res.Types {
		if (ty.Fields != nil) != (ty.Kind == "OBJECT" || ty.Kind == "INTERFACE") ||
			(ty.Interfaces != nil) != (ty.Kind == "OBJECT") ||
			(ty.EnumValues != nil) != (ty.Kind == "ENUM") ||
			(ty.InputFields != nil) != (ty.Kind == "INPUT_OBJECT") ||
			(ty.PossibleTypes != nil) != (ty.Kind == "UNION" || ty.Kind == "INTERFACE") {
			t.Errorf("type %s: null/list mismatch", ty.Name)
		}
	}

	// graphql_query/enums/introspect.yaml, against an equivalent schema.
	enums, err := parser.ParseSchema(&ast.Source{Input: `
		scalar Int scalar String
		enum colors_enum { "#0000FF" blue "#00FF00" green "#FFFF00" orange "#FF00FF" purple "#FF0000" red "#00FFFF" yellow }
		type users { favorite_color: colors_enum! id: Int! name: String! }
		type query_root { users: [users!]! }`})
	if err != nil {
		t.Fatal(err)
	}
	es := &ast.Schema{Types: map[string]*ast.Definition{}}
	for _, d := range enums.Definitions {
		es.Types[d.Name] = d
	}
	es.Query = es.Types["query_root"]
	doc, perr := parser.ParseQuery(&ast.Source{Input: `{
		colors: __type(name: "colors_enum") { name kind enumValues { name description } }
		users: __type(name: "users") { fields { name type { ofType { name } } } }
	}`})
	if perr != nil {
		t.Fatal(perr)
	}
	got := map[string]json.RawMessage{}
	for _, sel := range doc.Operations[0].SelectionSet {
		f := sel.(*ast.Field)
		b, ierr := Type(es, f, nil, "$.selectionSet."+f.Name)
		if ierr != nil {
			t.Fatal(ierr)
		}
		got[f.Alias] = b
	}
	want := map[string]string{
		"colors": `{"name":"colors_enum","kind":"ENUM","enumValues":[{"name":"blue","description":"#0000FF"},{"name":"green","description":"#00FF00"},{"name":"orange","description":"#FFFF00"},{"name":"purple","description":"#FF00FF"},{"name":"red","description":"#FF0000"},{"name":"yellow","description":"#00FFFF"}]}`,
		"users":  `{"fields":[{"name":"favorite_color","type":{"ofType":{"name":"colors_enum"}}},{"name":"id","type":{"ofType":{"name":"Int"}}},{"name":"name","type":{"ofType":{"name":"String"}}}]}`,
	}
	for k, w := range want {
		if string(got[k]) != w {
			t.Errorf("%s:\n got: %s\nwant: %s", k, got[k], w)
		}
	}

}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `q"uote\back`, "<a href='x'>&amp;</a>", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
		"é ü 日本 \u2028 \u2029 🙂", "bad \xff utf8 \xe2\x80", "\u00a0\u0085",
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(buf.String(), "\n")
		if got := string(appendString(nil, s)); got != want {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestPrintValue(t *testing.T) {
	for _, c := range []struct {
		v    *ast.Value
		want string
	}{
		{&ast.Value{Kind: ast.IntValue, Raw: "60"}, "60"},
		{&ast.Value{Kind: ast.IntValue, Raw: "-0"}, "0"},
		{&ast.Value{Kind: ast.IntValue, Raw: "-12"}, "-12"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "1.0"}, "1.0"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "0.5"}, "0.5"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "0.0"}, "0.0"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "-0.0"}, "0.0"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "-2.50"}, "-2.5"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "12345678.0"}, "1.2345678e7"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "1234567.0"}, "1234567.0"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "1e-7"}, "1.0e-7"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "0.125e2"}, "12.5"},
		{&ast.Value{Kind: ast.FloatValue, Raw: "3E+2"}, "300.0"},
		{&ast.Value{Kind: ast.StringValue, Raw: "a\"b\\c\n\x01<é>"}, `"a\"b\\c\n\u0001<é>"`},
		{&ast.Value{Kind: ast.BlockValue, Raw: "line1\n  line2"}, `"line1\n  line2"`},
		{&ast.Value{Kind: ast.EnumValue, Raw: "asc"}, "asc"},
		{&ast.Value{Kind: ast.BooleanValue, Raw: "true"}, "true"},
		{&ast.Value{Kind: ast.NullValue, Raw: "null"}, "null"},
		{&ast.Value{Kind: ast.Variable, Raw: "v"}, "$v"},
		{&ast.Value{Kind: ast.ListValue, Children: ast.ChildValueList{
			{Value: &ast.Value{Kind: ast.IntValue, Raw: "1"}},
			{Value: &ast.Value{Kind: ast.ListValue}},
		}}, "[1,[]]"},
		{&ast.Value{Kind: ast.ObjectValue, Children: ast.ChildValueList{
			{Name: "a", Value: &ast.Value{Kind: ast.ObjectValue}},
			{Name: "b", Value: &ast.Value{Kind: ast.EnumValue, Raw: "X"}},
		}}, "{a: {},b: X}"},
	} {
		if got := string(appendValue(nil, c.v)); got != c.want {
			t.Errorf("appendValue(%s) = %s, want %s", c.v, got, c.want)
		}
	}
}

func BenchmarkFullIntrospection(b *testing.B) {
	s := testSchema(b)
	// Widen the schema to a realistic size.
	for i := 0; i < 300; i++ {
		d := *s.Types["author"]
		d.Name = "author" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		s.Types[d.Name] = &d
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: `{ __schema { types { kind name description fields(includeDeprecated: true) { name description args { name description type { kind name ofType { kind name ofType { kind name } } } defaultValue } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } isDeprecated deprecationReason } inputFields { name type { kind name } defaultValue } interfaces { name } enumValues(includeDeprecated: true) { name } possibleTypes { name } } } }`})
	if err != nil {
		b.Fatal(err)
	}
	f := doc.Operations[0].SelectionSet[0].(*ast.Field)
	b.ReportAllocs()
	for b.Loop() {
		out, ierr := Schema(s, f, nil, "$.selectionSet.__schema")
		if ierr != nil {
			b.Fatal(ierr)
		}
		b.SetBytes(int64(len(out)))
	}
}
