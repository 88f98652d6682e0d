package bench

// The GraphQL write path, side by side with its ceiling, as graphql_test.go
// does for reads: for each mutation, "engine" is a POST /v1/graphql to an
// in-process engine and "raw" is the statement the engine compiles that
// mutation to, sent straight through a pgx pool on the same database (no
// HTTP, no GraphQL), its JSON column spliced into {"data":...}. The
// ratio engine/raw is reported on the raw line: the engine's req/s over
// raw's, at the same concurrency in the same run (1 would be no overhead
// at all); the absolute numbers depend on the machine.
//
// The raw SQL is written out by hand below, in the shape
// engine/graphql/mutation.go generates for an insert that nests nothing
// and returns only columns (its fast path: one statement, no explicit
// transaction): the INSERT in a CTE RETURNING its rows, and one SELECT
// over it building the field's JSON, with the affected count and the rows
// as text beside it; $1 the session, every value a $2.. text parameter
// cast to the column type. setupMutation checks that every raw statement
// answers what the engine answers, ids aside (each insert takes new
// ones), so the two cannot drift apart silently when the compiler
// changes.
//
// Every request inserts new values, as real writes do. The engine's plan
// cache is keyed by the variables' shape, so one plan serves them all.
//
// "baseline=http+raw" is raw behind a bare HTTP handler that reads the
// same request body (graphql_test.go's rawServer): the engine's ratio to
// it is what the engine adds to serving HTTP at all.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// itemSQL is the one table the mutations write to; it starts empty and
// grows by what both sides insert.
const itemSQL = `CREATE TABLE item (id bigserial PRIMARY KEY, title text NOT NULL, n int NOT NULL);`

const itemTrackSQL = `{"type":"bulk","args":[
  {"type":"pg_track_table","args":{"source":"default","table":"item"}}
]}`

// item is one inserted row. Its title is "item <number>", so it needs
// no escaping in JSON.
type item struct {
	title string
	n     int
}

func randomItems(k int) []item {
	items := make([]item, k)
	for i := range items {
		items[i] = item{title: "item " + strconv.Itoa(rand.IntN(1_000_000_000)), n: rand.IntN(1_000_000)}
	}
	return items
}

// gqlMutation is one benchmarked mutation and its hand-written SQL twin.
type gqlMutation struct {
	name  string
	gql   string
	field string // the root field: raw writes {"data":{field: column}}
	// rows is how many objects one request inserts. One goes as the
	// variables $t and $n, more as one variable $objs, a list of objects.
	rows int
	sql  string

	once   sync.Once
	prefix []byte // {"query":"..."
	// ok is how both sides' answers start when every row went in:
	// {"data":{field:{"affected_rows" : rows then ", " or "}".
	ok []byte
}

var gqlMutations = []gqlMutation{
	{
		name:  "insert1",
		gql:   `mutation($t: String!, $n: Int!){ insert_item(objects: [{title: $t, n: $n}]){ affected_rows returning{ id } } }`,
		field: "insert_item",
		rows:  1,
		sql:   insertItemSQL(1),
	},
	{
		name:  "insert100",
		gql:   `mutation($objs: [item_insert_input!]!){ insert_item(objects: $objs){ affected_rows } }`,
		field: "insert_item",
		rows:  100,
		sql:   insertItemSQL(100),
	},
}

// insertItemSQL is the engine's statement for rows objects into item;
// with one row the selection also returns the new id.
func insertItemSQL(rows int) string {
	values := make([]string, rows)
	for i := range values {
		values[i] = fmt.Sprintf("($%d::text::text, $%d::text::int4)", 2*i+2, 2*i+3)
	}
	output := `json_build_object('affected_rows', count(*))`
	if rows == 1 {
		output = `json_build_object('affected_rows', count(*), 'returning', ` +
			`(SELECT coalesce(json_agg(json_build_object('id', _1."id")), '[]')` +
			` FROM unnest((SELECT array_agg(_row) FROM _m)) AS _1))`
	}
	return `WITH _m AS (INSERT INTO "public"."item" AS _t ("title", "n") VALUES ` + strings.Join(values, ", ") +
		` RETURNING _t AS _row) SELECT ` + output + `, count(*)::text, NULL::text, NULL::text` +
		` FROM _m, (SELECT $1::text) AS _session`
}

// body is the POST /v1/graphql body inserting items.
func (m *gqlMutation) body(items []item) []byte {
	m.init()
	b := append(make([]byte, 0, len(m.prefix)+40*len(items)+32), m.prefix...)
	if m.rows == 1 {
		b = append(b, `,"variables":{"t":"`...)
		b = append(b, items[0].title...)
		b = append(b, `","n":`...)
		b = strconv.AppendInt(b, int64(items[0].n), 10)
		return append(b, "}}"...)
	}
	b = append(b, `,"variables":{"objs":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"title":"`...)
		b = append(b, it.title...)
		b = append(b, `","n":`...)
		b = strconv.AppendInt(b, int64(it.n), 10)
		b = append(b, '}')
	}
	return append(b, "]}}"...)
}

func (m *gqlMutation) init() {
	m.once.Do(func() {
		gql, _ := json.Marshal(m.gql)
		m.prefix = append([]byte(`{"query":`), gql...)
		next := ", " // returning follows
		if m.rows > 1 {
			next = "}" // the count is the field's only key
		}
		m.ok = fmt.Appendf(nil, `{"data":{"%s":{"affected_rows" : %d%s`, m.field, m.rows, next)
	})
}

// items reads the items back out of the variables of body.
func (m *gqlMutation) items(vars json.RawMessage) ([]item, error) {
	type object struct {
		Title string `json:"title"`
		N     int    `json:"n"`
	}
	var v struct {
		T    string   `json:"t"`
		N    int      `json:"n"`
		Objs []object `json:"objs"`
	}
	if err := json.Unmarshal(vars, &v); err != nil {
		return nil, err
	}
	if m.rows == 1 {
		return []item{{title: v.T, n: v.N}}, nil
	}
	items := make([]item, len(v.Objs))
	for i, o := range v.Objs {
		items[i] = item{title: o.Title, n: o.N}
	}
	return items, nil
}

// raw runs m's SQL through pool, inserting items, and writes
// {"data":{field: value}} to out.
func (m *gqlMutation) raw(ctx context.Context, pool *pgxpool.Pool, items []item, out *bytes.Buffer) error {
	args := make([]any, 0, 1+2*len(items))
	args = append(args, session)
	for _, it := range items {
		args = append(args, it.title, strconv.Itoa(it.n))
	}
	return rawField(ctx, pool, m.sql, args, m.field, out)
}

// check fails an answer, from either side, that did not insert every row.
func (m *gqlMutation) check(out []byte) error {
	m.init()
	if !bytes.HasPrefix(out, m.ok) {
		return fmt.Errorf("%s: not %d rows inserted: %s", m.name, m.rows, out)
	}
	return nil
}

// The table lives in one database per benchmark process, created (and
// tracked, through the engine's own APIs) by the first benchmark that
// needs it, as the GraphQL dataset is; it is dropped with the server when
// the process ends.
var mutationDB struct {
	once sync.Once
	url  string
	err  error
}

func mutationDatabase(b *testing.B) string {
	b.Helper()
	srv := pgtest.Server(b)
	mutationDB.once.Do(func() {
		mutationDB.url, mutationDB.err = setupDatabase(srv.CreateDatabase, "bench_mutation", itemSQL, itemTrackSQL)
	})
	if mutationDB.err != nil {
		b.Fatalf("mutation database: %v", mutationDB.err)
	}
	return mutationDB.url
}

// BenchmarkMutation: for each mutation, at c concurrent clients, the
// engine over HTTP vs the same SQL through pgx, bare and behind a bare
// HTTP handler. Besides ns/op each side reports req/s and the p50/p99
// latency of one request, and the baselines' lines the ratio of the
// engine's req/s to theirs. Every answer, from either side,
// must be a success that inserted every row, or the benchmark fails.
func BenchmarkMutation(b *testing.B) {
	url := mutationDatabase(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.Cleanup(client.CloseIdleConnections)
	pool := rawPool(b, url, config.Default().PGConnections)

	for i := range gqlMutations {
		m := &gqlMutations[i]
		b.Run(m.name, func(b *testing.B) {
			e := enginetest.Start(b, func(c *config.Config) { c.DatabaseURL = url })
			endpoint := e.URL + "/v1/graphql"
			setupMutation(b, client, endpoint, pool, m)
			bare := rawServer(b, func(ctx context.Context, vars json.RawMessage, out *bytes.Buffer) error {
				items, err := m.items(vars)
				if err != nil {
					return err
				}
				return m.raw(ctx, pool, items, out)
			})
			engineLoad, bareLoad := newLoadClient(b, endpoint), newLoadClient(b, bare)
			for _, c := range []int{1, 10, 50} {
				b.Run("c="+strconv.Itoa(c), func(b *testing.B) {
					// The engine's req/s in its last (measured) run, for
					// the ratio on the raw line; 0 if it did not run.
					var engineRate float64
					b.Run("engine", func(b *testing.B) {
						parallel(b, c, func(buf *bytes.Buffer) error {
							if err := engineLoad.post(m.body(randomItems(m.rows)), buf); err != nil {
								return err
							}
							return m.check(buf.Bytes())
						})
						engineRate = rate(b)
					})
					b.Run("raw", func(b *testing.B) {
						ctx := context.Background()
						parallel(b, c, func(buf *bytes.Buffer) error {
							if err := m.raw(ctx, pool, randomItems(m.rows), buf); err != nil {
								return err
							}
							return m.check(buf.Bytes())
						})
						ratio(b, engineRate, "engine/raw")
					})
					b.Run("baseline=http+raw", func(b *testing.B) {
						parallel(b, c, func(buf *bytes.Buffer) error {
							if err := bareLoad.post(m.body(randomItems(m.rows)), buf); err != nil {
								return err
							}
							return m.check(buf.Bytes())
						})
						ratio(b, engineRate, "engine/http+raw")
					})
				})
			}
		})
	}
}

// rate is the req/s of a benchmark parallel has just run.
func rate(b *testing.B) float64 {
	if b.Elapsed() <= 0 {
		return 0
	}
	return float64(b.N) / b.Elapsed().Seconds()
}

// anID is a number in a response's "id" field: the engine and raw answer
// alike but for the ids of the rows they inserted.
var anID = regexp.MustCompile(`"id" : \d+`)

// setupMutation proves the raw SQL is the engine's: the same items
// inserted by both give the same bytes, ids aside.
func setupMutation(b *testing.B, client *http.Client, endpoint string, pool *pgxpool.Pool, m *gqlMutation) {
	b.Helper()
	for range 3 {
		items := randomItems(m.rows)
		var got, want bytes.Buffer
		if err := post(client, endpoint, m.body(items), &got); err != nil {
			b.Fatal(err)
		}
		if err := m.raw(context.Background(), pool, items, &want); err != nil {
			b.Fatalf("raw %s: %v", m.name, err)
		}
		if err := m.check(got.Bytes()); err != nil {
			b.Fatal(err)
		}
		g := anID.ReplaceAll(got.Bytes(), []byte(`"id" : 0`))
		w := anID.ReplaceAll(want.Bytes(), []byte(`"id" : 0`))
		if !bytes.Equal(g, w) {
			b.Fatalf("%s: the raw SQL is not the engine's:\nengine %s\n   raw %s", m.name, got.Bytes(), want.Bytes())
		}
	}
}
