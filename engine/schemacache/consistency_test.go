package schemacache

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

func TestFKOnForms(t *testing.T) {
	art := &metadata.QualifiedName{Schema: "public", Name: "article"}
	for in, want := range map[string]FKOn{
		`"author_id"`:                               {Columns: []string{"author_id"}},
		`["a1","a2"]`:                               {Columns: []string{"a1", "a2"}},
		`{"column":"author_id"}`:                    {Columns: []string{"author_id"}},
		`{"columns":["a1","a2"]}`:                   {Columns: []string{"a1", "a2"}},
		`{"table":"article","column":"author_id"}`:  {Table: art, Columns: []string{"author_id"}},
		`{"table":"article","columns":"author_id"}`: {Table: art, Columns: []string{"author_id"}},
		`{"table":{"schema":"public","name":"article"},"columns":["x"]}`: {Table: art, Columns: []string{"x"}},
	} {
		var got FKOn
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", in, got, want)
		}
	}
	for _, bad := range []string{`5`, `{}`, `{"table":"t"}`, `{"column":5}`} {
		var f FKOn
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("%s: want an error, got %+v", bad, f)
		}
	}
}

// A catalog of author(id, name) and article(id, author_id -> author.id, published_on).
func fixture() *catalog.Catalog {
	q := func(n string) catalog.QualifiedName { return catalog.QualifiedName{Schema: "public", Name: n} }
	col := func(n string) *catalog.Column { return &catalog.Column{Name: n} }
	return &catalog.Catalog{Tables: map[catalog.QualifiedName]*catalog.Table{
		q("author"): {Name: q("author"), Columns: []*catalog.Column{col("id"), col("name")}},
		q("article"): {Name: q("article"), Columns: []*catalog.Column{col("id"), col("author_id"), col("published_on")},
			ForeignKeys: []*catalog.ForeignKey{{Name: "article_author_id_fkey", Columns: []string{"author_id"}, RefTable: q("author"), RefColumns: []string{"id"}}}},
	}}
}

func source(t *testing.T, doc string) *metadata.Source {
	t.Helper()
	md, err := metadata.Parse([]byte(`{"version":3,"sources":[{"name":"default","tables":` + doc + `}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return md.Sources[0]
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, tables string
		want         []string // "type|name|reason"
	}{
		{"consistent", `[{"table":"author","array_relationships":[{"name":"articles","using":{"foreign_key_constraint_on":{"table":"article","column":"author_id"}}}]},
		  {"table":"article","object_relationships":[{"name":"author","using":{"foreign_key_constraint_on":"author_id"}},
		   {"name":"writer","using":{"manual_configuration":{"remote_table":"author","column_mapping":{"author_id":"id"}}}}]}]`, nil},
		{"missing table hides its objects", `[{"table":"nope","object_relationships":[{"name":"x","using":{"foreign_key_constraint_on":"y"}}]}]`,
			[]string{`table|table nope in source default|Inconsistent object: no such table/view exists in source: "nope"`}},
		{"no foreign key on the column", `[{"table":"author"},{"table":"article","object_relationships":[{"name":"author","using":{"foreign_key_constraint_on":"published_on"}}]}]`,
			[]string{`object_relation|object_relation author in table article in source default|Inconsistent object: in table "article": in relationship "author": no foreign constraint exists on the given column(s)`}},
		{"target not tracked", `[{"table":"article","object_relationships":[{"name":"author","using":{"foreign_key_constraint_on":"author_id"}}]}]`,
			[]string{`object_relation|object_relation author in table article in source default|Inconsistent object: table "author" is not tracked`}},
		{"array relationship to an untracked table", `[{"table":"author","array_relationships":[{"name":"articles","using":{"foreign_key_constraint_on":{"table":"article","column":"author_id"}}}]}]`,
			[]string{`array_relation|array_relation articles in table author in source default|Inconsistent object: table "article" is not tracked`}},
		{"manual mapping to a missing column", `[{"table":"author"},{"table":"article","object_relationships":[{"name":"w","using":{"manual_configuration":{"remote_table":"author","column_mapping":{"author_id":"nope"}}}}]}]`,
			[]string{`object_relation|object_relation w in table article in source default|Inconsistent object: in table "article": in relationship "w": column "nope" does not exist in table "author"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, o := range Check(source(t, tc.tables), fixture()) {
				got = append(got, o.Type+"|"+o.Name+"|"+o.Reason)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
