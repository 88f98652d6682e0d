package graphql_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// writer is the session of the `writer` role (see writable).
func writer(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{"X-Hasura-Role": "writer", "X-Hasura-User-Id": "1"}
}

// writable is the library with a `writer` role that inserts and updates
// articles as their author (author_id preset, rating at most 5); it returns a function
// that posts a query and decodes the answer.
func writable(t *testing.T) func(string, map[string]string) any {
	t.Helper()
	e := library(t)
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_create_insert_permission", "args": map[string]any{"table": "article", "role": "writer", "permission": map[string]any{
			"columns": []string{"title", "rating"},
			"check":   map[string]any{"rating": map[string]any{"_lte": 5}},
			"set":     map[string]any{"author_id": "X-Hasura-User-Id"},
		}}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "article", "role": "writer", "permission": map[string]any{
			"columns": "*", "filter": map[string]any{"author_id": map[string]any{"_eq": "X-Hasura-User-Id"}},
		}}},
		map[string]any{"type": "pg_create_update_permission", "args": map[string]any{"table": "article", "role": "writer", "permission": map[string]any{
			"columns": []string{"title", "rating"},
			"filter":  map[string]any{"author_id": map[string]any{"_eq": "X-Hasura-User-Id"}},
			"check":   map[string]any{"rating": map[string]any{"_lte": 5}},
		}}},
	}})
	// A VOLATILE function is a mutation.
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": `
		CREATE FUNCTION retitle(old text, new text) RETURNS SETOF article LANGUAGE sql VOLATILE AS
			'UPDATE article SET title = new WHERE title = old RETURNING *';`}})
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "pg_track_function", "args": map[string]any{"function": "retitle"}})
	return func(q string, h map[string]string) any {
		_, out := post(t, e.URL+"/v1/graphql", map[string]any{"query": q}, h)
		return out
	}
}

func TestMutations(t *testing.T) {
	gql := writable(t)
	count := func() any {
		return gql(`{ article_aggregate { aggregate { count } } }`, nil)
	}
	before := count()
	cases := []struct {
		name, query string
		headers     map[string]string
		want        string
	}{
		{"insert with a preset from the session, returning",
			`mutation { insert_article(objects: [{title: "W1", rating: 2}]) { affected_rows returning { title author_id } } }`, writer(t),
			`{"data":{"insert_article":{"affected_rows":1,"returning":[{"title":"W1","author_id":1}]}}}`},
		{"a failed insert check commits nothing (one statement, no transaction)",
			`mutation { insert_article(objects: [{title: "W2", rating: 2}, {title: "W3", rating: 9}]) { affected_rows } }`, writer(t),
			`{"errors":[{"extensions":{"path":"$.selectionSet.insert_article.args.objects","code":"permission-error"},"message":"check constraint of an insert/update permission has failed"}]}`},
		{"three root fields whose third fails roll back together",
			`mutation {
				a: insert_article(objects: [{title: "T1", rating: 1}]) { affected_rows }
				b: update_article(where: {title: {_eq: "A1"}}, _set: {title: "A1x"}) { affected_rows }
				c: update_article(where: {title: {_eq: "A2"}}, _set: {rating: 7}) { affected_rows }
			}`, writer(t),
			`{"errors":[{"extensions":{"path":"$","code":"permission-error"},"message":"check constraint of an insert/update permission has failed"}]}`},
		{"nested insert: the author first, its key flows into the article",
			`mutation { insert_article_one(object: {title: "N1", author: {data: {name: "Cy"}}}) { title author { name articles { title } } } }`, nil,
			`{"data":{"insert_article_one":{"title":"N1","author":{"name":"Cy","articles":[{"title":"N1"}]}}}}`},
		{"nested insert through an array relationship",
			`mutation { insert_author(objects: [{name: "Di", articles: {data: [{title: "D1"}, {title: "D2"}]}}]) { affected_rows returning { name articles(order_by: {title: asc}) { title } } } }`, nil,
			`{"data":{"insert_author":{"affected_rows":3,"returning":[{"name":"Di","articles":[{"title":"D1"},{"title":"D2"}]}]}}}`},
		{"update outside the row filter touches nothing",
			`mutation { update_article(where: {title: {_eq: "B1"}}, _set: {title: "B1x"}) { affected_rows } }`, writer(t),
			`{"data":{"update_article":{"affected_rows":0}}}`},
		{"a volatile function runs as a mutation",
			`mutation { retitle(args: {old: "D2", new: "D3"}) { title } }`, nil,
			`{"data":{"retitle":[{"title":"D3"}]}}`},
		{"and is not a query",
			`{ retitle(args: {old: "D3", new: "D4"}) { title } }`, nil,
			`{"errors":[{"extensions":{"path":"$.selectionSet.retitle","code":"validation-failed"},"message":"field 'retitle' not found in type: 'query_root'"}]}`},
		{"delete by primary key returns the row",
			`mutation { delete_article_by_pk(id: 3) { title } }`, nil,
			`{"data":{"delete_article_by_pk":{"title":"B1"}}}`},
		{"a role without insert permission has no such field",
			`mutation { insert_author(objects: [{name: "X"}]) { affected_rows } }`, writer(t),
			`{"errors":[{"extensions":{"path":"$.selectionSet.insert_author","code":"validation-failed"},"message":"field 'insert_author' not found in type: 'mutation_root'"}]}`},
		{"a constraint violation in Hasura's words",
			`mutation { insert_article(objects: [{title: "Z", author_id: 99}]) { affected_rows } }`, nil,
			`{"errors":[{"extensions":{"path":"$.selectionSet.insert_article.args.objects","code":"constraint-violation"},"message":"Foreign key violation. insert or update on table \"article\" violates foreign key constraint \"article_author_id_fkey\""}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := gql(tc.query, tc.headers)
			if want := jsonOf(t, tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
		})
	}
	// 3 library articles + W1 + N1 + D1 + D3 - B1; T1 and the failed ones
	// never landed.
	want := jsonOf(t, `{"data":{"article_aggregate":{"aggregate":{"count":6}}}}`)
	if got := count(); !reflect.DeepEqual(got, want) {
		t.Errorf("article count: before %v, after %v, want %v", before, got, want)
	}
	if got, want := gql(`{ article(where: {title: {_in: ["A1x", "T1"]}}) { id } }`, nil), jsonOf(t, `{"data":{"article":[]}}`); !reflect.DeepEqual(got, want) {
		t.Errorf("the rolled-back mutation left %v", got)
	}
}

// TestConcurrentUpserts: 20 upserts racing on one key leave one row whose
// value is one of theirs.
func TestConcurrentUpserts(t *testing.T) {
	gql := writable(t)
	gql(`mutation { insert_author_one(object: {id: 100, name: "seed"}) { id } }`, nil)
	var wg sync.WaitGroup
	errs := make(chan any, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := gql(fmt.Sprintf(`mutation { insert_author(objects: [{id: 100, name: "w%d"}], on_conflict: {constraint: author_pkey, update_columns: [name]}) { affected_rows } }`, i), nil)
			if !reflect.DeepEqual(out, jsonOf(t, `{"data":{"insert_author":{"affected_rows":1}}}`)) {
				errs <- out
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("upsert: %v", e)
	}
	out := gql(`{ author(where: {id: {_eq: 100}}) { name } }`, nil)
	rows := out.(map[string]any)["data"].(map[string]any)["author"].([]any)
	if len(rows) != 1 {
		t.Fatalf("rows with id 100: %v", rows)
	}
	name := rows[0].(map[string]any)["name"].(string)
	valid := false
	for i := range 20 {
		valid = valid || name == fmt.Sprintf("w%d", i)
	}
	if !valid {
		t.Errorf("final name %q is none of the upserts'", name)
	}
}
