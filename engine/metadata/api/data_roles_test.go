package api_test

import (
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// The v1 data API serves select and count to other roles through their
// select permissions; run_sql stays admin only.
func TestV1DataAPIForRoles(t *testing.T) {
	e := enginetest.Start(t, withSecret)
	pgtest.Exec(t, e.DatabaseURL, schema+`
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
			`{"path":"$.args","error":"\"x-hasura-user-id\" header is expected but not found","code":"not-found"}`},
		{"where may compare only columns the role may select",
			`{"type":"select","args":{"table":"article","columns":["id"],"where":{"published_on":{"_is_null":true}}}}`, user, 400,
			`{"path":"$.args.where","error":"role \"user\" does not have permission to select column \"published_on\"","code":"permission-denied"}`},
		{"count through the filter",
			`{"type":"count","args":{"table":"article"}}`, user, 200, `{"count":2}`},
		{"run_sql stays admin only",
			`{"type":"run_sql","args":{"sql":"select 1"}}`, user, 400,
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
	pgtest.Exec(t, e.DatabaseURL, schema+`
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

// writesSchema is Hasura's tests-py schema for the v1 insert and update
// permission cases (queries/v1/insert/permissions, update/permissions),
// with its permissions and rows.
const writesSchema = `
create table author (id serial primary key, name text unique, bio text, is_registered boolean not null default false);
create table article (id serial primary key, title text, content text, author_id int references author(id), is_published boolean, published_on timestamp);
create table resident (id serial primary key, name text not null unique, age int not null, city text not null default 'perth');
insert into author (name) values ('Author 1'), ('Author 2');
insert into article (title, content, author_id, is_published) values
  ('Article 1', 'one', 1, false), ('Article 2', 'two', 1, true), ('Article 3', 'three', 2, true), ('Article 4', 'four', 2, false);
insert into resident (name, age) values ('Resident 1', 21), ('Resident 2', 22);
select setval('author_id_seq', 100);`

const writesPermissions = `{"type":"bulk","args":[
  {"type":"track_table","args":{"name":"author"}},{"type":"track_table","args":{"name":"article"}},{"type":"track_table","args":{"name":"resident"}},
  {"type":"create_object_relationship","args":{"table":"article","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
  {"type":"create_select_permission","args":{"table":"author","role":"user","permission":{"columns":["id","name","is_registered"],"filter":{"id":"X-HASURA-USER-ID"}}}},
  {"type":"create_insert_permission","args":{"table":"author","role":"user","permission":{"columns":["id","name","is_registered"],"check":{"$and":[{"id":"X-HASURA-USER-ID"},{"is_registered":false}]}}}},
  {"type":"create_update_permission","args":{"table":"author","role":"user","permission":{"columns":"*","filter":{"$and":[{"id":"X-HASURA-USER-ID"},{"is_registered":false}]}}}},
  {"type":"create_insert_permission","args":{"table":"author","role":"student","permission":{"check":{"bio":{"_is_null":false}}}}},
  {"type":"create_select_permission","args":{"table":"article","role":"user","permission":{"columns":["id","title","content","author_id","is_published"],"filter":{"$or":[{"author_id":"X-HASURA-USER-ID"},{"is_published":true}]}}}},
  {"type":"create_insert_permission","args":{"table":"article","role":"user","permission":{"columns":["id","title","content"],"set":{"author_id":"X-Hasura-User-Id"},"check":{"author_id":"X-Hasura-User-Id"}}}},
  {"type":"create_update_permission","args":{"table":"article","role":"user","permission":{"columns":["title","content","is_published"],"filter":{"author_id":"X-HASURA-USER-ID","is_published":false},"check":{"title":{"_nlike":"%forbidden%"}}}}},
  {"type":"create_delete_permission","args":{"table":"article","role":"user","permission":{"filter":{"author_id":"X-Hasura-User-Id"}}}},
  {"type":"create_delete_permission","args":{"table":"article","role":"blind","permission":{"filter":{}}}},
  {"type":"create_select_permission","args":{"table":"resident","role":"resident","permission":{"columns":"*","filter":{"id":"X-Hasura-Resident-Id"}}}},
  {"type":"create_insert_permission","args":{"table":"resident","role":"resident","permission":{"check":{"id":"X-Hasura-Resident-Id"}}}},
  {"type":"create_update_permission","args":{"table":"resident","role":"resident","permission":{"columns":"*","filter":{"id":"X-Hasura-Resident-Id"},"check":{"age":{"_lt":100}}}}},
  {"type":"create_select_permission","args":{"table":"resident","role":"user1","permission":{"columns":"*","filter":{}}}},
  {"type":"create_update_permission","args":{"table":"resident","role":"user1","permission":{"columns":"*","filter":{},"set":{"city":"melbourne"}}}},
  {"type":"create_select_permission","args":{"table":"resident","role":"user2","permission":{"columns":"*","filter":{}}}},
  {"type":"create_update_permission","args":{"table":"resident","role":"user2","permission":{"columns":"*","filter":{},"set":{"city":"X-Hasura-City"}}}}]}`

// The v1 insert, update and delete for roles, through their permissions:
// Hasura's tests-py permission cases plus what they leave out. Each case
// runs on the state the ones before it left; the admin reads back what
// was (or was not) written.
func TestV1WritesForRoles(t *testing.T) {
	e := enginetest.Start(t, withSecret)
	pgtest.Exec(t, e.DatabaseURL, writesSchema)
	mustOK(t, e.URL, "/v1/query", writesPermissions)
	user := func(id string) []string { return []string{"X-Hasura-Role", "user", "X-Hasura-User-Id", id} }
	student := []string{"X-Hasura-Role", "student"}
	resident := []string{"X-Hasura-Role", "resident", "X-Hasura-Resident-Id", "1"}
	permissionError := `{"path":"$.args","error":"check constraint of an insert/update permission has failed","code":"permission-error"}`
	adminReads := func(t *testing.T, table string, where, want string) {
		t.Helper()
		body := `{"type":"select","args":{"table":"` + table + `","columns":["*"],"where":` + where + `,"order_by":["id"]}}`
		if got := mustOK(t, e.URL, "/v1/query", body); got != want {
			t.Errorf("%s where %s:\n got %s\nwant %s", table, where, got, want)
		}
	}
	for _, tc := range []struct {
		name, body string
		headers    []string
		status     int
		want       string
		after      func(t *testing.T)
	}{
		// insert
		{"insert: a role without an insert permission",
			`{"type":"insert","args":{"table":"author","objects":[{"name":"M"}]}}`, []string{"X-Hasura-Role", "merchant"}, 400,
			`{"path":"$.args","error":"insert on \"author\" for role \"merchant\" is not allowed. ","code":"permission-denied"}`, nil},
		{"insert: allowed, returning what the role may select",
			`{"type":"insert","args":{"table":"author","objects":[{"id":5,"name":"Author 5","is_registered":false}],"returning":["id","name","is_registered"]}}`, user("5"), 200,
			`{"affected_rows":1,"returning":[{"id":5,"name":"Author 5","is_registered":false}]}`, nil},
		{"insert: the check fails",
			`{"type":"insert","args":{"table":"author","objects":[{"id":10,"name":"Author 10"}],"returning":["id"]}}`, user("5"), 400, permissionError,
			func(t *testing.T) { adminReads(t, "author", `{"id":10}`, `[]`) }},
		{"insert: one row failing the check commits none of them",
			`{"type":"insert","args":{"table":"author","objects":[{"id":6,"name":"Author 6"},{"id":8,"name":"Author 8"}]}}`, user("6"), 400, permissionError,
			func(t *testing.T) { adminReads(t, "author", `{"id":6}`, `[]`) }},
		{"insert: a column outside the permission",
			`{"type":"insert","args":{"table":"author","objects":[{"id":7,"name":"Author 7"},{"id":7,"bio":"x"}]}}`, user("7"), 400,
			`{"path":"$.args.objects[1]","error":"role \"user\" does not have permission to insert column \"bio\"","code":"permission-denied"}`, nil},
		{"insert: returning a column the role may not select",
			`{"type":"insert","args":{"table":"author","objects":[{"id":7,"name":"Author 7"}],"returning":["id","bio"]}}`, user("7"), 400,
			`{"path":"$.args.returning","error":"role \"user\" does not have permission to select column \"bio\"","code":"permission-denied"}`, nil},
		{"insert: returning without a select permission",
			`{"type":"insert","args":{"table":"author","objects":[{"name":"S","bio":"b"}],"returning":["id"]}}`, student, 400,
			`{"path":"$.args","error":"select on \"author\" for role \"student\" is not allowed. ; \"returning\" can only be used if the role has \"select\" permission on the table","code":"permission-denied"}`, nil},
		{"insert: a check on a column (tests-py author_student_role_insert_check_bio_fail)",
			`{"type":"insert","args":{"table":"author","objects":[{"name":"Student 1"}]}}`, student, 400, permissionError, nil},
		{"insert: the same with the column given",
			`{"type":"insert","args":{"table":"author","objects":[{"name":"Student 1","bio":"EE"}]}}`, student, 200, `{"affected_rows":1}`, nil},
		{"insert: a preset from the session",
			`{"type":"insert","args":{"table":"article","objects":[{"id":10,"title":"New"}],"returning":["id","title","author_id"]}}`, user("2"), 200,
			`{"affected_rows":1,"returning":[{"id":10,"title":"New","author_id":2}]}`, nil},
		{"insert: a preset column may not be given",
			`{"type":"insert","args":{"table":"article","objects":[{"title":"New","author_id":1}]}}`, user("2"), 400,
			`{"path":"$.args.objects[0]","error":"column \"author_id\" is not insertable for role \"user\"","code":"not-supported"}`, nil},
		{"insert: a missing session variable",
			`{"type":"insert","args":{"table":"article","objects":[{"title":"New"}]}}`, []string{"X-Hasura-Role", "user"}, 400,
			`{"path":"$.args","error":"\"x-hasura-user-id\" header is expected but not found","code":"not-found"}`, nil},

		// on_conflict
		{"upsert: the update permission's filter allows the row",
			`{"type":"insert","args":{"table":"resident","objects":[{"id":1,"name":"Resident 1","age":30}],"on_conflict":{"constraint":"resident_pkey","action":"update"},"returning":["id","age"]}}`, resident, 200,
			`{"affected_rows":1,"returning":[{"id":1,"age":30}]}`, nil},
		{"upsert: a row the upsert updates meets the update permission's check",
			`{"type":"insert","args":{"table":"resident","objects":[{"id":1,"name":"Resident 1","age":150}],"on_conflict":{"constraint":"resident_pkey","action":"update"}}}`, resident, 400,
			permissionError, func(t *testing.T) {
				adminReads(t, "resident", `{"id":1}`, `[{"id":1,"name":"Resident 1","age":30,"city":"perth"}]`)
			}},
		{"upsert: the filter refuses another resident's row",
			`{"type":"insert","args":{"table":"resident","objects":[{"id":2,"name":"Resident 2","age":99}],"on_conflict":{"constraint_on":"id","action":"update"}}}`, resident, 200,
			`{"affected_rows":0}`, func(t *testing.T) {
				adminReads(t, "resident", `{"id":2}`, `[{"id":2,"name":"Resident 2","age":22,"city":"perth"}]`)
			}},
		{"upsert: ignore (tests-py author_on_conflict_ignore_user_role)",
			`{"type":"insert","args":{"table":"author","objects":[{"id":1,"name":"Author 1 Updated"}],"on_conflict":{"constraint":"author_pkey","action":"ignore"},"returning":["name","id"]}}`, user("1"), 200,
			`{"affected_rows":0,"returning":[]}`, nil},
		{"upsert: the update filter on another row (tests-py resident_1_modifies_resident_2_upsert)",
			`{"type":"insert","args":{"table":"resident","objects":[{"id":1,"name":"Resident 2","age":23}],"on_conflict":{"constraint":"resident_name_key","action":"update"},"returning":["id","name","age"]}}`, resident, 200,
			`{"affected_rows":0,"returning":[]}`, nil},
		{"upsert: a role without an update permission",
			`{"type":"insert","args":{"table":"author","objects":[{"name":"S2","bio":"b"}],"on_conflict":{"constraint":"author_pkey","action":"ignore"}}}`, student, 400,
			`{"path":"$.args.on_conflict","error":"upsert is not allowed for role \"student\" since update permissions are not defined","code":"permission-denied"}`, nil},
		{"upsert: a given column the update permission does not cover",
			`{"type":"insert","args":{"table":"article","objects":[{"id":1,"content":"C"}],"on_conflict":{"constraint":"article_pkey","action":"update"}}}`, user("1"), 400,
			`{"path":"$.args.on_conflict","error":"column \"id\" is not updatable","code":"validation-failed"}`, nil},
		{"upsert for the admin (tests-py upsert_author)",
			`{"type":"insert","args":{"table":"author","objects":[{"name":"Author 1 updated","id":1}],"on_conflict":{"constraint_on":["id"],"action":"update"},"returning":["name","id"]}}`, nil, 200,
			`{"affected_rows":1,"returning":[{"name":"Author 1 updated","id":1}]}`, nil},
		{"upsert for the admin: returning is read first (tests-py article_on_conflict_error_missing_article_constraint)",
			`{"type":"insert","args":{"table":"article","objects":[{"id":1}],"on_conflict":{"action":"update"},"returning":["name","id"]}}`, nil, 400,
			`{"path":"$.args.returning","error":"no such column exists: \"name\"","code":"permission-denied"}`, nil},
		{"upsert for the admin: update needs a target",
			`{"type":"insert","args":{"table":"article","objects":[{"id":1}],"on_conflict":{"action":"update"}}}`, nil, 400,
			`{"path":"$.args.on_conflict","error":"Expecting 'constraint' or 'constraint_on' when the 'action' is 'update'","code":"unexpected-payload"}`, nil},
		{"upsert for the admin: an unknown constraint_on column (tests-py article_unexpected_on_conflict_constraint_error)",
			`{"type":"insert","args":{"table":"article","objects":[{"id":1}],"on_conflict":{"constraint_on":["name"],"action":"update"}}}`, nil, 400,
			`{"path":"$.args.on_conflict.constraint_on[0]","error":"column \"name\" does not exist","code":"not-exists"}`, nil},
		{"upsert for the admin: an unknown constraint",
			`{"type":"insert","args":{"table":"article","objects":[{"id":1}],"on_conflict":{"constraint":"nope","action":"ignore"}}}`, nil, 400,
			`{"path":"$.args.on_conflict.constraint","error":"constraint \"nope\" for table \"article\" does not exist","code":"unexpected"}`, nil},
		{"upsert for the admin: no action (tests-py article_on_conflict_no_action_specified)",
			`{"type":"insert","args":{"table":"article","objects":[{"id":1}],"on_conflict":{"constraint_on":["id"]}}}`, nil, 400,
			`{"path":"$.on_conflict","error":"the key 'action' was not present","code":"parse-failed"}`, nil},

		// update
		{"update: own unpublished article",
			`{"type":"update","args":{"table":"article","$set":{"content":"v2"},"where":{"id":1},"returning":["id","content","is_published"]}}`, user("1"), 200,
			`{"affected_rows":1,"returning":[{"id":1,"content":"v2","is_published":false}]}`, nil},
		{"update: the filter limits the rows (every row asked, own unpublished ones changed)",
			`{"type":"update","args":{"table":"article","$set":{"content":"all"},"where":{},"returning":["id"]}}`, user("2"), 200,
			`{"affected_rows":1,"returning":[{"id":4}]}`, func(t *testing.T) {
				adminReads(t, "article", `{"content":"all"}`, `[{"id":4,"title":"Article 4","content":"all","author_id":2,"is_published":false,"published_on":null}]`)
			}},
		{"update: a column outside the permission (tests-py user_cannot_update_id_col_article)",
			`{"type":"update","args":{"table":"article","$set":{"id":2},"where":{"id":1}}}`, user("1"), 400,
			`{"path":"$.args[\"$set\"]","error":"role \"user\" does not have permission to update column \"id\"","code":"permission-denied"}`, nil},
		{"update: a role without an update permission",
			`{"type":"update","args":{"table":"resident","$inc":{"age":1},"where":{}}}`, user("1"), 400,
			`{"path":"$.args","error":"update on \"resident\" for role \"user\" is not allowed. ","code":"permission-denied"}`, nil},
		{"update: the check fails, nothing changes",
			`{"type":"update","args":{"table":"article","$set":{"title":"a forbidden title"},"where":{"id":1}}}`, user("1"), 400, permissionError,
			func(t *testing.T) {
				adminReads(t, "article", `{"id":1}`, `[{"id":1,"title":"Article 1","content":"v2","author_id":1,"is_published":false,"published_on":null}]`)
			}},
		{"update: a preset is applied (tests-py user_update_resident_preset)",
			`{"type":"update","args":{"table":"resident","where":{"name":"Resident 1"},"returning":["id","city"]}}`, []string{"X-Hasura-Role", "user1"}, 200,
			`{"affected_rows":1,"returning":[{"id":1,"city":"melbourne"}]}`, nil},
		{"update: a preset column may not be set (tests-py user_update_resident_preset_error)",
			`{"type":"update","args":{"table":"resident","$set":{"city":"hobart"},"where":{"name":"Resident 1"}}}`, []string{"X-Hasura-Role", "user1"}, 400,
			`{"path":"$.args[\"$set\"]","error":"column \"city\" is not updatable for role \"user1\"; its value is predefined in permission","code":"not-supported"}`, nil},
		{"update: a preset from the session (tests-py user_update_resident_preset_session_var)",
			`{"type":"update","args":{"table":"resident","$inc":{"age":1},"where":{"name":"Resident 2"},"returning":["age","city"]}}`, []string{"X-Hasura-Role", "user2", "X-Hasura-City", "meadow"}, 200,
			`{"affected_rows":1,"returning":[{"age":23,"city":"meadow"}]}`, nil},
		{"update: where on a column the role may not select",
			`{"type":"update","args":{"table":"author","$set":{"name":"N"},"where":{"bio":{"_is_null":true}}}}`, user("5"), 400,
			`{"path":"$.args.where","error":"role \"user\" does not have permission to select column \"bio\"","code":"permission-denied"}`, nil},
		{"update: returning a column the role may not select",
			`{"type":"update","args":{"table":"author","$set":{"name":"N"},"where":{},"returning":["bio"]}}`, user("5"), 400,
			`{"path":"$.args.returning","error":"role \"user\" does not have permission to select column \"bio\"","code":"permission-denied"}`, nil},

		// delete
		{"delete: without a select permission",
			`{"type":"delete","args":{"table":"article","where":{}}}`, []string{"X-Hasura-Role", "blind"}, 400,
			`{"path":"$.args","error":"select on \"article\" for role \"blind\" is not allowed. ; \"delete\" is only allowed if the role has \"select\" permission as \"where\" can't be used without \"select\" permission on the table","code":"permission-denied"}`, nil},
		{"delete: returning a column the role may not select",
			`{"type":"delete","args":{"table":"article","where":{},"returning":["published_on"]}}`, user("1"), 400,
			`{"path":"$.args.returning","error":"role \"user\" does not have permission to select column \"published_on\"","code":"permission-denied"}`, nil},
		{"delete: a relationship in where is read under the remote table's select filter",
			`{"type":"delete","args":{"table":"article","where":{"author":{"name":"Author 1 updated"}},"returning":["id"]}}`, user("2"), 200,
			`{"affected_rows":0,"returning":[]}`, nil},
		{"delete: the filter limits the rows",
			`{"type":"delete","args":{"table":"article","where":{}}}`, user("2"), 200,
			`{"affected_rows":3}`, func(t *testing.T) {
				adminReads(t, "article", `{}`, `[{"id":1,"title":"Article 1","content":"v2","author_id":1,"is_published":false,"published_on":null},{"id":2,"title":"Article 2","content":"two","author_id":1,"is_published":true,"published_on":null}]`)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got := post(t, e.URL, "/v1/query", tc.body, tc.headers...)
			if status != tc.status || got != tc.want {
				t.Errorf("%d %s\nwant %d %s", status, got, tc.status, tc.want)
			}
			if tc.after != nil {
				tc.after(t)
			}
		})
	}
}
