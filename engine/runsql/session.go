package runsql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/apierr"
)

const (
	beginReadWrite = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"
	beginReadOnly  = "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"

	// cancelTimeout bounds the out-of-band cancel request sent when ctx
	// ends mid-query; closeTimeout bounds closing the connection after.
	cancelTimeout = 3 * time.Second
	closeTimeout  = time.Second
)

// fingerprintSQL summarises the session state a statement can leave
// behind past COMMIT/ROLLBACK: settings changed with SET or set_config
// (source 'session'; the transaction_* ones change with BEGIN itself),
// SET ROLE / SESSION AUTHORIZATION, temporary tables, session advisory
// locks, LISTEN, prepared statements (PREPARE, DEALLOCATE) and WITH HOLD
// cursors. It runs right after BEGIN and right after COMMIT/ROLLBACK, in
// the same round trips, and a difference means the connection is closed
// instead of pooled.
//
// Hasura pools the connection regardless, so a run_sql "SET search_path"
// or "SET ROLE" leaks into whatever runs on that connection next. Here
// the pool is shared with the GraphQL executor, whose queries must not
// run under a user's role, search_path, DateStyle or client_encoding, so
// such a run costs one reconnection instead.
const fingerprintSQL = `SELECT concat_ws(E'\n', session_user, current_user,
 (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema()),
 (SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid()),
 (SELECT count(*) FROM pg_catalog.pg_listening_channels()),
 (SELECT count(*) FROM pg_catalog.pg_prepared_statements),
 (SELECT count(*) FROM pg_catalog.pg_cursors),
 (SELECT string_agg(name || '=' || coalesce(setting, ''), E'\n' ORDER BY name) FROM pg_catalog.pg_settings
   WHERE source = 'session' AND name NOT LIKE 'transaction\_%'))`

// session is one run_sql on one pooled connection.
//
// It speaks the simple query protocol itself (Frontend().Send and
// ReceiveMessage) rather than through PgConn.Exec because Exec does not
// handle COPY: after "COPY t FROM stdin" it would wait forever for data
// nobody sends, and it would hide "COPY ... TO stdout". Here, as with
// libpq under Hasura, a COPY makes run_sql fail and the COPY is ended.
//
// ctx is not handed to pgconn. Instead one context.AfterFunc puts a past
// deadline on the socket when ctx ends, which makes the blocked read or
// write fail at once; the session then sends Postgres a cancel request
// (the backend would otherwise keep running the statement, as it does
// not notice a closed socket while busy) and closes the connection
// rather than pooling it, since its state is unknown.
type session struct {
	ctx  context.Context
	conn *pgxpool.Conn
	pg   *pgconn.PgConn

	stopWatch func() bool
	fired     chan struct{}

	before string // fingerprint after BEGIN
	// broken: close the connection instead of returning it to the pool.
	broken bool
	// cancelBackend: a statement may still be running; cancel it first.
	cancelBackend bool
}

func newSession(ctx context.Context, conn *pgxpool.Conn) *session {
	s := &session{ctx: ctx, conn: conn, pg: conn.Conn().PgConn(), fired: make(chan struct{})}
	netConn := s.pg.Conn()
	s.stopWatch = context.AfterFunc(ctx, func() {
		_ = netConn.SetDeadline(time.Unix(1, 0))
		close(s.fired)
	})
	return s
}

func (s *session) run(args Args, check Check) (Result, *apierr.Error) {
	if aerr := s.begin(args.ReadOnly); aerr != nil {
		return Result{}, aerr
	}
	res, aerr := s.exec(args, check)
	if aerr != nil {
		s.finish("ROLLBACK")
		return Result{}, aerr
	}
	if aerr := s.finish("COMMIT"); aerr != nil {
		return Result{}, aerr
	}
	return res, nil
}

// begin opens the transaction and takes the session fingerprint.
func (s *session) begin(readOnly bool) *apierr.Error {
	if s.pg.TxStatus() != 'I' {
		// pgxpool never hands out a connection inside a transaction;
		// running in someone else's would be far worse than failing.
		s.broken = true
		return unexpectedError(errors.New("pooled connection is not idle"))
	}
	begin := beginReadWrite
	if readOnly {
		begin = beginReadOnly
	}
	out, aerr := s.query(begin + ";\n" + fingerprintSQL)
	if aerr != nil {
		return aerr
	}
	if out.pgErr != nil {
		s.broken = true
		if out.completed == 0 {
			return txError(begin, out.pgErr)
		}
		return unexpectedError(out.pgErr)
	}
	fp, ok := out.fingerprint()
	if !ok {
		s.broken = true
		return unexpectedError(errors.New("no session fingerprint"))
	}
	s.before = fp
	return nil
}

// exec runs the user's SQL, then check, inside the open transaction. On
// error the caller rolls back.
func (s *session) exec(args Args, check Check) (Result, *apierr.Error) {
	// PQexec takes a C string: Hasura runs the text up to the first NUL.
	sql := args.SQL
	if i := strings.IndexByte(sql, 0); i >= 0 {
		sql = sql[:i]
	}
	out, aerr := s.query(sql)
	if aerr != nil {
		return Result{}, aerr
	}
	res, qerr := out.result(args.SQL)
	if qerr != nil {
		return Result{}, qerr
	}
	if check != nil {
		if cerr := check(s.ctx, s.conn.Conn()); cerr != nil {
			return Result{}, cerr
		}
	}
	return res, nil
}

// finish ends the transaction with stmt and checks the session came out
// as it went in. The error is COMMIT's; a failed ROLLBACK only means the
// connection is not reused.
func (s *session) finish(stmt string) *apierr.Error {
	out, aerr := s.query(stmt + ";\n" + fingerprintSQL)
	if aerr != nil {
		return aerr
	}
	if out.pgErr != nil {
		s.broken = true
		if out.completed == 0 {
			return txError(stmt, out.pgErr)
		}
		return nil // the bookkeeping query failed: after COMMIT, the work is done
	}
	if fp, ok := out.fingerprint(); !ok || fp != s.before {
		s.broken = true
	}
	if s.pg.TxStatus() != 'I' {
		s.broken = true
	}
	return nil
}

// release returns the connection to the pool, or closes it when it may
// carry state from this run.
func (s *session) release() {
	if !s.stopWatch() {
		// ctx ended: the deadline is (being) set on the socket.
		<-s.fired
		s.broken = true
	}
	if s.broken {
		if s.cancelBackend {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), cancelTimeout)
			_ = s.pg.CancelRequest(ctx)
			cancel()
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), closeTimeout)
		_ = s.pg.Close(ctx)
		cancel()
	}
	// A closed connection is destroyed by the pool, not reused.
	s.conn.Release()
}

// stmtResult is one statement's result, as libpq's PGresult.
type stmtResult struct {
	empty   bool       // EmptyQueryResponse: PGRES_EMPTY_QUERY
	tuples  bool       // had a RowDescription: PGRES_TUPLES_OK
	rows    [][]string // header row, then the tuples
	badUTF8 string     // first decoding failure in rows, pg-client's text
}

// outcome is what one simple Query message produced.
type outcome struct {
	last      *stmtResult // last statement that completed, as PQexec keeps
	pgErr     *pgconn.PgError
	copyState string // libpq ExecStatus of the first COPY met: CopyIn, CopyOut
	completed int    // statements completed before pgErr
}

// fingerprint reads fingerprintSQL's value from a BEGIN/COMMIT batch.
func (o *outcome) fingerprint() (string, bool) {
	if o.last == nil || !o.last.tuples || len(o.last.rows) != 2 || len(o.last.rows[1]) != 1 {
		return "", false
	}
	return o.last.rows[1][0], true
}

// result turns the user's statements' outcome into Hasura's answer, in
// pg-client's checkResult order: a COPY stopped PQexec first, then an
// error or empty query is the last result, then the rows must decode.
func (o *outcome) result(sql string) (Result, *apierr.Error) {
	switch {
	case o.copyState != "":
		return Result{}, queryError(sql, "Unexpected execStatus : "+o.copyState)
	case o.pgErr != nil:
		return Result{}, queryError(sql, statementError(o.pgErr))
	case o.last == nil:
		// Every Query message ends in a result or an error; be safe.
		return Result{}, queryError(sql, "Unexpected execStatus : EmptyQuery")
	case o.last.empty:
		return Result{}, queryError(sql, &StatementError{ExecStatus: "EmptyQuery"})
	case !o.last.tuples:
		return Result{ResultType: ResultCommandOk}, nil
	case o.last.badUTF8 != "":
		return Result{}, queryError(sql, o.last.badUTF8)
	}
	return Result{ResultType: ResultTuplesOk, Result: o.last.rows}, nil
}

// query sends sql as one simple Query message and reads up to
// ReadyForQuery. A Postgres error is in the outcome; any other failure
// (ctx ended, connection lost, protocol trouble) is the returned error,
// and the connection is then done for.
func (s *session) query(sql string) (outcome, *apierr.Error) {
	var out outcome
	if s.ctx.Err() != nil {
		s.broken = true
		return out, canceledError(s.ctx)
	}
	fail := func(err error) (outcome, *apierr.Error) {
		s.broken = true
		s.cancelBackend = true // the server may be running sql
		if s.ctx.Err() != nil {
			return out, canceledError(s.ctx)
		}
		return out, connError(err)
	}

	fe := s.pg.Frontend()
	fe.Send(&pgproto3.Query{String: sql})
	if err := fe.Flush(); err != nil {
		return fail(err)
	}

	var cur *stmtResult // the statement whose rows are arriving
	for {
		msg, err := s.pg.ReceiveMessage(context.Background())
		if err != nil {
			return fail(err)
		}
		switch m := msg.(type) {
		case *pgproto3.RowDescription:
			cur = &stmtResult{tuples: true}
			header := make([]string, len(m.Fields))
			for i, f := range m.Fields {
				header[i] = cur.text(f.Name)
			}
			cur.rows = [][]string{header}
		case *pgproto3.DataRow:
			if cur == nil {
				return fail(errors.New("DataRow without RowDescription"))
			}
			row := make([]string, len(m.Values))
			for i, v := range m.Values {
				if v == nil {
					row[i] = "NULL"
				} else {
					row[i] = cur.text(v)
				}
			}
			cur.rows = append(cur.rows, row)
		case *pgproto3.CommandComplete:
			if cur == nil {
				cur = &stmtResult{}
			}
			out.last, cur = cur, nil
			out.completed++
		case *pgproto3.EmptyQueryResponse:
			out.last, cur = &stmtResult{empty: true}, nil
		case *pgproto3.ErrorResponse:
			// The server skips the rest of the string: this is the result.
			// A FATAL one is followed by the server closing the socket,
			// which the next read reports as a connection error.
			out.pgErr, cur = pgconn.ErrorResponseToPgError(m), nil
		case *pgproto3.CopyInResponse:
			// libpq's PQexec returns here with PGRES_COPY_IN and Hasura
			// fails; end the COPY so the server answers instead of waiting
			// for data (libpq ends it the same way on the next PQexec).
			if out.copyState == "" {
				out.copyState = "CopyIn"
			}
			fe.Send(&pgproto3.CopyFail{Message: "COPY terminated by new PQexec"})
			if err := fe.Flush(); err != nil {
				return fail(err)
			}
		case *pgproto3.CopyOutResponse:
			// The rows (CopyData) are discarded; run_sql fails with it.
			if out.copyState == "" {
				out.copyState = "CopyOut"
			}
		case *pgproto3.CopyBothResponse:
			// Only replication connections start this.
			return fail(fmt.Errorf("unexpected %T", m))
		case *pgproto3.ReadyForQuery:
			return out, nil
		}
	}
}

// text decodes a name or value, recording the first invalid UTF-8 the
// way Hasura's decodeUtf8' would fail on it. Invalid bytes are kept (the
// result is not used then).
func (r *stmtResult) text(b []byte) string {
	if r.badUTF8 == "" && !utf8.Valid(b) {
		for i := 0; i < len(b); {
			c, size := utf8.DecodeRune(b[i:])
			if c == utf8.RuneError && size <= 1 {
				r.badUTF8 = undecodable(b[i])
				break
			}
			i += size
		}
	}
	return string(b)
}
