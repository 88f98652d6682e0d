package pgmeta

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const weird = `we"ird 'name'; DROP TABLE victim; --`

// victim must survive every injection attempt.
func addVictim(t *testing.T, e *env) {
	t.Helper()
	e.exec("CREATE TABLE public.victim (a int); INSERT INTO public.victim VALUES (1)")
	t.Cleanup(func() {
		if n := e.scalar("SELECT count(*) FROM pg_class WHERE relname = 'victim'"); n != int64(1) {
			t.Errorf("victim table is gone")
		}
	})
}

func TestWriteSchemas(t *testing.T) {
	e := newEnv(t)
	addVictim(t, e)
	e.exec(`CREATE ROLE pgmeta_owner NOLOGIN`)
	t.Cleanup(func() { e.exec("DROP ROLE IF EXISTS pgmeta_owner") })

	s := must[obj](e, "POST", "/pg/schemas", map[string]any{"name": weird})
	if s["name"] != weird || s["owner"] != "postgres" {
		t.Fatalf("created %v", s)
	}
	id := s["id"]
	if e.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1", weird) != int64(1) {
		t.Fatal("schema not created with the exact name")
	}
	s2 := must[obj](e, "PATCH", fmt.Sprintf("/pg/schemas/%s", id), map[string]any{"name": `renamed"2`, "owner": "pgmeta_owner"})
	if s2["name"] != `renamed"2` || s2["owner"] != "pgmeta_owner" || s2["id"] != id {
		t.Fatalf("updated %v", s2)
	}
	// a table in it: RESTRICT fails, CASCADE works
	e.exec(`CREATE TABLE "renamed""2".t (a int)`)
	fails(e, 400, "DELETE", fmt.Sprintf("/pg/schemas/%s", id), nil)
	d := must[obj](e, "DELETE", fmt.Sprintf("/pg/schemas/%s?cascade=true", id), nil)
	if !reflect.DeepEqual(d, s2) {
		t.Fatalf("deleted %v", d)
	}
	if msg := fails(e, 404, "GET", fmt.Sprintf("/pg/schemas/%s", id), nil); msg != fmt.Sprintf("Cannot find a schema with ID %s", id) {
		t.Errorf("got %q", msg)
	}
	fails(e, 404, "PATCH", "/pg/schemas/1", map[string]any{"name": "x"})
	fails(e, 404, "DELETE", "/pg/schemas/1", nil)
	fails(e, 400, "PATCH", "/pg/schemas/x", map[string]any{"name": "x"})
	if msg := fails(e, 400, "POST", "/pg/schemas", map[string]any{}); msg != "body must have required property 'name'" {
		t.Errorf("got %q", msg)
	}
	if msg := fails(e, 400, "POST", "/pg/schemas", map[string]any{"name": 5}); msg != "body/name must be string" {
		t.Errorf("got %q", msg)
	}
	fails(e, 400, "POST", "/pg/schemas", "{")
	// Postgres' refusal is a 400 with its message
	if msg := fails(e, 400, "POST", "/pg/schemas", map[string]any{"name": "public"}); msg != `schema "public" already exists` {
		t.Errorf("got %q", msg)
	}
	fails(e, 400, "POST", "/pg/schemas", map[string]any{"name": "x", "owner": "nobody_like_this"})
	if e.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'x'") != int64(0) {
		t.Error("failed create left the schema behind")
	}
}

func TestWriteTables(t *testing.T) {
	e := newEnv(t)
	addVictim(t, e)
	e.exec("CREATE SCHEMA other")
	comment := `it's a \ test'); DROP TABLE victim; --`
	tb := must[obj](e, "POST", "/pg/tables", map[string]any{"name": weird, "comment": comment})
	if tb["name"] != weird || tb["schema"] != "public" || tb["comment"] != comment || len(tb["columns"].([]any)) != 0 {
		t.Fatalf("created %v", tb)
	}
	id := tb["id"]
	path := fmt.Sprintf("/pg/tables/%s", id)
	e.exec(fmt.Sprintf(`ALTER TABLE %s ADD COLUMN "k 1" int NOT NULL, ADD COLUMN k2 int NOT NULL`, ident("public", weird)))
	up := must[obj](e, "PATCH", path, map[string]any{
		"rls_enabled": true, "rls_forced": true, "replica_identity": "FULL",
		"primary_keys": []any{map[string]any{"name": "k 1"}, map[string]any{"name": "k2"}},
		"comment":      "new", "schema": "other", "name": "t2",
	})
	if up["name"] != "t2" || up["schema"] != "other" || up["rls_enabled"] != true || up["rls_forced"] != true ||
		up["replica_identity"] != "FULL" || up["comment"] != "new" || up["id"] != id {
		t.Fatalf("updated %v", up)
	}
	pks := up["primary_keys"].([]any)
	if len(pks) != 2 || pks[0].(obj)["name"] != "k 1" || pks[1].(obj)["name"] != "k2" {
		t.Fatalf("primary keys %v", pks)
	}
	// replace the primary key, drop RLS, replica identity from an index
	up = must[obj](e, "PATCH", path, map[string]any{
		"primary_keys": []any{map[string]any{"name": "k2"}}, "rls_enabled": false,
	})
	pkName := e.scalar("SELECT conname::text FROM pg_constraint WHERE contype = 'p' AND conrelid = $1::int8", num(id))
	up = must[obj](e, "PATCH", path, map[string]any{"replica_identity": "INDEX", "replica_identity_index": pkName})
	if pks := up["primary_keys"].([]any); len(pks) != 1 || pks[0].(obj)["name"] != "k2" || up["rls_enabled"] != false || up["replica_identity"] != "INDEX" {
		t.Fatalf("updated %v", up)
	}
	fails(e, 400, "PATCH", path, map[string]any{"replica_identity": "NOTHING; DROP TABLE victim"})
	fails(e, 400, "PATCH", path, map[string]any{"replica_identity": "INDEX"})
	fails(e, 400, "PATCH", path, map[string]any{"rls_enabled": "yes"})
	// a name that does not exist is Postgres' error, nothing changes
	fails(e, 400, "PATCH", path, map[string]any{"comment": "x", "schema": "nope"})
	if got := must[obj](e, "GET", path, nil); got["comment"] != "new" {
		t.Errorf("failed update applied partially: %v", got)
	}

	e.exec("CREATE TABLE other.child (id int REFERENCES other.t2 (k2))")
	fails(e, 400, "DELETE", path, nil)
	d := must[obj](e, "DELETE", path+"?cascade=true", nil)
	if d["name"] != "t2" {
		t.Fatalf("deleted %v", d)
	}
	fails(e, 404, "GET", path, nil)
	if msg := fails(e, 404, "PATCH", path, map[string]any{"name": "x"}); !strings.HasPrefix(msg, "Cannot find a table with ID") {
		t.Errorf("got %q", msg)
	}
	fails(e, 400, "POST", "/pg/tables", map[string]any{"schema": "public"})
}

func TestWriteColumns(t *testing.T) {
	e := newEnv(t)
	addVictim(t, e)
	e.exec(`CREATE TABLE "T ""1""" (id int); CREATE TYPE "M ""1""" AS ENUM ('a')`)
	tid := e.scalar(`SELECT '"T ""1"""'::regclass::oid::int8`)
	col := must[obj](e, "POST", "/pg/columns", map[string]any{
		"table_id": tid, "name": `col"umn`, "type": "varchar(20)", "default_value": "o'k",
		"is_nullable": false, "is_unique": true, "comment": "c'm", "check": `length("col""umn") > 0`,
	})
	want := obj{"table_id": json.Number(fmt.Sprint(tid)), "schema": "public", "table": `T "1"`, "id": fmt.Sprintf("%d.2", tid),
		"ordinal_position": json.Number("2"), "name": `col"umn`, "default_value": "'o''k'::character varying",
		"data_type": "character varying", "format": "varchar", "is_identity": false, "identity_generation": nil,
		"is_generated": false, "is_nullable": false, "is_updatable": true, "is_unique": true,
		"check": `length("col""umn"::text) > 0`, "enums": []any{}, "comment": "c'm"}
	if !reflect.DeepEqual(col, want) {
		t.Fatalf("created\n got %v\nwant %v", col, want)
	}
	path := "/pg/columns/" + col["id"].(string)

	// CHECK (true) refers to no column: refused (postgres-meta's assertion)
	if msg := fails(e, 400, "PATCH", path, map[string]any{
		"type": "text", "is_unique": false, "is_nullable": true, "drop_default": true, "check": "true",
		"name": "renamed", "comment": nil,
	}); !strings.Contains(msg, "must refer to this column") {
		t.Errorf("got %q", msg)
	}
	// the failed update above (check refers to no column) changed nothing
	if got := must[obj](e, "GET", path, nil); got["name"] != `col"umn` || got["data_type"] != "character varying" {
		t.Fatalf("partial update: %v", got)
	}
	up := must[obj](e, "PATCH", path, map[string]any{
		"type": "text", "is_unique": false, "is_nullable": true, "default_value": "now()::text",
		"default_value_format": "expression", "check": `length("col""umn") < 100`, "name": "renamed", "comment": nil,
	})
	if up["name"] != "renamed" || up["data_type"] != "text" || up["is_unique"] != false || up["is_nullable"] != true ||
		up["default_value"] != "(now())::text" || up["check"] != `length(renamed) < 100` || up["comment"] != nil {
		t.Fatalf("updated %v", up)
	}
	up = must[obj](e, "PATCH", path, map[string]any{"check": nil, "is_unique": true})
	if up["check"] != nil || up["is_unique"] != true {
		t.Fatalf("updated %v", up)
	}
	if msg := fails(e, 400, "PATCH", path, map[string]any{"check": "id > 0"}); !strings.Contains(msg, "cannot refer to other columns") {
		t.Errorf("got %q", msg)
	}

	// identity and defaults
	idc := must[obj](e, "POST", "/pg/columns", map[string]any{"table_id": tid, "name": "seq", "type": "int8", "is_identity": true, "identity_generation": "ALWAYS"})
	if idc["is_identity"] != true || idc["identity_generation"] != "ALWAYS" {
		t.Fatalf("identity %v", idc)
	}
	idc = must[obj](e, "PATCH", "/pg/columns/"+idc["id"].(string), map[string]any{"identity_generation": "BY DEFAULT"})
	if idc["identity_generation"] != "BY DEFAULT" {
		t.Fatalf("identity %v", idc)
	}
	idc = must[obj](e, "PATCH", "/pg/columns/"+idc["id"].(string), map[string]any{"is_identity": false})
	if idc["is_identity"] != false {
		t.Fatalf("identity %v", idc)
	}
	fails(e, 400, "POST", "/pg/columns", map[string]any{"table_id": tid, "name": "x", "type": "int", "is_identity": true, "default_value": 1})
	for _, c := range []struct {
		typ, def, want string
		val            any
	}{
		{"int4", "", "42", 42},
		{"numeric(10,2)", "", "1.50", json.Number("1.50")},
		{"bool", "", "true", true},
		{"jsonb", "", `'{"a": 1}'::jsonb`, map[string]any{"a": 1}},
		{"text[]", "", `'{a,b}'::text[]`, "{a,b}"},
		{"timestamp with time zone", "expression", "now()", "now()"},
		{"double precision", "", "'1.5'::double precision", "1.5"},
		{`"public"."M ""1"""`, "", `'a'::"M ""1"""`, "a"},
	} {
		body := map[string]any{"table_id": tid, "name": "c_" + strings.NewReplacer(" ", "_", "(", "", ")", "", ",", "", "[]", "a", `"`, "", ".", "").Replace(c.typ), "type": c.typ}
		if c.val != nil {
			body["default_value"] = c.val
		}
		if c.def != "" {
			body["default_value_format"] = c.def
		}
		got := must[obj](e, "POST", "/pg/columns", body)
		if c.want != "" && got["default_value"] != c.want {
			t.Errorf("%s default %v, want %s", c.typ, got["default_value"], c.want)
		}
	}
	// types are parsed, not pasted
	for _, bad := range []string{"text; DROP TABLE victim", "int) ; DROP TABLE victim; --", "text DEFAULT 1", "a.b.c", "varchar(x)", ""} {
		if msg := fails(e, 400, "POST", "/pg/columns", map[string]any{"table_id": tid, "name": "bad", "type": bad}); bad != "" && !strings.HasPrefix(msg, "invalid type") {
			t.Errorf("%q: %q", bad, msg)
		}
	}
	// an expression cannot add a statement
	fails(e, 400, "POST", "/pg/columns", map[string]any{"table_id": tid, "name": "bad", "type": "int",
		"default_value": "1; DROP TABLE victim", "default_value_format": "expression"})
	fails(e, 400, "POST", "/pg/columns", map[string]any{"table_id": tid, "name": "bad", "type": "int",
		"check": "true); DROP TABLE victim; --"})
	if msg := fails(e, 404, "POST", "/pg/columns", map[string]any{"table_id": 1, "name": "x", "type": "int"}); msg != "Cannot find a table with ID 1" {
		t.Errorf("got %q", msg)
	}
	fails(e, 400, "POST", "/pg/columns", map[string]any{"table_id": tid, "name": "x"})

	d := must[obj](e, "DELETE", path, nil)
	if d["name"] != "renamed" {
		t.Fatalf("deleted %v", d)
	}
	if msg := fails(e, 404, "GET", path, nil); msg != "Cannot find a column with ID "+col["id"].(string) {
		t.Errorf("got %q", msg)
	}
	fails(e, 404, "DELETE", path, nil)
	fails(e, 400, "DELETE", "/pg/columns/12", nil)
}

func TestWriteRoles(t *testing.T) {
	e := newEnv(t)
	addVictim(t, e)
	name := `pgmeta "role" '; DROP TABLE victim; --`
	t.Cleanup(func() {
		e.exec("DROP ROLE IF EXISTS " + ident(name) + "; DROP ROLE IF EXISTS pgmeta_r2; DROP ROLE IF EXISTS pgmeta_grp")
	})
	e.exec("CREATE ROLE pgmeta_grp NOLOGIN")
	r := must[obj](e, "POST", "/pg/roles", map[string]any{
		"name": name, "can_login": true, "password": `p'w\d`, "connection_limit": 5, "valid_until": "2031-02-03 04:05:06+00",
		"member_of": []string{"pgmeta_grp"}, "config": map[string]string{"search_path": "app, public", "statement_timeout": "5s"},
	})
	if r["name"] != name || r["can_login"] != true || r["connection_limit"] != json.Number("5") || r["password"] != "********" ||
		r["valid_until"] != "2031-02-03 04:05:06+00" || r["inherit_role"] != true || r["is_superuser"] != false ||
		!reflect.DeepEqual(r["config"], obj{"search_path": "app, public", "statement_timeout": "5s"}) {
		t.Fatalf("created %v", r)
	}
	if e.scalar("SELECT pg_has_role($1, 'pgmeta_grp', 'MEMBER')", name) != true {
		t.Error("member_of not applied")
	}
	path := fmt.Sprintf("/pg/roles/%s", r["id"])
	up := must[obj](e, "PATCH", path, map[string]any{
		"name": "pgmeta_r2", "can_create_db": true, "inherit_role": false, "connection_limit": -1,
		"config": []any{
			map[string]any{"op": "remove", "path": "statement_timeout"},
			map[string]any{"op": "replace", "path": "search_path", "value": "public"},
		},
	})
	if up["name"] != "pgmeta_r2" || up["can_create_db"] != true || up["inherit_role"] != false || up["can_login"] != true ||
		num(up["connection_limit"]) < 1 || !reflect.DeepEqual(up["config"], obj{"search_path": "public"}) {
		t.Fatalf("updated %v", up)
	}
	fails(e, 400, "PATCH", path, map[string]any{"config": []any{map[string]any{"op": "drop", "path": "x"}}})
	fails(e, 400, "PATCH", path, map[string]any{"connection_limit": "5; DROP TABLE victim"})
	fails(e, 400, "PATCH", path, map[string]any{"connection_limit": 1.5})
	d := must[obj](e, "DELETE", path, nil)
	if d["name"] != "pgmeta_r2" {
		t.Fatalf("deleted %v", d)
	}
	fails(e, 404, "GET", path, nil)
	fails(e, 404, "DELETE", path, nil)
}

func TestWritePolicies(t *testing.T) {
	e := newEnv(t)
	addVictim(t, e)
	e.exec(`CREATE SCHEMA "s'1"; CREATE TABLE "s'1"."t""1" (id int, owner text); CREATE ROLE pgmeta_pol NOLOGIN`)
	t.Cleanup(func() { e.exec(`DROP SCHEMA "s'1" CASCADE; DROP ROLE pgmeta_pol`) })
	p := must[obj](e, "POST", "/pg/policies", map[string]any{
		"name": `pol "1"`, "schema": "s'1", "table": `t"1`, "definition": "owner = current_user", "check": "id > 0",
		"command": "update", "action": "restrictive",
	})
	if p["name"] != `pol "1"` || p["schema"] != "s'1" || p["table"] != `t"1` || p["command"] != "UPDATE" ||
		p["action"] != "RESTRICTIVE" || p["definition"] != "(owner = CURRENT_USER)" || p["check"] != "(id > 0)" ||
		!reflect.DeepEqual(p["roles"], []any{"public"}) {
		t.Fatalf("created %v", p)
	}
	path := fmt.Sprintf("/pg/policies/%s", p["id"])
	up := must[obj](e, "PATCH", path, map[string]any{"name": "pol2", "roles": []string{"pgmeta_pol"}, "definition": "true", "check": "id > 1"})
	if up["name"] != "pol2" || !reflect.DeepEqual(up["roles"], []any{"pgmeta_pol"}) || up["definition"] != "true" || up["check"] != "(id > 1)" {
		t.Fatalf("updated %v", up)
	}
	for _, bad := range []map[string]any{
		{"name": "x", "table": `t"1`, "schema": "s'1", "command": "ALL TO public; DROP TABLE victim; --"},
		{"name": "x", "table": `t"1`, "schema": "s'1", "action": "PERMISSIVE; DROP TABLE victim"},
		{"name": "x", "table": `t"1`, "schema": "s'1", "definition": "true); DROP TABLE victim; --"},
		{"name": "x", "table": `t"1`, "schema": "s'1", "roles": []string{"public; DROP TABLE victim"}},
		{"name": "x", "table": "nope"},
		{"table": "x"},
	} {
		fails(e, 400, "POST", "/pg/policies", bad)
	}
	d := must[obj](e, "DELETE", path, nil)
	if d["name"] != "pol2" {
		t.Fatalf("deleted %v", d)
	}
	fails(e, 404, "GET", path, nil)
	fails(e, 404, "PATCH", path, map[string]any{"name": "x"})
}

func TestWriteExtensions(t *testing.T) {
	e := newEnv(t)
	addVictim(t, e)
	if e.scalar("SELECT count(*) FROM pg_available_extensions WHERE name = 'pgcrypto'") != int64(1) {
		t.Skip("pgcrypto is not available")
	}
	e.exec("CREATE SCHEMA ext")
	x := must[obj](e, "POST", "/pg/extensions", map[string]any{"name": "pgcrypto", "schema": "ext"})
	if x["name"] != "pgcrypto" || x["schema"] != "ext" || x["installed_version"] == nil {
		t.Fatalf("created %v", x)
	}
	x = must[obj](e, "PATCH", "/pg/extensions/pgcrypto", map[string]any{"schema": "public", "update": true})
	if x["schema"] != "public" {
		t.Fatalf("updated %v", x)
	}
	fails(e, 400, "PATCH", "/pg/extensions/pgcrypto", map[string]any{"update": true, "version": "0.0'; DROP TABLE victim; --"})
	d := must[obj](e, "DELETE", "/pg/extensions/pgcrypto?cascade=true", nil)
	if d["installed_version"] == nil {
		t.Fatalf("deleted %v", d)
	}
	if got := must[obj](e, "GET", "/pg/extensions/pgcrypto", nil); got["installed_version"] != nil || got["schema"] != nil {
		t.Fatalf("after delete %v", got)
	}
	fails(e, 404, "PATCH", "/pg/extensions/pgcrypto", map[string]any{"schema": "ext"})
	fails(e, 404, "DELETE", "/pg/extensions/nope", nil)
	fails(e, 400, "POST", "/pg/extensions", map[string]any{"name": "nope"})
	fails(e, 400, "POST", "/pg/extensions", map[string]any{"name": `pgcrypto"; DROP TABLE victim; --`})
	fails(e, 400, "DELETE", "/pg/extensions/pgcrypto?cascade=maybe", nil)
}
