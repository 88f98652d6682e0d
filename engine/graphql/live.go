package graphql

// Live queries, multiplexed as Hasura does it
// (Hasura.GraphQL.Execute.Subscription: State.hs, Poll/LiveQuery.hs, and
// Backends/Postgres/Execute/Subscription.hs for the SQL).
//
// The subscribers of one query shape — same source, role, relay flag and
// multiplexed SQL text — form a poller. Within it, subscribers whose
// session (the variables the SQL reads) and values (the plan's parameters,
// which carry the GraphQL variables) are equal form a cohort. Every
// refetch interval the poller runs ONE statement per batch of cohorts:
//
//	SELECT _sub.id, _q.*
//	FROM unnest($1::int[], $2::text[]::jsonb[], $3::text[]::jsonb[], $2::text[])
//	       AS _sub(id, session, vars, session_text)
//	LEFT JOIN LATERAL (SELECT <the field's expression> AS c0) AS _q ON true
//
// where the field's expression is what the single statement has, compiled
// by the same compiler, but reading session variables from _sub.session,
// the whole session from _sub.session_text and the n-th value from
// _sub.vars->n instead of $1 and $n+2 (see compiler.mux). Each row is
// spliced into {"data":...} by the same writeData as Execute, so a result
// is byte for byte what the same request gets over HTTP. It is hashed, and
// sent only to the subscribers whose last result had another hash. Errors
// of the statement go to every subscriber of the batch, every time, as
// Hasura does (no hashing), so the next good result is always sent.
//
// Where this differs from Hasura, deliberately:
//   - a new subscriber gets its first result at once, from its own single
//     statement (what Execute runs), instead of on the poller's next round;
//   - a cohort whose session or values make the batch's statement fail (a
//     user id that is not an integer, say) would fail every cohort of its
//     batch: when a batch fails with such an error its cohorts are run one
//     by one, and the failing ones are polled alone until they succeed;
//   - on a new metadata snapshot every subscriber is planned again for it:
//     those the new schema still allows carry on (with their last result,
//     so nothing is resent needlessly), the others get the request's error
//     and are stopped.
//
// Streaming subscriptions (<table>_stream) are multiplexed the same way,
// with the cursor as each cohort's last value: see stream.go. What the
// two kinds of pollers share (cohorts, joining and leaving, the rounds'
// batches, migrating) is in pollers.go; here is what a live query's
// round runs and sends.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/subscriptions"
)

const (
	defaultRefetchInterval = time.Second
	defaultBatchSize       = 100
)

func (e *Engine) refetchInterval() time.Duration {
	return positiveOr(e.LiveQueriesRefetchInterval, defaultRefetchInterval)
}

func (e *Engine) batchSize() int { return positiveOr(e.LiveQueriesBatchSize, defaultBatchSize) }

// multiplexedSQL is the statement of a batch of cohorts: one row per
// cohort, its id and then the columns the single statement has.
func multiplexedSQL(cols []string) string {
	var b strings.Builder
	b.WriteString("SELECT _sub.id, _q.* FROM unnest($1::int[], $2::text[]::jsonb[], $3::text[]::jsonb[], $2::text[]) AS _sub(id, session, vars, session_text) LEFT JOIN LATERAL (SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c + " AS c" + strconv.Itoa(i))
	}
	b.WriteString(") AS _q ON true")
	return b.String()
}

// liveTwin is what a subscription plan's multiplexed twin adds to it,
// compiled on first use. The twin is the same compilation with only the
// session and value references changed, so its fields, session variables
// and values are the plan's; only its SQL and the values as a cohort
// carries them are kept (plans are cached, subscribers many).
type liveTwin struct {
	once sync.Once
	sql  string // interned: one copy per query shape, whatever the values
	vars string // the plan's values as the JSON array _sub.vars
	err  *errAt

	stream streamTwin // a stream's instead (stream.go)
}

func (e *Engine) livePlan(st *modelState, pl *plan, role string, req *Request, relay bool) (*liveTwin, *errAt) {
	lt := &pl.live
	lt.once.Do(func() {
		mp, err := compileRequest(st.model, role, req, relay, compileOpts{stringify: e.StringifyNumbers, mux: true})
		switch {
		case err != nil:
			lt.err = err
		case len(mp.stmts) != 1 || len(pl.stmts) != 1:
			lt.err = &errAt{path: "$", msg: "subscription cannot be multiplexed", code: apierr.CodeUnexpected}
		default:
			params := mp.stmts[0].params
			if params == nil {
				params = []any{}
			}
			v, _ := json.Marshal(params)
			lt.sql, lt.vars = unique.Make(mp.stmts[0].sql).Value(), string(v)
		}
	})
	return lt, lt.err
}

// LiveStats are the process's live-query counters, for tests and
// benchmarks: gauges of what is running, and running totals.
type LiveStats struct {
	Pollers, Cohorts, Subscribers int64
	// Polls counts refetch rounds (one per poller and interval);
	// Statements the SQL statements they ran; PollTime their summed
	// duration. With PollEachSubscriber, every poll of a subscriber counts
	// as a round with one statement.
	Polls, Statements int64
	PollTime          time.Duration
	// LastPollStatements is how many statements the latest round ran.
	LastPollStatements int64
}

var liveStats pollStats

// LiveQueryStats reads the counters.
func LiveQueryStats() LiveStats { return liveStats.read() }

// liveKind is the live queries' kind of poller.
var liveKind = &pollKind{name: "live query", stats: &liveStats, interval: (*Engine).refetchInterval, batchSize: (*Engine).batchSize}

var pollEachSubscriber atomic.Bool

// PollEachSubscriber, when on, makes the handlers built from then on
// serve subscriptions as before multiplexing: every subscriber runs its
// own statement every interval. Benchmarks use it as their baseline.
func PollEachSubscriber(on bool) { pollEachSubscriber.Store(on) }

// liveQueries is an engine's pollers.
type liveQueries struct {
	pollerSet[*cohort, *liveSub]

	streams streamQueries // the streaming subscriptions' (stream.go)
}

type liveKey struct {
	st                          *modelState
	source, role, sql, response string
	relay                       bool
}

// liveSub is one subscriber.
type liveSub struct {
	subscriber[*cohort, *liveSub]

	// Its last result: under the lock of the poller it is in (or mu
	// when it is in none).
	last    [sha256.Size]byte
	hasLast bool
}

// leave is a subscriber's stop: once it returns, nothing more is sent.
func (s *liveSub) leave() { s.stop(s) }

// cohort is the subscribers of a poller with the same session and
// values: a live query's cohort is no more than that.
type cohort struct {
	cohortCore[*liveSub]
}

// poller is a live query's: its cohorts (the core) and its rounds.
type poller struct {
	pollerCore[*cohort, *liveSub]
}

// Subscribe starts a request received over a websocket
// (subscriptions.Subscriber). A query or mutation runs as Execute runs
// it. A subscription's first result is computed at once, then the
// subscriber joins the poller of its query shape, which sends it every
// changed result through send until stop is called.
func (e *Engine) Subscribe(ctx context.Context, sess *auth.Session, req *Request, relay bool, send func(subscriptions.Result)) (subscriptions.Result, func()) {
	st, pl, err := e.planFor(ctx, sess, req, relay)
	if err != nil {
		return subscriptions.Result{Body: requestError(err).Body, RequestError: true}, nil
	}
	if !pl.subscribe {
		res := e.run(ctx, st, pl, sess)
		return subscriptions.Result{Body: res.Body}, nil
	}
	// Hasura checks the session when it plans the subscription: a
	// missing variable is an error of the request, not of a result.
	if aerr := pl.missingSessionVar(sess); aerr != nil {
		return subscriptions.Result{Body: errorBody(aerr, false), RequestError: true}, nil
	}
	if tw := e.streamPlan(st, pl, sess.Role, req, relay); tw.is {
		res, s := e.subscribeStream(ctx, st, pl, tw, sess, req, relay, send)
		if s == nil {
			return res, nil
		}
		return res, s.leave
	}
	first := e.run(ctx, st, pl, sess)
	res := subscriptions.Result{Body: first.Body, Subscription: true}
	if ctx.Err() != nil {
		return res, nil
	}
	if len(pl.stmts) == 0 {
		// Answered without the database (__typename): it never changes.
		return res, func() {}
	}
	lt, lerr := e.livePlan(st, pl, sess.Role, req, relay)
	if lerr != nil {
		e.log.Error("live query not multiplexed", "type", "graphql", "role", sess.Role, "error", lerr.msg)
		return subscriptions.Result{Body: errorBody(apierr.Internal(), false), RequestError: true}, nil
	}
	s := &liveSub{last: sha256.Sum256(first.Body), hasLast: true}
	s.init(e, sess, req, relay, send)
	s.mu.Lock()
	e.join(st, pl, lt, s)
	s.mu.Unlock()
	return res, s.leave
}

// run executes a plan for a session: Execute once the plan is known.
func (e *Engine) run(ctx context.Context, st *modelState, pl *plan, sess *auth.Session) Result {
	var out bytes.Buffer
	if aerr := execute(ctx, st.model, pl, sess, &out); aerr != nil {
		if aerr.Status >= http.StatusInternalServerError {
			e.log.Error("graphql execution failed", "type", "graphql", "role", sess.Role, "error", aerr.Message, "internal", aerr.Internal)
		}
		return Result{Body: errorBody(aerr, e.ShowInternal && sess.IsAdmin()), Status: aerr.Status, Subscription: pl.subscribe}
	}
	return Result{Body: out.Bytes(), Status: http.StatusOK, Subscription: pl.subscribe}
}

// cohortOf is what makes subscribers of a plan share a cohort: the
// session variables the SQL reads (all of them if it reads the whole
// session, as a function argument) and the plan's values.
func cohortOf(pl *plan, sess *auth.Session) string {
	var b []byte
	if pl.wholeSession {
		// The very text the single statement gets as $1.
		b, _ = json.Marshal(sess.Vars)
	} else {
		read := make(map[string]string, len(pl.sessionVars))
		for _, v := range pl.sessionVars {
			read[v] = sess.Vars[v]
		}
		b, _ = json.Marshal(read)
	}
	return string(b)
}

// join adds a subscriber to the poller of its plan, starting the poller
// if it is the first. s.mu is held.
func (e *Engine) join(st *modelState, pl *plan, lt *liveTwin, s *liveSub) {
	keys := make([]string, len(pl.fields))
	for i, f := range pl.fields {
		keys[i] = f.key
	}
	source := pl.stmts[0].source
	key := liveKey{st: st, source: source, role: s.sess.Role, sql: lt.sql, response: strings.Join(keys, "\x00"), relay: s.relay}
	session := cohortOf(pl, s.sess)

	e.live.mu.Lock()
	defer e.live.mu.Unlock()
	p := e.live.pollers[key]
	if p == nil {
		lp := &poller{}
		p = &lp.pollerCore
		p.open(e, liveKind, &e.live.pollerSet, key, st, pl)
		e.log.Debug("live query poller started", "type", "graphql", "role", key.role, "source", key.source, "sql", key.sql)
		go p.run(lp.poll, func(s *liveSub, _ *cohort) { s.replan(p, s.rejoin) })
	}
	p.add(s, session, lt.vars, func(core cohortCore[*liveSub]) *cohort { return &cohort{core} })
	s.poller = p
}

// rejoin joins a subscriber planned again (replan) to the poller of its
// new plan, or stops it with the request's error if the new schema does
// not allow it any more. s.mu is held.
func (s *liveSub) rejoin(st *modelState, pl *plan) {
	e := s.e
	if !pl.subscribe {
		s.fail(errorBody(&apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeUnexpected, Message: "not a subscription", Path: "$"}, false))
		return
	}
	if aerr := pl.missingSessionVar(s.sess); aerr != nil {
		s.fail(errorBody(aerr, false))
		return
	}
	if len(pl.stmts) == 0 {
		res := e.run(context.Background(), st, pl, s.sess)
		if sum := sha256.Sum256(res.Body); !s.hasLast || sum != s.last {
			s.last, s.hasLast = sum, true
			s.send(subscriptions.Result{Body: res.Body})
		}
		return
	}
	lt, lerr := e.livePlan(st, pl, s.sess.Role, s.req, s.relay)
	if lerr != nil {
		e.log.Error("live query not multiplexed", "type", "graphql", "role", s.sess.Role, "error", lerr.msg)
		s.fail(errorBody(apierr.Internal(), false))
		return
	}
	e.join(st, pl, lt, s)
}

// cohortResult is what a round got for one cohort.
type cohortResult struct {
	body []byte // {"data":...}; nil: no row came back
	sum  [sha256.Size]byte
	err  *apierr.Error
}

// poll is one refetch round (pollRound): the changed results sent.
func (p *poller) poll() { pollRound(&p.pollerCore, p) }

// fail gives cohorts the error of their statement as their subscribers
// get it.
func (p *poller) fail(out []cohortResult, err error) {
	aerr := p.failed(err)
	for i := range out {
		out[i] = cohortResult{err: aerr}
	}
}

func (p *poller) panicked() cohortResult { return cohortResult{err: apierr.Internal()} }

// deliver hands a cohort's result to the subscribers whose last result
// it changes. Errors go to all, every time.
func (p *poller) deliver(c *cohort, r *cohortResult) {
	if r.err == nil && r.body == nil {
		return
	}
	errs := errorBodies{err: r.err}
	for s := range c.subs {
		if r.err != nil {
			s.hasLast = false
			s.send(subscriptions.Result{Body: errs.body(s.showInternal)})
			continue
		}
		if s.hasLast && s.last == r.sum {
			continue
		}
		s.last, s.hasLast = r.sum, true
		s.send(subscriptions.Result{Body: r.body})
	}
}

// query runs the statement for cohorts (their sessions and values) and
// fills their results.
func (p *poller) query(sessions, vars []string, out []cohortResult) error {
	pool, aerr := sourcePool(p.st.model, p.key.source)
	if aerr != nil {
		return aerr
	}
	p.countStatement()
	results := [][][]byte{nil}
	var buf bytes.Buffer
	return queryCohorts(p.ctx, pool, p.key.sql, sessions, vars, func(i int, cols [][]byte) {
		// writeData copies the values into buf: the columns' memory is
		// reused by the next row.
		results[0] = cols
		buf.Reset()
		writeData(&buf, p.plan, results)
		body := bytes.Clone(buf.Bytes())
		out[i] = cohortResult{body: body, sum: sha256.Sum256(body)}
	})
}
