package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// A blog: articles by authors, with a status and a generated column.
const blogSchema = `
create table authors (id serial primary key, name text, mood text);
create table articles (id serial primary key, title text, body text, status int, published boolean,
  author_id int references authors(id), words int generated always as (id * 2) stored);
create table secrets (id int primary key, owner text);
create function title_upper(a articles) returns text language sql stable as $$ select upper(a.title) $$;
create function same_author(a articles) returns setof articles language sql stable as $$ select * from articles where author_id = a.author_id $$;`

func startBlog(t *testing.T) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, withSecret)
	pgtest.Exec(t, e.DatabaseURL, blogSchema)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"pg_track_table","args":{"table":"authors"}},
	  {"type":"pg_track_table","args":{"table":"articles"}},
	  {"type":"pg_create_object_relationship","args":{"table":"articles","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
	  {"type":"pg_add_computed_field","args":{"table":"articles","name":"shout","definition":{"function":"title_upper"}}},
	  {"type":"pg_add_computed_field","args":{"table":"articles","name":"siblings","definition":{"function":"same_author"}}}]}`)
	return e
}

// invalidPermission is create_*_permission's answer for a permission that
// does not fit the database: the reason, and the permission inside.
func invalidPermission(reason string) string {
	return fmt.Sprintf(`{"error":%q,"code":"invalid-configuration"}`, "Inconsistent object: "+reason)
}

// errorOf keeps an error response's error and code (the path and the
// internal objects are checked elsewhere).
func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	out, _ := json.Marshal(e)
	return string(out)
}

func TestCreatePermissionMustFitTheDatabase(t *testing.T) {
	e := startBlog(t)
	create := func(kind, perm string) string {
		return fmt.Sprintf(`{"type":"pg_create_%s_permission","args":{"table":"articles","role":"user","permission":%s}}`, kind, perm)
	}
	in := func(reason string) string {
		return invalidPermission(`in table "articles": in permission for role "user": ` + reason)
	}
	for _, tc := range []struct{ body, want string }{
		{create("select", `{"columns":["id","nope"],"filter":{}}`), in(`column "nope" does not exist`)},
		{create("select", `{"columns":["id","author"],"filter":{}}`),
			in(`expecting a database column; but, "author" is a relationship; permissions for relationships are automatically inferred`)},
		{create("select", `{"columns":["id"],"filter":{"nope2":{"_eq":1}}}`), in(`"nope2" does not exist`)},
		{create("select", `{"columns":["id"],"filter":{"id":{"_bogus_op":1}}}`), in(`Unknown operator: _bogus_op`)},
		{create("select", `{"columns":["id"],"filter":{"_or":[{"id":1},{"author":{"nope":{"_eq":1}}}]}}`), in(`"nope" does not exist`)},
		{create("select", `{"columns":["id"],"filter":{"_exists":{"_table":"secrets","_where":{"owner":"X-Hasura-User-Id"}}}}`), in(`table "secrets" does not exist`)},
		{create("select", `{"columns":["id"],"filter":{"status":{"_like":"1%"}}}`),
			in(` is of type "integer"; this operator works only on columns of type "varchar", "text", "citext", "bpchar"`)},
		{create("select", `{"columns":["id"],"filter":{"status":{"_ceq":"title"}}}`),
			in(`incompatible column types: "status" has type "integer", but "title" has type "text"`)},
		{create("select", `{"columns":["id"],"filter":{"status":{"_in":3}}}`), in(`parsing [] failed, expected Array, but encountered Number`)},
		{create("select", `{"columns":["id"],"filter":{"published":{"_eq":1}}}`), in(`parsing Bool failed, expected Boolean, but encountered Number`)},
		{create("select", `{"columns":"*","computed_fields":["random"],"filter":{}}`), in(`computed field "random" does not exist`)},
		{create("select", `{"columns":"*","computed_fields":["siblings"],"filter":{}}`),
			in(`select permissions on computed field "siblings" are auto-derived from the permissions on its returning table "articles" and cannot be specified manually`)},
		{create("select", `{"columns":["title"],"filter":{},"query_root_fields":["select","select_by_pk"]}`),
			in(`The "select_by_pk" field cannot be included in the query_root_fields or subscription_root_fields because the role "user" does not have access to the primary key of the table "articles" in the source "default"`)},
		{create("select", `{"columns":"*","filter":{},"subscription_root_fields":["select_aggregate"]}`),
			in(`The "select_aggregate" root field can only be enabled in the query_root_fields or  the subscription_root_fields when "allow_aggregations" is set to true`)},
		{create("insert", `{"columns":["bogus"],"check":{}}`), in(`column "bogus" does not exist`)},
		{create("insert", `{"columns":["title"],"check":{},"set":{"alsobogus":"x"}}`), in(`column "alsobogus" does not exist`)},
		{create("insert", `{"columns":["title","words"],"check":{}}`), in(`Column "words" is not insertable and so cannot have insert permissions defined`)},
		{create("update", `{"columns":["title"],"filter":{},"check":{"nope":{"_is_null":true}}}`), in(`"nope" does not exist`)},
		{create("update", `{"columns":["author"],"filter":{}}`),
			in(`expecting a database column; but, "author" is a relationship; Only table columns can have update permissions defined, not relationships or other field types`)},
		{create("delete", `{"filter":{"shout":{"_nope":"X"}}}`), in(`Unknown operator: _nope`)},
	} {
		status, got := post(t, e.URL, "/v1/metadata", tc.body)
		if status != 400 || errorOf(t, got) != tc.want {
			t.Errorf("%s:\n got %d %s\nwant 400 %s", tc.body, status, got, tc.want)
		}
	}

	// The refused permission comes back inside the error, as Hasura shows it.
	_, got := post(t, e.URL, "/v1/query", `{"type":"create_select_permission","args":{"table":"articles","role":"user","permission":{"columns":"*","computed_fields":["shout","random"],"filter":{}}}}`)
	reason := `Inconsistent object: in table "articles": in permission for role "user": computed field "random" does not exist`
	want := fmt.Sprintf(`{"path":"$.args","error":%q,"code":"invalid-configuration","internal":[{"definition":{"comment":null,"permission":{"allow_aggregations":false,"columns":"*","computed_fields":["shout","random"],"filter":{}},"role":"user","source":"default","table":{"name":"articles","schema":"public"}},"reason":%q,"name":"select_permission user in table articles in source default","type":"select_permission"}]}`, reason, reason)
	if got != want {
		t.Errorf("internal:\n got %s\nwant %s", got, want)
	}

	// What does fit is taken: session variables, relationships, _exists
	// on a tracked table, computed fields, column comparisons, root fields
	// the role can serve.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"pg_track_table","args":{"table":"secrets"}},
	  `+create("select", `{"columns":["id","title"],"computed_fields":["shout"],"allow_aggregations":true,
	    "query_root_fields":["select_by_pk","select_aggregate"],
	    "filter":{"_and":[{"author":{"name":{"_ilike":"%a%"}}},{"status":{"_in":[1,2]}},{"id":{"_ceq":["$","id"]}},
	      {"shout":{"_eq":"X"}},{"siblings":{"status":{"_gt":0}}},{"author_id":"X-Hasura-User-Id"},
	      {"_exists":{"_table":"secrets","_where":{"owner":{"_eq":"X-Hasura-User-Id"}}}}]}}`)+`,
	  `+create("insert", `{"check":{"author_id":"X-Hasura-User-Id"},"set":{"status":1,"published":"x-hasura-published"}}`)+`,
	  `+create("update", `{"columns":"*","filter":{"status":{"_is_null":false}}}`)+`,
	  `+create("delete", `{"filter":{"_not":{"published":true}}}`)+`]}`)
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
}

func TestInconsistentPermissionsUnderReplaceMetadata(t *testing.T) {
	e := startBlog(t)
	_, md := exportV2(t, e.URL)
	tables := md["sources"].([]any)[0].(map[string]any)["tables"].([]any)
	for _, raw := range tables {
		tbl := raw.(map[string]any)
		if tbl["table"].(map[string]any)["name"] == "articles" {
			tbl["select_permissions"] = []any{
				map[string]any{"role": "user", "permission": map[string]any{"columns": []any{"id", "nope"}, "filter": map[string]any{}}},
				map[string]any{"role": "viewer", "permission": map[string]any{"columns": []any{"id", "title"}, "filter": map[string]any{}}},
			}
		}
	}
	doc, _ := json.Marshal(md)

	// Refused unless inconsistencies are allowed...
	status, got := post(t, e.URL, "/v1/metadata", `{"type":"replace_metadata","version":2,"args":{"metadata":`+string(doc)+`}}`)
	if status != 400 || !strings.Contains(got, `"name":"select_permission user in table articles in source default"`) {
		t.Errorf("replace_metadata: %d %s", status, got)
	}
	// ... when the permission is an inconsistent object, left out of the
	// schema: the role sees nothing of the table.
	reason := `Inconsistent object: in table \"articles\": in permission for role \"user\": column \"nope\" does not exist`
	object := `{"definition":{"comment":null,"permission":{"allow_aggregations":false,"columns":["id","nope"],"computed_fields":[],"filter":{}},"role":"user","source":"default","table":{"name":"articles","schema":"public"}},"reason":"` + reason + `","name":"select_permission user in table articles in source default","type":"select_permission"}`
	out := mustOK(t, e.URL, "/v1/metadata", `{"type":"replace_metadata","version":2,"args":{"allow_inconsistent_metadata":true,"metadata":`+string(doc)+`}}`)
	if want := `{"inconsistent_objects":[` + object + `],"is_consistent":false}`; out != want {
		t.Errorf("replace_metadata:\n got %s\nwant %s", out, want)
	}
	expectConsistency(t, e, `{"inconsistent_objects":[`+object+`],"is_consistent":false}`, "WARN: inconsistent objects in schema")
	query := `{"query":"{ articles { id } }"}`
	if got := graphqlAs(t, e.URL, "user", query); !strings.Contains(got, `field 'articles' not found in type: 'query_root'`) {
		t.Errorf("user: %s", got)
	}
	if got := graphqlAs(t, e.URL, "viewer", query); got != `{"data":{"articles":[]}}` {
		t.Errorf("viewer: %s", got)
	}
	status, got = post(t, e.URL, "/v1/query", `{"type":"select","args":{"table":"articles","columns":["id"]}}`, "X-Hasura-Role", "user")
	if status != 400 || !strings.Contains(got, `select on \"articles\" for role \"user\" is not allowed`) {
		t.Errorf("v1 select as user: %d %s", status, got)
	}

	// drop_inconsistent_metadata drops the permission and nothing else.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_inconsistent_metadata","args":{}}`)
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
	if exported := mustOK(t, e.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`); strings.Contains(exported, `"nope"`) || !strings.Contains(exported, `"viewer"`) {
		t.Errorf("after drop_inconsistent_metadata: %s", exported)
	}
}

// graphqlAs runs a query with the admin secret as role.
func graphqlAs(t *testing.T, base, role, query string) string {
	t.Helper()
	_, out := post(t, base, "/v1/graphql", query, "X-Hasura-Role", role, "X-Hasura-User-Id", "1")
	return out
}

func TestRunSQLKeepsPermissionsWhole(t *testing.T) {
	e := startBlog(t)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"pg_create_select_permission","args":{"table":"articles","role":"user","permission":{"columns":["id","body"],"filter":{"author_id":"X-Hasura-User-Id"}}}},
	  {"type":"pg_create_update_permission","args":{"table":"articles","role":"editor","permission":{"columns":["title"],"filter":{"status":{"_eq":1}}}}},
	  {"type":"pg_create_select_permission","args":{"table":"authors","role":"user","permission":{"columns":"*","filter":{"_exists":{"_table":"articles","_where":{"status":{"_eq":1}}}}}}}]}`)
	runSQL := func(stmt string, cascade bool) string {
		return fmt.Sprintf(`{"type":"run_sql","args":{"sql":%q,"cascade":%t}}`, stmt, cascade)
	}
	const (
		userSelect    = `permission articles.user.select in source \"default\"`
		editorUpdate  = `permission articles.editor.update in source \"default\"`
		authorsSelect = `permission authors.user.select in source \"default\"`
		relationship  = `relationship articles.author in source \"default\"`
	)
	expectErrors(t, e.URL, []errCase{
		// A column a permission lists, filters on or reaches through
		// _exists; Hasura lists the dependents sorted.
		{"/v2/query", runSQL("ALTER TABLE articles DROP COLUMN body", false), 400, dependents(userSelect)},
		{"/v2/query", runSQL("ALTER TABLE articles DROP COLUMN status CASCADE", false), 400, dependents(editorUpdate, authorsSelect)},
		{"/v2/query", runSQL("ALTER TABLE articles DROP COLUMN status, DROP COLUMN author_id CASCADE", false), 400,
			dependents(editorUpdate, userSelect, authorsSelect, relationship)},
		// "*" stands for every column there is, each a dependency.
		{"/v2/query", runSQL("ALTER TABLE authors DROP COLUMN mood", false), 400, dependents(authorsSelect)},
		// A table a permission reaches through _exists.
		{"/v2/query", runSQL("DROP TABLE articles CASCADE", false), 400, dependents(authorsSelect)},
		// A column compared to a static value cannot change type, even
		// with cascade.
		{"/v2/query", runSQL("ALTER TABLE articles ALTER COLUMN status TYPE text", true), 400,
			`{"path":"$.args","error":"cannot change type of column \"status\" in table \"articles\" because of the following dependencies: ` +
				editorUpdate + `, ` + authorsSelect + `","code":"dependency-error"}`},
	})
	pgtest.Exec(t, e.DatabaseURL, `SELECT body, status, author_id, mood FROM articles, authors`) // all rolled back

	// One compared only to session variables may.
	mustOK(t, e.URL, "/v2/query", runSQL("ALTER TABLE articles ALTER COLUMN author_id TYPE bigint", false))

	// With cascade the dependent permissions go with the column.
	mustOK(t, e.URL, "/v2/query", runSQL("ALTER TABLE articles DROP COLUMN status CASCADE", true))
	exported := mustOK(t, e.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	if strings.Contains(exported, `"editor"`) || strings.Contains(exported, `_exists`) || !strings.Contains(exported, `"body"`) {
		t.Errorf("after DROP COLUMN status with cascade: %s", exported)
	}
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")

	// A table renamed keeps the permissions that reach it through _exists.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"pg_create_select_permission","args":{"table":"authors","role":"user","permission":{"columns":"*","filter":{"_exists":{"_table":"articles","_where":{"title":{"_eq":"x"}}}}}}}`)
	mustOK(t, e.URL, "/v2/query", runSQL("ALTER TABLE articles RENAME TO posts", false))
	if exported := mustOK(t, e.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`); !strings.Contains(exported, `"_table":{"name":"posts","schema":"public"}`) {
		t.Errorf("after the rename: %s", exported)
	}
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
}

func dependents(objs ...string) string {
	return `{"path":"$.args","error":"cannot drop due to the following dependent objects: ` + strings.Join(objs, ", ") + `","code":"dependency-error"}`
}

func TestDroppingWhatPermissionsUse(t *testing.T) {
	e := startBlog(t)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"pg_create_select_permission","args":{"table":"articles","role":"user","permission":{"columns":["id"],"computed_fields":["shout"],"filter":{"author":{"name":{"_eq":"x"}}}}}},
	  {"type":"pg_create_select_permission","args":{"table":"authors","role":"user","permission":{"columns":["id"],"filter":{"_exists":{"_table":"articles","_where":{"id":{"_eq":1}}}}}}}]}`)
	const (
		articles = `permission articles.user.select in source \"default\"`
		authors  = `permission authors.user.select in source \"default\"`
	)
	expectErrors(t, e.URL, []errCase{
		{"", `{"type":"pg_drop_relationship","args":{"table":"articles","relationship":"author"}}`, 400, dependents(articles)},
		{"", `{"type":"pg_drop_computed_field","args":{"table":"articles","name":"shout"}}`, 400, dependents(articles)},
		{"", `{"type":"pg_untrack_table","args":{"table":"articles"}}`, 400, dependents(authors)},
		{"", `{"type":"pg_untrack_table","args":{"table":"authors"}}`, 400, dependents(articles, `relationship articles.author in source \"default\"`)},
	})
	// A relationship renamed is renamed in the permissions that use it.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"pg_rename_relationship","args":{"table":"articles","name":"author","new_name":"writer"}}`)
	if exported := mustOK(t, e.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`); !strings.Contains(exported, `"filter":{"writer":{"name":{"_eq":"x"}}}`) {
		t.Errorf("after the rename: %s", exported)
	}
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
	mustOK(t, e.URL, "/v1/metadata", `{"type":"pg_drop_computed_field","args":{"table":"articles","name":"shout","cascade":true}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"pg_untrack_table","args":{"table":"articles","cascade":true}}`)
	if exported := mustOK(t, e.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`); strings.Contains(exported, "permission") {
		t.Errorf("the permissions should be gone: %s", exported)
	}
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
}
