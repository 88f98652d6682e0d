package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func gqlRule(t *testing.T, query string) *orderRule {
	t.Helper()
	q := Object(M("query", String(query)))
	return ruleFor("/v1/graphql", &q)
}

func TestKeyOrderCheckedOnlyForSelectionSetsUnderData(t *testing.T) {
	rule := gqlRule(t, `query { author(order_by: {id: asc}) { id name info } }`)
	exp := mustYAML(t, `
data:
  author:
  - id: 1
    name: A
    info: {b: 1, a: 2}
`)
	for _, c := range []struct {
		name, got, want string
	}{
		{"same order", `{"data":{"author":[{"id":1,"name":"A","info":{"b":1,"a":2}}]}}`, ""},
		{"selection set reordered", `{"data":{"author":[{"name":"A","id":1,"info":{"b":1,"a":2}}]}}`,
			"$.data.author[0]: key order: expected [id name info], got [name id info]"},
		// info is a JSON column: its keys are not fields of the query.
		{"JSON value reordered", `{"data":{"author":[{"id":1,"name":"A","info":{"a":2,"b":1}}]}}`, ""},
		// the top level (data/errors) is not a selection set
		{"top level reordered", `{"extensions":{},"data":{"author":[{"id":1,"name":"A","info":{"b":1,"a":2}}]}}`,
			`$: unexpected key "extensions" (value {})`},
	} {
		if got := compareBody(exp, mustJSON(t, c.got), rule); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}

	// Outside data (here: errors) order never matters, even for field names.
	errExp := mustYAML(t, "errors: [{extensions: {code: x, path: $}, message: m}]")
	errGot := mustJSON(t, `{"errors":[{"message":"m","extensions":{"path":"$","code":"x"}}]}`)
	if d := compareBody(errExp, errGot, gqlRule(t, `{ message extensions code path }`)); d != "" {
		t.Errorf("errors: %s", d)
	}

	// Not a GraphQL endpoint, or a query that does not parse: no order checks.
	reordered := mustJSON(t, `{"data":{"author":[{"name":"A","id":1,"info":{"b":1,"a":2}}]}}`)
	q := Object(M("query", String(`query { author { id name info } }`)))
	if d := compareBody(exp, reordered, ruleFor("/v1/query", &q)); d != "" {
		t.Errorf("non-GraphQL URL: %s", d)
	}
	if d := compareBody(exp, reordered, gqlRule(t, `query { author { id name`)); d != "" {
		t.Errorf("unparseable query: %s", d)
	}
}

func TestKeyOrderSeesAliasesAndFragments(t *testing.T) {
	rule := gqlRule(t, `query { a: author { ...F } } fragment F on author { n: name id }`)
	exp := mustYAML(t, "data: {a: [{n: x, id: 1}]}")
	if d := compareBody(exp, mustJSON(t, `{"data":{"a":[{"id":1,"n":"x"}]}}`), rule); !strings.Contains(d, "key order") {
		t.Errorf("want a key order difference, got %q", d)
	}
}

func TestFirstDifferenceMessages(t *testing.T) {
	exp := mustYAML(t, "data: {author: [{id: 1, name: A}, {id: 2, name: B}]}")
	for _, c := range []struct{ got, want string }{
		{`{"data":{"author":[{"id":1,"name":"A"},{"id":2,"name":"B"}]}}`, ""},
		{`{"data":{"author":[{"id":1,"name":"A"},{"id":2,"name":"C"}]}}`, `$.data.author[1].name: expected "B", got "C"`},
		{`{"data":{"author":[{"id":2,"name":"B"},{"id":1,"name":"A"}]}}`, `$.data.author[0].id: expected 1, got 2`},
		{`{"data":{"author":[{"id":1,"name":"A"}]}}`, `$.data.author: expected 2 elements, got 1: expected [{"id":1,"name":"A"},{"id":2,"name":"B"}], got [{"id":1,"name":"A"}]`},
		{`{"data":{"author":[{"id":1},{"id":2,"name":"B"}]}}`, `$.data.author[0]: missing key "name", got {"id":1}`},
		{`{"data":{"author":[{"id":1,"name":"A","x":0},{"id":2,"name":"B"}]}}`, `$.data.author[0]: unexpected key "x" (value 0)`},
		{`{"data":null}`, `$.data: expected {"author":[{"id":1,"name":"A"},{"id":2,"name":"B"}]}, got null`},
		{`{"path":"$","error":"resource does not exist","code":"not-found"}`, `$: missing key "data", got {"path":"$","error":"resource does not exist","code":"not-found"}`},
	} {
		if got := compareBody(exp, mustJSON(t, c.got), nil); got != c.want {
			t.Errorf("got %s\n  diff %q\n  want %q", c.got, got, c.want)
		}
	}
	if got := compareBody(mustYAML(t, `{"a b": true}`), mustJSON(t, `{"a b": false}`), nil); got != `$["a b"]: expected true, got false` {
		t.Errorf("odd key path: %s", got)
	}
}

func TestExpandTransport(t *testing.T) {
	c := &Class{Name: "C", Transports: []string{"http", "websocket", "subscription"}}
	tt := &Test{Name: "t", Cases: []CaseRef{
		{File: "a.yaml", Transport: "$transport"},
		{File: "b.yaml", Transport: "http"},
	}}
	gs := groups(c, tt)
	var got []string
	for _, g := range gs {
		for _, r := range g.refs {
			got = append(got, g.transport+":"+r.File)
		}
	}
	want := "http:a.yaml http:b.yaml websocket:a.yaml subscription:a.yaml"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if n := len(testUnits(c, tt)); n != 4 {
		t.Errorf("units: %d, want 4", n)
	}
	if got := (&Class{}).expand("$transport"); len(got) != 1 || got[0] != "http" {
		t.Errorf("no transports: %v", got)
	}
}

func TestSubscriptionRewrite(t *testing.T) {
	for _, c := range []struct{ in, op, want string }{
		{"query {\n  author { id }\n}\n", "", "subscription @_multiple_top_level_fields {\n  author { id }\n}\n"},
		{"query Q($x: Int = 1) @cached { a(where: {id: {_eq: $x}}) { id } }", "",
			"subscription Q($x: Int = 1) @cached @_multiple_top_level_fields { a(where: {id: {_eq: $x}}) { id } }"},
		{"{ a { id } }", "", "subscription @_multiple_top_level_fields { a { id } }"},
		{"  query Named {a}", "", "  subscription Named @_multiple_top_level_fields {a}"},
		{"query($o: obj = {a: 1}){a}", "", "subscription($o: obj = {a: 1}) @_multiple_top_level_fields {a}"},
		{"query A { a } query B { b }", "B", "query A { a } subscription B @_multiple_top_level_fields { b }"},
		// does not parse: Hasura's runner's textual rewrite
		{"query { a { ", "", "subscription  @_multiple_top_level_fields { a { "},
	} {
		got, err := toSubscription(c.in, c.op)
		if err != nil || got != c.want {
			t.Errorf("toSubscription(%q)\n  got  %q (%v)\n  want %q", c.in, got, err, c.want)
		}
	}
	if _, err := toSubscription("mutation { a }", ""); err == nil {
		t.Error("a mutation cannot become a subscription")
	}
}

func TestMarks(t *testing.T) {
	m := parseMarks([]string{
		"pytest.mark.admin_secret",
		`pytest.mark.hge_env('HASURA_GRAPHQL_UNAUTHORIZED_ROLE', 'anonymous')`,
		`pytest.mark.hge_env("A", "b c")`,
		"pytest.mark.usefixtures('x')",
	})
	if !m.AdminSecret || len(m.Env) != 2 || m.Env[0] != (envVar{"A", "b c"}) ||
		m.Env[1] != (envVar{"HASURA_GRAPHQL_UNAUTHORIZED_ROLE", "anonymous"}) || len(m.Unknown) != 1 {
		t.Errorf("%+v", m)
	}
}

// fakeRunner is a Runner against a handler, for transport-level tests.
func fakeRunner(t *testing.T, h http.HandlerFunc) (*Runner, *engineRef) {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Runner{client: srv.Client(), skipReasons: map[string]int{}}, &engineRef{URL: srv.URL}
}

func TestAllowedResponsesAndHeaders(t *testing.T) {
	r, eng := fakeRunner(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Thing", "yes")
		_, _ = w.Write([]byte(`{"errors":[{"message":"pg 13 wording"}]}`))
	})
	c := &Case{URL: "/v1/graphql", Status: 200, Allowed: []Allowed{
		{Response: mustYAML(t, "errors: [{message: pg 12 wording}]")},
		{Response: mustYAML(t, "errors: [{message: pg 13 wording}]")},
	}}
	if d := r.runHTTP(context.Background(), eng, c, nil); d != "" {
		t.Errorf("second allowed response should match: %s", d)
	}
	c.Allowed = c.Allowed[:1]
	if d := r.runHTTP(context.Background(), eng, c, nil); !strings.HasPrefix(d, "none of 1 allowed_responses matched; first: $.errors[0].message") {
		t.Errorf("got %q", d)
	}

	c = &Case{URL: "/v1/graphql", Status: 200, RespHeaders: []Header{{"x-thing", "yes"}}}
	if d := r.runHTTP(context.Background(), eng, c, nil); d != "" {
		t.Errorf("headers are case-insensitive: %s", d)
	}
	c.RespHeaders = []Header{{"X-Thing", "no"}}
	if d := r.runHTTP(context.Background(), eng, c, nil); d != `resp_headers: X-Thing: expected "no", got "yes"` {
		t.Errorf("got %q", d)
	}
	c = &Case{URL: "/v1/graphql", Status: 400}
	if d := r.runHTTP(context.Background(), eng, c, nil); !strings.HasPrefix(d, "status: expected 400, got 200 (body: {") {
		t.Errorf("got %q", d)
	}
}

// With an admin secret, a case without a role must first be refused
// without the secret and with a wrong one.
func TestAdminSecretRefusalCheck(t *testing.T) {
	const secret = "s3cret"
	lax := false // when true the fake forgets to check the secret
	r, eng := fakeRunner(t, func(w http.ResponseWriter, req *http.Request) {
		if !lax && req.Header.Get("X-Hasura-Admin-Secret") != secret {
			_, _ = w.Write([]byte(`{"errors":[{"extensions":{"code":"access-denied","path":"$"},"message":"invalid x-hasura-admin-secret/x-hasura-access-key"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"data":{"a":1}}`))
	})
	eng.Secret = secret
	c := &Case{URL: "/v1/graphql", Status: 200, Query: ptr(mustYAML(t, "query: '{ a }'")), Response: ptr(mustYAML(t, "data: {a: 1}"))}
	if d := r.runCase(context.Background(), eng, c, "http", true, false); d != "" {
		t.Errorf("secret checked: %s", d)
	}
	lax = true
	if d := r.runCase(context.Background(), eng, c, "http", true, false); !strings.HasPrefix(d, "admin secret check (without the admin secret)") {
		t.Errorf("secret not checked: %q", d)
	}
	// add_auth false: the case goes as written, no check.
	if h, check := authHeaders(eng, c, false); len(h) != 0 || check {
		t.Errorf("add_auth false: %v %v", h, check)
	}
	// a role in the case: secret added, no refusal check.
	c.Headers = []Header{{"x-hasura-role", "user"}}
	if h, check := authHeaders(eng, c, true); len(h) != 2 || check {
		t.Errorf("with role: %v %v", h, check)
	}
	if got := refusedStatus(&Case{URL: "/v1alpha1/graphql", Status: 200}); got != 401 {
		t.Errorf("v1alpha1: %d", got)
	}
	if got := refusedStatus(&Case{URL: "/v1/query", Status: 200}); got != 401 {
		t.Errorf("v1/query: %d", got)
	}
	if got := refusedStatus(&Case{URL: "/v1/query", Status: 404}); got != 404 {
		t.Errorf("404 case: %d", got)
	}
}

func TestCaseRequestShapes(t *testing.T) {
	body := mustYAML(t, "first_name: Foo\nids: [a, b]")
	for _, c := range []struct {
		c                        Case
		method, body, contentype string
	}{
		{Case{URL: "/v1/graphql", Query: ptr(mustYAML(t, "query: x"))}, "POST", `{"query":"x"}`, "application/json"},
		{Case{URL: "/api/rest/x?a=1", Method: "GET", Query: ptr(Null())}, "GET", "", ""},
		{Case{URL: "/api/rest/x", Method: "POST", Body: &body}, "POST", "first_name=Foo&ids=a&ids=b", "application/x-www-form-urlencoded"},
		{Case{URL: "/api/rest/x", Method: "POSTJSON", Body: &body}, "POST", `{"first_name":"Foo","ids":["a","b"]}`, "application/json"},
		{Case{URL: "/api/rest/x", Method: "DELETE"}, "DELETE", "", ""},
		{Case{URL: "/api/rest/x", Query: ptr(Null())}, "POST", "", ""},
	} {
		r, err := caseRequest(&c.c, nil)
		if err != nil || r.Method != c.method || string(r.Body) != c.body || (r.Body != nil && r.ContentType != c.contentype) {
			t.Errorf("%+v: got %s %q %s (%v)", c.c, r.Method, r.Body, r.ContentType, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
