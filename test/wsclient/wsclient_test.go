package wsclient_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/graphql"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "wsclient-secret"

// setup (a /v1/query bulk) is an item table owned by users 1 and 2, with
// a select permission for role user on its own rows.
const setup = `{"type":"bulk","args":[
 {"type":"run_sql","args":{"sql":"CREATE TABLE item (id int PRIMARY KEY, owner int NOT NULL, value int NOT NULL); INSERT INTO item VALUES (1, 1, 10), (2, 2, 20), (3, 1, 30)"}},
 {"type":"track_table","args":{"table":"item"}},
 {"type":"create_select_permission","args":{"table":"item","role":"user","permission":{"columns":["id","value"],"filter":{"owner":{"_eq":"X-Hasura-User-Id"}}}}}
]}`

// startEngine runs an engine with an admin secret and the item table; its
// live queries are refetched often so the test does not wait long.
func startEngine(t *testing.T) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, func(c *config.Config) {
		c.AdminSecrets = []string{secret}
		c.LiveQueriesRefetchInterval = 50 * time.Millisecond
	})
	status, _, out := enginetest.Do(t, http.MethodPost, e.URL+"/v1/query",
		http.Header{"X-Hasura-Admin-Secret": {secret}, "Content-Type": {"application/json"}}, setup)
	if status != http.StatusOK {
		t.Fatalf("setup: %d %s", status, out)
	}
	return e
}

func wsURL(e *enginetest.Engine) string {
	return "ws" + strings.TrimPrefix(e.URL, "http") + "/v1/graphql"
}

// connectionParams is a connection_init payload carrying headers, as
// Hasura's clients send them.
func connectionParams(headers map[string]string) string {
	b, _ := json.Marshal(map[string]any{"headers": headers})
	return string(b)
}

const (
	liveQuery = `subscription { item(order_by: {id: asc}) { id value } }`
	query     = `query { item(order_by: {id: asc}) { id value } }`
)

// TestGraphQLWSClient runs, on one connection of the graphql-ws client
// as role user with a session variable: a live query that sees a change
// committed elsewhere and is stopped by the client, a query, and an
// invalid subscription.
func TestGraphQLWSClient(t *testing.T) {
	e := startEngine(t)
	s := runScript(t, wsURL(e), connectionParams(map[string]string{
		"x-hasura-admin-secret": secret, "x-hasura-role": "user", "x-hasura-user-id": "1",
	}))
	s.expect("connected", "")

	// The live query: its first result is user 1's rows only.
	s.subscribe("live", liveQuery)
	equalJSON(t, "first result", s.expect("next", "live").Payload,
		`{"data":{"item":[{"id":1,"value":10},{"id":3,"value":30}]}}`)
	if n := graphql.LiveQueryStats().Subscribers; n != 1 {
		t.Fatalf("%d live query subscribers on the engine, want 1", n)
	}

	// A change to user 2's row alone must not reach user 1; the next
	// result is the change to user 1's row, committed after it.
	db, err := pgx.Connect(context.Background(), e.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	for _, sql := range []string{`UPDATE item SET value = 21 WHERE id = 2`, `UPDATE item SET value = 11 WHERE id = 1`} {
		if _, err := db.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	equalJSON(t, "result after the update", s.expect("next", "live").Payload,
		`{"data":{"item":[{"id":1,"value":11},{"id":3,"value":30}]}}`)

	// The client stops it: graphql-ws sends complete for the operation's
	// id and the engine drops the subscriber, the connection staying open.
	s.command(map[string]any{"cmd": "unsubscribe", "id": "live"})
	s.expect("unsubscribed", "live")
	s.expect("complete", "live")
	liveID := operationID(t, s.sent(), liveQuery)
	if !hasFrame(s.sent(), "complete", liveID) {
		t.Errorf("the client sent no complete for %s: %v", liveID, s.sent())
	}
	for deadline := time.Now().Add(hang); graphql.LiveQueryStats().Subscribers != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the engine still has %d subscribers after the client's complete", graphql.LiveQueryStats().Subscribers)
		}
	}

	s.subscribe("query", query)
	equalJSON(t, "query", s.expect("next", "query").Payload,
		`{"data":{"item":[{"id":1,"value":11},{"id":3,"value":30}]}}`)
	s.expect("complete", "query")

	// An invalid subscription fails with Hasura's error shape. It goes
	// last: Hasura follows the error with a complete (withComplete, which
	// its own graphql-ws conformance cases read), and graphql-ws on Node
	// counts that complete as a second release of the operation, which
	// may leave it with no operation and close the connection (1000).
	s.subscribe("bad", `subscription { nope { id } }`)
	equalJSON(t, "invalid subscription", s.expect("error", "bad").Errors,
		`[{"extensions":{"path":"$.selectionSet.nope","code":"validation-failed"},"message":"field 'nope' not found in type: 'subscription_root'"}]`)

	// Whoever of the two closed it, the connection closed once, cleanly.
	s.command(map[string]any{"cmd": "exit"})
	if last := s.until("exit"); len(last) != 1 || last[0].Event != "closed" || last[0].Code != 1000 {
		t.Errorf("before exit: %v, want one close with 1000 (the client's own)", last)
	}
	s.wait()

	// Everything ran on the one connection the client opened.
	var acks int
	for _, f := range s.received() {
		if f.Type == "connection_ack" {
			acks++
		}
	}
	if acks != 1 {
		t.Errorf("%d connection_ack, want 1: %v", acks, s.received())
	}
}

// TestGraphQLWSClientRefused: on an engine with an admin secret, a
// connection_init without it, or with a wrong one, is refused as Hasura
// refuses it on graphql-transport-ws: the socket is closed with 4403
// Forbidden and no connection_ack.
func TestGraphQLWSClientRefused(t *testing.T) {
	e := startEngine(t)
	for name, headers := range map[string]map[string]string{
		"no secret":    {"x-hasura-role": "user", "x-hasura-user-id": "1"},
		"wrong secret": {"x-hasura-admin-secret": "not-" + secret},
	} {
		t.Run(name, func(t *testing.T) {
			s := runScript(t, wsURL(e), connectionParams(headers))
			if c := s.expect("closed", ""); c.Code != 4403 || c.Reason != "Forbidden" {
				t.Errorf("closed with %d %q, want 4403 \"Forbidden\"", c.Code, c.Reason)
			}
			// graphql-ws does not retry a 4403 here (retryAttempts 0) and
			// hands the close to the application.
			s.expect("fatal", "")
			if !hasFrame(s.sent(), "connection_init", "") {
				t.Errorf("the client sent no connection_init: %v", s.sent())
			}
			if got := s.received(); len(got) != 0 {
				t.Errorf("the client received %v, want nothing", got)
			}
			s.command(map[string]any{"cmd": "exit"})
			s.expect("exit", "")
			s.wait()
		})
	}
}

// operationID is the id the client gave the operation it subscribed
// with query.
func operationID(t *testing.T, sent []frame, query string) string {
	t.Helper()
	for _, f := range sent {
		var p struct{ Query string }
		if f.Type == "subscribe" && json.Unmarshal(f.Payload, &p) == nil && p.Query == query {
			return f.ID
		}
	}
	t.Fatalf("the client sent no subscribe for %s: %v", query, sent)
	return ""
}

func hasFrame(frames []frame, typ, id string) bool {
	for _, f := range frames {
		if f.Type == typ && f.ID == id {
			return true
		}
	}
	return false
}

// equalJSON compares two JSON texts, key order aside.
func equalJSON(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: not JSON: %s", what, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
	}
}
