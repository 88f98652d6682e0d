package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// DefaultPollInterval is Watch's poll interval when none is given.
	DefaultPollInterval = 5 * time.Second

	// WatchApplicationName is the application_name of Watch's connection
	// (suffixed to the pool's own, if it sets one), so that it can be told
	// apart in pg_stat_activity.
	WatchApplicationName = "strata-metadata-watch"

	watchQueryTimeout = 15 * time.Second
	minBackoff        = 250 * time.Millisecond
	maxBackoff        = 30 * time.Second
)

const versionSQL = `SELECT coalesce((SELECT resource_version FROM hdb_catalog.hdb_metadata WHERE id = 1), 0)`

// Watch calls onChange(version) whenever the stored resource_version moves
// beyond the last version it reported, starting from the version stored when
// Watch is called (0 if the metadata is not initialized yet; if that first
// read fails, the first version Watch manages to read is reported). It
// returns ctx.Err() once ctx is done, and not before.
//
// A caller that loaded the metadata earlier should use WatchFrom with the
// version it loaded instead, or it misses a change committed in between.
//
// See WatchFrom for how changes are detected.
func (s *Store) Watch(ctx context.Context, pollInterval time.Duration, onChange func(version int64)) error {
	var since int64
	if err := s.pool.QueryRow(ctx, versionSQL).Scan(&since); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("metadata watch: cannot read the current version; will report the first one read", "err", err)
		since = 0
	}
	return s.WatchFrom(ctx, since, pollInterval, onChange)
}

// WatchFrom is Watch reporting every version greater than since.
//
// It LISTENs on NotifyChannel on a connection of its own (taken out of the
// pool, so it is set up and authenticated exactly like the pool's), and on
// every notification reads the stored version rather than trusting the
// payload. As notifications are lost while that connection is down, and are
// not sent by writers other than Store (a Hasura on the same database, a
// manual UPDATE), it also reads the version every pollInterval
// (DefaultPollInterval if zero), and once right after each (re)connection.
// The poll runs on the listening connection, so it doubles as that
// connection's health check; while it cannot connect, it polls through the
// pool instead. After an error it reconnects with jittered exponential
// backoff (250ms doubling to 30s).
//
// Reports are deduplicated: a version is reported only if it is greater than
// every version reported before, so the same or an older version is never
// reported twice, and a version that goes backwards (the catalog was
// recreated) is logged and not reported until it passes the last one.
//
// onChange runs on Watch's goroutine, one call at a time; while it runs,
// changes are not lost but are coalesced into the next report.
func (s *Store) WatchFrom(ctx context.Context, since int64, pollInterval time.Duration, onChange func(version int64)) error {
	if onChange == nil {
		return errors.New("metadata watch: nil onChange")
	}
	if pollInterval <= 0 {
		pollInterval = DefaultPollInterval
	}
	w := &watcher{s: s, poll: pollInterval, last: since, onChange: onChange}
	backoff := minBackoff
	for {
		err := w.listen(ctx, func() { backoff = minBackoff })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, maxBackoff)
		s.log.Warn("metadata watch: connection lost, reconnecting", "err", err, "retry_in", wait)
		w.pollPoolFor(ctx, wait)
	}
}

type watcher struct {
	s        *Store
	poll     time.Duration
	last     int64
	warned   bool // about a version going backwards, until it recovers
	onChange func(int64)
}

// report passes v on if it is news.
func (w *watcher) report(v int64) {
	switch {
	case v > w.last:
		w.last, w.warned = v, false
		w.onChange(v)
	case v < w.last && !w.warned:
		w.warned = true
		w.s.log.Warn("metadata watch: stored resource_version went backwards; waiting for it to pass the last one reported",
			"stored", v, "last_reported", w.last)
	}
}

// listen runs one connection's life: connect, LISTEN, catch up, then wait
// for notifications or the poll timer until an error or the end of ctx.
// connected is called once the connection is set up and caught up.
func (w *watcher) listen(ctx context.Context, connected func()) error {
	conn, err := w.connect(ctx)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		conn.Close(cctx) //nolint:errcheck // nothing to do about it
	}()

	// Anything committed before LISTEN took effect was not announced to us.
	if err := w.check(ctx, conn); err != nil {
		return err
	}
	connected()

	next := time.Now().Add(w.poll)
	for {
		wctx, cancel := context.WithDeadline(ctx, next)
		_, err := conn.WaitForNotification(wctx)
		timedOut := wctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			drain(conn) // one read answers all notifications already received
		case timedOut && !conn.IsClosed():
			// poll due
		default:
			return fmt.Errorf("wait for notification: %w", err)
		}
		if err := w.check(ctx, conn); err != nil {
			return err
		}
		next = time.Now().Add(w.poll)
	}
}

// connect takes a connection out of the pool for good (LISTEN is session
// state, and a pooled connection would be handed to others), names it, and
// LISTENs. The pool's MaxConns is unaffected: a hijacked connection no
// longer counts towards it.
func (w *watcher) connect(ctx context.Context) (*pgx.Conn, error) {
	pc, err := w.s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire: %w", err)
	}
	conn := pc.Hijack()
	for _, stmt := range []string{
		`SELECT set_config('application_name', CASE current_setting('application_name')
			WHEN '' THEN '` + WatchApplicationName + `'
			ELSE current_setting('application_name') || '/` + WatchApplicationName + `' END, false)`,
		`LISTEN ` + NotifyChannel,
	} {
		qctx, cancel := context.WithTimeout(ctx, watchQueryTimeout)
		_, err := conn.Exec(qctx, stmt)
		cancel()
		if err != nil {
			conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // already failing
			return nil, fmt.Errorf("listen: %w", err)
		}
	}
	return conn, nil
}

// check reads the stored version on conn and reports it if it is news.
func (w *watcher) check(ctx context.Context, conn *pgx.Conn) error {
	qctx, cancel := context.WithTimeout(ctx, watchQueryTimeout)
	defer cancel()
	var v int64
	if err := conn.QueryRow(qctx, versionSQL).Scan(&v); err != nil {
		return fmt.Errorf("read version: %w", err)
	}
	w.report(v)
	return nil
}

// pollPoolFor waits d, polling through the pool every poll interval
// meanwhile, so that the poll fallback keeps working while the listening
// connection cannot be set up (e.g. LISTEN is refused by a proxy).
func (w *watcher) pollPoolFor(ctx context.Context, d time.Duration) {
	end := time.Now().Add(d)
	for {
		left := time.Until(end)
		if left <= 0 {
			return
		}
		t := time.NewTimer(min(left, w.poll))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if time.Until(end) <= 0 {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, watchQueryTimeout)
		var v int64
		err := w.s.pool.QueryRow(qctx, versionSQL).Scan(&v)
		cancel()
		if err == nil {
			w.report(v)
		}
	}
}

// drain discards notifications pgx has already received and buffered; it
// does not read from the network.
func drain(conn *pgx.Conn) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		if n, _ := conn.WaitForNotification(done); n == nil {
			return
		}
	}
}
