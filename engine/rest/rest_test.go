package rest_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "rest-secret"

// client speaks to one engine.
type client struct {
	t   *testing.T
	url string
}

func (c client) do(method, path string, header http.Header, body string) (int, string) {
	c.t.Helper()
	status, _, out := enginetest.Do(c.t, method, c.url+path, header, body)
	return status, out
}

func admin() http.Header { return http.Header{"X-Hasura-Admin-Secret": {secret}} }

func asRole(role string, vars ...string) http.Header {
	h := admin()
	h.Set("X-Hasura-Role", role)
	for i := 0; i+1 < len(vars); i += 2 {
		h.Set(vars[i], vars[i+1])
	}
	return h
}

// metadata posts a /v1/query request as admin and fails the test unless
// it succeeds.
func (c client) metadata(body string) {
	c.t.Helper()
	if status, out := c.do(http.MethodPost, "/v1/query", admin(), body); status != 200 {
		c.t.Fatalf("metadata %s: %d %s", body, status, out)
	}
}

// equalJSON compares two JSON texts, key order aside.
func equalJSON(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("%s: not JSON: %s", what, got)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// start runs an engine with an admin secret and the test schema: a table
// of people, an author/article pair with a user permission, and
// collections and endpoints over them.
func start(t *testing.T) client {
	e := enginetest.Start(t, func(c *config.Config) { c.AdminSecrets = []string{secret} })
	c := client{t: t, url: e.URL}
	c.metadata(`{"type":"bulk","args":[
	 {"type":"run_sql","args":{"sql":"CREATE TABLE person (id serial PRIMARY KEY, name text NOT NULL, age int, active boolean NOT NULL DEFAULT true, tags text[], born date); INSERT INTO person (name, age, active, born) VALUES ('Ann', 30, true, '1990-01-01'), ('Bob', 3, false, NULL), ('Cy', 30, true, NULL)"}},
	 {"type":"track_table","args":{"table":"person"}},
	 {"type":"create_select_permission","args":{"table":"person","role":"user","permission":{"columns":["id","name"],"filter":{"id":{"_eq":"X-Hasura-User-Id"}}}}},
	 {"type":"create_query_collection","args":{"name":"c","definition":{"queries":[
	   {"name":"all","query":"query { person(order_by: {id: asc}) { id name } }"},
	   {"name":"by_id","query":"query ($id: Int!) { person_by_pk(id: $id) { id name } }"},
	   {"name":"by_age","query":"query ($age: Int, $active: Boolean) { person(where: {age: {_eq: $age}, active: {_eq: $active}}, order_by: {id: asc}) { name } }"},
	   {"name":"by_name","query":"query ($name: String!) { person(where: {name: {_eq: $name}}) { id name } }"},
	   {"name":"by_names","query":"query ($names: [String!]!) { person(where: {name: {_in: $names}}, order_by: {id: asc}) { name } }"},
	   {"name":"add","query":"mutation ($name: String!, $age: Int) { insert_person_one(object: {name: $name, age: $age}) { name age } }"},
	   {"name":"shorthand","query":"{ person { id } }"},
	   {"name":"mine","query":"query { person { id name } }"}
	 ]}}},
	 {"type":"create_rest_endpoint","args":{"name":"all","url":"people","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"all"}}}},
	 {"type":"create_rest_endpoint","args":{"name":"by_id","url":"people/:id","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"by_id"}}}},
	 {"type":"create_rest_endpoint","args":{"name":"by_age","url":"by_age","methods":["GET","POST"],"definition":{"query":{"collection_name":"c","query_name":"by_age"}}}},
	 {"type":"create_rest_endpoint","args":{"name":"by_name","url":"named/:name","methods":["GET","POST"],"definition":{"query":{"collection_name":"c","query_name":"by_name"}}}},
	 {"type":"create_rest_endpoint","args":{"name":"by_names","url":"names","methods":["GET","POST"],"definition":{"query":{"collection_name":"c","query_name":"by_names"}}}},
	 {"type":"create_rest_endpoint","args":{"name":"add","url":"people/new/one","methods":["POST","PUT"],"definition":{"query":{"collection_name":"c","query_name":"add"}}}},
	 {"type":"create_rest_endpoint","args":{"name":"shorthand","url":"shorthand","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"shorthand"}}}},
	 {"type":"create_rest_endpoint","args":{"name":"mine","url":"me","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"mine"}}}}
	]}`)
	return c
}

func TestRESTEndpoints(t *testing.T) {
	c := start(t)
	for _, tc := range []struct {
		name         string
		method, path string
		header       http.Header
		body         string
		status       int
		want         string
	}{
		{"static", "GET", "/api/rest/people", admin(), "", 200,
			`{"person":[{"id":1,"name":"Ann"},{"id":2,"name":"Bob"},{"id":3,"name":"Cy"}]}`},
		{"path variable, typed Int from text", "GET", "/api/rest/people/2", admin(), "", 200,
			`{"person_by_pk":{"id":2,"name":"Bob"}}`},
		{"path variable that is not an Int", "GET", "/api/rest/people/x", admin(), "", 400,
			`{"path":"$.selectionSet.person_by_pk.args.id","error":"expected a 32-bit integer for type 'Int', but found a string","code":"validation-failed"}`},
		{"query string: Int and Boolean", "GET", "/api/rest/by_age?age=30&active=true", admin(), "", 200,
			`{"person":[{"name":"Ann"},{"name":"Cy"}]}`},
		{"a bare Boolean key is true", "GET", "/api/rest/by_age?active", admin(), "", 200,
			`{"person":[{"name":"Ann"},{"name":"Cy"}]}`},
		{"an empty nullable value is unset", "GET", "/api/rest/by_age?age=&active=false", admin(), "", 200,
			`{"person":[{"name":"Bob"}]}`},
		{"the last of repeated keys wins", "GET", "/api/rest/by_age?age=1&age=3", admin(), "", 200,
			`{"person":[{"name":"Bob"}]}`},
		{"JSON body", "POST", "/api/rest/by_age", admin(), `{"age":3}`, 200,
			`{"person":[{"name":"Bob"}]}`},
		{"body wins over the query string", "POST", "/api/rest/by_age?age=3", admin(), `{"age":30,"active":true}`, 200,
			`{"person":[{"name":"Ann"},{"name":"Cy"}]}`},
		{"path wins over the body", "POST", "/api/rest/named/Ann", admin(), `{"name":"Bob"}`, 200,
			`{"person":[{"id":1,"name":"Ann"}]}`},
		{"url-encoded path value", "GET", "/api/rest/named/%41nn", admin(), "", 200,
			`{"person":[{"id":1,"name":"Ann"}]}`},
		{"list in the body", "POST", "/api/rest/names", admin(), `{"names":["Cy","Ann"]}`, 200,
			`{"person":[{"name":"Ann"},{"name":"Cy"}]}`},
		{"list in the query string", "GET", "/api/rest/names?names=Ann", admin(), "", 400,
			`{"path":"$","error":"List variables are not currently supported in URL or Query parameters. (Variable names, with value \"Ann\")","code":"bad-request"}`},
		{"unexpected variable", "GET", "/api/rest/people?limit=1", admin(), "", 400,
			`{"path":"$","error":"Unexpected variable limit","code":"bad-request"}`},
		{"names that are not GraphQL names are ignored", "GET", "/api/rest/people?x-y=1", admin(), "", 200,
			`{"person":[{"id":1,"name":"Ann"},{"id":2,"name":"Bob"},{"id":3,"name":"Cy"}]}`},
		{"missing variable", "GET", "/api/rest/named", admin(), "", 404,
			`{"path":"$","error":"Endpoint not found","code":"not-found"}`},
		{"missing required variable", "POST", "/api/rest/people/new/one", admin(), `{}`, 400,
			`{"path":"$","error":"expecting a value for non-nullable variable: \"name\"","code":"validation-failed"}`},
		{"mutation", "PUT", "/api/rest/people/new/one", admin(), `{"name":"Dee","age":4}`, 200,
			`{"insert_person_one":{"name":"Dee","age":4}}`},
		{"wrong method", "DELETE", "/api/rest/people", admin(), "", 405,
			`{"path":"$","error":"Allowed methods: GET","code":"method-not-allowed"}`},
		{"wrong method, several allowed", "DELETE", "/api/rest/people/new/one", admin(), "", 405,
			`{"path":"$","error":"Allowed methods: POST, PUT","code":"method-not-allowed"}`},
		{"unsupported method", "OPTIONS", "/api/rest/people", admin(), "", 400,
			`{"path":"$","error":"Method OPTIONS not supported.","code":"bad-request"}`},
		{"no such endpoint", "GET", "/api/rest/nothing", admin(), "", 404,
			`{"path":"$","error":"Endpoint not found","code":"not-found"}`},
		// An empty last segment is a value for a template variable, as
		// in Hasura's router.
		{"trailing slash, empty variable", "GET", "/api/rest/people/", admin(), "", 400,
			`{"path":"$.selectionSet.person_by_pk.args.id","error":"expected a 32-bit integer for type 'Int', but found a string","code":"validation-failed"}`},
		{"trailing slash", "GET", "/api/rest/by_age/", admin(), "", 404,
			`{"path":"$","error":"Endpoint not found","code":"not-found"}`},
		{"shorthand query", "GET", "/api/rest/shorthand", admin(), "", 500,
			`{"path":"$","error":"A stored query should contain exactly one definition","code":"unexpected"}`},
		{"the caller's role and session", "GET", "/api/rest/me", asRole("user", "X-Hasura-User-Id", "3"), "", 200,
			`{"person":[{"id":3,"name":"Cy"}]}`},
		{"a role without the field", "GET", "/api/rest/by_age", asRole("nobody"), "", 400,
			`{"path":"$.selectionSet.person","error":"field 'person' not found in type: 'query_root'","code":"validation-failed"}`},
		{"a missing session variable", "GET", "/api/rest/me", asRole("user"), "", 400,
			`{"path":"$","error":"missing session variable: \"x-hasura-user-id\"","code":"not-found"}`},
		{"no credentials", "GET", "/api/rest/people", nil, "", 401,
			`{"path":"$","error":"x-hasura-admin-secret/x-hasura-access-key required, but not found","code":"access-denied"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := c.do(tc.method, tc.path, tc.header, tc.body)
			if status != tc.status {
				t.Errorf("%s %s: status %d, want %d (%s)", tc.method, tc.path, status, tc.status, body)
			}
			equalJSON(t, tc.method+" "+tc.path, body, tc.want)
		})
	}
}

// A query-string value is typed by the variable's declared type: numbers
// and booleans for the numeric and boolean scalars, text otherwise.
func TestRESTQueryStringTyping(t *testing.T) {
	c := start(t)
	c.metadata(`{"type":"bulk","args":[
	 {"type":"add_query_to_collection","args":{"collection_name":"c","query_name":"born","query":"query ($d: date, $n: String) { person(where: {born: {_eq: $d}, name: {_eq: $n}}) { name } }"}},
	 {"type":"create_rest_endpoint","args":{"name":"born","url":"born/:d","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"born"}}}}
	]}`)
	status, body := c.do("GET", "/api/rest/born/1990-01-01", admin(), "")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	equalJSON(t, "date from the path", body, `{"person":[{"name":"Ann"}]}`)
	// "30" for a String variable stays the text "30", not a number.
	status, body = c.do("GET", "/api/rest/born/1990-01-01?n=30", admin(), "")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	equalJSON(t, "number-like text for a String", body, `{"person":[]}`)
}

// Endpoints follow metadata changes: a dropped endpoint is gone, one
// whose query is dropped from its collection is inconsistent and unserved.
func TestRESTFollowsMetadata(t *testing.T) {
	c := start(t)
	if status, _ := c.do("GET", "/api/rest/people", admin(), ""); status != 200 {
		t.Fatalf("before: %d", status)
	}
	c.metadata(`{"type":"drop_rest_endpoint","args":{"name":"all"}}`)
	if status, body := c.do("GET", "/api/rest/people", admin(), ""); status != 404 {
		t.Errorf("after drop: %d %s", status, body)
	}
	c.metadata(`{"type":"create_rest_endpoint","args":{"name":"again","url":"again/:id","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"by_id"}}}}`)
	status, body := c.do("GET", "/api/rest/again/1", admin(), "")
	if status != 200 {
		t.Fatalf("new endpoint: %d %s", status, body)
	}
	equalJSON(t, "new endpoint", body, `{"person_by_pk":{"id":1,"name":"Ann"}}`)
}
