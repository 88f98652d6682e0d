package subscriptions

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/strata-dev/strata/engine/auth"
)

// throughSubscriber makes newEnv's handlers run operations through a
// Subscriber (the engine's multiplexed path) instead of polling Execute.
var throughSubscriber bool

// subscriber is a Subscriber over the fake executor: it runs the request
// once and, for a subscription, polls on its own goroutine and hands over
// changed results, as the engine's pollers do for a cohort.
func (f *fakeExec) subscriber(every time.Duration) Subscriber {
	return func(ctx context.Context, sess *auth.Session, req *Request, send func(Result)) (Result, func()) {
		res := f.exec(ctx, sess, req)
		if res.RequestError || !res.Subscription || ctx.Err() != nil {
			return res, nil
		}
		pctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			last := sha256.Sum256(res.Body)
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-pctx.Done():
					return
				case <-t.C:
				}
				r := f.exec(pctx, sess, req)
				if pctx.Err() != nil {
					return
				}
				if r.RequestError {
					send(r)
					return
				}
				if sum := sha256.Sum256(r.Body); sum != last {
					last = sum
					send(Result{Body: r.Body})
				}
			}
		}()
		return res, sync.OnceFunc(func() { cancel(); <-done })
	}
}

// The whole protocol suite again, with operations started through a
// Subscriber: the client must not see a difference.
func TestProtocolsThroughSubscriber(t *testing.T) {
	throughSubscriber = true
	defer func() { throughSubscriber = false }()
	for name, f := range map[string]func(*testing.T){
		"ApolloWithoutSubprotocol":                 TestApolloWithoutSubprotocol,
		"ApolloRequestError":                       TestApolloRequestError,
		"ApolloStopSubscription":                   TestApolloStopSubscription,
		"ApolloStopQueryInFlight":                  TestApolloStopQueryInFlight,
		"StopWinsOverAnExecutorThatIgnoresCancel":  TestStopWinsOverAnExecutorThatIgnoresCancellation,
		"ExecutorPanicBecomesAnError":              TestExecutorPanicBecomesAnError,
		"ApolloStartBeforeInit":                    TestApolloStartBeforeInit,
		"ApolloDuplicateID":                        TestApolloDuplicateID,
		"InitHeaderSources":                        TestInitHeaderSources,
		"TransportWSQuery":                         TestTransportWSQuery,
		"TransportWSRequestError":                  TestTransportWSRequestError,
		"TransportWSDuplicateID":                   TestTransportWSDuplicateID,
		"TransportWSSubscriptionPollsAndCompletes": TestTransportWSSubscriptionPollsAndCompletes,
		"TransportWSSubscriptionErrorStopsIt":      TestTransportWSSubscriptionErrorStopsIt,
		"DisconnectEndsEverything":                 TestDisconnectEndsEverything,
	} {
		t.Run(name, f)
	}
}

// scripted is a Subscriber whose later results the test hands over.
type scripted struct {
	mu      sync.Mutex
	send    func(Result)
	stopped chan struct{}
}

func (s *scripted) subscribe(_ context.Context, _ *auth.Session, req *Request, send func(Result)) (Result, func()) {
	if !strings.HasPrefix(req.Query, "subscription") {
		return Result{Body: []byte(`{"data":{"q":1}}`)}, nil
	}
	s.mu.Lock()
	s.send = send
	s.mu.Unlock()
	return Result{Body: []byte(subBody(0)), Subscription: true}, sync.OnceFunc(func() { close(s.stopped) })
}

func (s *scripted) push(t *testing.T, r Result) {
	t.Helper()
	s.mu.Lock()
	send := s.send
	s.mu.Unlock()
	if send == nil {
		t.Fatal("no subscriber")
	}
	send(r)
}

func TestSubscriberResultsAndStop(t *testing.T) {
	for _, proto := range []string{"apollo", "graphql-transport-ws"} {
		t.Run(proto, func(t *testing.T) {
			s := &scripted{stopped: make(chan struct{})}
			e := newEnv(t, func(h *Handler) { h.Subscribe = s.subscribe })
			var c *websocket.Conn
			opType, dataType, stopType := "start", "data", "stop"
			if proto == "apollo" {
				c = e.apollo(t)
				apolloInit(t, c, adminPayload)
			} else {
				c = e.transportWS(t)
				transportInit(t, c)
				opType, dataType, stopType = "subscribe", "next", "complete"
			}
			send(t, c, start(opType, "s", "subscription { n }"))
			expectRaw(t, c, `{"type":"`+dataType+`","id":"s","payload":`+subBody(0)+`}`)
			s.push(t, Result{Body: []byte(subBody(1))})
			expectRaw(t, c, `{"type":"`+dataType+`","id":"s","payload":`+subBody(1)+`}`)
			// An error of a result is a result.
			s.push(t, Result{Body: []byte(`{"errors":[{"message":"x"}]}`)})
			expectRaw(t, c, `{"type":"`+dataType+`","id":"s","payload":{"errors":[{"message":"x"}]}}`)

			send(t, c, `{"type":"`+stopType+`","id":"s"}`)
			select {
			case <-s.stopped:
			case <-time.After(wait):
				t.Fatal("stop was not called")
			}
			// Whatever the subscriber still hands over goes nowhere.
			s.push(t, Result{Body: []byte(subBody(2))})
			send(t, c, start(opType, "q", "query { q }"))
			expectRaw(t, c, `{"type":"`+dataType+`","id":"q","payload":{"data":{"q":1}}}`)
			expectRaw(t, c, `{"type":"complete","id":"q"}`)
		})
	}
}

func TestSubscriberRequestErrorEndsTheSubscription(t *testing.T) {
	s := &scripted{stopped: make(chan struct{})}
	e := newEnv(t, func(h *Handler) { h.Subscribe = s.subscribe })
	c := e.transportWS(t)
	transportInit(t, c)
	send(t, c, start("subscribe", "s", "subscription { n }"))
	expectRaw(t, c, `{"type":"next","id":"s","payload":`+subBody(0)+`}`)
	s.push(t, Result{Body: []byte(badBody), RequestError: true})
	expectRaw(t, c, `{"type":"error","id":"s","payload":`+badErrors+`}`)
	expectRaw(t, c, `{"type":"complete","id":"s"}`)
	select {
	case <-s.stopped:
	case <-time.After(wait):
		t.Fatal("stop was not called")
	}
}

func TestMailboxKeepsTheNewestAndTheEnd(t *testing.T) {
	m := &mailbox{ready: make(chan struct{}, 1)}
	if _, ok := m.take(); ok {
		t.Fatal("empty mailbox gave a result")
	}
	m.put(Result{Body: []byte("1")})
	m.put(Result{Body: []byte("2")})
	if r, ok := m.take(); !ok || string(r.Body) != "2" {
		t.Fatalf("got %q, want the newest", r.Body)
	}
	m.put(Result{Body: []byte("end"), RequestError: true})
	m.put(Result{Body: []byte("3")})
	if r, ok := m.take(); !ok || !r.RequestError {
		t.Fatalf("got %q, want the final error", r.Body)
	}
}

func TestShutdownClosesConnections(t *testing.T) {
	var h *Handler
	s := &scripted{stopped: make(chan struct{})}
	e := newEnv(t, func(hh *Handler) { hh.Subscribe = s.subscribe; h = hh })
	c := e.transportWS(t)
	transportInit(t, c)
	send(t, c, start("subscribe", "s", "subscription { n }"))
	expectRaw(t, c, `{"type":"next","id":"s","payload":`+subBody(0)+`}`)

	done := make(chan struct{})
	go func() { h.Shutdown(); close(done) }()
	expectClose(t, c, closeServiceRestart, "shutting server down")
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Shutdown did not return")
	}
	select {
	case <-s.stopped:
	default:
		t.Fatal("the subscription was not stopped")
	}
	// Latecomers are turned away.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, e.url+"/v1/graphql", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v %v", resp, err)
	}
}
