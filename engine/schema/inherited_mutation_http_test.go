package schema_test

import (
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
)

// inheritedWriteEngine is Hasura's roles_inheritance mutation fixture:
// author may insert and update its own author row, editor update the
// phone and age of its authors and the title and content of its articles,
// publisher delete published articles; author_editor is author and
// editor, author_editor_publisher that and publisher. Besides, on
// editors: same_a and same_b have the same delete permission written two
// ways (key order, $gt for _gt, a bare value for _eq, session variable
// case), other_c another one; same_ab, same_ac inherit from them (editor
// 3 is referenced by nothing, so it may go).
func inheritedWriteEngine(t *testing.T) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, nil)
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": `
		CREATE TABLE editors (id serial PRIMARY KEY, first_name text, last_name text, phone text, age int,
			updated_at timestamptz DEFAULT now(), created_at timestamptz DEFAULT now());
		CREATE TABLE authors (id serial PRIMARY KEY, first_name text, last_name text, phone text, age int, followers int DEFAULT 0,
			editor_id int REFERENCES editors(id), updated_at timestamptz DEFAULT now(), created_at timestamptz DEFAULT now());
		CREATE TABLE articles (id serial PRIMARY KEY, title text, content text, is_published boolean DEFAULT false,
			author_id int REFERENCES authors(id), editor_id int REFERENCES editors(id),
			updated_at timestamptz DEFAULT now(), created_at timestamptz DEFAULT now());
		INSERT INTO editors (first_name, last_name, phone, age) VALUES ('Michael', 'Kahn', '123231321', 86), ('Alan', 'Bell', '432434352', 40),
			('Free', 'Lance', '555', 60);
		INSERT INTO authors (first_name, last_name, phone, age, followers, editor_id) VALUES
			('J.K', 'Rowling', '4384251032', 55, 1000000, 1), ('Paulo', 'Coelho', '3423432012', 73, 321321, 1),
			('Agatha', 'Christie', '998980211', 86, 432432, 2);
		INSERT INTO articles (title, content, is_published, author_id, editor_id) VALUES
			('Article Title 1', 'Article Content 1', true, 1, 1), ('Article Title 2', 'Article Content 2', false, 2, 1),
			('Article Title 3', 'Article Content 3', true, 3, 2);`}})
	perm := func(kind, table, role string, p map[string]any) map[string]any {
		return map[string]any{"type": "pg_create_" + kind + "_permission", "args": map[string]any{"table": table, "role": role, "permission": p}}
	}
	inherit := func(role string, parents ...string) map[string]any {
		return map[string]any{"type": "add_inherited_role", "args": map[string]any{"role_name": role, "role_set": parents}}
	}
	authorCols := []string{"first_name", "last_name", "phone", "age", "editor_id"}
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "authors"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "articles"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "editors"}},
		perm("select", "authors", "author", map[string]any{"columns": "*", "filter": map[string]any{"id": "X-Hasura-Author-Id"}}),
		perm("insert", "authors", "author", map[string]any{"check": map[string]any{"id": "X-Hasura-Author-Id"}, "set": map[string]any{"id": "X-Hasura-Author-Id"}, "columns": authorCols}),
		perm("update", "authors", "author", map[string]any{"columns": authorCols, "filter": map[string]any{"id": "X-Hasura-Author-Id"}, "set": map[string]any{"updated_at": "NOW()"}}),
		perm("update", "authors", "editor", map[string]any{"columns": []string{"phone", "age"}, "filter": map[string]any{"editor_id": "X-Hasura-Editor-Id"}, "set": map[string]any{"updated_at": "NOW()"}}),
		perm("select", "articles", "author", map[string]any{"columns": "*", "allow_aggregations": true, "filter": map[string]any{"author_id": "X-Hasura-Author-Id"}}),
		perm("select", "articles", "editor", map[string]any{"columns": "*", "filter": map[string]any{"editor_id": "X-Hasura-Editor-Id"}}),
		perm("delete", "articles", "publisher", map[string]any{"filter": map[string]any{"is_published": map[string]any{"_eq": true}}}),
		perm("update", "articles", "editor", map[string]any{"columns": []string{"title", "content"}, "filter": map[string]any{"editor_id": "X-Hasura-Editor-Id"}, "set": map[string]any{"updated_at": "NOW()"}}),
		inherit("author_editor", "author", "editor"),
		inherit("author_editor_publisher", "author_editor", "publisher"),
		perm("delete", "editors", "same_a", map[string]any{"filter": map[string]any{"id": "X-Hasura-User-Id", "age": map[string]any{"_gt": 50}}}),
		perm("delete", "editors", "same_b", map[string]any{"filter": map[string]any{"age": map[string]any{"$gt": 50}, "id": map[string]any{"_eq": "x-hasura-user-id"}}}),
		perm("delete", "editors", "other_c", map[string]any{"filter": map[string]any{"id": "X-Hasura-User-Id", "age": map[string]any{"_gt": 40}}}),
		inherit("same_ab", "same_a", "same_b"),
		inherit("same_ac", "same_a", "other_c"),
	}})
	return e
}

func TestInheritedRoleMutations(t *testing.T) {
	e := inheritedWriteEngine(t)
	cases := []struct {
		name    string
		headers map[string]string
		query   string
		want    string
	}{
		// Only author may insert: author_editor inherits it as it is,
		// session variable included.
		{"a single parent's permission is inherited", session("author_editor"),
			`mutation { insert_authors(objects: {first_name: "Alex", last_name: "Michaeledes", phone: "32132314", age: 32, editor_id: 1}) { affected_rows } }`,
			`{"errors":[{"extensions":{"path":"$","code":"not-found"},"message":"missing session variable: \"x-hasura-author-id\""}]}`},
		{"with the parent's session variable", session("author_editor", "X-Hasura-Author-Id", "4"),
			`mutation { insert_authors(objects: {first_name: "Alex", last_name: "Michaeledes", phone: "32132314", age: 32, editor_id: 1}) { affected_rows returning { id first_name } } }`,
			`{"data":{"insert_authors":{"affected_rows":1,"returning":[{"id":4,"first_name":"Alex"}]}}}`},
		// author and editor may both update authors, differently.
		{"conflicting parents leave no permission", session("author_editor"),
			`mutation { update_authors(_set: {phone: "43424320132"}) { affected_rows } }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.update_authors","code":"validation-failed"},"message":"field 'update_authors' not found in type: 'mutation_root'"}]}`},
		// Two levels: author_editor has no delete, publisher has.
		{"a nested inherited role inherits", session("author_editor_publisher", "X-Hasura-Editor-Id", "1", "X-Hasura-Author-Id", "1"),
			`mutation { delete_articles(where: {id: {_eq: 1}}) { affected_rows } }`,
			`{"data":{"delete_articles":{"affected_rows":1}}}`},
		{"through an inherited parent", session("author_editor_publisher", "X-Hasura-Editor-Id", "2", "X-Hasura-Author-Id", "1"),
			`mutation { update_articles(_set: {title: "T3"}, where: {}) { affected_rows returning { id title } } }`,
			`{"data":{"update_articles":{"affected_rows":1,"returning":[{"id":3,"title":"T3"}]}}}`},
		{"the same permission written two ways is the same", session("same_ab", "X-Hasura-User-Id", "3"),
			`mutation { delete_editors(where: {}) { affected_rows } }`,
			`{"data":{"delete_editors":{"affected_rows":1}}}`},
		// same_ac has no other mutation: no mutation_root at all.
		{"different ones conflict", session("same_ac", "X-Hasura-User-Id", "3"),
			`mutation { delete_editors(where: {}) { affected_rows } }`,
			`{"errors":[{"extensions":{"path":"$","code":"validation-failed"},"message":"no mutations exist"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectJSON(t, gqlAs(t, e, c.headers, c.query, nil), c.want)
		})
	}

	// The inherited role's own permission resolves the conflict.
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "pg_create_update_permission", "args": map[string]any{"table": "authors", "role": "author_editor", "permission": map[string]any{
		"columns": []string{"first_name", "last_name", "phone", "age", "editor_id"}, "filter": map[string]any{"id": "X-Hasura-Author-Id"}, "set": map[string]any{"updated_at": "NOW()"},
	}}})
	expectJSON(t, gqlAs(t, e, session("author_editor", "X-Hasura-Author-Id", "1"),
		`mutation { update_authors(_set: {phone: "43424320132"}, where: {id: {_eq: 1}}) { affected_rows } }`, nil),
		`{"data":{"update_authors":{"affected_rows":1}}}`)
}
