package api_test

import (
	"testing"
	"time"

	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// enumSetup tracks an enum table colors and a table items whose color
// references it, with a saved query filtering on the enum value red.
func enumSetup(t *testing.T) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, withSecret)
	pgtest.Exec(t, e.DatabaseURL, `CREATE TABLE colors (value text PRIMARY KEY);
		INSERT INTO colors VALUES ('red'), ('blue');
		CREATE TABLE items (id int PRIMARY KEY, color text NOT NULL REFERENCES colors)`)
	mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"track_table","args":{"table":"colors","is_enum":true}},
	  {"type":"track_table","args":{"table":"items"}},
	  {"type":"create_query_collection","args":{"name":"c","definition":{"queries":[
	    {"name":"reds","query":"query { items(where: {color: {_eq: red}}) { id color } }"}]}}}]}`)
	return e
}

// colorValues are the values of colors_enum in the served schema.
func colorValues(t *testing.T, e *enginetest.Engine) string {
	t.Helper()
	return mustOK(t, e.URL, "/v1/graphql", `{"query":"{ __type(name: \"colors_enum\") { enumValues { name description } } }"}`)
}

// A run_sql that alters an enum table is checked against the enum rows
// its own transaction sees: the schema cache build reads them through
// that transaction, so it neither waits on the ALTER's lock nor judges
// saved queries by the rows as they were.
func TestRunSQLOnEnumTableIsCheckedInItsTransaction(t *testing.T) {
	e := enumSetup(t)

	// Under an ALTER TABLE of colors (an exclusive lock), dropping the
	// column the saved query selects is refused and rolled back: the
	// check runs, against the request's own view of the database.
	start := time.Now()
	status, out := post(t, e.URL, "/v2/query", `{"type":"run_sql","args":{"sql":"ALTER TABLE colors ADD COLUMN description text; ALTER TABLE items DROP COLUMN color"}}`)
	t.Logf("refused run_sql took %v", time.Since(start))
	reason := `Inconsistent object: In query collection \"c\" the query \"reds\" is invalid with the following error(s): \"$.items.color: field 'color' not found in object 'items'\"`
	want := `{"path":"$.args","error":"cannot continue due to newly found inconsistent metadata","code":"unexpected","internal":[{"definition":{"name":"reds","query":"query { items(where: {color: {_eq: red}}) { id color } }"},"reason":"` + reason + `","name":"query_collections reds in c","type":"query_collections"}]}`
	if status != 500 || out != want {
		t.Fatalf("run_sql dropping a column a saved query selects:\n got %d %s\nwant 500 %s", status, out, want)
	}
	pgtest.Exec(t, e.DatabaseURL, `SELECT color FROM items`)
	if got, want := colorValues(t, e), `{"data":{"__type":{"enumValues":[{"name":"blue","description":null},{"name":"red","description":null}]}}}`; got != want {
		t.Errorf("after the refused run_sql:\n got %s\nwant %s", got, want)
	}

	// Adding a value and a comment column under the same lock passes,
	// and the schema served next has them.
	start = time.Now()
	mustOK(t, e.URL, "/v2/query", `{"type":"run_sql","args":{"sql":"ALTER TABLE colors ADD COLUMN description text; INSERT INTO colors VALUES ('green', 'Green')"}}`)
	t.Logf("run_sql altering the enum table took %v", time.Since(start))
	if got, want := colorValues(t, e), `{"data":{"__type":{"enumValues":[{"name":"blue","description":null},{"name":"green","description":"Green"},{"name":"red","description":null}]}}}`; got != want {
		t.Errorf("after ALTER TABLE colors:\n got %s\nwant %s", got, want)
	}
}

// A metadata change in the same request as SQL that adds an enum value
// installs a schema with the value: the build reads the enum rows
// through the request's transaction, not the pool (which would see the
// rows as they were before it).
func TestEnumRowsAddedInTheSameRequestAreServed(t *testing.T) {
	e := enumSetup(t)
	mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"run_sql","args":{"sql":"INSERT INTO colors VALUES ('green')"}},
	  {"type":"add_query_to_collection","args":{"collection_name":"c","query_name":"greens","query":"query { items(where: {color: {_eq: green}}) { id } }"}}]}`)
	if got, want := colorValues(t, e), `{"data":{"__type":{"enumValues":[{"name":"blue","description":null},{"name":"green","description":null},{"name":"red","description":null}]}}}`; got != want {
		t.Errorf("after the bulk:\n got %s\nwant %s", got, want)
	}
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
}

// A table that cannot be an enum is refused as one, with Hasura's
// reasons (set_table_is_enum/add_invalid.yaml).
func TestTableThatCannotBeAnEnum(t *testing.T) {
	e := enginetest.Start(t, withSecret)
	pgtest.Exec(t, e.DatabaseURL, `CREATE TABLE employees (id serial PRIMARY KEY, name text, favorite_color text, gets_paid_on text);
		CREATE TABLE shades (value text PRIMARY KEY)`)
	mustOK(t, e.URL, "/v1/query", `{"type":"bulk","args":[
	  {"type":"track_table","args":{"table":"employees"}},
	  {"type":"track_table","args":{"table":"shades"}}]}`)
	reason := `Inconsistent object: the table \"employees\" cannot be used as an enum for the following reasons:\n  • the table’s primary key (\"id\") must have type \"text\", not type \"integer\"\n  • the table must have exactly one primary key and optionally one comment column, not 4 columns (favorite_color, gets_paid_on, id, name)\n`
	empty := `Inconsistent object: the table \"shades\" cannot be used as an enum because the table must have at least one row`
	expectErrors(t, e.URL, []errCase{
		{"/v1/query", `{"type":"set_table_is_enum","args":{"table":"employees","is_enum":true}}`, 400,
			`{"path":"$.args","error":"` + reason + `","code":"invalid-configuration","internal":[{"definition":{"name":"employees","schema":"public"},"reason":"` + reason + `","name":"table employees in source default","type":"table"}]}`},
		{"/v1/query", `{"type":"set_table_is_enum","args":{"table":"shades","is_enum":true}}`, 400,
			`{"path":"$.args","error":"` + empty + `","code":"invalid-configuration","internal":[{"definition":{"name":"shades","schema":"public"},"reason":"` + empty + `","name":"table shades in source default","type":"table"}]}`},
	})
	expectConsistency(t, e, `{"inconsistent_objects":[],"is_consistent":true}`, "OK")
}

// A run_sql that changes the schema and leaves an enum table unfit to be
// one is refused and rolled back; SQL that does not change the schema is
// not checked (as in Hasura), and a reload then finds the table
// inconsistent and the relationship to it untracked
// (set_table_is_enum/relationship_with_inconsistent_enum_table.yaml).
func TestRunSQLMakingAnEnumTableInvalid(t *testing.T) {
	e := enumSetup(t)
	mustOK(t, e.URL, "/v1/query", `{"type":"create_object_relationship","args":{"table":"items","name":"color_object","using":{"foreign_key_constraint_on":"color"}}}`)
	bad := func(values string) string {
		return `{"definition":{"name":"colors","schema":"public"},"reason":"Inconsistent object: the table \"colors\" cannot be used as an enum because the ` + values + `","name":"table colors in source default","type":"table"}`
	}
	expectErrors(t, e.URL, []errCase{
		{"/v2/query", `{"type":"run_sql","args":{"sql":"ALTER TABLE colors ADD COLUMN description text; INSERT INTO colors VALUES ('dark red', NULL), ('true', NULL), ('a-b', NULL)"}}`, 500,
			`{"path":"$.args","error":"cannot continue due to newly found inconsistent metadata","code":"unexpected","internal":[` +
				bad(`values a-b, dark red, and \"true\" are not valid GraphQL enum value names`) + `,` + relUntracked + `]}`},
	})
	if got, want := colorValues(t, e), `{"data":{"__type":{"enumValues":[{"name":"blue","description":null},{"name":"red","description":null}]}}}`; got != want {
		t.Errorf("after the refused run_sql:\n got %s\nwant %s", got, want)
	}

	mustOK(t, e.URL, "/v2/query", `{"type":"run_sql","args":{"sql":"INSERT INTO colors VALUES ('illegal+graphql+identifier')"}}`)
	if out := mustOK(t, e.URL, "/v1/query", `{"type":"reload_metadata","args":{}}`); out != `{"is_consistent":false,"message":"success"}` {
		t.Errorf("reload_metadata: %s", out)
	}
	expectConsistency(t, e, `{"inconsistent_objects":[`+bad(`value \"illegal+graphql+identifier\" is not a valid GraphQL enum value name`)+`,`+relUntracked+`],"is_consistent":false}`, "WARN: inconsistent objects in schema")
	if got, want := colorValues(t, e), `{"data":{"__type":null}}`; got != want {
		t.Errorf("an inconsistent enum table is served:\n got %s\nwant %s", got, want)
	}
}

const relUntracked = `{"definition":{"comment":null,"name":"color_object","source":"default","table":{"name":"items","schema":"public"},"using":{"foreign_key_constraint_on":"color"}},"reason":"Inconsistent object: table \"colors\" is not tracked","name":"object_relation color_object in table items in source default","type":"object_relation"}`

// An enum table the request's transaction cannot read is inconsistent
// with the Postgres error, and the failed read leaves the transaction
// usable: the next enum table is read, and the request is refused and
// rolled back rather than committed by a COMMIT that rolls back.
func TestEnumReadFailingInTheTransaction(t *testing.T) {
	e := enumSetup(t)
	pgtest.Exec(t, e.DatabaseURL, `CREATE TABLE sizes (value text PRIMARY KEY); INSERT INTO sizes VALUES ('small')`)
	mustOK(t, e.URL, "/v1/query", `{"type":"track_table","args":{"table":"sizes","is_enum":true}}`)
	reason := `Inconsistent object: the table \"colors\" cannot be used as an enum because postgres error: permission denied for table colors`
	expectErrors(t, e.URL, []errCase{
		{"/v2/query", `{"type":"run_sql","args":{"sql":"CREATE ROLE strata_enum_test_reader; ALTER TABLE colors ADD COLUMN description text; GRANT SELECT ON sizes TO strata_enum_test_reader; SET LOCAL ROLE strata_enum_test_reader"}}`, 500,
			`{"path":"$.args","error":"cannot continue due to newly found inconsistent metadata","code":"unexpected","internal":[{"definition":{"name":"colors","schema":"public"},"reason":"` + reason + `","name":"table colors in source default","type":"table"}]}`},
	})
	pgtest.Exec(t, e.DatabaseURL, `DO $$ BEGIN
		IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'colors'::regclass AND attname = 'description')
		   OR EXISTS (SELECT FROM pg_roles WHERE rolname = 'strata_enum_test_reader') THEN
			RAISE 'the refused run_sql was committed';
		END IF; END $$`)
}
