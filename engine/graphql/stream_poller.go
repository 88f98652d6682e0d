package graphql

// The pollers of streaming subscriptions (see stream.go): what a round
// runs and sends, and how a cohort's cursor moves. Cohorts, joining and
// leaving, the rounds' batches and migrating are pollers.go's, shared
// with live queries.

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/subscriptions"
)

func (e *Engine) streamRefetchInterval() time.Duration {
	return positiveOr(e.StreamingQueriesRefetchInterval, defaultRefetchInterval)
}

func (e *Engine) streamBatchSize() int {
	return positiveOr(e.StreamingQueriesBatchSize, defaultBatchSize)
}

var streamStats pollStats

// StreamQueryStats reads the streaming subscriptions' counters (as
// LiveQueryStats does the live queries').
func StreamQueryStats() LiveStats { return streamStats.read() }

// streamKind is the streaming subscriptions' kind of poller.
var streamKind = &pollKind{name: "stream", stats: &streamStats, interval: (*Engine).streamRefetchInterval, batchSize: (*Engine).streamBatchSize}

// streamQueries is an engine's stream pollers.
type streamQueries = pollerSet[*streamCohort, *streamSub]

// streamSub is one subscriber.
type streamSub struct {
	subscriber[*streamCohort, *streamSub]
}

// leave is a subscriber's stop: once it returns, nothing more is sent.
func (s *streamSub) leave() { s.stop(s) }

// streamCohort is the subscribers of a poller with the same session,
// values and cursor: its vars are the values, then the cursor
// (cursorVars).
type streamCohort struct {
	cohortCore[*streamSub]
	values string  // the plan's values before the cursor
	cursor *string // nil: null
}

// streamPoller is a stream's: its cohorts (the core) and its rounds.
type streamPoller struct {
	pollerCore[*streamCohort, *streamSub]
}

// subscribeStream starts a stream subscription: its first batch at
// once, then the poller of its shape.
func (e *Engine) subscribeStream(ctx context.Context, st *modelState, pl *plan, tw *streamTwin, sess *auth.Session, req *Request, relay bool, send func(subscriptions.Result)) (subscriptions.Result, *streamSub) {
	if tw.err != nil {
		e.log.Error("stream not multiplexed", "type", "graphql", "role", sess.Role, "error", tw.err.msg)
		return subscriptions.Result{Body: errorBody(apierr.Internal(), false), RequestError: true}, nil
	}
	s := &streamSub{}
	s.init(e, sess, req, relay, send)
	session := cohortOf(pl, sess)
	cursor := tw.cursor
	res := subscriptions.Result{Subscription: true, Stream: true}
	var out [1]streamResult
	isolated := false
	if err := queryStream(ctx, st, pl.stmts[0].source, tw.sql, []string{session}, []string{cursorVars(tw.values, cursor)}, out[:]); err != nil {
		aerr := e.refetchFailed(ctx, streamKind, sess.Role, err)
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

	q := &e.live.streams
	q.mu.Lock()
	defer q.mu.Unlock()
	p := q.pollers[key]
	if p == nil {
		sp := &streamPoller{}
		p = &sp.pollerCore
		p.open(e, streamKind, q, key, st, pl)
		e.log.Debug("stream poller started", "type", "graphql", "role", key.role, "source", key.source, "sql", key.sql)
		go p.run(sp.poll, func(s *streamSub, c *streamCohort) {
			cursor := c.cursor
			s.replan(p, func(st *modelState, pl *plan) { s.rejoin(st, pl, cursor) })
		})
	}
	p.add(s, session, cursorVars(tw.values, cursor), func(core cohortCore[*streamSub]) *streamCohort {
		core.isolated = isolated
		return &streamCohort{cohortCore: core, values: tw.values, cursor: cursor}
	})
	s.poller = p
}

// rejoin joins a subscriber planned again (replan) to the poller of its
// new plan at its cursor, or stops it with the request's error if the
// new schema does not allow it any more. s.mu is held.
func (s *streamSub) rejoin(st *modelState, pl *plan, cursor *string) {
	e := s.e
	if aerr := pl.missingSessionVar(s.sess); aerr != nil {
		s.fail(errorBody(aerr, false))
		return
	}
	tw := e.streamPlan(st, pl, s.sess.Role, s.req, s.relay)
	if !pl.subscribe || !tw.is {
		s.fail(errorBody(&apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeUnexpected, Message: "not a streaming subscription", Path: "$"}, false))
		return
	}
	if tw.err != nil {
		e.log.Error("stream not multiplexed", "type", "graphql", "role", s.sess.Role, "error", tw.err.msg)
		s.fail(errorBody(apierr.Internal(), false))
		return
	}
	e.joinStream(st, pl, tw, s, cohortOf(pl, s.sess), cursor, false)
}

// streamResult is what a round got for one cohort.
type streamResult struct {
	rows   []byte // the batch; nil when empty
	cursor *string
	err    error
}

// poll is one refetch round (pollRound): the batches sent and the
// cursors moved.
func (p *streamPoller) poll() { pollRound(&p.pollerCore, p) }

// query runs the round's statement for cohorts.
func (p *streamPoller) query(sessions, vars []string, out []streamResult) error {
	p.countStatement()
	return queryStream(p.ctx, p.st, p.key.source, p.key.sql, sessions, vars, out)
}

// fail keeps the statement's error: deliver turns it into the one it
// sends.
func (p *streamPoller) fail(out []streamResult, err error) {
	for i := range out {
		out[i] = streamResult{err: err}
	}
}

func (p *streamPoller) panicked() streamResult { return streamResult{err: apierr.Internal()} }

// queryStream runs a stream statement for cohorts (their sessions and
// values) and fills their results.
func queryStream(ctx context.Context, st *modelState, source, sql string, sessions, vars []string, out []streamResult) error {
	pool, aerr := sourcePool(st.model, source)
	if aerr != nil {
		return aerr
	}
	return queryCohorts(ctx, pool, sql, sessions, vars, func(i int, cols [][]byte) {
		if cols[1] == nil {
			return // no row: an empty batch
		}
		cursor := string(cols[1])
		// Copies: the columns' memory is reused by the next row.
		out[i] = streamResult{rows: bytes.Clone(cols[0]), cursor: &cursor}
	})
}

// deliver sends a cohort's batch and moves its cursor, or sends the
// error, which does not move it.
func (p *streamPoller) deliver(c *streamCohort, r *streamResult) {
	switch {
	case r.err != nil:
		errs := errorBodies{err: p.failed(r.err)}
		for s := range c.subs {
			s.send(subscriptions.Result{Body: errs.body(s.showInternal), Subscription: true, Stream: true})
		}
	case r.rows != nil:
		body := streamBody(p.plan, r.rows)
		for s := range c.subs {
			s.send(subscriptions.Result{Body: body, Subscription: true, Stream: true})
		}
		p.advance(c, r.cursor)
	}
}

// advance moves a cohort's cursor, merging it into the cohort already at
// its new key if there is one; p.mu is held.
func (p *streamPoller) advance(c *streamCohort, cursor *string) {
	delete(p.byKey, c.key)
	c.cursor = cursor
	c.vars = cursorVars(c.values, cursor)
	c.key = cohortKey(c.session, c.vars)
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
