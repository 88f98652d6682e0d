package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/test/enginetest"
)

// pgMetaTables is the catalog size the /pg/ API is measured at.
const pgMetaTables = 500

// BenchmarkPGMeta: the /pg/ admin API at 10 concurrent clients on a
// database of 500 tables. /pg/query `select 1` runs side by side with the
// same statement through pgx (the cost of HTTP, JSON and the /pg/ session
// hygiene); /pg/tables (every table with its columns, keys and
// relationships, built in Postgres) has no baseline worth the name and is
// reported as req/s and p50.
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

	// Ten clients whatever the core count.
	parallelism := max(1, 10/runtime.GOMAXPROCS(0))
	b.Run("query-select-1/baseline=pgx", func(b *testing.B) {
		b.SetParallelism(parallelism)
		latencies(b, func() error {
			var one int
			return pool.QueryRow(ctx, "select 1").Scan(&one)
		})
	})
	c := client()
	post := func(path, body string) func() error {
		return func() error { return do(c, http.MethodPost, e.URL+path, body) }
	}
	b.Run("query-select-1/engine", func(b *testing.B) {
		b.SetParallelism(parallelism)
		latencies(b, post("/pg/query", `{"query":"select 1"}`))
	})
	b.Run(fmt.Sprintf("tables-%d/engine", pgMetaTables), func(b *testing.B) {
		b.SetParallelism(parallelism)
		latencies(b, func() error { return do(c, http.MethodGet, e.URL+"/pg/tables?included_schemas=public", "") })
	})
}

func do(c *http.Client, method, url, body string) error {
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d", method, url, resp.StatusCode)
	}
	return nil
}

// latencies runs f in parallel and reports req/s and the median latency.
func latencies(b *testing.B, f func() error) {
	b.Helper()
	var mu sync.Mutex
	var all []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t := time.Now()
			if err := f(); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t))
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
}
