package pgmeta

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type flightResult struct {
	out string
	err error
}

func doAsync(g *flights[string], ctx context.Context, fn func(context.Context) ([]byte, error)) chan flightResult {
	ch := make(chan flightResult, 1)
	go func() {
		out, err := g.do(ctx, "k", fn)
		ch <- flightResult{string(out), err}
	}()
	return ch
}

// waitFor polls cond (under g's lock) until it holds.
func waitFlights(t *testing.T, g *flights[string], what string, cond func() bool) {
	t.Helper()
	for range 5000 {
		g.mu.Lock()
		ok := cond()
		g.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}

// TestFlightsGatherIntoTheNext: requests arriving while a computation runs
// do not get its answer (it may predate them) but share the next one.
func TestFlightsGatherIntoTheNext(t *testing.T) {
	var g flights[string]
	var calls atomic.Int32
	release := make(chan struct{})
	compute := func(name string, block bool) func(context.Context) ([]byte, error) {
		return func(context.Context) ([]byte, error) {
			calls.Add(1)
			if block {
				<-release
			}
			return []byte(name), nil
		}
	}
	first := doAsync(&g, context.Background(), compute("first", true))
	waitFlights(t, &g, "the first computation runs", func() bool { s := g.slots["k"]; return s != nil && s.busy && s.next == nil })
	second := doAsync(&g, context.Background(), compute("second", false))
	third := doAsync(&g, context.Background(), compute("third", false))
	waitFlights(t, &g, "two requests gather", func() bool { s := g.slots["k"]; return s.next != nil && s.next.waiters == 2 })
	close(release)

	if r := <-first; r.out != "first" || r.err != nil {
		t.Fatalf("first: %+v", r)
	}
	r2, r3 := <-second, <-third
	if r2 != r3 || (r2.out != "second" && r2.out != "third") || r2.err != nil {
		t.Fatalf("gathered requests got %+v and %+v", r2, r3)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d computations, want 2", n)
	}
	waitFlights(t, &g, "the slot is dropped", func() bool { return len(g.slots) == 0 })
}

// TestFlightsCancel: a computation is cancelled when all its requests are
// gone, not before; a gathering one they all left never runs.
func TestFlightsCancel(t *testing.T) {
	var g flights[string]
	cancelled := make(chan struct{})
	blocking := func(ctx context.Context) ([]byte, error) {
		<-ctx.Done()
		close(cancelled)
		return nil, ctx.Err()
	}
	ctxA, cancelA := context.WithCancel(context.Background())
	a := doAsync(&g, ctxA, blocking)
	waitFlights(t, &g, "the computation runs", func() bool { s := g.slots["k"]; return s != nil && s.busy && s.next == nil })
	ctxB, cancelB := context.WithCancel(context.Background())
	var ranB atomic.Bool
	b := doAsync(&g, ctxB, func(context.Context) ([]byte, error) { ranB.Store(true); return nil, nil })
	waitFlights(t, &g, "b gathers", func() bool { return g.slots["k"].next != nil })
	cancelB()
	if r := <-b; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("b: %+v", r)
	}
	select {
	case <-cancelled:
		t.Fatal("computation cancelled while a request still waits for it")
	default:
	}
	cancelA()
	if r := <-a; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("a: %+v", r)
	}
	<-cancelled
	waitFlights(t, &g, "the slot is dropped", func() bool { return len(g.slots) == 0 })
	if ranB.Load() {
		t.Fatal("the computation nobody waited for ran")
	}
}

// TestFlightsPanic: a panicking computation is an error for its requests,
// and the key works again afterwards.
func TestFlightsPanic(t *testing.T) {
	var g flights[string]
	_, err := g.do(context.Background(), "k", func(context.Context) ([]byte, error) { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err %v", err)
	}
	out, err := g.do(context.Background(), "k", func(context.Context) ([]byte, error) { return []byte("ok"), nil })
	if string(out) != "ok" || err != nil {
		t.Fatalf("after the panic: %q %v", out, err)
	}
}
