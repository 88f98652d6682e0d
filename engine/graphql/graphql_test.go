package graphql_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// post and mustOK are enginetest's, under the names these tests use.
var (
	post   = enginetest.PostJSON
	mustOK = enginetest.MustPost
)

// library is an engine with authors and articles, relationships, and a
// `user` role that sees published articles and its own drafts.
func library(t *testing.T) *enginetest.Engine { t.Helper(); return libraryWith(t, nil) }

// libraryWith is library on an engine with changed settings.
func libraryWith(t *testing.T, configure func(*config.Config)) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, configure)
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": `
		CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL, born date);
		CREATE TABLE article (id serial PRIMARY KEY, title text NOT NULL, author_id int NOT NULL REFERENCES author,
			published boolean NOT NULL DEFAULT false, rating numeric, secret text);
		INSERT INTO author (name, born) VALUES ('Ann', '1970-01-02'), ('Bob', NULL);
		INSERT INTO article (title, author_id, published, rating, secret) VALUES
			('A1', 1, true, 4.5, 's1'), ('A2', 1, false, 3, 's2'), ('B1', 2, true, NULL, 's3');`}})
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "author"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "article"}},
		map[string]any{"type": "pg_create_object_relationship", "args": map[string]any{"table": "article", "name": "author", "using": map[string]any{"foreign_key_constraint_on": "author_id"}}},
		map[string]any{"type": "pg_create_array_relationship", "args": map[string]any{"table": "author", "name": "articles", "using": map[string]any{"foreign_key_constraint_on": map[string]any{"table": "article", "column": "author_id"}}}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "article", "role": "user", "permission": map[string]any{
			"columns": []string{"id", "title", "author_id", "published"},
			"filter":  map[string]any{"_or": []any{map[string]any{"published": map[string]any{"_eq": true}}, map[string]any{"author_id": map[string]any{"_eq": "X-Hasura-User-Id"}}}},
			"limit":   10,
		}}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "author", "role": "user", "permission": map[string]any{
			"columns": []string{"id", "name"}, "filter": map[string]any{}, "allow_aggregations": true,
		}}},
	}})
	return e
}

func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad expectation %s: %v", s, err)
	}
	return v
}

func TestQueries(t *testing.T) {
	e := library(t)
	user := func(id string) map[string]string {
		return map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": id}
	}
	cases := []struct {
		name    string
		query   string
		vars    map[string]any
		headers map[string]string
		want    string
	}{
		{"list with where, order and limit",
			`{ article(where: {title: {_like: "A%"}}, order_by: {id: desc}, limit: 1) { id title } }`, nil, nil,
			`{"data":{"article":[{"id":2,"title":"A2"}]}}`},
		{"object and array relationships",
			`{ author(order_by: {id: asc}) { name articles(order_by: {id: asc}) { title author { name } } } }`, nil, nil,
			`{"data":{"author":[{"name":"Ann","articles":[{"title":"A1","author":{"name":"Ann"}},{"title":"A2","author":{"name":"Ann"}}]},{"name":"Bob","articles":[{"title":"B1","author":{"name":"Bob"}}]}]}}`},
		{"aggregate with nodes",
			`{ article_aggregate(where: {rating: {_is_null: false}}) { aggregate { count max { rating } } nodes { title } } }`, nil, nil,
			`{"data":{"article_aggregate":{"aggregate":{"count":2,"max":{"rating":4.5}},"nodes":[{"title":"A1"},{"title":"A2"}]}}}`},
		{"by primary key, variables, fragments, aliases, __typename",
			`query Q($id: Int!) { a: author_by_pk(id: $id) { ...F __typename } none: author_by_pk(id: 99) { id } } fragment F on author { name born }`,
			map[string]any{"id": 1}, nil,
			`{"data":{"a":{"name":"Ann","born":"1970-01-02","__typename":"author"},"none":null}}`},
		{"relationship filter and order by a related column",
			`{ article(where: {author: {name: {_eq: "Bob"}}}, order_by: [{author: {name: asc}}]) { title } }`, nil, nil,
			`{"data":{"article":[{"title":"B1"}]}}`},
		{"order by an aggregate of a relationship; null directions are ignored",
			`{ author(order_by: [{articles_aggregate: {count: desc, max: {rating: null}}}, {articles_aggregate: {count: null}}, {id: asc}]) { name } }`, nil, nil,
			`{"data":{"author":[{"name":"Ann"},{"name":"Bob"}]}}`},
		{"@skip and @include",
			`query($s: Boolean!) { author(order_by: {id: asc}, limit: 1) { name @skip(if: $s) id @include(if: $s) } }`, map[string]any{"s": true}, nil,
			`{"data":{"author":[{"id":1}]}}`},
		{"row filter with a session variable: user 2 sees published and own",
			`{ article(order_by: {id: asc}) { title } }`, nil, user("2"),
			`{"data":{"article":[{"title":"A1"},{"title":"B1"}]}}`},
		{"the same query for user 1 reuses the plan with its own session",
			`{ article(order_by: {id: asc}) { title } }`, nil, user("1"),
			`{"data":{"article":[{"title":"A1"},{"title":"A2"},{"title":"B1"}]}}`},
		{"a column outside the permission does not exist for the role",
			`{ article { secret } }`, nil, user("1"),
			`{"errors":[{"extensions":{"path":"$.selectionSet.article.selectionSet.secret","code":"validation-failed"},"message":"field 'secret' not found in type: 'article'"}]}`},
		{"no aggregate without allow_aggregations",
			`{ article_aggregate { aggregate { count } } }`, nil, user("1"),
			`{"errors":[{"extensions":{"path":"$.selectionSet.article_aggregate","code":"validation-failed"},"message":"field 'article_aggregate' not found in type: 'query_root'"}]}`},
		{"missing session variable",
			`{ article { id } }`, nil, map[string]string{"X-Hasura-Role": "user"},
			`{"errors":[{"extensions":{"path":"$","code":"not-found"},"message":"missing session variable: \"x-hasura-user-id\""}]}`},
		{"a role without permissions sees an empty schema",
			`{ article { id } }`, nil, map[string]string{"X-Hasura-Role": "nobody"},
			`{"errors":[{"extensions":{"path":"$.selectionSet.article","code":"validation-failed"},"message":"field 'article' not found in type: 'query_root'"}]}`},
		{"a variable of the wrong type",
			`query($l: String) { author(limit: $l) { id } }`, map[string]any{"l": "1"}, nil,
			`{"errors":[{"extensions":{"path":"$.selectionSet.author.args.limit","code":"validation-failed"},"message":"variable 'l' is declared as 'String', but used where 'Int' is expected"}]}`},
		{"a fragment cycle",
			`{ author { ...A } } fragment A on author { articles { ...B } } fragment B on article { author { ...A } }`, nil, nil,
			`{"errors":[{"extensions":{"path":"$.selectionSet.author.selectionSet.A.selectionSet.articles.selectionSet.B.selectionSet.author.selectionSet","code":"validation-failed"},"message":"the fragment definition(s) A and B form a cycle"}]}`},
		{"not GraphQL at all",
			`{ author { `, nil, nil,
			`{"errors":[{"extensions":{"path":"$.query","code":"validation-failed"},"message":"not a valid graphql query"}]}`},
		{"introspection",
			`{ __type(name: "author") { name fields { name } } }`, nil, user("1"),
			`{"data":{"__type":{"name":"author","fields":[{"name":"articles"},{"name":"id"},{"name":"name"}]}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, got := post(t, e.URL+"/v1/graphql", map[string]any{"query": c.query, "variables": c.vars}, c.headers)
			if status != 200 {
				t.Errorf("status %d", status)
			}
			if want := jsonOf(t, c.want); !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				t.Errorf("got  %s\nwant %s", g, c.want)
			}
		})
	}
}

func TestBatchAndStatusCodes(t *testing.T) {
	e := library(t)
	batch := []any{
		map[string]any{"query": `{ nope { id } }`},
		map[string]any{"query": `{ author(where: {id: {_eq: 2}}) { name } }`},
	}
	status, got := post(t, e.URL+"/v1/graphql", batch, nil)
	want := jsonOf(t, `[{"errors":[{"extensions":{"path":"$.selectionSet.nope","code":"validation-failed"},"message":"field 'nope' not found in type: 'query_root'"}]},{"data":{"author":[{"name":"Bob"}]}}]`)
	if status != 200 || !reflect.DeepEqual(got, want) {
		t.Errorf("batch: %d %v", status, got)
	}
	// /v1alpha1/graphql keeps the real status of an error.
	if status, _ := post(t, e.URL+"/v1alpha1/graphql", map[string]any{"query": `{ nope { id } }`}, nil); status != 400 {
		t.Errorf("v1alpha1 status %d, want 400", status)
	}
	// A database error is an error in Hasura's shape, not a 500.
	status, got = post(t, e.URL+"/v1/graphql", map[string]any{"query": `{ author(where: {born: {_eq: "not a date"}}) { id } }`}, nil)
	errs, _ := got.(map[string]any)["errors"].([]any)
	if status != 200 || len(errs) != 1 || errs[0].(map[string]any)["extensions"].(map[string]any)["code"] != "data-exception" {
		t.Errorf("bad date: %d %v", status, got)
	}
}

func TestRelay(t *testing.T) {
	e := library(t)
	_, got := post(t, e.URL+"/v1beta1/relay", map[string]any{"query": `{ author_connection(first: 1) { pageInfo { hasNextPage } edges { cursor node { id name } } } }`}, nil)
	want := jsonOf(t, `{"data":{"author_connection":{"pageInfo":{"hasNextPage":true},"edges":[{"cursor":"eyJpZCIgOiAxfQ==","node":{"id":"WzEsICJwdWJsaWMiLCAiYXV0aG9yIiwgMV0=","name":"Ann"}}]}}}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("connection: %v", got)
	}
	// Paging on from a cursor: rows after author 1.
	_, got = post(t, e.URL+"/v1beta1/relay", map[string]any{"query": `{ author_connection(after: "eyJpZCIgOiAxfQ==") { edges { node { name } } } }`}, nil)
	if want := jsonOf(t, `{"data":{"author_connection":{"edges":[{"node":{"name":"Bob"}}]}}}`); !reflect.DeepEqual(got, want) {
		t.Errorf("after: %v", got)
	}
	_, got = post(t, e.URL+"/v1beta1/relay", map[string]any{"query": `{ node(id: "WzEsICJwdWJsaWMiLCAiYXV0aG9yIiwgMl0=") { ... on author { name } } }`}, nil)
	if want := jsonOf(t, `{"data":{"node":{"name":"Bob"}}}`); !reflect.DeepEqual(got, want) {
		t.Errorf("node: %v", got)
	}
}

// FuzzGraphQL feeds arbitrary documents and variables: every answer is a
// 200 with either data or well-formed Hasura errors, never a panic or a
// 500.
func FuzzGraphQL(f *testing.F) {
	e := enginetest.Start(f, nil)
	for _, s := range []string{
		`{ __typename }`, `{ __schema { types { name } } }`, `query($a: Int) { __type(name: "x") { name } }`,
		`{ a: __typename b: __typename }`, `fragment F on query_root { __typename } { ...F }`,
		`{ x(where: {_and: [{}]}) { y } }`, `query Q { __typename } query R { __typename }`, `{`, `"`,
	} {
		f.Add(s, `{"a": 1}`)
	}
	f.Fuzz(func(t *testing.T, query, vars string) {
		body := `{"query":` + string(mustJSON(query)) + `,"variables":` + vars + `}`
		resp, err := http.Post(e.URL+"/v1/graphql", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		var out struct {
			Data   *json.RawMessage
			Errors []struct {
				Message    *string
				Extensions struct{ Path, Code *string }
			}
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("not JSON: %s", raw)
		}
		if out.Data == nil && len(out.Errors) == 0 {
			t.Fatalf("neither data nor errors: %s", raw)
		}
		for _, e := range out.Errors {
			if e.Message == nil || e.Extensions.Path == nil || e.Extensions.Code == nil || *e.Extensions.Code == "unexpected" {
				t.Fatalf("malformed or unexpected error: %s", raw)
			}
		}
	})
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// TestWideObjects selects more fields than json_build_object takes (100
// arguments), ending with a nested object.
func TestWideObjects(t *testing.T) {
	e := enginetest.Start(t, nil)
	var cols, fields []string
	for i := range 55 {
		cols = append(cols, fmt.Sprintf("c%d int DEFAULT %d", i, i))
		fields = append(fields, fmt.Sprintf("c%d", i))
	}
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": `
		CREATE TABLE wide (id int PRIMARY KEY, parent_id int REFERENCES wide, ` + strings.Join(cols, ", ") + `);
		INSERT INTO wide (id, parent_id) VALUES (1, NULL), (2, 1);`}})
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "wide"}},
		map[string]any{"type": "pg_create_object_relationship", "args": map[string]any{"table": "wide", "name": "parent", "using": map[string]any{"foreign_key_constraint_on": "parent_id"}}},
	}})
	_, got := post(t, e.URL+"/v1/graphql", map[string]any{"query": `{ wide_by_pk(id: 2) { ` + strings.Join(fields, " ") + ` parent { id parent { id } } } }`}, nil)
	obj, _ := got.(map[string]any)["data"].(map[string]any)["wide_by_pk"].(map[string]any)
	if len(obj) != 56 || obj["c54"] != float64(54) || !reflect.DeepEqual(obj["parent"], map[string]any{"id": float64(1), "parent": nil}) {
		t.Errorf("got %v", got)
	}
}
