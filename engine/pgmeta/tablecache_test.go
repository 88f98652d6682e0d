package pgmeta

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/test/pgtest"
)

// fullTables is the list as the single full query (tablesSource, no
// cache) writes it.
func (e *env) fullTables(qs string) string {
	e.t.Helper()
	f, aerr := parseFilter(httptest.NewRequest("GET", "/pg/tables?"+qs, nil), kinds["tables"])
	if aerr != nil {
		e.t.Fatal(aerr)
	}
	out, err := fetchList(context.Background(), e.pool, kinds["tables"], f)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(out)
}

func (e *env) tables(qs string) string {
	e.t.Helper()
	return string(mustStatus(e.t, e, 200, "GET", "/pg/tables?"+qs, nil))
}

// hit requests the list until an answer comes from the cache (another
// session's transaction, e.g. autovacuum's, changes the catalog state and
// costs a miss) and returns it.
func (e *env) hit(qs string) string {
	e.t.Helper()
	for range 20 {
		before := e.h.tables.hits.Load()
		out := e.tables(qs)
		if e.h.tables.hits.Load() > before {
			return out
		}
	}
	e.t.Fatalf("/pg/tables?%s: never answered from the cache", qs)
	return ""
}

// TestTablesCacheAnswersAsTheFullQuery: cached or not, the list is byte
// for byte what the one query with every field gives.
func TestTablesCacheAnswersAsTheFullQuery(t *testing.T) {
	e := newEnv(t)
	fixture(t, e)
	e.exec("CREATE TABLE public.empty_table (); CREATE TABLE app.\"we\"\"ird\" (x int); COMMENT ON TABLE app.\"we\"\"ird\" IS E'line\\nbreak \"quoted\" \\\\'")
	for _, qs := range []string{
		"", "included_schemas=app", "included_schemas=public", "excluded_schemas=app", "included_schemas=nothing",
		"include_columns=false", "included_schemas=app&limit=1&offset=1", "offset=2", "limit=2",
	} {
		want := e.fullTables(qs)
		if got := e.tables(qs); got != want {
			t.Errorf("?%s (first): got\n%s\nwant\n%s", qs, got, want)
		}
		if got := e.hit(qs); got != want {
			t.Errorf("?%s (cached): got\n%s\nwant\n%s", qs, got, want)
		}
	}
}

// TestTablesCacheSeesCatalogChanges: after a committed catalog change the
// next list has it; an uncommitted one is not seen, then seen once
// committed.
func TestTablesCacheSeesCatalogChanges(t *testing.T) {
	e := newEnv(t)
	fixture(t, e)
	const qs = "included_schemas=app"
	e.hit(qs)
	for _, ddl := range []string{
		"ALTER TABLE app.users ADD COLUMN nick text",
		"COMMENT ON COLUMN app.users.nick IS 'handle'",
		"ALTER TABLE app.posts RENAME TO articles",
		"CREATE TABLE app.tags (id int PRIMARY KEY, post_id int REFERENCES app.articles)",
		"ALTER TYPE app.mood ADD VALUE 'meh'",
		"CREATE FUNCTION app.dflt() RETURNS int LANGUAGE sql AS 'SELECT 1'; ALTER TABLE app.tags ALTER COLUMN post_id SET DEFAULT app.dflt()",
		"ALTER FUNCTION app.dflt() RENAME TO renamed_dflt", // only the default's text changes
		"ALTER TABLE app.tags ADD CONSTRAINT post_positive CHECK (post_id > 0)",
		"ALTER TABLE app.users ENABLE ROW LEVEL SECURITY",
		"DROP TABLE app.tags",
	} {
		before := e.tables(qs)
		e.exec(ddl)
		got, want := e.tables(qs), e.fullTables(qs)
		if got != want {
			t.Fatalf("after %q: got\n%s\nwant\n%s", ddl, got, want)
		}
		if got == before {
			t.Fatalf("after %q: the list did not change", ddl)
		}
	}

	// a change in a transaction still open, then committed
	ctx := context.Background()
	other, err := pgx.Connect(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	before := e.hit(qs)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// (nothing that locks out the list's reads: it measures each table)
	if _, err := tx.Exec(ctx, "CREATE TABLE app.pending (x int); COMMENT ON TABLE app.users IS 'pending'"); err != nil {
		t.Fatal(err)
	}
	if got := e.tables(qs); got != before {
		t.Fatalf("uncommitted changes visible:\n%s", got)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.tables(qs); !strings.Contains(got, `"name":"pending"`) || !strings.Contains(got, `"comment":"pending"`) || got != e.fullTables(qs) {
		t.Fatalf("committed changes not visible:\n%s", got)
	}
}

// TestTablesCacheFreshStats: an answer from the cache has the row
// estimates of the moment, which change without a transaction.
func TestTablesCacheFreshStats(t *testing.T) {
	e := newEnv(t, withMaxConns(1)) // one session: the INSERT's, whose counts are flushed
	e.exec("CREATE TABLE counted (a int)")
	e.exec("INSERT INTO counted SELECT generate_series(1, 10)")
	e.exec("SELECT pg_stat_force_next_flush()") // this session's counts go to the shared stats
	const qs = "included_schemas=public"
	if got := e.tables(qs); !strings.Contains(got, `"live_rows_estimate":10`) {
		t.Fatalf("live rows not 10: %s", got)
	}
	for range 20 {
		e.exec("SELECT pg_stat_reset_single_table_counters('counted'::regclass)")
		before := e.h.tables.hits.Load()
		got := e.tables(qs)
		if e.h.tables.hits.Load() == before {
			continue // a miss: try again for a hit
		}
		if !strings.Contains(got, `"live_rows_estimate":0`) {
			t.Fatalf("cached answer with stale stats: %s", got)
		}
		return
	}
	t.Fatal("never answered from the cache")
}

// TestTablesCachePerDatabase: two databases of one server (so one
// catalog state) through one handler each have their own list.
func TestTablesCachePerDatabase(t *testing.T) {
	const key = "tables-cache-key"
	e := newEnv(t, withKey(key))
	second := pgtest.NewDatabase(t)
	hdr := encrypt(t, second, key)
	e.exec("CREATE TABLE only_in_first (x int)")
	must[[]obj](e, "POST", "/pg/query", query("CREATE TABLE only_in_second (x int)"), "X-Connection-Encrypted", hdr)
	const qs = "included_schemas=public"
	for range 3 {
		if got := names(must[[]obj](e, "GET", "/pg/tables?"+qs, nil)); len(got) != 1 || got[0] != "only_in_first" {
			t.Fatalf("default database: %v", got)
		}
		if got := names(must[[]obj](e, "GET", "/pg/tables?"+qs, nil, "X-Connection-Encrypted", hdr)); len(got) != 1 || got[0] != "only_in_second" {
			t.Fatalf("second database: %v", got)
		}
	}
	if e.h.tables.hits.Load() == 0 {
		t.Fatal("no answer from the cache")
	}
}
