package pglocal_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/pglocal"
)

func TestStartCreateDatabaseStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pglocal.Start(ctx, pglocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := srv.Dir()
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()

	url, err := srv.CreateDatabase(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var db, addr string
	if err := conn.QueryRow(ctx, "select current_database(), host(inet_server_addr())").Scan(&db, &addr); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if db != "app" || addr != "127.0.0.1" {
		t.Fatalf("connected to %q on %q, want app on 127.0.0.1 (loopback only)", db, addr)
	}
	if err := srv.DropDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	stopped = true
	srv.Stop() // idempotent
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data dir %s still there after Stop (err=%v)", dir, err)
	}
	if c, err := pgx.Connect(ctx, srv.URL("postgres")); err == nil {
		c.Close(ctx)
		t.Fatal("server still accepts connections after Stop")
	}
}
