// Package graphql serves Hasura's GraphQL endpoints: /v1/graphql,
// /v1alpha1/graphql (the same with real HTTP statuses) and /v1beta1/relay,
// over HTTP (single and batched requests) and websockets.
//
// A request goes: session (auth) -> the role's schema (built once per
// metadata snapshot, see package schema) -> parse, pick the operation,
// inline fragments, bind variables -> one walk over the selection that
// checks every field and argument against the schema, with Hasura's
// messages and paths, and emits SQL as it goes -> one statement per
// source, whose columns are the root fields' JSON, built by Postgres ->
// those bytes spliced into {"data":...} without being decoded.
//
// Compiled plans are cached per (role, document, operation, variables),
// so a repeated request skips parsing and compiling; the session is the
// statement's first parameter, so one plan serves every user of a role.
// Variables are part of the key because some of them shape the SQL
// (limit, a where object); binding the scalar ones per request so that
// plans are shared across their values is the next step.
//
// Subscriptions over websockets are live queries, multiplexed as Hasura
// does: the subscribers of one query shape are refetched together, one
// statement per batch of them per interval (live.go).
package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/schema"
	"github.com/strata-dev/strata/engine/schemacache"
	"github.com/strata-dev/strata/engine/server/reqlog"
	"github.com/strata-dev/strata/engine/subscriptions"
)

// maxBody bounds a request body.
const maxBody = 32 << 20

// maxPlans bounds the plan cache of one snapshot.
const maxPlans = 4096

// Engine executes GraphQL requests against the current schema cache.
type Engine struct {
	cache *schemacache.Cache
	log   *slog.Logger
	// ShowInternal adds the database's own error to admins' error
	// responses (HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS, dev mode).
	ShowInternal bool
	// StringifyNumbers is HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES.
	StringifyNumbers bool
	// AllowList is HASURA_GRAPHQL_ENABLE_ALLOWLIST: non-admin requests
	// must be in the metadata's allow-list (allowlist.go).
	AllowList bool
	// LiveQueriesRefetchInterval is the pause between two refetches of a
	// live query (HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL;
	// 1s when zero). Set before Handler is called.
	LiveQueriesRefetchInterval time.Duration
	// LiveQueriesBatchSize is how many cohorts of a live query one
	// statement refetches (HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE;
	// 100 when zero).
	LiveQueriesBatchSize int

	mu    sync.Mutex
	state atomic.Pointer[modelState]

	live liveQueries

	wsMu     sync.Mutex
	ws       []*subscriptions.Handler
	shutDown bool
}

// modelState is one snapshot's model and its caches.
type modelState struct {
	model *schema.Model
	plans atomic.Pointer[planCache]

	allowOnce sync.Once
	allow     *allowlist
}

// planCache is a bounded set of plans: when it fills up it is replaced
// by an empty one (a cheap eviction that keeps hot plans coming back on
// their next request), so a stream of distinct requests can never turn
// caching off.
type planCache struct {
	m    sync.Map // planKey -> *plan
	size atomic.Int64
}

func (st *modelState) lookup(k planKey) *plan {
	if p, ok := st.plans.Load().m.Load(k); ok {
		return p.(*plan)
	}
	return nil
}

func (st *modelState) store(k planKey, p *plan) {
	pc := st.plans.Load()
	if pc.size.Add(1) > maxPlans {
		fresh := &planCache{}
		if st.plans.CompareAndSwap(pc, fresh) {
			pc = fresh
		} else {
			pc = st.plans.Load()
		}
	}
	pc.m.Store(k, p)
}

type planKey struct {
	role, query, op, vars string
	relay                 bool
}

// New returns an engine serving from cache.
func New(cache *schemacache.Cache, log *slog.Logger) *Engine {
	return &Engine{cache: cache, log: log}
}

// current is the model of the snapshot in force, built on first use.
func (e *Engine) current(ctx context.Context) *modelState {
	snap := e.cache.Current()
	if st := e.state.Load(); st != nil && st.model.Snapshot == snap {
		return st
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if st := e.state.Load(); st != nil && st.model.Snapshot == snap {
		return st
	}
	// The model outlives this request: a client that goes away must not
	// leave the snapshot without its enum values.
	st := &modelState{model: schema.NewModel(context.WithoutCancel(ctx), snap)}
	st.plans.Store(&planCache{})
	e.state.Store(st)
	return st
}

// Result is the outcome of one request.
type Result struct {
	Body         []byte
	RequestError bool // the request did not run: parse, validation or auth error
	Subscription bool
	Status       int // the HTTP status Hasura gives the error (200 when none)
}

// planFor returns the plan of a request, compiled on a cache miss. The
// allow-list is checked there too: a plan is cached per role and query,
// and a new allow-list comes with a new snapshot and an empty cache.
func (e *Engine) planFor(ctx context.Context, sess *auth.Session, req *Request, relay bool) (*modelState, *plan, *errAt) {
	st := e.current(ctx)
	key := planKey{role: sess.Role, query: req.Query, op: req.OperationName, vars: string(req.Variables), relay: relay}
	if pl := st.lookup(key); pl != nil {
		return st, pl, nil
	}
	if e.AllowList && !sess.IsAdmin() {
		doc, err := parseDocument(req.Query)
		if err != nil {
			return st, nil, err
		}
		if !st.allowed().allows(sess.Role, doc) {
			return st, nil, fail("$", "query is not allowed")
		}
	}
	pl, err := e.compile(st.model, sess, req, relay)
	if err != nil {
		return st, nil, err
	}
	st.store(key, pl)
	return st, pl, nil
}

// Execute runs one request for a session.
func (e *Engine) Execute(ctx context.Context, sess *auth.Session, req *Request, relay bool) Result {
	st, pl, err := e.planFor(ctx, sess, req, relay)
	if err != nil {
		return requestError(err)
	}
	return e.run(ctx, st, pl, sess)
}

func (e *Engine) compile(m *schema.Model, sess *auth.Session, req *Request, relay bool) (*plan, *errAt) {
	return compileRequest(m, sess.Role, req, relay, compileOpts{stringify: e.StringifyNumbers})
}

func compileRequest(m *schema.Model, role string, req *Request, relay bool, opts compileOpts) (*plan, *errAt) {
	doc, err := parseDocument(req.Query)
	if err != nil {
		return nil, err
	}
	op, err := selectOperation(doc, req.OperationName)
	if err != nil {
		return nil, err
	}
	vars, err := bindVariables(op, req.Variables)
	if err != nil {
		return nil, err
	}
	return compileOp(m, m.Role(role, relay), op, vars, opts)
}

func requestError(err *errAt) Result {
	e := &apierr.Error{Status: http.StatusBadRequest, Code: err.code, Message: err.msg, Path: err.path}
	return Result{Body: errorBody(e, false), RequestError: true, Status: e.Status}
}

func errorBody(e *apierr.Error, showInternal bool) []byte {
	b, _ := aeson.Marshal(apierr.GraphQLBody(e, showInternal))
	return b
}

// Handler serves a GraphQL endpoint: realStatus keeps HTTP error statuses
// (/v1alpha1/graphql) instead of Hasura's 200; relay selects the Relay
// schema.
func (e *Engine) Handler(resolve func(context.Context, http.Header) (*auth.Session, *apierr.Error), realStatus, relay bool) http.Handler {
	ws := &subscriptions.Handler{
		Auth:         resolve,
		Log:          e.log,
		PollInterval: e.refetchInterval(),
		Execute: func(ctx context.Context, sess *auth.Session, r *subscriptions.Request) subscriptions.Result {
			start := time.Now()
			res := e.Execute(ctx, sess, r, relay)
			if res.Subscription {
				// Only PollEachSubscriber's subscriptions poll this way.
				liveStats.polls.Add(1)
				liveStats.statements.Add(1)
				liveStats.pollNanos.Add(int64(time.Since(start)))
			}
			return subscriptions.Result{Body: res.Body, RequestError: res.RequestError, Subscription: res.Subscription}
		},
	}
	if !pollEachSubscriber.Load() {
		ws.Subscribe = func(ctx context.Context, sess *auth.Session, r *subscriptions.Request, send func(subscriptions.Result)) (subscriptions.Result, func()) {
			return e.Subscribe(ctx, sess, r, relay, send)
		}
	}
	e.wsMu.Lock()
	e.ws = append(e.ws, ws)
	if e.shutDown {
		ws.Shutdown()
	}
	e.wsMu.Unlock()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			ws.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodPost {
			apierr.WriteREST(w, apierr.New(http.StatusNotFound, apierr.CodeNotFound, "resource does not exist"), false)
			return
		}
		sess, aerr := resolve(r.Context(), r.Header)
		if aerr != nil {
			apierr.WriteGraphQL(w, aerr, realStatus, false)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			apierr.WriteGraphQL(w, apierr.New(http.StatusBadRequest, apierr.CodeInvalidJSON, "could not read the request body"), realStatus, false)
			return
		}
		status, out := e.serve(r.Context(), sess, body, relay)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if !realStatus {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write(out)
	})
}

// Shutdown closes every websocket connection of the engine's handlers,
// as Hasura does when it shuts down (close code 1012, so that clients
// reconnect), which ends their subscriptions and so the pollers; new
// connections are refused. It returns once the connections are closed.
// Register it with http.Server.RegisterOnShutdown: Shutdown does not
// track websockets, whose connections are hijacked.
func (e *Engine) Shutdown() {
	e.wsMu.Lock()
	e.shutDown = true
	hs := slices.Clone(e.ws)
	e.wsMu.Unlock()
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Go(h.Shutdown)
	}
	wg.Wait()
}

// serve answers a body holding one request or a batch (a JSON array).
func (e *Engine) serve(ctx context.Context, sess *auth.Session, body []byte, relay bool) (int, []byte) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var batch []json.RawMessage
		if err := json.Unmarshal(trimmed, &batch); err != nil {
			return invalidJSON(err)
		}
		var out bytes.Buffer
		out.WriteByte('[')
		for i, raw := range batch {
			if i > 0 {
				out.WriteByte(',')
			}
			_, b := e.serveOne(ctx, sess, raw, relay)
			out.Write(b)
		}
		out.WriteByte(']')
		return http.StatusOK, out.Bytes()
	}
	return e.serveOne(ctx, sess, trimmed, relay)
}

func (e *Engine) serveOne(ctx context.Context, sess *auth.Session, raw []byte, relay bool) (int, []byte) {
	var req Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return invalidJSON(err)
	}
	// The request's log line names the role and the operation.
	reqlog.Annotate(ctx, sess.Role, req.OperationName)
	res := e.Execute(ctx, sess, &req, relay)
	return res.Status, res.Body
}

func invalidJSON(err error) (int, []byte) {
	e := apierr.New(http.StatusBadRequest, apierr.CodeInvalidJSON, "%s", "Error in $: "+err.Error())
	return e.Status, errorBody(e, false)
}
