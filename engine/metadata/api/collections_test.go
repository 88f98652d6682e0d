package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// exportSections returns export_metadata's top-level values, compacted.
func exportSections(t *testing.T, base string) map[string]string {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(mustOK(t, base, "/v1/metadata", `{"type":"export_metadata","args":{}}`)), &top); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range top {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			t.Fatal(err)
		}
		out[k] = b.String()
	}
	return out
}

func expectSection(t *testing.T, got map[string]string, key, want string) {
	t.Helper()
	if want == "" {
		if v, ok := got[key]; ok {
			t.Errorf("%s should be left out of the export, got %s", key, v)
		}
		return
	}
	if got[key] != want {
		t.Errorf("%s:\n got %s\nwant %s", key, got[key], want)
	}
}

type errCase struct {
	path, body string
	status     int
	want       string
}

func expectErrors(t *testing.T, base string, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		path := tc.path
		if path == "" {
			path = "/v1/metadata"
		}
		status, got := post(t, base, path, tc.body)
		if status != tc.status || got != tc.want {
			t.Errorf("%s %s:\n got %d %s\nwant %d %s", path, tc.body, status, got, tc.status, tc.want)
		}
	}
}

const (
	q1 = `query q1 { author { id name } }`
	q2 = `query q2($id: Int!) { author(where: {id: {_eq: $id}}) { name } }`
)

func TestQueryCollectionsAllowlistAndRestEndpoints(t *testing.T) {
	e := enginetest.Start(t, nil)
	// Saved queries must fit the schema: author is what they query.
	pgtest.Exec(t, e.DatabaseURL, `CREATE TABLE author (id int PRIMARY KEY, name text)`)
	mustOK(t, e.URL, "/v1/query", `{"type":"track_table","args":{"schema":"public","name":"author"}}`)
	v0, _ := exportV2(t, e.URL)

	// The happy path, mixing both APIs.
	mustOK(t, e.URL, "/v1/metadata", fmt.Sprintf(`{"type":"create_query_collection","args":{"name":"c1","comment":"my queries","definition":{"queries":[{"name":"q1","query":%q}]}}}`, q1))
	mustOK(t, e.URL, "/v1/query", fmt.Sprintf(`{"type":"add_query_to_collection","args":{"collection_name":"c1","query_name":"q2","query":%q}}`, q2))
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_collection_to_allowlist","args":{"collection":"c1"}}`)
	out := mustOK(t, e.URL, "/v1/metadata", `{"type":"create_rest_endpoint","args":{"name":"author","url":"author/:id","methods":["GET","POST"],"definition":{"query":{"collection_name":"c1","query_name":"q2"}}}}`)
	if out != `{"message":"success"}` {
		t.Errorf("create_rest_endpoint: %s", out)
	}
	v1, _ := exportV2(t, e.URL)
	if v1 != v0+4 {
		t.Errorf("four changes: resource_version %d -> %d", v0, v1)
	}

	qc := fmt.Sprintf(`[{"name":"c1","definition":{"queries":[{"name":"q1","query":%q},{"name":"q2","query":%q}]},"comment":"my queries"}]`, q1, q2)
	ep := `[{"comment":null,"definition":{"query":{"collection_name":"c1","query_name":"q2"}},"methods":["GET","POST"],"name":"author","url":"author/:id"}]`
	s := exportSections(t, e.URL)
	expectSection(t, s, "query_collections", qc)
	expectSection(t, s, "allowlist", `[{"collection":"c1","scope":{"global":true}}]`)
	expectSection(t, s, "rest_endpoints", ep)
	// An inherited role's parents must be roles the metadata knows.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"pg_create_select_permission","args":{"table":"author","role":"user","permission":{"columns":["id"],"filter":{}}}},
	  {"type":"pg_create_select_permission","args":{"table":"author","role":"editor","permission":{"columns":["id"],"filter":{}}}}]}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_inherited_role","args":{"role_name":"manager","role_set":["user","editor"]}}`)
	expectSection(t, exportSections(t, e.URL), "inherited_roles", `[{"role_name":"manager","role_set":["user","editor"]}]`)

	// Adding a collection that is already allowed answers 200 with
	// Hasura's message and changes nothing.
	v2, _ := exportV2(t, e.URL)
	out = mustOK(t, e.URL, "/v1/metadata", `{"type":"add_collection_to_allowlist","args":{"collection":"c1","scope":{"global":false,"roles":["user"]}}}`)
	if want := `{"message":"collection \"c1\" already exists in the allowlist, scope ignored; to change scope, use update_scope_of_collection_in_allowlist"}`; out != want {
		t.Errorf("re-add to allowlist: %s", out)
	}
	if v, _ := exportV2(t, e.URL); v != v2 {
		t.Errorf("a no-op must not bump resource_version: %d -> %d", v2, v)
	}
	mustOK(t, e.URL, "/v1/metadata", `{"type":"update_scope_of_collection_in_allowlist","args":{"collection":"c1","scope":{"global":false,"roles":["user","editor"]}}}`)
	expectSection(t, exportSections(t, e.URL), "allowlist", `[{"collection":"c1","scope":{"global":false,"roles":["user","editor"]}}]`)

	// A second collection, outside the allowlist and unused.
	mustOK(t, e.URL, "/v1/query", `{"type":"create_query_collection","args":{"name":"c2","definition":{"queries":[]}}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"create_query_collection","args":{"name":"subs","definition":{"queries":[{"name":"s","query":"subscription { author { id } }"},{"name":"two","query":"query a { author { ...f } } fragment f on author { id }"}]}}}`)

	endpointInternal := func(name, url, coll, query, reason string) string {
		return fmt.Sprintf(`[{"definition":{"comment":null,"definition":{"query":{"collection_name":%q,"query_name":%q}},"methods":["GET"],"name":%q,"url":%q},"reason":%q,"name":"rest_endpoint %s","type":"rest_endpoint"}]`,
			coll, query, name, url, reason, name)
	}
	endpoint := func(name, url, coll, query string) string {
		return fmt.Sprintf(`{"type":"create_rest_endpoint","args":{"name":%q,"url":%q,"methods":["GET"],"definition":{"query":{"collection_name":%q,"query_name":%q}}}}`, name, url, coll, query)
	}
	invalid := func(name, url, coll, query, reason string) string {
		return fmt.Sprintf(`{"path":"$.args","error":%q,"code":"invalid-configuration","internal":%s}`, reason, endpointInternal(name, url, coll, query, reason))
	}
	ambiguous := `{"conflicts":[` +
		`{"comment":null,"definition":{"query":%q},"methods":["GET","POST"],"name":"author","url":"author/:id"},` +
		`{"comment":null,"definition":{"query":%q},"methods":["GET"],"name":%q,"url":"author/:x"}],` +
		`"reason":"Ambiguous URL paths: author/:id, author/:x"}`

	expectErrors(t, e.URL, []errCase{
		// create_query_collection
		{"", `{"type":"create_query_collection","args":{"name":"c1","definition":{"queries":[]}}}`, 400,
			`{"path":"$.args.name","error":"query collection with name \"c1\" already exists","code":"already-exists"}`},
		{"/v1/query", `{"type":"create_query_collection","args":{"name":"c3","definition":{"queries":[{"name":"a","query":"{ a }"},{"name":"b","query":"{ b }"},{"name":"a","query":"{ c }"}]}}}`, 400,
			`{"path":"$.args.definition.queries","error":"found duplicate query names \"a\"","code":"not-supported"}`},
		{"", `{"type":"create_query_collection","args":{"definition":{"queries":[]}}}`, 400,
			`{"path":"$.args","error":"key \"name\" not found","code":"parse-failed"}`},
		{"", `{"type":"create_query_collection","args":{"name":"","definition":{"queries":[]}}}`, 400,
			`{"path":"$.args.name","error":"empty string not allowed","code":"parse-failed"}`},
		{"", `{"type":"create_query_collection","args":{"name":"c3"}}`, 400,
			`{"path":"$.args","error":"key \"definition\" not found","code":"parse-failed"}`},
		{"", `{"type":"create_query_collection","args":{"name":"c3","definition":{"queries":[{"name":"a","query":5}]}}}`, 400,
			`{"path":"$.args.definition.queries[0].query","error":"expecting String for GraphQL query","code":"parse-failed"}`},
		{"", `{"type":"create_query_collection","args":{"name":"c3","definition":{"queries":[{"name":"a","query":"query {"}]}}}`, 400,
			`{"path":"$.args.definition.queries[0].query","error":"not a valid graphql query: Expected Name, found <EOF>","code":"parse-failed"}`},

		// add_query_to_collection / drop_query_from_collection
		{"", `{"type":"add_query_to_collection","args":{"collection_name":"nope","query_name":"q","query":"{ a }"}}`, 400,
			`{"path":"$.args","error":"query collection with name \"nope\" does not exist","code":"not-exists"}`},
		{"/v1/query", `{"type":"add_query_to_collection","args":{"collection_name":"c1","query_name":"q1","query":"{ a }"}}`, 400,
			`{"path":"$.args","error":"query with name \"q1\" already exists in collection \"c1\"","code":"already-exists"}`},
		{"", `{"type":"drop_query_from_collection","args":{"collection_name":"nope","query_name":"q1"}}`, 400,
			`{"path":"$.args","error":"query collection with name \"nope\" does not exist","code":"not-exists"}`},
		{"/v1/query", `{"type":"drop_query_from_collection","args":{"collection_name":"c1","query_name":"q9"}}`, 400,
			`{"path":"$.args","error":"query with name \"q9\" not found in collection \"c1\"","code":"not-found"}`},
		{"", `{"type":"drop_query_from_collection","args":{"collection_name":"c1","query_name":"q2"}}`, 400,
			`{"path":"$.args","error":"query with name \"q2\" in collection \"c1\" is used by the rest endpoint(s) \"author\"; cannot proceed to drop","code":"dependency-error"}`},

		// drop_query_collection
		{"", `{"type":"drop_query_collection","args":{"collection":"nope","cascade":false}}`, 400,
			`{"path":"$.args.collection","error":"query collection with name \"nope\" does not exist","code":"not-exists"}`},
		{"/v1/query", `{"type":"drop_query_collection","args":{"collection":"c1","cascade":false}}`, 400,
			`{"path":"$.args.collection","error":"query collection with name \"c1\" is present in the allowlist; cannot proceed to drop. please use cascade to confirm you wish to drop it from the allowlist as well","code":"dependency-error"}`},
		{"", `{"type":"drop_query_collection","args":{"collection":"c1"}}`, 400,
			`{"path":"$.args","error":"key \"cascade\" not found","code":"parse-failed"}`},

		// the allowlist
		{"", `{"type":"add_collection_to_allowlist","args":{"collection":"nope"}}`, 400,
			`{"path":"$.args.collection","error":"query collection with name \"nope\" does not exist","code":"not-exists"}`},
		{"/v1/query", `{"type":"drop_collection_from_allowlist","args":{"collection":"nope"}}`, 400,
			`{"path":"$.args.collection","error":"query collection with name \"nope\" does not exist","code":"not-exists"}`},
		{"", `{"type":"drop_collection_from_allowlist","args":{"collection":"c2"}}`, 400,
			`{"path":"$.args","error":"collection \"c2\" doesn't exist in the allowlist","code":"not-found"}`},
		{"", `{"type":"update_scope_of_collection_in_allowlist","args":{"collection":"c2","scope":{"global":true}}}`, 400,
			`{"path":"$.args","error":"collection \"c2\" doesn't exist in the allowlist","code":"not-found"}`},
		{"", `{"type":"update_scope_of_collection_in_allowlist","args":{"collection":"nope","scope":{"global":true}}}`, 400,
			`{"path":"$.args.collection","error":"query collection with name \"nope\" does not exist","code":"not-exists"}`},
		{"", `{"type":"update_scope_of_collection_in_allowlist","args":{"collection":"c1"}}`, 400,
			`{"path":"$.args","error":"key \"scope\" not found","code":"parse-failed"}`},
		{"", `{"type":"update_scope_of_collection_in_allowlist","args":{"collection":"c1","scope":{"global":true,"roles":["user"]}}}`, 400,
			`{"path":"$.args.scope","error":"roles are not allowed when global is true","code":"parse-failed"}`},
		{"", `{"type":"update_scope_of_collection_in_allowlist","args":{"collection":"c1","scope":{"global":false}}}`, 400,
			`{"path":"$.args.scope","error":"key \"roles\" not found","code":"parse-failed"}`},
		{"", `{"type":"update_scope_of_collection_in_allowlist","args":{"collection":"c1","scope":{"global":false,"roles":[]}}}`, 400,
			`{"path":"$.args.scope.roles","error":"parsing NonEmpty failed, unexpected empty list","code":"parse-failed"}`},
		{"", `{"type":"update_scope_of_collection_in_allowlist","args":{"collection":"c1","scope":{"global":false,"roles":["a","a"]}}}`, 400,
			`{"path":"$.args.scope","error":"duplicate roles are not allowed","code":"parse-failed"}`},
		{"", `{"type":"add_collection_to_allowlist","args":{"collection":"c2","scope":{"roles":["a"]}}}`, 400,
			`{"path":"$.args.scope","error":"key \"global\" not found","code":"parse-failed"}`},
		// Not a /v1/query operation in Hasura.
		{"/v1/query", `{"type":"update_scope_of_collection_in_allowlist","args":{"collection":"c1","scope":{"global":true}}}`, 400,
			`{"path":"$.type","error":"unknown query type: \"update_scope_of_collection_in_allowlist\"","code":"parse-failed"}`},

		// create_rest_endpoint / drop_rest_endpoint
		{"", endpoint("author", "other", "c1", "q1"), 400,
			`{"path":"$.args","error":"Endpoint with name: author already exists","code":"already-exists"}`},
		{"", endpoint("e2", "e2", "nope", "q1"), 400,
			invalid("e2", "e2", "nope", "q1", "Inconsistent object: in endpoint e2: collection with name nope does not exist")},
		{"/v1/query", endpoint("e2", "e2", "c1", "q9"), 400,
			invalid("e2", "e2", "c1", "q9", "Inconsistent object: in endpoint e2: query with name q9 does not exist in collection c1")},
		{"", endpoint("e2", "e2", "subs", "s"), 400,
			invalid("e2", "e2", "subs", "s", "Inconsistent object: in endpoint e2: query with name s is a subscription")},
		{"", endpoint("e2", "e2", "subs", "two"), 400,
			invalid("e2", "e2", "subs", "two", "Inconsistent object: in endpoint e2: query with name two has multiple definitions.")},
		{"", endpoint("e2", "foo/", "c1", "q1"), 400,
			invalid("e2", "foo/", "c1", "q1", "Empty segments or unnamed variables are not allowed: foo/")},
		{"", endpoint("e2", "/foo", "c1", "q1"), 400,
			invalid("e2", "/foo", "c1", "q1", "Empty segments or unnamed variables are not allowed: /foo")},
		{"", endpoint("e2", "foo/:id/bar/:id", "c1", "q1"), 400,
			invalid("e2", "foo/:id/bar/:id", "c1", "q1", "Duplicate variables found in endpoint path: foo/:id/bar/:id")},
		// author/:x overlaps author/:id on GET: the error is the new
		// endpoint's own when it sorts first, else a generic one.
		{"", endpoint("a0", "author/:x", "c1", "q1"), 400,
			`{"path":"$.args","error":"Ambiguous URL paths: author/:x, author/:id","code":"invalid-configuration","internal":[` +
				fmt.Sprintf(`{"conflicts":[{"comment":null,"definition":{"query":%q},"methods":["GET"],"name":"a0","url":"author/:x"},{"comment":null,"definition":{"query":%q},"methods":["GET","POST"],"name":"author","url":"author/:id"}],"reason":"Ambiguous URL paths: author/:x, author/:id"}]}`, q1, q2)},
		{"", endpoint("zz", "author/:x", "c1", "q1"), 400,
			`{"path":"$.args","error":"cannot continue due to new inconsistent metadata","code":"unexpected","internal":[` +
				compactJSON(t, fmt.Sprintf(ambiguous, q2, q1, "zz")) + `]}`},
		{"", `{"type":"create_rest_endpoint","args":{"name":"e2","url":"e2","methods":["FETCH"],"definition":{"query":{"collection_name":"c1","query_name":"q1"}}}}`, 400,
			`{"path":"$.args.methods[0]","error":"expected one of the tags [\"GET\",\"POST\",\"PUT\",\"DELETE\",\"PATCH\"], but found tag \"FETCH\"","code":"parse-failed"}`},
		{"", `{"type":"create_rest_endpoint","args":{"name":"e2","url":"e2","methods":[],"definition":{"query":{"collection_name":"c1","query_name":"q1"}}}}`, 400,
			`{"path":"$.args.methods","error":"parsing NonEmpty failed, unexpected empty list","code":"parse-failed"}`},
		{"", `{"type":"create_rest_endpoint","args":{"name":"e2","url":"","methods":["GET"],"definition":{"query":{"collection_name":"c1","query_name":"q1"}}}}`, 400,
			`{"path":"$.args.url","error":"empty string not allowed","code":"parse-failed"}`},
		{"", `{"type":"create_rest_endpoint","args":{"name":"e2","url":"e2","methods":["GET"],"definition":{"query":{"collection_name":"c1"}}}}`, 400,
			`{"path":"$.args.definition.query","error":"key \"query_name\" not found","code":"parse-failed"}`},
		{"/v1/query", `{"type":"drop_rest_endpoint","args":{"name":"nope"}}`, 400,
			`{"path":"$.args","error":"endpoint with name: nope does not exist","code":"not-exists"}`},
	})

	// Nothing above changed the metadata.
	s = exportSections(t, e.URL)
	expectSection(t, s, "rest_endpoints", ep)

	// A collection used only by a rest endpoint: refused without cascade,
	// dropped with the endpoint with it.
	mustOK(t, e.URL, "/v1/metadata", endpoint("c2-all", "c2", "c1", "q1"))
	mustOK(t, e.URL, "/v1/metadata", fmt.Sprintf(`{"type":"add_query_to_collection","args":{"collection_name":"c2","query_name":"q","query":%q}}`, q1))
	mustOK(t, e.URL, "/v1/metadata", endpoint("c2-q", "c2/q", "c2", "q"))
	expectErrors(t, e.URL, []errCase{
		{"", `{"type":"drop_query_collection","args":{"collection":"c2","cascade":false}}`, 400,
			`{"path":"$.args.collection","error":"query collection with name \"c2\" is used by the rest endpoint(s) \"c2-q\"; cannot proceed to drop. please use cascade to confirm you wish to drop the rest endpoint(s) as well","code":"dependency-error"}`},
	})
	mustOK(t, e.URL, "/v1/query", `{"type":"drop_query_collection","args":{"collection":"c2","cascade":true}}`)
	s = exportSections(t, e.URL)
	expectSection(t, s, "rest_endpoints", `[{"comment":null,"definition":{"query":{"collection_name":"c1","query_name":"q2"}},"methods":["GET","POST"],"name":"author","url":"author/:id"},`+
		`{"comment":null,"definition":{"query":{"collection_name":"c1","query_name":"q1"}},"methods":["GET"],"name":"c2-all","url":"c2"}]`)

	// Drop a query no endpoint uses, then an endpoint, then a query.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_rest_endpoint","args":{"name":"c2-all"}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_query_from_collection","args":{"collection_name":"c1","query_name":"q1"}}`)
	expectSection(t, exportSections(t, e.URL), "query_collections",
		fmt.Sprintf(`[{"name":"c1","definition":{"queries":[{"name":"q2","query":%q}]},"comment":"my queries"},`+
			`{"name":"subs","definition":{"queries":[{"name":"s","query":"subscription { author { id } }"},{"name":"two","query":"query a { author { ...f } } fragment f on author { id }"}]}}]`, q2))

	// drop_collection_from_allowlist, then add it back scoped to roles.
	mustOK(t, e.URL, "/v1/query", `{"type":"drop_collection_from_allowlist","args":{"collection":"c1"}}`)
	expectSection(t, exportSections(t, e.URL), "allowlist", "")
	mustOK(t, e.URL, "/v1/query", `{"type":"add_collection_to_allowlist","args":{"collection":"c1","scope":{"global":false,"roles":["user"]}}}`)
	expectSection(t, exportSections(t, e.URL), "allowlist", `[{"collection":"c1","scope":{"global":false,"roles":["user"]}}]`)

	// Cascade takes the allowlist entry and the endpoint with it; the
	// emptied sections leave the export.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_query_collection","args":{"collection":"c1","cascade":true}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_query_collection","args":{"collection":"subs","cascade":false}}`)
	s = exportSections(t, e.URL)
	for _, key := range []string{"query_collections", "allowlist", "rest_endpoints"} {
		expectSection(t, s, key, "")
	}
	expectSection(t, s, "inherited_roles", `[{"role_name":"manager","role_set":["user","editor"]}]`)
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return b.String()
}

// Entries an operation does not touch keep their bytes, unknown fields
// and all; a bulk of these operations is one change.
func TestCollectionSectionsKeepUntouchedEntries(t *testing.T) {
	e := enginetest.Start(t, nil)
	_, md := exportV2(t, e.URL)
	sources, _ := json.Marshal(md["sources"])
	old := `{"name":"old","definition":{"queries":[{"name":"x","query":"query { a: __typename }","x-note":1}]},"x-owner":"ops"}`
	mustOK(t, e.URL, "/v1/metadata", fmt.Sprintf(`{"type":"replace_metadata","args":{"version":3,"sources":%s,"query_collections":[%s],"allowlist":[{"collection":"old"}]}}`, sources, old))
	v0, _ := exportV2(t, e.URL)
	out := mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"create_query_collection","args":{"name":"new","definition":{"queries":[{"name":"y","query":"query { b: __typename }"}]}}},
	  {"type":"add_collection_to_allowlist","args":{"collection":"new"}}]}`)
	if out != `[{"message":"success"},{"message":"success"}]` {
		t.Fatalf("bulk: %s", out)
	}
	if v1, _ := exportV2(t, e.URL); v1 != v0+1 {
		t.Errorf("a bulk is one change: %d -> %d", v0, v1)
	}
	s := exportSections(t, e.URL)
	// Exported as Hasura does: collections and the allowlist sorted by
	// name, the allowlist's default scope written out.
	expectSection(t, s, "query_collections", `[{"name":"new","definition":{"queries":[{"name":"y","query":"query { b: __typename }"}]}},`+old+`]`)
	expectSection(t, s, "allowlist", `[{"collection":"new","scope":{"global":true}},{"collection":"old","scope":{"global":true}}]`)

	// A changed entry is rewritten; its queries keep their bytes.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_query_to_collection","args":{"collection_name":"old","query_name":"z","query":"query { c: __typename }"}}`)
	expectSection(t, exportSections(t, e.URL), "query_collections",
		`[{"name":"new","definition":{"queries":[{"name":"y","query":"query { b: __typename }"}]}},`+
			`{"name":"old","definition":{"queries":[{"name":"x","query":"query { a: __typename }","x-note":1},{"name":"z","query":"query { c: __typename }"}]}}]`)
}

func TestInheritedRoles(t *testing.T) {
	e := enginetest.Start(t, nil)
	// The parents must be roles the metadata knows: roles with a
	// permission.
	pgtest.Exec(t, e.DatabaseURL, schema)
	mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[{"type":"track_table","args":{"name":"author"}},
	  {"type":"create_select_permission","args":{"table":"author","role":"user","permission":{"columns":["id"],"filter":{}}}},
	  {"type":"create_select_permission","args":{"table":"author","role":"editor","permission":{"columns":["id"],"filter":{}}}},
	  {"type":"create_select_permission","args":{"table":"author","role":"viewer","permission":{"columns":["id"],"filter":{}}}}]}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_inherited_role","args":{"role_name":"manager","role_set":["user","editor","user"]}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_inherited_role","args":{"role_name":"lead","role_set":["manager"]}}`)
	// Exported sorted by name, as Hasura does.
	expectSection(t, exportSections(t, e.URL), "inherited_roles",
		`[{"role_name":"lead","role_set":["manager"]},{"role_name":"manager","role_set":["user","editor"]}]`)

	// Adding a role of the same name replaces it.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_inherited_role","args":{"role_name":"manager","role_set":["viewer"]}}`)
	expectSection(t, exportSections(t, e.URL), "inherited_roles",
		`[{"role_name":"lead","role_set":["manager"]},{"role_name":"manager","role_set":["viewer"]}]`)

	expectErrors(t, e.URL, []errCase{
		{"", `{"type":"add_inherited_role","args":{"role_name":"boss","role_set":["user","boss"]}}`, 400,
			`{"path":"$.args","error":"an inherited role name cannot be in the role combination","code":"invalid-params"}`},
		{"", `{"type":"add_inherited_role","args":{"role_name":"boss"}}`, 400,
			`{"path":"$.args","error":"key \"role_set\" not found","code":"parse-failed"}`},
		{"", `{"type":"add_inherited_role","args":{"role_name":"boss","role_set":["user",""]}}`, 400,
			`{"path":"$.args.role_set[1]","error":"empty string not allowed","code":"parse-failed"}`},
		{"", `{"type":"drop_inherited_role","args":{"role_name":"boss"}}`, 400,
			`{"path":"$.args","error":"\"boss\" inherited role doesn't exist","code":"not-exists"}`},
		{"/v1/query", `{"type":"add_inherited_role","args":{"role_name":"boss","role_set":["user"]}}`, 400,
			`{"path":"$.type","error":"unknown query type: \"add_inherited_role\"","code":"parse-failed"}`},
	})

	// A parent of another inherited role cannot go first: that one would
	// be left inconsistent.
	expectErrors(t, e.URL, []errCase{{"", `{"type":"drop_inherited_role","args":{"role_name":"manager"}}`, 400,
		`{"path":"$.args","error":"cannot continue due to new inconsistent metadata","code":"unexpected","internal":[` +
			`{"definition":{"role_name":"lead","role_set":["manager"]},"reason":"Inconsistent object: in inherited role lead: the following parent role(s) are not found: manager which are required to construct the inherited role: \"lead\"","name":"inherited role lead","type":"inherited_role"}]}`}})
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_inherited_role","args":{"role_name":"lead"}}`)
	expectSection(t, exportSections(t, e.URL), "inherited_roles", `[{"role_name":"manager","role_set":["viewer"]}]`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_inherited_role","args":{"role_name":"manager"}}`)
	expectSection(t, exportSections(t, e.URL), "inherited_roles", "")
}
