package api

// Reading a source through the request's open run_sql transaction, for
// the schema cache build that checks the request's metadata: it must see
// the SQL's uncommitted changes, and it cannot wait on the locks the SQL
// holds (the transaction commits only after the build).

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/schemacache"
)

// buildReads are the request's catalogs and transactions, for
// schemacache.Build.
func (t *txn) buildReads() schemacache.Reads {
	conns := make(map[string]schemacache.Querier, len(t.sql))
	for name, tx := range t.sql {
		conns[name] = savepointQuerier{tx.Conn()}
	}
	return schemacache.Reads{Catalogs: t.catalogs, Conns: conns}
}

// savepointQuerier runs each query inside the transaction under a
// savepoint: a read that fails (the build tolerates that) must not abort
// the transaction, whose COMMIT would then silently roll back the
// request's SQL.
type savepointQuerier struct{ conn *pgx.Conn }

const (
	savepoint         = "SAVEPOINT strata_build_read"
	releaseSavepoint  = "RELEASE SAVEPOINT strata_build_read"
	rollbackSavepoint = "ROLLBACK TO SAVEPOINT strata_build_read; RELEASE SAVEPOINT strata_build_read"
)

func (q savepointQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if _, err := q.conn.Exec(ctx, savepoint); err != nil {
		return nil, err
	}
	rows, err := q.conn.Query(ctx, sql, args...)
	if err != nil {
		q.end(ctx, err)
		return nil, err
	}
	return &savepointRows{Rows: rows, ctx: ctx, q: q}, nil
}

func (q savepointQuerier) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := q.Query(ctx, sql, args...)
	return firstRow{rows, err}
}

// end releases the savepoint, or rolls back to it after err. Should that
// fail too, the transaction is left failed and commitSQL refuses it.
func (q savepointQuerier) end(ctx context.Context, err error) {
	stmt := releaseSavepoint
	if err != nil {
		stmt = rollbackSavepoint
	}
	_, _ = q.conn.Exec(context.WithoutCancel(ctx), stmt, pgx.QueryExecModeSimpleProtocol)
}

// savepointRows ends the savepoint when closed.
type savepointRows struct {
	pgx.Rows
	ctx    context.Context
	q      savepointQuerier
	closed bool
}

func (r *savepointRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.q.end(r.ctx, r.Rows.Err())
}

// firstRow is pgx's QueryRow over savepointRows: Scan reads the first
// row, then closes the rows (ending the savepoint).
type firstRow struct {
	rows pgx.Rows
	err  error
}

func (r firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// failedSQL is the error for a transaction that can no longer commit.
func failedSQL(source string) error {
	return apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "the SQL transaction on source %q failed", source)
}
