package server_test

import (
	"context"
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

func TestMain(m *testing.M) { pgtest.Main(m) }

// do sends one request and returns the status, headers and body.
func do(t *testing.T, method, url string, header http.Header, body string) (int, http.Header, string) {
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

// startLogged runs an engine like enginetest.Start but with its log in a
// buffer the test reads: engine.New takes the logger, so no hook is needed.
func startLogged(t *testing.T, configure func(*config.Config)) (string, *testlog.Buffer) {
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
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		e.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		e.Close()
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	})
	return "http://" + ln.Addr().String(), logs
}
