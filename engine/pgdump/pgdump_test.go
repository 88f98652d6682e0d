package pgdump_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dev/strata/engine/config"
	enginexec "github.com/strata-dev/strata/engine/exec"
	"github.com/strata-dev/strata/engine/metadata/store"
	"github.com/strata-dev/strata/engine/pgdump"
	"github.com/strata-dev/strata/engine/schemacache"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "dump-secret"

func post(t *testing.T, url string, header http.Header, body string) (int, http.Header, string) {
	t.Helper()
	h := http.Header{"X-Hasura-Admin-Secret": {secret}}
	for k, v := range header {
		h[k] = v
	}
	return enginetest.Do(t, http.MethodPost, url, h, body)
}

func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

func pgDumpMajor(t *testing.T) int {
	out, err := exec.Command("pg_dump", "--version").Output()
	if err != nil {
		t.Skip("no pg_dump in PATH")
	}
	m := regexp.MustCompile(`\(PostgreSQL\) (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Skipf("pg_dump --version: %s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// Hasura's own fixture (server/tests-py/pgdump): authors and articles,
// dumped with -O -x --schema-only --schema public and cleaned, give its
// expected output, modulo what the pg_dump version changes. A trigger
// named like those of Hasura's event triggers is cleaned away too.
func TestPGDumpMatchesHasuraOnItsFixture(t *testing.T) {
	major := pgDumpMajor(t)
	e := enginetest.Start(t, func(c *config.Config) { c.AdminSecrets = []string{secret} })
	if status, _, out := post(t, e.URL+"/v1/query", nil, `{"type":"bulk","args":[
	 {"type":"run_sql","args":{"sql":"CREATE TABLE public.authors (id serial NOT NULL PRIMARY KEY, name text NOT NULL); CREATE TABLE public.articles (id serial NOT NULL PRIMARY KEY, author_id integer NOT NULL REFERENCES public.authors(id), title text NOT NULL, body text NOT NULL); CREATE SCHEMA IF NOT EXISTS hdb_catalog; CREATE FUNCTION hdb_catalog.\"notify_hasura_articles_INSERT\"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; CREATE TRIGGER \"notify_hasura_articles_INSERT\" AFTER INSERT ON public.articles FOR EACH ROW EXECUTE FUNCTION hdb_catalog.\"notify_hasura_articles_INSERT\"();"}},
	 {"type":"track_table","args":{"name":"authors"}},
	 {"type":"track_table","args":{"name":"articles"}}
	]}`); status != 200 {
		t.Fatalf("setup: %d %s", status, out)
	}
	status, h, body := post(t, e.URL+"/v1alpha1/pg_dump", nil, `{"opts":["-O","-x","--schema-only","--schema","public"],"clean_output":true}`)
	if status != 200 {
		t.Fatalf("pg_dump: %d %s", status, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/sql; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	want := hasuraExpected
	if major < 17 {
		want = strings.Replace(want, "SET transaction_timeout = 0;\n", "", 1)
	}
	if !strings.Contains(body, `\restrict hasura`) {
		// A pg_dump older than the restrict-key releases.
		want = strings.Replace(strings.Replace(want, "\\restrict hasura\n", "", 1), "\\unrestrict hasura\n", "", 1)
	}
	if body != want {
		t.Errorf("cleaned dump:\n%s\nwant:\n%s", body, want)
	}

	// Uncleaned, the dump is pg_dump's own output.
	_, _, raw := post(t, e.URL+"/v1alpha1/pg_dump", nil, `{"opts":["-O","-x","--schema-only","--schema","public"]}`)
	for _, s := range []string{"-- PostgreSQL database dump", "SET statement_timeout = 0;", `CREATE TRIGGER "notify_hasura_articles_INSERT"`} {
		if !strings.Contains(raw, s) {
			t.Errorf("raw dump lacks %q", s)
		}
	}

	// Data, from the source named.
	post(t, e.URL+"/v2/query", nil, `{"type":"run_sql","args":{"sql":"INSERT INTO authors (name) VALUES ('Ann')"}}`)
	status, _, data := post(t, e.URL+"/v1alpha1/pg_dump", nil, `{"opts":["--data-only","--inserts","-t","public.authors"],"clean_output":true,"source":"default"}`)
	if status != 200 || !strings.Contains(data, "INSERT INTO public.authors VALUES (1, 'Ann');") {
		t.Errorf("data dump: %d %s", status, data)
	}
}

// hasuraExpected is the expected response of Hasura's pg_dump test
// (server/tests-py/pgdump/pg_dump_public.yaml, made with pg_dump 17).
const hasuraExpected = `\restrict hasura
SET transaction_timeout = 0;
SET check_function_bodies = false;
CREATE TABLE public.articles (
    id integer NOT NULL,
    author_id integer NOT NULL,
    title text NOT NULL,
    body text NOT NULL
);
CREATE SEQUENCE public.articles_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.articles_id_seq OWNED BY public.articles.id;
CREATE TABLE public.authors (
    id integer NOT NULL,
    name text NOT NULL
);
CREATE SEQUENCE public.authors_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.authors_id_seq OWNED BY public.authors.id;
ALTER TABLE ONLY public.articles ALTER COLUMN id SET DEFAULT nextval('public.articles_id_seq'::regclass);
ALTER TABLE ONLY public.authors ALTER COLUMN id SET DEFAULT nextval('public.authors_id_seq'::regclass);
ALTER TABLE ONLY public.articles
    ADD CONSTRAINT articles_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.authors
    ADD CONSTRAINT authors_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.articles
    ADD CONSTRAINT articles_author_id_fkey FOREIGN KEY (author_id) REFERENCES public.authors(id);
\unrestrict hasura
`

func TestPGDumpRefusals(t *testing.T) {
	pgDumpMajor(t)
	e := enginetest.Start(t, func(c *config.Config) { c.AdminSecrets = []string{secret} })
	marker := filepath.Join(t.TempDir(), "written")
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		status int
		want   string
	}{
		{"not an admin", http.Header{"X-Hasura-Role": {"user"}}, `{"opts":[]}`, 400,
			`{"path":"$","error":"You have to be an admin to access this endpoint","code":"access-denied"}`},
		{"file output", nil, `{"opts":["-s","-f","` + marker + `"]}`, 400,
			`{"path":"$.opts[1]","error":"pg_dump option \"-f\" is not allowed: the dump is returned in the response, not written to a file","code":"bad-request"}`},
		{"-f /etc/passwd", nil, `{"opts":["-f","/etc/passwd"]}`, 400,
			`{"path":"$.opts[0]","error":"pg_dump option \"-f\" is not allowed: the dump is returned in the response, not written to a file","code":"bad-request"}`},
		{"--file=", nil, `{"opts":["-s","--file=x"]}`, 400,
			`{"path":"$.opts[1]","error":"pg_dump option \"--file\" is not allowed: the dump is returned in the response, not written to a file","code":"bad-request"}`},
		{"-d", nil, `{"opts":["-d","postgres://elsewhere/db"]}`, 400,
			`{"path":"$.opts[0]","error":"pg_dump option \"-d\" is not allowed: the source's database is dumped","code":"bad-request"}`},
		{"-h", nil, `{"opts":["-h","127.0.0.1"]}`, 400,
			`{"path":"$.opts[0]","error":"pg_dump option \"-h\" is not allowed: the source's database is dumped","code":"bad-request"}`},
		{"--host=", nil, `{"opts":["--host=127.0.0.1"]}`, 400,
			`{"path":"$.opts[0]","error":"pg_dump option \"--host\" is not allowed: the source's database is dumped","code":"bad-request"}`},
		{"another database", nil, `{"opts":["postgres://elsewhere/db"]}`, 400,
			`{"path":"$.opts[0]","error":"argument \"postgres://elsewhere/db\" is not an option: the database dumped is the source's","code":"bad-request"}`},
		{"binary format", nil, `{"opts":["-Fc"]}`, 400,
			`{"path":"$.opts[0]","error":"pg_dump format \"c\" is not allowed: only the plain text format is supported","code":"bad-request"}`},
		{"no opts", nil, `{"clean_output":true}`, 400,
			`{"path":"$","error":"key \"opts\" not found","code":"parse-failed"}`},
		{"opts not strings", nil, `{"opts":[1]}`, 400,
			`{"path":"$.opts[0]","error":"parsing [Char] failed, expected String, but encountered Number","code":"parse-failed"}`},
		{"unknown source", nil, `{"opts":[],"source":"nope"}`, 400,
			`{"path":"$","error":"source \"nope\" not found","code":"not-found"}`},
		{"pg_dump fails", nil, `{"opts":["--strict-names","-t","public.nothing_here"]}`, 500,
			`{"path":"$","error":"error while executing pg_dump","code":"unexpected","internal":"pg_dump: error: no matching tables were found for pattern \"public.nothing_here\""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := post(t, e.URL+"/v1alpha1/pg_dump", tc.header, tc.body)
			if status != tc.status || !sameJSON(body, tc.want) {
				t.Errorf("%d %s\nwant %d %s", status, body, tc.status, tc.want)
			}
		})
	}
	// An option's value is never read as an option: "-n --file=..." is a
	// schema pattern (that matches nothing), and nothing is written.
	if status, _, body := post(t, e.URL+"/v1alpha1/pg_dump", nil, `{"opts":["-s","-n","--file=`+marker+`"]}`); status != 500 || !strings.Contains(body, "no matching schemas were found") {
		t.Errorf("-n --file=...: %d %s", status, body)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("pg_dump wrote %s", marker)
	}
	if status, _, body := post(t, e.URL+"/v1alpha1/pg_dump", nil, ""); status != 400 || !strings.Contains(body, `"invalid-json"`) {
		t.Errorf("empty body: %d %s", status, body)
	}

	off := enginetest.Start(t, func(c *config.Config) { c.EnabledAPIs = []string{config.APIGraphQL, config.APIMetadata} })
	if status, _, body := post(t, off.URL+"/v1alpha1/pg_dump", nil, `{"opts":[]}`); status != 404 {
		t.Errorf("pgdump API disabled: %d %s", status, body)
	}
}

// fakeDump is a pg_dump stand-in: it answers --version and --help, and
// otherwise writes its pid, then n bytes of output, then exits with code
// (or sleeps when code is "sleep").
func fakeDump(t *testing.T, n int, code string) (bin, pidFile string) {
	dir := t.TempDir()
	bin, pidFile = filepath.Join(dir, "pg_dump"), filepath.Join(dir, "pid")
	tail := "exit " + code
	if code == "sleep" {
		tail = "exec sleep 60"
	}
	script := fmt.Sprintf(`#!/bin/sh
case "$1" in
--version) echo "pg_dump (PostgreSQL) 99.0"; exit 0;;
--help) echo "  --restrict-key=RESTRICT_KEY"; exit 0;;
esac
echo $$ > %s
echo "args: $*" >&2
head -c %d /dev/zero | tr '\0' 'x'
%s
`, pidFile, n, tail)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, pidFile
}

// handler serves pg_dump with bin against a fresh database.
func handler(t *testing.T, bin string) http.Handler {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool, err := enginexec.Open(ctx, url, enginexec.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, pool, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Initialize(ctx, json.RawMessage(`{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[],"configuration":{"connection_info":{"database_url":{"from_env":"DUMP_TEST_URL"}}}}]}`)); err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) { return url, k == "DUMP_TEST_URL" }
	sources := enginexec.NewSources(enginexec.PoolOptions{})
	t.Cleanup(sources.Close)
	cache := schemacache.New(st, sources, lookup, log)
	if _, err := cache.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	return pgdump.New(pgdump.Options{Cache: cache, LookupEnv: lookup, Log: log, ShowInternal: true, Binary: bin})
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func readPid(t *testing.T, f string) int {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(f); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the fake pg_dump did not start")
	return 0
}

// A client that goes away stops pg_dump.
func TestPGDumpStopsWhenTheClientLeaves(t *testing.T) {
	bin, pidFile := fakeDump(t, 3<<20, "sleep")
	srv := httptest.NewServer(handler(t, bin))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(`{"opts":["-s"]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The output streams before pg_dump is done.
	if _, err := io.ReadFull(resp.Body, make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, pidFile)
	if !alive(pid) {
		t.Fatal("pg_dump ended early")
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("pg_dump %d still runs after the client left", pid)
	}
}

func TestPGDumpFailures(t *testing.T) {
	// A failure within what is held back is a proper error, with
	// pg_dump's stderr; the arguments are the source's database, utf8,
	// the restrict key, no password prompt, then the client's options.
	bin, _ := fakeDump(t, 100, "1")
	srv := httptest.NewServer(handler(t, bin))
	defer srv.Close()
	status, _, body := post(t, srv.URL, nil, `{"opts":["-s","-n","x y"]}`)
	var e struct{ Error, Code, Internal string }
	_ = json.Unmarshal([]byte(body), &e)
	if status != 500 || e.Error != "error while executing pg_dump" || e.Code != "unexpected" ||
		!regexp.MustCompile(`^args: --dbname=postgres://[^ ]+ --encoding=utf8 --restrict-key=hasura --no-password -s -n x y$`).MatchString(e.Internal) {
		t.Errorf("%d %s", status, body)
	}

	// After the response has started, a failure cuts it off.
	bin, _ = fakeDump(t, 3<<20, "1")
	srv2 := httptest.NewServer(handler(t, bin))
	defer srv2.Close()
	resp, err := http.Post(srv2.URL, "application/json", strings.NewReader(`{"opts":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 || err == nil {
		t.Errorf("status %d, read %d bytes, err %v: want a broken 200", resp.StatusCode, n, err)
	}
}
