package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// migration is one step of the catalog schema. Steps are applied in order,
// each at most once per database, and recorded in
// hdb_catalog.strata_schema_migrations. Never edit a released step; append a
// new one.
type migration struct {
	version    int
	name       string
	statements []string
}

// migrations is the catalog schema, oldest first; versions are 1, 2, 3, ...
//
// The statements use IF NOT EXISTS and insert-if-absent so that a database
// Hasura v2 already set up (which has these tables, in this shape) is adopted
// rather than rejected, keeping its document, resource_version, uuid and
// catalog version.
var migrations = []migration{
	{
		version: 1,
		name:    "hdb_metadata and hdb_version",
		statements: []string{
			// json, not jsonb: jsonb re-orders keys, drops duplicate keys and
			// reformats, while json keeps the document's exact text. Metadata
			// export must return the document as it was written (key order is
			// visible to users and diff tools), and this is Hasura's own type.
			`CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_metadata (
				id integer PRIMARY KEY,
				metadata json NOT NULL,
				resource_version integer NOT NULL DEFAULT 1 UNIQUE
			)`,
			// gen_random_uuid() is built into Postgres 13 and later.
			`CREATE TABLE IF NOT EXISTS hdb_catalog.hdb_version (
				hasura_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
				version text NOT NULL,
				upgraded_on timestamptz NOT NULL,
				cli_state jsonb NOT NULL DEFAULT '{}'::jsonb,
				console_state jsonb NOT NULL DEFAULT '{}'::jsonb
			)`,
			// Hasura's guard that the table has at most one row.
			`CREATE UNIQUE INDEX IF NOT EXISTS hdb_version_one_row ON hdb_catalog.hdb_version ((version IS NOT NULL))`,
			`INSERT INTO hdb_catalog.hdb_version (version, upgraded_on)
				SELECT '` + CatalogVersion + `', now()
				WHERE NOT EXISTS (SELECT 1 FROM hdb_catalog.hdb_version)`,
		},
	},
}

// migrateLockKey is the pg_advisory_xact_lock key that serialises schema
// migration across processes: "STRATAM1" read as a big-endian int64.
const migrateLockKey int64 = 0x5354524154414d31

// migrate applies the missing migrations.
//
// The common case, a database that is up to date, is answered by one read
// without locks or DDL (so it also works for a role that may not create
// schemas). Otherwise everything happens in one transaction that first takes
// a transaction-scoped advisory lock: without it, replicas starting together
// would race, and even CREATE ... IF NOT EXISTS fails with a unique violation
// in the system catalogs when two sessions create the same object at once.
// The lock is released by commit or rollback, so a crashed replica cannot
// leave it behind. Under the lock the applied versions are read again, so
// each migration runs once even if several replicas got here.
func (s *Store) migrate(ctx context.Context) error {
	if applied, err := appliedMigrations(ctx, s.pool); err == nil && pending(applied) == nil {
		s.warnIfNewer(applied)
		return nil
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("metadata store: migrate: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("metadata store: migrate: lock: %w", err)
	}
	for _, stmt := range []string{
		`CREATE SCHEMA IF NOT EXISTS hdb_catalog`,
		`CREATE TABLE IF NOT EXISTS hdb_catalog.strata_schema_migrations (
			version int PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("metadata store: migrate: %w", err)
		}
	}
	applied, err := appliedMigrations(ctx, tx)
	if err != nil {
		return err
	}
	todo := pending(applied)
	for _, m := range todo {
		for _, stmt := range m.statements {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("metadata store: migration %d (%s): %w", m.version, m.name, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO hdb_catalog.strata_schema_migrations (version) VALUES ($1)`, m.version); err != nil {
			return fmt.Errorf("metadata store: migration %d (%s): %w", m.version, m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("metadata store: migrate: commit: %w", err)
	}
	s.warnIfNewer(applied)
	for _, m := range todo {
		s.log.Info("applied catalog migration", "version", m.version, "name", m.name)
	}
	return nil
}

type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// appliedMigrations lists the recorded migration versions. It fails if the
// table does not exist yet.
func appliedMigrations(ctx context.Context, q rowsQuerier) ([]int, error) {
	rows, err := q.Query(ctx, `SELECT version FROM hdb_catalog.strata_schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("metadata store: read migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("metadata store: read migrations: %w", err)
	}
	return versions, nil
}

// pending returns the migrations not in applied, in order.
func pending(applied []int) []migration {
	var todo []migration
	for _, m := range migrations {
		if !slices.Contains(applied, m.version) {
			todo = append(todo, m)
		}
	}
	return todo
}

// warnIfNewer logs when the database has migrations this binary does not know,
// i.e. a newer engine migrated it (as during a rolling upgrade). Migrations
// are additive, so this binary carries on.
func (s *Store) warnIfNewer(applied []int) {
	known := migrations[len(migrations)-1].version
	if n := len(applied); n > 0 && applied[n-1] > known {
		s.log.Warn("catalog schema is newer than this engine", "database_version", applied[n-1], "engine_version", known)
	}
}
