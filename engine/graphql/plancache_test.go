package graphql_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/graphql"
	"github.com/strata-dev/strata/test/enginetest"
)

// TestPlanCacheByShape: requests that differ only in the values of
// variables that are mere parameters share one compiled plan, and every
// answer is the one the same query gets with the values written inline;
// variables that shape the SQL (a limit, an enum, a float) keep plans of
// their own.
func TestPlanCacheByShape(t *testing.T) {
	e := library(t)
	user := map[string]string{"X-Hasura-Role": "user", "X-Hasura-User-Id": "1"}
	cases := []shapeCase{
		{name: "by pk", decl: "$v: Int!", query: `author_by_pk(id: $v) { id name }`,
			values: [][2]string{{"1", "1"}, {"2", "2"}, {"3", "3"}}, compiles: 1},
		{name: "string", decl: "$v: String!", query: `article(where: {title: {_eq: $v}}, order_by: {id: asc}) { id title }`,
			values: [][2]string{{`"A1"`, `"A1"`}, {`"B1"`, `"B1"`}, {`"A1' OR true --"`, `"A1' OR true --"`}, {`" Strata.Probe[0]{\"'\\%_,é} "`, `" Strata.Probe[0]{\"'\\%_,é} "`}}, compiles: 1},
		{name: "the probe itself", decl: "$v: String!", query: `article(where: {title: {_neq: $v}}, order_by: {id: asc}) { id }`,
			values: [][2]string{{`" Strata.Probe[0]{\"'\\%_,é} "`, `" Strata.Probe[0]{\"'\\%_,é} "`}, {`"A1"`, `"A1"`}}, compiles: 1},
		{name: "like pattern", decl: "$v: String!", query: `author(where: {name: {_like: $v}}) { name }`,
			values: [][2]string{{`"A%"`, `"A%"`}, {`"%o%"`, `"%o%"`}}, compiles: 1},
		{name: "list", decl: "$v: [Int!]!", query: `article(where: {id: {_in: $v}}, order_by: {id: asc}) { id }`,
			values: [][2]string{{"[1, 2]", "[1, 2]"}, {"[3, 1]", "[3, 1]"}, {"[2]", "[2]"}}, compiles: 2},
		{name: "as a role", decl: "$v: String", query: `article(where: {title: {_neq: $v}}, order_by: {id: asc}) { id title }`,
			values: [][2]string{{`"A1"`, `"A1"`}, {`"B1"`, `"B1"`}}, role: user, compiles: 1},
		{name: "limit", decl: "$v: Int!", query: `article(limit: $v, order_by: {id: asc}) { id }`,
			values: [][2]string{{"1", "1"}, {"2", "2"}, {"20", "20"}}, role: user, compiles: 3},
		{name: "enum", decl: "$v: [article_order_by!]", query: `article(order_by: $v) { id }`,
			values: [][2]string{{`[{"id": "desc"}]`, `[{id: desc}]`}, {`[{"id": "asc"}]`, `[{id: asc}]`}}, compiles: 2},
		{name: "null", decl: "$v: Int", query: `article(where: {author_id: {_eq: $v}}, order_by: {id: asc}) { id }`,
			values: [][2]string{{"1", "1"}, {"null", "null"}, {"2", "2"}}, compiles: 2},
		{name: "numeric", decl: "$v: numeric", query: `article(where: {rating: {_lte: $v}}, order_by: {id: asc}) { id rating }`,
			values: [][2]string{{"3", "3"}, {"5", "5"}, {"4.5", "4.5"}, {"3.0", "3.0"}}, compiles: 3},
		{name: "out of range", decl: "$v: Int!", query: `author_by_pk(id: $v) { id }`,
			values: [][2]string{{"1", "1"}, {"3000000000", "3000000000"}}, compiles: 2},
		{name: "wrong kind", decl: "$v: Int!", query: `author_by_pk(id: $v) { name }`,
			values: [][2]string{{"2", "2"}, {`"2"`, `"2"`}}, compiles: 2},
	}
	checkShapes(t, e, cases)
}

// TestPlanCacheByShapeRemoteJoin: a remote join's statement takes its
// parameters from the template too.
func TestPlanCacheByShapeRemoteJoin(t *testing.T) {
	e := twoSources(t)
	checkShapes(t, e, []shapeCase{
		{name: "in a join", decl: "$v: String!", query: `author(order_by: {id: asc}) { name places(where: {name: {_eq: $v}}) { name } }`,
			values: [][2]string{{`"cafe"`, `"cafe"`}, {`"hut"`, `"hut"`}, {`"home"`, `"home"`}}, compiles: 1},
	})
}

// shapeCase is a query run with several values of its variable $v.
type shapeCase struct {
	name  string
	query string // with $v, the variable
	decl  string // its declaration
	// values of $v, as JSON, and their GraphQL literal.
	values [][2]string
	role   map[string]string
	// compiles is how many plans the values need, the first request
	// included: 1 when the values are mere parameters.
	compiles int
}

// checkShapes runs each case's query with each value, as a variable and
// written inline: the answers must agree, and the variable's requests
// compile as many plans as the case says.
func checkShapes(t *testing.T, e *enginetest.Engine, cases []shapeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			withVar := "query(" + tc.decl + ") { " + tc.query + " }"
			before := graphql.PlanCacheStats()
			for _, v := range tc.values {
				_, got := post(t, e.URL+"/v1/graphql", map[string]any{"query": withVar, "variables": json.RawMessage(`{"v": ` + v[0] + `}`)}, tc.role)
				stats := graphql.PlanCacheStats()
				_, want := post(t, e.URL+"/v1/graphql", map[string]any{"query": "query { " + strings.ReplaceAll(tc.query, "$v", v[1]) + " }"}, tc.role)
				if !sameErrorOrData(got, want) {
					t.Errorf("$v = %s:\n got %v\nwant %v", v[0], got, want)
				}
				// The inline request compiled a plan of its own.
				before.Compiles += graphql.PlanCacheStats().Compiles - stats.Compiles
			}
			if n := graphql.PlanCacheStats().Compiles - before.Compiles; n != int64(tc.compiles) {
				t.Errorf("%d values compiled %d plans, want %d", len(tc.values), n, tc.compiles)
			}
		})
	}
}

// TestPlanCacheByShapeMutation: an insert whose values are variables is
// compiled once, and every request inserts its own values.
func TestPlanCacheByShapeMutation(t *testing.T) {
	e := library(t)
	const m = `mutation($name: String!, $born: date) { insert_author_one(object: {name: $name, born: $born}) { name born } }`
	before := graphql.PlanCacheStats()
	for _, v := range []string{`{"name": "Cy", "born": "1999-12-31"}`, `{"name": "Di", "born": "2001-02-03"}`, `{"name": "O'Neil", "born": "1980-07-08"}`} {
		_, got := post(t, e.URL+"/v1/graphql", map[string]any{"query": m, "variables": json.RawMessage(v)}, nil)
		var want map[string]any
		_ = json.Unmarshal([]byte(v), &want)
		if !reflect.DeepEqual(got, map[string]any{"data": map[string]any{"insert_author_one": want}}) {
			t.Errorf("%s inserted %v", v, got)
		}
	}
	if n := graphql.PlanCacheStats().Compiles - before.Compiles; n != 1 {
		t.Errorf("3 inserts compiled %d plans, want 1", n)
	}
	_, got := post(t, e.URL+"/v1/graphql", map[string]any{"query": `{ author(where: {id: {_gt: 2}}, order_by: {id: asc}) { name } }`}, nil)
	want := jsonOf(t, `{"data": {"author": [{"name": "Cy"}, {"name": "Di"}, {"name": "O'Neil"}]}}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("authors: %v", got)
	}
}

// sameErrorOrData compares two responses: the same data, or errors with
// the same messages (their paths differ: one names a variable).
func sameErrorOrData(a, b any) bool {
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	if am["errors"] == nil || bm["errors"] == nil {
		return reflect.DeepEqual(a, b)
	}
	ae, _ := am["errors"].([]any)
	be, _ := bm["errors"].([]any)
	return len(ae) > 0 && len(ae) == len(be)
}
