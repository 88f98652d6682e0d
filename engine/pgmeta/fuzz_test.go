package pgmeta

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/test/pgtest"
	"github.com/strata-dev/strata/test/testlog"
)

// FuzzHandler throws arbitrary paths, query strings, bodies and
// X-Connection-Encrypted headers (garbage, and real ciphertexts of
// arbitrary plaintexts) at the handler: no panic, no 5xx but the
// documented ones, and neither the default database's URL nor the crypto
// key in any answer or log line.
func FuzzHandler(f *testing.F) {
	const key = "fuzz-crypto-key-9f31"
	url := pgtest.NewDatabase(f)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		f.Fatal(err)
	}
	defer pool.Close()
	var logs testlog.Buffer
	h := New(Options{Pool: pool, CryptoKey: key, StatementTimeout: 2 * time.Second, Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	defer h.Close()

	for _, seed := range []struct {
		method        uint8
		path, query   string
		body, header  string
		encryptHeader bool
	}{
		{0, "tables", "include_system_schemas=true&limit=2", "", "", false},
		{1, "query", "", `{"query":"select 1"}`, "", false},
		{1, "query", "", `{"query":"select '` + "\x00" + `'"}`, "", false},
		{1, "query", "statementTimeoutSecs=-1", `{"query":"select pg_sleep(0)"}`, "", false},
		{1, "query", "", `{"query":"select current_setting('data_directory')","parameters":[1,"a",null,{"x":[1]}]}`, "", false},
		{1, "query", "", `{"query":1}`, "", false},
		{0, "tables/99999999999999999999", "", "", "", false},
		{0, "columns/1.2.3", "", "", "", false},
		{2, "tables/1", "", `{"name":"x\"; drop table y; --"}`, "", false},
		{3, "schemas/1", "cascade=maybe", "", "", false},
		{1, "schemas", "", `{"name":"a","owner":"nobody'; select 1; --"}`, "", false},
		{0, "tables", "", "", "not base64 %%%", false},
		{0, "tables", "", "", "U2FsdGVkX1+AAAAAAAAAAA==", false},
		{0, "tables", "", "", "postgres://someone:pw@127.0.0.1:1/db?sslmode=disable", true},
		{0, "tables", "", "", "postgres://u@/db?host=/etc&passfile=/etc/passwd", true},
		{0, "config/version", "", "", "", false},
		{0, "../../v1/metadata", "", "", "", false},
	} {
		f.Add(seed.method, seed.path, seed.query, seed.body, seed.header, seed.encryptHeader)
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete}
	f.Fuzz(func(t *testing.T, method uint8, path, query, body, header string, encryptHeader bool) {
		target := "/pg/" + path
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(methods[int(method)%len(methods)], "http://strata.test"+strings.ReplaceAll(target, " ", "%20"), strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		if header != "" {
			if encryptHeader {
				header = encrypt(t, header, key)
			}
			req.Header.Set("X-Connection-Encrypted", header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		answer := rec.Body.String()
		// 500 is a server fault, 502/503 an unreachable or full target
		// database: everything else a client causes must be a 4xx.
		if rec.Code == http.StatusInternalServerError {
			t.Errorf("%s %s: 500 %s", req.Method, target, answer)
		}
		for _, secret := range []string{url, key} {
			if strings.Contains(answer, secret) || strings.Contains(logs.String(), secret) {
				t.Fatalf("%s %s leaked %q: %s", req.Method, target, secret, answer)
			}
		}
	})
}
