// Package subscriptions serves GraphQL over websocket on /v1/graphql,
// /v1alpha1/graphql and /v1beta1/relay, speaking the two protocols Hasura v2
// speaks (server/src-lib/Hasura/GraphQL/Transport/WebSocket*.hs):
//
//   - graphql-transport-ws, the protocol of the graphql-ws npm library
//     (github.com/enisdenjo/graphql-ws PROTOCOL.md): connection_init and
//     connection_ack, subscribe answered by next/error/complete, ping/pong.
//     It has no recoverable errors: a client that breaks the protocol is
//     disconnected with a 44xx close code that says why.
//   - subscriptions-transport-ws, the legacy Apollo protocol, whose
//     subprotocol is confusingly named "graphql-ws"
//     (github.com/apollographql/subscriptions-transport-ws PROTOCOL.md):
//     connection_init answered by connection_ack and periodic "ka", start
//     answered by data/error/complete, stop, connection_terminate. Problems
//     the connection survives are reported as connection_error.
//
// A client that offers no subprotocol, or one we do not know, gets Apollo.
// Hasura picks the protocol from Sec-WebSocket-Protocol and falls back to
// Apollo for anything but graphql-transport-ws (Protocol.hs,
// toWSSubProtocol) because Apollo was all it spoke for years: older clients
// and Hasura's own Python test-suite connect without a subprotocol and
// expect ka, data and complete.
//
// Subscriptions are live queries. With a Subscribe function (the engine's
// multiplexed pollers) the handler starts the operation and then relays
// whatever results it is handed; without one the executor is asked again
// every PollInterval and the client is only sent results whose bytes
// changed (one statement per subscriber, the behaviour before
// multiplexing). Either way the client sees the same messages.
//
// On Shutdown every connection is closed with 1012 (service restart), as
// Hasura closes its websockets when it shuts down.
//
// Where Hasura's wire behaviour and the two protocol specs disagree this
// package follows Hasura, since Hasura's clients and tests are what it has
// to satisfy: an operation that fails before running gets "error" followed
// by "complete" (Hasura's withComplete; its Python tests read the complete),
// and an Apollo start before connection_init is answered with a
// "start-failed" error for that id.
package subscriptions

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
)

// Request is one GraphQL request as a client sends it.
type Request struct {
	Query         string          `json:"query"`
	Variables     json.RawMessage `json:"variables,omitempty"`
	OperationName string          `json:"operationName,omitempty"`
	Extensions    json.RawMessage `json:"extensions,omitempty"`
}

// Result is what the executor returns for one request.
type Result struct {
	// Body is a complete GraphQL response: {"data":...} or {"data":...,"errors":[...]} or {"errors":[...]}.
	Body []byte
	// RequestError: the request never ran (parse/validation/auth error); Body is {"errors":[...]}.
	RequestError bool
	// Subscription: the operation is a subscription; Body is its current result.
	Subscription bool
	// Stream: a streaming subscription's batch. Each carries rows no other
	// does, so none supersedes another: they are all written, in order
	// (a live query's results replace the one not yet written). A
	// stream's first Result has no Body when there was nothing to send.
	Stream bool
}

// Executor runs requests for a session. It is called once per query/mutation, and for a
// subscription once per poll.
type Executor func(ctx context.Context, sess *auth.Session, req *Request) Result

// Subscriber starts an operation that may be a subscription. A query or
// mutation runs to its end and its Result comes back with a nil stop, as
// from an Executor. A subscription's Result carries its first result
// (Subscription set); every later one, which the subscriber decides to
// send, goes through send until stop is called (after stop returns, send
// is not called again). send never blocks. A later Result with
// RequestError ends the subscription: the client gets the error and
// complete. A request that fails before running comes back as a Result
// with RequestError and a nil stop.
type Subscriber func(ctx context.Context, sess *auth.Session, req *Request, send func(Result)) (first Result, stop func())

// Authenticator resolves a session from headers (auth.Resolver.Resolve has this shape);
// ctx is the connection's, bounding an auth webhook call.
type Authenticator func(ctx context.Context, h http.Header) (*auth.Session, *apierr.Error)

// Handler serves one websocket connection per request. Auth and Execute
// are required.
type Handler struct {
	Auth    Authenticator
	Execute Executor
	// Subscribe, when set, starts every operation instead of Execute, and
	// serves subscriptions without polling.
	Subscribe Subscriber
	Log       *slog.Logger
	// PollInterval is the live-query refetch interval when there is no
	// Subscribe (Hasura's HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL, default 1s when zero).
	PollInterval time.Duration
	// KeepAlive is the Apollo "ka" interval (Hasura's HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE, default 5s when zero).
	KeepAlive time.Duration
	// ConnectionInitTimeout closes a graphql-transport-ws connection that does not init in time (default 3s when zero; HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT).
	ConnectionInitTimeout time.Duration

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutting bool
	active   sync.WaitGroup // the connections being served
}

// Subprotocol names as they appear in Sec-WebSocket-Protocol.
const (
	subprotocolTransportWS = "graphql-transport-ws"
	subprotocolApollo      = "graphql-ws"
)

const (
	defaultPollInterval = time.Second
	defaultKeepAlive    = 5 * time.Second
	defaultInitTimeout  = 3 * time.Second

	// Queries with large variables (bulk inserts over websocket) must fit;
	// the library's 32 KiB default would drop such clients.
	readLimit = 16 << 20

	// A client that stops reading must not pin an operation goroutine and
	// the write lock forever.
	writeTimeout = 30 * time.Second
)

// Close codes of graphql-transport-ws (PROTOCOL.md) and the ones Hasura uses
// for Apollo.
const (
	closeNormal           websocket.StatusCode = 1000
	closeBadRequest       websocket.StatusCode = 4400
	closeUnauthorized     websocket.StatusCode = 4401
	closeForbidden        websocket.StatusCode = 4403
	closeInitTimeout      websocket.StatusCode = 4408
	closeDuplicateID      websocket.StatusCode = 4409
	closeTooManyInitTries websocket.StatusCode = 4429
	closeServiceRestart   websocket.StatusCode = 1012
)

type protocol int

const (
	apollo protocol = iota
	transportWS
)

func (p protocol) String() string {
	if p == transportWS {
		return subprotocolTransportWS
	}
	return "apollo"
}

// connState is where a connection is in its init handshake.
type connState int

const (
	stateNew      connState = iota // no connection_init yet
	stateIniting                   // connection_init received, being authenticated
	stateReady                     // acknowledged: operations may start
	stateTimedOut                  // the init timeout fired first; the connection is closing
)

var connSeq atomic.Uint64

// ServeHTTP upgrades the request and runs the connection until it closes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	shutting := h.shutting
	if !shutting {
		h.active.Add(1)
	}
	h.mu.Unlock()
	if shutting {
		http.Error(w, "shutting server down", http.StatusServiceUnavailable)
		return
	}
	defer h.active.Done()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{subprotocolTransportWS, subprotocolApollo},
		// CORS is enforced by the server's middleware before we get here.
		InsecureSkipVerify: true,
	})
	if err != nil {
		// Accept has already answered the client.
		h.logger().Debug("websocket upgrade failed", "error", err)
		return
	}
	ws.SetReadLimit(readLimit)

	proto := apollo
	if ws.Subprotocol() == subprotocolTransportWS {
		proto = transportWS
	}
	ctx, cancel := context.WithCancel(r.Context())
	c := &conn{
		h:      h,
		ws:     ws,
		proto:  proto,
		ctx:    ctx,
		cancel: cancel,
		legacy: strings.HasSuffix(r.URL.Path, "/v1alpha1/graphql"),
		header: handshakeHeaders(r.Header),
		log:    h.logger().With("ws_id", connSeq.Add(1), "protocol", proto.String()),
		ops:    map[string]*operation{},
		inited: make(chan struct{}),
	}
	start := time.Now()
	c.log.Info("websocket connected", "path", r.URL.Path)
	h.mu.Lock()
	if h.conns == nil {
		h.conns = map[*conn]struct{}{}
	}
	h.conns[c] = struct{}{}
	shutting = h.shutting
	h.mu.Unlock()
	if shutting {
		// Shutdown began while the handshake was under way.
		c.closeWith(closeServiceRestart, "shutting server down")
	}
	c.serve()
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	c.log.Info("websocket disconnected", "duration", time.Since(start))
}

// Shutdown closes every connection with 1012 "shutting server down", as
// Hasura does, which ends all their operations; connections that arrive
// afterwards are refused with 503. It returns when every connection has
// been served to its end.
func (h *Handler) Shutdown() {
	h.closeAll(true, "shutting server down")
	h.active.Wait()
}

// Restart closes every connection with 1012 and reason, as Hasura does
// when the metadata changes, so that clients reconnect and start their
// operations again on the new schema (a revoked permission stops
// applying to a running subscription). New connections are served as
// before. It returns when the close handshakes are done.
func (h *Handler) Restart(reason string) {
	h.closeAll(false, reason)
}

func (h *Handler) closeAll(shutdown bool, reason string) {
	h.mu.Lock()
	if shutdown {
		h.shutting = true
	}
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		// Concurrently: a close handshake waits for the peer.
		wg.Go(func() { c.closeWith(closeServiceRestart, reason) })
	}
	wg.Wait()
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// handshakeHeaders are the headers authentication sees before
// connection_init overlays its own. The handshake's own mechanics are
// dropped as Hasura does (filterWsHeaders) so they never reach a webhook.
func handshakeHeaders(in http.Header) http.Header {
	h := in.Clone()
	if h == nil {
		h = http.Header{}
	}
	for _, k := range []string{"Sec-Websocket-Key", "Sec-Websocket-Version", "Upgrade", "Connection"} {
		h.Del(k)
	}
	return h
}

type conn struct {
	h      *Handler
	ws     *websocket.Conn
	proto  protocol
	ctx    context.Context // the request's; cancelled when the connection ends
	cancel context.CancelFunc
	legacy bool // /v1alpha1/graphql: Hasura's pre-GraphQL-spec error shape
	header http.Header
	log    *slog.Logger

	// wmu orders whole messages, and pairs such as error+complete, on the
	// wire; it also makes "is this operation stopped?" and the write one
	// step, so nothing for an operation follows its stop.
	wmu sync.Mutex

	mu     sync.Mutex
	state  connState
	sess   *auth.Session
	ops    map[string]*operation
	inited chan struct{} // closed on the first connection_init
	kaOn   bool

	// wg counts every goroutine the connection starts; serve waits for
	// them so none outlives the request.
	wg sync.WaitGroup
}

type operation struct {
	id     string
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *conn) serve() {
	defer func() {
		c.cancel()
		_ = c.ws.CloseNow()
		c.wg.Wait()
	}()
	if c.proto == transportWS {
		c.wg.Add(1)
		go c.initTimeout(orDefault(c.h.ConnectionInitTimeout, defaultInitTimeout))
	}
	for {
		_, data, err := c.ws.Read(c.ctx)
		if err != nil {
			return
		}
		if !c.handle(data) {
			return
		}
	}
}

// handle processes one client message; false means the connection is over.
func (c *conn) handle(data []byte) bool {
	m, err := parseClientMsg(data)
	if err != nil {
		return c.protocolError(err.Error())
	}
	switch m.typ {
	case "connection_init":
		return c.onInit(m.payload)
	case "start", "subscribe":
		return c.onStart(m.id, m.req)
	case "stop", "complete":
		c.onStop(m.id)
	case "connection_terminate":
		c.closeWith(closeNormal, "GQL_CONNECTION_TERMINATE received")
		return false
	case "ping":
		// Hasura answers pings on either protocol; the echo lets a client
		// match a pong to its ping.
		return c.write(encodeMsg("pong", nil, m.payload))
	case "pong":
	}
	return true
}

// protocolError reports a message the server could not make sense of.
// Apollo reports it and carries on (Hasura's ClientMessageParseFailed);
// graphql-transport-ws treats it as fatal.
func (c *conn) protocolError(detail string) bool {
	msg := "parsing ClientMessage failed: " + detail
	c.log.Debug("websocket client message rejected", "error", msg)
	if c.proto == transportWS {
		c.closeWith(closeBadRequest, msg)
		return false
	}
	return c.write(encodeMsg("connection_error", nil, jsonString(msg)))
}

func (c *conn) onInit(payload json.RawMessage) bool {
	c.mu.Lock()
	switch c.state {
	case stateTimedOut:
		c.mu.Unlock()
		return false
	case stateNew:
		c.state = stateIniting
		close(c.inited)
	default:
		if c.proto == transportWS {
			c.mu.Unlock()
			c.closeWith(closeTooManyInitTries, "Too many initialisation requests")
			return false
		}
		// Apollo has no rule against it and Hasura re-authenticates: the
		// new session applies to operations started from now on.
	}
	c.mu.Unlock()

	h, err := initHeaders(c.header, payload)
	if err != nil {
		return c.protocolError(err.Error())
	}
	sess, aerr := c.h.Auth(c.ctx, h)
	if aerr != nil {
		c.log.Info("websocket connection_init rejected", "code", aerr.Code)
		if c.proto == transportWS {
			c.closeWith(closeForbidden, "Forbidden")
			return false
		}
		c.write(encodeMsg("connection_error", nil, jsonString(aerr.Message)))
		c.closeWith(closeBadRequest, "Connection initialization failed: "+aerr.Message)
		return false
	}

	c.mu.Lock()
	c.state = stateReady
	c.sess = sess
	startKA := c.proto == apollo && !c.kaOn
	c.kaOn = c.kaOn || startKA
	c.mu.Unlock()
	if !sess.Expires.IsZero() {
		c.wg.Add(1)
		go c.expireWith(sess)
	}

	if !c.write(encodeMsg("connection_ack", nil, nil)) {
		return false
	}
	// graphql-transport-ws gets no keep-alive. Hasura pings those clients
	// every KeepAlive, but nothing in the protocol needs it and its own
	// Python test client answers a ping with a JSON-encoded string, which
	// is a protocol error that would cost the connection.
	if c.proto == apollo {
		// Apollo clients time the connection out when ka stops; the first
		// one goes right after the ack, as Hasura's onConnInit sends it.
		if !c.write(encodeMsg("ka", nil, nil)) {
			return false
		}
		if startKA {
			c.wg.Add(1)
			go c.keepAlive(orDefault(c.h.KeepAlive, defaultKeepAlive))
		}
	}
	return true
}

func (c *conn) onStart(id string, req *Request) bool {
	c.mu.Lock()
	if c.state != stateReady {
		c.mu.Unlock()
		if c.proto == transportWS {
			c.closeWith(closeUnauthorized, "Unauthorized")
			return false
		}
		return c.startFailed(id, "start received before the connection is initialised")
	}
	if _, dup := c.ops[id]; dup {
		c.mu.Unlock()
		if c.proto == transportWS {
			c.closeWith(closeDuplicateID, "Subscriber for "+id+" already exists")
			return false
		}
		return c.startFailed(id, "an operation already exists with this id: "+id)
	}
	ctx, cancel := context.WithCancel(c.ctx)
	op := &operation{id: id, ctx: ctx, cancel: cancel}
	c.ops[id] = op
	sess := c.sess
	c.wg.Add(1)
	c.mu.Unlock()

	go c.run(op, sess, req)
	return true
}

// startFailed is Hasura's sendStartErr for Apollo: an error with code
// start-failed for the id, then complete. The payload is a bare error
// object, in the legacy shape on /v1alpha1/graphql.
func (c *conn) startFailed(id, message string) bool {
	var payload []byte
	if c.legacy {
		payload = mustJSON(struct {
			Path  string `json:"path"`
			Error string `json:"error"`
			Code  string `json:"code"`
		}{"$", message, "start-failed"})
	} else {
		type ext struct {
			Path string `json:"path"`
			Code string `json:"code"`
		}
		payload = mustJSON(struct {
			Extensions ext    `json:"extensions"`
			Message    string `json:"message"`
		}{ext{"$", "start-failed"}, message})
	}
	return c.write(encodeMsg("error", &id, payload), encodeMsg("complete", &id, nil))
}

func (c *conn) onStop(id string) {
	c.mu.Lock()
	op := c.ops[id]
	delete(c.ops, id)
	c.mu.Unlock()
	if op != nil {
		// Cancelling before anything else is written is what keeps data
		// and complete from following a stop: see writeOp.
		op.cancel()
	}
}

// run executes one operation and, for a subscription, keeps polling it.
func (c *conn) run(op *operation, sess *auth.Session, req *Request) {
	defer c.wg.Done()
	defer c.finish(op)
	defer func() {
		// net/http only recovers panics on the handler's own goroutine; one
		// here would take the whole server down with it.
		if p := recover(); p != nil {
			c.log.Error("websocket operation panicked", "panic", p)
			c.sendRequestError(op, internalErrorBody)
		}
	}()

	if c.h.Subscribe != nil {
		c.runLive(op, sess, req)
		return
	}
	res := c.h.Execute(op.ctx, sess, req)
	if !c.first(op, res) {
		return
	}

	last := sha256.Sum256(res.Body)
	tick := time.NewTicker(orDefault(c.h.PollInterval, defaultPollInterval))
	defer tick.Stop()
	for {
		select {
		case <-op.ctx.Done():
			return
		case <-tick.C:
		}
		res := c.h.Execute(op.ctx, sess, req)
		if op.ctx.Err() != nil {
			return
		}
		if res.RequestError {
			// The subscription can no longer be run as asked (say its field
			// left the schema): tell the client and stop polling.
			c.sendRequestError(op, res.Body)
			return
		}
		sum := sha256.Sum256(res.Body)
		if sum == last {
			continue
		}
		last = sum
		if !c.writeOp(op, c.dataMsg(op.id, res.Body)) {
			return
		}
	}
}

// first sends an operation's first result (or its error) and reports
// whether it is a subscription that goes on; a query or mutation is
// completed here.
func (c *conn) first(op *operation, res Result) bool {
	if op.ctx.Err() != nil {
		return false
	}
	if res.RequestError {
		c.sendRequestError(op, res.Body)
		return false
	}
	if res.Stream && res.Body == nil {
		return true // an empty first batch: nothing to send yet
	}
	if !c.writeOp(op, c.dataMsg(op.id, res.Body)) {
		return false
	}
	if !res.Subscription {
		c.writeOp(op, encodeMsg("complete", &op.id, nil))
		return false
	}
	return true
}

// runLive runs an operation through Subscribe: the first result as
// Execute's, then, for a subscription, what the subscriber hands over.
func (c *conn) runLive(op *operation, sess *auth.Session, req *Request) {
	mb := &mailbox{ready: make(chan struct{}, 1)}
	res, stop := c.h.Subscribe(op.ctx, sess, req, mb.put)
	if stop != nil {
		defer stop()
	}
	if !c.first(op, res) {
		return
	}
	for {
		select {
		case <-op.ctx.Done():
			return
		case <-mb.ready:
		}
		r, ok := mb.take()
		if !ok {
			continue
		}
		if r.RequestError {
			// The subscription can no longer be run as asked (say its
			// field left the schema): tell the client and stop.
			c.sendRequestError(op, r.Body)
			return
		}
		if !c.writeOp(op, c.dataMsg(op.id, r.Body)) {
			return
		}
	}
}

// mailbox holds the newest result of a subscription not yet written, so
// that handing one over never waits for the client: a client that falls
// behind gets the newest result, not a backlog (a live query's results
// supersede each other). A final RequestError is never overwritten.
// Stream batches are the exception: they queue, and are taken before the
// result (a final error comes after the batches before it).
type mailbox struct {
	mu     sync.Mutex
	res    Result
	full   bool
	stream []Result      // Result.Stream batches, oldest first
	ready  chan struct{} // capacity 1: "there is something"
}

func (m *mailbox) put(r Result) {
	m.mu.Lock()
	switch {
	case m.full && m.res.RequestError:
	case r.Stream && !r.RequestError:
		m.stream = append(m.stream, r)
	default:
		m.res, m.full = r, true
	}
	m.mu.Unlock()
	m.signal()
}

func (m *mailbox) signal() {
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

func (m *mailbox) take() (Result, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.stream) > 0 {
		r := m.stream[0]
		m.stream[0] = Result{}
		m.stream = m.stream[1:]
		if len(m.stream) > 0 || m.full {
			m.signal() // more to take: the reader comes back
		}
		return r, true
	}
	r, ok := m.res, m.full
	m.res, m.full = Result{}, false
	return r, ok
}

func (c *conn) finish(op *operation) {
	c.mu.Lock()
	// A stop followed by a start may already have reused the id.
	if c.ops[op.id] == op {
		delete(c.ops, op.id)
	}
	c.mu.Unlock()
	op.cancel()
}

func (c *conn) dataMsg(id string, body []byte) []byte {
	typ := "data"
	if c.proto == transportWS {
		typ = "next"
	}
	return encodeMsg(typ, &id, c.validBody(body))
}

// sendRequestError sends an operation that never ran as Hasura's preExecErr
// does: the errors (Apollo: the whole {"errors":[...]} body,
// graphql-transport-ws: the bare array, as its spec wants), then complete.
func (c *conn) sendRequestError(op *operation, body []byte) {
	payload := c.validBody(body)
	if c.proto == transportWS {
		payload = c.errorsArray(payload)
	}
	c.writeOp(op, encodeMsg("error", &op.id, payload), encodeMsg("complete", &op.id, nil))
}

// errorsArray picks the errors array out of a response. Only the envelope
// is parsed; the array's bytes go out untouched.
func (c *conn) errorsArray(body []byte) []byte {
	var env struct {
		Errors json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &env); err == nil && jsonKind(env.Errors) == '[' {
		return env.Errors
	}
	c.log.Error("executor returned a request error without an errors array")
	return c.errorsArray(internalErrorBody)
}

// validBody guards the wire against an executor bug: an empty body would
// make the whole message invalid JSON.
func (c *conn) validBody(body []byte) []byte {
	if jsonKind(body) == 0 {
		c.log.Error("executor returned an empty body")
		return internalErrorBody
	}
	return body
}

var internalErrorBody = mustJSON(apierr.GraphQLBody(apierr.Internal(), false))

func (c *conn) keepAlive(every time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	ka := encodeMsg("ka", nil, nil)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			if !c.write(ka) {
				return
			}
		}
	}
}

// expireWith closes the connection when the credentials of sess (a JWT's
// exp) run out, as Hasura does, unless a later connection_init has
// replaced the session by then.
func (c *conn) expireWith(sess *auth.Session) {
	defer c.wg.Done()
	t := time.NewTimer(time.Until(sess.Expires))
	defer t.Stop()
	select {
	case <-c.ctx.Done():
		return
	case <-t.C:
	}
	c.mu.Lock()
	current := c.sess == sess
	c.mu.Unlock()
	if current {
		c.log.Info("websocket closed: the session's token expired")
		c.closeWith(closeNormal, "JWT expired")
	}
}

func (c *conn) initTimeout(d time.Duration) {
	defer c.wg.Done()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx.Done():
		return
	case <-c.inited:
		return
	case <-t.C:
	}
	c.mu.Lock()
	expired := c.state == stateNew
	if expired {
		c.state = stateTimedOut
	}
	c.mu.Unlock()
	if expired {
		c.closeWith(closeInitTimeout, "Connection initialisation timeout")
	}
}

// write sends messages that belong to no operation, in order.
func (c *conn) write(msgs ...[]byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(msgs)
}

// writeOp sends an operation's messages unless the operation has been
// stopped, in which case the client no longer wants to hear about it.
func (c *conn) writeOp(op *operation, msgs ...[]byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if op.ctx.Err() != nil {
		return false
	}
	return c.writeLocked(msgs)
}

func (c *conn) writeLocked(msgs [][]byte) bool {
	for _, m := range msgs {
		ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, m)
		cancel()
		if err != nil {
			// The library has torn the connection down; end everything
			// else too.
			c.cancel()
			return false
		}
	}
	return true
}

// closeWith performs the close handshake and then ends the connection.
// Close comes first: cancelling the context would make the library drop
// the connection without sending the code.
func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	if code != closeNormal {
		c.log.Info("websocket closing", "code", int(code), "reason", reason)
	}
	_ = c.ws.Close(code, closeReason(reason))
	c.cancel()
}

// closeReason fits a reason into a close frame (123 bytes) without
// splitting a UTF-8 sequence, which browsers reject.
func closeReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}
