// Package enginetest starts a real engine in-process on a loopback port,
// against a fresh database from pgtest, for tests that speak HTTP to it.
package enginetest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/strata-dev/strata/engine"
	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/pgtest"

	"github.com/strata-dev/strata/test/testlog"
)

// Engine is a running engine.
type Engine struct {
	URL         string         // http://127.0.0.1:port
	DatabaseURL string         // its database
	Config      *config.Config // what it runs with
	// Logs is the engine's log (JSON lines, debug level), for tests that
	// check what it logs.
	Logs *testlog.Buffer
}

// Start runs an engine for the rest of the test. configure, if given, may
// change the settings (the database URL is already set). The engine's log
// is printed only if the test fails.
func Start(t testing.TB, configure func(*config.Config)) *Engine {
	t.Helper()
	cfg := config.Default()
	cfg.DatabaseURL = pgtest.NewDatabase(t)
	cfg.ServerHost = "127.0.0.1"
	if configure != nil {
		configure(cfg)
	}
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	ctx, cancel := context.WithCancel(context.Background())
	e, err := engine.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("enginetest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		e.Close()
		t.Fatalf("enginetest: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("enginetest: serve: %v", err)
		}
		e.Close()
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	})
	return &Engine{URL: "http://" + ln.Addr().String(), DatabaseURL: cfg.DatabaseURL, Config: cfg, Logs: logs}
}

// Do sends one request (body "" sends none) and returns its status,
// headers and body; a request that cannot be sent fails the test.
func Do(t testing.TB, method, url string, header http.Header, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// PostJSON sends body, marshalled to JSON, with the headers, and returns
// the status and the decoded answer; an answer that is not JSON fails the
// test.
func PostJSON(t testing.TB, url string, body any, headers map[string]string) (int, any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range headers {
		h.Set(k, v)
	}
	status, _, raw := Do(t, http.MethodPost, url, h, string(b))
	var out any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, raw)
	}
	return status, out
}

// MustPost posts body to path of e (with no credentials: test engines run
// without an admin secret) and fails the test unless it answers 200.
func MustPost(t testing.TB, e *Engine, path string, body any) {
	t.Helper()
	if status, out := PostJSON(t, e.URL+path, body, nil); status != http.StatusOK {
		t.Fatalf("%s: %d %v", path, status, out)
	}
}
