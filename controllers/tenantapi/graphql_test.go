package tenantapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const testSDL = `
scalar json
input KV { key: String!, value: String! }
type Query {
  item(id: ID!): Item
  items(limit: Int): [Item!]!
  fails: Item
  broken: Item
}
type Mutation { put(kvs: [KV]!, note: String): [String!]! }
type Item {
  id: ID!
  name: String!
  meta: json
  child(suffix: String = "-kid"): Item
}
`

func testExecutor(t *testing.T) (*executor, *[]string) {
	t.Helper()
	var calls []string
	var item func(id string) obj
	item = func(id string) obj {
		return obj{"id": id, "name": "item " + id, "meta": map[string]any{"n": 1},
			"child": fieldFunc(func(_ context.Context, args map[string]any) (any, error) {
				return item(id + args["suffix"].(string)), nil
			})}
	}
	e, err := newExecutor(testSDL, map[string]resolver{
		"item": func(_ context.Context, args map[string]any) (any, error) {
			calls = append(calls, "item:"+args["id"].(string))
			if args["id"] == "none" {
				return nil, nil
			}
			return item(args["id"].(string)), nil
		},
		"items": func(_ context.Context, args map[string]any) (any, error) {
			out := []any{item("a"), item("b"), item("c")}
			if n, ok := intArg(args["limit"]); ok {
				out = out[:n]
			}
			return out, nil
		},
		"fails": func(context.Context, map[string]any) (any, error) {
			return nil, errorf(CodeConflict, "it changed")
		},
		"broken": func(context.Context, map[string]any) (any, error) {
			return nil, errors.New("secret internal detail")
		},
	}, map[string]resolver{
		"put": func(_ context.Context, args map[string]any) (any, error) {
			var out []string
			for _, kv := range args["kvs"].([]any) {
				if kv == nil {
					continue
				}
				m := kv.(map[string]any)
				out = append(out, m["key"].(string)+"="+m["value"].(string))
			}
			calls = append(calls, "put")
			return out, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, &calls
}

func run(t *testing.T, e *executor, query string, vars map[string]any, opName string) string {
	t.Helper()
	b, err := json.Marshal(e.Execute(context.Background(), Request{Query: query, Variables: vars, OperationName: opName}))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExecutorVariablesAliasesFragmentsTypename(t *testing.T) {
	e, _ := testExecutor(t)
	got := run(t, e, `query Q($id: ID!, $skip: Boolean!) {
		first: item(id: $id) { __typename id ...F kid: child { id } other: child(suffix: "-x") { name } }
		second: item(id: "two") { id meta @skip(if: $skip) }
		none: item(id: "none") { id }
		__typename
	}
	fragment F on Item { name }`, map[string]any{"id": "one", "skip": true}, "")
	want := `{"data":{"first":{"__typename":"Item","id":"one","name":"item one","kid":{"id":"one-kid"},"other":{"name":"item one-x"}},` +
		`"second":{"id":"two"},"none":null,"__typename":"Query"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestExecutorListsInlineFragmentsAndMergedFields(t *testing.T) {
	e, _ := testExecutor(t)
	got := run(t, e, `{ items(limit: 2) { id ... on Item { name } id @include(if: false) meta } }`, nil, "")
	want := `{"data":{"items":[{"id":"a","name":"item a","meta":{"n":1}},{"id":"b","name":"item b","meta":{"n":1}}]}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestExecutorMutationsWithInputListsAndOperationName(t *testing.T) {
	e, calls := testExecutor(t)
	doc := `query A { item(id: "a") { id } } mutation B($kvs: [KV]!) { one: put(kvs: $kvs) two: put(kvs: [{key: "x", value: "y"}]) }`
	got := run(t, e, doc, map[string]any{"kvs": []any{map[string]any{"key": "k", "value": "v"}, nil}}, "B")
	if want := `{"data":{"one":["k=v"],"two":["x=y"]}}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if strings.Join(*calls, ",") != "put,put" {
		t.Errorf("calls %v", *calls)
	}
	if got := run(t, e, doc, nil, ""); !strings.Contains(got, `"code":"validation-failed"`) || !strings.Contains(got, "operationName") {
		t.Errorf("two operations without a name: %s", got)
	}
}

func TestExecutorErrorsHaveHasurasShape(t *testing.T) {
	e, calls := testExecutor(t)
	for _, c := range []struct{ query, code, contains string }{
		{`{ item(id: "a") { nope } }`, CodeValidation, `Cannot query field \"nope\"`},
		{`{ item(id: "a") { id `, CodeValidation, "Expected"},
		{`query($id: ID!) { item(id: $id) { id } }`, CodeValidation, "must be defined"},
		{`{ fails { id } }`, CodeConflict, "it changed"},
		{`{ broken { id } }`, CodeUnexpected, "internal error"},
		{`subscription { item }`, CodeValidation, ""},
		{``, CodeValidation, "no query"},
	} {
		got := run(t, e, c.query, nil, "")
		var resp struct {
			Data   any
			Errors []struct {
				Message    string
				Extensions map[string]any
			}
		}
		if err := json.Unmarshal([]byte(got), &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Data != nil || len(resp.Errors) == 0 || resp.Errors[0].Extensions["code"] != c.code || !strings.Contains(got, c.contains) {
			t.Errorf("%q: %s; want code %s containing %q", c.query, got, c.code, c.contains)
		}
		if strings.Contains(got, "secret internal detail") {
			t.Errorf("%q: an internal error leaked: %s", c.query, got)
		}
	}
	// A failing root field fails the request and stops later mutations.
	*calls = nil
	if got := run(t, e, `{ a: item(id: "x") { id } f: fails { id } b: item(id: "y") { id } }`, nil, ""); strings.Contains(got, `"data"`) {
		t.Errorf("partial data: %s", got)
	}
	if strings.Join(*calls, ",") != "item:x" {
		t.Errorf("calls after the failure: %v", *calls)
	}
}

func TestExecutorIntrospection(t *testing.T) {
	e, _ := testExecutor(t)
	got := run(t, e, `{ __schema { queryType { name } mutationType { name } }
		__type(name: "Item") { kind name fields { name type { kind name ofType { kind name } } } } }`, nil, "")
	for _, want := range []string{`"queryType":{"name":"Query"}`, `"mutationType":{"name":"Mutation"}`,
		`{"name":"id","type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"SCALAR","name":"ID"}}}`,
		`{"name":"meta","type":{"kind":"SCALAR","name":"json","ofType":null}}`} {
		if !strings.Contains(got, want) {
			t.Errorf("introspection lacks %s:\n%s", want, got)
		}
	}
	// The standard introspection query of GraphQL tools runs.
	got = run(t, e, introspectionQuery, nil, "IntrospectionQuery")
	if strings.Contains(got, `"errors"`) || !strings.Contains(got, `"name":"KV"`) {
		t.Errorf("introspection query: %.500s", got)
	}
}

// The introspection query graphql-js's getIntrospectionQuery() sends.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
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

func TestTheTenantSchemaLoadsWithEveryResolver(t *testing.T) {
	if _, err := New(nil, nil, nil, Config{}, discardLog()); err != nil {
		t.Fatal(err)
	}
}
