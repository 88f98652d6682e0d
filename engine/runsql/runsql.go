// Package runsql is Hasura's run_sql: the schema API's escape hatch
// (POST /v2/query {"type":"run_sql","args":{...}} and the deprecated
// /v1/query) that runs arbitrary SQL and answers in Hasura's format.
//
// Hasura sends the text with libpq's PQexec inside a transaction, and
// clients depend on what that implies, so this package reproduces it:
//
//   - The simple query protocol, so one string may hold many statements
//     and every value comes back in Postgres' text format (booleans t/f,
//     timestamps and numerics as Postgres prints them), which is what
//     Hasura puts in the result verbatim.
//   - Only the last statement's result is reported, as PQexec returns only
//     the last PGresult; an error stops the string there and is the result.
//   - "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE|READ ONLY" before,
//     COMMIT after, ROLLBACK on any error: pg-client's runTx with Hasura's
//     default source isolation level.
//   - Errors carry pg-client's PGTxErr JSON as the admin-only internal.
//
// Postgres code: server/src-lib/Hasura/Backends/Postgres/DDL/RunSQL.hs,
// Hasura/RQL/DDL/Schema.hs (RunSQLRes), pg-client-hs Database/PG/Query.
package runsql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/strata-dev/strata/engine/aeson"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/apierr"
)

// Result types, Hasura's RunSQLRes result_type values.
const (
	ResultTuplesOk  = "TuplesOk"
	ResultCommandOk = "CommandOk"
)

// Result is run_sql's answer. For TuplesOk, Result holds the column names
// as its first row and then one row per tuple, every value in Postgres'
// text format and SQL NULL as the string "NULL" (so NULL and the text
// 'NULL' look alike, as in Hasura). For CommandOk, Result is nil and
// encodes as null.
type Result struct {
	ResultType string
	Result     [][]string
}

// MarshalJSON writes {"result_type":...,"result":...} in that key order,
// the order Hasura's generic encoding uses, so responses compare
// byte-for-byte. HTML characters are not escaped, as aeson does not.
func (r Result) MarshalJSON() ([]byte, error) {
	var rows any
	if r.ResultType != ResultCommandOk && r.Result != nil {
		rows = r.Result
	}
	return aeson.Marshal(struct {
		ResultType string `json:"result_type"`
		Result     any    `json:"result"`
	}{r.ResultType, rows})
}

// TxError is the Internal of a run_sql error that Postgres (or the result
// decoding) reported: pg-client's PGTxErr as Hasura encodes it. The field
// order is aeson's (keys sorted), so the encoding matches byte-for-byte:
//
//	{"arguments":[],"error":{...},"prepared":false,"statement":"..."}
type TxError struct {
	// Arguments is always empty: run_sql has no parameters.
	Arguments []string `json:"arguments"`
	// Error is a *StatementError for an error result, or a plain string
	// for pg-client's PGIUnexpected (COPY results, undecodable text).
	Error any `json:"error"`
	// Prepared is false for the user's SQL; true for BEGIN and COMMIT,
	// which pg-client sends as prepared statements.
	Prepared  bool   `json:"prepared"`
	Statement string `json:"statement"`
}

// StatementError is pg-client's PGStmtErrDetail: the fields libpq exposes
// for an error result. Empty fields are null.
type StatementError struct {
	Description *string `json:"description"` // DETAIL
	ExecStatus  string  `json:"exec_status"` // libpq ExecStatus, e.g. FatalError
	Hint        *string `json:"hint"`
	Message     *string `json:"message"`
	StatusCode  *string `json:"status_code"` // SQLSTATE
}

// Failure is the Internal of an error that did not come from Postgres
// (the connection failed or ctx ended). It wraps the cause, so
// errors.Is(f, context.Canceled) works, and encodes as the cause's text,
// like pg-client's PGConnErr.
type Failure struct{ Err error }

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// MarshalJSON encodes the failure as a JSON string.
func (f *Failure) MarshalJSON() ([]byte, error) { return json.Marshal(f.Err.Error()) }

// codeMaxConnections is Hasura's PostgresMaxConnectionsError code; the
// apierr package does not list it because nothing else emits it.
const codeMaxConnections = "postgres-max-connections-error"

// errPath is where Hasura reports every run_sql execution error: its
// query handlers run under withPathK "args".
const errPath = "$.args"

// IsCanceled reports whether e is Run's answer to ctx ending (canceled or
// past its deadline) rather than a database problem. Such an error is a
// 500 "unexpected" "database query error", which the caller may prefer
// to not write at all when the client has gone.
func IsCanceled(e *apierr.Error) bool {
	if e == nil {
		return false
	}
	f, ok := e.Internal.(*Failure)
	return ok && (errors.Is(f, context.Canceled) || errors.Is(f, context.DeadlineExceeded))
}

// Run executes args.SQL on a connection from pool, in one transaction, and
// returns Hasura's answer. args.Source is not looked at: the caller picks
// the pool.
//
// Errors, all with path "$.args":
//   - Postgres rejects the SQL (or a COPY starts, or the result is not
//     valid UTF-8): 400 postgres-error "query execution failed", Internal
//     a *TxError;
//   - BEGIN or COMMIT fails (say a deferred constraint): 500
//     postgres-error "postgres tx error", Internal a *TxError whose
//     statement is BEGIN/COMMIT (pg-client's FromPGTxErr);
//   - no connection, or it broke: 500 postgres-error "connection error"
//     (500 postgres-max-connections-error when Postgres has no slot),
//     Internal a *Failure (pg-client's FromPGConnErr);
//   - ctx ended: 500 unexpected "database query error", Internal a
//     *Failure wrapping ctx.Err(); IsCanceled tells it apart. The running
//     statement is cancelled in Postgres and the connection closed before
//     Run returns, so nothing is committed, unless ctx ended while COMMIT
//     itself was in flight (then, as for any client, the outcome is
//     unknown).
//
// The connection goes back to the pool only as clean as it came: idle,
// no transaction, and no session state left by the SQL (see session).
func Run(ctx context.Context, pool *pgxpool.Pool, args Args) (Result, *apierr.Error) {
	return RunChecked(ctx, pool, args, nil)
}

// Check runs inside run_sql's transaction, after the user's SQL and before
// COMMIT, on the same connection: it sees the SQL's effects, and an error
// it returns rolls them back. The metadata API uses it for Hasura's
// consistency check (a DROP that would break tracked objects is undone).
type Check func(ctx context.Context, conn *pgx.Conn) *apierr.Error

// RunChecked is Run with a Check before COMMIT; a nil check is Run.
func RunChecked(ctx context.Context, pool *pgxpool.Pool, args Args, check Check) (Result, *apierr.Error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, canceledError(ctx)
		}
		return Result{}, connError(err)
	}
	s := newSession(ctx, conn)
	defer s.release()
	return s.run(args, check)
}

func canceledError(ctx context.Context) *apierr.Error {
	return &apierr.Error{
		Status:   http.StatusInternalServerError,
		Code:     apierr.CodeUnexpected,
		Message:  "database query error",
		Path:     errPath,
		Internal: &Failure{Err: ctx.Err()},
	}
}

func connError(err error) *apierr.Error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "53300" { // too_many_connections
		return &apierr.Error{
			Status:   http.StatusInternalServerError,
			Code:     codeMaxConnections,
			Message:  "max connections reached on postgres",
			Path:     errPath,
			Internal: &Failure{Err: err},
		}
	}
	return &apierr.Error{
		Status:   http.StatusInternalServerError,
		Code:     apierr.CodePostgresError,
		Message:  "connection error",
		Path:     errPath,
		Internal: &Failure{Err: err},
	}
}

// unexpectedError is for the engine's own bookkeeping queries failing,
// which only a broken server or connection can cause.
func unexpectedError(err error) *apierr.Error {
	return &apierr.Error{
		Status:   http.StatusInternalServerError,
		Code:     apierr.CodeUnexpected,
		Message:  "database query error",
		Path:     errPath,
		Internal: &Failure{Err: err},
	}
}

// queryError is rawSqlErrHandler: the user's SQL failed.
func queryError(sql string, detail any) *apierr.Error {
	return &apierr.Error{
		Status:   http.StatusBadRequest,
		Code:     apierr.CodePostgresError,
		Message:  "query execution failed",
		Path:     errPath,
		Internal: &TxError{Arguments: []string{}, Error: detail, Prepared: false, Statement: sql},
	}
}

// txError is pg-client's FromPGTxErr for QErr: BEGIN or COMMIT failed.
func txError(stmt string, pgErr *pgconn.PgError) *apierr.Error {
	return &apierr.Error{
		Status:   http.StatusInternalServerError,
		Code:     apierr.CodePostgresError,
		Message:  "postgres tx error",
		Path:     errPath,
		Internal: &TxError{Arguments: []string{}, Error: statementError(pgErr), Prepared: true, Statement: stmt},
	}
}

func statementError(e *pgconn.PgError) *StatementError {
	return &StatementError{
		Description: nullIfEmpty(e.Detail),
		ExecStatus:  "FatalError",
		Hint:        nullIfEmpty(e.Hint),
		Message:     nullIfEmpty(e.Message),
		StatusCode:  nullIfEmpty(e.Code),
	}
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// undecodable is the text pg-client reports (via Data.Text's
// UnicodeException) when a column name or value is not valid UTF-8.
func undecodable(b byte) string {
	return fmt.Sprintf(`Cannot decode byte '\x%x': Data.Text.Internal.Encoding: Invalid UTF-8 stream`, b)
}
