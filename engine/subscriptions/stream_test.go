package subscriptions

// Streaming subscriptions' results (Result.Stream): every batch reaches
// the client, in order, however fast they come; an empty first batch
// sends nothing.

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/strata-dev/strata/engine/auth"
)

func TestMailboxQueuesStreamBatches(t *testing.T) {
	m := &mailbox{ready: make(chan struct{}, 1)}
	for i := range 3 {
		m.put(Result{Body: []byte(strconv.Itoa(i)), Stream: true})
	}
	for i := range 3 {
		select {
		case <-m.ready:
		default:
			t.Fatalf("batch %d: not signalled", i)
		}
		if r, ok := m.take(); !ok || string(r.Body) != strconv.Itoa(i) {
			t.Fatalf("got %q %v, want batch %d", r.Body, ok, i)
		}
	}
	if _, ok := m.take(); ok {
		t.Fatal("a drained mailbox gave a result")
	}
	// A final error comes after the batches before it, and ends it all.
	m.put(Result{Body: []byte("3"), Stream: true})
	m.put(Result{Body: []byte("end"), RequestError: true})
	m.put(Result{Body: []byte("4"), Stream: true})
	if r, _ := m.take(); string(r.Body) != "3" {
		t.Fatalf("got %q, want batch 3", r.Body)
	}
	if r, _ := m.take(); !r.RequestError {
		t.Fatalf("got %q, want the final error", r.Body)
	}
	if r, ok := m.take(); ok {
		t.Fatalf("got %q after the final error", r.Body)
	}
}

// streaming is a Subscriber whose first batch is empty and which then
// hands over n batches as fast as it can.
type streaming struct {
	n    int
	done chan struct{}
}

func (s *streaming) subscribe(_ context.Context, _ *auth.Session, _ *Request, send func(Result)) (Result, func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range s.n {
			send(Result{Body: []byte(subBody(int64(i + 1))), Subscription: true, Stream: true})
		}
	})
	return Result{Subscription: true, Stream: true}, func() { wg.Wait(); close(s.done) }
}

func TestStreamBatchesAllReachTheClient(t *testing.T) {
	s := &streaming{n: 200, done: make(chan struct{})}
	e := newEnv(t, func(h *Handler) { h.Subscribe = s.subscribe })
	c := e.transportWS(t)
	transportInit(t, c)
	send(t, c, start("subscribe", "s", "subscription { n }"))
	// Nothing for the empty first batch: the first message is batch 1.
	for i := range s.n {
		expectRaw(t, c, `{"type":"next","id":"s","payload":`+subBody(int64(i+1))+`}`)
	}
	send(t, c, `{"type":"complete","id":"s"}`)
	<-s.done
}
