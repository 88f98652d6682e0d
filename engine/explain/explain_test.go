package explain_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "explain-secret"

type client struct {
	t   *testing.T
	url string
}

func (c client) post(path string, header http.Header, body string) (int, string) {
	c.t.Helper()
	h := http.Header{"X-Hasura-Admin-Secret": {secret}}
	for k, v := range header {
		h[k] = v
	}
	status, _, out := enginetest.Do(c.t, http.MethodPost, c.url+path, h, body)
	return status, out
}

func start(t *testing.T, configure func(*config.Config)) (client, *enginetest.Engine) {
	e := enginetest.Start(t, func(c *config.Config) {
		c.AdminSecrets = []string{secret}
		if configure != nil {
			configure(c)
		}
	})
	c := client{t: t, url: e.URL}
	if status, out := c.post("/v1/query", nil, `{"type":"bulk","args":[
	 {"type":"run_sql","args":{"sql":"CREATE TABLE \"user\" (id serial PRIMARY KEY, name text NOT NULL, age int); INSERT INTO \"user\" (name, age) VALUES ('Ann', 30), ('Bob', 40)"}},
	 {"type":"track_table","args":{"name":"user"}},
	 {"type":"create_select_permission","args":{"table":"user","role":"user","permission":{"columns":["id","name"],"filter":{"id":{"_eq":"X-Hasura-User-Id"}}}}}
	]}`); status != 200 {
		t.Fatalf("setup: %d %s", status, out)
	}
	return c, e
}

type fieldPlan struct {
	Field string   `json:"field"`
	SQL   *string  `json:"sql"`
	Plan  []string `json:"plan"`
}

func explainQuery(t *testing.T, c client, body string) []fieldPlan {
	t.Helper()
	status, out := c.post("/v1/graphql/explain", nil, body)
	if status != 200 {
		t.Fatalf("explain %s: %d %s", body, status, out)
	}
	var plans []fieldPlan
	if err := json.Unmarshal([]byte(out), &plans); err != nil {
		t.Fatalf("explain answer %s: %v", out, err)
	}
	return plans
}

// The SQL is the statement the engine runs, its parameters (the session,
// the request's values) written in as literals, as Hasura shows it: run
// by hand as it is, it gives what /v1/graphql answers for the field.
func TestExplainGivesTheEnginesSQL(t *testing.T) {
	c, e := start(t, nil)
	const query = `query q($skip: [String!]) { user(order_by: {id: asc}, where: {name: {_nin: $skip}, _not: {name: {_eq: \"O'Hara $1\"}}}) { id name } n: __typename  total: user_aggregate { aggregate { count } } }`
	const variables = `{"skip":["Bob","it's"]}`
	plans := explainQuery(t, c, `{"query":{"query":"`+query+`","variables":`+variables+`,"operationName":"q"}}`)
	if len(plans) != 3 || plans[0].Field != "user" || plans[1].Field != "n" || plans[2].Field != "total" {
		t.Fatalf("fields: %+v", plans)
	}
	if plans[1].SQL != nil || plans[1].Plan != nil {
		t.Errorf("__typename has no SQL: %+v", plans[1])
	}
	status, out := c.post("/v1/graphql", nil, `{"query":"`+query+`","variables":`+variables+`}`)
	if status != 200 {
		t.Fatalf("graphql: %d %s", status, out)
	}
	var gql struct{ Data map[string]json.RawMessage }
	if err := json.Unmarshal([]byte(out), &gql); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), e.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, p := range []fieldPlan{plans[0], plans[2]} {
		if p.SQL == nil || len(p.Plan) == 0 {
			t.Fatalf("%s: no SQL or plan: %+v", p.Field, p)
		}
		if params.MatchString(*p.SQL) {
			t.Errorf("%s: parameters left in %s", p.Field, *p.SQL)
		}
		var got string
		if err := conn.QueryRow(context.Background(), *p.SQL).Scan(&got); err != nil {
			t.Fatalf("%s: running %s: %v", p.Field, *p.SQL, err)
		}
		if !sameJSON(got, string(gql.Data[p.Field])) {
			t.Errorf("%s: the explained SQL gives %s, /v1/graphql %s", p.Field, got, gql.Data[p.Field])
		}
	}
	if !strings.Contains(strings.Join(plans[0].Plan, "\n"), `Seq Scan on "user"`) &&
		!strings.Contains(strings.Join(plans[0].Plan, "\n"), `Index Scan`) {
		t.Errorf("plan of user: %q", plans[0].Plan)
	}
}

// params finds a $n parameter outside quotes (the test's one quoted $1
// is in a string literal).
var params = regexp.MustCompile(`^(?:[^'"$]|'(?:[^']|'')*'|"(?:[^"]|"")*")*\$[0-9]`)

func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// A role's permissions shape the SQL, and its session variables the plan:
// the user sees its own row, read from the session.
func TestExplainForARole(t *testing.T) {
	c, _ := start(t, nil)
	plans := explainQuery(t, c, `{"query":{"query":"query ($n: String) { user(where: {name: {_neq: $n}}) { id name } }","variables":{"n":"Zed"}},"user":{"X-Hasura-Role":"user","X-Hasura-User-Id":"1"}}`)
	if len(plans) != 1 || plans[0].SQL == nil {
		t.Fatalf("%+v", plans)
	}
	if !strings.Contains(*plans[0].SQL, "x-hasura-user-id") || !strings.Contains(*plans[0].SQL, "'Zed'") {
		t.Errorf("the permission filter or the variable is not in the SQL: %s", *plans[0].SQL)
	}
	plan := strings.Join(plans[0].Plan, "\n")
	if !strings.Contains(plan, "id = 1") || !strings.Contains(plan, "'Zed'") {
		t.Errorf("the session's user id and the variable are not in the plan:\n%s", plan)
	}

	// The admin sees no filter.
	plans = explainQuery(t, c, `{"query":{"query":"{ user { id } }"}}`)
	if strings.Contains(*plans[0].SQL, "x-hasura-user-id") {
		t.Errorf("admin SQL has the user's filter: %s", *plans[0].SQL)
	}
}

func TestExplainErrors(t *testing.T) {
	c, _ := start(t, nil)
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		status int
		want   string
	}{
		{"mutation", nil, `{"query":{"query":"mutation { delete_user(where: {}) { affected_rows } }"}}`, 400,
			`{"path":"$","error":"only queries can be explained","code":"invalid-params"}`},
		{"not an admin", http.Header{"X-Hasura-Role": {"user"}}, `{"query":{"query":"{ user { id } }"}}`, 400,
			`{"path":"$","error":"You have to be an admin to access this endpoint","code":"access-denied"}`},
		{"missing session variable", nil, `{"query":{"query":"{ user { id } }"},"user":{"x-hasura-role":"user"}}`, 400,
			`{"path":"$","error":"missing session variable: \"x-hasura-user-id\"","code":"not-found"}`},
		{"field the role cannot see", nil, `{"query":{"query":"{ user { age } }"},"user":{"x-hasura-role":"user","x-hasura-user-id":"1"}}`, 400,
			`{"path":"$.selectionSet.user.selectionSet.age","error":"field 'age' not found in type: 'user'","code":"validation-failed"}`},
		{"no query", nil, `{"user":{}}`, 400,
			`{"path":"$","error":"key \"query\" not found","code":"parse-failed"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := c.post("/v1/graphql/explain", tc.header, tc.body)
			if status != tc.status || !sameJSON(out, tc.want) {
				t.Errorf("%d %s, want %d %s", status, out, tc.status, tc.want)
			}
		})
	}
}

// A subscription is explained as its one statement; introspection has no
// SQL; the legacy path serves the same.
func TestExplainSubscriptionAndIntrospection(t *testing.T) {
	c, _ := start(t, nil)
	status, out := c.post("/v1alpha1/graphql/explain", nil, `{"query":{"query":"subscription { user { id } }"}}`)
	if status != 200 {
		t.Fatalf("%d %s", status, out)
	}
	var sub struct {
		SQL  string   `json:"sql"`
		Plan []string `json:"plan"`
	}
	if err := json.Unmarshal([]byte(out), &sub); err != nil || !strings.HasPrefix(sub.SQL, "SELECT ") || len(sub.Plan) == 0 {
		t.Errorf("subscription: %s", out)
	}
	plans := explainQuery(t, c, `{"query":{"query":"{ __schema { queryType { name } } }"}}`)
	if len(plans) != 1 || plans[0].Field != "__schema" || plans[0].SQL != nil {
		t.Errorf("introspection: %+v", plans)
	}
}

// Hasura serves explain with the metadata API.
func TestExplainNeedsTheMetadataAPI(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) { c.EnabledAPIs = []string{config.APIGraphQL} })
	c := client{t: t, url: e.URL}
	if status, out := c.post("/v1/graphql/explain", nil, `{"query":{"query":"{ __typename }"}}`); status != 404 {
		t.Errorf("%d %s", status, out)
	}
}
