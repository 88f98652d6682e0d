package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Websocket transports. "websocket" sends the case's query over the
// engine's GraphQL websocket and compares the first result with the case's
// response; "subscription" first turns the query into a subscription.
// Without gqlws the protocol is the legacy Apollo one
// (subscriptions-transport-ws), which Hasura serves to clients that ask for
// no subprotocol, as Hasura's runner does; with gqlws it is
// graphql-transport-ws.

const wsTimeout = 10 * time.Second // per exchange

const gqlwsProtocol = "graphql-transport-ws"

// runWS runs one case over a websocket; "" on a match, else the first
// difference.
func (r *Runner) runWS(ctx context.Context, eng *engineRef, c *Case, headers []Header, gqlws, subscription bool) string {
	if c.Query == nil || c.Query.Kind != KindObject {
		return "websocket: the case's query is not a GraphQL request object"
	}
	if c.Response == nil && len(c.Allowed) == 0 {
		// Hasura's runner asserts a response for websocket cases.
		return "websocket: the case has no expected response"
	}
	payload := *c.Query
	if subscription {
		opName, _ := payload.Get("operationName")
		sub, err := toSubscription(queryText(payload), opName.Str)
		if err != nil {
			return err.Error()
		}
		payload = payload.With("query", String(sub))
	}

	wsURL := "ws" + strings.TrimPrefix(eng.URL, "http") + c.URL
	opts := &websocket.DialOptions{}
	if gqlws {
		opts.Subprotocols = []string{gqlwsProtocol}
	}
	dctx, cancel := context.WithTimeout(ctx, wsTimeout)
	conn, resp, err := websocket.Dial(dctx, wsURL, opts)
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return fmt.Sprintf("websocket: expected handshake response 101, got %d", resp.StatusCode)
		}
		return "websocket: " + err.Error()
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxBodyBytes)
	ws := &wsSession{conn: conn, gqlws: gqlws}

	hdrs := Object()
	for _, h := range headers {
		hdrs = hdrs.With(h.Name, String(h.Value))
	}
	if err := ws.send(ctx, Object(M("type", String("connection_init")), M("payload", Object(M("headers", hdrs))))); err != nil {
		return err.Error()
	}
	ack, err := ws.next(ctx, "connection_ack")
	if err != nil {
		return err.Error()
	}
	if t := msgType(ack); t != "connection_ack" {
		return fmt.Sprintf("websocket: expected connection_ack, got %s", short(ack))
	}

	startType, dataType, stopType := "start", "data", "stop"
	if gqlws {
		startType, dataType, stopType = "subscribe", "next", "complete"
	}
	if err := ws.send(ctx, Object(M("id", String("1")), M("type", String(startType)), M("payload", payload))); err != nil {
		return err.Error()
	}
	msg, err := ws.next(ctx, "the first result")
	if err != nil {
		return err.Error()
	}
	got, ok := msg.Get("payload")
	switch t := msgType(msg); {
	case t == dataType && ok:
	case t == "error" && ok:
		if gqlws { // graphql-transport-ws sends the errors list itself
			got = Object(M("errors", got))
		}
		if !expectsErrors(c) {
			return fmt.Sprintf("websocket: expected a %s message, got an error: %s", dataType, short(got))
		}
	case t == "complete":
		return "websocket: got complete before any result"
	default:
		return fmt.Sprintf("websocket: expected a %s or error message, got %s", dataType, short(msg))
	}

	rule := ruleFor(c.URL, &payload)
	if d := compareWSPayload(c, got, rule); d != "" {
		return d
	}
	if gqlws && msgType(msg) == "error" {
		// graphql-transport-ws: an error ends the operation, no complete
		// follows.
		_ = conn.Close(websocket.StatusNormalClosure, "")
		return ""
	}
	if subscription {
		// A subscription stays open: stop it rather than wait for complete.
		_ = ws.send(ctx, Object(M("id", String("1")), M("type", String(stopType))))
		_ = conn.Close(websocket.StatusNormalClosure, "")
		return ""
	}
	done, err := ws.next(ctx, "complete")
	if err != nil {
		return err.Error()
	}
	if t := msgType(done); t != "complete" {
		return fmt.Sprintf("websocket: expected complete after the result, got %s", short(done))
	}
	_ = conn.Close(websocket.StatusNormalClosure, "")
	return ""
}

// compareWSPayload compares a websocket result with the case's response
// (or any of its allowed_responses). Status and headers do not exist here.
func compareWSPayload(c *Case, got Value, rule *orderRule) string {
	if len(c.Allowed) > 0 && c.Response == nil {
		first := ""
		for _, a := range c.Allowed {
			d := compareBody(a.Response, got, rule)
			if d == "" {
				return ""
			}
			if first == "" {
				first = d
			}
		}
		return fmt.Sprintf("none of %d allowed_responses matched; first: %s", len(c.Allowed), first)
	}
	return compareBody(*c.Response, got, rule)
}

// expectsErrors is Hasura's runner's test for whether an "error" message
// may stand in for "data": the expected response has errors.
func expectsErrors(c *Case) bool {
	has := func(v Value) bool {
		_, e1 := v.Get("errors")
		_, e2 := v.Get("error")
		return e1 || e2
	}
	if c.Response != nil {
		return has(*c.Response)
	}
	for _, a := range c.Allowed {
		if has(a.Response) {
			return true
		}
	}
	return false
}

type wsSession struct {
	conn  *websocket.Conn
	gqlws bool
}

func (s *wsSession) send(ctx context.Context, v Value) error {
	ctx, cancel := context.WithTimeout(ctx, wsTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, v.JSON()); err != nil {
		return fmt.Errorf("websocket: send %s: %v", msgType(v), err)
	}
	return nil
}

// next reads the next protocol message, skipping keep-alives (and
// answering graphql-transport-ws pings). waiting names what is expected,
// for the error.
func (s *wsSession) next(ctx context.Context, waiting string) (Value, error) {
	for {
		rctx, cancel := context.WithTimeout(ctx, wsTimeout)
		_, data, err := s.conn.Read(rctx)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return Value{}, fmt.Errorf("websocket: no message within %s while waiting for %s", wsTimeout, waiting)
			}
			return Value{}, fmt.Errorf("websocket: waiting for %s: %v", waiting, err)
		}
		msg, err := ParseJSON(data)
		if err != nil {
			return Value{}, fmt.Errorf("websocket: message is not JSON: %v (%s)", err, bodySnippet(data))
		}
		switch msgType(msg) {
		case "ka", "pong":
			continue
		case "ping":
			if s.gqlws {
				if err := s.send(ctx, Object(M("type", String("pong")))); err != nil {
					return Value{}, err
				}
			}
			continue
		case "connection_error":
			p, _ := msg.Get("payload")
			return Value{}, fmt.Errorf("websocket: connection_error: %s", short(p))
		}
		return msg, nil
	}
}

func msgType(v Value) string {
	t, _ := v.Get("type")
	return t.Str
}
