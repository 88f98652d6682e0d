package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/strata-dev/strata/engine"
	"github.com/strata-dev/strata/engine/config"
)

// localAdminSecret is the admin secret of in-process engines for classes
// marked admin_secret. Fixed so a failing run can be replayed by hand.
const localAdminSecret = "cnf-7f3a91c4e2b85d06"

// engineSettings is what a class needs from its engine.
type engineSettings struct {
	AdminSecret bool
	Env         []envVar // sorted by name
}

func (s engineSettings) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "secret=%t", s.AdminSecret)
	for _, e := range s.Env {
		fmt.Fprintf(&b, "\x00%s=%s", e.Name, e.Value)
	}
	return b.String()
}

// engines hands out the engine a class runs against.
type engines interface {
	// get returns the engine for the settings, or a reason to skip the
	// class when they cannot be honoured.
	get(ctx context.Context, s engineSettings) (eng *engineRef, skip string, err error)
	close()
}

// externalEngine is --engine: one running engine whose settings we cannot
// change.
type externalEngine struct {
	ref engineRef
}

func (x *externalEngine) get(_ context.Context, s engineSettings) (*engineRef, string, error) {
	if len(s.Env) > 0 {
		var kv []string
		for _, e := range s.Env {
			kv = append(kv, e.Name+"="+e.Value)
		}
		return nil, "needs hge_env " + strings.Join(kv, " ") + " (external engine)", nil
	}
	if s.AdminSecret && x.ref.Secret == "" {
		return nil, "needs an admin secret (pytest.mark.admin_secret): pass --admin-secret with an engine that has one", nil
	}
	return &x.ref, "", nil
}

func (x *externalEngine) close() {}

// localEngines starts engines in-process, one per distinct setting set,
// all on the same database, and keeps them until the run ends.
type localEngines struct {
	dbURL  string
	logDir string // "" discards engine logs
	mu     sync.Mutex
	byKey  map[string]*localEngine
	order  []*localEngine
}

type localEngine struct {
	ref    engineRef
	e      *engine.Engine
	cancel context.CancelFunc
	done   chan error
	log    *os.File
}

func newLocalEngines(dbURL, logDir string) *localEngines {
	return &localEngines{dbURL: dbURL, logDir: logDir, byKey: map[string]*localEngine{}}
}

func (l *localEngines) get(ctx context.Context, s engineSettings) (*engineRef, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if le, ok := l.byKey[s.key()]; ok {
		return &le.ref, "", nil
	}
	le, err := l.start(ctx, s)
	if err != nil {
		return nil, "", err
	}
	l.byKey[s.key()] = le
	l.order = append(l.order, le)
	return &le.ref, "", nil
}

func (l *localEngines) start(ctx context.Context, s engineSettings) (*localEngine, error) {
	env := map[string]string{
		"HASURA_GRAPHQL_DATABASE_URL": l.dbURL,
		"HASURA_GRAPHQL_SERVER_HOST":  "127.0.0.1",
		// Hasura's CI runs its server so (.circleci/test-server.sh), and
		// the expected responses were recorded that way.
		"HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES": "true",
	}
	for _, e := range s.Env { // the class's hge_env marks win, as upstream
		env[e.Name] = e.Value
	}
	le := &localEngine{}
	if s.AdminSecret {
		env["HASURA_GRAPHQL_ADMIN_SECRET"] = localAdminSecret
		le.ref.Secret = localAdminSecret
	}
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return nil, fmt.Errorf("engine config: %w", err)
	}

	var logw io.Writer = io.Discard
	if l.logDir != "" {
		f, err := os.Create(filepath.Join(l.logDir, fmt.Sprintf("engine-%d.log", len(l.order)+1)))
		if err != nil {
			return nil, err
		}
		le.log, logw = f, f
	}
	logger := slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: cfg.LogLevel}))

	e, err := engine.New(ctx, cfg, logger)
	if err != nil {
		le.closeLog()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.Close()
		le.closeLog()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	le.e, le.cancel, le.done = e, cancel, make(chan error, 1)
	le.ref.URL = "http://" + ln.Addr().String()
	go func() { le.done <- e.Serve(sctx, ln) }()
	return le, nil
}

func (le *localEngine) closeLog() {
	if le.log != nil {
		_ = le.log.Close()
	}
}

// close stops every engine: graceful shutdown, then its pools.
func (l *localEngines) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, le := range l.order {
		le.cancel()
		if err := <-le.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "conformance: engine at %s: %v\n", le.ref.URL, err)
		}
		le.e.Close()
		le.closeLog()
	}
	l.order, l.byKey = nil, map[string]*localEngine{}
}
