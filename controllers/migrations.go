package controllers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/strata-dev/strata/controllers/hasuraproject"
	engineclient "github.com/strata-dev/strata/engine/client"
)

// Migrations are applied as the Hasura CLI's `migrate apply` does: each up
// migration once, in version order per source, recorded in the source's
// hdb_catalog.schema_migrations. Each runs with its record in one engine
// transaction (a /v2/query bulk), so a failed migration leaves neither its
// changes nor its record, and two appliers cannot both record a version.

const migrationsTable = `CREATE SCHEMA IF NOT EXISTS hdb_catalog;
CREATE TABLE IF NOT EXISTS hdb_catalog.schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL)`

// applyMigrations applies what is not applied yet and returns how many it
// applied. A source the engine does not have is an error: its Source (or
// the engine's env) must attach it first.
func applyMigrations(ctx context.Context, engine *engineclient.Client, migs []hasuraproject.Migration) (int, error) {
	applied := 0
	done := map[string]map[int64]bool{}
	for _, m := range migs {
		have, ok := done[m.Source]
		if !ok {
			var err error
			if have, err = appliedVersions(ctx, engine, m.Source); err != nil {
				return applied, err
			}
			done[m.Source] = have
		}
		if have[m.Version] {
			continue
		}
		// The migration's SQL and its record are separate steps of one
		// transaction, so SQL ending in a comment cannot swallow the
		// record.
		record := fmt.Sprintf("INSERT INTO hdb_catalog.schema_migrations (version, dirty) VALUES (%d, false)", m.Version)
		if err := engine.RunSQLBulk(ctx, m.Source, m.Up, record); err != nil {
			return applied, fmt.Errorf("migration %d_%s on source %q: %s", m.Version, m.Name, m.Source, redact(err.Error()))
		}
		have[m.Version] = true
		applied++
	}
	return applied, nil
}

// appliedVersions reads a source's applied migrations, creating the table
// on first use (only then: DDL through run_sql is not free).
func appliedVersions(ctx context.Context, engine *engineclient.Client, source string) (map[int64]bool, error) {
	const q = `SELECT version FROM hdb_catalog.schema_migrations WHERE NOT dirty`
	res, err := engine.RunSQL(ctx, source, q, true)
	if err != nil {
		if _, cerr := engine.RunSQL(ctx, source, migrationsTable, false); cerr != nil {
			return nil, fmt.Errorf("preparing hdb_catalog.schema_migrations on source %q: %s", source, redact(cerr.Error()))
		}
		if res, err = engine.RunSQL(ctx, source, q, true); err != nil {
			return nil, fmt.Errorf("reading applied migrations on source %q: %s", source, redact(err.Error()))
		}
	}
	have := map[int64]bool{}
	for i, row := range res.Result {
		if i == 0 || len(row) == 0 || row[0] == nil {
			continue // the header row
		}
		v, err := strconv.ParseInt(*row[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("hdb_catalog.schema_migrations on source %q: bad version %q", source, *row[0])
		}
		have[v] = true
	}
	return have, nil
}

// unattachedSource names the first source migrations are for that the
// engine does not have.
func unattachedSource(ctx context.Context, engine *engineclient.Client, migs []hasuraproject.Migration) (string, error) {
	if len(migs) == 0 {
		return "", nil
	}
	live, err := engine.ExportMetadata(ctx)
	if err != nil {
		return "", err
	}
	for _, m := range migs {
		if _, ok, err := liveSourceConfig(live.Metadata, m.Source); err != nil || !ok {
			return m.Source, err
		}
	}
	return "", nil
}
