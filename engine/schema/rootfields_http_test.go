package schema_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// rootFieldsEngine is an engine with authors, their articles (related
// both ways) and a function listing authors, where role
//
//   - user may query author by primary key only and subscribe to none of
//     its root fields, and has every root field of article (its
//     permission gives no lists);
//   - hidden has article with both lists empty, and nothing else (the
//     function returns authors: hidden does not see it).
func rootFieldsEngine(t *testing.T) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, nil)
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": `
		CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL);
		CREATE TABLE article (id serial PRIMARY KEY, title text NOT NULL, author_id int NOT NULL REFERENCES author);
		INSERT INTO author (name) VALUES ('Ann'), ('Bob');
		INSERT INTO article (title, author_id) VALUES ('A1', 1), ('B1', 2), ('A2', 1);
		CREATE FUNCTION authors_named(prefix text) RETURNS SETOF author AS $$
			SELECT * FROM author WHERE name LIKE prefix || '%' $$ LANGUAGE sql STABLE;`}})
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "author"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "article"}},
		map[string]any{"type": "pg_track_function", "args": map[string]any{"function": "authors_named"}},
		map[string]any{"type": "pg_create_object_relationship", "args": map[string]any{"table": "article", "name": "author", "using": map[string]any{"foreign_key_constraint_on": "author_id"}}},
		map[string]any{"type": "pg_create_array_relationship", "args": map[string]any{"table": "author", "name": "articles", "using": map[string]any{"foreign_key_constraint_on": map[string]any{"table": "article", "column": "author_id"}}}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "author", "role": "user", "permission": map[string]any{
			"columns": "*", "filter": map[string]any{}, "allow_aggregations": true,
			"query_root_fields": []string{"select_by_pk"}, "subscription_root_fields": []string{},
		}}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "article", "role": "user", "permission": map[string]any{
			"columns": "*", "filter": map[string]any{}, "allow_aggregations": true,
		}}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "article", "role": "hidden", "permission": map[string]any{
			"columns": "*", "filter": map[string]any{}, "query_root_fields": []string{}, "subscription_root_fields": []string{},
		}}},
	}})
	return e
}

const rootsIntrospection = `{ __schema { queryType { fields { name } } subscriptionType { fields { name } } } }`

func TestRootFieldListsNarrowTheRoots(t *testing.T) {
	e := rootFieldsEngine(t)
	cases := []struct{ name, role, query, want string }{
		{"admin has every root field", "admin", rootsIntrospection,
			`{"data":{"__schema":{
				"queryType":{"fields":[{"name":"article"},{"name":"article_aggregate"},{"name":"article_by_pk"},{"name":"author"},{"name":"author_aggregate"},{"name":"author_by_pk"},{"name":"authors_named"},{"name":"authors_named_aggregate"}]},
				"subscriptionType":{"fields":[{"name":"article"},{"name":"article_aggregate"},{"name":"article_by_pk"},{"name":"article_stream"},{"name":"author"},{"name":"author_aggregate"},{"name":"author_by_pk"},{"name":"author_stream"},{"name":"authors_named"},{"name":"authors_named_aggregate"}]}}}}`},
		// author: only author_by_pk in query_root, nothing in
		// subscription_root; article (no lists): everything; the function
		// ignores its return table's lists, as in Hasura.
		{"user's roots follow the lists", "user", rootsIntrospection,
			`{"data":{"__schema":{
				"queryType":{"fields":[{"name":"article"},{"name":"article_aggregate"},{"name":"article_by_pk"},{"name":"author_by_pk"},{"name":"authors_named"},{"name":"authors_named_aggregate"}]},
				"subscriptionType":{"fields":[{"name":"article"},{"name":"article_aggregate"},{"name":"article_by_pk"},{"name":"article_stream"},{"name":"authors_named"},{"name":"authors_named_aggregate"}]}}}}`},
		{"empty lists leave no root field at all", "hidden", rootsIntrospection,
			`{"data":{"__schema":{"queryType":{"fields":[{"name":"no_queries_available"}]},"subscriptionType":null}}}`},

		{"the by_pk field answers", "user", `{ author_by_pk(id: 1) { name } }`,
			`{"data":{"author_by_pk":{"name":"Ann"}}}`},
		{"the list field is refused", "user", `{ author { id } }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.author","code":"validation-failed"},"message":"field 'author' not found in type: 'query_root'"}]}`},
		{"the aggregate field is refused", "user", `{ author_aggregate { aggregate { count } } }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.author_aggregate","code":"validation-failed"},"message":"field 'author_aggregate' not found in type: 'query_root'"}]}`},
		{"the table stays reachable through relationships", "user",
			`{ article(order_by: {id: asc}) { title author { name } } author_by_pk(id: 1) { articles(order_by: {id: asc}) { title } articles_aggregate { aggregate { count } } } }`,
			`{"data":{"article":[{"title":"A1","author":{"name":"Ann"}},{"title":"B1","author":{"name":"Bob"}},{"title":"A2","author":{"name":"Ann"}}],
				"author_by_pk":{"articles":[{"title":"A1"},{"title":"A2"}],"articles_aggregate":{"aggregate":{"count":2}}}}}`},
		{"and through a function returning its rows", "user", `{ authors_named(args: {prefix: "B"}) { name } }`,
			`{"data":{"authors_named":[{"name":"Bob"}]}}`},
		{"a subscription to a hidden field is refused", "user", `subscription { author_by_pk(id: 1) { name } }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.author_by_pk","code":"validation-failed"},"message":"field 'author_by_pk' not found in type: 'subscription_root'"}]}`},
		{"a subscription to a visible field answers", "user", `subscription { article_by_pk(id: 2) { title } }`,
			`{"data":{"article_by_pk":{"title":"B1"}}}`},
		{"no subscription field, no subscriptions", "hidden", `subscription { article { id } }`,
			`{"errors":[{"extensions":{"path":"$","code":"validation-failed"},"message":"no subscriptions exist"}]}`},
		{"admin may still query everything", "admin", `{ author_aggregate { aggregate { count } } author(where: {id: {_eq: 2}}) { name } }`,
			`{"data":{"author_aggregate":{"aggregate":{"count":2}},"author":[{"name":"Bob"}]}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectJSON(t, gql(t, e, "/v1/graphql", c.role, c.query), c.want)
		})
	}
}

// In the relay schema a table's connection follows "select" of
// query_root_fields; its rows stay nodes.
func TestRootFieldListsInRelay(t *testing.T) {
	e := rootFieldsEngine(t)
	expectJSON(t, gql(t, e, "/v1beta1/relay", "user", `{ __schema { queryType { fields { name } } } }`),
		`{"data":{"__schema":{"queryType":{"fields":[{"name":"article_connection"},{"name":"authors_named_connection"},{"name":"node"}]}}}}`)
	expectJSON(t, gql(t, e, "/v1beta1/relay", "user", `{ author_connection { edges { node { name } } } }`),
		`{"errors":[{"extensions":{"path":"$.selectionSet.author_connection","code":"validation-failed"},"message":"field 'author_connection' not found in type: 'query_root'"}]}`)
	// The node of author 2: [1, "public", "author", 2], base64.
	expectJSON(t, gql(t, e, "/v1beta1/relay", "user", `{ node(id: "WzEsICJwdWJsaWMiLCAiYXV0aG9yIiwgMl0=") { ... on author { name } } }`),
		`{"data":{"node":{"name":"Bob"}}}`)
	// No connection at all, yet the rows are still nodes.
	expectJSON(t, gql(t, e, "/v1beta1/relay", "hidden", `{ __schema { queryType { fields { name } } } }`),
		`{"data":{"__schema":{"queryType":{"fields":[{"name":"node"}]}}}}`)
	expectJSON(t, gql(t, e, "/v1beta1/relay", "hidden", `{ node(id: "WzEsICJwdWJsaWMiLCAiYXJ0aWNsZSIsIDJd") { ... on article { title } } }`),
		`{"data":{"node":{"title":"B1"}}}`)
}

// The lists are kept as given: absent stays absent, [] stays [].
func TestRootFieldListsRoundTrip(t *testing.T) {
	e := rootFieldsEngine(t)
	_, got := post(t, e.URL+"/v1/metadata", map[string]any{"type": "export_metadata", "args": map[string]any{}}, nil)
	perms := map[string]any{}
	for _, tbl := range got.(map[string]any)["sources"].([]any)[0].(map[string]any)["tables"].([]any) {
		tm := tbl.(map[string]any)
		name := tm["table"].(map[string]any)["name"].(string)
		sel, _ := tm["select_permissions"].([]any)
		for _, p := range sel {
			pm := p.(map[string]any)
			perms[name+"/"+pm["role"].(string)] = pm["permission"]
		}
	}
	for key, want := range map[string]string{
		"author/user":    `{"query_root_fields":["select_by_pk"],"subscription_root_fields":[]}`,
		"article/hidden": `{"query_root_fields":[],"subscription_root_fields":[]}`,
		"article/user":   `{}`,
	} {
		p, _ := perms[key].(map[string]any)
		lists := map[string]any{}
		for _, k := range []string{"query_root_fields", "subscription_root_fields"} {
			if v, ok := p[k]; ok {
				lists[k] = v
			}
		}
		if w := jsonOf(t, want); !reflect.DeepEqual(lists, w) {
			g, _ := json.Marshal(lists)
			t.Errorf("%s: lists %s, want %s", key, g, want)
		}
	}
}

// gql posts a GraphQL request to path as role and returns the response.
func gql(t *testing.T, e *enginetest.Engine, path, role, query string) any {
	t.Helper()
	_, got := post(t, e.URL+path, map[string]any{"query": query}, map[string]string{"X-Hasura-Role": role})
	return got
}

// post and mustOK are enginetest's, under the names these tests use.
var (
	post   = enginetest.PostJSON
	mustOK = enginetest.MustPost
)

func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON in test: %v: %s", err, s)
	}
	return v
}

func expectJSON(t *testing.T, got any, want string) {
	t.Helper()
	if w := jsonOf(t, want); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("got  %s\nwant %s", g, want)
	}
}
