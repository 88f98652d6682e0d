package api_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// startRoles tracks author and gives the roles author, employee and
// manager_employee a select permission on it: roles the metadata knows.
func startRoles(t *testing.T) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, withSecret)
	pgtest.Exec(t, e.DatabaseURL, schema+`
insert into author (name) values ('Ann'), ('Bob');`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[{"type":"pg_track_table","args":{"table":"author"}},
	  {"type":"pg_create_select_permission","args":{"table":"author","role":"author","permission":{"columns":["id"],"filter":{"id":{"_eq":1}}}}},
	  {"type":"pg_create_select_permission","args":{"table":"author","role":"employee","permission":{"columns":["id","name"],"filter":{"id":{"_eq":2}}}}},
	  {"type":"pg_create_select_permission","args":{"table":"author","role":"manager_employee","permission":{"columns":["id","name"],"filter":{}}}}]}`)
	return e
}

// replaceWith is a replace_metadata (v2) of the current sources and the
// given inherited_roles.
func replaceWith(t *testing.T, e *enginetest.Engine, allow bool, inheritedRoles string) (int, string) {
	t.Helper()
	_, md := exportV2(t, e.URL)
	sources, err := json.Marshal(md["sources"])
	if err != nil {
		t.Fatal(err)
	}
	return post(t, e.URL, "/v1/metadata", fmt.Sprintf(`{"type":"replace_metadata","version":2,"args":{"allow_inconsistent_metadata":%t,"metadata":{"version":3,"sources":%s,"inherited_roles":%s}}}`, allow, sources, inheritedRoles))
}

func TestInheritedRoleCyclesAreRefused(t *testing.T) {
	e := startRoles(t)
	// Hasura's own case (test_graphql_queries.py), refused whether
	// inconsistencies are allowed or not: a cycle is no inconsistency.
	circular := `[{"role_name":"intermediate_circular_role_1","role_set":["manager_employee","circular_role"]},
	  {"role_name":"intermediate_circular_role_2","role_set":["intermediate_circular_role_1","employee"]},
	  {"role_name":"circular_role","role_set":["intermediate_circular_role_2","author"]}]`
	want := `{"path":"$.args","error":"found cycle(s) in roles: [\"circular_role\",\"intermediate_circular_role_2\",\"intermediate_circular_role_1\",\"circular_role\"]","code":"cyclic-dependency"}`
	for _, allow := range []bool{false, true} {
		if status, got := replaceWith(t, e, allow, circular); status != 400 || got != want {
			t.Errorf("replace_metadata (allow %t):\n got %d %s\nwant 400 %s", allow, status, got, want)
		}
	}
	// add_inherited_role closing a cycle by replacing a role.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_inherited_role","args":{"role_name":"r1","role_set":["author"]}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_inherited_role","args":{"role_name":"r2","role_set":["r1","employee"]}}`)
	expectErrors(t, e.URL, []errCase{{"", `{"type":"add_inherited_role","args":{"role_name":"r1","role_set":["r2"]}}`, 400,
		`{"path":"$.args","error":"found cycle(s) in roles: [\"r1\",\"r2\",\"r1\"]","code":"cyclic-dependency"}`}})
	expectSection(t, exportSections(t, e.URL), "inherited_roles",
		`[{"role_name":"r1","role_set":["author"]},{"role_name":"r2","role_set":["r1","employee"]}]`)
}

const missingParent = `Inconsistent object: in inherited role boss: the following parent role(s) are not found: ghost, phantom which are required to construct the inherited role: \"boss\"`

func TestInheritedRoleMissingParents(t *testing.T) {
	e := startRoles(t)
	object := `{"definition":{"role_name":"boss","role_set":["author","ghost","phantom"]},"reason":"` + missingParent + `","name":"inherited role boss","type":"inherited_role"}`
	expectErrors(t, e.URL, []errCase{{"", `{"type":"add_inherited_role","args":{"role_name":"boss","role_set":["author","ghost","phantom"]}}`, 400,
		`{"path":"$.args","error":"` + missingParent + `","code":"invalid-configuration","internal":[` + object + `]}`}})
	expectSection(t, exportSections(t, e.URL), "inherited_roles", "")

	// Allowed in, it is an inconsistent object...
	status, got := replaceWith(t, e, true, `[{"role_name":"boss","role_set":["author","ghost","phantom"]}]`)
	report := `{"inconsistent_objects":[` + object + `],"is_consistent":false}`
	if status != 200 || got != report {
		t.Errorf("replace_metadata:\n got %d %s\nwant 200 %s", status, got, report)
	}
	expectConsistency(t, e, report, "WARN: inconsistent objects in schema")
	// ... which adding it again, parents still missing, refuses ...
	expectErrors(t, e.URL, []errCase{{"", `{"type":"add_inherited_role","args":{"role_name":"boss","role_set":["author","ghost","phantom"]}}`, 400,
		`{"path":"$.args","error":"` + missingParent + `","code":"invalid-configuration","internal":[` + object + `]}`}})
	// ... and drop_inconsistent_metadata drops.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_inconsistent_metadata","args":{}}`)
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
	expectSection(t, exportSections(t, e.URL), "inherited_roles", "")

	// A role is known by any permission: the parents here are an
	// inherited role and a role with an insert permission only.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"pg_create_insert_permission","args":{"table":"author","role":"writer","permission":{"columns":["name"],"check":{}}}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_inherited_role","args":{"role_name":"staff","role_set":["author","employee"]}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"add_inherited_role","args":{"role_name":"boss","role_set":["staff","writer"]}}`)
}

// conflict is how get_inconsistent_metadata lists an insert permission
// the inherited role users cannot inherit (Hasura's test_metadata.py).
const conflict = `{"entity":{"permission_type":"insert","source":"default","table":"author"},"name":"users","reason":"Could not inherit permission for the role 'users' for the entity: 'insert permission, table: author, source: 'default''","type":"inherited role permission inconsistency"}`

func TestInheritedPermissionConflicts(t *testing.T) {
	e := startRoles(t)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"pg_create_insert_permission","args":{"table":"author","role":"user1","permission":{"columns":["id","name"],"check":{}}}},
	  {"type":"pg_create_insert_permission","args":{"table":"author","role":"user2","permission":{"columns":["id","name"],"check":{"id":{"_eq":"X-Hasura-User-Id"}}}}}]}`)
	users := `[{"role_name":"users","role_set":["user2","user1"]}]`

	// replace_metadata refuses any inconsistency, informational or not.
	status, got := replaceWith(t, e, false, users)
	if want := `{"path":"$.args","error":"cannot continue due to inconsistent metadata","code":"unexpected","internal":[` + conflict + `]}`; status != 400 || got != want {
		t.Errorf("replace_metadata:\n got %d %s\nwant 400 %s", status, got, want)
	}
	status, got = replaceWith(t, e, true, users)
	report := `{"inconsistent_objects":[` + conflict + `],"is_consistent":false}`
	if status != 200 || got != report {
		t.Errorf("replace_metadata allowing inconsistencies:\n got %d %s\nwant 200 %s", status, got, report)
	}
	expectConsistency(t, e, report, "WARN: inconsistent objects in schema")

	// No metadata object is at fault: other operations go on, and
	// drop_inconsistent_metadata has nothing to drop.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"pg_create_select_permission","args":{"table":"author","role":"user1","permission":{"columns":["id"],"filter":{}}}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"drop_inconsistent_metadata","args":{}}`)
	expectConsistency(t, e, report, "WARN: inconsistent objects in schema")
	// A conflict another operation brings about does not refuse it.
	mustOK(t, e.URL, "/v1/metadata", `{"type":"pg_create_update_permission","args":{"table":"author","role":"user1","permission":{"columns":["name"],"filter":{}}}}`)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"pg_create_update_permission","args":{"table":"author","role":"user2","permission":{"columns":["id"],"filter":{}}}}`)
	updateConflict := `{"entity":{"permission_type":"update","source":"default","table":"author"},"name":"users","reason":"Could not inherit permission for the role 'users' for the entity: 'update permission, table: author, source: 'default''","type":"inherited role permission inconsistency"}`
	expectConsistency(t, e, `{"inconsistent_objects":[`+conflict+`,`+updateConflict+`],"is_consistent":false}`, "WARN: inconsistent objects in schema")

	// The inherited role's own permissions resolve them (Hasura's
	// resolve_inconsistent_permission.yaml).
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"pg_create_insert_permission","args":{"table":"author","role":"users","permission":{"columns":["name"],"check":{}}}},
	  {"type":"pg_create_update_permission","args":{"table":"author","role":"users","permission":{"columns":["name"],"filter":{}}}}]}`)
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
}

// The v1 data API resolves an inherited role's permissions as GraphQL
// does.
func TestV1DataAPIForInheritedRoles(t *testing.T) {
	e := startRoles(t)
	mustOK(t, e.URL, "/v1/metadata", `{"type":"bulk","args":[
	  {"type":"pg_create_insert_permission","args":{"table":"author","role":"author","permission":{"columns":["name"],"check":{}}}},
	  {"type":"pg_create_insert_permission","args":{"table":"author","role":"employee","permission":{"columns":["name"],"check":{}}}},
	  {"type":"pg_create_delete_permission","args":{"table":"author","role":"author","permission":{"filter":{}}}},
	  {"type":"pg_create_delete_permission","args":{"table":"author","role":"employee","permission":{"filter":{"id":{"_eq":2}}}}},
	  {"type":"add_inherited_role","args":{"role_name":"staff","role_set":["author","employee"]}}]}`)
	staff := []string{"X-Hasura-Role", "staff"}
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"rows any parent may see",
			`{"type":"select","args":{"table":"author","columns":["id"],"order_by":["id"]}}`, 200, `[{"id":1},{"id":2}]`},
		{"count through the same rows",
			`{"type":"count","args":{"table":"author"}}`, 200, `{"count":2}`},
		// name shows only on the rows of a parent that has it: the v1
		// API cannot null it on the others, so it is not served.
		{"* is the columns every row shows",
			`{"type":"select","args":{"table":"author","columns":["*"],"order_by":["id"]}}`, 200, `[{"id":1},{"id":2}]`},
		{"a column only some rows show",
			`{"type":"select","args":{"table":"author","columns":["name"]}}`, 400,
			`{"path":"$.args.columns[0]","error":"role \"staff\" does not have permission to select column \"name\"","code":"permission-denied"}`},
		{"the parents' insert permission when they agree",
			`{"type":"insert","args":{"table":"author","objects":[{"name":"Cy"}],"returning":["id"]}}`, 200, `{"affected_rows":1,"returning":[{"id":3}]}`},
		{"no delete permission when they differ",
			`{"type":"delete","args":{"table":"author","where":{}}}`, 400,
			`{"path":"$.args","error":"delete on \"author\" for role \"staff\" is not allowed. ","code":"permission-denied"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got := post(t, e.URL, "/v1/query", tc.body, staff...)
			if status != tc.status || got != tc.want {
				t.Errorf("%d %s\nwant %d %s", status, got, tc.status, tc.want)
			}
		})
	}
}
