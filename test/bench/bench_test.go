// Package bench measures the engine side by side with a baseline in the
// same run, against the same database: a ratio, never an absolute
// threshold. Run with `make bench`.
//
// What is measured grows with the engine: today the HTTP front (middleware
// + routing) against a bare net/http handler, and /healthz against the raw
// pgx round trip it wraps.
package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/version"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func hit(b *testing.B, client *http.Client, url string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func client() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// BenchmarkVersion: the engine's /v1/version vs a bare handler writing the
// same body: the cost of Strata's routing, request id and logging.
func BenchmarkVersion(b *testing.B) {
	e := enginetest.Start(b, nil)
	body, _ := json.Marshal(map[string]string{"version": version.Version, "server_type": version.ServerType})
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	}))
	defer bare.Close()

	b.Run("baseline=net/http", func(b *testing.B) { hit(b, client(), bare.URL) })
	b.Run("engine", func(b *testing.B) { hit(b, client(), e.URL+"/v1/version") })
}

// BenchmarkHealthz: /healthz (HTTP + a pool ping) vs the pgx ping alone.
func BenchmarkHealthz(b *testing.B) {
	e := enginetest.Start(b, nil)
	pool, err := pgxpool.New(context.Background(), e.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()

	b.Run("baseline=pgx-ping", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := pool.Ping(context.Background()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("engine", func(b *testing.B) { hit(b, client(), e.URL+"/healthz") })
}
