package schema

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// withInheritedRoles is md with inherited_roles set from role -> parents
// pairs, in order.
func withInheritedRoles(md *metadata.Metadata, pairs ...any) *metadata.Metadata {
	var roles []inheritedRole
	for i := 0; i+1 < len(pairs); i += 2 {
		roles = append(roles, inheritedRole{Name: pairs[i].(string), RoleSet: pairs[i+1].([]string)})
	}
	md.InheritedRoles, _ = json.Marshal(roles)
	return md
}

// Hasura's test_throw_error_when_roles_form_a_cycle: the cycle is printed
// from its least role along parent edges, closed.
func TestCheckInheritedRolesRefusesCycles(t *testing.T) {
	md := withInheritedRoles(&metadata.Metadata{},
		"manager_employee", []string{"manager", "employee"},
		"intermediate_circular_role_1", []string{"manager_employee", "circular_role"},
		"intermediate_circular_role_2", []string{"intermediate_circular_role_1", "employee"},
		"circular_role", []string{"intermediate_circular_role_2", "author"},
	)
	err := CheckInheritedRoles(md)
	if err == nil {
		t.Fatal("a cycle passed")
	}
	want := `found cycle(s) in roles: ["circular_role","intermediate_circular_role_2","intermediate_circular_role_1","circular_role"]`
	if err.Message != want || err.Code != "cyclic-dependency" || err.Status != 400 {
		t.Errorf("got %d %s %q\nwant 400 cyclic-dependency %q", err.Status, err.Code, err.Message, want)
	}
	if err := CheckInheritedRoles(withInheritedRoles(&metadata.Metadata{}, "a", []string{"b", "c"}, "d", []string{"a", "b"})); err != nil {
		t.Errorf("no cycle, yet: %v", err)
	}
}

func TestMissingParentRoles(t *testing.T) {
	src := library(2)
	md := withInheritedRoles(&metadata.Metadata{Sources: []*metadata.Source{src.Metadata}},
		"ok", []string{"user", "other"},
		"other", []string{"user"},
		"bad", []string{"user", "ghost", "phantom", "ghost"},
	)
	if got := MissingParentRoles(md, "ok"); got != "" {
		t.Errorf("ok: %q", got)
	}
	want := `the following parent role(s) are not found: ghost, phantom which are required to construct the inherited role: "bad"`
	if got := MissingParentRoles(md, "bad"); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Should such a role be stored (allow_inconsistent_metadata), it is an
	// inconsistent object and, as in Hasura, inherits nothing, not even
	// from the parents it has; a consistent role is unaffected.
	in := newInheritance(md)
	if s := build([]*Source{src}, in, "bad", false); s.AST.Query.Fields.ForName("t0") != nil {
		t.Error("bad, inconsistent, inherited t0 from user")
	}
	if s := build([]*Source{src}, in, "ok", false); s.AST.Query.Fields.ForName("t0") == nil {
		t.Error("ok did not inherit t0 from user")
	}
}

// Roles caught in a stored cycle inherit nothing (and never loop).
func TestCyclicRolesInheritNothing(t *testing.T) {
	src := library(2)
	md := withInheritedRoles(&metadata.Metadata{Sources: []*metadata.Source{src.Metadata}},
		"x", []string{"user", "y"}, "y", []string{"x"}, "z", []string{"user"})
	in := newInheritance(md)
	if s := build([]*Source{src}, in, "x", false); s.AST.Query.Fields.ForName("t0") != nil {
		t.Error("a role in a cycle inherited t0")
	}
	if s := build([]*Source{src}, in, "z", false); s.AST.Query.Fields.ForName("t0") == nil {
		t.Error("z did not inherit t0")
	}
}

func TestPermissionKeys(t *testing.T) {
	src := library(1)
	cat := src.Catalog.Tables[catalog.QualifiedName{Schema: "public", Name: "t0"}]
	del := func(filter string) string {
		return deleteKey(&metadata.DeletePermission{Filter: json.RawMessage(filter)})
	}
	same := [][2]string{
		{`{"id":"X-Hasura-User-Id"}`, `{"id":{"_eq":"x-hasura-user-id"}}`},
		{`{"id":{"$eq":1},"name":{"_like":"a%"}}`, `{"name":{"_like":"a%"},"id":{"_eq":1}}`},
		{`{"_or":[{"id":{"_eq":1}},{"id":{"_eq":2}}]}`, `{"_or":[{"id":{"_eq":2}},{"id":{"_eq":1}},{"id":{"_eq":2}}]}`},
		{`{"parent":{"id":"X-Hasura-User-Id"}}`, `{"parent":{"id":{"_eq":"X-HASURA-USER-ID"}}}`},
		{``, `{}`},
	}
	for _, c := range same {
		if del(c[0]) != del(c[1]) {
			t.Errorf("%s and %s differ: %s vs %s", c[0], c[1], del(c[0]), del(c[1]))
		}
	}
	differ := [][2]string{
		{`{"id":{"_eq":1}}`, `{"id":{"_eq":2}}`},
		{`{"id":{"_eq":1},"name":{"_eq":"a"}}`, `{"_and":[{"id":{"_eq":1}},{"name":{"_eq":"a"}}]}`}, // as Hasura: no flattening
		{`{"id":{"_gt":1}}`, `{"id":{"_gte":1}}`},
	}
	for _, c := range differ {
		if del(c[0]) == del(c[1]) {
			t.Errorf("%s and %s are the same: %s", c[0], c[1], del(c[0]))
		}
	}
	// Columns are a set; "*" is every column.
	ins := func(cols string, backendOnly bool) string {
		return insertKey(&metadata.InsertPermission{Columns: json.RawMessage(cols), BackendOnly: backendOnly}, cat)
	}
	if ins(`"*"`, false) != ins(`["parent_id","doc","total","name","id"]`, false) {
		t.Error(`"*" differs from every column`)
	}
	if ins(`["id","name"]`, false) == ins(`["id"]`, false) || ins(`["id"]`, false) == ins(`["id"]`, true) {
		t.Error("different insert permissions are the same")
	}
	upd := func(check string) string {
		return updateKey(&metadata.UpdatePermission{Filter: json.RawMessage(`{}`), Check: json.RawMessage(check)}, cat)
	}
	if upd(``) == upd(`{}`) {
		t.Error("an update without check is the same as one with an empty check")
	}
}

// snapshotOf is a snapshot of one in-memory source.
func snapshotOf(src *Source, md *metadata.Metadata) *schemacache.Snapshot {
	return &schemacache.Snapshot{Metadata: md, Sources: map[string]*schemacache.Source{src.Name: {Metadata: src.Metadata, Catalog: src.Catalog}}}
}

func TestConflicts(t *testing.T) {
	src := library(1)
	t0 := src.Metadata.Tables[0]
	upd := func(role, filter string) *metadata.Permission[metadata.UpdatePermission] {
		return &metadata.Permission[metadata.UpdatePermission]{Role: role, Permission: metadata.UpdatePermission{Columns: json.RawMessage(`["name"]`), Filter: json.RawMessage(filter)}}
	}
	t0.UpdatePermissions = []*metadata.Permission[metadata.UpdatePermission]{upd("author", `{"id":"X-Hasura-User-Id"}`), upd("editor", `{"parent_id":"X-Hasura-User-Id"}`), upd("twin", `{"id":{"_eq":"X-Hasura-User-Id"}}`)}
	t0.DeletePermissions = []*metadata.Permission[metadata.DeletePermission]{{Role: "author", Permission: metadata.DeletePermission{Filter: json.RawMessage(`{}`)}}}
	md := withInheritedRoles(&metadata.Metadata{Sources: []*metadata.Source{src.Metadata}},
		"author_editor", []string{"author", "editor"},
		"author_twin", []string{"author", "twin"},
		"nested", []string{"author_editor", "user"},
	)
	got := Conflicts(snapshotOf(src, md))
	want := []Conflict{{Role: "author_editor", Source: "default", Table: t0.Table, Kind: "update"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	b, _ := json.Marshal(got[0])
	wantJSON := `{"entity":{"permission_type":"update","source":"default","table":"t0"},"name":"author_editor","reason":"Could not inherit permission for the role 'author_editor' for the entity: 'update permission, table: t0, source: 'default''","type":"inherited role permission inconsistency"}`
	if string(b) != wantJSON {
		t.Errorf("got  %s\nwant %s", b, wantJSON)
	}
	// The inherited role's own permission settles it.
	t0.UpdatePermissions = append(t0.UpdatePermissions, upd("author_editor", `{}`))
	if got := Conflicts(snapshotOf(src, md)); len(got) != 0 {
		t.Errorf("conflicts left: %+v", got)
	}
}

// Select permissions combine as Hasura's CombinedSelPermInfo: union of
// columns, redaction where a parent lacks a column, OR of filters,
// largest limit, any aggregation, union of root field lists.
func TestCombineSelectPerms(t *testing.T) {
	src := library(1)
	t0 := src.Metadata.Tables[0]
	limit := func(n int64) *int64 { return &n }
	t0.SelectPermissions = []*metadata.Permission[metadata.SelectPermission]{
		{Role: "a", Permission: metadata.SelectPermission{Columns: json.RawMessage(`["id","name"]`), Filter: json.RawMessage(`{"id":{"_eq":1}}`), Limit: limit(2), QueryRootFields: []string{"select"}}},
		{Role: "b", Permission: metadata.SelectPermission{Columns: json.RawMessage(`["id","total"]`), Filter: json.RawMessage(`{"id":{"_eq":2}}`), Limit: limit(5), AllowAggregations: true, QueryRootFields: []string{"select_by_pk"}}},
		{Role: "c", Permission: metadata.SelectPermission{Columns: json.RawMessage(`["id"]`), Filter: json.RawMessage(`{}`)}},
	}
	md := withInheritedRoles(&metadata.Metadata{Sources: []*metadata.Source{src.Metadata}}, "ab", []string{"a", "b"}, "abc", []string{"ab", "c"})
	in := newInheritance(md)
	s := build([]*Source{src}, in, "ab", false)
	tbl := s.Fields["query_root"]["t0"].Table
	filterA, filterB := map[string]any{"id": map[string]any{"_eq": json.Number("1")}}, map[string]any{"id": map[string]any{"_eq": json.Number("2")}}
	if want := map[string]any{"_or": []any{filterA, filterB}}; !reflect.DeepEqual(tbl.Filter, want) {
		t.Errorf("filter %v, want %v", tbl.Filter, want)
	}
	if tbl.Limit == nil || *tbl.Limit != 5 || !tbl.AllowAggregations {
		t.Errorf("limit %v, aggregations %v", tbl.Limit, tbl.AllowAggregations)
	}
	redact := map[string]any{}
	for _, c := range tbl.Columns {
		redact[c.Name] = c.Redact
	}
	if want := map[string]any{"id": nil, "name": filterA, "total": filterB}; !reflect.DeepEqual(redact, want) {
		t.Errorf("redaction %v, want %v", redact, want)
	}
	if s.Fields["query_root"]["t0_by_pk"] == nil || s.Fields["query_root"]["t0_aggregate"] != nil {
		t.Error("root fields are not the union of the lists")
	}
	// abc: c sees every row, so the filter is gone; ab's redaction of
	// name carries on, ANDed with ab's filter.
	s = build([]*Source{src}, in, "abc", false)
	tbl = s.Fields["query_root"]["t0"].Table
	if tbl.Filter != nil {
		t.Errorf("abc's filter: %v", tbl.Filter)
	}
	abFilter := map[string]any{"_or": []any{filterA, filterB}}
	for _, c := range tbl.Columns {
		var want any
		switch c.Name {
		case "name":
			want = map[string]any{"_and": []any{filterA, abFilter}}
		case "total":
			want = map[string]any{"_and": []any{filterB, abFilter}}
		case "id": // every parent has it, unredacted
		}
		if !reflect.DeepEqual(c.Redact, want) {
			t.Errorf("abc's %s: %v, want %v", c.Name, c.Redact, want)
		}
	}
	if s.Fields["query_root"]["t0_aggregate"] == nil {
		t.Error("abc: c gives every root field")
	}
}
