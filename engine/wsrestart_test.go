package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/test/enginetest"
)

// wsWait bounds each websocket read: a hang fails the test, it does not
// time anything.
const wsWait = 20 * time.Second

// subscribed opens a graphql-transport-ws connection with a running
// subscription (its first result read).
func subscribed(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/v1/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	for _, m := range []string{
		`{"type":"connection_init","payload":{}}`,
		`{"id":"1","type":"subscribe","payload":{"query":"subscription { item { id } }"}}`,
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	for _, want := range []string{"connection_ack", "next"} {
		if got := wsType(t, c); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	return c
}

func wsType(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m struct{ Type string }
	_ = json.Unmarshal(data, &m)
	return m.Type
}

// trackOther changes the metadata.
func trackOther(t *testing.T, e *enginetest.Engine) {
	t.Helper()
	enginetest.MustPost(t, e, "/v1/metadata", map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "other"}})
}

func setupItems(t *testing.T, e *enginetest.Engine) {
	t.Helper()
	if status, _, body := enginetest.Do(t, http.MethodPost, e.URL+"/v1/query", nil, `{"type":"bulk","args":[
	  {"type":"run_sql","args":{"sql":"CREATE TABLE item (id int PRIMARY KEY); CREATE TABLE other (id int PRIMARY KEY)"}},
	  {"type":"track_table","args":{"schema":"public","name":"item"}}]}`); status != http.StatusOK {
		t.Fatalf("setup: %d %s", status, body)
	}
}

// TestMetadataChangeRestartsWebsockets: as in Hasura, a metadata change
// closes every websocket with 1012 "Server state changed, restarting the
// server", so that subscriptions start again on the new schema and
// permissions; HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE=false
// keeps them.
func TestMetadataChangeRestartsWebsockets(t *testing.T) {
	e := enginetest.Start(t, nil)
	setupItems(t, e)
	c := subscribed(t, e.URL)
	trackOther(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue // a result sent before the close
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1012 || ce.Reason != "Server state changed, restarting the server" {
			t.Fatalf("the connection ended with %v, want close 1012 Server state changed, restarting the server", err)
		}
		break
	}

	// A new connection is served, on the new schema.
	c = subscribed(t, e.URL)
	_ = c.Close(websocket.StatusNormalClosure, "")
}

func TestMetadataChangeKeepsWebsocketsWhenAsked(t *testing.T) {
	e := enginetest.Start(t, func(c *config.Config) { c.CloseWebsocketsOnMetadataChange = false })
	setupItems(t, e)
	c := subscribed(t, e.URL)
	trackOther(t, e)
	// Still open: a second subscription on it answers.
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"id":"2","type":"subscribe","payload":{"query":"subscription { other { id } }"}}`)); err != nil {
		t.Fatalf("write: %v", err)
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("the connection closed: %v", err)
		}
		var m struct{ ID, Type string }
		_ = json.Unmarshal(data, &m)
		if m.ID == "2" {
			if m.Type != "next" {
				t.Fatalf("second subscription: %s", data)
			}
			break
		}
	}
}
