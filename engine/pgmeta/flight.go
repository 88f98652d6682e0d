package pgmeta

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// flights runs one computation for identical requests that wait for it
// together: under load, ten clients listing the tables cost one read of
// the sizes (and of the catalog, if it changed), not ten.
//
// A request only joins a computation that has not started: one under way
// may have taken its snapshot before the request arrived, and would miss
// a change the client committed just before asking. So per key one
// computation runs at a time, and the requests arriving meanwhile gather
// into the next one. Each answer is thus one the request could have had
// alone.
//
// The next computation starts a quarter of the last one's duration after
// it ended (at most maxGather): the clients it answered come back with
// their next request in that time, and all gather into one computation
// rather than splitting into two groups that each wait for the other's.
// A request with no computation recently ended starts one at once.
type flights[K comparable] struct {
	mu    sync.Mutex
	slots map[K]*flightSlot
}

type flightSlot struct {
	busy bool    // a computation runs, or one ended less than its gather time ago
	next *flight // gathering
}

const maxGather = 20 * time.Millisecond

type flight struct {
	fn      func(context.Context) ([]byte, error)
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
	started bool
	done    chan struct{}
	out     []byte
	err     error
}

// do returns fn's answer, from a computation shared with the other
// requests for key that gather with this one. The computation runs the
// first request's fn on a context of its own (that request's values,
// without its deadline or cancellation), cancelled when every request
// waiting for it has gone.
func (g *flights[K]) do(ctx context.Context, key K, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	g.mu.Lock()
	if g.slots == nil {
		g.slots = map[K]*flightSlot{}
	}
	s := g.slots[key]
	if s == nil {
		s = &flightSlot{}
		g.slots[key] = s
	}
	f := s.next
	if f == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{fn: fn, ctx: fctx, cancel: cancel, done: make(chan struct{})}
		s.next = f
	}
	f.waiters++
	if !s.busy {
		s.busy = true
		g.startLocked(key, s)
	}
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.out, f.err
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			if !f.started {
				s.next = nil // gathering: never started
			}
		}
		return nil, ctx.Err()
	}
}

// startLocked runs s.next in a goroutine of its own (the requests may all
// leave; the slot's bookkeeping may not). s.busy is set; it is cleared,
// and the slot dropped, once a gather time has passed after a computation
// with no request gathered meanwhile.
func (g *flights[K]) startLocked(key K, s *flightSlot) {
	f := s.next
	if f == nil { // none, or the gathered requests all left
		s.busy = false
		delete(g.slots, key)
		return
	}
	s.next, f.started = nil, true
	go func() {
		start := time.Now()
		defer func() {
			if v := recover(); v != nil {
				f.out, f.err = nil, fmt.Errorf("pgmeta: panic: %v", v)
			}
			close(f.done)
			f.cancel()
			time.AfterFunc(min(time.Since(start)/4, maxGather), func() {
				g.mu.Lock()
				defer g.mu.Unlock()
				g.startLocked(key, s)
			})
		}()
		f.out, f.err = f.fn(f.ctx)
	}()
}
