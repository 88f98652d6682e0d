package runsql

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newPool opens a pool on a fresh database; maxConns 0 keeps pgx's default.
func newPool(t *testing.T, maxConns int32) (*pgxpool.Pool, string) {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, dbURL
}

func runSQL(t *testing.T, pool *pgxpool.Pool, sql string) (Result, *apierr.Error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Run(ctx, pool, Args{SQL: sql, Source: DefaultSource})
}

// mustRun runs sql and returns the result's JSON.
func mustRun(t *testing.T, pool *pgxpool.Pool, sql string) string {
	t.Helper()
	res, e := runSQL(t, pool, sql)
	if e != nil {
		t.Fatalf("run_sql %q: %d %s %s: %s", sql, e.Status, e.Code, e.Message, jsonOf(t, e.Internal))
	}
	b, err := res.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scalar runs sql and returns the single value it selects.
func scalar(t *testing.T, pool *pgxpool.Pool, sql string) string {
	t.Helper()
	res, e := runSQL(t, pool, sql)
	if e != nil {
		t.Fatalf("run_sql %q: %s: %s", sql, e.Message, jsonOf(t, e.Internal))
	}
	if res.ResultType != ResultTuplesOk || len(res.Result) != 2 || len(res.Result[1]) != 1 {
		t.Fatalf("run_sql %q: not one value: %s", sql, jsonOf(t, res))
	}
	return res.Result[1][0]
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantQueryError checks e is run_sql's "query execution failed" and that
// its internal encodes to exactly wantInternal.
func wantQueryError(t *testing.T, e *apierr.Error, wantInternal string) {
	t.Helper()
	if e == nil {
		t.Fatal("no error")
	}
	if e.Status != http.StatusBadRequest || e.Code != apierr.CodePostgresError ||
		e.Message != "query execution failed" || e.Path != "$.args" {
		t.Errorf("error = %d %q %q %q, want 400 postgres-error \"query execution failed\" $.args",
			e.Status, e.Code, e.Message, e.Path)
	}
	if got := jsonOf(t, e.Internal); got != wantInternal {
		t.Errorf("internal:\n got %s\nwant %s", got, wantInternal)
	}
}

func TestSelectTextValues(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 0)
	got := mustRun(t, pool, `SET LOCAL TimeZone = 'UTC';
SELECT 1::int AS i, 'x'::text AS t, NULL::text AS n, true AS b, false AS f,
       1.50::numeric AS num, 1e30::float8 AS fl,
       '2024-01-02 03:04:05+00'::timestamptz AS ts, '2024-02-29'::date AS d,
       '{"a":[1,2]}'::json AS j, '{"a":[1,2]}'::jsonb AS jb,
       'NULL'::text AS nulltext, '<a&b>'::text AS html, ARRAY[1,NULL]::int[] AS arr
UNION ALL
SELECT 2, 'y', 'z', NULL, true, -0.001, 0.1,
       '2024-06-30 23:59:59.123456+02', 'infinity', 'null', '[]', NULL, '', '{}'`)
	want := `{"result_type":"TuplesOk","result":[` +
		`["i","t","n","b","f","num","fl","ts","d","j","jb","nulltext","html","arr"],` +
		`["1","x","NULL","t","f","1.50","1e+30","2024-01-02 03:04:05+00","2024-02-29","{\"a\":[1,2]}","{\"a\": [1, 2]}","NULL","<a&b>","{1,NULL}"],` +
		`["2","y","z","NULL","t","-0.001","0.1","2024-06-30 21:59:59.123456+00","infinity","null","[]","NULL","","{}"]]}`
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}

	// No rows: the header alone.
	if got, want := mustRun(t, pool, "SELECT 1 AS a, 2 AS b WHERE false"),
		`{"result_type":"TuplesOk","result":[["a","b"]]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Rows-returning commands other than SELECT are TuplesOk too.
	mustRun(t, pool, "CREATE TABLE r (a int)")
	if got, want := mustRun(t, pool, "INSERT INTO r VALUES (7) RETURNING a, 'ok' AS s"),
		`{"result_type":"TuplesOk","result":[["a","s"],["7","ok"]]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := mustRun(t, pool, "UPDATE r SET a = 8"),
		`{"result_type":"CommandOk","result":null}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestLastResultWins(t *testing.T) {
	t.Parallel()
	pool, dbURL := newPool(t, 0)

	got := mustRun(t, pool, "CREATE TABLE t (a int); INSERT INTO t VALUES (2), (1); SELECT a FROM t ORDER BY a")
	if want := `{"result_type":"TuplesOk","result":[["a"],["1"],["2"]]}`; got != want {
		t.Errorf("DDL then SELECT: got %s, want %s", got, want)
	}
	got = mustRun(t, pool, "SELECT 1; CREATE TABLE t2 (b text)")
	if want := `{"result_type":"CommandOk","result":null}`; got != want {
		t.Errorf("SELECT then DDL: got %s, want %s", got, want)
	}

	// Committed: visible from an unrelated connection.
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_class WHERE relname IN ('t', 't2')").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("tables after COMMIT = %d, want 2", n)
	}
}

func TestErrorRollsBackWholeCall(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 0)
	_, e := runSQL(t, pool, "create table x(); select 1/0")
	wantQueryError(t, e, `{"arguments":[],"error":{"description":null,"exec_status":"FatalError","hint":null,`+
		`"message":"division by zero","status_code":"22012"},"prepared":false,"statement":"create table x(); select 1/0"}`)
	if got := scalar(t, pool, "SELECT to_regclass('x') IS NULL"); got != "t" {
		t.Errorf("table x exists after the failed call")
	}
	// An error part-way through a result set: the error is the result.
	_, e = runSQL(t, pool, "SELECT 1/(3-g) FROM generate_series(1, 5) g")
	if e == nil || e.Code != apierr.CodePostgresError {
		t.Fatalf("got %v, want postgres-error", e)
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 0)
	mustRun(t, pool, "CREATE TABLE malicious (a int)")

	ctx := context.Background()
	res, e := Run(ctx, pool, Args{SQL: "SELECT count(*) AS n FROM malicious", Source: DefaultSource, ReadOnly: true})
	if e != nil {
		t.Fatalf("read-only SELECT: %s", jsonOf(t, e.Internal))
	}
	if got, want := jsonOf(t, res), `{"result_type":"TuplesOk","result":[["n"],["0"]]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}

	_, e = Run(ctx, pool, Args{SQL: "DROP TABLE malicious\n", Source: DefaultSource, ReadOnly: true})
	wantQueryError(t, e, `{"arguments":[],"error":{"description":null,"exec_status":"FatalError","hint":null,`+
		`"message":"cannot execute DROP TABLE in a read-only transaction","status_code":"25006"},`+
		`"prepared":false,"statement":"DROP TABLE malicious\n"}`)

	// The whole admin response, as in Hasura's test-suite
	// (v1/run_sql/sql_read_only_drop_table or so).
	rec := httptest.NewRecorder()
	apierr.WriteREST(rec, e, true)
	var got, want any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(`{
		"internal": {
			"statement": "DROP TABLE malicious\n",
			"prepared": false,
			"error": {"exec_status": "FatalError", "hint": null,
				"message": "cannot execute DROP TABLE in a read-only transaction",
				"status_code": "25006", "description": null},
			"arguments": []
		},
		"path": "$.args",
		"error": "query execution failed",
		"code": "postgres-error"
	}`), &want)
	if rec.Code != 400 || jsonOf(t, got) != jsonOf(t, want) {
		t.Errorf("response %d %s, want 400 %s", rec.Code, rec.Body.String(), jsonOf(t, want))
	}

	if got := scalar(t, pool, "SELECT to_regclass('malicious') IS NOT NULL"); got != "t" {
		t.Error("read-only run dropped the table")
	}
}

func TestPostgresErrorDetails(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 0)

	_, e := runSQL(t, pool, "selec 1")
	wantQueryError(t, e, `{"arguments":[],"error":{"description":null,"exec_status":"FatalError","hint":null,`+
		`"message":"syntax error at or near \"selec\"","status_code":"42601"},"prepared":false,"statement":"selec 1"}`)

	sql := "CREATE TABLE u (a int PRIMARY KEY); INSERT INTO u VALUES (1); INSERT INTO u VALUES (1)"
	_, e = runSQL(t, pool, sql)
	wantQueryError(t, e, `{"arguments":[],"error":{"description":"Key (a)=(1) already exists.","exec_status":"FatalError",`+
		`"hint":null,"message":"duplicate key value violates unique constraint \"u_pkey\"","status_code":"23505"},`+
		`"prepared":false,"statement":`+jsonOf(t, sql)+`}`)

	_, e = runSQL(t, pool, "SELECT no_such_function(1)")
	wantQueryError(t, e, `{"arguments":[],"error":{"description":null,"exec_status":"FatalError",`+
		`"hint":"No function matches the given name and argument types. You might need to add explicit type casts.",`+
		`"message":"function no_such_function(integer) does not exist","status_code":"42883"},`+
		`"prepared":false,"statement":"SELECT no_such_function(1)"}`)
}

func TestSetTimeZone(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 0)
	_, e := runSQL(t, pool, "SET TIME ZONE 'ABC'")
	wantQueryError(t, e, `{"arguments":[],"error":{"description":null,"exec_status":"FatalError","hint":null,`+
		`"message":"invalid value for parameter \"TimeZone\": \"ABC\"","status_code":"22023"},`+
		`"prepared":false,"statement":"SET TIME ZONE 'ABC'"}`)
	if got, want := mustRun(t, pool, "SET TIME ZONE 'UTC'"), `{"result_type":"CommandOk","result":null}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestEmptyQuery(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 0)
	// libpq's PGRES_EMPTY_QUERY is an error for pg-client.
	for _, sql := range []string{"", "  -- nothing\n", ";"} {
		_, e := runSQL(t, pool, sql)
		wantQueryError(t, e, `{"arguments":[],"error":{"description":null,"exec_status":"EmptyQuery","hint":null,`+
			`"message":null,"status_code":null},"prepared":false,"statement":`+jsonOf(t, sql)+`}`)
	}
	// Empty statements between real ones are skipped by the server.
	if got, want := mustRun(t, pool, "SELECT 1 AS a;;"), `{"result_type":"TuplesOk","result":[["a"],["1"]]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestNULEndsTheText(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 0)
	// PQexec reads a C string; the error's statement keeps the whole text.
	if got, want := mustRun(t, pool, "SELECT 1 AS a\x00 garbage"), `{"result_type":"TuplesOk","result":[["a"],["1"]]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	_, e := runSQL(t, pool, "\x00SELECT 1")
	wantQueryError(t, e, `{"arguments":[],"error":{"description":null,"exec_status":"EmptyQuery","hint":null,`+
		`"message":null,"status_code":null},"prepared":false,"statement":"\u0000SELECT 1"}`)
}

func TestCommitFailure(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 0)
	_, e := runSQL(t, pool, "CREATE TABLE d (a int UNIQUE DEFERRABLE INITIALLY DEFERRED); INSERT INTO d VALUES (1), (1)")
	if e == nil {
		t.Fatal("no error")
	}
	if e.Status != 500 || e.Code != apierr.CodePostgresError || e.Message != "postgres tx error" || e.Path != "$.args" {
		t.Errorf("error = %d %q %q %q", e.Status, e.Code, e.Message, e.Path)
	}
	want := `{"arguments":[],"error":{"description":"Key (a)=(1) already exists.","exec_status":"FatalError","hint":null,` +
		`"message":"duplicate key value violates unique constraint \"d_a_key\"","status_code":"23505"},` +
		`"prepared":true,"statement":"COMMIT"}`
	if got := jsonOf(t, e.Internal); got != want {
		t.Errorf("internal:\n got %s\nwant %s", got, want)
	}
	if got := scalar(t, pool, "SELECT to_regclass('d') IS NULL"); got != "t" {
		t.Error("table d exists after the failed COMMIT")
	}
}

func TestCopyIsAnError(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// PQexec stops at the COPY (Postgres parses the whole string first,
	// so pg_dump's inline data would be a syntax error before that).
	sql := "CREATE TABLE c (a int);\nCOPY c (a) FROM stdin;\nSELECT 1"
	_, e := Run(ctx, pool, Args{SQL: sql, Source: DefaultSource})
	wantQueryError(t, e, `{"arguments":[],"error":"Unexpected execStatus : CopyIn","prepared":false,"statement":`+jsonOf(t, sql)+`}`)
	if ctx.Err() != nil {
		t.Fatal("COPY FROM stdin hung until the deadline")
	}
	if got := scalar(t, pool, "SELECT to_regclass('c') IS NULL"); got != "t" {
		t.Error("table c exists after the failed call")
	}

	sql = "COPY (SELECT g FROM generate_series(1, 1000) g) TO stdout; SELECT 1"
	_, e = Run(ctx, pool, Args{SQL: sql, Source: DefaultSource})
	wantQueryError(t, e, `{"arguments":[],"error":"Unexpected execStatus : CopyOut","prepared":false,"statement":`+jsonOf(t, sql)+`}`)

	if got := scalar(t, pool, "SELECT 'still fine'"); got != "still fine" {
		t.Errorf("got %q", got)
	}
}

// TestSessionStateNotPooled: a run that leaves session state behind costs
// its connection; one that does not keeps it.
func TestSessionStateNotPooled(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 1) // one connection: the backend pid tells reuse
	pid := func() string { return scalar(t, pool, "SELECT pg_backend_pid()") }

	clean := []string{
		"SELECT 1",
		"SET LOCAL search_path TO nowhere; SELECT 1",
		"SELECT set_config('search_path', 'nowhere', true)",
		"SELECT pg_advisory_xact_lock(7)",
		"CREATE TEMP TABLE gone (a int) ON COMMIT DROP",
		"SELECT 1/0", // rolled back
		"SET search_path TO nowhere; SELECT 1/0",
	}
	dirty := []string{
		"SET TIME ZONE 'UTC'",
		"SET search_path TO nowhere",
		"SELECT set_config('search_path', 'nowhere', false)",
		"SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
		"CREATE TEMP TABLE kept (a int)",
		"SELECT pg_advisory_lock(7)",
		"LISTEN somewhere",
		"PREPARE p AS SELECT 1",
		"DECLARE c CURSOR WITH HOLD FOR SELECT 1",
		"COMMIT; SET search_path TO nowhere",
		"SET ROLE pg_read_all_data",
	}
	for _, sql := range clean {
		before := pid()
		_, _ = runSQL(t, pool, sql)
		if after := pid(); after != before {
			t.Errorf("%q: connection replaced, want it pooled", sql)
		}
	}
	for _, sql := range dirty {
		before := pid()
		if _, e := runSQL(t, pool, sql); e != nil {
			t.Errorf("%q: %s", sql, jsonOf(t, e.Internal))
		}
		if after := pid(); after == before {
			t.Errorf("%q: connection pooled with its session state", sql)
		}
	}
	// And what the next run sees is the server's default again.
	if got := scalar(t, pool, "SELECT current_setting('search_path')"); got != `"$user", public` {
		t.Errorf("search_path = %q", got)
	}
	if got := scalar(t, pool, "SELECT pg_try_advisory_xact_lock(7)"); got != "t" {
		t.Error("advisory lock still held")
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	pool, dbURL := newPool(t, 1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, e := Run(ctx, pool, Args{SQL: "select pg_sleep(30)", Source: DefaultSource})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Run took %v after cancel", elapsed)
	}
	if e == nil {
		t.Fatal("no error")
	}
	if !IsCanceled(e) || e.Status != 500 || e.Code != apierr.CodeUnexpected || e.Message != "database query error" {
		t.Errorf("error = %d %q %q, IsCanceled %v", e.Status, e.Code, e.Message, IsCanceled(e))
	}

	// The backend stopped sleeping.
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Generous: a loaded CI machine may take a while to reap the backend.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pg_sleep still running in Postgres 30s after the cancel")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The pool's only slot is free and works.
	if got := scalar(t, pool, "SELECT 'alive'"); got != "alive" {
		t.Errorf("got %q", got)
	}

	// A deadline is a cancellation too.
	dctx, dcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer dcancel()
	_, e = Run(dctx, pool, Args{SQL: "select pg_sleep(30)", Source: DefaultSource})
	if !IsCanceled(e) {
		t.Errorf("deadline: got %v, want a cancellation", e)
	}

	// Already cancelled: nothing runs.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	_, e = Run(cctx, pool, Args{SQL: "CREATE TABLE never ()", Source: DefaultSource})
	if !IsCanceled(e) {
		t.Errorf("cancelled ctx: got %v, want a cancellation", e)
	}
	if got := scalar(t, pool, "SELECT to_regclass('never') IS NULL"); got != "t" {
		t.Error("ran SQL with a cancelled context")
	}
}

func TestConnectionLost(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 1)
	_, e := runSQL(t, pool, "SELECT pg_terminate_backend(pg_backend_pid())")
	if e == nil {
		t.Fatal("no error")
	}
	if e.Status != 500 || e.Code != apierr.CodePostgresError || e.Message != "connection error" || IsCanceled(e) {
		t.Errorf("error = %d %q %q", e.Status, e.Code, e.Message)
	}
	if _, ok := e.Internal.(*Failure); !ok {
		t.Errorf("internal = %T, want *Failure", e.Internal)
	}
	if got := scalar(t, pool, "SELECT 'alive'"); got != "alive" {
		t.Errorf("got %q", got)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, e := runSQL(t, pool, "SELECT 1")
	if e == nil || e.Status != 500 || e.Code != apierr.CodePostgresError || e.Message != "connection error" {
		t.Fatalf("got %+v, want 500 postgres-error connection error", e)
	}
	if _, ok := e.Internal.(*Failure); !ok {
		t.Errorf("internal = %T, want *Failure", e.Internal)
	}
}

func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	// Only a SQL_ASCII database hands out bytes that are not UTF-8.
	dbURL := pgtest.NewDatabase(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	u, _ := url.Parse(dbURL)
	name := strings.TrimPrefix(u.Path, "/") + "_ascii"
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") })
	u.Path = "/" + name
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	sql := `SELECT E'ok' AS a, E'caf\xe9' AS b`
	_, e := runSQL(t, pool, sql)
	wantQueryError(t, e, `{"arguments":[],"error":"Cannot decode byte '\\xe9': Data.Text.Internal.Encoding: Invalid UTF-8 stream",`+
		`"prepared":false,"statement":`+jsonOf(t, sql)+`}`)
	// Only the last result is decoded.
	if got, want := mustRun(t, pool, sql+"; SELECT 'fine' AS c"), `{"result_type":"TuplesOk","result":[["c"],["fine"]]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestResultMarshalJSON(t *testing.T) {
	cases := []struct {
		r    Result
		want string
	}{
		{Result{ResultType: ResultCommandOk}, `{"result_type":"CommandOk","result":null}`},
		{Result{ResultType: ResultTuplesOk, Result: [][]string{{"a"}, {"<&>"}}}, `{"result_type":"TuplesOk","result":[["a"],["<&>"]]}`},
		{Result{ResultType: ResultTuplesOk, Result: [][]string{{}}}, `{"result_type":"TuplesOk","result":[[]]}`},
	}
	for _, c := range cases {
		b, err := c.r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("got %s, want %s", b, c.want)
		}
	}
	// Inside other values too (escaping then is the outer encoder's).
	b, _ := json.Marshal(map[string]Result{"x": {ResultType: ResultCommandOk}})
	if string(b) != `{"x":{"result_type":"CommandOk","result":null}}` {
		t.Errorf("got %s", b)
	}
}

func TestParseArgs(t *testing.T) {
	yes, no := true, false
	ok := []struct {
		in   string
		want Args
	}{
		{`{"sql":"select 1"}`, Args{SQL: "select 1", Source: "default"}},
		{` {"sql":"x","source":"pg2","cascade":true,"check_metadata_consistency":false,"read_only":true,"unknown":[1]} `,
			Args{SQL: "x", Source: "pg2", Cascade: true, CheckMetadataConsistency: &no, ReadOnly: true}},
		{`{"sql":"x","check_metadata_consistency":true}`, Args{SQL: "x", Source: "default", CheckMetadataConsistency: &yes}},
		{`{"sql":"x","source":null,"cascade":null,"check_metadata_consistency":null,"read_only":null}`,
			Args{SQL: "x", Source: "default"}},
		{`{"sql":"a","sql":"b"}`, Args{SQL: "b", Source: "default"}},
		{`{"sql":""}`, Args{SQL: "", Source: "default"}},
	}
	for _, c := range ok {
		got, e := ParseArgs(json.RawMessage(c.in))
		if e != nil {
			t.Errorf("%s: %s", c.in, e.Message)
			continue
		}
		if jsonOf(t, got) != jsonOf(t, c.want) {
			t.Errorf("%s: got %s, want %s", c.in, jsonOf(t, got), jsonOf(t, c.want))
		}
	}

	bad := []struct{ in, path, msg string }{
		{`{}`, "$.args", `key "sql" not found`},
		{`{"source":5}`, "$.args", `key "sql" not found`},
		{`{"SQL":"x"}`, "$.args", `key "sql" not found`},
		{`{"sql":1}`, "$.args.sql", "parsing Text failed, expected String, but encountered Number"},
		{`{"sql":null}`, "$.args.sql", "parsing Text failed, expected String, but encountered Null"},
		{`{"sql":true}`, "$.args.sql", "parsing Text failed, expected String, but encountered Boolean"},
		{`{"sql":["x"]}`, "$.args.sql", "parsing Text failed, expected String, but encountered Array"},
		{`{"sql":{}}`, "$.args.sql", "parsing Text failed, expected String, but encountered Object"},
		{`[]`, "$.args", "parsing RunSQL failed, expected Object, but encountered Array"},
		{`"select 1"`, "$.args", "parsing RunSQL failed, expected Object, but encountered String"},
		{`-1.5`, "$.args", "parsing RunSQL failed, expected Object, but encountered Number"},
		{`false`, "$.args", "parsing RunSQL failed, expected Object, but encountered Boolean"},
		{`null`, "$.args", "parsing RunSQL failed, expected Object, but encountered Null"},
		{`{"sql":"x","source":5}`, "$.args.source", "parsing String failed, expected String, but encountered Number"},
		{`{"sql":"x","source":""}`, "$.args.source", "empty string not allowed"},
		{`{"sql":"x","cascade":1}`, "$.args.cascade", "parsing Bool failed, expected Boolean, but encountered Number"},
		{`{"sql":"x","check_metadata_consistency":"true"}`, "$.args.check_metadata_consistency",
			"parsing Bool failed, expected Boolean, but encountered String"},
		{`{"sql":"x","read_only":{}}`, "$.args.read_only", "parsing Bool failed, expected Boolean, but encountered Object"},
		{`{"sql":"x","cascade":"no","read_only":1}`, "$.args.cascade", "parsing Bool failed, expected Boolean, but encountered String"},
		{``, "$", `key "args" not found`},
	}
	for _, c := range bad {
		_, e := ParseArgs(json.RawMessage(c.in))
		if e == nil {
			t.Errorf("%s: no error", c.in)
			continue
		}
		if e.Status != 400 || e.Code != apierr.CodeParseFailed || e.Path != c.path || e.Message != c.msg {
			t.Errorf("%s: got %d %s %s %q, want 400 parse-failed %s %q", c.in, e.Status, e.Code, e.Path, e.Message, c.path, c.msg)
		}
	}
	if _, e := ParseArgs(json.RawMessage(`{"sql":`)); e == nil || e.Status != 400 || e.Code != apierr.CodeParseFailed {
		t.Errorf("invalid JSON: got %v", e)
	}
}

func TestMutatesSchema(t *testing.T) {
	cases := []struct {
		sql  string
		want bool
	}{
		{"ALTER TABLE t ADD COLUMN c int", true},
		{"drop table t", true},
		{"CREATE OR REPLACE VIEW v AS SELECT 1", true},
		{"create function f() returns int as $$ select 1 $$ language sql", true},
		{"Create Function f()", true},
		{"COMMENT ON TABLE t IS 'x'", true},
		{"select 1;\nDROP\tview v", true},
		{"(drop)", true},
		{"insert into t values ('drop')", true}, // raw text, as upstream
		{"-- alter\nselect 1", true},
		{"select 1", false},
		{"create table t (a int)", false},
		{"insert into t values (1)", false},
		{"select * from alterations", false},
		{"select dropped from t", false},
		{"select x_drop, drop_x, drop1, 1drop", false},
		{"create  function f()", false},
		{"createfunction", false},
		{"comment  on", false},
		{"select édrop, dropé", false}, // Unicode letters are word characters
		{"select 'é' || 'x'; drop", true},
		{"REPLACE", true},
		{"", false},
	}
	for _, c := range cases {
		if got := MutatesSchema(c.sql); got != c.want {
			t.Errorf("MutatesSchema(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
}

func TestNeedsConsistencyCheck(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		a    Args
		want bool
	}{
		{Args{SQL: "select 1"}, false},
		{Args{SQL: "drop table t"}, true},
		{Args{SQL: "select 1", CheckMetadataConsistency: &yes}, true},
		{Args{SQL: "drop table t", CheckMetadataConsistency: &no}, false},
		{Args{SQL: "drop table t", ReadOnly: true}, false},
		// Read-only wins, as in isSchemaCacheBuildRequiredRunSQL.
		{Args{SQL: "drop table t", ReadOnly: true, CheckMetadataConsistency: &yes}, false},
	}
	for _, c := range cases {
		if got := NeedsConsistencyCheck(c.a); got != c.want {
			t.Errorf("NeedsConsistencyCheck(%s) = %v, want %v", jsonOf(t, c.a), got, c.want)
		}
	}
}

func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		`{"sql":"select 1"}`, `{}`, `[]`, `null`, `1`, `"x"`, ``, `{"sql":1}`,
		`{"sql":"x","source":"","cascade":true,"check_metadata_consistency":null,"read_only":"t"}`,
		`{"sql":"a","sql":2}`, `{"sql":"\u0000\ud800"}`, `{"sql"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, e := ParseArgs(json.RawMessage(data))
		if e != nil {
			if e.Status != http.StatusBadRequest || e.Code != apierr.CodeParseFailed ||
				!strings.HasPrefix(e.Path, "$") || e.Message == "" {
				t.Fatalf("bad error %+v for %q", e, data)
			}
			return
		}
		if a.Source == "" {
			t.Fatalf("empty source for %q", data)
		}
		// What parses re-encodes to the same arguments.
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		again, e := ParseArgs(b)
		if e != nil || jsonOf(t, again) != string(b) {
			t.Fatalf("round trip of %q: %s -> %v %v", data, b, again, e)
		}
	})
}
