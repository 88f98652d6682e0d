package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "test-admin-secret"

func withSecret(c *config.Config) { c.AdminSecrets = []string{secret} }

// post sends body to path with the admin secret (unless headers override)
// and returns status and body.
func post(t *testing.T, base, path, body string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hasura-Admin-Secret", secret)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func mustOK(t *testing.T, base, path, body string) string {
	t.Helper()
	status, out := post(t, base, path, body)
	if status != 200 {
		t.Fatalf("POST %s %s: %d %s", path, body, status, out)
	}
	return out
}

const schema = `
create table author (id serial primary key, name text unique);
create table article (id serial primary key, title text not null, author_id int references author(id), published_on date);`

func exportV2(t *testing.T, base string) (int64, map[string]any) {
	t.Helper()
	var out struct {
		ResourceVersion int64          `json:"resource_version"`
		Metadata        map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(mustOK(t, base, "/v1/metadata", `{"type":"export_metadata","version":2,"args":{}}`)), &out); err != nil {
		t.Fatal(err)
	}
	return out.ResourceVersion, out.Metadata
}

func TestTrackRelateExportAndConflict(t *testing.T) {
	e := enginetest.Start(t, withSecret)
	pgtest.Exec(t, e.DatabaseURL, schema)
	v0, _ := exportV2(t, e.URL)

	out := mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"track_table","args":{"name":"author"}},
	  {"type":"track_table","args":{"schema":"public","name":"article"}},
	  {"type":"create_object_relationship","args":{"table":"article","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
	  {"type":"create_array_relationship","args":{"table":"author","name":"articles","using":{"foreign_key_constraint_on":{"table":"article","column":"author_id"}}}},
	  {"type":"create_select_permission","args":{"table":"article","role":"user","permission":{"columns":["id","title"],"filter":{"author_id":{"_eq":"X-Hasura-User-Id"}}}}}
	]}`)
	if want := `[{"message":"success"},{"message":"success"},{"message":"success"},{"message":"success"},{"message":"success"}]`; out != want {
		t.Fatalf("bulk: %s", out)
	}
	v1, md := exportV2(t, e.URL)
	if v1 != v0+1 {
		t.Errorf("a bulk is one change: resource_version %d -> %d", v0, v1)
	}
	tables := md["sources"].([]any)[0].(map[string]any)["tables"].([]any)
	if len(tables) != 2 {
		t.Fatalf("tables: %v", tables)
	}
	first, _ := json.Marshal(tables[0])
	if want := `{"object_relationships":[{"name":"author","using":{"foreign_key_constraint_on":"author_id"}}],"select_permissions":[{"permission":{"columns":["id","title"],"filter":{"author_id":{"_eq":"X-Hasura-User-Id"}}},"role":"user"}],"table":{"name":"article","schema":"public"}}`; string(first) != want {
		t.Errorf("article:\n got %s\nwant %s", first, want)
	}

	// Hasura's errors for the usual mistakes.
	for _, tc := range []struct{ body, want string }{
		{`{"type":"track_table","args":{"name":"author"}}`, `{"path":"$.args","error":"view/table already tracked: \"author\"","code":"already-tracked"}`},
		{`{"type":"track_table","args":{"name":"nope"}}`, `{"path":"$.args","error":"no such table/view exists in source: \"nope\"","code":"not-exists"}`},
		{`{"type":"untrack_table","args":{"table":{"name":"author"}}}`, `{"path":"$.args","error":"cannot drop due to the following dependent objects: relationship article.author in source \"default\"","code":"dependency-error"}`},
		{`{"type":"create_select_permission","args":{"table":"article","role":"user","permission":{"columns":[],"filter":{}}}}`, `{"path":"$.args","error":"select permission already defined on table \"article\" with role \"user\"","code":"already-exists"}`},
		{`{"type":"create_select_permission","args":{"table":"article","role":"admin","permission":{"columns":"*","filter":{}}}}`, `{"path":"$.args","error":"select permission already defined on table \"article\" with role \"admin\"","code":"already-exists"}`},
		{`{"type":"create_select_permission","args":{"table":"author1","role":"user","permission":{"columns":[],"filter":{}}}}`, `{"path":"$.args","error":"table \"author1\" does not exist in source: default","code":"not-exists"}`},
		{`{"type":"create_select_permission","args":{"table":"author","role":"user","permission":{"columns":[],"filter":{},"limit":"abc"}}}`, `{"path":"$.permission.limit","error":"parsing Int failed, expected Number, but encountered String","code":"parse-failed"}`},
		{`{"type":"bulk","args":[{"type":"track_table","args":{"name":"nope"}}]}`, `{"path":"$.args[0].args","error":"no such table/view exists in source: \"nope\"","code":"not-exists"}`},
	} {
		status, got := post(t, e.URL, "/v1/query", tc.body)
		if status != 400 || got != tc.want {
			t.Errorf("%s:\n got %d %s\nwant 400 %s", tc.body, status, got, tc.want)
		}
	}

	// A relationship on a column without a foreign key is the operation's
	// own inconsistency: invalid-configuration with the object inside.
	status, got := post(t, e.URL, "/v1/query", `{"type":"create_object_relationship","args":{"table":"article","name":"pub","using":{"foreign_key_constraint_on":"published_on"}}}`)
	var body struct {
		Error, Code string
		Internal    []map[string]any
	}
	_ = json.Unmarshal([]byte(got), &body)
	if status != 400 || body.Code != "invalid-configuration" ||
		body.Error != `Inconsistent object: in table "article": in relationship "pub": no foreign constraint exists on the given column(s)` ||
		len(body.Internal) != 1 || body.Internal[0]["name"] != "object_relation pub in table article in source default" {
		t.Errorf("bad relationship: %d %s", status, got)
	}

	// resource_version: the current one applies, a stale one is refused
	// with Hasura's 409 and changes nothing.
	v, md := exportV2(t, e.URL)
	doc, _ := json.Marshal(md)
	mustOK(t, e.URL, "/v1/metadata", fmt.Sprintf(`{"type":"replace_metadata","version":2,"resource_version":%d,"args":{"metadata":%s}}`, v, doc))
	status, got = post(t, e.URL, "/v1/metadata", fmt.Sprintf(`{"type":"replace_metadata","version":2,"resource_version":%d,"args":{"metadata":%s}}`, v, doc))
	if want := fmt.Sprintf(`{"path":"$","error":"metadata resource version referenced (%d) did not match current version","code":"conflict"}`, v); status != 409 || got != want {
		t.Errorf("stale replace: %d %s", status, got)
	}
	if v2, _ := exportV2(t, e.URL); v2 != v+1 {
		t.Errorf("resource_version %d, want %d", v2, v+1)
	}
	status, _ = post(t, e.URL, "/v1/metadata", fmt.Sprintf(`{"type":"replace_metadata","version":2,"resource_version":0,"args":{"metadata":%s}}`, doc))
	if status != 409 {
		t.Errorf("resource_version 0 must conflict, got %d", status)
	}
}

func TestExportReplaceExportIsStable(t *testing.T) {
	e := enginetest.Start(t, nil)
	pgtest.Exec(t, e.DatabaseURL, schema)
	mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"track_table","args":{"name":"author"}},{"type":"track_table","args":{"name":"article"}},
	  {"type":"create_array_relationship","args":{"table":"author","name":"articles","using":{"foreign_key_constraint_on":{"table":"article","column":"author_id"}}}},
	  {"type":"create_insert_permission","args":{"table":"article","role":"user","permission":{"check":{"author_id":"X-Hasura-User-Id"},"columns":"*","set":{"title":"x"}}}}]}`)
	first := mustOK(t, e.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"replace_metadata","args":`+first+`}`)
	if second := mustOK(t, e.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`); second != first {
		t.Errorf("export not stable:\n%s\n%s", first, second)
	}
	if strings.Contains(first, e.DatabaseURL) {
		t.Error("the database URL must not be written into the metadata")
	}
}

func TestAdminOnlyAndAuth(t *testing.T) {
	e := enginetest.Start(t, withSecret)
	for _, tc := range []struct {
		headers []string
		status  int
		want    string
	}{
		{[]string{"X-Hasura-Admin-Secret", ""}, 401, `{"path":"$","error":"x-hasura-admin-secret/x-hasura-access-key required, but not found","code":"access-denied"}`},
		{[]string{"X-Hasura-Admin-Secret", "wrong"}, 401, `{"path":"$","error":"invalid x-hasura-admin-secret/x-hasura-access-key","code":"access-denied"}`},
		{[]string{"X-Hasura-Role", "user"}, 400, `{"path":"$.args","error":"restricted access : admin only","code":"access-denied"}`},
	} {
		for _, path := range []string{"/v1/metadata", "/v1/query", "/v2/query"} {
			status, got := post(t, e.URL, path, `{"type":"export_metadata","args":{}}`, tc.headers...)
			if status != tc.status || got != tc.want {
				t.Errorf("%s %v: %d %s, want %d %s", path, tc.headers, status, got, tc.status, tc.want)
			}
		}
	}
}

// Malformed requests are 400s in Hasura's shape, never a 500.
func TestMalformedRequests(t *testing.T) {
	e := enginetest.Start(t, nil)
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	for _, body := range []string{
		``, `nope`, `"string"`, `[]`, `{}`, `{"type":5}`, `{"type":"nope","args":{}}`,
		`{"type":"track_table","args":"author"}`, `{"type":"track_table","args":{"name":5}}`,
		`{"type":"bulk","args":{}}`, `{"type":"bulk","args":[5]}`, `{"type":"replace_metadata","args":[]}`,
		`{"type":"replace_metadata","args":{"version":3,"sources":[{"name":5}]}}`,
		`{"type":"create_object_relationship","args":{"table":"t","name":"r","using":{}}}`,
		`{"type":"export_metadata","version":"two","args":{}}`,
		`{"type":"bulk","args":` + deep + `}`,
	} {
		for _, path := range []string{"/v1/metadata", "/v1/query"} {
			status, got := post(t, e.URL, path, body)
			var shape struct{ Path, Error, Code string }
			if status != 400 || json.Unmarshal([]byte(got), &shape) != nil || shape.Code == "" || shape.Error == "" || !strings.HasPrefix(shape.Path, "$") {
				t.Errorf("%s %.60q: %d %s", path, body, status, got)
			}
		}
	}
}

// Two engines on one metadata database: a change through one is served
// by the other without a restart.
func TestReplicasSeeEachOthersChanges(t *testing.T) {
	a := enginetest.Start(t, nil)
	b := enginetest.Start(t, func(c *config.Config) { c.DatabaseURL = a.DatabaseURL })
	pgtest.Exec(t, a.DatabaseURL, schema)
	mustOK(t, a.URL, "/v1/query", `{"type":"track_table","args":{"name":"author"}}`)
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := mustOK(t, b.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
		if strings.Contains(out, `"name":"author"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica b never saw the change: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And b's next write builds on it instead of overwriting it.
	mustOK(t, b.URL, "/v1/query", `{"type":"track_table","args":{"name":"article"}}`)
	out := mustOK(t, a.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
	if !strings.Contains(out, `"name":"author"`) {
		t.Fatalf("b's write lost a's change: %s", out)
	}
}

// 20 writers race replace_metadata with the same resource_version: one
// wins, the rest get 409, and the winner's document is what is stored.
func TestConcurrentReplaceExactlyOneWins(t *testing.T) {
	e := enginetest.Start(t, nil)
	pgtest.Exec(t, e.DatabaseURL, schema)
	v, md := exportV2(t, e.URL)
	var mu sync.Mutex
	wins, conflicts := []int{}, 0
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			doc := map[string]any{"version": 3, "sources": md["sources"], "inherited_roles": []any{map[string]any{"role_name": fmt.Sprintf("r%d", i), "role_set": []string{}}}}
			b, _ := json.Marshal(doc)
			status, _ := post(t, e.URL, "/v1/metadata", fmt.Sprintf(`{"type":"replace_metadata","version":2,"resource_version":%d,"args":{"metadata":%s}}`, v, b))
			mu.Lock()
			defer mu.Unlock()
			switch status {
			case 200:
				wins = append(wins, i)
			case 409:
				conflicts++
			default:
				t.Errorf("writer %d: status %d", i, status)
			}
		}(i)
	}
	wg.Wait()
	if len(wins) != 1 || conflicts != 19 {
		t.Fatalf("wins %v, conflicts %d", wins, conflicts)
	}
	v2, final := exportV2(t, e.URL)
	b, _ := json.Marshal(final["inherited_roles"])
	if v2 != v+1 || !bytes.Contains(b, []byte(fmt.Sprintf(`"r%d"`, wins[0]))) {
		t.Errorf("final v%d %s, want v%d with r%d", v2, b, v+1, wins[0])
	}
}

// Reads do not queue behind a writer: an export answers while a run_sql
// holds the writer lock. The writer is kept inside Postgres by an advisory
// lock the test holds, so nothing depends on timing.
func TestReadsDoNotWaitForWriters(t *testing.T) {
	e := enginetest.Start(t, nil)
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, e.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, "select pg_advisory_lock(4242)"); err != nil {
		t.Fatal(err)
	}
	writer := make(chan int, 1)
	go func() {
		status, _ := post(t, e.URL, "/v2/query", `{"type":"run_sql","args":{"sql":"select pg_advisory_xact_lock(4242)"}}`)
		writer <- status
	}()
	// Wait until the writer is blocked on the advisory lock, inside run_sql.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var waiting bool
		if err := holder.QueryRow(ctx, "select exists(select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock(4242)%')").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer never reached Postgres")
		}
	}
	reader := make(chan int, 1)
	go func() {
		status, _ := post(t, e.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`)
		reader <- status
	}()
	select {
	case status := <-reader:
		if status != 200 {
			t.Errorf("export: %d", status)
		}
	case <-time.After(30 * time.Second):
		t.Error("the export waited for the writer")
	}
	if _, err := holder.Exec(ctx, "select pg_advisory_unlock(4242)"); err != nil {
		t.Fatal(err)
	}
	if status := <-writer; status != 200 {
		t.Errorf("writer: %d", status)
	}
}

func tableExists(t *testing.T, url, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, "select to_regclass($1) is not null", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// A bulk is atomic: SQL, inserts and metadata commit together, and a later
// failure undoes the earlier SQL.
func TestBulkSQLInsertAndMetadataAreAtomic(t *testing.T) {
	e := enginetest.Start(t, nil)
	status, got := post(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"run_sql","args":{"sql":"create table pet (id serial primary key, name text not null, born date default '2020-01-01')"}},
	  {"type":"track_table","args":{"name":"pet"}},
	  {"type":"insert","args":{"table":"pet","objects":[{"name":"a"}]}},
	  {"type":"track_table","args":{"name":"nope"}}]}`)
	if status != 400 || !strings.Contains(got, `"path":"$.args[3].args"`) {
		t.Fatalf("failing bulk: %d %s", status, got)
	}
	if tableExists(t, e.DatabaseURL, "pet") {
		t.Fatal("the failed bulk's CREATE TABLE was committed")
	}

	out := mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"run_sql","args":{"sql":"create table pet (id serial primary key, name text not null, born date default '2020-01-01')"}},
	  {"type":"track_table","args":{"name":"pet"}},
	  {"type":"insert","args":{"table":"pet","objects":[{"name":"a","born":"2021-05-06"},{"name":"b"}],"returning":["id","name","born"]}}]}`)
	want := `[{"result_type":"CommandOk","result":null},{"message":"success"},{"affected_rows":2,"returning":[{"id":1,"name":"a","born":"2021-05-06"},{"id":2,"name":"b","born":"2020-01-01"}]}]`
	if out != want {
		t.Errorf("bulk:\n got %s\nwant %s", out, want)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"type":"insert","args":{"table":"pet","objects":[{"name":"c","age":3}]}}`, `{"path":"$.args.objects[0]","error":"no such column exists: \"age\"","code":"not-exists"}`},
		{`{"type":"insert","args":{"table":"pet","objects":[{"born":"2020-01-01"}]}}`, `"code":"constraint-error"`},
		{`{"type":"insert","args":{"table":"pet","objects":[{"name":"c","born":"yesterday-ish"}]}}`, `"code":"data-exception"`},
	} {
		status, got := post(t, e.URL, "/v1/query", tc.body)
		if status != 400 || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %d %s, want 400 with %s", tc.body, status, got, tc.want)
		}
	}
}

// run_sql keeps the metadata true to the database: a rename follows the
// table, a drop that would break a relationship needs cascade (else it is
// rolled back), and with cascade the relationship goes too.
func TestRunSQLFollowsSchemaChanges(t *testing.T) {
	e := enginetest.Start(t, nil)
	pgtest.Exec(t, e.DatabaseURL, schema)
	mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"track_table","args":{"name":"author"}},{"type":"track_table","args":{"name":"article"}},
	  {"type":"create_object_relationship","args":{"table":"article","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
	  {"type":"create_array_relationship","args":{"table":"author","name":"articles","using":{"foreign_key_constraint_on":{"table":"article","column":"author_id"}}}}]}`)

	mustOK(t, e.URL, "/v2/query", `{"type":"run_sql","args":{"sql":"alter table article rename to post"}}`)
	_, md := exportV2(t, e.URL)
	b, _ := json.Marshal(md["sources"])
	if !strings.Contains(string(b), `"table":{"name":"post","schema":"public"}`) || strings.Contains(string(b), `"article"`) {
		t.Fatalf("rename not followed: %s", b)
	}

	status, got := post(t, e.URL, "/v2/query", `{"type":"run_sql","args":{"sql":"drop table post"}}`)
	if want := `{"path":"$.args","error":"cannot drop due to the following dependent objects: relationship author.articles in source \"default\"","code":"dependency-error"}`; status != 400 || got != want {
		t.Fatalf("drop without cascade: %d %s", status, got)
	}
	if !tableExists(t, e.DatabaseURL, "post") {
		t.Fatal("the refused DROP was committed")
	}

	mustOK(t, e.URL, "/v2/query", `{"type":"run_sql","args":{"sql":"drop table post","cascade":true}}`)
	_, md = exportV2(t, e.URL)
	b, _ = json.Marshal(md["sources"])
	if strings.Contains(string(b), `"name":"post"`) || strings.Contains(string(b), `"articles"`) {
		t.Fatalf("cascade left the table or its dependent: %s", b)
	}
	if out := mustOK(t, e.URL, "/v1/metadata", `{"type":"get_inconsistent_metadata","args":{}}`); out != `{"inconsistent_objects":[],"is_consistent":true}` {
		t.Errorf("inconsistent after cascade: %s", out)
	}
}

func TestDropInconsistentMetadata(t *testing.T) {
	e := enginetest.Start(t, nil)
	pgtest.Exec(t, e.DatabaseURL, schema)
	out := mustOK(t, e.URL, "/v1/metadata", `{"type":"replace_metadata","version":2,"args":{"allow_inconsistent_metadata":true,"metadata":{"version":3,"sources":[{"name":"default","kind":"postgres",
	  "configuration":{"connection_info":{"database_url":{"from_env":"HASURA_GRAPHQL_DATABASE_URL"}}},
	  "tables":[{"table":"author","array_relationships":[{"name":"articles","using":{"foreign_key_constraint_on":{"table":"article","column":"author_id"}}}]},
	            {"table":"gone"}]}]}}}`)
	var rep struct {
		IsConsistent        bool                          `json:"is_consistent"`
		InconsistentObjects []struct{ Name, Type string } `json:"inconsistent_objects"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.IsConsistent || len(rep.InconsistentObjects) != 2 {
		t.Fatalf("replace report: %s", out)
	}
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_inconsistent_metadata","args":{}}`)
	if out := mustOK(t, e.URL, "/v1/metadata", `{"type":"get_inconsistent_metadata","args":{}}`); out != `{"inconsistent_objects":[],"is_consistent":true}` {
		t.Errorf("after drop: %s", out)
	}
	_, md := exportV2(t, e.URL)
	b, _ := json.Marshal(md["sources"])
	if want := `"tables":[{"table":{"name":"author","schema":"public"}}]`; !strings.Contains(string(b), want) {
		t.Errorf("after drop: %s, want %s", b, want)
	}
}

func TestDumpInternalState(t *testing.T) {
	e := enginetest.Start(t, nil)
	pgtest.Exec(t, e.DatabaseURL, schema)
	mustOK(t, e.URL, "/v1/query", `{"type":"track_table","args":{"name":"author"}}`)
	out := mustOK(t, e.URL, "/v1/metadata", `{"type":"dump_internal_state","args":{}}`)
	if want := `"sources":{"default":{"connected":true,"tables":[{"name":"author","schema":"public"}],"functions":[]}}`; !strings.Contains(out, want) {
		t.Errorf("dump: %s\nwant it to contain %s", out, want)
	}
}
