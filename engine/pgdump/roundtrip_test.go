package pgdump_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// roundTripSchema has what a dump must carry for the engine to serve the
// same API from it: tables with foreign keys (one composite), a sequence
// behind serial keys, an enum type, a view and a SQL function returning
// rows of a table.
const roundTripSchema = `
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE authors (id serial PRIMARY KEY, name text NOT NULL, mood mood NOT NULL DEFAULT 'happy');
CREATE TABLE articles (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES authors(id), title text NOT NULL);
CREATE TABLE tags (name text PRIMARY KEY);
CREATE TABLE article_tags (
  article_id int NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
  tag text NOT NULL REFERENCES tags(name),
  PRIMARY KEY (article_id, tag));
CREATE VIEW author_stats AS
  SELECT a.id, a.name, count(r.id)::int AS articles FROM authors a LEFT JOIN articles r ON r.author_id = a.id GROUP BY a.id;
CREATE FUNCTION search_articles(q text) RETURNS SETOF articles LANGUAGE sql STABLE
  AS $$ SELECT * FROM articles WHERE title ILIKE '%' || q || '%' $$;
INSERT INTO authors (name, mood) VALUES ('Ann', 'happy'), ('Bob', 'sad');
INSERT INTO articles (author_id, title) VALUES (1, 'Go at scale'), (1, 'Postgres dumps'), (2, 'Going home');
INSERT INTO tags VALUES ('go'), ('sql');
INSERT INTO article_tags VALUES (1, 'go'), (2, 'sql'), (3, 'go');
`

// roundTripMetadata tracks all of it, with relationships both ways and a
// permission, through the engine.
const roundTripMetadata = `{"type":"bulk","args":[
 {"type":"track_table","args":{"name":"authors"}},
 {"type":"track_table","args":{"name":"articles"}},
 {"type":"track_table","args":{"name":"tags"}},
 {"type":"track_table","args":{"name":"article_tags"}},
 {"type":"track_table","args":{"name":"author_stats"}},
 {"type":"track_function","args":{"name":"search_articles"}},
 {"type":"create_object_relationship","args":{"table":"articles","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
 {"type":"create_array_relationship","args":{"table":"authors","name":"articles","using":{"foreign_key_constraint_on":{"table":"articles","column":"author_id"}}}},
 {"type":"create_array_relationship","args":{"table":"articles","name":"tags","using":{"foreign_key_constraint_on":{"table":"article_tags","column":"article_id"}}}},
 {"type":"create_object_relationship","args":{"table":"author_stats","name":"author","using":{"manual_configuration":{"remote_table":"authors","column_mapping":{"id":"id"}}}}},
 {"type":"create_select_permission","args":{"table":"articles","role":"user","permission":{"columns":["id","title"],"filter":{"author":{"mood":{"_eq":"happy"}}}}}}
]}`

// roundTripQuery reads every kind of object back, as admin.
const roundTripQuery = `{"query":"{ authors(order_by: {id: asc}) { id name mood articles(order_by: {id: asc}) { title tags(order_by: {tag: asc}) { tag } } } search_articles(args: {q: \"go\"}, order_by: {id: asc}) { id title author { name } } author_stats(order_by: {id: asc}) { name articles author { mood } } }"}`

// roundTripUserQuery goes through the permission.
const roundTripUserQuery = `{"query":"{ articles(order_by: {id: asc}) { id title } }"}`

// A dump of the public schema, restored into an empty database, serves
// the same API with the same metadata: what `hasura migrate create
// --from-server` relies on.
func TestPGDumpRestoresIntoANewDatabase(t *testing.T) {
	pgDumpMajor(t)
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("no psql in PATH")
	}
	src := enginetest.Start(t, func(c *config.Config) { c.AdminSecrets = []string{secret} })
	mustPost(t, src.URL+"/v2/query", `{"type":"run_sql","args":{"sql":`+quote(roundTripSchema)+`}}`)
	mustPost(t, src.URL+"/v1/query", roundTripMetadata)
	metadata := mustPost(t, src.URL+"/v1/metadata", `{"type":"export_metadata","args":{}}`)
	wantAnswer := mustPost(t, src.URL+"/v1/graphql", roundTripQuery)
	if !strings.Contains(compact(t, wantAnswer), `"search_articles":[{"id":1,"title":"Go at scale","author":{"name":"Ann"}},{"id":3,"title":"Going home","author":{"name":"Bob"}}]`) {
		t.Fatalf("the source engine answers %s", wantAnswer)
	}
	user := http.Header{"X-Hasura-Role": {"user"}}
	wantUser := mustPostAs(t, src.URL+"/v1/graphql", user, roundTripUserQuery)

	for _, tc := range []struct {
		name string
		body string
		data bool
	}{
		// What the Hasura CLI asks for, cleaned as it asks.
		{"schema only", `{"opts":["-O","-x","--schema-only","--schema","public"],"clean_output":true}`, false},
		// The same with the data: COPY blocks and the sequences' positions.
		{"with data", `{"opts":["-O","-x","--schema","public"],"clean_output":true}`, true},
		// pg_dump's own output creates the public schema, which a new
		// database has: it restores when told to drop it first.
		{"raw with data", `{"opts":["-O","-x","--schema","public","--clean","--if-exists"]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, dump := post(t, src.URL+"/v1alpha1/pg_dump", nil, tc.body)
			if status != 200 {
				t.Fatalf("pg_dump: %d %s", status, dump)
			}
			if strings.Contains(dump, "hdb_catalog") {
				t.Errorf("the dump of the public schema has the engine's catalog")
			}

			dst := pgtest.NewDatabase(t)
			restore := exec.Command(psql, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", dst, "--file", "-")
			restore.Stdin = strings.NewReader(dump)
			if out, err := restore.CombinedOutput(); err != nil {
				t.Fatalf("psql: %v\n%s\ndump:\n%s", err, out, dump)
			}

			// The same metadata, its source pointing to the new database.
			restored := enginetest.Start(t, func(c *config.Config) {
				c.AdminSecrets = []string{secret}
				c.DatabaseURL = dst
			})
			mustPost(t, restored.URL+"/v1/metadata", `{"type":"replace_metadata","args":`+pointTo(t, metadata, dst)+`}`)
			if got := mustPost(t, restored.URL+"/v1/metadata", `{"type":"get_inconsistent_metadata","args":{}}`); got != `{"inconsistent_objects":[],"is_consistent":true}` {
				t.Fatalf("restored: %s", got)
			}
			if got := mustPost(t, restored.URL+"/v1/metadata", `{"type":"export_metadata","args":{}}`); !sameSourcesBut(t, got, metadata, "configuration") {
				t.Errorf("restored metadata:\n%s\nwant (configuration aside):\n%s", got, metadata)
			}

			answer := mustPost(t, restored.URL+"/v1/graphql", roundTripQuery)
			userAnswer := mustPostAs(t, restored.URL+"/v1/graphql", user, roundTripUserQuery)
			if !tc.data {
				if compact(t, answer) != `{"data":{"authors":[],"search_articles":[],"author_stats":[]}}` || compact(t, userAnswer) != `{"data":{"articles":[]}}` {
					t.Errorf("schema only: %s %s", answer, userAnswer)
				}
				return
			}
			if answer != wantAnswer {
				t.Errorf("restored answer:\n%s\nwant:\n%s", answer, wantAnswer)
			}
			if userAnswer != wantUser {
				t.Errorf("restored answer for user:\n%s\nwant:\n%s", userAnswer, wantUser)
			}
			// The sequences went along: a new row gets the next key.
			insert := `{"query":"mutation { insert_authors_one(object: {name: \"Cy\"}) { id mood } }"}`
			if got := compact(t, mustPost(t, restored.URL+"/v1/graphql", insert)); got != `{"data":{"insert_authors_one":{"id":3,"mood":"happy"}}}` {
				t.Errorf("insert after restore: %s", got)
			}
		})
	}
}

func mustPost(t *testing.T, url, body string) string {
	t.Helper()
	return mustPostAs(t, url, nil, body)
}

func mustPostAs(t *testing.T, url string, header http.Header, body string) string {
	t.Helper()
	status, _, out := post(t, url, header, body)
	if status != 200 || strings.Contains(out, `"errors":`) {
		t.Fatalf("POST %s %s: %d %s", url, body, status, out)
	}
	return out
}

// compact drops the spaces Postgres puts in the JSON it builds.
func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("not JSON: %s", s)
	}
	return b.String()
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// pointTo returns the metadata with every source's database URL set to url.
func pointTo(t *testing.T, metadata, url string) string {
	t.Helper()
	var md map[string]any
	if err := json.Unmarshal([]byte(metadata), &md); err != nil {
		t.Fatal(err)
	}
	for _, s := range md["sources"].([]any) {
		conn := s.(map[string]any)["configuration"].(map[string]any)["connection_info"].(map[string]any)
		conn["database_url"] = url
	}
	b, _ := json.Marshal(md)
	return string(b)
}

// sameSourcesBut compares two metadata documents with the key skip of
// every source left out.
func sameSourcesBut(t *testing.T, a, b, skip string) bool {
	t.Helper()
	var x, y map[string]any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		t.Fatalf("not metadata: %s / %s", a, b)
	}
	for _, md := range []map[string]any{x, y} {
		for _, s := range md["sources"].([]any) {
			delete(s.(map[string]any), skip)
		}
	}
	return reflect.DeepEqual(x, y)
}
