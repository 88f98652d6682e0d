package pgmeta

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is one test's database, handler and HTTP server.
type env struct {
	t    *testing.T
	url  string
	pool *pgxpool.Pool
	h    *Handler
	srv  *httptest.Server
}

type envOpt func(*Options, *pgxpool.Config)

func withTimeout(d time.Duration) envOpt {
	return func(o *Options, _ *pgxpool.Config) { o.StatementTimeout = d }
}

func withKey(k string) envOpt { return func(o *Options, _ *pgxpool.Config) { o.CryptoKey = k } }

func withMaxConns(n int32) envOpt {
	return func(_ *Options, c *pgxpool.Config) { c.MaxConns = n }
}

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	url := pgtest.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, f := range opts {
		f(&o, cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.Pool = pool
	h := New(o)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
		pool.Close()
	})
	return &env{t: t, url: url, pool: pool, h: h, srv: srv}
}

// exec runs SQL directly (not through the handler).
func (e *env) exec(sql string) {
	e.t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql); err != nil {
		if len(sql) > 80 {
			sql = sql[:80] + "..."
		}
		e.t.Fatalf("exec %q: %v", sql, err)
	}
}

func (e *env) scalar(sql string, args ...any) any {
	e.t.Helper()
	var v any
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		e.t.Fatalf("%q: %v", sql, err)
	}
	return v
}

// do sends a request; body is JSON-encoded unless it is a string.
func (e *env) do(method, path string, body any, headers ...string) (int, []byte) {
	e.t.Helper()
	return e.doCtx(context.Background(), method, path, body, headers...)
}

func (e *env) doCtx(ctx context.Context, method, path string, body any, headers ...string) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil
		}
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Errorf("%s %s: Content-Type %q, body %s", method, path, ct, out)
	}
	return resp.StatusCode, out
}

// must sends a request that must answer 200 and decodes the answer.
func must[T any](e *env, method, path string, body any, headers ...string) T {
	e.t.Helper()
	status, out := e.do(method, path, body, headers...)
	if status != http.StatusOK {
		e.t.Fatalf("%s %s: status %d: %s", method, path, status, out)
	}
	return decode[T](e.t, out)
}

// fails sends a request that must answer status and returns the error
// message.
func fails(e *env, status int, method, path string, body any, headers ...string) string {
	e.t.Helper()
	got, out := e.do(method, path, body, headers...)
	if got != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, status, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		e.t.Fatalf("%s %s: not a JSON object: %s", method, path, out)
	}
	msg, ok := m["error"].(string)
	if !ok {
		e.t.Fatalf("%s %s: no error message: %s", method, path, out)
	}
	return msg
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

type obj = map[string]any

// find returns the object in list whose key equals val.
func find(t *testing.T, list []obj, key string, val any) obj {
	t.Helper()
	for _, o := range list {
		if o[key] == val {
			return o
		}
	}
	t.Fatalf("no object with %s=%v in %d objects", key, val, len(list))
	return nil
}

func has(list []obj, key string, val any) bool {
	for _, o := range list {
		if o[key] == val {
			return true
		}
	}
	return false
}

func num(v any) int64 {
	n, err := v.(json.Number).Int64()
	if err != nil {
		panic(err)
	}
	return n
}

func jsonStr(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
