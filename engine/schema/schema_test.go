package schema

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/metadata"
)

// library builds a source of n tables t0..t{n-1}: each with an id, a name,
// a bigint, a jsonb and a reference to the previous table, tracked with
// an object and an array relationship, and a `user` role that sees some
// columns of even tables only.
func library(n int) *Source {
	cat := &catalog.Catalog{Tables: map[catalog.QualifiedName]*catalog.Table{}, Functions: map[catalog.QualifiedName][]*catalog.Function{}, Enums: map[catalog.QualifiedName][]string{}, Domains: map[catalog.QualifiedName]*catalog.Domain{}}
	md := &metadata.Source{Name: "default", Kind: "postgres"}
	pgType := func(name string) catalog.QualifiedName {
		return catalog.QualifiedName{Schema: "pg_catalog", Name: name}
	}
	for i := range n {
		name := fmt.Sprintf("t%d", i)
		t := &catalog.Table{Name: catalog.QualifiedName{Schema: "public", Name: name}, Kind: catalog.KindTable,
			Columns: []*catalog.Column{
				{Name: "id", TypeName: pgType("int4"), TypeKind: catalog.TypeBase},
				{Name: "name", TypeName: pgType("text"), TypeKind: catalog.TypeBase, Nullable: true},
				{Name: "total", TypeName: pgType("int8"), TypeKind: catalog.TypeBase, Nullable: true},
				{Name: "doc", TypeName: pgType("jsonb"), TypeKind: catalog.TypeBase, Nullable: true},
				{Name: "parent_id", TypeName: pgType("int4"), TypeKind: catalog.TypeBase, Nullable: true},
			},
			PrimaryKey: &catalog.Constraint{Name: name + "_pkey", Columns: []string{"id"}},
		}
		mt := &metadata.Table{Table: metadata.QualifiedName{Schema: "public", Name: name}}
		if i > 0 {
			parent := fmt.Sprintf("t%d", i-1)
			t.ForeignKeys = []*catalog.ForeignKey{{Name: name + "_parent_fkey", Columns: []string{"parent_id"}, RefTable: catalog.QualifiedName{Schema: "public", Name: parent}, RefColumns: []string{"id"}}}
			mt.ObjectRelationships = []*metadata.Relationship{{Name: "parent", Using: json.RawMessage(`{"foreign_key_constraint_on":"parent_id"}`)}}
		}
		if i < n-1 {
			mt.ArrayRelationships = []*metadata.Relationship{{Name: "children", Using: json.RawMessage(fmt.Sprintf(`{"foreign_key_constraint_on":{"table":"t%d","column":"parent_id"}}`, i+1))}}
		}
		if i%2 == 0 {
			mt.SelectPermissions = []*metadata.Permission[metadata.SelectPermission]{{Role: "user", Permission: metadata.SelectPermission{
				Columns: json.RawMessage(`["id","name"]`), Filter: json.RawMessage(`{"id":{"_eq":"X-Hasura-User-Id"}}`),
			}}}
		}
		cat.Tables[t.Name] = t
		md.Tables = append(md.Tables, mt)
	}
	return &Source{Name: "default", Metadata: md, Catalog: cat, Resolved: compile.BuildSchema(md, cat), Enums: map[metadata.QualifiedName][]EnumValue{}}
}

func TestAdminSchemaHasHasurasShape(t *testing.T) {
	s := build([]*Source{library(3)}, nil, "admin", false)
	root := s.AST.Query
	for _, f := range []string{"t0", "t0_by_pk", "t0_aggregate", "t2"} {
		if root.Fields.ForName(f) == nil {
			t.Errorf("query_root has no %s", f)
		}
	}
	t1 := s.AST.Types["t1"]
	if t1 == nil {
		t.Fatal("no type t1")
	}
	if got := t1.Fields.ForName("parent").Type.String(); got != "t0" {
		t.Errorf("t1.parent: %s (a nullable foreign key column makes a nullable object)", got)
	}
	if got := t1.Fields.ForName("children").Type.String(); got != "[t2!]!" {
		t.Errorf("t1.children: %s", got)
	}
	if got := t1.Fields.ForName("total").Type.String(); got != "bigint" {
		t.Errorf("t1.total: %s", got)
	}
	cmp := s.AST.Types["String_comparison_exp"]
	for _, op := range []string{"_eq", "_ilike", "_in", "_is_null", "_niregex", "_similar"} {
		if cmp == nil || cmp.Fields.ForName(op) == nil {
			t.Errorf("String_comparison_exp lacks %s", op)
		}
	}
	if jb := s.AST.Types["jsonb_comparison_exp"]; jb == nil || jb.Fields.ForName("_has_keys_any") == nil || jb.Fields.ForName("_like") != nil {
		t.Errorf("jsonb_comparison_exp: %v", jb)
	}
	if agg := s.AST.Types["t1_sum_fields"]; agg == nil || agg.Fields.ForName("name") != nil || agg.Fields.ForName("total") == nil {
		t.Errorf("t1_sum_fields should hold the numeric columns only: %v", agg)
	}
	// Fields are sorted by name, as Hasura lists them.
	for i := 1; i < len(t1.Fields); i++ {
		if t1.Fields[i-1].Name > t1.Fields[i].Name {
			t.Errorf("t1 fields out of order: %s before %s", t1.Fields[i-1].Name, t1.Fields[i].Name)
		}
	}
}

func TestRoleSeesItsPermissionsOnly(t *testing.T) {
	s := build([]*Source{library(4)}, nil, "user", false)
	if s.AST.Query.Fields.ForName("t1") != nil || s.AST.Query.Fields.ForName("t0") == nil {
		t.Error("user must see the even tables only")
	}
	if s.AST.Query.Fields.ForName("t0_aggregate") != nil {
		t.Error("no aggregates without allow_aggregations")
	}
	t0 := s.AST.Types["t0"]
	if t0.Fields.ForName("total") != nil || t0.Fields.ForName("children") != nil {
		t.Errorf("t0 shows columns or relationships outside the permission: %v", t0.Fields)
	}
	if f := s.Field("t0", "name"); f == nil || f.Kind != ColumnField || f.Table.Filter == nil {
		t.Errorf("t0.name meaning: %+v", f)
	}
	none := build([]*Source{library(2)}, nil, "nobody", false)
	if none.AST.Query.Fields.ForName("no_queries_available") == nil {
		t.Error("a role with nothing gets Hasura's placeholder field")
	}
}

// TestThousandTables builds the schema of 1,000 tables and reports how
// long it takes and what it holds; the bounds are generous, the numbers
// are printed for the README.
func TestThousandTables(t *testing.T) {
	src := library(1000)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	m := &Model{Sources: []*Source{src}, roles: map[roleKey]*Schema{}}
	admin := m.Role("admin", false)
	user := m.Role("user", false)
	elapsed := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("1000 tables: admin + user schemas built in %v, %d types, heap held %.1f MiB", elapsed, len(admin.AST.Types), float64(held)/(1<<20))
	if len(admin.AST.Query.Fields) != 3000 || len(user.AST.Query.Fields) != 1000 {
		t.Errorf("root fields: admin %d, user %d", len(admin.AST.Query.Fields), len(user.AST.Query.Fields))
	}
	if elapsed > 20*time.Second {
		t.Errorf("building took %v", elapsed)
	}
	runtime.KeepAlive(m)
}
