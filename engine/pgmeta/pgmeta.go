// Package pgmeta serves the Postgres admin API under /pg/: the endpoints of
// supabase/pg-api (seeds/004) with the response shapes of today's
// @supabase/postgres-meta, its successor.
//
//	POST /pg/query                       run any SQL, rows of the last result as JSON
//	GET  /pg/schemas|tables|columns|types|extensions|plugins|functions|views|
//	     materialized-views|foreign-tables|roles|policies|triggers|
//	     publications|indexes|config|config/version
//	GET  /pg/<kind>/:id                  one object (extensions by name, columns by "table.ordinal")
//	POST/PATCH/DELETE /pg/schemas|tables|columns|extensions|roles|policies[/:id]
//
// Every answer is JSON; errors are {"error": "..."} (plus the Postgres
// error fields for /pg/query), 4xx for the client's mistakes, 5xx for ours.
//
// The catalog endpoints build their JSON in Postgres (json_agg /
// json_build_object), one query per request; the SQL is our own, written
// after postgres-meta's src/lib/sql/*.sql.ts so the fields match. The
// table list, the heaviest, keeps its catalog part cached while the
// catalog is unchanged and shares one computation between concurrent
// identical requests (tablecache.go, flight.go).
//
// X-Connection-Encrypted carries a connection string encrypted with
// Options.CryptoKey (crypto-js / OpenSSL "Salted__" AES-256-CBC); the
// request then runs against that database, on a pool kept per connection
// string (see pools.go). Without the header the request uses Options.Pool.
//
// Authentication is not done here: the server mounts the handler behind
// its admin check.
package pgmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configure a Handler.
type Options struct {
	// Pool is the default database, used when a request has no
	// X-Connection-Encrypted header. May be nil: such requests then fail.
	Pool *pgxpool.Pool
	// CryptoKey is the passphrase of X-Connection-Encrypted. Empty means
	// the header is refused (400).
	CryptoKey string
	// StatementTimeout bounds each request's SQL (statement_timeout for
	// /pg/query and the writes, a cancelled context for the reads). Zero
	// means no limit.
	StatementTimeout time.Duration
	// Log receives warnings and server errors; nil means slog.Default().
	// Connection strings are never logged.
	Log *slog.Logger
	// MaxPools bounds the pools kept for X-Connection-Encrypted connection
	// strings (least recently used ones are closed). Default 10.
	MaxPools int
}

// Handler serves /pg/.
type Handler struct {
	opts   Options
	log    *slog.Logger
	pools  *poolSet
	tables *tableCache
	// tableFlights coalesces concurrent identical GET /pg/tables.
	tableFlights flights[tableCacheKey]
}

// New returns a Handler. Call Close when done with it.
func New(opts Options) *Handler {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{opts: opts, log: log, pools: newPoolSet(opts.MaxPools, defaultPoolIdle), tables: newTableCache()}
	h.pools.onClose = h.tables.forget
	return h
}

// Close closes the pools opened for X-Connection-Encrypted (not
// Options.Pool, which belongs to the caller).
func (h *Handler) Close() {
	h.pools.close()
	if h.opts.Pool != nil {
		h.tables.forget(h.opts.Pool)
	}
}

const (
	maxBodyBytes = 3 << 20 // postgres-meta's default body limit
	// backstop beyond the statement timeout before the connection itself
	// is given up (network trouble): postgres-meta's "Query read timeout".
	backstopGrace = 5 * time.Second
	cancelTimeout = 3 * time.Second
)

// apiError is an error answered with its status and message.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return errorf(http.StatusNotFound, format, args...)
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, format, args...)
}

// ServeHTTP serves paths that start with /pg/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("pgmeta: panic", "panic", v, "method", r.Method, "path", r.URL.Path)
			writeError(w, http.StatusInternalServerError, "internal server error")
		}
	}()
	rest, ok := strings.CutPrefix(r.URL.Path, "/pg/")
	if !ok {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	rt, aerr := h.route(r.Method, segs)
	if aerr != nil {
		if aerr.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rt.allow)
		}
		writeError(w, aerr.status, aerr.msg)
		return
	}
	db, aerr := h.database(r)
	if aerr != nil {
		writeError(w, aerr.status, aerr.msg)
		return
	}
	defer db.release()
	rt.fn(w, r, db)
}

// route is a matched endpoint.
type route struct {
	fn    func(w http.ResponseWriter, r *http.Request, db *database)
	allow string
}

func (h *Handler) route(method string, segs []string) (route, *apiError) {
	if len(segs) == 0 || segs[0] == "" {
		return route{}, notFound("Not found")
	}
	name, rest := segs[0], segs[1:]
	if len(rest) > 1 {
		return route{}, notFound("Not found")
	}
	var arg string
	hasArg := len(rest) == 1
	if hasArg {
		arg = rest[0]
	}
	// methods: GET list/one, POST create, PATCH update, DELETE remove
	type handlers struct {
		list, one, create, update, remove func(w http.ResponseWriter, r *http.Request, db *database, arg string)
	}
	var hs handlers
	switch name {
	case "query":
		if hasArg {
			return route{}, notFound("Not found")
		}
		if method != http.MethodPost {
			return route{allow: "POST"}, errorf(http.StatusMethodNotAllowed, "Method %s not allowed on /pg/query", method)
		}
		return route{fn: h.handleQuery}, nil
	case "config":
		if hasArg && arg != "version" {
			return route{}, notFound("Not found")
		}
		if method != http.MethodGet {
			return route{allow: "GET"}, errorf(http.StatusMethodNotAllowed, "Method %s not allowed", method)
		}
		if hasArg {
			return route{fn: h.handleVersion}, nil
		}
		return route{fn: func(w http.ResponseWriter, r *http.Request, db *database) { h.handleList(w, r, db, kindConfig) }}, nil
	}
	k, ok := kinds[name]
	if !ok {
		return route{}, notFound("Not found")
	}
	hs.list = func(w http.ResponseWriter, r *http.Request, db *database, _ string) { h.handleList(w, r, db, k) }
	if k.get != nil {
		hs.one = func(w http.ResponseWriter, r *http.Request, db *database, arg string) { h.handleOne(w, r, db, k, arg) }
	}
	bind := func(e endpoint) func(w http.ResponseWriter, r *http.Request, db *database, arg string) {
		if e == nil {
			return nil
		}
		return func(w http.ResponseWriter, r *http.Request, db *database, arg string) { e(h, w, r, db, arg) }
	}
	if wr, ok := writers[k.name]; ok {
		hs.create, hs.update, hs.remove = bind(wr.create), bind(wr.update), bind(wr.remove)
	}
	var fn func(w http.ResponseWriter, r *http.Request, db *database, arg string)
	var allow []string
	if hasArg {
		if hs.one != nil {
			allow = append(allow, "GET")
		}
		if hs.update != nil {
			allow = append(allow, "PATCH")
		}
		if hs.remove != nil {
			allow = append(allow, "DELETE")
		}
		switch method {
		case http.MethodGet:
			fn = hs.one
		case http.MethodPatch:
			fn = hs.update
		case http.MethodDelete:
			fn = hs.remove
		}
	} else {
		allow = append(allow, "GET")
		if hs.create != nil {
			allow = append(allow, "POST")
		}
		switch method {
		case http.MethodGet:
			fn = hs.list
		case http.MethodPost:
			fn = hs.create
		}
	}
	if fn == nil {
		if len(allow) == 0 {
			return route{}, notFound("Not found")
		}
		return route{allow: strings.Join(allow, ", ")}, errorf(http.StatusMethodNotAllowed, "Method %s not allowed", method)
	}
	return route{fn: func(w http.ResponseWriter, r *http.Request, db *database) { fn(w, r, db, arg) }}, nil
}

// database is where a request runs: Options.Pool or an encrypted
// connection string's pool.
type database struct {
	pool      *pgxpool.Pool
	encrypted bool
	release   func()
}

// database picks the request's database from X-Connection-Encrypted. A bad
// header is a 400, never a fall-back to the default database.
func (h *Handler) database(r *http.Request) (*database, *apiError) {
	hdr, present := r.Header["X-Connection-Encrypted"]
	if !present {
		if h.opts.Pool == nil {
			return nil, errorf(http.StatusInternalServerError, "no default database is configured")
		}
		return &database{pool: h.opts.Pool, release: func() {}}, nil
	}
	if len(hdr) != 1 {
		return nil, badRequest("invalid X-Connection-Encrypted header: expected exactly one value")
	}
	connString, err := decryptConnString(hdr[0], h.opts.CryptoKey)
	if err != nil {
		h.log.Warn("pgmeta: refused X-Connection-Encrypted header", "error", err.Error())
		return nil, badRequest("%s", err.Error())
	}
	e, err := h.pools.acquire(connString)
	if err != nil {
		var he *headerError
		if errors.As(err, &he) {
			return nil, badRequest("%s", he.Error())
		}
		return nil, errorf(http.StatusServiceUnavailable, "%s", err.Error())
	}
	return &database{pool: e.pool, encrypted: true, release: func() { h.pools.release(e) }}, nil
}

// acquire takes a connection, turning a connection failure into an
// apiError that does not reveal the connection string.
func (h *Handler) acquire(ctx context.Context, db *database) (*pgxpool.Conn, error) {
	c, err := db.pool.Acquire(ctx)
	if err == nil {
		return c, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var pgErr *pgconn.PgError
	isPg := errors.As(err, &pgErr)
	if isPg && pgErr.Code == "53300" {
		return nil, errorf(http.StatusServiceUnavailable, "sorry, too many clients already")
	}
	if db.encrypted {
		if isPg {
			h.log.Warn("pgmeta: cannot connect to the X-Connection-Encrypted database", "sqlstate", pgErr.Code)
			return nil, badRequest("could not connect to the database: %s", pgErr.Message)
		}
		h.log.Warn("pgmeta: cannot connect to the X-Connection-Encrypted database")
		return nil, errorf(http.StatusBadGateway, "could not connect to the database")
	}
	h.log.Error("pgmeta: cannot connect to the default database", "error", err)
	return nil, errorf(http.StatusInternalServerError, "could not connect to the database")
}

// withConn runs fn on a pooled connection. When ctx ends while fn runs,
// Postgres is sent a cancel request (pgx alone only drops the socket,
// leaving the backend running) and the connection is closed rather than
// pooled, so a late cancel cannot hit another request's query.
func (h *Handler) withConn(ctx context.Context, db *database, fn func(ctx context.Context, c *pgxpool.Conn) error) error {
	c, err := h.acquire(ctx, db)
	if err != nil {
		return err
	}
	pg := c.Conn().PgConn()
	stop := context.AfterFunc(ctx, func() { cancelBackend(pg) })
	defer func() {
		if !stop() {
			closeConn(pg)
		}
		c.Release()
	}()
	return fn(ctx, c)
}

func cancelBackend(pg *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), cancelTimeout)
	defer cancel()
	_ = pg.CancelRequest(ctx)
}

func closeConn(pg *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = pg.Close(ctx)
}

// --- responses ---

func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeJSONBytes(w, http.StatusInternalServerError, []byte(`{"error":"internal server error"}`))
		return
	}
	writeJSONBytes(w, status, []byte(strings.TrimSuffix(sb.String(), "\n")))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// fail answers err: an apiError as it is; a Postgres error with
// pgStatus (400 for writes, 500 for reads, as postgres-meta), a statement
// timeout / cancel as 408; ctx ended because the client left: nothing
// useful can be written; anything else 500, logged.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, pgStatus int) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeError(w, ae.status, ae.msg)
		return
	}
	if r.Context().Err() != nil {
		// The client is gone; the status is for the access log.
		writeError(w, 499, "client closed request")
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusRequestTimeout, "Query read timeout")
		return
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57014": // query_canceled: statement timeout (or our cancel on timeout)
			status := http.StatusRequestTimeout
			if pgStatus == http.StatusBadRequest {
				status = http.StatusBadRequest // a write's Postgres error, as postgres-meta
			}
			writeError(w, status, pgErr.Message)
		case "53300":
			writeError(w, http.StatusServiceUnavailable, pgErr.Message)
		default:
			if pgStatus >= 500 {
				h.log.Error("pgmeta: query failed", "path", r.URL.Path, "sqlstate", pgErr.Code, "error", pgErr.Message)
			}
			writeError(w, pgStatus, pgErr.Message)
		}
		return
	}
	h.log.Error("pgmeta: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, "internal server error")
}

// --- query string ---

// queryParams reads postgres-meta's query-string parameters.
type queryParams struct {
	v   map[string][]string
	err *apiError
}

func (q *queryParams) str(names ...string) (string, bool) {
	for _, n := range names {
		if vs, ok := q.v[n]; ok && len(vs) > 0 {
			return vs[len(vs)-1], true
		}
	}
	return "", false
}

func (q *queryParams) boolean(def bool, names ...string) bool {
	s, ok := q.str(names...)
	if !ok {
		return def
	}
	switch strings.ToLower(s) {
	case "true", "1", "":
		return true
	case "false", "0":
		return false
	}
	if q.err == nil {
		q.err = badRequest("querystring/%s must be boolean", names[0])
	}
	return def
}

func (q *queryParams) integer(name string) (int64, bool) {
	s, ok := q.str(name)
	if !ok || s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		if q.err == nil {
			q.err = badRequest("querystring/%s must be a non-negative integer", name)
		}
		return 0, false
	}
	return n, true
}

// list splits a comma-separated list, dropping empty items.
func (q *queryParams) list(name string) []string {
	s, ok := q.str(name)
	if !ok {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// --- request bodies ---

// decodeBody reads a JSON object body into v.
func decodeBody(r *http.Request, w http.ResponseWriter, v any) *apiError {
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return errorf(http.StatusRequestEntityTooLarge, "request body is too large")
		case errors.As(err, &ute):
			field := ute.Field
			if field == "" {
				return badRequest("body must be object")
			}
			return badRequest("body/%s must be %s", strings.ReplaceAll(field, ".", "/"), jsonTypeName(ute.Type.String()))
		default:
			return badRequest("invalid JSON body: %s", err.Error())
		}
	}
	if dec.More() {
		return badRequest("invalid JSON body: trailing data")
	}
	return nil
}

func jsonTypeName(goType string) string {
	switch {
	case goType == "string", strings.HasSuffix(goType, "opt[string]"):
		return "string"
	case goType == "bool", strings.HasSuffix(goType, "opt[bool]"):
		return "boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"), strings.Contains(goType, "opt[int"):
		return "number"
	case strings.HasPrefix(goType, "[]"), strings.Contains(goType, "opt[[]"):
		return "array"
	case strings.HasPrefix(goType, "map"), strings.Contains(goType, "opt[map"):
		return "object"
	}
	return "of another type"
}

// opt is a body field that may be absent, null, or a value.
type opt[T any] struct {
	Set  bool // present in the body (null included)
	Null bool
	V    T
}

func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.V)
}

// has reports a present, non-null value.
func (o opt[T]) has() bool { return o.Set && !o.Null }
