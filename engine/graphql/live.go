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
// with the cursor as each cohort's last value: see stream.go.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/subscriptions"
)

const (
	defaultRefetchInterval = time.Second
	defaultBatchSize       = 100
)

func (e *Engine) refetchInterval() time.Duration {
	if e.LiveQueriesRefetchInterval > 0 {
		return e.LiveQueriesRefetchInterval
	}
	return defaultRefetchInterval
}

func (e *Engine) batchSize() int {
	if e.LiveQueriesBatchSize > 0 {
		return e.LiveQueriesBatchSize
	}
	return defaultBatchSize
}

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

var liveStats struct {
	pollers, cohorts, subscribers, polls, statements, pollNanos, lastPoll atomic.Int64
}

// LiveQueryStats reads the counters.
func LiveQueryStats() LiveStats {
	return LiveStats{
		Pollers: liveStats.pollers.Load(), Cohorts: liveStats.cohorts.Load(), Subscribers: liveStats.subscribers.Load(),
		Polls: liveStats.polls.Load(), Statements: liveStats.statements.Load(), PollTime: time.Duration(liveStats.pollNanos.Load()),
		LastPollStatements: liveStats.lastPoll.Load(),
	}
}

var pollEachSubscriber atomic.Bool

// PollEachSubscriber, when on, makes the handlers built from then on
// serve subscriptions as before multiplexing: every subscriber runs its
// own statement every interval. Benchmarks use it as their baseline.
func PollEachSubscriber(on bool) { pollEachSubscriber.Store(on) }

// liveQueries is an engine's pollers.
type liveQueries struct {
	mu      sync.Mutex
	pollers map[liveKey]*poller

	streams streamQueries // the streaming subscriptions' (stream.go)
}

type liveKey struct {
	st                          *modelState
	source, role, sql, response string
	relay                       bool
}

// liveSub is one subscriber.
type liveSub struct {
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
	poller  *poller

	// Under the lock of the poller the subscriber is in (or mu when it
	// is in none).
	cohort  *cohort
	last    [sha256.Size]byte
	hasLast bool
}

// cohort is the subscribers of a poller with the same session and values.
type cohort struct {
	p        *poller
	key      string
	session  string // JSON object of the session variables the SQL reads
	vars     string // JSON array of the plan's values
	subs     map[*liveSub]struct{}
	idx      int  // in p.list
	isolated bool // polled alone: it failed its batch (see fetch)
}

type poller struct {
	e    *Engine
	key  liveKey
	st   *modelState
	plan *plan // the (single) plan of the first subscriber: the response's fields, the source

	ctx    context.Context // ends when the poller does
	cancel context.CancelFunc

	mu     sync.Mutex
	byKey  map[string]*cohort
	list   []*cohort
	closed bool

	statements atomic.Int64 // run by the current round
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
	s := &liveSub{e: e, sess: sess, req: req, relay: relay, send: send,
		showInternal: e.ShowInternal && sess.IsAdmin(), last: sha256.Sum256(first.Body), hasLast: true}
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
	ck := session + "\x00" + lt.vars

	e.live.mu.Lock()
	defer e.live.mu.Unlock()
	p := e.live.pollers[key]
	if p == nil {
		p = &poller{e: e, key: key, st: st, plan: pl, byKey: map[string]*cohort{}}
		p.ctx, p.cancel = context.WithCancel(context.Background())
		if e.live.pollers == nil {
			e.live.pollers = map[liveKey]*poller{}
		}
		e.live.pollers[key] = p
		liveStats.pollers.Add(1)
		e.log.Debug("live query poller started", "type", "graphql", "role", key.role, "source", key.source, "sql", key.sql)
		go p.run()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.byKey[ck]
	if c == nil {
		c = &cohort{p: p, key: ck, session: session, vars: lt.vars, subs: map[*liveSub]struct{}{}, idx: len(p.list)}
		p.byKey[ck] = c
		p.list = append(p.list, c)
		liveStats.cohorts.Add(1)
	}
	c.subs[s] = struct{}{}
	s.cohort, s.poller = c, p
	liveStats.subscribers.Add(1)
}

// leave is a subscriber's stop: once it returns, nothing more is sent.
func (s *liveSub) leave() {
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
func (p *poller) remove(s *liveSub) {
	p.mu.Lock()
	c := s.cohort
	if c == nil || c.p != p {
		p.mu.Unlock()
		return
	}
	s.cohort = nil
	delete(c.subs, s)
	liveStats.subscribers.Add(-1)
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
	e := p.e
	e.live.mu.Lock()
	p.mu.Lock()
	if len(p.list) == 0 && !p.closed {
		p.closed = true
		if e.live.pollers[p.key] == p {
			delete(e.live.pollers, p.key)
		}
		p.cancel()
	}
	p.mu.Unlock()
	e.live.mu.Unlock()
}

// dropCohort removes an empty cohort; p.mu is held.
func (p *poller) dropCohort(c *cohort) {
	last := p.list[len(p.list)-1]
	p.list[c.idx] = last
	last.idx = c.idx
	p.list = p.list[:len(p.list)-1]
	delete(p.byKey, c.key)
	liveStats.cohorts.Add(-1)
}

func (p *poller) run() {
	defer liveStats.pollers.Add(-1)
	t := time.NewTimer(p.e.refetchInterval())
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
		// As Hasura: the interval is the pause between rounds.
		t.Reset(p.e.refetchInterval())
	}
}

// migrate hands every subscriber over to the snapshot now in force.
func (p *poller) migrate() {
	e := p.e
	e.live.mu.Lock()
	if e.live.pollers[p.key] == p {
		delete(e.live.pollers, p.key)
	}
	p.mu.Lock()
	p.closed = true
	var subs []*liveSub
	for _, c := range p.list {
		for s := range c.subs {
			s.cohort = nil
			subs = append(subs, s)
		}
		liveStats.cohorts.Add(-1)
	}
	liveStats.subscribers.Add(-int64(len(subs)))
	p.list, p.byKey = nil, nil
	p.mu.Unlock()
	e.live.mu.Unlock()
	p.cancel()
	for _, s := range subs {
		s.replan(p)
	}
}

// replan plans a subscriber again for the snapshot in force and joins it
// to that plan's poller, or stops it with the request's error if the new
// schema does not allow it any more.
func (s *liveSub) replan(from *poller) {
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
	ctx := context.Background()
	st, pl, err := e.planFor(ctx, s.sess, s.req, s.relay)
	if err != nil {
		fail(requestError(err).Body)
		return
	}
	if !pl.subscribe {
		fail(errorBody(&apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeUnexpected, Message: "not a subscription", Path: "$"}, false))
		return
	}
	if aerr := pl.missingSessionVar(s.sess); aerr != nil {
		fail(errorBody(aerr, false))
		return
	}
	if len(pl.stmts) == 0 {
		res := e.run(ctx, st, pl, s.sess)
		if sum := sha256.Sum256(res.Body); !s.hasLast || sum != s.last {
			s.last, s.hasLast = sum, true
			s.send(subscriptions.Result{Body: res.Body})
		}
		return
	}
	lt, lerr := e.livePlan(st, pl, s.sess.Role, s.req, s.relay)
	if lerr != nil {
		e.log.Error("live query not multiplexed", "type", "graphql", "role", s.sess.Role, "error", lerr.msg)
		fail(errorBody(apierr.Internal(), false))
		return
	}
	e.join(st, pl, lt, s)
}

// cohortResult is what a round got for one cohort.
type cohortResult struct {
	body []byte // {"data":...}; nil: no row came back
	sum  [sha256.Size]byte
	err  *apierr.Error
	// alone is the cohort's isolation from now on, when set: polled
	// alone after it failed its batch, back in batches once it succeeds.
	alone *bool
}

var yes, no = true, false

// poll is one refetch round: a statement per batch of cohorts, run
// concurrently, then the changed results sent.
func (p *poller) poll() {
	start := time.Now()
	size := p.e.batchSize()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	var batches [][]*cohort
	var cur []*cohort
	for _, c := range p.list {
		if c.isolated {
			batches = append(batches, []*cohort{c})
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
	p.mu.Unlock()

	p.statements.Store(0)
	results := make([][]cohortResult, len(batches))
	if len(batches) == 1 {
		results[0] = p.fetch(batches[0])
	} else {
		var wg sync.WaitGroup
		for i, b := range batches {
			wg.Go(func() { results[i] = p.fetch(b) })
		}
		wg.Wait()
	}
	if p.ctx.Err() != nil {
		return
	}
	p.deliver(batches, results)
	liveStats.lastPoll.Store(p.statements.Load())
	liveStats.polls.Add(1)
	liveStats.pollNanos.Add(int64(time.Since(start)))
}

// deliver hands a round's results to the subscribers whose last result
// they change. Sends do not block (subscriptions.Subscriber), so they are
// made under the lock: once a subscriber's stop returns, nothing more is
// sent to it.
func (p *poller) deliver(batches [][]*cohort, results [][]cohortResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range batches {
		for j, c := range b {
			r := &results[i][j]
			if r.alone != nil {
				c.isolated = *r.alone
			}
			if r.err == nil && r.body == nil {
				continue
			}
			var errBodies [2][]byte
			for s := range c.subs {
				if r.err != nil {
					k := 0
					if s.showInternal {
						k = 1
					}
					if errBodies[k] == nil {
						errBodies[k] = errorBody(r.err, s.showInternal)
					}
					s.hasLast = false
					s.send(subscriptions.Result{Body: errBodies[k]})
					continue
				}
				if s.hasLast && s.last == r.sum {
					continue
				}
				s.last, s.hasLast = r.sum, true
				s.send(subscriptions.Result{Body: r.body})
			}
		}
	}
}

// fetch runs a batch's statement. When Postgres fails it with an error
// that a cohort's session or values may cause (a user id that is not a
// number, a function raising for some users), the cohorts are run one by
// one so that only those that fail get the error; they are polled alone
// from then on, until they succeed. An error every cohort gets is the
// query's own: it goes to all, and nobody is set apart.
func (p *poller) fetch(batch []*cohort) (out []cohortResult) {
	out = make([]cohortResult, len(batch))
	defer func() {
		// A poller's goroutines are not a request's: a panic here would
		// take the server down.
		if v := recover(); v != nil {
			p.e.log.Error("live query refetch panicked", "type", "graphql", "panic", v)
			for i := range out {
				out[i] = cohortResult{err: apierr.Internal()}
			}
		}
	}()
	err := p.query(batch, out)
	if err == nil {
		if len(batch) == 1 && batch[0].isolated {
			out[0].alone = &no
		}
		return out
	}
	if len(batch) == 1 || !cohortError(err) || p.ctx.Err() != nil {
		aerr := p.failed(err)
		for i := range out {
			out[i] = cohortResult{err: aerr}
		}
		return out
	}
	failed := 0
	errs := make([]error, len(batch))
	for i := range batch {
		if errs[i] = p.query(batch[i:i+1], out[i:i+1]); errs[i] != nil {
			failed++
		}
	}
	for i, err := range errs {
		if err != nil {
			out[i] = cohortResult{err: p.failed(err)}
			if failed < len(batch) {
				out[i].alone = &yes
			}
		}
	}
	return out
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

func (p *poller) failed(err error) *apierr.Error {
	var aerr *apierr.Error
	if !errors.As(err, &aerr) {
		aerr = dbError(err)
	}
	if aerr.Status >= http.StatusInternalServerError && p.ctx.Err() == nil {
		p.e.log.Error("live query refetch failed", "type", "graphql", "role", p.key.role, "error", aerr.Message, "internal", aerr.Internal)
	}
	return aerr
}

// query runs the statement for cohorts and fills their results.
func (p *poller) query(batch []*cohort, out []cohortResult) error {
	pool, aerr := sourcePool(p.st.model, p.key.source)
	if aerr != nil {
		return aerr
	}
	ids := make([]int32, len(batch))
	sessions := make([]string, len(batch))
	vars := make([]string, len(batch))
	for i, c := range batch {
		ids[i], sessions[i], vars[i] = int32(i), c.session, c.vars
	}
	liveStats.statements.Add(1)
	p.statements.Add(1)
	rows, err := pool.Query(p.ctx, p.key.sql, ids, sessions, vars)
	if err != nil {
		return err
	}
	defer rows.Close()
	results := [][][]byte{nil}
	var buf bytes.Buffer
	for rows.Next() {
		raw := rows.RawValues()
		id := -1
		if rows.FieldDescriptions()[0].Format == pgx.BinaryFormatCode && len(raw[0]) == 4 {
			id = int(int32(binary.BigEndian.Uint32(raw[0])))
		} else if n, err := strconv.Atoi(string(raw[0])); err == nil {
			id = n
		}
		if id < 0 || id >= len(out) {
			continue
		}
		// writeData copies the values into buf: RawValues' memory is
		// reused by the next row.
		results[0] = raw[1:]
		buf.Reset()
		writeData(&buf, p.plan, results)
		body := bytes.Clone(buf.Bytes())
		out[id] = cohortResult{body: body, sum: sha256.Sum256(body)}
	}
	return rows.Err()
}
