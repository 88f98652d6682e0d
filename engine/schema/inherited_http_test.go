package schema_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/graphql"
	"github.com/strata-dev/strata/test/enginetest"
)

// The cases follow Hasura's own (server/tests-py/queries/graphql_query/
// permissions/inherited_roles and graphql_mutation/roles_inheritance):
// same tables, same roles, same answers.

// inheritedReadEngine is Hasura's inherited_roles fixture:
//
//   - employee sees id, name, salary, title, team_id and yearly_salary of
//     its own row (id = X-Hasura-User-Id); manager sees name, title and
//     manager_remarks of its team's rows (manager_id = X-Hasura-Manager-Id),
//     with aggregations; manager_employee is both;
//   - on manager, manager sees every column of its own row, employee the
//     name and phone of its manager;
//   - free_user (limit 2) and premium_user_free_trial (limit 4) see title
//     and content of published articles; non_paying_user is both, with a
//     permission of its own on authors; non_paying_user_and_guest adds
//     guest (title, content, author_id of published articles);
//   - author_editor_guest_inherited_role: author, editor and guest, guest
//     having no permission on authors.
func inheritedReadEngine(t *testing.T) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, nil)
	mustOK(t, e, "/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": `
		CREATE TABLE team (id serial PRIMARY KEY, name text);
		CREATE TABLE manager (id serial PRIMARY KEY, team_id int REFERENCES team(id), name text, phone text, address text);
		CREATE TABLE employee (id serial PRIMARY KEY, name text NOT NULL, salary int NOT NULL, title text,
			manager_id int REFERENCES manager(id), team_id int REFERENCES team(id), manager_remarks text, hr_remarks text);
		INSERT INTO team (name) VALUES ('sales'), ('HR');
		INSERT INTO manager (team_id, name, phone, address) VALUES
			(1, 'sales manager 1', '9988998822', 'basant bihar'),
			(1, 'sales manager 2', '9977223344', 'buena vista'),
			(2, 'HR manager 1', '1122334455', 'MG Road');
		INSERT INTO employee (name, salary, title, manager_id, team_id, manager_remarks, hr_remarks) VALUES
			('employee 1', 10000, 'Sales representative', 1, 1, 'good', 'good'),
			('employee 2', 14000, 'Sales representative', 1, 1, 'good', 'good'),
			('employee 3', 12400, 'HR trainee', 3, 2, 'hard working', 'hard working'),
			('employee 4', 15430, 'Sales representative', 2, 1, 'hard working', 'hard working');
		CREATE FUNCTION employee_yearly_salary(employee_row employee) RETURNS int AS $$
			SELECT employee_row.salary * 12 $$ LANGUAGE sql STABLE;
		CREATE TABLE authors (id serial PRIMARY KEY, name text, followers int);
		CREATE TABLE articles (id serial PRIMARY KEY, title text, content text, is_published boolean DEFAULT false, author_id int REFERENCES authors(id));
		INSERT INTO authors (name, followers) VALUES ('J.K.Rowling', 1232344), ('Paulo Coelho', 21312332), ('Murakami', 1232132);
		INSERT INTO articles (title, content, is_published, author_id) VALUES
			('title 1', 'content 1', false, 1), ('title 2', 'content 2', true, 2), ('title 3', 'content 3', true, 1),
			('title 4', 'content 4', true, 3), ('title 5', 'content 5', true, 2);
		CREATE FUNCTION all_articles() RETURNS SETOF articles AS $$ SELECT * FROM articles $$ LANGUAGE sql STABLE;
		CREATE TABLE users (id serial PRIMARY KEY, name text, restricted_field text);
		CREATE TABLE dummy_table (id serial PRIMARY KEY, name text);
		INSERT INTO users (name, restricted_field) VALUES ('User 1', 'Allowed Data 1'), ('User 2', 'Allowed Data 2'), ('User 3', 'Allowed Data 3');`}})
	sel := func(table, role string, perm map[string]any) map[string]any {
		return map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": table, "role": role, "permission": perm}}
	}
	inherit := func(role string, parents ...string) map[string]any {
		return map[string]any{"type": "add_inherited_role", "args": map[string]any{"role_name": role, "role_set": parents}}
	}
	mustOK(t, e, "/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "employee"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "team"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "manager"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "authors"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "articles"}},
		map[string]any{"type": "pg_track_function", "args": map[string]any{"function": "all_articles"}},
		map[string]any{"type": "pg_create_object_relationship", "args": map[string]any{"table": "employee", "name": "manager", "using": map[string]any{"foreign_key_constraint_on": "manager_id"}}},
		map[string]any{"type": "pg_create_array_relationship", "args": map[string]any{"table": "manager", "name": "employees", "using": map[string]any{"foreign_key_constraint_on": map[string]any{"table": "employee", "column": "manager_id"}}}},
		map[string]any{"type": "pg_add_computed_field", "args": map[string]any{"table": "employee", "name": "yearly_salary", "definition": map[string]any{"function": "employee_yearly_salary", "table_argument": "employee_row"}}},
		sel("employee", "employee", map[string]any{"columns": []string{"id", "name", "salary", "title", "team_id"}, "computed_fields": []string{"yearly_salary"},
			"filter": map[string]any{"id": map[string]any{"_eq": "X-Hasura-User-Id"}}}),
		sel("employee", "manager", map[string]any{"columns": []string{"name", "title", "manager_remarks"},
			"filter": map[string]any{"manager_id": map[string]any{"_eq": "X-Hasura-Manager-Id"}}, "allow_aggregations": true}),
		sel("manager", "manager", map[string]any{"columns": "*", "allow_aggregations": true, "filter": map[string]any{"id": "X-Hasura-Manager-Id"}}),
		sel("manager", "employee", map[string]any{"columns": []string{"name", "phone"}, "allow_aggregations": true,
			"filter": map[string]any{"employees": map[string]any{"manager_id": map[string]any{"_eq": "X-Hasura-Manager-Id"}}}}),
		inherit("manager_employee", "manager", "employee"),
		sel("authors", "author", map[string]any{"columns": []string{"id", "name", "followers"}, "filter": map[string]any{"id": "X-Hasura-Author-Id"}}),
		sel("authors", "editor", map[string]any{"columns": []string{"name", "followers"}, "allow_aggregations": true, "filter": map[string]any{}}),
		sel("articles", "guest", map[string]any{"columns": []string{"title", "content", "author_id"}, "allow_aggregations": true, "filter": map[string]any{"is_published": true}}),
		sel("articles", "author", map[string]any{"columns": "*", "allow_aggregations": true, "filter": map[string]any{"author_id": "X-Hasura-Author-Id"}}),
		sel("articles", "editor", map[string]any{"columns": "*", "filter": map[string]any{}}),
		sel("articles", "free_user", map[string]any{"columns": []string{"title", "content"}, "filter": map[string]any{"is_published": map[string]any{"_eq": true}}, "limit": 2}),
		sel("articles", "premium_user_free_trial", map[string]any{"columns": []string{"title", "content"}, "filter": map[string]any{"is_published": map[string]any{"_eq": true}}, "limit": 4}),
		inherit("author_editor_guest_inherited_role", "author", "editor", "guest"),
		inherit("non_paying_user", "free_user", "premium_user_free_trial"),
		sel("authors", "non_paying_user", map[string]any{"columns": []string{"name", "followers"}, "filter": map[string]any{}}),
		inherit("non_paying_user_and_guest", "non_paying_user", "guest"),
		// Only one parent: the inherited role's SQL is its parent's.
		inherit("only_employee", "employee"),
		// Hasura's roles_inheritance fixture (its issue 10711): nested_role
		// inherits base_role's redaction of restricted_field, writer_role
		// having no permission on users.
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "users"}},
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "dummy_table"}},
		sel("users", "public", map[string]any{"columns": []string{"id", "name"}, "filter": map[string]any{}}),
		sel("users", "reader_role", map[string]any{"columns": []string{"id", "name", "restricted_field"}, "filter": map[string]any{"id": "X-Hasura-User-Id"}}),
		inherit("base_role", "public", "reader_role"),
		sel("dummy_table", "writer_role", map[string]any{"columns": []string{"id", "name"}, "filter": map[string]any{}}),
		inherit("nested_role", "base_role", "writer_role"),
	}})
	return e
}

// gqlAs posts a GraphQL query with the given session headers.
func gqlAs(t *testing.T, e *enginetest.Engine, headers map[string]string, query string, vars map[string]any) any {
	t.Helper()
	body := map[string]any{"query": query}
	if vars != nil {
		body["variables"] = vars
	}
	_, got := post(t, e.URL+"/v1/graphql", body, headers)
	return got
}

func session(role string, vars ...string) map[string]string {
	h := map[string]string{"X-Hasura-Role": role}
	for i := 0; i+1 < len(vars); i += 2 {
		h[vars[i]] = vars[i+1]
	}
	return h
}

func TestInheritedRoleSelect(t *testing.T) {
	e := inheritedReadEngine(t)
	mgr1 := session("manager_employee", "X-Hasura-User-Id", "1", "X-Hasura-Manager-Id", "1")
	mgr2 := session("manager_employee", "X-Hasura-User-Id", "1", "X-Hasura-Manager-Id", "2")
	cases := []struct {
		name    string
		headers map[string]string
		query   string
		want    string
	}{
		{"a column no parent has is not there", mgr2,
			`{ employee { name title manager_remarks hr_remarks } }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.employee.selectionSet.hr_remarks","code":"validation-failed"},"message":"field 'hr_remarks' not found in type: 'employee'"}]}`},
		// Row 1 is seen by both parents; row 2 only by manager, which has
		// neither id nor salary.
		{"rows are the union, cells null where no parent with the column sees the row", mgr1,
			`{ employee(order_by: {name: asc}) { id name title salary manager_remarks } }`,
			`{"data":{"employee":[
				{"id":1,"name":"employee 1","title":"Sales representative","salary":10000,"manager_remarks":"good"},
				{"id":null,"name":"employee 2","title":"Sales representative","salary":null,"manager_remarks":"good"}]}}`},
		// Two parents seeing different columns on different rows: row 1
		// through employee (no manager_remarks), row 4 through manager (no
		// salary). The relationship follows manager's derived permission:
		// manager 1 is seen by neither parent, manager 2 by manager.
		{"relationships follow the target table's derived permission", mgr2,
			`{ employee(order_by: {name: asc}) { name title salary manager_remarks manager { id name phone address } } }`,
			`{"data":{"employee":[
				{"name":"employee 1","title":"Sales representative","salary":10000,"manager_remarks":null,"manager":null},
				{"name":"employee 4","title":"Sales representative","salary":null,"manager_remarks":"hard working",
				 "manager":{"id":2,"name":"sales manager 2","phone":"9977223344","address":"buena vista"}}]}}`},
		{"aggregations when one parent allows them, over the redacted values", mgr2,
			`{ employee_aggregate { aggregate { count sum { salary } max { salary } } } }`,
			`{"data":{"employee_aggregate":{"aggregate":{"count":2,"sum":{"salary":10000},"max":{"salary":10000}}}}}`},
		{"aggregate nodes are redacted too", mgr2,
			`{ employee_aggregate(order_by: {name: asc}) { nodes { name salary } } }`,
			`{"data":{"employee_aggregate":{"nodes":[{"name":"employee 1","salary":10000},{"name":"employee 4","salary":null}]}}}`},
		{"scalar computed fields are redacted like columns", mgr2,
			`{ employee(order_by: {name: asc}) { salary yearly_salary } }`,
			`{"data":{"employee":[{"salary":10000,"yearly_salary":120000},{"salary":null,"yearly_salary":null}]}}`},
		{"a table only one parent may select", mgr2,
			`{ employee(order_by: {name: asc}) { name salary } manager { team_id name } }`,
			`{"data":{"employee":[{"name":"employee 1","salary":10000},{"name":"employee 4","salary":null}],"manager":[{"team_id":1,"name":"sales manager 2"}]}}`},
		// A where or order_by on a redacted column sees the null, not the
		// value: it cannot be used to learn it.
		{"where compares the redacted value", mgr2,
			`{ employee(where: {salary: {_gt: 0}}) { name } }`,
			`{"data":{"employee":[{"name":"employee 1"}]}}`},
		{"where on a redacted computed field", mgr2,
			`{ employee(where: {yearly_salary: {_is_null: true}}) { name } }`,
			`{"data":{"employee":[{"name":"employee 4"}]}}`},
		{"order_by sorts the redacted value", mgr1,
			`{ employee(order_by: {salary: desc_nulls_last}) { name } }`,
			`{"data":{"employee":[{"name":"employee 1"},{"name":"employee 2"}]}}`},
		{"distinct_on a redacted column", mgr1,
			`{ employee(distinct_on: [id], order_by: [{id: asc}, {name: desc}]) { name } }`,
			`{"data":{"employee":[{"name":"employee 1"},{"name":"employee 2"}]}}`},
		// Row 2 is visible, but its id only to a parent that does not see
		// it: by primary key it is not found, as in Hasura.
		{"by_pk matches the redacted key", mgr1,
			`{ a: employee_by_pk(id: 1) { name } b: employee_by_pk(id: 2) { name } }`,
			`{"data":{"a":{"name":"employee 1"},"b":null}}`},
		{"limit is the largest of the parents'", session("non_paying_user"),
			`{ articles(order_by: {title: asc}) { title } }`,
			`{"data":{"articles":[{"title":"title 2"},{"title":"title 3"},{"title":"title 4"},{"title":"title 5"}]}}`},
		// A tracked function comes with the table it returns: here from
		// the parents' select permissions, filter and limit included.
		{"a function returning rows a parent may select", session("non_paying_user"),
			`{ all_articles(order_by: {title: desc}) { title } }`,
			`{"data":{"all_articles":[{"title":"title 5"},{"title":"title 4"},{"title":"title 3"},{"title":"title 2"}]}}`},
		{"an inherited role may inherit from an inherited role", session("non_paying_user_and_guest"),
			`{ articles(order_by: [{author_id: asc}, {title: asc}]) { title content author_id } }`,
			`{"data":{"articles":[
				{"title":"title 3","content":"content 3","author_id":1},{"title":"title 2","content":"content 2","author_id":2},
				{"title":"title 5","content":"content 5","author_id":2},{"title":"title 4","content":"content 4","author_id":3}]}}`},
		// guest has no permission on authors: author and editor decide.
		{"parents without a permission do not count", session("author_editor_guest_inherited_role", "X-Hasura-Author-Id", "1"),
			`{ authors(order_by: {id: asc}) { id name followers } }`,
			`{"data":{"authors":[{"id":1,"name":"J.K.Rowling","followers":1232344},{"id":null,"name":"Paulo Coelho","followers":21312332},{"id":null,"name":"Murakami","followers":1232132}]}}`},
		{"redaction with a parent that sees every row", session("base_role", "X-Hasura-User-Id", "1"),
			`{ users(order_by: {id: asc}) { id name restricted_field } }`,
			`{"data":{"users":[{"id":1,"name":"User 1","restricted_field":"Allowed Data 1"},{"id":2,"name":"User 2","restricted_field":null},{"id":3,"name":"User 3","restricted_field":null}]}}`},
		{"a nested inherited role keeps its parent's redaction", session("nested_role", "X-Hasura-User-Id", "1"),
			`{ users(order_by: {id: asc}) { id name restricted_field } dummy_table { id } }`,
			`{"data":{"users":[{"id":1,"name":"User 1","restricted_field":"Allowed Data 1"},{"id":2,"name":"User 2","restricted_field":null},{"id":3,"name":"User 3","restricted_field":null}],"dummy_table":[]}}`},
		{"an explicit permission overrides the derived one", session("non_paying_user"),
			`{ authors(order_by: {followers: asc}) { name followers } articles(where: {title: {_eq: "title 2"}}) { title content } }`,
			`{"data":{"authors":[{"name":"Murakami","followers":1232132},{"name":"J.K.Rowling","followers":1232344},{"name":"Paulo Coelho","followers":21312332}],
				"articles":[{"title":"title 2","content":"content 2"}]}}`},
		{"without the explicit permission there is no such field", session("non_paying_user"),
			`{ authors { id } }`,
			`{"errors":[{"extensions":{"path":"$.selectionSet.authors.selectionSet.id","code":"validation-failed"},"message":"field 'id' not found in type: 'authors'"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectJSON(t, gqlAs(t, e, c.headers, c.query, nil), c.want)
		})
	}
}

// A redacted column is nullable whatever the database says; one every
// parent has, unredacted, keeps its nullability.
func TestInheritedRoleIntrospection(t *testing.T) {
	e := inheritedReadEngine(t)
	got := gqlAs(t, e, session("manager_employee"), `{ __type(name: "employee") { fields { name type { kind } } } }`, nil)
	kinds := map[string]string{}
	for _, f := range got.(map[string]any)["data"].(map[string]any)["__type"].(map[string]any)["fields"].([]any) {
		fm := f.(map[string]any)
		kinds[fm["name"].(string)] = fm["type"].(map[string]any)["kind"].(string)
	}
	want := map[string]string{"name": "NON_NULL", "salary": "SCALAR", "id": "SCALAR", "title": "SCALAR", "manager_remarks": "SCALAR", "team_id": "SCALAR", "yearly_salary": "SCALAR", "manager": "OBJECT"}
	for f, k := range want {
		if kinds[f] != k {
			t.Errorf("employee.%s: kind %q, want %q (all: %v)", f, kinds[f], k, kinds)
		}
	}
	if _, ok := kinds["hr_remarks"]; ok {
		t.Errorf("hr_remarks is visible: %v", kinds)
	}
	// The parent role itself keeps salary NOT NULL.
	got = gqlAs(t, e, session("employee"), `{ __type(name: "employee") { fields { name type { kind } } } }`, nil)
	for _, f := range got.(map[string]any)["data"].(map[string]any)["__type"].(map[string]any)["fields"].([]any) {
		if fm := f.(map[string]any); fm["name"] == "salary" && fm["type"].(map[string]any)["kind"] != "NON_NULL" {
			t.Errorf("employee role's salary: %v", fm)
		}
	}
}

// The common path keeps its SQL: a role that is not inherited compiles
// with no CASE, and an inherited role with a single parent to exactly its
// parent's statement; the redaction appears only where it must.
func TestInheritedRoleSQL(t *testing.T) {
	e := inheritedReadEngine(t)
	// employee has no aggregations: the rows only.
	query := `{ employee(where: {salary: {_gt: 1}}, order_by: {salary: asc}) { id name salary yearly_salary } }`
	explain := func(role string) string {
		t.Helper()
		status, got := post(t, e.URL+"/v1/graphql/explain", map[string]any{
			"query": map[string]any{"query": query},
			"user":  map[string]any{"x-hasura-role": role, "x-hasura-user-id": "1", "x-hasura-manager-id": "1"},
		}, nil)
		if status != http.StatusOK {
			t.Fatalf("explain as %s: %d %v", role, status, got)
		}
		var sqls []string
		for _, p := range got.([]any) {
			sqls = append(sqls, p.(map[string]any)["sql"].(string))
		}
		return strings.Join(sqls, "\n")
	}
	parent, single := explain("employee"), explain("only_employee")
	if strings.Contains(parent, "CASE WHEN") {
		t.Errorf("a plain role's SQL has a CASE:\n%s", parent)
	}
	// Explain inlines the session, role included.
	if single = strings.ReplaceAll(single, `"only_employee"`, `"employee"`); parent != single {
		t.Errorf("an inherited role with one parent compiles differently:\n%s\n---\n%s", parent, single)
	}
	if both := explain("manager_employee"); !strings.Contains(both, "CASE WHEN") {
		t.Errorf("no redaction for manager_employee:\n%s", both)
	}
}

// Inherited roles go through the plan cache like any role: a plan made
// for one session and its variables serves others with theirs.
func TestInheritedRolePlanCache(t *testing.T) {
	e := inheritedReadEngine(t)
	query := `query ($name: String!) { employee(where: {name: {_eq: $name}}) { name salary manager_remarks } }`
	before := graphql.PlanCacheStats()
	cases := []struct {
		user, manager, name, want string
	}{
		{"1", "1", "employee 1", `{"data":{"employee":[{"name":"employee 1","salary":10000,"manager_remarks":"good"}]}}`},
		{"1", "1", "employee 2", `{"data":{"employee":[{"name":"employee 2","salary":null,"manager_remarks":"good"}]}}`},
		{"2", "1", "employee 2", `{"data":{"employee":[{"name":"employee 2","salary":14000,"manager_remarks":"good"}]}}`},
		{"2", "2", "employee 1", `{"data":{"employee":[]}}`},
		{"4", "3", "employee 4", `{"data":{"employee":[{"name":"employee 4","salary":15430,"manager_remarks":null}]}}`},
	}
	for _, c := range cases {
		h := session("manager_employee", "X-Hasura-User-Id", c.user, "X-Hasura-Manager-Id", c.manager)
		expectJSON(t, gqlAs(t, e, h, query, map[string]any{"name": c.name}), c.want)
	}
	if after := graphql.PlanCacheStats(); after.ShapeHits-before.ShapeHits < int64(len(cases)-1) {
		t.Errorf("plan cache: %d shape hits for %d requests of one shape", after.ShapeHits-before.ShapeHits, len(cases))
	}
}

// Relay pages in the order the role reads: the key, redacted on rows
// only manager sees, is the tie-breaker of the cursor.
func TestInheritedRoleRelay(t *testing.T) {
	e := inheritedReadEngine(t)
	h := session("manager_employee", "X-Hasura-User-Id", "1", "X-Hasura-Manager-Id", "2")
	page := func(after string) any {
		t.Helper()
		args := "first: 1, order_by: {name: asc}"
		if after != "" {
			args += `, after: "` + after + `"`
		}
		_, got := post(t, e.URL+"/v1beta1/relay", map[string]any{"query": `{ employee_connection(` + args + `) { edges { node { name salary } } pageInfo { hasNextPage endCursor } } }`}, h)
		return got
	}
	first := page("")
	conn := first.(map[string]any)["data"].(map[string]any)["employee_connection"].(map[string]any)
	expectJSON(t, conn["edges"], `[{"node":{"name":"employee 1","salary":10000}}]`)
	second := page(conn["pageInfo"].(map[string]any)["endCursor"].(string))
	conn = second.(map[string]any)["data"].(map[string]any)["employee_connection"].(map[string]any)
	expectJSON(t, conn["edges"], `[{"node":{"name":"employee 4","salary":null}}]`)
}
