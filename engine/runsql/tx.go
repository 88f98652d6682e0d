package runsql

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/apierr"
)

// Tx is several run_sql calls in one transaction, committed or rolled back
// together: what Hasura does for the run_sql steps of one /v1/query or
// /v2/query request (a bulk whose later step fails undoes the earlier SQL).
type Tx struct {
	s        *session
	readOnly bool
	done     bool
}

// Begin opens a transaction on a connection from pool.
func Begin(ctx context.Context, pool *pgxpool.Pool, readOnly bool) (*Tx, *apierr.Error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, canceledError(ctx)
		}
		return nil, connError(err)
	}
	s := newSession(ctx, conn)
	if aerr := s.begin(readOnly); aerr != nil {
		s.release()
		return nil, aerr
	}
	return &Tx{s: s, readOnly: readOnly}, nil
}

// ReadOnly reports the transaction's access mode.
func (t *Tx) ReadOnly() bool { return t.readOnly }

// Exec runs one run_sql in the transaction, then check. After an error
// the transaction can only be rolled back.
func (t *Tx) Exec(args Args, check Check) (Result, *apierr.Error) {
	return t.s.exec(args, check)
}

// Conn is the transaction's connection, to read what it has changed so
// far (the catalog of a bulk's later steps). Do not end the transaction
// through it.
func (t *Tx) Conn() *pgx.Conn { return t.s.conn.Conn() }

// Commit commits and releases the connection.
func (t *Tx) Commit() *apierr.Error {
	if t.done {
		return nil
	}
	t.done = true
	defer t.s.release()
	return t.s.finish("COMMIT")
}

// Rollback undoes everything and releases the connection; safe after
// Commit.
func (t *Tx) Rollback() {
	if t.done {
		return
	}
	t.done = true
	t.s.finish("ROLLBACK")
	t.s.release()
}
