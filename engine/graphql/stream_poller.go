package graphql

// The pollers of streaming subscriptions (see stream.go): cohorts and
// their cursors, the refetch rounds, delivery.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/subscriptions"
)

func (e *Engine) streamRefetchInterval() time.Duration {
	if e.StreamingQueriesRefetchInterval > 0 {
		return e.StreamingQueriesRefetchInterval
	}
	return defaultRefetchInterval
}

func (e *Engine) streamBatchSize() int {
	if e.StreamingQueriesBatchSize > 0 {
		return e.StreamingQueriesBatchSize
	}
	return defaultBatchSize
}

func streamCohortKey(session, vars string) string { return session + "\x00" + vars }

var streamStats struct {
	pollers, cohorts, subscribers, polls, statements, pollNanos, lastPoll atomic.Int64
}

// StreamQueryStats reads the streaming subscriptions' counters (as
// LiveQueryStats does the live queries').
func StreamQueryStats() LiveStats {
	return LiveStats{
		Pollers: streamStats.pollers.Load(), Cohorts: streamStats.cohorts.Load(), Subscribers: streamStats.subscribers.Load(),
		Polls: streamStats.polls.Load(), Statements: streamStats.statements.Load(), PollTime: time.Duration(streamStats.pollNanos.Load()),
		LastPollStatements: streamStats.lastPoll.Load(),
	}
}

// streamQueries is an engine's stream pollers.
type streamQueries struct {
	mu      sync.Mutex
	pollers map[liveKey]*streamPoller
}

// streamSub is one subscriber.
type streamSub struct {
	e            *Engine
	sess         *auth.Session
	req          *Request
	relay        bool
	showInternal bool
	send         func(subscriptions.Result)

	// mu orders joining (and re-planning) with leaving; it is taken
	// before the pollers' locks.
	mu      sync.Mutex
	stopped bool
	poller  *streamPoller

	cohort *streamCohort // under the poller's lock
}

// streamCohort is the subscribers of a poller with the same session,
// values and cursor.
type streamCohort struct {
	key      string
	session  string  // JSON object of the session variables the SQL reads
	values   string  // the plan's values before the cursor
	cursor   *string // nil: null
	subs     map[*streamSub]struct{}
	idx      int  // in p.list
	isolated bool // polled alone: it failed its batch
}

func (c *streamCohort) vars() string { return cursorVars(c.values, c.cursor) }

type streamPoller struct {
	e    *Engine
	key  liveKey
	st   *modelState
	plan *plan // of the first subscriber: the response's field, the source

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	byKey  map[string]*streamCohort
	list   []*streamCohort
	closed bool

	statements atomic.Int64 // run by the current round
}

// subscribeStream starts a stream subscription: its first batch at
// once, then the poller of its shape.
func (e *Engine) subscribeStream(ctx context.Context, st *modelState, pl *plan, tw *streamTwin, sess *auth.Session, req *Request, relay bool, send func(subscriptions.Result)) (subscriptions.Result, *streamSub) {
	if tw.err != nil {
		e.log.Error("stream not multiplexed", "type", "graphql", "role", sess.Role, "error", tw.err.msg)
		return subscriptions.Result{Body: errorBody(apierr.Internal(), false), RequestError: true}, nil
	}
	s := &streamSub{e: e, sess: sess, req: req, relay: relay, send: send, showInternal: e.ShowInternal && sess.IsAdmin()}
	session := cohortOf(pl, sess)
	cursor := tw.cursor
	res := subscriptions.Result{Subscription: true, Stream: true}
	var out [1]streamResult
	isolated := false
	if err := queryStream(ctx, st, pl.stmts[0].source, tw.sql, []string{session}, []string{cursorVars(tw.values, cursor)}, out[:]); err != nil {
		aerr := e.streamFailed(ctx, sess.Role, err)
		res.Body, isolated = errorBody(aerr, s.showInternal), cohortError(err)
	} else if out[0].rows != nil {
		res.Body, cursor = streamBody(pl, out[0].rows), out[0].cursor
	}
	if ctx.Err() != nil {
		return res, nil
	}
	s.mu.Lock()
	e.joinStream(st, pl, tw, s, session, cursor, isolated)
	s.mu.Unlock()
	return res, s
}

// streamBody is a batch as the response carries it: what Execute writes.
func streamBody(pl *plan, rows []byte) []byte {
	var buf bytes.Buffer
	writeData(&buf, pl, [][][]byte{{rows}})
	return buf.Bytes()
}

// joinStream adds a subscriber to the cohort of its session, values and
// cursor, starting the poller if it is the first. s.mu is held.
func (e *Engine) joinStream(st *modelState, pl *plan, tw *streamTwin, s *streamSub, session string, cursor *string, isolated bool) {
	key := liveKey{st: st, source: pl.stmts[0].source, role: s.sess.Role, sql: tw.sql, response: pl.fields[0].key, relay: s.relay}
	vars := cursorVars(tw.values, cursor)
	ck := streamCohortKey(session, vars)

	q := &e.live.streams
	q.mu.Lock()
	defer q.mu.Unlock()
	p := q.pollers[key]
	if p == nil {
		p = &streamPoller{e: e, key: key, st: st, plan: pl, byKey: map[string]*streamCohort{}}
		p.ctx, p.cancel = context.WithCancel(context.Background())
		if q.pollers == nil {
			q.pollers = map[liveKey]*streamPoller{}
		}
		q.pollers[key] = p
		streamStats.pollers.Add(1)
		e.log.Debug("stream poller started", "type", "graphql", "role", key.role, "source", key.source, "sql", key.sql)
		go p.run()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.byKey[ck]
	if c == nil {
		c = &streamCohort{key: ck, session: session, values: tw.values, cursor: cursor, subs: map[*streamSub]struct{}{}, idx: len(p.list), isolated: isolated}
		p.byKey[ck] = c
		p.list = append(p.list, c)
		streamStats.cohorts.Add(1)
	}
	c.subs[s] = struct{}{}
	s.cohort, s.poller = c, p
	streamStats.subscribers.Add(1)
}

// leave is a subscriber's stop: once it returns, nothing more is sent.
func (s *streamSub) leave() {
	s.mu.Lock()
	s.stopped = true
	p := s.poller
	s.poller = nil
	s.mu.Unlock()
	if p != nil {
		p.remove(s)
	}
}

// remove takes a subscriber out; the last one out ends the poller.
func (p *streamPoller) remove(s *streamSub) {
	p.mu.Lock()
	c := s.cohort
	if c == nil || p.byKey[c.key] != c {
		p.mu.Unlock()
		return
	}
	s.cohort = nil
	delete(c.subs, s)
	streamStats.subscribers.Add(-1)
	if len(c.subs) == 0 {
		p.dropCohort(c)
	}
	empty := len(p.list) == 0 && !p.closed
	p.mu.Unlock()
	if !empty {
		return
	}
	// Again under the engine's lock, which joins hold: no one joins a
	// poller that is being closed.
	q := &p.e.live.streams
	q.mu.Lock()
	p.mu.Lock()
	if len(p.list) == 0 && !p.closed {
		p.closed = true
		if q.pollers[p.key] == p {
			delete(q.pollers, p.key)
		}
		p.cancel()
	}
	p.mu.Unlock()
	q.mu.Unlock()
}

// dropCohort removes a cohort; p.mu is held.
func (p *streamPoller) dropCohort(c *streamCohort) {
	last := p.list[len(p.list)-1]
	p.list[c.idx] = last
	last.idx = c.idx
	p.list = p.list[:len(p.list)-1]
	if p.byKey[c.key] == c {
		delete(p.byKey, c.key)
	}
	streamStats.cohorts.Add(-1)
}

func (p *streamPoller) run() {
	defer streamStats.pollers.Add(-1)
	t := time.NewTimer(p.e.streamRefetchInterval())
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		if p.e.cache.Current() != p.st.model.Snapshot {
			p.migrate()
			return
		}
		p.poll()
		t.Reset(p.e.streamRefetchInterval())
	}
}

// migrate hands every subscriber over to the snapshot now in force, each
// with its cohort's cursor.
func (p *streamPoller) migrate() {
	q := &p.e.live.streams
	q.mu.Lock()
	if q.pollers[p.key] == p {
		delete(q.pollers, p.key)
	}
	p.mu.Lock()
	p.closed = true
	type moving struct {
		s      *streamSub
		cursor *string
	}
	var subs []moving
	for _, c := range p.list {
		for s := range c.subs {
			s.cohort = nil
			subs = append(subs, moving{s, c.cursor})
		}
		streamStats.cohorts.Add(-1)
	}
	streamStats.subscribers.Add(-int64(len(subs)))
	p.list, p.byKey = nil, nil
	p.mu.Unlock()
	q.mu.Unlock()
	p.cancel()
	for _, m := range subs {
		m.s.replan(p, m.cursor)
	}
}

// replan plans a subscriber again for the snapshot in force and joins it
// to that plan's poller at its cursor, or stops it with the request's
// error if the new schema does not allow it any more.
func (s *streamSub) replan(from *streamPoller, cursor *string) {
	e := s.e
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.poller != from {
		return
	}
	s.poller = nil
	fail := func(body []byte) {
		s.stopped = true
		s.send(subscriptions.Result{Body: body, RequestError: true})
	}
	st, pl, err := e.planFor(context.Background(), s.sess, s.req, s.relay)
	if err != nil {
		fail(requestError(err).Body)
		return
	}
	if aerr := pl.missingSessionVar(s.sess); aerr != nil {
		fail(errorBody(aerr, false))
		return
	}
	tw := e.streamPlan(st, pl, s.sess.Role, s.req, s.relay)
	if !pl.subscribe || !tw.is {
		fail(errorBody(&apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeUnexpected, Message: "not a streaming subscription", Path: "$"}, false))
		return
	}
	if tw.err != nil {
		e.log.Error("stream not multiplexed", "type", "graphql", "role", s.sess.Role, "error", tw.err.msg)
		fail(errorBody(apierr.Internal(), false))
		return
	}
	e.joinStream(st, pl, tw, s, cohortOf(pl, s.sess), cursor, false)
}

// streamResult is what a round got for one cohort.
type streamResult struct {
	rows   []byte // the batch; nil when empty
	cursor *string
	err    error
	alone  *bool // the cohort's isolation from now on, when set
}

// poll is one refetch round: a statement per batch of cohorts, run
// concurrently, then the batches sent and the cursors moved.
func (p *streamPoller) poll() {
	start := time.Now()
	size := p.e.streamBatchSize()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	var batches [][]*streamCohort
	var cur []*streamCohort
	for _, c := range p.list {
		if c.isolated {
			batches = append(batches, []*streamCohort{c})
			continue
		}
		cur = append(cur, c)
		if len(cur) == size {
			batches, cur = append(batches, cur), nil
		}
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	// What the statements read, taken under the lock: deliver moves
	// cursors, and joins read the cohorts.
	sessions := make([][]string, len(batches))
	vars := make([][]string, len(batches))
	for i, b := range batches {
		sessions[i], vars[i] = make([]string, len(b)), make([]string, len(b))
		for j, c := range b {
			sessions[i][j], vars[i][j] = c.session, c.vars()
		}
	}
	p.mu.Unlock()

	p.statements.Store(0)
	results := make([][]streamResult, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() { results[i] = p.fetch(b, sessions[i], vars[i]) })
	}
	wg.Wait()
	if p.ctx.Err() != nil {
		return
	}
	p.deliver(batches, results)
	streamStats.lastPoll.Store(p.statements.Load())
	streamStats.polls.Add(1)
	streamStats.pollNanos.Add(int64(time.Since(start)))
}

// fetch runs a batch's statement; when it fails with an error a cohort's
// values may cause, the cohorts are run one by one, and those that fail
// are polled alone from then on (as live queries do).
func (p *streamPoller) fetch(batch []*streamCohort, sessions, vars []string) (out []streamResult) {
	out = make([]streamResult, len(batch))
	defer func() {
		if v := recover(); v != nil {
			p.e.log.Error("stream refetch panicked", "type", "graphql", "panic", v)
			for i := range out {
				out[i] = streamResult{err: apierr.Internal()}
			}
		}
	}()
	run := func(i, j int) error {
		streamStats.statements.Add(1)
		p.statements.Add(1)
		return queryStream(p.ctx, p.st, p.key.source, p.key.sql, sessions[i:j], vars[i:j], out[i:j])
	}
	err := run(0, len(batch))
	if err == nil {
		if len(batch) == 1 && batch[0].isolated {
			out[0].alone = &no
		}
		return out
	}
	if len(batch) == 1 || !cohortError(err) || p.ctx.Err() != nil {
		for i := range out {
			out[i] = streamResult{err: err}
		}
		return out
	}
	failed := 0
	for i := range batch {
		if err := run(i, i+1); err != nil {
			out[i] = streamResult{err: err, alone: &yes}
			failed++
		}
	}
	if failed == len(batch) { // the query's own error after all
		for i := range out {
			out[i].alone = nil
		}
	}
	return out
}

// queryStream runs a stream statement for cohorts (their sessions and
// values) and fills their results.
func queryStream(ctx context.Context, st *modelState, source, sql string, sessions, vars []string, out []streamResult) error {
	pool, aerr := sourcePool(st.model, source)
	if aerr != nil {
		return aerr
	}
	ids := make([]int32, len(sessions))
	for i := range ids {
		ids[i] = int32(i)
	}
	rows, err := pool.Query(ctx, sql, ids, sessions, vars)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		id := -1
		if rows.FieldDescriptions()[0].Format == pgx.BinaryFormatCode && len(raw[0]) == 4 {
			id = int(int32(binary.BigEndian.Uint32(raw[0])))
		} else if n, err := strconv.Atoi(string(raw[0])); err == nil {
			id = n
		}
		if id < 0 || id >= len(out) || raw[2] == nil {
			continue // no row: an empty batch
		}
		cursor := string(raw[2])
		// Copies: RawValues' memory is reused by the next row.
		out[id] = streamResult{rows: bytes.Clone(raw[1]), cursor: &cursor}
	}
	return rows.Err()
}

// streamFailed is the error a failed statement sends its subscribers.
func (e *Engine) streamFailed(ctx context.Context, role string, err error) *apierr.Error {
	var aerr *apierr.Error
	if !errors.As(err, &aerr) {
		aerr = dbError(err)
	}
	if aerr.Status >= http.StatusInternalServerError && ctx.Err() == nil {
		e.log.Error("stream refetch failed", "type", "graphql", "role", role, "error", aerr.Message, "internal", aerr.Internal)
	}
	return aerr
}

// deliver sends a round's batches and moves the cursors. Sends do not
// block (subscriptions.Subscriber), so they are made under the lock:
// once a subscriber's stop returns, nothing more is sent to it.
func (p *streamPoller) deliver(batches [][]*streamCohort, results [][]streamResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range batches {
		for j, c := range b {
			r := &results[i][j]
			if p.byKey[c.key] != c {
				continue // its subscribers left during the round
			}
			if r.alone != nil {
				c.isolated = *r.alone
			}
			switch {
			case r.err != nil:
				aerr := p.e.streamFailed(p.ctx, p.key.role, r.err)
				var bodies [2][]byte
				for s := range c.subs {
					k := 0
					if s.showInternal {
						k = 1
					}
					if bodies[k] == nil {
						bodies[k] = errorBody(aerr, s.showInternal)
					}
					s.send(subscriptions.Result{Body: bodies[k], Subscription: true, Stream: true})
				}
			case r.rows != nil:
				body := streamBody(p.plan, r.rows)
				for s := range c.subs {
					s.send(subscriptions.Result{Body: body, Subscription: true, Stream: true})
				}
				p.advance(c, r.cursor)
			}
		}
	}
}

// advance moves a cohort's cursor, merging it into the cohort already at
// its new key if there is one; p.mu is held.
func (p *streamPoller) advance(c *streamCohort, cursor *string) {
	delete(p.byKey, c.key)
	c.cursor = cursor
	c.key = streamCohortKey(c.session, c.vars())
	other := p.byKey[c.key]
	if other == nil {
		p.byKey[c.key] = c
		return
	}
	for s := range c.subs {
		other.subs[s] = struct{}{}
		s.cohort = other
	}
	p.dropCohort(c)
}
