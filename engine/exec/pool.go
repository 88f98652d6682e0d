// Package exec owns the engine's connections to Postgres: one pgx pool per
// database URL, opened and checked at start-up.
package exec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolOptions size a pool.
type PoolOptions struct {
	MaxConns int32
	// ConnectTimeout bounds the first connection (the start-up check).
	ConnectTimeout time.Duration
	// AppName is Postgres' application_name, visible in pg_stat_activity.
	AppName string
}

// Open parses url, opens a pool and proves it with one round trip. Errors
// name the host and database but never the password.
func Open(ctx context.Context, url string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can quote the URL, password included.
		return nil, errors.New("invalid database URL: cannot be parsed as a postgres:// connection string")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.AppName == "" {
		opts.AppName = "strata"
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = opts.AppName
	// Statements are cached per connection and described once; the SQL
	// the compiler emits is stable per (role, operation) so the cache hits.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement

	if opts.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.ConnectTimeout)
		defer cancel()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to postgres at %s: %s", where(cfg.ConnConfig), reason(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot connect to postgres at %s: %s", where(cfg.ConnConfig), reason(err))
	}
	return pool, nil
}

func where(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s/%s", net.JoinHostPort(c.Host, fmt.Sprint(c.Port)), c.Database)
}

// reason keeps the useful tail of a pgx connection error ("connection
// refused", "password authentication failed ...") without the DSN dump.
func reason(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}
