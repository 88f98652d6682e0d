package graphql_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// customized is an engine with a plain table in its default source and a
// second source "shop" whose root fields live under the namespace "shop"
// with prefix fp_ and suffix _fs, and whose type names get tp_ and _ts.
func customized(t *testing.T) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, nil)
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": `
		CREATE TABLE plain (id serial PRIMARY KEY, name text NOT NULL);`}})
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "plain"}})
	addShop(t, e, map[string]any{
		"root_fields": map[string]any{"namespace": "shop", "prefix": "fp_", "suffix": "_fs"},
		"type_names":  map[string]any{"prefix": "tp_", "suffix": "_ts"},
	})
	return e
}

// addShop adds the source "shop" (a database of its own with an item
// table related to a maker table, and a search function) with the given
// customization.
func addShop(t *testing.T, e *enginetest.Engine, customization map[string]any) {
	t.Helper()
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "pg_add_source", "args": map[string]any{
		"name":          "shop",
		"configuration": map[string]any{"connection_info": map[string]any{"database_url": pgtest.NewDatabase(t)}},
		"customization": customization,
	}})
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"source": "shop", "sql": `
		CREATE TABLE maker (id serial PRIMARY KEY, name text NOT NULL);
		CREATE TABLE item (id serial PRIMARY KEY, title text NOT NULL, maker_id int REFERENCES maker);
		INSERT INTO maker (name) VALUES ('Acme');
		INSERT INTO item (title, maker_id) VALUES ('anvil', 1), ('rocket', 1);
		CREATE FUNCTION search_items(q text) RETURNS SETOF item AS $$
			SELECT * FROM item WHERE title LIKE '%' || q || '%' $$ LANGUAGE sql STABLE;`}})
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_table", "args": map[string]any{"source": "shop", "table": "maker"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"source": "shop", "table": "item"}},
		map[string]any{"type": "pg_track_function", "args": map[string]any{"source": "shop", "function": "search_items"}},
		map[string]any{"type": "pg_create_object_relationship", "args": map[string]any{"source": "shop", "table": "item", "name": "maker", "using": map[string]any{"foreign_key_constraint_on": "maker_id"}}},
	}})
}

// gql posts a GraphQL request as admin and returns the response.
func gql(t *testing.T, e *enginetest.Engine, query string) any {
	t.Helper()
	_, got := post(t, e.URL+"/v1/graphql", map[string]any{"query": query}, nil)
	return got
}

func expectJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	if w := jsonOf(t, want); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, want)
	}
}

func TestSourceCustomizationQueries(t *testing.T) {
	e := customized(t)
	cases := []struct{ name, query, want string }{
		{"namespaced root fields, type names everywhere",
			`{ shop { __typename fp_item_fs(order_by: {id: asc}) { __typename title maker { __typename name } } } plain { id } }`,
			`{"data":{"shop":{"__typename":"tp_shop_query_ts","fp_item_fs":[
				{"__typename":"tp_item_ts","title":"anvil","maker":{"__typename":"tp_maker_ts","name":"Acme"}},
				{"__typename":"tp_item_ts","title":"rocket","maker":{"__typename":"tp_maker_ts","name":"Acme"}}]},"plain":[]}}`},
		{"aliases at every level",
			`{ a: shop { b: __typename c: fp_item_by_pk_fs(id: 2) { d: title } } }`,
			`{"data":{"a":{"b":"tp_shop_query_ts","c":{"d":"rocket"}}}}`},
		{"aggregates keep the suffix after the whole name",
			`{ shop { fp_item_aggregate_fs { __typename aggregate { __typename count max { __typename id } } } } }`,
			`{"data":{"shop":{"fp_item_aggregate_fs":{"__typename":"tp_item_aggregate_ts","aggregate":{"__typename":"tp_item_aggregate_fields_ts","count":2,"max":{"__typename":"tp_item_max_fields_ts","id":2}}}}}}`},
		{"a function's root field and its args type",
			`query($q: tp_search_items_args_ts!) { shop { fp_search_items_fs(args: $q) { title } } }`,
			``},
		{"the where argument takes the customized bool_exp",
			`{ shop { fp_item_fs(where: {maker: {name: {_eq: "Acme"}}, title: {_eq: "anvil"}}) { id } } }`,
			`{"data":{"shop":{"fp_item_fs":[{"id":1}]}}}`},
		{"the customized bool_exp refuses null, as every bool_exp does",
			`{ shop { fp_item_fs(where: null) { id } } }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.shop.selectionSet.fp_item_fs.args.where","code":"validation-failed"},"message":"expected an object for type 'tp_item_bool_exp_ts', but found null"}]}`},
		{"an unknown field of the namespace names its type",
			`{ shop { item { id } } }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.shop.selectionSet.item","code":"validation-failed"},"message":"field 'item' not found in type: 'tp_shop_query_ts'"}]}`},
		{"the source's fields are not at the root",
			`{ fp_item_fs { id } }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.fp_item_fs","code":"validation-failed"},"message":"field 'fp_item_fs' not found in type: 'query_root'"}]}`},
		{"a namespace needs a selection set",
			`{ shop }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.shop","code":"validation-failed"},"message":"missing selection set for 'tp_shop_query_ts'"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "" { // variables case
				_, got := post(t, e.URL+"/v1/graphql", map[string]any{"query": c.query, "variables": map[string]any{"q": map[string]any{"q": "ock"}}}, nil)
				expectJSON(t, c.name, got, `{"data":{"shop":{"fp_search_items_fs":[{"title":"rocket"}]}}}`)
				return
			}
			expectJSON(t, c.name, gql(t, e, c.query), c.want)
		})
	}
}

func TestSourceCustomizationMutations(t *testing.T) {
	e := customized(t)
	expectJSON(t, "an unknown field of the namespace", gql(t, e, `mutation { shop { fp_item_fs { id } } }`),
		`{"errors":[{"extensions":{"path":"$.selectionSet.shop.selectionSet.fp_item_fs","code":"validation-failed"},"message":"field 'fp_item_fs' not found in type: 'tp_shop_mutation_frontend_ts'"}]}`)
	got := gql(t, e, `mutation {
		insert_plain_one(object: {name: "p"}) { id }
		shop {
			__typename
			fp_insert_item_fs(objects: [{title: "trap", maker_id: 1}]) { __typename affected_rows returning { __typename id } }
			fp_delete_item_by_pk_fs(id: 1) { title }
		}
		again: insert_plain(objects: [{name: "q"}]) { affected_rows }
	}`)
	expectJSON(t, "namespaced mutation between root fields", got, `{"data":{
		"insert_plain_one":{"id":1},
		"shop":{"__typename":"tp_shop_mutation_frontend_ts",
			"fp_insert_item_fs":{"__typename":"tp_item_mutation_response_ts","affected_rows":1,"returning":[{"__typename":"tp_item_ts","id":3}]},
			"fp_delete_item_by_pk_fs":{"title":"anvil"}},
		"again":{"affected_rows":1}}}`)
	expectJSON(t, "the mutation's effects", gql(t, e, `{ shop { fp_item_fs(order_by: {id: asc}) { id } } }`),
		`{"data":{"shop":{"fp_item_fs":[{"id":2},{"id":3}]}}}`)
}

func TestSourceCustomizationIntrospection(t *testing.T) {
	e := customized(t)
	got := gql(t, e, `{
		q: __type(name: "query_root") { fields { name type { kind ofType { name } } } }
		m: __type(name: "mutation_root") { fields { name type { ofType { name } } } }
		ns: __type(name: "tp_shop_query_ts") { fields { name type { kind name ofType { kind ofType { kind ofType { name } } } } } }
		input: __type(name: "tp_item_bool_exp_ts") { kind inputFields { name type { name } } }
		args: __type(name: "tp_search_items_args_ts") { kind }
		shared: __type(name: "String_comparison_exp") { kind }
		order: __type(name: "order_by") { kind }
		uncustomized: __type(name: "item") { name }
	}`)
	want := `{"data":{
		"q":{"fields":[{"name":"plain","type":{"kind":"NON_NULL","ofType":{"name":null}}},
			{"name":"plain_aggregate","type":{"kind":"NON_NULL","ofType":{"name":"plain_aggregate"}}},
			{"name":"plain_by_pk","type":{"kind":"OBJECT","ofType":null}},
			{"name":"shop","type":{"kind":"NON_NULL","ofType":{"name":"tp_shop_query_ts"}}}]},
		"m":{"fields":[{"name":"delete_plain","type":{"ofType":null}},{"name":"delete_plain_by_pk","type":{"ofType":null}},
			{"name":"insert_plain","type":{"ofType":null}},{"name":"insert_plain_one","type":{"ofType":null}},
			{"name":"shop","type":{"ofType":{"name":"tp_shop_mutation_frontend_ts"}}},
			{"name":"update_plain","type":{"ofType":null}},{"name":"update_plain_by_pk","type":{"ofType":null}},{"name":"update_plain_many","type":{"ofType":{"name":"plain_mutation_response"}}}]},
		"ns":{"fields":[
			{"name":"fp_item_aggregate_fs","type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"OBJECT","ofType":null}}},
			{"name":"fp_item_by_pk_fs","type":{"kind":"OBJECT","name":"tp_item_ts","ofType":null}},
			{"name":"fp_item_fs","type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"LIST","ofType":{"kind":"NON_NULL","ofType":{"name":"tp_item_ts"}}}}},
			{"name":"fp_maker_aggregate_fs","type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"OBJECT","ofType":null}}},
			{"name":"fp_maker_by_pk_fs","type":{"kind":"OBJECT","name":"tp_maker_ts","ofType":null}},
			{"name":"fp_maker_fs","type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"LIST","ofType":{"kind":"NON_NULL","ofType":{"name":"tp_maker_ts"}}}}},
			{"name":"fp_search_items_aggregate_fs","type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"OBJECT","ofType":null}}},
			{"name":"fp_search_items_fs","type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"LIST","ofType":{"kind":"NON_NULL","ofType":{"name":"tp_item_ts"}}}}}]},
		"input":{"kind":"INPUT_OBJECT","inputFields":[
			{"name":"_and","type":{"name":null}},{"name":"_not","type":{"name":"tp_item_bool_exp_ts"}},{"name":"_or","type":{"name":null}},
			{"name":"id","type":{"name":"Int_comparison_exp"}},{"name":"maker","type":{"name":"tp_maker_bool_exp_ts"}},
			{"name":"maker_id","type":{"name":"Int_comparison_exp"}},{"name":"title","type":{"name":"String_comparison_exp"}}]},
		"args":{"kind":"INPUT_OBJECT"},
		"shared":{"kind":"INPUT_OBJECT"},
		"order":{"kind":"ENUM"},
		"uncustomized":null}}`
	expectJSON(t, "introspection", got, want)

	// subscription_root has its own namespace type, holding the same
	// select fields (subscription_root has more fields than query_root:
	// only the namespace's entry is checked).
	got = gql(t, e, `{ __type(name: "subscription_root") { fields { name type { ofType { name fields { name } } } } } }`)
	fields, _ := got.(map[string]any)["data"].(map[string]any)["__type"].(map[string]any)["fields"].([]any)
	var shop any
	for _, f := range fields {
		if f.(map[string]any)["name"] == "shop" {
			shop = f.(map[string]any)["type"].(map[string]any)["ofType"]
		}
	}
	ns, _ := shop.(map[string]any)
	if ns == nil || ns["name"] != "tp_shop_subscription_ts" || !strings.Contains(fmt.Sprint(ns["fields"]), "name:fp_maker_fs") {
		t.Errorf("subscription_root's namespace: %v", shop)
	}
}

func TestSourceCustomizationPrefixOnly(t *testing.T) {
	e := enginetest.Start(t, nil)
	addShop(t, e, map[string]any{"root_fields": map[string]any{"prefix": "s_"}, "type_names": map[string]any{"prefix": "S"}})
	expectJSON(t, "prefixed root fields at the root", gql(t, e, `{ s_search_items(args: {q: "anvil"}) { __typename maker { __typename } } __typename }`),
		`{"data":{"s_search_items":[{"__typename":"Sitem","maker":{"__typename":"Smaker"}}],"__typename":"query_root"}}`)
	expectJSON(t, "prefixed mutation", gql(t, e, `mutation { s_update_maker_by_pk(pk_columns: {id: 1}, _set: {name: "Roadrunner"}) { __typename name } }`),
		`{"data":{"s_update_maker_by_pk":{"__typename":"Smaker","name":"Roadrunner"}}}`)
}

func TestSourceCustomizationLiveQuery(t *testing.T) {
	e := customized(t)
	w := dialLive(t, e.URL, nil)
	w.subscribe("1", `subscription { shop { __typename fp_maker_fs { name } } }`, nil)
	m := w.next()
	var v any
	if m.Type != "next" || json.Unmarshal(m.Payload, &v) != nil {
		t.Fatalf("expected a result, got %s %s", m.Type, m.Payload)
	}
	// The subscription's namespace object is of its own type.
	expectJSON(t, "subscription", v, `{"data":{"shop":{"__typename":"tp_shop_subscription_ts","fp_maker_fs":[{"name":"Acme"}]}}}`)
}

func TestSourceCustomizationMetadata(t *testing.T) {
	e := customized(t)
	exportMetadata := func() string {
		t.Helper()
		_, _, body := enginetest.Do(t, "POST", e.URL+"/v1/metadata", nil, `{"type": "export_metadata", "args": {}}`)
		return body
	}
	exported := exportMetadata()
	want := `"customization":{"root_fields":{"namespace":"shop","prefix":"fp_","suffix":"_fs"},"type_names":{"prefix":"tp_","suffix":"_ts"}}`
	if !strings.Contains(exported, want) {
		t.Fatalf("export lacks %s:\n%s", want, exported)
	}
	// replace_metadata takes the export back unchanged, and the schema
	// it builds is still customized.
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "replace_metadata", "args": json.RawMessage(exported)})
	if again := exportMetadata(); again != exported {
		t.Errorf("export after replace_metadata differs:\n%s\n%s", exported, again)
	}
	expectJSON(t, "after replace_metadata", gql(t, e, `{ shop { fp_maker_fs { __typename } } }`),
		`{"data":{"shop":{"fp_maker_fs":[{"__typename":"tp_maker_ts"}]}}}`)

	// A bad name is refused where it is.
	status, got := post(t, e.URL+"/v1/metadata", map[string]any{"type": "pg_update_source", "args": map[string]any{
		"name": "shop", "customization": map[string]any{"root_fields": map[string]any{"prefix": "bad-prefix"}}}}, nil)
	expectJSON(t, "bad prefix", got, `{"path":"$.args.customization.root_fields.prefix","error":"bad-prefix is not valid GraphQL name","code":"parse-failed"}`)
	if status != 400 {
		t.Errorf("bad prefix: status %d", status)
	}

	// pg_update_source replaces the customization: no namespace, no type
	// names any more.
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "pg_update_source", "args": map[string]any{
		"name": "shop", "customization": map[string]any{"root_fields": map[string]any{"prefix": "x_"}}}})
	expectJSON(t, "after pg_update_source", gql(t, e, `{ x_maker { __typename } }`),
		`{"data":{"x_maker":[{"__typename":"maker"}]}}`)
	if got := exportMetadata(); !strings.Contains(got, `"customization":{"root_fields":{"prefix":"x_"}}`) {
		t.Errorf("export after pg_update_source: %s", got)
	}
}
