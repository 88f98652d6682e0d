package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// wsFake serves both websocket protocols and records what clients sent.
type wsFake struct {
	mu       sync.Mutex
	received []string // "<type> <query or headers>"
}

func (f *wsFake) record(s string) {
	f.mu.Lock()
	f.received = append(f.received, s)
	f.mu.Unlock()
}

func (f *wsFake) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.received, "\n")
}

func (f *wsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{gqlwsProtocol}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	gqlws := c.Subprotocol() == gqlwsProtocol
	ctx := r.Context()
	write := func(s string) { _ = c.Write(ctx, websocket.MessageText, []byte(s)) }
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var m struct {
			Type    string
			Payload struct {
				Query   string
				Headers map[string]string
			}
		}
		_ = json.Unmarshal(data, &m)
		switch m.Type {
		case "connection_init":
			f.record("connection_init " + m.Payload.Headers["X-Hasura-Role"])
			write(`{"type":"connection_ack"}`)
			if !gqlws {
				write(`{"type":"ka"}`)
			} else {
				write(`{"type":"ping"}`)
			}
		case "start", "subscribe":
			f.record(m.Type + " " + m.Payload.Query)
			switch {
			case strings.Contains(m.Payload.Query, "broken") && gqlws:
				write(`{"type":"error","id":"1","payload":[{"message":"broken"}]}`)
			case gqlws:
				write(`{"type":"next","id":"1","payload":{"data":{"a":1,"b":2}}}`)
				write(`{"type":"complete","id":"1"}`)
			case strings.HasPrefix(m.Payload.Query, "subscription"):
				write(`{"type":"data","id":"1","payload":{"data":{"a":1,"b":2}}}`)
			default:
				write(`{"type":"data","id":"1","payload":{"data":{"a":1,"b":2}}}`)
				write(`{"type":"complete","id":"1"}`)
			}
		default:
			f.record(m.Type)
		}
	}
}

func TestWebsocketTransports(t *testing.T) {
	fake := &wsFake{}
	r, eng := fakeRunner(t, fake.ServeHTTP)
	ctx := context.Background()
	c := &Case{
		URL:      "/v1/graphql",
		Headers:  []Header{{"X-Hasura-Role", "user"}},
		Query:    ptr(mustYAML(t, "query: 'query Q { a b }'")),
		Response: ptr(mustYAML(t, "data: {a: 1, b: 2}")),
	}
	for _, tc := range []struct {
		name         string
		gqlws, sub   bool
		wantReceived string
	}{
		{"legacy query", false, false, "start query Q { a b }"},
		{"legacy subscription", false, true, "start subscription Q @_multiple_top_level_fields { a b }\nstop"},
		{"graphql-ws query", true, false, "subscribe query Q { a b }"},
	} {
		fake.received = nil
		if d := r.runWS(ctx, eng, c, c.Headers, tc.gqlws, tc.sub); d != "" {
			t.Errorf("%s: %s", tc.name, d)
		}
		if got := fake.log(); !strings.HasPrefix(got, "connection_init user\n"+tc.wantReceived) {
			t.Errorf("%s: server saw\n%s\nwant\n%s", tc.name, got, tc.wantReceived)
		}
	}

	// The selection set fixes field order over websockets too.
	c.Response = ptr(mustYAML(t, "data: {b: 2, a: 1}"))
	if d := r.runWS(ctx, eng, c, nil, false, false); d != "$.data: key order: expected [b a], got [a b]" {
		t.Errorf("order: %q", d)
	}

	// graphql-transport-ws errors are a bare list, compared as {errors: ...}.
	c.Query = ptr(mustYAML(t, "query: 'query { broken }'"))
	c.Response = ptr(mustYAML(t, "errors: [{message: broken}]"))
	if d := r.runWS(ctx, eng, c, nil, true, false); d != "" {
		t.Errorf("gqlws error: %s", d)
	}

	// A server that refuses the upgrade is one clear failure.
	r2, eng2 := fakeRunner(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	if d := r2.runWS(ctx, eng2, c, nil, false, false); d != "websocket: expected handshake response 101, got 404" {
		t.Errorf("handshake: %q", d)
	}
}
