package graphql_test

import (
	"strings"
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// twoSources is an engine whose default source has authors and whose
// source "geo" (a database of its own) has cities and places, with
// remote relationships both ways: author.city (object), author.places
// (array, role user sees public places only) and place.author (object,
// back to the default source).
func twoSources(t *testing.T) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, nil)
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": `
		CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL, city_id int);
		INSERT INTO author (name, city_id) VALUES ('Ann', 2), ('Bob', NULL), ('Cy', 1);`}})
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "pg_add_source", "args": map[string]any{
		"name": "geo", "configuration": map[string]any{"connection_info": map[string]any{"database_url": pgtest.NewDatabase(t)}}}})
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"source": "geo", "sql": `
		CREATE TABLE city (id int PRIMARY KEY, name text NOT NULL);
		CREATE TABLE place (id serial PRIMARY KEY, author_id int NOT NULL, name text NOT NULL, public boolean NOT NULL);
		INSERT INTO city VALUES (1, 'Oslo'), (2, 'Rome');
		INSERT INTO place (author_id, name, public) VALUES (1, 'home', false), (1, 'office', true), (1, 'cafe', true), (3, 'hut', true);`}})
	toSource := func(typ, source, table string, mapping map[string]any) map[string]any {
		return map[string]any{"to_source": map[string]any{"relationship_type": typ, "source": source, "table": table, "field_mapping": mapping}}
	}
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "author"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"source": "geo", "table": "city"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"source": "geo", "table": "place"}},
		map[string]any{"type": "pg_create_remote_relationship", "args": map[string]any{"table": "author", "name": "city",
			"definition": toSource("object", "geo", "city", map[string]any{"city_id": "id"})}},
		map[string]any{"type": "pg_create_remote_relationship", "args": map[string]any{"table": "author", "name": "places",
			"definition": toSource("array", "geo", "place", map[string]any{"id": "author_id"})}},
		map[string]any{"type": "pg_create_remote_relationship", "args": map[string]any{"source": "geo", "table": "place", "name": "author",
			"definition": toSource("object", "default", "author", map[string]any{"author_id": "id"})}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "author", "role": "user",
			"permission": map[string]any{"columns": "*", "filter": map[string]any{}}}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"source": "geo", "table": "place", "role": "user",
			"permission": map[string]any{"columns": "*", "filter": map[string]any{"public": map[string]any{"_eq": true}}}}},
	}})
	return e
}

func TestRemoteSourceRelationships(t *testing.T) {
	e := twoSources(t)
	user := map[string]string{"X-Hasura-Role": "user"}
	cases := []struct {
		name, query string
		headers     map[string]string
		want        string
	}{
		{"object: a row of the other source, null for a null join value",
			`{ author(order_by: {id: asc}) { name city { __typename name } } }`, nil,
			`{"data":{"author":[{"name":"Ann","city":{"__typename":"city","name":"Rome"}},{"name":"Bob","city":null},{"name":"Cy","city":{"__typename":"city","name":"Oslo"}}]}}`},
		{"array with arguments, and its aggregate",
			`{ author(order_by: {id: asc}) { name places(order_by: {name: asc}, where: {public: {_eq: true}}, limit: 1) { name } places_aggregate { aggregate { count } } } }`, nil,
			`{"data":{"author":[{"name":"Ann","places":[{"name":"cafe"}],"places_aggregate":{"aggregate":{"count":3}}},{"name":"Bob","places":[],"places_aggregate":{"aggregate":{"count":0}}},{"name":"Cy","places":[{"name":"hut"}],"places_aggregate":{"aggregate":{"count":1}}}]}}`},
		{"a join within a join's rows, and the join columns need not be selected",
			`{ author_by_pk(id: 3) { places { author { name } } } }`, nil,
			`{"data":{"author_by_pk":{"places":[{"author":{"name":"Cy"}}]}}}`},
		{"the target's row filter applies; the role sees no city",
			`{ author(where: {id: {_eq: 1}}) { places(order_by: {id: asc}) { name } } }`, user,
			`{"data":{"author":[{"places":[{"name":"office"},{"name":"cafe"}]}]}}`},
		{"a role that may not select the target has no field",
			`{ author { city { name } } }`, user,
			`{"errors":[{"extensions":{"path":"$.selectionSet.author.selectionSet.city","code":"validation-failed"},"message":"field 'city' not found in type: 'author'"}]}`},
		{"not in a mutation's response",
			`mutation { insert_author_one(object: {name: "Dee"}) { city { name } } }`, nil,
			`{"errors":[{"extensions":{"path":"$.selectionSet.insert_author_one.selectionSet.city","code":"not-supported"},"message":"remote source relationships are supported in queries only"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, got := post(t, e.URL+"/v1/graphql", map[string]any{"query": c.query}, c.headers)
			expectJSON(t, c.name, got, c.want)
		})
	}
}

func TestRemoteSourceRelationshipMetadata(t *testing.T) {
	e := twoSources(t)
	_, _, exported := enginetest.Do(t, "POST", e.URL+"/v1/metadata", nil, `{"type": "export_metadata", "args": {}}`)
	want := `"remote_relationships":[{"definition":{"to_source":{"field_mapping":{"city_id":"id"},"relationship_type":"object","source":"geo","table":{"name":"city","schema":"public"}}},"name":"city"},` +
		`{"definition":{"to_source":{"field_mapping":{"id":"author_id"},"relationship_type":"array","source":"geo","table":{"name":"place","schema":"public"}}},"name":"places"}]`
	if !strings.Contains(exported, want) {
		t.Fatalf("export lacks %s:\n%s", want, exported)
	}
	status, got := post(t, e.URL+"/v1/metadata", map[string]any{"type": "pg_create_remote_relationship", "args": map[string]any{"table": "author", "name": "bad",
		"definition": map[string]any{"to_source": map[string]any{"relationship_type": "object", "source": "geo", "table": "city", "field_mapping": map[string]any{"nope": "id"}}}}}, nil)
	expectJSON(t, "a missing column", got, `{"path":"$.args","error":"column \"nope\" does not exist in table \"author\"","code":"not-exists"}`)
	if status != 400 {
		t.Errorf("a missing column: status %d", status)
	}
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "pg_delete_remote_relationship", "args": map[string]any{"table": "author", "name": "city"}})
	expectJSON(t, "after delete", gql(t, e, `{ author(limit: 1) { city { name } } }`),
		`{"errors":[{"extensions":{"path":"$.selectionSet.author.selectionSet.city","code":"validation-failed"},"message":"field 'city' not found in type: 'author'"}]}`)
}
