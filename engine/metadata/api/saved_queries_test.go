package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// savedQueryInconsistency is the inconsistent object of temp_query, with
// the reason's error list and suffixes.
func savedQueryInconsistency(errors, suffix string) string {
	reason := `Inconsistent object: In query collection "temp_collection" the query "temp_query" is invalid with the following error(s): ` + errors + suffix
	return fmt.Sprintf(`{"definition":{"name":"temp_query","query":"query { temp_table { col1 col2 } }"},"reason":%q,"name":"query_collections temp_query in temp_collection","type":"query_collections"}`, reason)
}

func newlyFound(objects string) string {
	return `{"path":"$.args","error":"cannot continue due to newly found inconsistent metadata","code":"unexpected","internal":[` + objects + `]}`
}

const (
	tableGone  = `"$.temp_table: field 'temp_table' not found in object 'query_root'"`
	columnGone = `"$.temp_table.col2: field 'col2' not found in object 'temp_table'"`
	inREST     = `. This query is being used in the following REST endpoint(s): "temp_rest_API"`
	allowed    = `. This query is in allowlist.`
	untrack    = `{"type":"untrack_table","args":{"table":{"schema":"public","name":"temp_table"}}}`
)

func TestSavedQueriesMustFitTheSchema(t *testing.T) {
	e := enginetest.Start(t, withSecret)
	pgtest.Exec(t, e.DatabaseURL, `CREATE TABLE temp_table (col1 text, col2 text, id uuid NOT NULL DEFAULT gen_random_uuid())`)
	mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"track_table","args":{"schema":"public","name":"temp_table"}},
	  {"type":"create_query_collection","args":{"name":"temp_collection","definition":{"queries":[{"name":"temp_query","query":"query { temp_table { col1 col2 } }"}]}}},
	  {"type":"create_rest_endpoint","args":{"name":"temp_rest_API","url":"temp_rest_API","methods":["GET"],"definition":{"query":{"collection_name":"temp_collection","query_name":"temp_query"}}}}]}`)
	v0, _ := exportV2(t, e.URL)

	// Untracking the table the query reads is refused, the endpoint
	// serving the query named; then with the query allow-listed instead.
	expectErrors(t, e.URL, []errCase{
		{"/v1/query", untrack, 500, newlyFound(savedQueryInconsistency(tableGone, inREST))},
	})
	mustOK(t, e.URL, "/v1/query", `{"type":"drop_rest_endpoint","args":{"name":"temp_rest_API"}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_collection_to_allowlist","args":{"collection":"temp_collection"}}`)
	expectErrors(t, e.URL, []errCase{
		{"", strings.Replace(untrack, "untrack_table", "pg_untrack_table", 1), 500, newlyFound(savedQueryInconsistency(tableGone, allowed))},
		// Dropping a column the query selects is refused too, and the
		// SQL is rolled back.
		{"/v2/query", `{"type":"run_sql","args":{"sql":"ALTER TABLE temp_table DROP COLUMN col2"}}`, 500,
			newlyFound(savedQueryInconsistency(columnGone, allowed))},
		// Operations Hasura checks with buildSchemaCacheFor answer 400.
		{"", `{"type":"pg_set_table_customization","args":{"table":"temp_table","configuration":{"custom_root_fields":{"select":"temps"}}}}`, 400,
			`{"path":"$.args","error":"cannot continue due to new inconsistent metadata","code":"unexpected","internal":[` + savedQueryInconsistency(tableGone, allowed) + `]}`},
	})
	pgtest.Exec(t, e.DatabaseURL, `SELECT col2 FROM temp_table`)
	if v, md := exportV2(t, e.URL); v != v0+2 || !strings.Contains(fmt.Sprint(md["sources"]), "temp_table") {
		t.Errorf("refused operations changed the metadata: resource_version %d -> %d, sources %v", v0, v, md["sources"])
	}
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")

	// Changed outside the engine, the database no longer fits the query:
	// the schema cache reports it, here and on an engine started since.
	pgtest.Exec(t, e.DatabaseURL, `ALTER TABLE temp_table DROP COLUMN col2`)
	if out := mustOK(t, e.URL, "/v1/metadata", `{"type":"reload_metadata","args":{}}`); out != `{"is_consistent":false,"message":"success"}` {
		t.Errorf("reload_metadata: %s", out)
	}
	inconsistent := `{"inconsistent_objects":[` + savedQueryInconsistency(columnGone, allowed) + `],"is_consistent":false}`
	expectConsistency(t, e, inconsistent, "WARN: inconsistent objects in schema")
	restarted := enginetest.Start(t, func(c *config.Config) { withSecret(c); c.DatabaseURL = e.DatabaseURL })
	expectConsistency(t, restarted, inconsistent, "WARN: inconsistent objects in schema")

	// What was inconsistent before a change is not new: other changes go
	// on; dropping the query makes the metadata consistent again.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_collection_from_allowlist","args":{"collection":"temp_collection"}}`)
	expectConsistency(t, e, `{"inconsistent_objects":[`+savedQueryInconsistency(columnGone, "")+`],"is_consistent":false}`, "WARN: inconsistent objects in schema")
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_query_from_collection","args":{"collection_name":"temp_collection","query_name":"temp_query"}}`)
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
}

// expectConsistency checks get_inconsistent_metadata and /healthz.
func expectConsistency(t *testing.T, e *enginetest.Engine, want, health string) {
	t.Helper()
	if got := mustOK(t, e.URL, "/v1/metadata", `{"type":"get_inconsistent_metadata","args":{}}`); got != want {
		t.Errorf("get_inconsistent_metadata:\n got %s\nwant %s", got, want)
	}
	resp, err := http.Get(e.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != health {
		t.Errorf("/healthz: %d %s, want 200 %s", resp.StatusCode, body, health)
	}
}
