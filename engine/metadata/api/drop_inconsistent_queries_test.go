package api_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestDropInconsistentSavedQueries(t *testing.T) {
	e := enginetest.Start(t, withSecret)
	pgtest.Exec(t, e.DatabaseURL, `CREATE TABLE author (id int PRIMARY KEY, name text, mood text)`)
	collection := func(name string, queries ...string) string {
		var list []map[string]string
		for _, q := range queries {
			list = append(list, map[string]string{"name": q, "query": "query " + q + " { author { " + q[2:] + " } }"})
		}
		b, _ := json.Marshal(list)
		return fmt.Sprintf(`{"type":"create_query_collection","args":{"name":%q,"definition":{"queries":%s}}},
		  {"type":"add_collection_to_allowlist","args":{"collection":%q}}`, name, b, name)
	}
	endpoint := func(name, collection, query string) string {
		return fmt.Sprintf(`{"type":"create_rest_endpoint","args":{"name":%q,"url":%q,"methods":["GET"],"definition":{"query":{"collection_name":%q,"query_name":%q}}}}`,
			name, name, collection, query)
	}
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"pg_track_table","args":{"table":"author"}},
	  `+collection("c1", "q_name", "q_id")+`,`+collection("c2", "q_mood")+`,`+collection("c3", "q_id")+`,
	  `+endpoint("e_name", "c1", "q_name")+`,`+endpoint("e_id", "c1", "q_id")+`,`+endpoint("e_mood", "c2", "q_mood")+`]}`)

	// Changed outside the engine, the database no longer fits q_name and
	// q_mood.
	pgtest.Exec(t, e.DatabaseURL, `ALTER TABLE author DROP COLUMN name, DROP COLUMN mood`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"reload_metadata","args":{}}`)
	var report struct {
		Objects []struct{ Name, Type string } `json:"inconsistent_objects"`
	}
	_ = json.Unmarshal([]byte(mustOK(t, e.URL, "/v1/metadata", `{"type":"get_inconsistent_metadata","args":{}}`)), &report)
	if got := fmt.Sprint(report.Objects); got != "[{query_collections q_name in c1 query_collections} {query_collections q_mood in c2 query_collections}]" {
		t.Fatalf("inconsistent objects: %s", got)
	}

	// Dropping them drops the queries and the endpoints serving them; c2,
	// left empty, goes with its allowlist entry. The other collections and
	// their entries stay.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_inconsistent_metadata","args":{}}`)
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
	_, md := exportV2(t, e.URL)
	got, _ := json.Marshal(map[string]any{"query_collections": md["query_collections"], "allowlist": md["allowlist"], "rest_endpoints": md["rest_endpoints"]})
	want := `{"allowlist":[{"collection":"c1","scope":{"global":true}},{"collection":"c3","scope":{"global":true}}],` +
		`"query_collections":[{"definition":{"queries":[{"name":"q_id","query":"query q_id { author { id } }"}]},"name":"c1"},` +
		`{"definition":{"queries":[{"name":"q_id","query":"query q_id { author { id } }"}]},"name":"c3"}],` +
		`"rest_endpoints":[{"comment":null,"definition":{"query":{"collection_name":"c1","query_name":"q_id"}},"methods":["GET"],"name":"e_id","url":"e_id"}]}`
	if string(got) != want {
		t.Errorf("after drop_inconsistent_metadata:\n got %s\nwant %s", got, want)
	}
}
