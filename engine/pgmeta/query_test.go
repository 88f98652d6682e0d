package pgmeta

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func query(sql string) map[string]any { return map[string]any{"query": sql} }

func TestQuerySelectRows(t *testing.T) {
	e := newEnv(t)
	got := must[[]obj](e, "POST", "/pg/query", query("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL ORDER BY a"))
	want := []obj{{"a": json.Number("1"), "b": "x"}, {"a": json.Number("2"), "b": nil}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// no rows, and a statement without rows
	if got := must[[]obj](e, "POST", "/pg/query", query("SELECT 1 WHERE false")); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
	if got := must[[]obj](e, "POST", "/pg/query", query("CREATE TABLE t (a int)")); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
	// duplicate column names: one key, first position, last value (a JS object)
	_, out := e.do("POST", "/pg/query", query("SELECT 1 AS a, 2 AS b, 3 AS a"))
	if string(out) != `[{"a":3,"b":2}]` {
		t.Fatalf("got %s", out)
	}
}

func TestQueryMultipleStatements(t *testing.T) {
	e := newEnv(t)
	got := must[[]obj](e, "POST", "/pg/query", query(`
CREATE TABLE t (a int, b text);
INSERT INTO t VALUES (1, 'one'), (2, 'two');
SELECT * FROM t ORDER BY a;`))
	want := []obj{{"a": json.Number("1"), "b": "one"}, {"a": json.Number("2"), "b": "two"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// the last result with rows, as postgres-meta
	got = must[[]obj](e, "POST", "/pg/query", query("SELECT 1 AS x; SELECT 2 AS y; UPDATE t SET b = b"))
	if !reflect.DeepEqual(got, []obj{{"y": json.Number("2")}}) {
		t.Fatalf("got %v", got)
	}
	// the statements committed
	if n := e.scalar("SELECT count(*) FROM t"); n != int64(2) {
		t.Fatalf("count %v", n)
	}
}

// TestQueryRendering checks every value against Postgres' own to_json.
func TestQueryRendering(t *testing.T) {
	e := newEnv(t)
	e.exec(`CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN jdom AS jsonb;
CREATE DOMAIN tsdom AS timestamptz`)
	exprs := []string{
		"1::int2", "2::int4", "3::int8", "9223372036854775807::int8", "1.50::numeric", "'NaN'::numeric",
		"1.5::float8", "'Infinity'::float8", "'-Infinity'::float4", "1e100::float8", "true", "false",
		"NULL::int", "'text'::text", "'quote \" back \\ nl \n tab \t <&>'::text", "'ünï €'::text",
		`'{"a":[1,2,{"b":null}],"z":1.10}'::json`, `'{"b":1,"a":2}'::jsonb`,
		"'2024-01-02 03:04:05.678'::timestamp", "'2024-01-02 03:04:05+00'::timestamptz",
		"'2024-01-02 03:04:05.5+05:30'::timestamptz", "'infinity'::timestamptz", "'0044-03-15 12:00 BC'::timestamp",
		"'2024-02-29'::date", "'12:00'::time", "'12:00+02'::timetz", "interval '1 day 2 hours'",
		"'{1,2,NULL}'::int[]", `'{{a,"b c"},{NULL,"\\"}}'::text[]`, `array['{"x":1}'::jsonb, NULL]`,
		"array['2024-01-02 03:04:05+00'::timestamptz]", "'[0:1]={5,6}'::int[]", "'{}'::int[]",
		"'{1.5,NaN}'::numeric[]", "array[true,false]", `'\x0102'::bytea`, "'ok'::mood", "array['sad'::mood]",
		"'1 2'::int2vector", "'1 2'::oidvector", "1::oid", "'f81d4fae-7dec-11d0-a765-00a0c91e6bf6'::uuid",
		"'192.168.0.1/24'::inet", "'(1,2)'::point", `'{"(1,2),(0,0)";"(3,3),(1,1)"}'::box[]`,
		"5::posint", "array[5::posint]", `'{"k":"v"}'::jdom`, "'2024-01-02 03:04:05+00'::tsdom",
		"5::information_schema.cardinal_number", "'abc'::information_schema.sql_identifier",
		"'<a>x</a>'::xml", "'money'::name", "'x'::\"char\"", "12.5::money", "B'101'::bit(3)",
		"'[1,5)'::int4range",
	}
	for _, tz := range []string{"UTC", "Asia/Kolkata"} {
		cols := make([]string, len(exprs))
		for i, x := range exprs {
			cols[i] = x + " AS c" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		}
		sel := "SELECT " + strings.Join(cols, ", ")
		got := must[[]obj](e, "POST", "/pg/query", query("SET TimeZone = '"+tz+"'; "+sel))
		var wantText string
		ctx := context.Background()
		conn, err := e.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "SET TimeZone = '"+tz+"'"); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT to_json(x)::text FROM ("+sel+") x").Scan(&wantText); err != nil {
			t.Fatal(err)
		}
		conn.Conn().Close(ctx)
		conn.Release()
		want := decode[obj](t, []byte(wantText))
		if len(got) != 1 {
			t.Fatalf("rows: %v", got)
		}
		for i, x := range exprs {
			k := "c" + string(rune('a'+i/26)) + string(rune('a'+i%26))
			if !reflect.DeepEqual(got[0][k], want[k]) {
				t.Errorf("%s (tz %s): got %s, to_json gives %s", x, tz, jsonStr(got[0][k]), jsonStr(want[k]))
			}
		}
	}
}

func TestQuerySyntaxError(t *testing.T) {
	e := newEnv(t)
	sql := "SELECT 1;\nSELECT * FROM WHERE x"
	status, out := e.do("POST", "/pg/query", query(sql))
	if status != http.StatusBadRequest {
		t.Fatalf("status %d: %s", status, out)
	}
	got := decode[obj](t, out)
	wantFormatted := "ERROR:  42601: syntax error at or near \"WHERE\"\nLINE 2: SELECT * FROM WHERE x\n                      ^\n"
	if got["formattedError"] != wantFormatted || got["error"] != wantFormatted {
		t.Errorf("formattedError %q", got["formattedError"])
	}
	if got["code"] != "42601" || got["position"] != "25" || got["severity"] != "ERROR" ||
		got["message"] != `syntax error at or near "WHERE"` || got["name"] != "error" {
		t.Errorf("error body %s", out)
	}
	// detail and hint
	e.exec("CREATE TABLE u (id int PRIMARY KEY)")
	e.exec("INSERT INTO u VALUES (1)")
	got = decode[obj](t, mustStatus(t, e, 400, "POST", "/pg/query", query("INSERT INTO u VALUES (1)")))
	if got["detail"] != "Key (id)=(1) already exists." || got["constraint"] != "u_pkey" || got["table"] != "u" ||
		!strings.Contains(got["formattedError"].(string), "DETAIL:  Key (id)=(1) already exists.\n") {
		t.Errorf("unique violation body %v", got)
	}
	got = decode[obj](t, mustStatus(t, e, 400, "POST", "/pg/query", query("SELECT nosuchfn(1)")))
	if got["hint"] == nil || !strings.Contains(got["formattedError"].(string), "HINT:  ") {
		t.Errorf("no hint: %v", got)
	}
}

func mustStatus(t *testing.T, e *env, status int, method, path string, body any) []byte {
	t.Helper()
	got, out := e.do(method, path, body)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, status, out)
	}
	return out
}

func TestQueryBadRequests(t *testing.T) {
	e := newEnv(t)
	if msg := fails(e, 400, "POST", "/pg/query", map[string]any{}); msg != "query not found" {
		t.Errorf("got %q", msg)
	}
	fails(e, 400, "POST", "/pg/query", query(""))
	fails(e, 400, "POST", "/pg/query", "{not json")
	fails(e, 400, "POST", "/pg/query", map[string]any{"query": 5})
	fails(e, 400, "POST", "/pg/query", "[1]")
	fails(e, 405, "GET", "/pg/query", nil)
	fails(e, 404, "GET", "/pg/nothing", nil)
	fails(e, 404, "GET", "/pg/", nil)
	// COPY FROM STDIN has nobody to send data: an error, not a hang
	e.exec("CREATE TABLE t (a int)")
	fails(e, 400, "POST", "/pg/query", query("COPY t FROM STDIN"))
	got := must[[]obj](e, "POST", "/pg/query", query("COPY (SELECT 1) TO STDOUT; SELECT 2 AS two"))
	if len(got) != 1 || got[0]["two"] != json.Number("2") {
		t.Errorf("got %v", got)
	}
}

func TestQueryParameters(t *testing.T) {
	e := newEnv(t)
	got := must[[]obj](e, "POST", "/pg/query", map[string]any{
		"query":      "SELECT $1::int + 1 AS n, $2::text AS s, $3::int[] AS a, $4::text[] AS t, $5::jsonb AS j, $6::text IS NULL AS isnull, $7::bool AS b",
		"parameters": []any{41, "it's", []any{1, 2}, []any{`a"b`, `c\d`, nil}, map[string]any{"k": 1}, nil, true},
	})
	want := `[{"a":[1,2],"b":true,"isnull":true,"j":{"k":1},"n":42,"s":"it's","t":["a\"b","c\\d",null]}]`
	if jsonStr(got) != want {
		t.Fatalf("got %s", jsonStr(got))
	}
	// one statement only with parameters
	fails(e, 400, "POST", "/pg/query", map[string]any{"query": "SELECT $1::int; SELECT 2", "parameters": []any{1}})
}

func TestQueryStatementTimeout(t *testing.T) {
	e := newEnv(t, withTimeout(300*time.Millisecond), withMaxConns(1))
	start := time.Now()
	status, out := e.do("POST", "/pg/query", query("SELECT pg_sleep(5)"))
	if status != http.StatusBadRequest {
		t.Fatalf("status %d: %s", status, out)
	}
	got := decode[obj](t, out)
	if got["code"] != "57014" || !strings.Contains(got["error"].(string), "canceling statement due to statement timeout") {
		t.Fatalf("body %s", out)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
	// the connection's statement_timeout is back to what it was
	if v := e.scalar("SHOW statement_timeout"); v != "0" {
		t.Fatalf("statement_timeout left at %v", v)
	}
	// the query string can change it
	got = decode[obj](t, mustStatus(t, e, 400, "POST", "/pg/query?statementTimeoutSecs=0.1", query("SELECT pg_sleep(2)")))
	if got["code"] != "57014" {
		t.Fatalf("body %v", got)
	}
	must[[]obj](e, "POST", "/pg/query?statementTimeoutSecs=10", query("SELECT pg_sleep(0.5)"))
	fails(e, 400, "POST", "/pg/query?statementTimeoutSecs=abc", query("SELECT 1"))
}

func TestQueryClientCancelStopsBackend(t *testing.T) {
	e := newEnv(t)
	marker := "cancel_marker_8a1f"
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	e.doCtx(ctx, "POST", "/pg/query", query("SELECT pg_sleep(60) /* "+marker+" */"))
	if time.Since(start) > 5*time.Second {
		t.Fatal("request did not end with its context")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := e.scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid() AND state = 'active'", marker)
		if n == int64(0) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the query is still running in Postgres")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestQuerySessionIsolation(t *testing.T) {
	// one connection: what a query leaves behind must not reach the next
	e := newEnv(t, withMaxConns(1))
	e.exec("CREATE ROLE pgmeta_iso_reader NOLOGIN; CREATE TABLE t (a int); GRANT SELECT ON t TO pgmeta_iso_reader")
	t.Cleanup(func() { e.exec("DROP OWNED BY pgmeta_iso_reader; DROP ROLE pgmeta_iso_reader") })
	must[[]obj](e, "POST", "/pg/query", query("SET ROLE pgmeta_iso_reader; SET search_path = nowhere; SELECT 1"))
	got := must[[]obj](e, "POST", "/pg/query", query("SELECT current_user AS u, current_setting('search_path') AS p"))
	if got[0]["u"] != "postgres" || got[0]["p"] != `"$user", public` {
		t.Fatalf("session state leaked: %v", got)
	}
	// an open transaction is not kept (nor committed)
	must[[]obj](e, "POST", "/pg/query", query("BEGIN; INSERT INTO t VALUES (99)"))
	got = must[[]obj](e, "POST", "/pg/query", query("SELECT count(*) AS n FROM t"))
	if got[0]["n"] != json.Number("0") {
		t.Fatalf("uncommitted insert visible: %v", got)
	}
	// a failed transaction block neither
	fails(e, 400, "POST", "/pg/query", query("BEGIN; SELECT 1/0"))
	must[[]obj](e, "POST", "/pg/query", query("SELECT 1"))
	// temp tables do not survive
	must[[]obj](e, "POST", "/pg/query", query("CREATE TEMP TABLE tmp (a int)"))
	fails(e, 400, "POST", "/pg/query", query("SELECT * FROM tmp"))
	// and the catalog endpoints run as the pool's user afterwards
	must[[]obj](e, "POST", "/pg/query", query("SET ROLE pgmeta_iso_reader"))
	tables := must[[]obj](e, "GET", "/pg/tables?included_schemas=public", nil)
	if len(tables) != 1 {
		t.Fatalf("tables %v", tables)
	}
}
