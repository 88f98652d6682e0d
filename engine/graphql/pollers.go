package graphql

// What the pollers of live queries (live.go) and of streaming
// subscriptions (stream.go, stream_poller.go) share.
//
// Both multiplex their subscribers alike: those of one query shape
// (liveKey) share a poller, and within it those whose statement reads
// the same session variables and values share a cohort. Every interval
// the poller runs a round: one statement per batch of cohorts (a cohort
// that failed its batch is a batch of its own), the batches run
// concurrently, and their results go to the poller's kind, which is all
// that differs: a live query sends a result to the subscribers whose
// last one it changes; a stream sends every batch that is not empty and
// moves its cohort's cursor, which changes the cohort's key.
//
// A kind's poller type embeds pollerCore and adds its part of a round
// (roundKind: the statement, its errors, the sends); the registry and
// the subscribers hold the core. Its subscriber type embeds subscriber,
// its cohort type cohortCore.
//
// Locks, always in this order: a subscriber's mu (joining, re-planning
// and leaving), the registry's (starting and closing pollers), a
// poller's (its cohorts, their subscribers, and the sends).

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/subscriptions"
)

// pollKind is what tells the kinds apart, apart from their rounds.
type pollKind struct {
	name      string // in log messages
	stats     *pollStats
	interval  func(*Engine) time.Duration // the pause between rounds
	batchSize func(*Engine) int           // cohorts per statement
}

// positiveOr is a setting's value, or def when it is not set (or not
// positive).
func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// pollStats are a kind's counters (LiveStats).
type pollStats struct {
	pollers, cohorts, subscribers, polls, statements, pollNanos, lastPoll atomic.Int64
}

func (s *pollStats) read() LiveStats {
	return LiveStats{
		Pollers: s.pollers.Load(), Cohorts: s.cohorts.Load(), Subscribers: s.subscribers.Load(),
		Polls: s.polls.Load(), Statements: s.statements.Load(), PollTime: time.Duration(s.pollNanos.Load()),
		LastPollStatements: s.lastPoll.Load(),
	}
}

// anyCohort and anySub are a kind's cohorts and subscribers as the core
// sees them: through the cohortCore and subscriber they embed.
type anyCohort[S comparable] interface {
	comparable
	core() *cohortCore[S]
}

type anySub[C any] interface {
	comparable
	cohortSlot() *C // where the subscriber keeps the cohort it is in
}

// cohortCore is the subscribers of a poller whose statement reads the
// same session variables and values.
type cohortCore[S comparable] struct {
	key      string // cohortKey(session, vars)
	session  string // JSON object of the session variables the SQL reads
	vars     string // JSON array of the values the SQL reads
	subs     map[S]struct{}
	idx      int  // in the poller's list
	isolated bool // polled alone: it failed its batch (see runBatch)
}

func (c *cohortCore[S]) core() *cohortCore[S] { return c }

func cohortKey(session, vars string) string { return session + "\x00" + vars }

// subscriber is one subscriber: its request, and where it is.
type subscriber[C anyCohort[S], S anySub[C]] struct {
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
	poller  *pollerCore[C, S]

	// Under the lock of the poller the subscriber is in (or mu when it
	// is in none).
	cohort C
}

func (s *subscriber[C, S]) init(e *Engine, sess *auth.Session, req *Request, relay bool, send func(subscriptions.Result)) {
	s.e, s.sess, s.req, s.relay, s.send = e, sess, req, relay, send
	s.showInternal = e.ShowInternal && sess.IsAdmin()
}

func (s *subscriber[C, S]) cohortSlot() *C { return &s.cohort }

// stop is the leave of the subscriber self, whose subscriber s is: once
// it returns, nothing more is sent.
func (s *subscriber[C, S]) stop(self S) {
	s.mu.Lock()
	s.stopped = true
	p := s.poller
	s.poller = nil
	s.mu.Unlock()
	if p != nil {
		p.remove(self)
	}
}

// replan plans the subscriber again for the snapshot in force, if it is
// still the poller from's (it neither stopped nor moved on), and hands
// the plan to rejoin, the kind's, with s.mu held: it joins the poller
// of the new plan, or stops the subscriber if the new schema does not
// allow it any more. A request that fails stops the subscriber with its
// error.
func (s *subscriber[C, S]) replan(from *pollerCore[C, S], rejoin func(*modelState, *plan)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.poller != from {
		return
	}
	s.poller = nil
	st, pl, err := s.e.planFor(context.Background(), s.sess, s.req, s.relay)
	if err != nil {
		s.fail(requestError(err).Body)
		return
	}
	rejoin(st, pl)
}

// fail stops the subscriber with an error of its request; s.mu is held.
func (s *subscriber[C, S]) fail(body []byte) {
	s.stopped = true
	s.send(subscriptions.Result{Body: body, RequestError: true})
}

// pollerSet is an engine's pollers of one kind, by query shape.
type pollerSet[C anyCohort[S], S anySub[C]] struct {
	mu      sync.Mutex
	pollers map[liveKey]*pollerCore[C, S]
}

// pollerCore is a poller's cohorts, their subscribers, and its life.
type pollerCore[C anyCohort[S], S anySub[C]] struct {
	e    *Engine
	kind *pollKind
	set  *pollerSet[C, S] // the registry it is in until it closes
	key  liveKey
	st   *modelState
	plan *plan // the (single) plan of the first subscriber: the response's fields, the source

	ctx    context.Context // ends when the poller does
	cancel context.CancelFunc

	mu     sync.Mutex
	byKey  map[string]C
	list   []C
	closed bool

	statements atomic.Int64 // run by the current round
}

// open registers a new poller for its query shape; set.mu is held. The
// kind starts its run.
func (p *pollerCore[C, S]) open(e *Engine, kind *pollKind, set *pollerSet[C, S], key liveKey, st *modelState, pl *plan) {
	p.e, p.kind, p.set, p.key, p.st, p.plan = e, kind, set, key, st, pl
	p.byKey = map[string]C{}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if set.pollers == nil {
		set.pollers = map[liveKey]*pollerCore[C, S]{}
	}
	set.pollers[key] = p
	kind.stats.pollers.Add(1)
}

// add puts a subscriber in the cohort of its session and values, which
// newCohort makes around its core if there is none yet. The subscriber's
// mu is held; the caller sets its poller.
func (p *pollerCore[C, S]) add(s S, session, vars string, newCohort func(cohortCore[S]) C) {
	ck := cohortKey(session, vars)
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.byKey[ck]
	var none C
	if c == none {
		c = newCohort(cohortCore[S]{key: ck, session: session, vars: vars, subs: map[S]struct{}{}, idx: len(p.list)})
		p.byKey[ck] = c
		p.list = append(p.list, c)
		p.kind.stats.cohorts.Add(1)
	}
	c.core().subs[s] = struct{}{}
	*s.cohortSlot() = c
	p.kind.stats.subscribers.Add(1)
}

// remove takes a subscriber out; the last one out ends the poller.
func (p *pollerCore[C, S]) remove(s S) {
	p.mu.Lock()
	c := *s.cohortSlot()
	var none C
	if c == none || p.byKey[c.core().key] != c {
		p.mu.Unlock()
		return
	}
	*s.cohortSlot() = none
	delete(c.core().subs, s)
	p.kind.stats.subscribers.Add(-1)
	if len(c.core().subs) == 0 {
		p.dropCohort(c)
	}
	empty := len(p.list) == 0 && !p.closed
	p.mu.Unlock()
	if !empty {
		return
	}
	// Again under the registry's lock, which joins hold: no one joins a
	// poller that is being closed.
	set := p.set
	set.mu.Lock()
	p.mu.Lock()
	if len(p.list) == 0 && !p.closed {
		p.closed = true
		if set.pollers[p.key] == p {
			delete(set.pollers, p.key)
		}
		p.cancel()
	}
	p.mu.Unlock()
	set.mu.Unlock()
}

// dropCohort takes a cohort out of the list and, if it is still there
// (a stream's may have been re-keyed onto another), the keys; p.mu is
// held.
func (p *pollerCore[C, S]) dropCohort(c C) {
	cc := c.core()
	last := p.list[len(p.list)-1]
	p.list[cc.idx] = last
	last.core().idx = cc.idx
	p.list = p.list[:len(p.list)-1]
	if p.byKey[cc.key] == c {
		delete(p.byKey, cc.key)
	}
	p.kind.stats.cohorts.Add(-1)
}

// run is the poller's goroutine: a round by poll every interval until
// the poller ends, or until a new metadata snapshot is in force, when
// it hands its subscribers over to replan.
func (p *pollerCore[C, S]) run(poll func(), replan func(S, C)) {
	defer p.kind.stats.pollers.Add(-1)
	t := time.NewTimer(p.kind.interval(p.e))
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		if p.e.cache.Current() != p.st.model.Snapshot {
			p.migrate(replan)
			return
		}
		poll()
		// As Hasura: the interval is the pause between rounds.
		t.Reset(p.kind.interval(p.e))
	}
}

// migrate ends the poller and hands each of its subscribers, with the
// cohort it was in, to replan. Cohorts change in joins (subscribers) and
// in the poller's rounds (a stream's cursors), and neither comes any
// more: replan sees them as they were.
func (p *pollerCore[C, S]) migrate(replan func(S, C)) {
	set := p.set
	set.mu.Lock()
	if set.pollers[p.key] == p {
		delete(set.pollers, p.key)
	}
	p.mu.Lock()
	p.closed = true
	type moving struct {
		s S
		c C
	}
	var subs []moving
	var none C
	for _, c := range p.list {
		for s := range c.core().subs {
			*s.cohortSlot() = none
			subs = append(subs, moving{s, c})
		}
		p.kind.stats.cohorts.Add(-1)
	}
	p.kind.stats.subscribers.Add(-int64(len(subs)))
	p.list, p.byKey = nil, nil
	p.mu.Unlock()
	set.mu.Unlock()
	p.cancel()
	for _, m := range subs {
		replan(m.s, m.c)
	}
}

// roundKind is a kind's part of a round, R what the round gets for a
// cohort.
type roundKind[C, R any] interface {
	// query runs the statement for cohorts (their sessions and values)
	// and fills their results.
	query(sessions, vars []string, out []R) error
	// fail sets the results of cohorts whose statement failed.
	fail(out []R, err error)
	// panicked is the result of a cohort whose batch's fetch panicked.
	panicked() R
	// deliver sends a cohort's result; p.mu is held.
	deliver(c C, r *R)
}

// pollRound is one refetch round: a statement per batch of cohorts,
// the batches run concurrently, then the results delivered unless the
// poller ended meanwhile. Sends do not block (subscriptions.Subscriber),
// so they are made under the lock: once a subscriber's stop returns,
// nothing more is sent to it.
func pollRound[C anyCohort[S], S anySub[C], R any](p *pollerCore[C, S], k roundKind[C, R]) {
	start := time.Now()
	batches, sessions, vars, ok := p.batches()
	if !ok {
		return
	}
	p.statements.Store(0)
	results := make([][]R, len(batches))
	alone := make([][]*bool, len(batches))
	fetch := func(i int) {
		results[i] = make([]R, len(batches[i]))
		defer func() {
			// A poller's goroutines are not a request's: a panic here
			// would take the server down.
			if v := recover(); v != nil {
				p.e.log.Error(p.kind.name+" refetch panicked", "type", "graphql", "panic", v)
				for j := range results[i] {
					results[i][j] = k.panicked()
				}
			}
		}()
		out := results[i]
		alone[i] = p.runBatch(batches[i], func(j, l int) error {
			return k.query(sessions[i][j:l], vars[i][j:l], out[j:l])
		}, func(j, l int, err error) {
			k.fail(out[j:l], err)
		})
	}
	if len(batches) == 1 {
		fetch(0)
	} else {
		var wg sync.WaitGroup
		for i := range batches {
			wg.Go(func() { fetch(i) })
		}
		wg.Wait()
	}
	if p.ctx.Err() != nil {
		return
	}
	p.mu.Lock()
	for i, b := range batches {
		for j, c := range b {
			cc := c.core()
			if p.byKey[cc.key] != c {
				continue // its subscribers left during the round
			}
			if alone[i] != nil && alone[i][j] != nil {
				cc.isolated = *alone[i][j]
			}
			k.deliver(c, &results[i][j])
		}
	}
	p.mu.Unlock()
	p.kind.stats.lastPoll.Store(p.statements.Load())
	p.kind.stats.polls.Add(1)
	p.kind.stats.pollNanos.Add(int64(time.Since(start)))
}

// batches are a round's batches of at most the kind's batch size of
// cohorts (a cohort polled alone is a batch of its own), with their
// sessions and values, read under the lock: a stream's rounds move
// cursors, and joins read the cohorts. ok is false once the poller is
// closed.
func (p *pollerCore[C, S]) batches() (batches [][]C, sessions, vars [][]string, ok bool) {
	size := p.kind.batchSize(p.e)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, nil, false
	}
	var cur []C
	for _, c := range p.list {
		if c.core().isolated {
			batches = append(batches, []C{c})
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
	sessions = make([][]string, len(batches))
	vars = make([][]string, len(batches))
	for i, b := range batches {
		sessions[i], vars[i] = make([]string, len(b)), make([]string, len(b))
		for j, c := range b {
			sessions[i][j], vars[i][j] = c.core().session, c.core().vars
		}
	}
	return batches, sessions, vars, true
}

var yes, no = true, false

// runBatch runs a batch's statement through query(i, j), which runs it
// for the batch's cohorts i to j-1 and fills their results; fail(i, j,
// err) sets theirs when it fails. alone is the cohorts' isolation from
// now on, where it changes (nil: nowhere).
//
// When Postgres fails the statement with an error that a cohort's
// session or values may cause (a user id that is not a number, a
// function raising for some users), the cohorts are run one by one so
// that only those that fail get the error; they are polled alone from
// then on, until they succeed. An error every cohort gets is the
// query's own: it goes to all, and nobody is set apart.
func (p *pollerCore[C, S]) runBatch(batch []C, query func(i, j int) error, fail func(i, j int, err error)) (alone []*bool) {
	err := query(0, len(batch))
	if err == nil {
		if len(batch) == 1 && batch[0].core().isolated {
			return []*bool{&no}
		}
		return nil
	}
	if len(batch) == 1 || !cohortError(err) || p.ctx.Err() != nil {
		fail(0, len(batch), err)
		return nil
	}
	failed := 0
	errs := make([]error, len(batch))
	for i := range batch {
		if errs[i] = query(i, i+1); errs[i] != nil {
			failed++
		}
	}
	if failed < len(batch) {
		alone = make([]*bool, len(batch))
	}
	for i, err := range errs {
		if err != nil {
			fail(i, i+1, err)
			if alone != nil {
				alone[i] = &yes
			}
		}
	}
	return alone
}

// cohortError: Postgres errors that depend on the values a statement is
// run with rather than on the statement: data exceptions (22), raised by
// a function (P0), or from inside a routine (2F, 38, 39).
func cohortError(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) < 2 {
		return false
	}
	switch pe.Code[:2] {
	case "22", "P0", "2F", "38", "39":
		return true
	}
	return false
}

// countStatement counts a statement of the current round.
func (p *pollerCore[C, S]) countStatement() {
	p.kind.stats.statements.Add(1)
	p.statements.Add(1)
}

// failed is the error a failed statement of a round sends its
// subscribers (refetchFailed).
func (p *pollerCore[C, S]) failed(err error) *apierr.Error {
	return p.e.refetchFailed(p.ctx, p.kind, p.key.role, err)
}

// refetchFailed is the error a failed statement sends its subscribers,
// logged when it is the server's and the poller (or request, ctx) is
// still on.
func (e *Engine) refetchFailed(ctx context.Context, kind *pollKind, role string, err error) *apierr.Error {
	var aerr *apierr.Error
	if !errors.As(err, &aerr) {
		aerr = dbError(err)
	}
	if aerr.Status >= http.StatusInternalServerError && ctx.Err() == nil {
		e.log.Error(kind.name+" refetch failed", "type", "graphql", "role", role, "error", aerr.Message, "internal", aerr.Internal)
	}
	return aerr
}

// queryCohorts runs a multiplexed statement for cohorts (their sessions
// and values): one row per cohort, its index first. row gets each row's
// cohort and other columns, whose memory the next row reuses.
func queryCohorts(ctx context.Context, pool *pgxpool.Pool, sql string, sessions, vars []string, row func(i int, cols [][]byte)) error {
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
		if id >= 0 && id < len(sessions) {
			row(id, raw[1:])
		}
	}
	return rows.Err()
}

// errorBodies is a round's error as each subscriber gets it: with the
// internal detail or without, each made once.
type errorBodies struct {
	err    *apierr.Error
	bodies [2][]byte
}

func (b *errorBodies) body(showInternal bool) []byte {
	k := 0
	if showInternal {
		k = 1
	}
	if b.bodies[k] == nil {
		b.bodies[k] = errorBody(b.err, showInternal)
	}
	return b.bodies[k]
}
