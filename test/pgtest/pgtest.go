// Package pgtest gives a test package one throwaway Postgres server and each
// test a fresh database on it, dropped when the test ends (failed or not).
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) { url := pgtest.NewDatabase(t) ... }
//
// The server starts on first use, so a package whose selected tests need no
// database starts none.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/pglocal"
)

var (
	mainCalled bool
	once       sync.Once
	server     *pglocal.Server
	startErr   error
	seq        atomic.Int64
)

// Main runs the package's tests and stops the server afterwards.
func Main(m *testing.M) { os.Exit(Run(m.Run)) }

// Run is Main for a TestMain that sets up more around the tests: run
// calls m.Run (or wraps it) and its code is returned once the server is
// stopped.
func Run(run func() int) int {
	mainCalled = true
	code := run()
	if server != nil {
		server.Stop()
	}
	return code
}

// Server returns the package's server, starting it on first use.
func Server(t testing.TB) *pglocal.Server {
	t.Helper()
	if !mainCalled {
		t.Fatal("pgtest: call pgtest.Main(m) from the package's TestMain so the server is stopped")
	}
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		server, startErr = pglocal.Start(ctx, pglocal.Options{})
	})
	if startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}
	return server
}

// NewDatabase creates a fresh, empty database for this test and returns
// its URL; it is dropped (sessions ended first) when the test finishes.
func NewDatabase(t testing.TB) string {
	t.Helper()
	srv := Server(t)
	name := dbName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, err := srv.CreateDatabase(ctx, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.DropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return url
}

// dbName makes a valid, unique, recognisable database name from a test name.
func dbName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 40 {
		s = s[:40]
	}
	return fmt.Sprintf("t%d_%s", seq.Add(1), s)
}

// Exec runs sql (one or more statements) on the database at url, straight
// through pgx, behind the engine's back; an error fails the test.
func Exec(t testing.TB, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
