package rest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/strata-dev/strata/engine/metadata"
)

func testRouter(t *testing.T, endpoints string) *router {
	t.Helper()
	md := &metadata.Metadata{
		QueryCollections: json.RawMessage(`[{"name":"c","definition":{"queries":[
			{"name":"q","query":"query ($id: Int) { a }"},
			{"name":"sub","query":"subscription { a }"},
			{"name":"frag","query":"fragment F on A { b }"}]}}]`),
		RestEndpoints: json.RawMessage(endpoints),
	}
	return buildRouter(md)
}

func ep(name, url string, methods ...string) string {
	m, _ := json.Marshal(methods)
	return `{"name":"` + name + `","url":"` + url + `","methods":` + string(m) + `,"definition":{"query":{"collection_name":"c","query_name":"q"}}}`
}

// Hasura's router (RQL/Types/Endpoint/Trie.hs): every template the path
// fits counts, a literal segment is not preferred to a variable; a hit
// beats a path served with other methods; two hits are ambiguous.
func TestRouterMatchesAsHasura(t *testing.T) {
	r := testRouter(t, "["+strings.Join([]string{
		ep("by_id", "people/:id", "GET"),
		ep("count", "people/count", "POST"),
		ep("one", "people/:id/one", "GET", "PUT"),
		ep("twin", "twin", "GET"),
		ep("twin2", "twin", "GET"),
	}, ",")+"]")
	for _, tc := range []struct {
		method, path string
		kind         matchKind
		name         string
		values       []string
		allowed      []string
	}{
		{"GET", "people/7", matchFound, "by_id", []string{"7"}, nil},
		{"GET", "people/count", matchFound, "by_id", []string{"count"}, nil}, // the variable wins on GET
		{"POST", "people/count", matchFound, "count", nil, nil},
		{"DELETE", "people/count", matchMissingKey, "", nil, []string{"POST", "GET"}},
		{"PUT", "people/3/one", matchFound, "one", []string{"3"}, nil},
		{"PATCH", "people/3/one", matchMissingKey, "", nil, []string{"GET", "PUT"}},
		{"GET", "people", matchNotFound, "", nil, nil},
		{"GET", "people/3/two", matchNotFound, "", nil, nil},
		{"GET", "twin", matchAmbiguous, "", nil, nil},
	} {
		m := r.match(tc.method, strings.Split(tc.path, "/"))
		name := ""
		if m.ep != nil {
			name = m.ep.Name
		}
		if m.kind != tc.kind || name != tc.name || !reflect.DeepEqual(m.values, tc.values) || !reflect.DeepEqual(m.allowed, tc.allowed) {
			t.Errorf("%s %s: %+v (endpoint %q), want kind %d %q %v %v", tc.method, tc.path, m, name, tc.kind, tc.name, tc.values, tc.allowed)
		}
	}
}

// Endpoints whose query is missing or a subscription are inconsistent
// and not routed; a query that is only a fragment is routed (and fails
// when called), as in Hasura.
func TestRouterSkipsInconsistentEndpoints(t *testing.T) {
	r := testRouter(t, `[
		{"name":"gone","url":"gone","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"nope"}}},
		{"name":"sub","url":"sub","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"sub"}}},
		{"name":"frag","url":"frag","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"frag"}}},
		{"name":"ok","url":"ok","methods":["GET"],"definition":{"query":{"collection_name":"c","query_name":"q"}}}]`)
	var names []string
	for _, e := range r.endpoints {
		names = append(names, e.Name)
	}
	if !reflect.DeepEqual(names, []string{"frag", "ok"}) {
		t.Errorf("routed: %q", names)
	}
}

func varDefs(t *testing.T, q string) ast.VariableDefinitionList {
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatal(err)
	}
	return doc.Operations[0].VariableDefinitions
}

func TestResolveVariables(t *testing.T) {
	defs := varDefs(t, `query ($i: Int, $f: float8!, $b: Boolean, $s: String, $bi: bigint, $o: jsonb, $l: [Int]) { a }`)
	for _, tc := range []struct {
		args []arg
		want string
		err  string
	}{
		{[]arg{{name: "i", text: "3"}, {name: "f", text: "1.5"}, {name: "b", text: "false"}}, `{"b":false,"f":1.5,"i":3}`, ""},
		{[]arg{{name: "s", text: "3"}, {name: "bi", text: "3"}}, `{"bi":"3","s":"3"}`, ""}, // text unless Int/Float-like
		{[]arg{{name: "i", text: "x"}}, `{"i":"x"}`, ""},                                   // left for GraphQL to refuse
		{[]arg{{name: "b", text: ""}, {name: "i", text: ""}}, `{"b":true}`, ""},
		{[]arg{{name: "o", text: `{"a":1}`}}, `{"o":"{\"a\":1}"}`, ""},
		{[]arg{{name: "o", json: json.RawMessage(`{"a":1}`)}}, `{"o":{"a":1}}`, ""},
		{[]arg{{name: "i", text: "1"}, {name: "i", json: json.RawMessage(`2`)}, {name: "i", text: "3"}}, `{"i":3}`, ""},
		{[]arg{{name: "not-a-name", text: "1"}}, `null`, ""},
		{[]arg{{name: "zzz", text: "1"}}, "", "Unexpected variable zzz"},
		{[]arg{{name: "l", text: "1,2"}}, "", `List variables are not currently supported in URL or Query parameters. (Variable l, with value "1,2")`},
		{[]arg{{name: "l", json: json.RawMessage(`[1,2]`)}}, `{"l":[1,2]}`, ""},
	} {
		got, err := resolveVariables(defs, tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%+v: err %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tc.args, err)
			continue
		}
		if g := string(got); g != tc.want && !(g == "" && tc.want == "null") {
			t.Errorf("%+v: %s, want %s", tc.args, g, tc.want)
		}
	}
}

func TestHaskellShow(t *testing.T) {
	for in, want := range map[string]string{
		`a"b\c`:     `"a\"b\\c"`,
		"é1":        `"\233\&1"`,
		"\x01\x0eH": `"\SOH\SO\&H"`,
		"tab\there": `"tab\there"`,
	} {
		if got := haskellShow(in); got != want {
			t.Errorf("haskellShow(%q) = %s, want %s", in, got, want)
		}
	}
}
