package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/test/enginetest"
)

// pgMetaTables is the catalog size the /pg/ API is measured at.
const pgMetaTables = 500

// BenchmarkPGMeta: the /pg/ admin API at 10 concurrent clients on a
// database of 500 tables. /pg/query `select 1` runs side by side with the
// same statement through pgx (the cost of HTTP, JSON and the /pg/ session
// reset); /pg/tables (every table with its columns, keys and
// relationships) has no baseline worth the name and is reported as req/s
// and p50: steady, where the catalog part comes from the cache and only
// the sizes and row estimates are read, and with the catalog changing
// before every request (a COMMENT), where the whole list is built in
// Postgres each time.
func BenchmarkPGMeta(b *testing.B) {
	e := enginetest.Start(b, nil)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	var ddl strings.Builder
	for i := range pgMetaTables {
		fmt.Fprintf(&ddl, "CREATE TABLE t%03d (id serial PRIMARY KEY, name text NOT NULL, ref int REFERENCES t%03d, at timestamptz DEFAULT now());\n", i, max(i-1, 0))
	}
	if _, err := conn.Exec(ctx, ddl.String()); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)
	pool := rawPool(b, e.DatabaseURL, 10)

	const clients = 10
	b.Run("query-select-1/baseline=pgx", func(b *testing.B) {
		parallel(b, clients, func(*bytes.Buffer) error {
			var one int
			return pool.QueryRow(ctx, "select 1").Scan(&one)
		})
	})
	c := client()
	b.Run("query-select-1/engine", func(b *testing.B) {
		parallel(b, clients, func(buf *bytes.Buffer) error {
			return post(c, e.URL+"/pg/query", []byte(`{"query":"select 1"}`), buf)
		})
	})
	b.Run(fmt.Sprintf("tables-%d/engine", pgMetaTables), func(b *testing.B) {
		parallel(b, clients, func(buf *bytes.Buffer) error {
			return send(c, http.MethodGet, e.URL+"/pg/tables?included_schemas=public", nil, buf)
		})
	})
	var version atomic.Int64
	b.Run(fmt.Sprintf("tables-%d-catalog-changing/engine", pgMetaTables), func(b *testing.B) {
		parallel(b, clients, func(buf *bytes.Buffer) error {
			if _, err := pool.Exec(ctx, fmt.Sprintf("COMMENT ON TABLE t000 IS 'v%d'", version.Add(1))); err != nil {
				return err
			}
			return send(c, http.MethodGet, e.URL+"/pg/tables?included_schemas=public", nil, buf)
		})
	})
}
