package graphql_test

// Live queries against a real engine and real websocket clients: what
// every subscriber gets, how many statements a refetch takes, metadata
// changes, goroutines, shutdown.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/strata-dev/strata/engine"
	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/graphql"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
	"github.com/strata-dev/strata/test/testlog"
)

const liveWait = 15 * time.Second

// notesSQL: users 1..300 own two notes each.
const notesSQL = `
CREATE TABLE note (id serial PRIMARY KEY, owner int NOT NULL, body text NOT NULL);
INSERT INTO note (owner, body) SELECT u, 'note ' || u || '.' || k FROM generate_series(1, 300) u, generate_series(1, 2) k ORDER BY u, k;
CREATE TABLE other (id int PRIMARY KEY);`

// setupNotes creates the notes and a `user` role that sees its own.
func setupNotes(t *testing.T, url string) {
	t.Helper()
	mustPost(t, url+"/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": notesSQL}})
	mustPost(t, url+"/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "note"}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "note", "role": "user", "permission": map[string]any{
			"columns": []string{"id", "owner", "body"},
			"filter":  map[string]any{"owner": map[string]any{"_eq": "X-Hasura-User-Id"}},
		}}},
	}})
}

func mustPost(t *testing.T, url string, body any) {
	t.Helper()
	if status, out := post(t, url, body, nil); status != 200 {
		t.Fatalf("%s: %d %v", url, status, out)
	}
}

// notesEngine is an engine with the notes, refetching every interval.
func notesEngine(t *testing.T, interval time.Duration, batch int) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, func(c *config.Config) {
		c.LiveQueriesRefetchInterval = interval
		// Subscriptions outlive metadata changes here, so that tests see
		// how a running one follows them (with the default, the engine
		// closes the connection instead: engine/wsrestart_test.go).
		c.CloseWebsocketsOnMetadataChange = false
		if batch > 0 {
			c.LiveQueriesBatchSize = batch
		}
	})
	setupNotes(t, e.URL)
	return e
}

func runSQL(t *testing.T, e *enginetest.Engine, sql string) {
	t.Helper()
	mustPost(t, e.URL+"/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": sql}})
}

func userHeaders(id string) map[string]string {
	return map[string]string{"x-hasura-role": "user", "x-hasura-user-id": id}
}

// httpBody is the raw body /v1/graphql answers for a request.
func httpBody(t *testing.T, url, query string, vars map[string]any, headers map[string]string) []byte {
	t.Helper()
	req := map[string]any{"query": query}
	if vars != nil {
		req["variables"] = vars
	}
	b, _ := json.Marshal(req)
	r, _ := http.NewRequest(http.MethodPost, url+"/v1/graphql", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return out
}

// liveClient is a graphql-transport-ws client.
type liveClient struct {
	t       *testing.T
	c       *websocket.Conn
	headers map[string]string
}

type liveMsg struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

func dialLive(t *testing.T, url string, headers map[string]string) *liveClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveWait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/v1/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	w := &liveClient{t: t, c: c, headers: headers}
	w.send(map[string]any{"type": "connection_init", "payload": map[string]any{"headers": headers}})
	if m := w.next(); m.Type != "connection_ack" {
		t.Fatalf("expected connection_ack, got %+v", m)
	}
	return w
}

func (w *liveClient) send(v any) {
	w.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), liveWait)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

func (w *liveClient) next() liveMsg {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveWait)
	defer cancel()
	_, data, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	var m liveMsg
	if err := json.Unmarshal(data, &m); err != nil {
		w.t.Fatalf("invalid message %s: %v", data, err)
	}
	return m
}

func (w *liveClient) subscribe(id, query string, vars map[string]any) {
	w.t.Helper()
	p := map[string]any{"query": query}
	if vars != nil {
		p["variables"] = vars
	}
	w.send(map[string]any{"type": "subscribe", "id": id, "payload": p})
}

// expectResult reads the next message of subscription id and checks that
// it is, byte for byte, what /v1/graphql answers now for the same
// request and session.
func (w *liveClient) expectResult(url, id, query string, vars map[string]any) []byte {
	w.t.Helper()
	m := w.next()
	if m.Type != "next" || m.ID != id {
		w.t.Fatalf("expected next for %s, got %s %s %s", id, m.Type, m.ID, m.Payload)
	}
	if want := httpBody(w.t, url, query, vars, w.headers); !bytes.Equal(m.Payload, want) {
		w.t.Fatalf("user %s: subscription sent\n%s\nHTTP answers\n%s", w.headers["x-hasura-user-id"], m.Payload, want)
	}
	return m.Payload
}

func (w *liveClient) close() { _ = w.c.Close(websocket.StatusNormalClosure, "") }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(liveWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (stats %+v)", what, graphql.LiveQueryStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitPolls waits for n more refetch rounds.
func waitPolls(t *testing.T, n int64) {
	t.Helper()
	p := graphql.LiveQueryStats().Polls
	waitUntil(t, fmt.Sprintf("%d refetches", n), func() bool { return graphql.LiveQueryStats().Polls >= p+n })
}

// waitNoPollers: the pollers of earlier tests have gone.
func waitNoPollers(t *testing.T) {
	t.Helper()
	waitUntil(t, "no live query pollers", func() bool { s := graphql.LiveQueryStats(); return s.Pollers == 0 && s.Subscribers == 0 })
}

const notesSub = `subscription { note(order_by: {id: asc}) { id owner body } }`

func TestLiveQueriesEachSubscriberGetsItsOwnRows(t *testing.T) {
	waitNoPollers(t)
	e := notesEngine(t, 20*time.Millisecond, 0)
	const n = 50
	clients := make([]*liveClient, n)
	for i := range clients {
		w := dialLive(t, e.URL, userHeaders(strconv.Itoa(i+1)))
		w.subscribe("1", notesSub, nil)
		first := w.expectResult(e.URL, "1", notesSub, nil)
		if !bytes.Contains(first, fmt.Appendf(nil, `"owner" : %d,`, i+1)) || bytes.Count(first, []byte(`"id" :`)) != 2 {
			t.Fatalf("user %d got %s", i+1, first)
		}
		clients[i] = w
	}
	waitUntil(t, "one poller for everyone", func() bool {
		s := graphql.LiveQueryStats()
		return s.Pollers == 1 && s.Subscribers == n && s.Cohorts == n
	})

	// Everyone's next result comes from the multiplexed statement.
	runSQL(t, e, `UPDATE note SET body = body || '!'`)
	for _, w := range clients {
		w.expectResult(e.URL, "1", notesSub, nil)
	}

	// A change to user 7's rows goes to user 7 only...
	runSQL(t, e, `UPDATE note SET body = 'changed' WHERE owner = 7`)
	if got := clients[6].expectResult(e.URL, "1", notesSub, nil); !bytes.Contains(got, []byte(`"changed"`)) {
		t.Fatalf("user 7 got %s", got)
	}
	waitPolls(t, 3)
	// ...which the others show by their next message being the result
	// of the change after it.
	runSQL(t, e, `UPDATE note SET body = body || '?'`)
	for _, w := range clients {
		if got := w.expectResult(e.URL, "1", notesSub, nil); !bytes.Contains(got, []byte(`!?"`)) && !bytes.Contains(got, []byte(`changed?"`)) {
			t.Fatalf("user %s got %s", w.headers["x-hasura-user-id"], got)
		}
	}
	for _, w := range clients {
		w.close()
	}
	waitNoPollers(t)
}

func TestLiveQueriesOneStatementPerBatch(t *testing.T) {
	waitNoPollers(t)
	e := notesEngine(t, 20*time.Millisecond, 100)
	// 10 users x 25 values of $after: 250 cohorts of one poller (the
	// statement is the same; the values differ). A second connection of
	// user 1 repeats its 25 subscriptions: same cohorts.
	const q = `subscription ($after: Int!) { note(where: {id: {_gt: $after}}, order_by: {id: asc}, limit: 1) { id body } }`
	var clients []*liveClient
	for u := 1; u <= 11; u++ {
		user := u
		if u == 11 {
			user = 1
		}
		w := dialLive(t, e.URL, userHeaders(strconv.Itoa(user)))
		for k := range 25 {
			id := strconv.Itoa(k)
			w.subscribe(id, q, map[string]any{"after": k})
		}
		for range 25 {
			if m := w.next(); m.Type != "next" {
				t.Fatalf("got %+v", m)
			}
		}
		clients = append(clients, w)
	}
	waitUntil(t, "275 subscribers in 250 cohorts of one poller", func() bool {
		s := graphql.LiveQueryStats()
		return s.Pollers == 1 && s.Subscribers == 275 && s.Cohorts == 250
	})
	waitPolls(t, 2)
	if s := graphql.LiveQueryStats(); s.LastPollStatements != 3 {
		t.Fatalf("a refetch of 250 cohorts in batches of 100 ran %d statements, want 3", s.LastPollStatements)
	}
	before := graphql.LiveQueryStats()
	waitPolls(t, 10)
	after := graphql.LiveQueryStats()
	rounds, stmts := after.Polls-before.Polls, after.Statements-before.Statements
	// The window may cut a round in two: at most one round's worth apart.
	if stmts < 3*rounds-3 || stmts > 3*rounds+3 {
		t.Fatalf("%d statements in %d refetches, want 3 each", stmts, rounds)
	}

	// Results through values are the HTTP ones too: user 2's first note
	// is id 3.
	runSQL(t, e, `UPDATE note SET body = 'new' WHERE id = 4`)
	w := clients[1]
	m := w.next()
	vars := map[string]any{"after": 3}
	if want := httpBody(t, e.URL, q, vars, w.headers); m.ID != "3" || !bytes.Equal(m.Payload, want) {
		t.Fatalf("got %s %s, want %s", m.ID, m.Payload, want)
	}
	for _, w := range clients {
		w.close()
	}
	waitNoPollers(t)
}

func TestLiveQueriesGoroutinesReturnToBaseline(t *testing.T) {
	waitNoPollers(t)
	e := notesEngine(t, 10*time.Millisecond, 3)
	_ = httpBody(t, e.URL, notesSub, nil, userHeaders("1")) // builds the schema
	http.DefaultClient.CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	var clients []*liveClient
	for u := 1; u <= 20; u++ {
		w := dialLive(t, e.URL, userHeaders(strconv.Itoa(u%7+1)))
		w.subscribe("a", notesSub, nil)
		w.subscribe("b", `subscription { note_by_pk(id: 1) { id body } }`, nil)
		w.subscribe("c", `subscription { __typename }`, nil)
		for range 3 {
			if m := w.next(); m.Type != "next" {
				t.Fatalf("got %+v", m)
			}
		}
		clients = append(clients, w)
	}
	waitPolls(t, 5)
	// Some stop their subscriptions, the rest just go away.
	for i, w := range clients {
		if i%2 == 0 {
			w.send(map[string]any{"type": "complete", "id": "a"})
			w.send(map[string]any{"type": "complete", "id": "b"})
		}
	}
	for _, w := range clients {
		w.close()
	}
	http.DefaultClient.CloseIdleConnections()
	waitNoPollers(t)
	deadline := time.Now().Add(liveWait)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the clients came:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLiveQueriesFollowMetadata(t *testing.T) {
	waitNoPollers(t)
	e := notesEngine(t, 20*time.Millisecond, 0)
	w := dialLive(t, e.URL, userHeaders("1"))
	w.subscribe("1", notesSub, nil)
	w.expectResult(e.URL, "1", notesSub, nil)

	// A new snapshot that still allows the subscription: it carries on,
	// and sends nothing until its result changes.
	mustPost(t, e.URL+"/v1/metadata", map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "other"}})
	waitPolls(t, 3)
	runSQL(t, e, `UPDATE note SET body = 'after' WHERE owner = 1`)
	if got := w.expectResult(e.URL, "1", notesSub, nil); !bytes.Contains(got, []byte(`"after"`)) {
		t.Fatalf("got %s", got)
	}

	// One that does not: the subscription ends with the request's error.
	mustPost(t, e.URL+"/v1/metadata", map[string]any{"type": "pg_drop_select_permission", "args": map[string]any{"table": "note", "role": "user"}})
	m := w.next()
	// (The role has no table left: "no subscriptions exist".)
	if m.Type != "error" || m.ID != "1" || !strings.Contains(string(m.Payload), `"validation-failed"`) {
		t.Fatalf("expected the validation error, got %s %s", m.Type, m.Payload)
	}
	if m := w.next(); m.Type != "complete" {
		t.Fatalf("expected complete, got %+v", m)
	}
	w.close()
	waitNoPollers(t)
}

func TestLiveQueriesBadSessionFailsOnlyItself(t *testing.T) {
	waitNoPollers(t)
	e := notesEngine(t, 20*time.Millisecond, 0)
	bad := dialLive(t, e.URL, userHeaders("not-a-number"))
	bad.subscribe("1", notesSub, nil)
	if m := bad.next(); m.Type != "next" || !strings.Contains(string(m.Payload), "invalid input syntax") {
		t.Fatalf("got %s %s", m.Type, m.Payload)
	}
	var good []*liveClient
	for u := 1; u <= 3; u++ {
		w := dialLive(t, e.URL, userHeaders(strconv.Itoa(u)))
		w.subscribe("1", notesSub, nil)
		w.expectResult(e.URL, "1", notesSub, nil)
		good = append(good, w)
	}
	waitPolls(t, 3)
	// The good ones in one batch, the bad one alone.
	if s := graphql.LiveQueryStats(); s.LastPollStatements != 2 {
		t.Fatalf("a round ran %d statements, want 2", s.LastPollStatements)
	}
	runSQL(t, e, `UPDATE note SET body = body || '!'`)
	for _, w := range good {
		w.expectResult(e.URL, "1", notesSub, nil)
	}
	// The bad one is told every round, as Hasura tells errors.
	for range 2 {
		if m := bad.next(); m.Type != "next" || !strings.Contains(string(m.Payload), "invalid input syntax") {
			t.Fatalf("got %s %s", m.Type, m.Payload)
		}
	}
	bad.close()
	for _, w := range good {
		w.close()
	}
	waitNoPollers(t)
}

func TestLiveQueriesShutdownClosesSubscribers(t *testing.T) {
	waitNoPollers(t)
	cfg := config.Default()
	cfg.DatabaseURL = pgtest.NewDatabase(t)
	cfg.ServerHost = "127.0.0.1"
	cfg.LiveQueriesRefetchInterval = 20 * time.Millisecond
	logs := &testlog.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng, err := engine.New(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- eng.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	setupNotes(t, url)

	const n = 5
	closed := make(chan error, n)
	for u := 1; u <= n; u++ {
		w := dialLive(t, url, userHeaders(strconv.Itoa(u)))
		w.subscribe("1", notesSub, nil)
		if m := w.next(); m.Type != "next" {
			t.Fatalf("got %+v", m)
		}
		// Read on until the server closes: that is what lets the close
		// handshake finish.
		go func() {
			for {
				if _, _, err := w.c.Read(context.Background()); err != nil {
					closed <- err
					return
				}
			}
		}()
	}
	waitUntil(t, "the subscribers", func() bool { return graphql.LiveQueryStats().Subscribers == n })
	cancel()
	for range n {
		select {
		case err := <-closed:
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 1012 || ce.Reason != "shutting server down" {
				t.Fatalf("closed with %v, want 1012 shutting server down", err)
			}
		case <-time.After(liveWait):
			t.Fatal("a subscriber was not closed")
		}
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
	waitNoPollers(t)
}

func TestLiveQueriesSessionFunctions(t *testing.T) {
	waitNoPollers(t)
	e := notesEngine(t, 20*time.Millisecond, 0)
	// Functions given the whole session: their cohorts carry all of it,
	// as the very text $1 would be (session_text shows it).
	runSQL(t, e, `CREATE FUNCTION my_notes(hasura_session json) RETURNS SETOF note STABLE LANGUAGE sql AS
		$$ SELECT * FROM note WHERE owner = (hasura_session->>'x-hasura-user-id')::int $$;
		CREATE FUNCTION session_text(hasura_session json) RETURNS SETOF note STABLE LANGUAGE sql AS
		$$ SELECT id, owner, hasura_session::text || body FROM note WHERE id = 1 $$;`)
	mustPost(t, e.URL+"/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_function", "args": map[string]any{"function": "my_notes", "configuration": map[string]any{"session_argument": "hasura_session"}}},
		map[string]any{"type": "pg_track_function", "args": map[string]any{"function": "session_text", "configuration": map[string]any{"session_argument": "hasura_session"}}},
	}})
	subs := map[string]string{
		"f": `subscription { my_notes(order_by: {id: asc}) { id body } }`,
		"t": `subscription { session_text { body } }`,
	}
	var clients []*liveClient
	for u := 1; u <= 4; u++ {
		w := dialLive(t, e.URL, map[string]string{"x-hasura-role": "admin", "x-hasura-user-id": strconv.Itoa(u), "x-hasura-other": "o" + strconv.Itoa(u)})
		for _, id := range []string{"f", "t"} {
			w.subscribe(id, subs[id], nil)
			w.expectResult(e.URL, id, subs[id], nil)
		}
		clients = append(clients, w)
	}
	waitPolls(t, 3)
	runSQL(t, e, `UPDATE note SET body = body || '!' WHERE owner <= 4 OR id = 1`)
	for _, w := range clients {
		got := map[string][]byte{}
		for range 2 {
			m := w.next()
			if m.Type != "next" || got[m.ID] != nil || subs[m.ID] == "" {
				t.Fatalf("got %s %s %s", m.Type, m.ID, m.Payload)
			}
			got[m.ID] = m.Payload
		}
		for id, payload := range got {
			if want := httpBody(t, e.URL, subs[id], nil, w.headers); !bytes.Equal(payload, want) {
				t.Fatalf("%s: subscription sent\n%s\nHTTP answers\n%s", id, payload, want)
			}
		}
	}
	for _, w := range clients {
		w.close()
	}
	waitNoPollers(t)
}
