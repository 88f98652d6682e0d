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
// Compiled plans are cached per (role, document, operation, shape of the
// variables), so a repeated request skips parsing and compiling, whatever
// the values of the variables that are mere parameters (plancache.go);
// the session is the statement's first parameter, so one plan serves
// every user of a role.
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
	// StreamingQueriesRefetchInterval and StreamingQueriesBatchSize are
	// the same for streaming subscriptions (stream.go;
	// HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL and
	// _BATCH_SIZE).
	StreamingQueriesRefetchInterval time.Duration
	StreamingQueriesBatchSize       int

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
	st := &modelState{model: schema.NewModel(snap)}
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

// planFor returns the plan of a request, compiled on a cache miss (see
// plancache.go). The allow-list is checked there too: a plan is cached
// per role and query, and a new allow-list comes with a new snapshot and
// an empty cache.
func (e *Engine) planFor(ctx context.Context, sess *auth.Session, req *Request, relay bool) (*modelState, *plan, *errAt) {
	return e.planShaped(ctx, sess, req, relay, nil)
}

// planShaped is planFor given the shape of the request's variables, when
// reading the request found it (parseRequest); nil when it did not.
func (e *Engine) planShaped(ctx context.Context, sess *auth.Session, req *Request, relay bool, vs *varShape) (*modelState, *plan, *errAt) {
	st := e.current(ctx)
	shaped := vs != nil
	if !shaped {
		vs, shaped = shapeOf(req.Variables)
	}
	shapeKey := planKey{role: sess.Role, query: req.Query, op: req.OperationName, relay: relay}
	valueKey := shapeKey
	valueKey.vars = byValue + string(req.Variables)
	if shaped {
		shapeKey.vars = vs.key
		if c := st.lookup(shapeKey); c != nil {
			if !c.byValue {
				planStats.shapeHits.Add(1)
				return st, bind(c.plan, c.binds, vs.leaves), nil
			}
			shaped = false
		}
	}
	if c := st.lookup(valueKey); c != nil {
		planStats.valueHits.Add(1)
		return st, c.plan, nil
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
	planStats.compiles.Add(1)
	pl, err := e.compile(st.model, sess.Role, req, relay)
	if err != nil {
		return st, nil, err
	}
	if shaped && !pl.subscribe {
		binds, ok := []binding(nil), len(vs.leaves) == 0
		if !ok {
			probe := *req
			var probes []string
			probe.Variables, probes = vs.probe()
			if q, err := e.compile(st.model, sess.Role, &probe, relay); err == nil {
				binds, ok = parameterize(pl, q, vs.leaves, probes)
			}
		}
		if ok {
			st.store(shapeKey, &cached{plan: pl, binds: binds})
			return st, pl, nil
		}
		st.store(shapeKey, &cached{byValue: true})
	}
	st.store(valueKey, &cached{plan: pl})
	return st, pl, nil
}

// Execute runs one request for a session.
func (e *Engine) Execute(ctx context.Context, sess *auth.Session, req *Request, relay bool) Result {
	return e.execute(ctx, sess, req, relay, nil)
}

func (e *Engine) execute(ctx context.Context, sess *auth.Session, req *Request, relay bool, vs *varShape) Result {
	st, pl, err := e.planShaped(ctx, sess, req, relay, vs)
	if err != nil {
		return requestError(err)
	}
	return e.run(ctx, st, pl, sess)
}

func (e *Engine) compile(m *schema.Model, role string, req *Request, relay bool) (*plan, *errAt) {
	return compileRequest(m, role, req, relay, compileOpts{stringify: e.StringifyNumbers})
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
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			apierr.WriteGraphQL(w, apierr.New(http.StatusBadRequest, apierr.CodeInvalidJSON, "could not read the request body"), realStatus, false)
			return
		}
		// The body is read first, as Hasura reads it: a POST auth hook is
		// sent the request it authorizes.
		sess, aerr := resolve(auth.WithGraphQLRequest(r.Context(), body), r.Header)
		if aerr != nil {
			apierr.WriteGraphQL(w, aerr, realStatus, false)
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

// CloseWebsockets closes every websocket connection of the engine's
// handlers with 1012 and reason (subscriptions.Handler.Restart); clients
// reconnect to the current schema.
func (e *Engine) CloseWebsockets(reason string) {
	e.wsMu.Lock()
	hs := slices.Clone(e.ws)
	e.wsMu.Unlock()
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Go(func() { h.Restart(reason) })
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
	req, vs, ok := parseRequest(raw)
	if !ok {
		// Not the common shape: encoding/json decides, and words the error.
		req, vs = Request{}, nil
		if err := json.Unmarshal(raw, &req); err != nil {
			return invalidJSON(err)
		}
	}
	// The request's log line names the role and the operation.
	reqlog.Annotate(ctx, sess.Role, req.OperationName)
	res := e.execute(ctx, sess, &req, relay, vs)
	return res.Status, res.Body
}

func invalidJSON(err error) (int, []byte) {
	e := apierr.New(http.StatusBadRequest, apierr.CodeInvalidJSON, "%s", "Error in $: "+err.Error())
	return e.Status, errorBody(e, false)
}
