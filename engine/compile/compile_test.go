package compile

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const fixtureSQL = `
create table author (id bigserial primary key, name text not null, bio text, score numeric);
create table article (id serial primary key, title text not null, author_id bigint references author(id), published boolean not null default false, tags jsonb);
insert into author (name, bio, score) values ('Ann', 'writes', 1.5), ('Bob', null, 12345678901234567890), ('Cid', 'o''neil', null);
insert into article (title, author_id, published, tags) values ('A1', 1, true, '{"k":1}'), ('A2', 1, false, null), ('B1', 2, true, '[1,2]');`

const fixtureMetadata = `{"version":3,"sources":[{"name":"default","tables":[
 {"table":"author","array_relationships":[{"name":"articles","using":{"foreign_key_constraint_on":{"table":"article","column":"author_id"}}}]},
 {"table":"article","object_relationships":[{"name":"author","using":{"foreign_key_constraint_on":"author_id"}},
   {"name":"writer","using":{"manual_configuration":{"remote_table":"author","column_mapping":{"author_id":"id"}}}}]}]}]}`

// setup builds the fixture in a fresh database and returns a connection
// and the compiler's schema of it.
func setup(t *testing.T) (*pgx.Conn, *Schema) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, fixtureSQL); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load(ctx, conn, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := metadata.Parse([]byte(fixtureMetadata))
	if err != nil {
		t.Fatal(err)
	}
	return conn, BuildSchema(md.Sources[0], cat)
}

func run(t *testing.T, conn *pgx.Conn, stmt *Statement) string {
	t.Helper()
	var out json.RawMessage
	if err := conn.QueryRow(context.Background(), stmt.SQL, stmt.Params...).Scan(&out); err != nil {
		t.Fatalf("%v\nSQL: %s", err, stmt.SQL)
	}
	return string(out)
}

func TestV1Select(t *testing.T) {
	conn, s := setup(t)
	for _, tc := range []struct{ name, args, want string }{
		{"columns and stringified big numbers", `{"table":"author","columns":["id","name","score"],"order_by":["id"]}`,
			`[{"id" : "1", "name" : "Ann", "score" : "1.5"}, {"id" : "2", "name" : "Bob", "score" : "12345678901234567890"}, {"id" : "3", "name" : "Cid", "score" : null}]`},
		{"implicit equality and $-operators", `{"table":"author","columns":["name"],"where":{"$and":[{"bio":{"$is_null":false}},{"name":{"$nin":["Bob"]}}]},"order_by":"-name"}`,
			`[{"name" : "Cid"}, {"name" : "Ann"}]`},
		{"_-operators, like, quoting", `{"table":"author","columns":["name"],"where":{"bio":{"_like":"o'%"}}}`, `[{"name" : "Cid"}]`},
		{"relationship filter and nested object", `{"table":"article","columns":["title",{"name":"author","columns":["name"]}],"where":{"author":{"name":{"_eq":"Ann"}},"published":true}}`,
			`[{"title" : "A1", "author" : {"name" : "Ann"}}]`},
		{"nested array with its own where, order and limit", `{"table":"author","columns":["name",{"name":"articles","columns":["title"],"where":{"published":false},"order_by":[{"column":"title","type":"desc"}],"limit":1}],"where":{"id":1}}`,
			`[{"name" : "Ann", "articles" : [{"title" : "A2"}]}]`},
		{"manual relationship with alias", `{"table":"article","columns":["title",{"name":"writer","alias":"by","columns":["name"]}],"where":{"id":{"$eq":3}}}`,
			`[{"title" : "B1", "by" : {"name" : "Bob"}}]`},
		{"or, not, in, limit/offset", `{"table":"article","columns":["title"],"where":{"_or":[{"_not":{"published":true}},{"title":{"_in":["B1"]}}]},"order_by":["title"],"limit":5,"offset":1}`,
			`[{"title" : "B1"}]`},
		{"jsonb equality", `{"table":"article","columns":["title"],"where":{"tags":{"_eq":{"k":1}}}}`, `[{"title" : "A1"}]`},
		{"no rows", `{"table":"article","columns":["*"],"where":{"title":"none"}}`, `[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stmt, err := V1Select(s, json.RawMessage(tc.args))
			if err != nil {
				t.Fatal(err)
			}
			if got := run(t, conn, stmt); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestV1Count(t *testing.T) {
	conn, s := setup(t)
	for args, want := range map[string]string{
		`{"table":"article"}`:                                         `{"count" : 3}`,
		`{"table":"article","where":{"published":true}}`:              `{"count" : 2}`,
		`{"table":"article","distinct":["author_id"]}`:                `{"count" : 2}`,
		`{"table":"author","where":{"articles":{"published":false}}}`: `{"count" : 1}`,
	} {
		stmt, err := V1Count(s, json.RawMessage(args))
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, conn, stmt); got != want {
			t.Errorf("%s: got %s, want %s", args, got, want)
		}
	}
}

// Equal expressions compile to equal SQL whatever their key order, so
// they share one prepared statement.
func TestSameExpressionSameSQL(t *testing.T) {
	_, s := setup(t)
	a, err := V1Select(s, json.RawMessage(`{"table":"author","columns":["id"],"where":{"name":{"_eq":"x"},"id":{"_gt":1,"_lt":9}}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := V1Select(s, json.RawMessage(`{"table":"author","columns":["id"],"where":{"id":{"_lt":9,"_gt":1},"name":{"_eq":"x"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.SQL != b.SQL {
		t.Errorf("different SQL:\n%s\n%s", a.SQL, b.SQL)
	}
}

func TestErrorsSayWhere(t *testing.T) {
	_, s := setup(t)
	for _, tc := range []struct{ args, path, code string }{
		{`{"table":"nope","columns":["id"]}`, "$.args.table", "not-exists"},
		{`{"table":"author","columns":["id","age"]}`, "$.args.columns[1]", "permission-denied"},
		{`{"table":"author","columns":["id"],"where":{"age":1}}`, "$.args.where.age", "permission-denied"},
		{`{"table":"author","columns":["id"],"where":{"id":{"_near":1}}}`, "$.args.where.id._near", "parse-failed"},
		{`{"table":"author","columns":["id"],"where":{"_and":5}}`, "$.args.where._and", "parse-failed"},
		{`{"table":"author","columns":["id"],"order_by":[{"column":"id","type":"up"}]}`, "$.args.order_by[0].type", "parse-failed"},
		{`{"table":"author","columns":[{"name":"articles","columns":["nope"]}]}`, "$.args.columns[0].columns[0]", "permission-denied"},
	} {
		_, err := V1Select(s, json.RawMessage(tc.args))
		var e *apierr.Error
		if !errors.As(err, &e) || e.Path != tc.path || e.Code != tc.code || e.Status != 400 {
			t.Errorf("%s: got %+v, want %s at %s", tc.args, err, tc.code, tc.path)
		}
	}
}

// Any where clause either compiles or fails with a 400 in Hasura's shape;
// compiled SQL never panics the compiler.
func FuzzBoolExp(f *testing.F) {
	f.Add(`{"_and":[{"id":{"_gt":1}},{"articles":{"title":{"_like":"%"}}}]}`)
	f.Add(`{"$or":[{"name":"x"},{"_not":{"bio":{"_is_null":true}}}]}`)
	f.Add(`{"id":{"_in":[1,"2",null]}}`)
	tbl := &Table{Name: metadata.QualifiedName{Schema: "public", Name: "t"}, Catalog: &catalog.Table{Columns: []*catalog.Column{{Name: "id", Type: "integer"}, {Name: "name", Type: "text"}, {Name: "bio", Type: "text"}}}, Rels: map[string]*Relationship{}}
	tbl.Rels["articles"] = &Relationship{Name: "articles", Array: true, Remote: tbl, On: [][2]string{{"id", "id"}}}
	f.Fuzz(func(t *testing.T, where string) {
		q := &query{}
		_, err := q.boolExp(tbl, q.alias(), json.RawMessage(where), "$.where")
		var e *apierr.Error
		if err != nil && (!errors.As(err, &e) || e.Status != 400) {
			t.Fatalf("%q: %v", where, err)
		}
	})
}

func TestV1UpdateAndDelete(t *testing.T) {
	conn, s := setup(t)
	for _, tc := range []struct {
		compile    func(*Schema, json.RawMessage) (*Statement, error)
		args, want string
	}{
		{V1Update, `{"table":"author","$set":{"bio":"new"},"$inc":{"score":1},"where":{"id":1},"returning":["id","bio","score"]}`,
			`{"affected_rows" : 1, "returning" : [{"id" : "1", "bio" : "new", "score" : "2.5"}]}`},
		{V1Update, `{"table":"article","$default":["published"],"where":{"published":true}}`, `{"affected_rows" : 2}`},
		{V1Update, `{"table":"author","_mul":{"score":2},"where":{"name":{"_in":["Ann"]}},"returning":["name","score"]}`,
			`{"affected_rows" : 1, "returning" : [{"name" : "Ann", "score" : "5.0"}]}`},
		{V1Delete, `{"table":"article","where":{"author":{"name":"Bob"}},"returning":["title"]}`,
			`{"affected_rows" : 1, "returning" : [{"title" : "B1"}]}`},
	} {
		stmt, err := tc.compile(s, json.RawMessage(tc.args))
		if err != nil {
			t.Fatalf("%s: %v", tc.args, err)
		}
		if got := run(t, conn, stmt); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.args, got, tc.want)
		}
	}
	for _, tc := range []struct{ args, path string }{
		{`{"table":"author","$set":{"bio":"x"}}`, "$"},
		{`{"table":"author","$set":{"age":1},"where":{}}`, "$.args.$set.age"},
		{`{"table":"author","where":{}}`, "$.args"},
	} {
		_, err := V1Update(s, json.RawMessage(tc.args))
		var e *apierr.Error
		if !errors.As(err, &e) || e.Path != tc.path || e.Status != 400 {
			t.Errorf("%s: got %v, want an error at %s", tc.args, err, tc.path)
		}
	}
}

func TestNumericText(t *testing.T) {
	for in, want := range map[string]string{"1.1": "1.1000", "3": "3", "2.5555": "2.5555", "2.55555": "2.55555000", "-0.5": "-0.5000", "1e-3": "1e-3"} {
		if got := NumericText(in); got != want {
			t.Errorf("NumericText(%s) = %s, want %s", in, got, want)
		}
	}
}
