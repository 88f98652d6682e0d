package bench

// The GraphQL read path, side by side with its ceiling: for each query,
// "engine" is a POST /v1/graphql to an in-process engine and "raw" is the
// same SQL the engine compiles that query to, sent straight through a pgx
// pool on the same database (no HTTP, no GraphQL), its one JSON column
// spliced into {"data":...}. "baseline=http+raw" is raw behind a bare
// net/http handler that reads the same request body: what serving HTTP
// at all costs, on a machine where the benchmark's HTTP clients share the
// CPUs with the server. The ratios engine/raw and engine/http+raw are
// the engine's overhead; the absolute numbers depend on the machine. The
// HTTP arms are driven by loadClient (loadclient_test.go), a lean client,
// so that the load generator takes as little of the shared CPUs as it can.
//
// The raw SQL is written out by hand below, in the shape
// engine/graphql/compile.go generates (json_build_object per row,
// json_agg over a sub-select per list, correlated sub-selects for
// relationships, $1 the session, literals and variables as $2.. text
// parameters cast to the column type). setupGraphQL checks that every raw
// statement returns the very bytes the engine answers, so the two cannot
// drift apart silently when the compiler changes.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine"
	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

const (
	nAuthors  = 10_000
	nArticles = 100_000
	nComments = 100_000
)

// datasetSQL builds the data in one run_sql. Every author has 10
// articles, every article one comment; ratings are 1..5 evenly.
var datasetSQL = fmt.Sprintf(`
CREATE TABLE author (id serial PRIMARY KEY, name text);
CREATE TABLE article (id serial PRIMARY KEY, title text, author_id int REFERENCES author, rating int);
CREATE TABLE comment (id serial PRIMARY KEY, article_id int REFERENCES article, body text);
INSERT INTO author (name) SELECT 'author ' || g FROM generate_series(1, %[1]d) g;
INSERT INTO article (title, author_id, rating)
  SELECT 'article ' || g, (g::bigint * 7919) %% %[1]d + 1, (g * 31) %% 5 + 1 FROM generate_series(1, %[2]d) g;
INSERT INTO comment (article_id, body)
  SELECT (g::bigint * 104729) %% %[2]d + 1, 'comment ' || g FROM generate_series(1, %[3]d) g;
CREATE INDEX ON article (author_id);
CREATE INDEX ON comment (article_id);
ANALYZE author; ANALYZE article; ANALYZE comment;`, nAuthors, nArticles, nComments)

const trackSQL = `{"type":"bulk","args":[
  {"type":"pg_track_table","args":{"source":"default","table":"author"}},
  {"type":"pg_track_table","args":{"source":"default","table":"article"}},
  {"type":"pg_track_table","args":{"source":"default","table":"comment"}},
  {"type":"pg_create_array_relationship","args":{"source":"default","table":"author","name":"articles","using":{"foreign_key_constraint_on":{"table":"article","column":"author_id"}}}},
  {"type":"pg_create_object_relationship","args":{"source":"default","table":"article","name":"author","using":{"foreign_key_constraint_on":"author_id"}}},
  {"type":"pg_create_array_relationship","args":{"source":"default","table":"article","name":"comments","using":{"foreign_key_constraint_on":{"table":"comment","column":"article_id"}}}},
  {"type":"pg_create_object_relationship","args":{"source":"default","table":"comment","name":"article","using":{"foreign_key_constraint_on":"article_id"}}}
]}`

// session is what the engine passes as $1 for an admin request.
const session = `{"x-hasura-role":"admin"}`

// gqlQuery is one benchmarked query and its hand-written SQL twin.
type gqlQuery struct {
	name  string
	gql   string
	field string // the root field: raw writes {"data":{field: column}}
	// byID: the query takes $id, a random author id per request.
	byID bool
	sql  string
	// args are the raw statement's parameters after $1 (the session):
	// the engine sends every literal and variable as text.
	args func(id int) []any

	once   sync.Once
	prefix []byte // {"query":"..."
}

var gqlQueries = []gqlQuery{
	{
		name:  "bypk",
		gql:   `query($id:Int!){ author_by_pk(id:$id){ id name } }`,
		field: "author_by_pk",
		byID:  true,
		sql: `SELECT (SELECT json_build_object('id', _1."id", 'name', _1."name")` +
			` FROM "public"."author" AS _1 WHERE _1."id" = $2::text::int4 LIMIT 1)` +
			` FROM (SELECT $1::text) AS _session`,
		args: func(id int) []any { return []any{strconv.Itoa(id)} },
	},
	{
		name:  "list",
		gql:   `query{ article(where:{rating:{_gt:3}}, order_by:{id:desc}, limit:20){ id title rating } }`,
		field: "article",
		sql: `SELECT (SELECT coalesce(json_agg(_2.j), '[]') FROM (` +
			`SELECT json_build_object('id', _1."id", 'title', _1."title", 'rating', _1."rating") AS j` +
			` FROM "public"."article" AS _1 WHERE _1."rating" > $2::text::int4` +
			` ORDER BY _1."id" DESC NULLS FIRST LIMIT 20) AS _2)` +
			` FROM (SELECT $1::text) AS _session`,
		args: func(int) []any { return []any{"3"} },
	},
	{
		name:  "nested3",
		gql:   `query($id:Int!){ author_by_pk(id:$id){ id name articles(limit:5){ id title comments(limit:3){ id body } } } }`,
		field: "author_by_pk",
		byID:  true,
		sql: `SELECT (SELECT json_build_object('id', _1."id", 'name', _1."name", 'articles', ` +
			`(SELECT coalesce(json_agg(_5.j), '[]') FROM (` +
			`SELECT json_build_object('id', _2."id", 'title', _2."title", 'comments', ` +
			`(SELECT coalesce(json_agg(_4.j), '[]') FROM (` +
			`SELECT json_build_object('id', _3."id", 'body', _3."body") AS j` +
			` FROM "public"."comment" AS _3 WHERE _2."id" = _3."article_id" LIMIT 3) AS _4)) AS j` +
			` FROM "public"."article" AS _2 WHERE _1."id" = _2."author_id" LIMIT 5) AS _5))` +
			` FROM "public"."author" AS _1 WHERE _1."id" = $2::text::int4 LIMIT 1)` +
			` FROM (SELECT $1::text) AS _session`,
		args: func(id int) []any { return []any{strconv.Itoa(id)} },
	},
	{
		name:  "aggregate",
		gql:   `query{ article_aggregate(where:{rating:{_gte:2}}){ aggregate{ count avg{ rating } } } }`,
		field: "article_aggregate",
		sql: `SELECT (SELECT json_build_object('aggregate', json_build_object('count', count(*), ` +
			`'avg', json_build_object('rating', avg(_2."rating"))))` +
			` FROM (SELECT _1.* FROM "public"."article" AS _1 WHERE _1."rating" >= $2::text::int4) AS _2)` +
			` FROM (SELECT $1::text) AS _session`,
		args: func(int) []any { return []any{"2"} },
	},
}

// body is the POST /v1/graphql body for q.
func (q *gqlQuery) body(id int) []byte {
	q.once.Do(func() {
		gql, _ := json.Marshal(q.gql)
		q.prefix = append([]byte(`{"query":`), gql...)
	})
	b := append(make([]byte, 0, len(q.prefix)+32), q.prefix...)
	if q.byID {
		b = append(b, `,"variables":{"id":`...)
		b = strconv.AppendInt(b, int64(id), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// raw runs q's SQL through pool and writes {"data":{field: value}} to out.
func (q *gqlQuery) raw(ctx context.Context, pool *pgxpool.Pool, id int, out *bytes.Buffer) error {
	return rawField(ctx, pool, q.sql, append([]any{session}, q.args(id)...), q.field, out)
}

// rawField runs sql through pool and writes {"data":{field: <the first
// column of its row>}} to out, as the engine splices it.
func rawField(ctx context.Context, pool *pgxpool.Pool, sql string, args []any, field string, out *bytes.Buffer) error {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	out.Reset()
	out.WriteString(`{"data":{"`)
	out.WriteString(field)
	out.WriteString(`":`)
	if rows.Next() {
		if v := rows.RawValues()[0]; v != nil {
			out.Write(v)
		} else {
			out.WriteString("null")
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	out.WriteString("}}")
	return nil
}

func randomID() int { return rand.IntN(nAuthors) + 1 }

// The dataset lives in one database per benchmark process, created (and
// its tables tracked, through the engine's own APIs) by the first
// benchmark that needs it; the metadata is stored in the same database, so
// every engine started on it afterwards serves the tracked tables. It is
// dropped with the server when the process ends.
var dataset struct {
	once sync.Once
	url  string
	err  error
}

func graphqlDataset(b *testing.B) string {
	b.Helper()
	srv := pgtest.Server(b)
	dataset.once.Do(func() {
		start := time.Now()
		dataset.url, dataset.err = setupDatabase(srv.CreateDatabase, "bench_graphql", datasetSQL, trackSQL)
		b.Logf("GraphQL dataset (%d authors, %d articles, %d comments) built in %v", nAuthors, nArticles, nComments, time.Since(start).Round(time.Millisecond))
	})
	if dataset.err != nil {
		b.Fatalf("dataset: %v", dataset.err)
	}
	return dataset.url
}

// setupDatabase creates database name, runs sql in it and tracks its
// tables with track (a /v1/metadata body), through the engine's own APIs.
func setupDatabase(createDatabase func(context.Context, string) (string, error), name, sql, track string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url, err := createDatabase(ctx, name)
	if err != nil {
		return "", err
	}
	e, err := newEngine(ctx, url)
	if err != nil {
		return "", err
	}
	defer e.Close()
	runSQL, _ := json.Marshal(map[string]any{"type": "run_sql", "args": map[string]any{"source": "default", "sql": sql}})
	if status, out := serveOnce(e.Handler(), "/v2/query", runSQL); status != http.StatusOK {
		return "", fmt.Errorf("run_sql: %d %s", status, out)
	}
	if status, out := serveOnce(e.Handler(), "/v1/metadata", []byte(track)); status != http.StatusOK {
		return "", fmt.Errorf("track: %d %s", status, out)
	}
	return url, nil
}

// newEngine is an engine on url, used through its handler (no listener),
// logging as in production (JSON, info) to nowhere.
func newEngine(ctx context.Context, url string) (*engine.Engine, error) {
	cfg := config.Default()
	cfg.DatabaseURL = url
	return engine.New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

func serveOnce(h http.Handler, path string, body []byte) (int, []byte) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// rawPool is a pool set up as the engine's own (engine/exec.Open): as
// many connections as the engine's source pool, statements prepared once
// per connection.
func rawPool(b *testing.B, url string, maxConns int) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// BenchmarkGraphQL: for each query, at c concurrent clients, the engine
// over HTTP vs the same SQL through pgx, and vs the same SQL through pgx
// behind a bare HTTP handler. Besides ns/op it reports req/s and the
// p50/p99 latency of one request, and the baselines' lines the ratio of
// the engine's req/s to theirs. Each query gets an engine of
// its own, so one query's requests cannot fill the plan cache another
// query then misses.
func BenchmarkGraphQL(b *testing.B) {
	url := graphqlDataset(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.Cleanup(client.CloseIdleConnections)
	pool := rawPool(b, url, config.Default().PGConnections)

	for i := range gqlQueries {
		q := &gqlQueries[i]
		b.Run(q.name, func(b *testing.B) {
			e := enginetest.Start(b, func(c *config.Config) { c.DatabaseURL = url })
			endpoint := e.URL + "/v1/graphql"
			checkTwins(b, client, endpoint, pool, q)
			bare := rawServer(b, func(ctx context.Context, vars json.RawMessage, out *bytes.Buffer) error {
				var v struct{ ID int }
				if q.byID {
					if err := json.Unmarshal(vars, &v); err != nil {
						return err
					}
				}
				return q.raw(ctx, pool, v.ID, out)
			})
			engineLoad, bareLoad := newLoadClient(b, endpoint), newLoadClient(b, bare)
			for _, c := range []int{1, 10, 50} {
				b.Run("c="+strconv.Itoa(c), func(b *testing.B) {
					// The engine's req/s in its last (measured) run, for
					// the ratios on the baselines' lines.
					var engineRate float64
					b.Run("engine", func(b *testing.B) {
						parallel(b, c, func(buf *bytes.Buffer) error {
							return engineLoad.post(q.body(randomID()), buf)
						})
						engineRate = rate(b)
					})
					b.Run("raw", func(b *testing.B) {
						ctx := context.Background()
						parallel(b, c, func(buf *bytes.Buffer) error {
							return q.raw(ctx, pool, randomID(), buf)
						})
						ratio(b, engineRate, "engine/raw")
					})
					b.Run("baseline=http+raw", func(b *testing.B) {
						parallel(b, c, func(buf *bytes.Buffer) error {
							return bareLoad.post(q.body(randomID()), buf)
						})
						ratio(b, engineRate, "engine/http+raw")
					})
				})
			}
		})
	}
}

// rawServer is raw behind the thinnest HTTP server: it reads the same
// request body the engine gets, hands its variables to run (which runs
// the raw SQL) and answers the same bytes. Beside "raw" it shows what
// HTTP itself costs on this machine, where the benchmark's clients share
// the engine's CPUs; beside "engine", what the engine adds on top of
// serving HTTP.
func rawServer(b *testing.B, run func(ctx context.Context, vars json.RawMessage, out *bytes.Buffer) error) string {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Variables json.RawMessage `json:"variables"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var out bytes.Buffer
		if err := run(r.Context(), req.Variables, &out); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(out.Bytes())
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// ratios reports, on the line of a baseline that ran at rate r, the
// engine's req/s over it.
func ratio(b *testing.B, engineRate float64, name string) {
	if r := rate(b); engineRate > 0 && r > 0 {
		b.ReportMetric(engineRate/r, name)
	}
}

// checkTwins proves the raw SQL is the engine's: same bytes for the same
// id.
func checkTwins(b *testing.B, client *http.Client, endpoint string, pool *pgxpool.Pool, q *gqlQuery) {
	b.Helper()
	for _, id := range []int{1, nAuthors / 2, nAuthors} {
		var got, want bytes.Buffer
		if err := post(client, endpoint, q.body(id), &got); err != nil {
			b.Fatal(err)
		}
		if err := q.raw(context.Background(), pool, id, &want); err != nil {
			b.Fatalf("raw %s: %v", q.name, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			b.Fatalf("%s: the raw SQL is not the engine's:\nengine %s\n   raw %s", q.name, got.Bytes(), want.Bytes())
		}
	}
}

// post sends one GraphQL request and reads the whole answer into buf.
func post(client *http.Client, url string, body []byte, buf *bytes.Buffer) error {
	return send(client, http.MethodPost, url, body, buf)
}

// send sends one request and reads its answer into buf; anything but a
// 200 without errors is an error.
func send(client *http.Client, method, url string, body []byte, buf *bytes.Buffer) error {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(buf.Bytes(), []byte(`"errors"`)) {
		return fmt.Errorf("status %d: %s", resp.StatusCode, buf.Bytes())
	}
	return nil
}

// parallel runs do from about c goroutines (RunParallel starts
// parallelism*GOMAXPROCS of them, so never fewer than GOMAXPROCS) and
// reports req/s, p50 and p99. The same number of goroutines first warm
// up, untimed, so the measure is the steady state: the connections
// (HTTP and Postgres) that many clients need are open and the statement
// is prepared on them, on both sides.
func parallel(b *testing.B, c int, do func(*bytes.Buffer) error) {
	p := max(1, c/runtime.GOMAXPROCS(0))
	goroutines := p * runtime.GOMAXPROCS(0)
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			var buf bytes.Buffer
			for range 5 {
				if err := do(&buf); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("warm-up: %v", err)
	}

	b.SetParallelism(p)
	var (
		mu  sync.Mutex
		all []time.Duration
	)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		lat := make([]time.Duration, 0, b.N/goroutines+1)
		for pb.Next() {
			start := time.Now()
			if err := do(&buf); err != nil {
				b.Error(err)
				break
			}
			lat = append(lat, time.Since(start))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(q float64) float64 {
		return float64(all[int(q*float64(len(all)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(goroutines), "goroutines")
}

// BenchmarkGraphQLPlanCache: allocations of one by-pk request whose plan
// is cached (same query, same variables), through the engine's whole
// handler in-process (middleware, auth, plan cache, execute, pgx), beside
// the same request and recorder against a handler that does nothing: the
// difference is the engine's.
func BenchmarkGraphQLPlanCache(b *testing.B) {
	url := graphqlDataset(b)
	e, err := newEngine(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	q := &gqlQueries[0]
	body := q.body(42)
	if status, out := serveOnce(e.Handler(), "/v1/graphql", body); status != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
		b.Fatalf("warm-up: %d %s", status, out)
	}

	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/v1/graphql", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
			}
		}
	}
	b.Run("baseline=recorder", func(b *testing.B) {
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
		}))
	})
	b.Run("engine", func(b *testing.B) { run(b, e.Handler()) })
}
