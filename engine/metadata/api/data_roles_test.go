package api_test

import (
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
)

// The v1 data API serves select and count to other roles through their
// select permissions; everything else stays admin only.
func TestV1DataAPIForRoles(t *testing.T) {
	e := enginetest.Start(t, withSecret)
	sql(t, e.DatabaseURL, schema+`
insert into author (name) values ('Ann'), ('Bob');
insert into article (title, author_id) values ('a1', 1), ('a2', 1), ('b1', 2);`)
	mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"track_table","args":{"name":"author"}},{"type":"track_table","args":{"name":"article"}},
	  {"type":"create_object_relationship","args":{"table":"article","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
	  {"type":"create_select_permission","args":{"table":"article","role":"user","permission":{"columns":["id","title","author_id"],"filter":{"author":{"id":"X-Hasura-User-Id"}},"limit":1}}},
	  {"type":"create_select_permission","args":{"table":"author","role":"user","permission":{"columns":"*","filter":{}}}}]}`)
	user := []string{"X-Hasura-Role", "user", "X-Hasura-User-Id", "1"}
	for _, tc := range []struct {
		name, body string
		headers    []string
		status     int
		want       string
	}{
		{"rows through the filter, capped by the permission's limit",
			`{"type":"select","args":{"table":"article","columns":["id","title"],"order_by":["id"]}}`, user, 200, `[{"id":1,"title":"a1"}]`},
		{"a where of the request is ANDed",
			`{"type":"select","args":{"table":"article","columns":["title"],"where":{"title":{"_eq":"a2"}}}}`, user, 200, `[{"title":"a2"}]`},
		{"* is the permitted columns, through a relationship too",
			`{"type":"select","args":{"table":"article","columns":["*",{"name":"author","columns":["name"]}],"limit":5}}`, user, 200, `[{"id":1,"title":"a1","author_id":1,"author":{"name":"Ann"}}]`},
		{"a column outside the permission",
			`{"type":"select","args":{"table":"article","columns":["id","published_on"]}}`, user, 400,
			`{"path":"$.args.columns[1]","error":"role \"user\" does not have permission to select column \"published_on\"","code":"permission-denied"}`},
		{"a table without permission",
			`{"type":"select","args":{"table":"article","columns":["id"]}}`, []string{"X-Hasura-Role", "guest"}, 400,
			`{"path":"$.args","error":"select on \"article\" for role \"guest\" is not allowed. ","code":"permission-denied"}`},
		{"a missing session variable",
			`{"type":"select","args":{"table":"article","columns":["id"]}}`, []string{"X-Hasura-Role", "user"}, 400,
			`{"path":"$.args","error":"missing session variable: \"x-hasura-user-id\"","code":"not-found"}`},
		{"count through the filter",
			`{"type":"count","args":{"table":"article"}}`, user, 200, `{"count":2}`},
		{"writes stay admin only",
			`{"type":"delete","args":{"table":"article","where":{}}}`, user, 400,
			`{"path":"$.args","error":"restricted access : admin only","code":"access-denied"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got := post(t, e.URL, "/v1/query", tc.body, tc.headers...)
			if status != tc.status || got != tc.want {
				t.Errorf("%d %s\nwant %d %s", status, got, tc.status, tc.want)
			}
		})
	}
	if status, got := post(t, e.URL, "/v1/metadata", `{"type":"export_metadata","args":{}}`, user...); status != 400 {
		t.Errorf("the metadata API for a role: %d %s", status, got)
	}
}

// Renaming columns with run_sql renames them in the permissions of their
// table, in other tables' filters that reach them through relationships,
// and in the relationships joining on them.
func TestRunSQLFollowsColumnRenames(t *testing.T) {
	e := enginetest.Start(t, nil)
	sql(t, e.DatabaseURL, schema+`
insert into author (name) values ('Ann'), ('Bob');
insert into article (title, author_id) values ('a1', 1), ('b1', 2);`)
	mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"track_table","args":{"name":"author"}},{"type":"track_table","args":{"name":"article"}},
	  {"type":"create_object_relationship","args":{"table":"article","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
	  {"type":"create_select_permission","args":{"table":"article","role":"user","permission":{"columns":["id","title","author_id"],"filter":{"author":{"id":"X-Hasura-User-Id"}}}}},
	  {"type":"create_select_permission","args":{"table":"author","role":"user","permission":{"columns":["id","name"],"filter":{"id":{"_eq":"X-Hasura-User-Id"}}}}}]}`)
	mustOK(t, e.URL, "/v2/query", `{"type":"run_sql","args":{"sql":"alter table author rename column id to author_key; alter table article rename column author_id to writer"}}`)
	user := []string{"X-Hasura-Role", "user", "X-Hasura-User-Id", "2"}
	for body, want := range map[string]string{
		`{"type":"select","args":{"table":"article","columns":["title","writer",{"name":"author","columns":["author_key","name"]}]}}`: `[{"title":"b1","writer":2,"author":{"author_key":2,"name":"Bob"}}]`,
		`{"type":"select","args":{"table":"author","columns":["*"]}}`:                                                                 `[{"author_key":2,"name":"Bob"}]`,
	} {
		if status, got := post(t, e.URL, "/v1/query", body, user...); status != 200 || got != want {
			t.Errorf("%s: %d %s, want %s", body, status, got, want)
		}
	}
	if out := mustOK(t, e.URL, "/v1/metadata", `{"type":"get_inconsistent_metadata","args":{}}`); out != `{"inconsistent_objects":[],"is_consistent":true}` {
		t.Errorf("inconsistent after the renames: %s", out)
	}
}
