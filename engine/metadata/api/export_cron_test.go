package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/test/enginetest"
)

// TestExportLeavesOutHiddenCronTriggers: a cron trigger with
// include_in_metadata false is kept in the stored metadata but not
// exported, as Hasura does.
func TestExportLeavesOutHiddenCronTriggers(t *testing.T) {
	e := enginetest.Start(t, nil)
	_, md := exportV2(t, e.URL)
	sources, _ := json.Marshal(md["sources"])
	mustOK(t, e.URL, "/v1/metadata", fmt.Sprintf(`{"type":"replace_metadata","args":{"version":3,"sources":%s,"cron_triggers":[
	  {"name":"shown","webhook":"http://hook","schedule":"* * * * *","include_in_metadata":true},
	  {"name":"hidden","webhook":"http://hook","schedule":"* * * * *","include_in_metadata":false}]}}`, sources))
	expectSection(t, exportSections(t, e.URL), "cron_triggers",
		`[{"name":"shown","webhook":"http://hook","schedule":"* * * * *","include_in_metadata":true}]`)

	// It is still stored.
	conn, err := pgx.Connect(context.Background(), e.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var stored string
	if err := conn.QueryRow(context.Background(), `SELECT metadata::text FROM hdb_catalog.hdb_metadata`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, `"hidden"`) {
		t.Errorf("the hidden cron trigger was not stored: %s", stored)
	}
}
