package pgmeta

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestQuerySessionReset: on a pool of one connection, what each /pg/query
// leaves in its session is gone for the next request, and the connection
// is reset in place (same backend throughout), not closed and reopened.
func TestQuerySessionReset(t *testing.T) {
	e := newEnv(t, withMaxConns(1))
	e.exec("CREATE ROLE pgmeta_reset_role NOLOGIN; CREATE TABLE t (a int); CREATE SEQUENCE seq")
	t.Cleanup(func() { e.exec("DROP OWNED BY pgmeta_reset_role; DROP ROLE pgmeta_reset_role") })
	// another session, to look at what the pooled one holds
	ctx := context.Background()
	observer, err := pgx.Connect(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { observer.Close(ctx) })
	observe := func(sql string) any {
		t.Helper()
		var v any
		if err := observer.QueryRow(ctx, sql).Scan(&v); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return v
	}
	one := func(sql string) any {
		t.Helper()
		rows := must[[]obj](e, "POST", "/pg/query", query(sql))
		if len(rows) != 1 || len(rows[0]) != 1 {
			t.Fatalf("%s: %v", sql, rows)
		}
		for _, v := range rows[0] {
			return v
		}
		return nil
	}
	pid := one("SELECT pg_backend_pid() AS pid")

	for _, c := range []struct {
		name, leave, check string
		want               any
	}{
		{"SET", "SET search_path = nowhere; SET statement_timeout = 1234",
			"SELECT current_setting('search_path') || ' ' || current_setting('statement_timeout') AS v", `"$user", public 0`},
		{"custom setting", "SELECT set_config('request.jwt.claims', 'secret', false)",
			"SELECT coalesce(current_setting('request.jwt.claims', true), '') AS v", ""},
		{"SET ROLE", "SET ROLE pgmeta_reset_role", "SELECT current_user AS v", "postgres"},
		{"SET SESSION AUTHORIZATION", "SET SESSION AUTHORIZATION pgmeta_reset_role", "SELECT session_user || ' ' || current_user AS v", "postgres postgres"},
		{"open transaction", "BEGIN; INSERT INTO t VALUES (1)", "SELECT count(*) AS v FROM t", json.Number("0")},
		{"temp table", "CREATE TEMP TABLE tmp (a int)", "SELECT count(*) AS v FROM pg_class WHERE relnamespace = pg_my_temp_schema()", json.Number("0")},
		{"LISTEN", "LISTEN pgmeta_channel", "SELECT count(*) AS v FROM pg_listening_channels()", json.Number("0")},
		{"PREPARE", "PREPARE leftover AS SELECT 1", "SELECT count(*) AS v FROM pg_prepared_statements WHERE from_sql", json.Number("0")},
		{"cursor", "BEGIN; DECLARE held CURSOR WITH HOLD FOR SELECT 1; COMMIT", "SELECT count(*) AS v FROM pg_cursors", json.Number("0")},
	} {
		must[[]obj](e, "POST", "/pg/query", query(c.leave))
		if got := one(c.check); got != c.want {
			t.Errorf("%s: after %q, %q gives %v, want %v", c.name, c.leave, c.check, got, c.want)
		}
	}
	// currval is session state: undefined again after a reset
	must[[]obj](e, "POST", "/pg/query", query("SELECT nextval('seq')"))
	if msg := decode[obj](t, mustStatus(t, e, 400, "POST", "/pg/query", query("SELECT currval('seq')"))); msg["code"] != "55000" {
		t.Errorf("currval after reset: %v", msg)
	}
	// an advisory lock is released: another session can take it
	must[[]obj](e, "POST", "/pg/query", query("SELECT pg_advisory_lock(4242)"))
	if got := observe("SELECT pg_try_advisory_lock(4242)"); got != true {
		t.Errorf("advisory lock still held by the pooled session")
	}
	observe("SELECT pg_advisory_unlock(4242)")
	// an open transaction's locks are released with it
	must[[]obj](e, "POST", "/pg/query", query("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE"))
	if got := observe("SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass"); got != int64(0) {
		t.Errorf("%v locks left on t", got)
	}

	if got := one("SELECT pg_backend_pid() AS pid"); got != pid {
		t.Errorf("backend %v, was %v: the connection was replaced, not reset", got, pid)
	}
}

// TestQueryResetKeepsPgxConsistent: DISCARD ALL (ours, or the user's own
// DEALLOCATE) drops the statements pgx prepared for the catalog reads on
// the same connection; pgx must forget them too or the next read fails.
func TestQueryResetKeepsPgxConsistent(t *testing.T) {
	e := newEnv(t, withMaxConns(1))
	e.exec("CREATE TABLE t (a int)")
	for _, sql := range []string{"SELECT 1", "DEALLOCATE ALL", "DISCARD ALL", "BEGIN; DEALLOCATE ALL"} {
		must[[]obj](e, "GET", "/pg/tables?included_schemas=public", nil) // prepares (and caches) its statement
		must[[]obj](e, "POST", "/pg/query", query(sql))
		if got := must[[]obj](e, "GET", "/pg/tables?included_schemas=public", nil); len(got) != 1 {
			t.Fatalf("after %q: tables %v", sql, got)
		}
		// the test's own pool use (pgx's statement cache) works too
		if got := e.scalar("SELECT count(*) FROM pg_class WHERE relname = $1", "t"); got != int64(1) {
			t.Fatalf("after %q: %v", sql, got)
		}
	}
}
