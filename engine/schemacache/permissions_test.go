package schemacache

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/catalog"
)

// typedFixture is fixture() with column types: author(id int4 pk, name
// text), article(id int4 pk, author_id int4 -> author.id, published_on
// date, meta json).
func typedFixture() *catalog.Catalog {
	cat := fixture()
	types := map[string]string{"id": "int4", "author_id": "int4", "name": "text", "published_on": "date", "meta": "json"}
	for _, t := range cat.Tables {
		if t.Name.Name == "article" {
			t.Columns = append(t.Columns, &catalog.Column{Name: "meta"})
		}
		for _, c := range t.Columns {
			c.TypeName = catalog.QualifiedName{Schema: "pg_catalog", Name: types[c.Name]}
		}
		t.PrimaryKey = &catalog.Constraint{Name: t.Name.Name + "_pkey", Columns: []string{"id"}}
	}
	return cat
}

const relationships = `[{"table":"author"},{"table":"article","object_relationships":[{"name":"author","using":{"foreign_key_constraint_on":"author_id"}}]}]`

// withPermission is the two tables, article having one permission.
func withPermission(kind, role, perm string) string {
	return strings.Replace(relationships, `"object_relationships"`, fmt.Sprintf(`"%s_permissions":[{"role":%q,"permission":%s}],"object_relationships"`, kind, role, perm), 1)
}

func TestPermissionChecks(t *testing.T) {
	for _, tc := range []struct {
		kind, role, perm string
		want             string // the reason after the table and role, "" when consistent
	}{
		{"select", "user", `{"columns":"*","filter":{"author":{"name":{"_ilike":"X-Hasura-Name"}}}}`, ""},
		{"select", "admin", `{"columns":"*","filter":{}}`, "cannot define permission for admin role"},
		{"select", "user", `{"columns":["id"],"filter":{"meta":{"_eq":"{}"}}}`, "JSON column can not be part of boolean expression"},
		{"select", "user", `{"columns":["id"],"filter":{"author":{"_exists":{"_table":"author","_where":{"id":{"_ceq":["$","author_id"]}}}}}}`, ""},
		{"select", "user", `{"columns":["id"],"filter":{"id":{"_ceq":["author","id"]}}}`, "Relationship references are not supported in column comparison RHS"},
		{"select", "user", `{"columns":["id"],"filter":{"id":{"_cast":{"text":{"_eq":"1"}}}}}`, `cannot cast column of type "integer" to type "text"`},
		{"select", "user", `{"columns":["id"],"filter":{"_and":{"id":1}}}`, "parsing [] failed, expected Array, but encountered Object"},
		{"select", "user", `{"columns":["id"],"filter":{},"limit":-1}`, "unexpected negative value"},
		{"select", "user", `{"columns":["id"],"filter":{},"query_root_fields":["select_by_pk"]}`, ""},
		{"insert", "user", `{"check":{},"set":{"id":true}}`, "parsing Integer expected for input type: PGInteger failed, expected Number, but encountered Boolean"},
		{"update", "user", `{"columns":["id"],"filter":{},"set":{"author":1}}`,
			`expecting a database column; but, "author" is a relationship; column "author" not found in table "article"`},
		{"delete", "user", `{"filter":{"published_on":{"_contains":"x"}}}`, ` is of type "date"; this operator works only on columns of type an array or JSONB`},
	} {
		src := source(t, withPermission(tc.kind, tc.role, tc.perm))
		var got []string
		for _, o := range Check(src, typedFixture()) {
			got = append(got, o.Type+"|"+o.Name+"|"+o.Reason)
		}
		var want []string
		if tc.want != "" {
			want = []string{fmt.Sprintf(`%s_permission|%s_permission %s in table article in source default|Inconsistent object: in table "article": in permission for role %q: %s`,
				tc.kind, tc.kind, tc.role, tc.role, tc.want)}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s %s:\n got %q\nwant %q", tc.kind, tc.perm, got, want)
		}
	}
}

func TestPermissionsFollowTheirRelationships(t *testing.T) {
	// author is not tracked: the relationship is inconsistent, so it is no
	// field of article, and the permission using it names nothing.
	src := source(t, `[{"table":"article","object_relationships":[{"name":"author","using":{"foreign_key_constraint_on":"author_id"}}],
	  "select_permissions":[{"role":"user","permission":{"columns":"*","filter":{"author":{"id":{"_eq":1}}}}}]}]`)
	var got []string
	for _, o := range Check(src, typedFixture()) {
		got = append(got, o.Name+"|"+o.Reason)
	}
	want := []string{
		`object_relation author in table article in source default|Inconsistent object: table "author" is not tracked`,
		`select_permission user in table article in source default|Inconsistent object: in table "article": in permission for role "user": "author" does not exist`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	served := WithoutInconsistentPermissions(src, Check(src, typedFixture()))
	if len(served.Tables[0].SelectPermissions) != 0 || len(src.Tables[0].SelectPermissions) != 1 {
		t.Errorf("the served copy drops the permission, the metadata keeps it")
	}
}

func TestPermissionDependencies(t *testing.T) {
	src := source(t, withPermission("select", "user",
		`{"columns":["id"],"filter":{"_or":[{"author":{"name":{"_eq":"x"}}},{"author_id":"X-Hasura-User-Id"},{"_exists":{"_table":"author","_where":{}}}]}}`))
	deps := PermissionDependencies(src, typedFixture())
	if len(deps) != 1 {
		t.Fatalf("permissions: %+v", deps)
	}
	var got []string
	for _, d := range deps[0].Deps {
		got = append(got, fmt.Sprintf("%s %d %s %t", DisplayName(d.Table), d.Kind, d.Name, d.OnType))
	}
	want := []string{
		"author 1 name true",        // compared to a static value
		"article 2 author true",     // the relationship
		"article 1 author_id false", // compared to a session variable
		"author 0  false",           // _exists
		"article 1 id false",        // the columns
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
