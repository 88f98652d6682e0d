package subscriptions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"

	"github.com/strata-dev/strata/test/testlog"
)

const (
	adminSecret = "s3cr3t-value"
	wait        = 5 * time.Second
	badBody     = `{"errors":[{"extensions":{"path":"$.selectionSet.bad","code":"validation-failed"},"message":"field 'bad' not found in type: 'query_root'"}]}`
	badErrors   = `[{"extensions":{"path":"$.selectionSet.bad","code":"validation-failed"},"message":"field 'bad' not found in type: 'query_root'"}]`
)

// fakeExec stands in for the engine's executor, the package's boundary.
type fakeExec struct {
	version atomic.Int64 // what subscriptions currently return

	mu    sync.Mutex
	calls map[string]int
	ctxs  map[string]context.Context

	slowStarted   chan struct{}
	slowCancelled chan struct{}
	slowReturned  atomic.Bool
	slowOnce      sync.Once

	// gate holds "gated" queries whatever their context says, like an
	// executor stuck in a driver call that ignores cancellation.
	gate chan struct{}
}

func newFakeExec() *fakeExec {
	return &fakeExec{
		calls:         map[string]int{},
		ctxs:          map[string]context.Context{},
		slowStarted:   make(chan struct{}),
		slowCancelled: make(chan struct{}),
		gate:          make(chan struct{}),
	}
}

func echoBody(query string, sess *auth.Session) []byte {
	b, err := aeson.Marshal(struct {
		Data struct {
			Echo string `json:"echo"`
			Role string `json:"role"`
			User string `json:"user"`
		} `json:"data"`
	}{Data: struct {
		Echo string `json:"echo"`
		Role string `json:"role"`
		User string `json:"user"`
	}{query, sess.Role, sess.Vars["x-hasura-user-id"]}})
	if err != nil {
		panic(err)
	}
	return b
}

func subBody(n int64) string { return fmt.Sprintf(`{"data":{"n":%d}}`, n) }

func (f *fakeExec) exec(ctx context.Context, sess *auth.Session, req *Request) Result {
	f.mu.Lock()
	f.calls[req.Query]++
	f.ctxs[req.Query] = ctx
	f.mu.Unlock()
	switch {
	case req.Query == "bad":
		return Result{Body: []byte(badBody), RequestError: true}
	case req.Query == "slow":
		f.slowOnce.Do(func() { close(f.slowStarted) })
		<-ctx.Done()
		close(f.slowCancelled)
		// Linger, so that a handler returning before its operations
		// finish is caught by TestDisconnectEndsEverything.
		time.Sleep(20 * time.Millisecond)
		f.slowReturned.Store(true)
		return Result{Body: []byte(`{"data":{"slow":true}}`)}
	case req.Query == "panic":
		panic("executor bug")
	case req.Query == "gated":
		<-f.gate
		return Result{Body: []byte(`{"data":{"gated":true}}`)}
	case strings.HasPrefix(req.Query, "subscription"):
		v := f.version.Load()
		if strings.Contains(req.Query, "flaky") && v > 0 {
			return Result{Body: []byte(badBody), RequestError: true}
		}
		return Result{Body: []byte(subBody(v)), Subscription: true}
	}
	return Result{Body: echoBody(req.Query, sess)}
}

func (f *fakeExec) callCount(query string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[query]
}

// waitPolls waits until query has been executed at least n times.
func (f *fakeExec) waitPolls(t *testing.T, query string, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d executions of %q", n, query), func() bool { return f.callCount(query) >= n })
}

// waitCancelled waits until the context query last ran with is cancelled,
// i.e. the operation has been torn down.
func (f *fakeExec) waitCancelled(t *testing.T, query string) {
	t.Helper()
	var ctx context.Context
	waitFor(t, "an execution of "+query, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		ctx = f.ctxs[query]
		return ctx != nil
	})
	select {
	case <-ctx.Done():
	case <-time.After(wait):
		t.Fatalf("operation %q was not cancelled", query)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type testEnv struct {
	url    string
	exec   *fakeExec
	served chan struct{} // one value per ServeHTTP that returned
	logs   *testlog.Buffer
}

func newEnv(t *testing.T, configure func(*Handler)) *testEnv {
	t.Helper()
	e := &testEnv{exec: newFakeExec(), served: make(chan struct{}, 16), logs: &testlog.Buffer{}}
	resolver, err := auth.NewResolver(auth.Options{AdminSecrets: []string{adminSecret}})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{
		Auth:         resolver.Resolve,
		Execute:      e.exec.exec,
		Log:          slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollInterval: 5 * time.Millisecond,
		// Long enough that no periodic ka lands in a test that does not
		// ask for one.
		KeepAlive: time.Hour,
	}
	if throughSubscriber {
		h.Subscribe = e.exec.subscriber(h.PollInterval)
	}
	if configure != nil {
		configure(h)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		e.served <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	e.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return e
}

func (e *testEnv) dial(t *testing.T, path string, header http.Header, subprotocols ...string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url+path, &websocket.DialOptions{HTTPHeader: header, Subprotocols: subprotocols})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func (e *testEnv) apollo(t *testing.T) *websocket.Conn {
	return e.dial(t, "/v1/graphql", nil)
}

func (e *testEnv) transportWS(t *testing.T) *websocket.Conn {
	t.Helper()
	c := e.dial(t, "/v1/graphql", nil, "graphql-transport-ws")
	if got := c.Subprotocol(); got != "graphql-transport-ws" {
		t.Fatalf("subprotocol %q, want graphql-transport-ws", got)
	}
	return c
}

type wireMsg struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
	raw     []byte
}

func send(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write %s: %v", msg, err)
	}
}

func read(t *testing.T, c *websocket.Conn) wireMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m wireMsg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("server sent invalid JSON %s: %v", data, err)
	}
	m.raw = data
	return m
}

// expectRaw reads one message and compares it byte for byte.
func expectRaw(t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	if m := read(t, c); string(m.raw) != want {
		t.Fatalf("got %s\nwant %s", m.raw, want)
	}
}

func expectClose(t *testing.T, c *websocket.Conn, code websocket.StatusCode, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err == nil {
			t.Fatalf("expected close %d, got message %s", code, data)
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("expected close %d, got %v", code, err)
		}
		if ce.Code != code || !strings.Contains(ce.Reason, reason) {
			t.Fatalf("closed with %d %q, want %d containing %q", ce.Code, ce.Reason, code, reason)
		}
		return
	}
}

func apolloInit(t *testing.T, c *websocket.Conn, payload string) {
	t.Helper()
	send(t, c, `{"type":"connection_init","payload":`+payload+`}`)
	expectRaw(t, c, `{"type":"connection_ack"}`)
	expectRaw(t, c, `{"type":"ka"}`)
}

func transportInit(t *testing.T, c *websocket.Conn) {
	t.Helper()
	send(t, c, `{"type":"connection_init","payload":{"headers":{"X-Hasura-Admin-Secret":"`+adminSecret+`"}}}`)
	expectRaw(t, c, `{"type":"connection_ack"}`)
}

var adminPayload = `{"headers":{"X-Hasura-Admin-Secret":"` + adminSecret + `"}}`

func start(typ, id, query string) string {
	return fmt.Sprintf(`{"type":%q,"id":%q,"payload":{"query":%s}}`, typ, id, jsonString(query))
}

// --- Apollo (subscriptions-transport-ws) ---

func TestApolloWithoutSubprotocol(t *testing.T) {
	e := newEnv(t, nil)
	c := e.apollo(t)
	if got := c.Subprotocol(); got != "" {
		t.Fatalf("subprotocol %q, want none", got)
	}
	apolloInit(t, c, `{"headers":{"X-Hasura-Admin-Secret":"`+adminSecret+`","x-hasura-role":"user","X-Hasura-User-Id":"7"}}`)

	query := `query { a <b> & c }`
	send(t, c, start("start", "1", query))
	m := read(t, c)
	want := string(echoBody(query, &auth.Session{Role: "user", Vars: map[string]string{"x-hasura-user-id": "7"}}))
	if m.Type != "data" || m.ID != "1" || string(m.Payload) != want {
		t.Fatalf("got %s, want data for 1 with payload %s", m.raw, want)
	}
	if bytes.Contains(m.raw, []byte(`\u003c`)) || !bytes.Contains(m.raw, []byte(`<b> & c`)) {
		t.Fatalf("payload was HTML-escaped: %s", m.raw)
	}
	expectRaw(t, c, `{"type":"complete","id":"1"}`)
}

func TestApolloExplicitSubprotocol(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(t, "/v1/graphql", nil, "graphql-ws")
	if got := c.Subprotocol(); got != "graphql-ws" {
		t.Fatalf("subprotocol %q, want graphql-ws", got)
	}
	apolloInit(t, c, adminPayload)
}

func TestApolloKeepAliveRepeats(t *testing.T) {
	e := newEnv(t, func(h *Handler) { h.KeepAlive = 5 * time.Millisecond })
	c := e.apollo(t)
	apolloInit(t, c, adminPayload)
	for range 3 {
		expectRaw(t, c, `{"type":"ka"}`)
	}
}

func TestApolloRequestError(t *testing.T) {
	e := newEnv(t, nil)
	c := e.apollo(t)
	apolloInit(t, c, adminPayload)
	send(t, c, start("start", "e1", "bad"))
	expectRaw(t, c, `{"type":"error","id":"e1","payload":`+badBody+`}`)
	expectRaw(t, c, `{"type":"complete","id":"e1"}`)
}

func TestApolloStopSubscription(t *testing.T) {
	e := newEnv(t, nil)
	c := e.apollo(t)
	apolloInit(t, c, adminPayload)

	const sub = "subscription { n }"
	send(t, c, start("start", "s", sub))
	expectRaw(t, c, `{"type":"data","id":"s","payload":`+subBody(0)+`}`)
	e.exec.waitPolls(t, sub, 3)

	send(t, c, `{"type":"stop","id":"s"}`)
	e.exec.waitCancelled(t, sub)
	e.exec.version.Store(1)

	// Messages for the stopped id, a change or a complete, would arrive
	// before this query's answer.
	send(t, c, start("start", "after", "q"))
	if m := read(t, c); m.Type != "data" || m.ID != "after" {
		t.Fatalf("after stop got %s, want data for the next query", m.raw)
	}
	expectRaw(t, c, `{"type":"complete","id":"after"}`)
}

func TestApolloStopQueryInFlight(t *testing.T) {
	e := newEnv(t, nil)
	c := e.apollo(t)
	apolloInit(t, c, adminPayload)

	send(t, c, start("start", "slow", "slow"))
	select {
	case <-e.exec.slowStarted:
	case <-time.After(wait):
		t.Fatal("slow query never ran")
	}
	send(t, c, `{"type":"stop","id":"slow"}`)
	select {
	case <-e.exec.slowCancelled:
	case <-time.After(wait):
		t.Fatal("stop did not cancel the query's context")
	}
	send(t, c, start("start", "after", "q"))
	if m := read(t, c); m.ID != "after" {
		t.Fatalf("got %s after stopping the query, want only the next query's messages", m.raw)
	}
}

func TestStopWinsOverAnExecutorThatIgnoresCancellation(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	transportInit(t, c)
	release := sync.OnceFunc(func() { close(e.exec.gate) })
	t.Cleanup(release) // a failing test must not leave the handler blocked
	send(t, c, start("subscribe", "g", "gated"))
	send(t, c, `{"type":"complete","id":"g"}`)
	e.exec.waitCancelled(t, "gated")
	release() // the executor now returns a result nobody wants
	send(t, c, start("subscribe", "after", "q"))
	if m := read(t, c); m.ID != "after" {
		t.Fatalf("got %s for a completed operation", m.raw)
	}
}

func TestExecutorPanicBecomesAnError(t *testing.T) {
	e := newEnv(t, nil)
	c := e.apollo(t)
	apolloInit(t, c, adminPayload)
	send(t, c, start("start", "p", "panic"))
	expectRaw(t, c, `{"type":"error","id":"p","payload":{"errors":[{"extensions":{"path":"$","code":"unexpected"},"message":"an unexpected error occurred"}]}}`)
	expectRaw(t, c, `{"type":"complete","id":"p"}`)
	// The connection, and the server, carry on.
	send(t, c, start("start", "q", "q"))
	if m := read(t, c); m.Type != "data" || m.ID != "q" {
		t.Fatalf("got %s, want data after the panic", m.raw)
	}
}

func TestApolloAuthFailure(t *testing.T) {
	e := newEnv(t, nil)
	c := e.apollo(t)
	send(t, c, `{"type":"connection_init","payload":{"headers":{"X-Hasura-Admin-Secret":"wrong"}}}`)
	expectRaw(t, c, `{"type":"connection_error","payload":"invalid x-hasura-admin-secret/x-hasura-access-key"}`)
	expectClose(t, c, 4400, "invalid x-hasura-admin-secret")
}

func TestApolloStartBeforeInit(t *testing.T) {
	const msg = "start received before the connection is initialised"
	for path, payload := range map[string]string{
		"/v1/graphql":       `{"extensions":{"path":"$","code":"start-failed"},"message":"` + msg + `"}`,
		"/v1beta1/relay":    `{"extensions":{"path":"$","code":"start-failed"},"message":"` + msg + `"}`,
		"/v1alpha1/graphql": `{"path":"$","error":"` + msg + `","code":"start-failed"}`, // Hasura's test_v1alpha1_ws_start_error
	} {
		t.Run(path, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.dial(t, path, nil)
			send(t, c, start("start", "1", "q"))
			expectRaw(t, c, `{"type":"error","id":"1","payload":`+payload+`}`)
			expectRaw(t, c, `{"type":"complete","id":"1"}`)
			if n := e.exec.callCount("q"); n != 0 {
				t.Fatalf("executor ran %d times before init", n)
			}
		})
	}
}

func TestApolloMalformedMessagesAreSurvivable(t *testing.T) {
	e := newEnv(t, nil)
	c := e.apollo(t)
	for msg, want := range map[string]string{
		`not json`:                             "not a valid json value",
		`"a string"`:                           "expected Object, but encountered String",
		`{"type":"test"}`:                      "unexpected type for ClientMessage: test",
		`{"type":"stop"}`:                      `key \"id\" not found`, // Hasura's test_stop_without_id
		`{"type":"start","id":"1"}`:            `key \"payload\" not found`,
		`{"type":"start","id":1,"payload":{}}`: "expected String, but encountered Number",
	} {
		send(t, c, msg)
		m := read(t, c)
		if m.Type != "connection_error" || !strings.HasPrefix(string(m.Payload), `"parsing ClientMessage failed: `) || !strings.Contains(string(m.Payload), want) {
			t.Fatalf("for %s got %s, want a connection_error containing %s", msg, m.raw, want)
		}
	}
	apolloInit(t, c, adminPayload)
}

func TestApolloConnectionTerminate(t *testing.T) {
	e := newEnv(t, nil)
	c := e.apollo(t)
	apolloInit(t, c, adminPayload)
	send(t, c, `{"type":"connection_terminate"}`)
	expectClose(t, c, websocket.StatusNormalClosure, "")
}

func TestApolloDuplicateID(t *testing.T) {
	e := newEnv(t, nil)
	c := e.apollo(t)
	apolloInit(t, c, adminPayload)
	send(t, c, start("start", "s", "subscription { n }"))
	expectRaw(t, c, `{"type":"data","id":"s","payload":`+subBody(0)+`}`)
	send(t, c, start("start", "s", "subscription { n }"))
	expectRaw(t, c, `{"type":"error","id":"s","payload":{"extensions":{"path":"$","code":"start-failed"},"message":"an operation already exists with this id: s"}}`)
	expectRaw(t, c, `{"type":"complete","id":"s"}`)
}

func TestInitHeaderSources(t *testing.T) {
	cases := []struct {
		name      string
		handshake http.Header
		payload   string
		role      string
		user      string
	}{
		{
			name:    "payload.headers",
			payload: `{"headers":{"x-hasura-admin-secret":"` + adminSecret + `","x-hasura-role":"user","x-hasura-user-id":"1"}}`,
			role:    "user", user: "1",
		},
		{
			name:    "top-level payload fields, scalars stringified",
			payload: `{"X-Hasura-Admin-Secret":"` + adminSecret + `","x-hasura-role":"user","x-hasura-user-id":42,"extra":{"nested":true}}`,
			role:    "user", user: "42",
		},
		{
			name:      "handshake only",
			handshake: http.Header{"X-Hasura-Admin-Secret": {adminSecret}, "X-Hasura-Role": {"user"}, "X-Hasura-User-Id": {"3"}},
			payload:   `null`,
			role:      "user", user: "3",
		},
		{
			name:      "payload overrides handshake case-insensitively",
			handshake: http.Header{"X-Hasura-Admin-Secret": {adminSecret}, "X-Hasura-Role": {"anonymous"}, "X-Hasura-User-Id": {"3"}},
			payload:   `{"headers":{"x-hasura-role":"user"}}`,
			role:      "user", user: "3",
		},
		{
			name:    "headers object wins over top-level fields",
			payload: `{"x-hasura-role":"top","headers":{"X-Hasura-Admin-Secret":"` + adminSecret + `","x-hasura-role":"user"}}`,
			role:    "user",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.dial(t, "/v1/graphql", tc.handshake)
			apolloInit(t, c, tc.payload)
			send(t, c, start("start", "1", "q"))
			want := string(echoBody("q", &auth.Session{Role: tc.role, Vars: map[string]string{"x-hasura-user-id": tc.user}}))
			if m := read(t, c); string(m.Payload) != want {
				t.Fatalf("got %s, want payload %s", m.raw, want)
			}
		})
	}
}

// --- graphql-transport-ws ---

func TestTransportWSQuery(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	transportInit(t, c)
	// Apollo's ka has no place in this protocol: the pong must come next.
	send(t, c, `{"type":"ping"}`)
	expectRaw(t, c, `{"type":"pong"}`)

	send(t, c, start("subscribe", "1", "query { x }"))
	want := echoBody("query { x }", &auth.Session{Role: "admin"})
	expectRaw(t, c, `{"type":"next","id":"1","payload":`+string(want)+`}`)
	expectRaw(t, c, `{"type":"complete","id":"1"}`)
}

func TestTransportWSRequestError(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	transportInit(t, c)
	send(t, c, start("subscribe", "e1", "bad"))
	expectRaw(t, c, `{"type":"error","id":"e1","payload":`+badErrors+`}`)
	expectRaw(t, c, `{"type":"complete","id":"e1"}`)
}

func TestTransportWSPingPong(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	// Pings are allowed before connection_init.
	send(t, c, `{"type":"ping","payload":{"message":"hi <there>"}}`)
	expectRaw(t, c, `{"type":"pong","payload":{"message":"hi <there>"}}`)
	transportInit(t, c)
	send(t, c, `{"type":"ping","payload":null}`)
	expectRaw(t, c, `{"type":"pong"}`)
	send(t, c, `{"type":"pong"}`) // unsolicited pongs are ignored
	send(t, c, `{"type":"ping","payload":[1]}`)
	expectRaw(t, c, `{"type":"pong","payload":[1]}`)
}

func TestTransportWSForbidden(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	send(t, c, `{"type":"connection_init","payload":{"headers":{"X-Hasura-Admin-Secret":"wrong"}}}`)
	expectClose(t, c, 4403, "Forbidden")
}

func TestTransportWSInitTimeout(t *testing.T) {
	e := newEnv(t, func(h *Handler) { h.ConnectionInitTimeout = 20 * time.Millisecond })
	c := e.transportWS(t)
	expectClose(t, c, 4408, "Connection initialisation timeout")
}

func TestTransportWSDuplicateID(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	transportInit(t, c)
	send(t, c, start("subscribe", "s", "subscription { n }"))
	expectRaw(t, c, `{"type":"next","id":"s","payload":`+subBody(0)+`}`)
	send(t, c, start("subscribe", "s", "subscription { n }"))
	expectClose(t, c, 4409, "Subscriber for s already exists")
}

func TestTransportWSDoubleInit(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	transportInit(t, c)
	send(t, c, `{"type":"connection_init","payload":{}}`)
	expectClose(t, c, 4429, "Too many initialisation requests")
}

func TestTransportWSSubscribeBeforeInit(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	send(t, c, start("subscribe", "1", "q"))
	expectClose(t, c, 4401, "Unauthorized")
	if n := e.exec.callCount("q"); n != 0 {
		t.Fatalf("executor ran %d times before init", n)
	}
}

func TestTransportWSMalformedCloses(t *testing.T) {
	for _, msg := range []string{
		`not json`,
		`{"type":"test"}`,
		`{"type":"complete"}`, // Hasura's test_stop_without_id
		`{"type":"subscribe","id":"1","payload":{"variables":{}}}`,
	} {
		t.Run(msg, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.transportWS(t)
			transportInit(t, c)
			send(t, c, msg)
			expectClose(t, c, 4400, "parsing ClientMessage failed")
		})
	}
}

func TestTransportWSSubscriptionPollsAndCompletes(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	transportInit(t, c)

	const sub = "subscription { n }"
	send(t, c, start("subscribe", "s", sub))
	expectRaw(t, c, `{"type":"next","id":"s","payload":`+subBody(0)+`}`)
	// Unchanged results are polled but not sent: after several polls the
	// next message must carry the new value, not a repeat.
	e.exec.waitPolls(t, sub, 4)
	e.exec.version.Store(1)
	expectRaw(t, c, `{"type":"next","id":"s","payload":`+subBody(1)+`}`)

	send(t, c, `{"type":"complete","id":"s"}`)
	e.exec.waitCancelled(t, sub)
	e.exec.version.Store(2)
	send(t, c, `{"type":"ping"}`)
	expectRaw(t, c, `{"type":"pong"}`)

	// The id is free again once completed.
	send(t, c, start("subscribe", "s", "query { again }"))
	if m := read(t, c); m.Type != "next" || m.ID != "s" || !bytes.Contains(m.Payload, []byte("again")) {
		t.Fatalf("got %s, want next for the reused id", m.raw)
	}
}

func TestTransportWSSubscriptionErrorStopsIt(t *testing.T) {
	e := newEnv(t, nil)
	c := e.transportWS(t)
	transportInit(t, c)

	const sub = "subscription flaky { n }"
	send(t, c, start("subscribe", "s", sub))
	expectRaw(t, c, `{"type":"next","id":"s","payload":`+subBody(0)+`}`)
	e.exec.version.Store(1)
	expectRaw(t, c, `{"type":"error","id":"s","payload":`+badErrors+`}`)
	expectRaw(t, c, `{"type":"complete","id":"s"}`)
	e.exec.waitCancelled(t, sub)
}

// --- connection lifecycle ---

func TestDisconnectEndsEverything(t *testing.T) {
	for _, proto := range []string{"apollo", "graphql-transport-ws"} {
		t.Run(proto, func(t *testing.T) {
			e := newEnv(t, func(h *Handler) { h.KeepAlive = 5 * time.Millisecond })
			var c *websocket.Conn
			opType := "start"
			if proto == "apollo" {
				c = e.apollo(t)
				apolloInit(t, c, adminPayload)
			} else {
				c = e.transportWS(t)
				transportInit(t, c)
				opType = "subscribe"
			}
			const sub = "subscription { n }"
			send(t, c, start(opType, "s", sub))
			send(t, c, start(opType, "slow", "slow"))
			select {
			case <-e.exec.slowStarted:
			case <-time.After(wait):
				t.Fatal("slow query never ran")
			}
			e.exec.waitPolls(t, sub, 2)

			_ = c.CloseNow()
			// ServeHTTP only returns once every goroutine of the connection
			// (operations, polls, keep-alive, init timer) has exited.
			select {
			case <-e.served:
			case <-time.After(wait):
				t.Fatal("handler did not return after the client went away")
			}
			e.exec.waitCancelled(t, sub)
			if !e.exec.slowReturned.Load() {
				t.Fatal("handler returned while a query was still executing")
			}
		})
	}
}

func TestLogsProtocolButNoSecrets(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(t, "/v1/graphql", http.Header{"X-Hasura-Admin-Secret": {adminSecret}}, "graphql-transport-ws")
	transportInit(t, c)
	send(t, c, start("subscribe", "1", "bad"))
	read(t, c)
	_ = c.Close(websocket.StatusNormalClosure, "")
	select {
	case <-e.served:
	case <-time.After(wait):
		t.Fatal("handler did not return")
	}
	logs := e.logs.String()
	for _, want := range []string{`"msg":"websocket connected"`, `"msg":"websocket disconnected"`, `"protocol":"graphql-transport-ws"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, adminSecret) {
		t.Errorf("logs contain the admin secret:\n%s", logs)
	}
}

func TestCloseReasonFitsAFrame(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes, 2 per rune
	r := closeReason(long)
	if len(r) > 123 || !strings.HasPrefix(long, r) || !utf8.ValidString(r) {
		t.Fatalf("closeReason gave %d bytes %q", len(r), r)
	}
	if got := closeReason("short"); got != "short" {
		t.Fatalf("closeReason(short) = %q", got)
	}
}

// A connection whose session comes from a token closes when the token
// expires (Hasura's tokenExpiryHandler); a connection_init with a fresh
// token before then moves the deadline.
func TestConnectionClosesWhenTheTokenExpires(t *testing.T) {
	var mu sync.Mutex
	expires := map[string]time.Time{}
	e := newEnv(t, func(h *Handler) {
		h.Auth = func(_ context.Context, hdr http.Header) (*auth.Session, *apierr.Error) {
			mu.Lock()
			defer mu.Unlock()
			tok := hdr.Get("Authorization")
			return &auth.Session{Role: "user", Vars: map[string]string{"x-hasura-role": "user"}, Expires: expires[tok]}, nil
		}
	})
	mu.Lock()
	expires["Bearer short"] = time.Now().Add(300 * time.Millisecond)
	expires["Bearer long"] = time.Now().Add(time.Hour)
	mu.Unlock()

	short := e.apollo(t)
	apolloInit(t, short, `{"headers":{"Authorization":"Bearer short"}}`)
	expectClose(t, short, 1000, "JWT expired")

	// Re-initialised with a longer-lived token: the first deadline passes
	// and the connection stays, still serving.
	mu.Lock()
	expires["Bearer short2"] = time.Now().Add(time.Second) // time enough to re-initialise on a busy machine
	mu.Unlock()
	renewed := e.apollo(t)
	apolloInit(t, renewed, `{"headers":{"Authorization":"Bearer short2"}}`)
	apolloInit(t, renewed, `{"headers":{"Authorization":"Bearer long"}}`)
	time.Sleep(1300 * time.Millisecond) // past the first token's expiry
	send(t, renewed, start("start", "1", "query { q }"))
	if m := read(t, renewed); m.Type != "data" {
		t.Fatalf("after the first token's expiry: %s", m.raw)
	}
}
