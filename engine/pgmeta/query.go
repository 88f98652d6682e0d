package pgmeta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"
)

// POST /pg/query {"query": "...", "parameters": [...]}
//
// As postgres-meta (src/lib/db.ts, routes/query.ts):
//   - Without parameters the text goes out as one simple-protocol Query
//     message, so it may hold many statements; with parameters it is one
//     statement through the extended protocol, the values sent as text of
//     unspecified type (node-postgres' behaviour).
//   - The answer is the rows of the last result that has rows (node-pg
//     returns an array of results for a multi-statement string and
//     postgres-meta picks the last non-empty one), [] when none has.
//   - A Postgres error is 400 with the error's fields and a psql-style
//     "formattedError" (LINE n / caret / DETAIL / HINT / QUERY / CONTEXT),
//     "error" being the formatted text.
//   - The statement timeout (Options.StatementTimeout, or
//     ?statementTimeoutSecs=) is Postgres' statement_timeout, so running
//     past it is Postgres' "canceling statement due to statement timeout",
//     a 400 like any Postgres error. If the connection itself stops
//     answering, a backstop a few seconds later gives 408 "Query read
//     timeout" (postgres-meta's query_timeout answer).
//
// The connection comes from a pool shared with other requests, so it must
// go back as a new connection would be: after the user's SQL the session
// is reset with DISCARD ALL (after a ROLLBACK if a transaction was left
// open), which ends what a statement can leave behind: settings changed
// with SET or set_config (custom ones included) and the statement_timeout
// set here, SET ROLE / SET SESSION AUTHORIZATION, temporary tables,
// session advisory locks, LISTEN, SQL prepared statements, open cursors,
// cached plans and sequence state. DISCARD ALL also drops the statements
// pgx prepared on the connection for other requests, so pgx is told to
// forget them (DeallocateAll). A connection whose reset fails, or whose
// state is in doubt, is closed instead of pooled. The settings a pooled
// connection keeps are thus those of its connection string (startup
// parameters), the database and the role, never ones SET after connecting.
//
// When the client goes away mid-query, the backend is sent a cancel request
// at once (pgx alone only drops the socket, which a busy backend does not
// notice) and the connection is closed.

type field struct {
	name string
	oid  uint32
}

// stmtResult is one statement's rows (values copied out of pgconn's
// buffers; nil is NULL).
type stmtResult struct {
	fields []field
	rows   [][][]byte
}

// outcome is what one round trip produced.
type outcome struct {
	lastRows *stmtResult // last result with at least one row
	pgErr    *pgconn.PgError
}

type querySession struct {
	ctx context.Context
	pg  *pgconn.PgConn
	// broken: close the connection instead of pooling it.
	broken bool
}

// roundTrip sends msgs at once and reads up to the ReadyForQuery that
// ends each Query or Sync among them. A Postgres error (the first, when
// several messages fail) is in the outcome; the error return is a
// connection failure (or ctx ending), after which the connection is done
// for.
func (s *querySession) roundTrip(msgs ...pgproto3.FrontendMessage) (outcome, error) {
	var out outcome
	fe := s.pg.Frontend()
	pending := 0
	for _, m := range msgs {
		fe.Send(m)
		switch m.(type) {
		case *pgproto3.Query, *pgproto3.Sync:
			pending++
		}
	}
	if err := fe.Flush(); err != nil {
		s.broken = true
		return out, err
	}
	var cur *stmtResult
	for {
		msg, err := s.pg.ReceiveMessage(s.ctx)
		if err != nil {
			s.broken = true
			return out, err
		}
		switch m := msg.(type) {
		case *pgproto3.RowDescription:
			cur = &stmtResult{fields: make([]field, len(m.Fields))}
			for i, f := range m.Fields {
				cur.fields[i] = field{name: string(f.Name), oid: f.DataTypeOID}
			}
		case *pgproto3.DataRow:
			if cur == nil {
				s.broken = true
				return out, errors.New("pgmeta: DataRow without RowDescription")
			}
			row := make([][]byte, len(m.Values))
			for i, v := range m.Values {
				if v != nil {
					row[i] = append(make([]byte, 0, len(v)), v...)
				}
			}
			cur.rows = append(cur.rows, row)
		case *pgproto3.CommandComplete:
			if cur != nil && len(cur.rows) > 0 {
				out.lastRows = cur
			}
			cur = nil
		case *pgproto3.EmptyQueryResponse:
			cur = nil
		case *pgproto3.ErrorResponse:
			// The server skips the rest of the string. A FATAL error is
			// followed by the server closing the socket.
			if out.pgErr == nil {
				out.pgErr = pgconn.ErrorResponseToPgError(m)
			}
			cur = nil
		case *pgproto3.CopyInResponse:
			// Nobody is there to send the data: end the COPY, which makes
			// the server answer with an error.
			fe.Send(&pgproto3.CopyFail{Message: "COPY FROM STDIN is not supported by /pg/query"})
			if err := fe.Flush(); err != nil {
				s.broken = true
				return out, err
			}
		case *pgproto3.CopyOutResponse, *pgproto3.CopyData, *pgproto3.CopyDone:
			// COPY TO STDOUT: the data has no rows to show; skip it.
		case *pgproto3.CopyBothResponse:
			s.broken = true
			return out, fmt.Errorf("pgmeta: unexpected %T", m)
		case *pgproto3.ReadyForQuery:
			if pending--; pending <= 0 {
				return out, nil
			}
		}
	}
}

func (s *querySession) simple(sql string) (outcome, error) {
	return s.roundTrip(&pgproto3.Query{String: sql})
}

func (s *querySession) extended(sql string, params [][]byte) (outcome, error) {
	return s.roundTrip(
		&pgproto3.Parse{Query: sql},
		&pgproto3.Bind{Parameters: params},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
	)
}

type queryBody struct {
	Query      opt[string]            `json:"query"`
	Parameters opt[[]json.RawMessage] `json:"parameters"`
}

func (h *Handler) handleQuery(w http.ResponseWriter, r *http.Request, db *database) {
	var body queryBody
	if aerr := decodeBody(r, w, &body); aerr != nil {
		writeError(w, aerr.status, aerr.msg)
		return
	}
	if !body.Query.has() || body.Query.V == "" {
		writeError(w, http.StatusBadRequest, "query not found")
		return
	}
	if strings.IndexByte(body.Query.V, 0) >= 0 {
		writeError(w, http.StatusBadRequest, "query must not contain NUL characters")
		return
	}
	var params [][]byte
	if body.Parameters.has() && len(body.Parameters.V) > 0 {
		params = make([][]byte, len(body.Parameters.V))
		for i, p := range body.Parameters.V {
			v, err := paramText(p)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("body/parameters/%d: %v", i, err))
				return
			}
			params[i] = v
		}
	}
	timeout := h.opts.StatementTimeout
	if s := r.URL.Query().Get("statementTimeoutSecs"); s != "" {
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil || secs < 0 || math.IsNaN(secs) || math.IsInf(secs, 0) || secs > 1e6 {
			writeError(w, http.StatusBadRequest, "querystring/statementTimeoutSecs must be a non-negative number")
			return
		}
		timeout = time.Duration(secs * float64(time.Second))
	}

	ctx := r.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout+backstopGrace)
		defer cancel()
	}
	c, err := h.acquire(ctx, db)
	if err != nil {
		h.fail(w, r, err, http.StatusBadRequest)
		return
	}
	s := &querySession{ctx: ctx, pg: c.Conn().PgConn()}
	res, pgErr, err := h.runQuery(s, c, body.Query.V, params, timeout)
	if err != nil {
		h.fail(w, r, err, http.StatusBadRequest)
		return
	}
	if pgErr != nil {
		writeJSON(w, http.StatusBadRequest, pgErrorBody(pgErr, body.Query.V))
		return
	}
	writeJSONBytes(w, http.StatusOK, res)
}

// runQuery runs the user's SQL on c, resets the session (see above) and
// releases c. It returns the JSON rows, or the Postgres error, or a
// failure.
func (h *Handler) runQuery(s *querySession, c *pgxpool.Conn, sql string, params [][]byte, timeout time.Duration) (res []byte, pgErr *pgconn.PgError, err error) {
	stop := context.AfterFunc(s.ctx, func() { cancelBackend(s.pg) })
	defer func() {
		if !stop() {
			s.broken = true // ctx ended: a cancel request is (being) sent
		}
		if s.broken {
			closeConn(s.pg)
		}
		c.Release()
	}()

	if s.pg.TxStatus() != 'I' {
		s.broken = true
		return nil, nil, errors.New("pgmeta: pooled connection is not idle")
	}
	if timeout > 0 {
		o, err := s.simple("SET statement_timeout = " + strconv.FormatInt(max(timeout.Milliseconds(), 1), 10))
		if err != nil {
			return nil, nil, err
		}
		if o.pgErr != nil {
			s.broken = true
			return nil, nil, o.pgErr
		}
	}

	var o outcome
	if params != nil {
		o, err = s.extended(sql, params)
	} else {
		o, err = s.simple(sql)
	}
	if err != nil {
		if o.pgErr != nil {
			// e.g. FATAL, then the server hung up: the error is the answer
			return nil, o.pgErr, nil
		}
		return nil, nil, err
	}
	rd := &renderer{isoDates: strings.HasPrefix(s.pg.ParameterStatus("DateStyle"), "ISO")}
	if o.pgErr == nil && o.lastRows != nil && s.pg.TxStatus() != 'E' {
		if err := s.lookupTypes(rd, o.lastRows.fields); err != nil {
			return nil, nil, err
		}
	}
	if o.pgErr == nil {
		res = renderRows(rd, o.lastRows)
	}
	s.reset(c.Conn())
	return res, o.pgErr, nil
}

// reset makes the session what a new connection's is: a transaction left
// open is rolled back (not committed), then DISCARD ALL. pgx forgets the
// statements it prepared on the connection, which DISCARD ALL (or the
// user's own DEALLOCATE) removed. Any failure marks the connection broken.
func (s *querySession) reset(conn *pgx.Conn) {
	msgs := []pgproto3.FrontendMessage{&pgproto3.Query{String: "DISCARD ALL"}}
	if s.pg.TxStatus() != 'I' {
		msgs = append([]pgproto3.FrontendMessage{&pgproto3.Query{String: "ROLLBACK"}}, msgs...)
	}
	o, err := s.roundTrip(msgs...)
	if err != nil || o.pgErr != nil || s.pg.TxStatus() != 'I' {
		s.broken = true
		return
	}
	if err := conn.DeallocateAll(s.ctx); err != nil {
		s.broken = true
	}
}

// lookupTypes finds how to render the result's non-built-in types
// (domains, user arrays, information_schema's domains) in pg_type.
func (s *querySession) lookupTypes(rd *renderer, fields []field) error {
	pending := map[uint32]bool{}
	for _, f := range fields {
		if !knownOID(f.oid) {
			pending[f.oid] = true
		}
	}
	type pgType struct {
		typtype, category, delim byte
		base, elem               uint32
	}
	seen := map[uint32]*pgType{}
	for round := 0; round < 5 && len(pending) > 0; round++ {
		ids := make([]string, 0, len(pending))
		for o := range pending {
			ids = append(ids, oidText(o))
			seen[o] = nil
		}
		pending = map[uint32]bool{}
		o, err := s.simple("SELECT t.oid, t.typtype, t.typbasetype, t.typelem, t.typdelim, t.typcategory FROM pg_catalog.pg_type t WHERE t.oid = ANY('{" + strings.Join(ids, ",") + "}'::pg_catalog.oid[])")
		if err != nil {
			return err
		}
		if o.pgErr != nil || o.lastRows == nil {
			break
		}
		for _, row := range o.lastRows.rows {
			if len(row) != 6 {
				continue
			}
			oid, _ := strconv.ParseUint(string(row[0]), 10, 32)
			base, _ := strconv.ParseUint(string(row[2]), 10, 32)
			elem, _ := strconv.ParseUint(string(row[3]), 10, 32)
			t := &pgType{base: uint32(base), elem: uint32(elem)}
			if len(row[1]) > 0 {
				t.typtype = row[1][0]
			}
			if len(row[4]) > 0 {
				t.delim = row[4][0]
			}
			if len(row[5]) > 0 {
				t.category = row[5][0]
			}
			seen[uint32(oid)] = t
			for _, next := range []uint32{t.base, t.elem} {
				if next != 0 && !knownOID(next) {
					if _, done := seen[next]; !done {
						pending[next] = true
					}
				}
			}
		}
	}
	var resolve func(oid uint32, depth int) typeInfo
	resolve = func(oid uint32, depth int) typeInfo {
		if knownOID(oid) || depth > 8 {
			return rd.info(oid)
		}
		if ti, ok := rd.extra[oid]; ok {
			return ti
		}
		t := seen[oid]
		ti := typeInfo{kind: kString}
		switch {
		case t == nil:
		case t.typtype == 'd' && t.base != 0:
			ti = resolve(t.base, depth+1)
		case t.category == 'A' && t.elem != 0:
			delim := byte(',')
			if knownOID(t.elem) {
				delim = builtinDelim(t.elem)
			} else if et := seen[t.elem]; et != nil && et.delim != 0 {
				delim = et.delim
			}
			ti = typeInfo{kind: kArray, elem: t.elem, delim: delim}
			resolve(t.elem, depth+1) // so the elements render too
		}
		if rd.extra == nil {
			rd.extra = map[uint32]typeInfo{}
		}
		rd.extra[oid] = ti
		return ti
	}
	for oid := range seen {
		resolve(oid, 0)
	}
	return nil
}

// renderRows writes the rows as a JSON array of objects. Columns with the
// same name collapse as in a JavaScript object: the key keeps its first
// position and takes the last value.
func renderRows(rd *renderer, res *stmtResult) []byte {
	if res == nil {
		return []byte("[]")
	}
	type col struct {
		name string
		idx  int // which field's value
	}
	var cols []col
	pos := map[string]int{}
	for i, f := range res.fields {
		if j, ok := pos[f.name]; ok {
			cols[j].idx = i
			continue
		}
		pos[f.name] = len(cols)
		cols = append(cols, col{name: f.name, idx: i})
	}
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		var b bytes.Buffer
		writeJSONStr(&b, c.name)
		b.WriteByte(':')
		keys[i] = b.Bytes()
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for ri, row := range res.rows {
		if ri > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('{')
		for i, c := range cols {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(keys[i])
			rd.value(&buf, res.fields[c.idx].oid, row[c.idx])
		}
		buf.WriteByte('}')
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// paramText encodes a JSON parameter as node-postgres would: strings as
// they are, numbers and booleans as text, arrays as a Postgres array
// literal, objects as JSON, null as NULL.
func paramText(raw json.RawMessage) ([]byte, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(x), nil
	case json.Number:
		return []byte(x.String()), nil
	case bool:
		return []byte(strconv.FormatBool(x)), nil
	case []any:
		var b strings.Builder
		arrayLiteral(&b, x)
		return []byte(b.String()), nil
	default:
		return []byte(strings.TrimSpace(string(raw))), nil
	}
}

func arrayLiteral(b *strings.Builder, a []any) {
	b.WriteByte('{')
	for i, e := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		switch x := e.(type) {
		case nil:
			b.WriteString("NULL")
		case []any:
			arrayLiteral(b, x)
		case json.Number:
			b.WriteString(x.String())
		case bool:
			b.WriteString(strconv.FormatBool(x))
		case string:
			quoteArrayElem(b, x)
		default:
			j, _ := json.Marshal(x)
			quoteArrayElem(b, string(j))
		}
	}
	b.WriteByte('}')
}

func quoteArrayElem(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
}

// pgErrorJSON is postgres-meta's error answer: {error: formattedError,
// ...DatabaseError, message, formattedError}, in node-postgres' field
// order; absent fields are left out.
type pgErrorJSON struct {
	Error            string `json:"error"`
	Name             string `json:"name"`
	Severity         string `json:"severity,omitempty"`
	Code             string `json:"code,omitempty"`
	Detail           string `json:"detail,omitempty"`
	Hint             string `json:"hint,omitempty"`
	Position         string `json:"position,omitempty"`
	InternalPosition string `json:"internalPosition,omitempty"`
	InternalQuery    string `json:"internalQuery,omitempty"`
	Where            string `json:"where,omitempty"`
	Schema           string `json:"schema,omitempty"`
	Table            string `json:"table,omitempty"`
	Column           string `json:"column,omitempty"`
	DataType         string `json:"dataType,omitempty"`
	Constraint       string `json:"constraint,omitempty"`
	File             string `json:"file,omitempty"`
	Line             string `json:"line,omitempty"`
	Routine          string `json:"routine,omitempty"`
	Message          string `json:"message"`
	FormattedError   string `json:"formattedError"`
}

func itoaNonZero(n int32) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(int(n))
}

func pgErrorBody(e *pgconn.PgError, sql string) pgErrorJSON {
	f := formatPgError(e, sql)
	return pgErrorJSON{
		Error:            f,
		Name:             "error",
		Severity:         e.Severity,
		Code:             e.Code,
		Detail:           e.Detail,
		Hint:             e.Hint,
		Position:         itoaNonZero(e.Position),
		InternalPosition: itoaNonZero(e.InternalPosition),
		InternalQuery:    e.InternalQuery,
		Where:            e.Where,
		Schema:           e.SchemaName,
		Table:            e.TableName,
		Column:           e.ColumnName,
		DataType:         e.DataTypeName,
		Constraint:       e.ConstraintName,
		File:             e.File,
		Line:             itoaNonZero(e.Line),
		Routine:          e.Routine,
		Message:          e.Message,
		FormattedError:   f,
	}
}

// formatPgError is postgres-meta's formattedError, itself modelled on
// libpq's: "ERROR:  42P01: message", then for a position the line and a
// caret under the offending character, then DETAIL, HINT, QUERY, CONTEXT.
// Positions count characters, as Postgres does.
func formatPgError(e *pgconn.PgError, sql string) string {
	var b strings.Builder
	if e.Severity != "" {
		b.WriteString(e.Severity + ":  ")
	}
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	b.WriteString("\n")
	if e.Position > 0 {
		position := int(e.Position) - 1
		line, lineNumber, lineOffset := "", 0, 0
		offset := 0
		for i, l := range strings.Split(sql, "\n") {
			n := utf8.RuneCountInString(l)
			if offset+n > position {
				line, lineNumber, lineOffset = l, i+1, position-offset
				break
			}
			offset += n + 1
		}
		fmt.Fprintf(&b, "LINE %d: %s\n%s^\n", lineNumber, line,
			strings.Repeat(" ", 5+len(strconv.Itoa(lineNumber))+2+lineOffset))
	}
	if e.Detail != "" {
		b.WriteString("DETAIL:  " + e.Detail + "\n")
	}
	if e.Hint != "" {
		b.WriteString("HINT:  " + e.Hint + "\n")
	}
	if e.InternalQuery != "" {
		b.WriteString("QUERY:  " + e.InternalQuery + "\n")
	}
	if e.Where != "" {
		b.WriteString("CONTEXT:  " + e.Where + "\n")
	}
	return b.String()
}
