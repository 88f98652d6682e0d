package graphql_test

// Streaming subscriptions against a real engine, real Postgres and real
// websocket clients: with rows inserted while they stream, every
// subscriber gets every row of its own once and in its order, in batches
// of at most batch_size; the role's row filter applies; subscribers of
// one shape share a poller and its statement.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/graphql"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

// eventsSQL: 20 events, owned by users 1 and 2 in turn; priority is not
// unique (ids 1..4 share 1, 5..8 share 2...).
const eventsSQL = `
CREATE TABLE event (id serial PRIMARY KEY, owner int NOT NULL, priority int NOT NULL, body text NOT NULL);
INSERT INTO event (owner, priority, body) SELECT 1 + (i % 2), 1 + (i - 1) / 4, 'event ' || i FROM generate_series(1, 20) i;
CREATE TABLE other (id int PRIMARY KEY);`

// streamEngine is an engine with the events and a `user` role that sees
// its own, streams refetched every interval.
func streamEngine(t *testing.T, interval time.Duration) *enginetest.Engine {
	t.Helper()
	e := enginetest.Start(t, func(c *config.Config) {
		c.StreamingQueriesRefetchInterval = interval
		c.CloseWebsocketsOnMetadataChange = false // as notesEngine
	})
	mustPost(t, e.URL+"/v2/query", map[string]any{"type": "run_sql", "args": map[string]any{"sql": eventsSQL}})
	mustPost(t, e.URL+"/v1/metadata", map[string]any{"type": "bulk", "args": []any{
		map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "event"}},
		map[string]any{"type": "pg_create_select_permission", "args": map[string]any{"table": "event", "role": "user", "permission": map[string]any{
			"columns": []string{"id", "owner", "priority", "body"},
			"filter":  map[string]any{"owner": map[string]any{"_eq": "X-Hasura-User-Id"}},
		}}},
	}})
	return e
}

func waitNoStreams(t *testing.T) {
	t.Helper()
	waitUntil(t, "no stream pollers", func() bool { s := graphql.StreamQueryStats(); return s.Pollers == 0 && s.Subscribers == 0 })
}

func waitStreamPolls(t *testing.T, n int64) {
	t.Helper()
	p := graphql.StreamQueryStats().Polls
	waitUntil(t, fmt.Sprintf("%d stream refetches", n), func() bool { return graphql.StreamQueryStats().Polls >= p+n })
}

type event struct {
	ID       int    `json:"id"`
	Owner    int    `json:"owner"`
	Priority int    `json:"priority"`
	Body     string `json:"body"`
}

// batch reads the next message of subscription id: a batch of events.
func (w *liveClient) batch(id, field string) []event {
	w.t.Helper()
	m := w.next()
	if m.Type != "next" || m.ID != id {
		w.t.Fatalf("expected next for %s, got %s %s %s", id, m.Type, m.ID, m.Payload)
	}
	var p struct {
		Data map[string][]event `json:"data"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || p.Data[field] == nil {
		w.t.Fatalf("%s: not a batch of %s: %s", id, field, m.Payload)
	}
	return p.Data[field]
}

// streamer is one streaming subscriber and what it should get.
type streamer struct {
	name     string
	w        *liveClient
	query    string
	vars     map[string]any
	batch    int  // its batch_size
	desc     bool // cursor ordering
	got      []int
	expected func(all []event) []int // the ids it should get, in order
}

func (s *streamer) start(t *testing.T) {
	t.Helper()
	s.w.subscribe("s", s.query, s.vars)
}

// read takes batches until it has as many rows as it expects, checking
// each batch's size, order and rows.
func (s *streamer) read(t *testing.T, want int) {
	t.Helper()
	for len(s.got) < want {
		b := s.w.batch("s", "event_stream")
		if len(b) == 0 || len(b) > s.batch {
			t.Fatalf("%s: a batch of %d rows, batch_size %d", s.name, len(b), s.batch)
		}
		for _, ev := range b {
			if n := len(s.got); n > 0 && (!s.desc && ev.ID <= s.got[n-1] || s.desc && ev.ID >= s.got[n-1]) {
				t.Fatalf("%s: id %d after %d", s.name, ev.ID, s.got[n-1])
			}
			if ev.Body != fmt.Sprintf("event %d", ev.ID) {
				t.Fatalf("%s: row %+v", s.name, ev)
			}
			s.got = append(s.got, ev.ID)
		}
	}
}

const streamByID = `subscription ($after: Int!) { event_stream(batch_size: 5, cursor: {initial_value: {id: $after}}) { id owner priority body } }`

func TestStreamEverySubscriberGetsEveryRowOnceInOrder(t *testing.T) {
	waitNoStreams(t)
	e := streamEngine(t, 15*time.Millisecond)
	admin := map[string]string{"x-hasura-role": "admin"}
	ids := func(all []event, keep func(event) bool) []int {
		var out []int
		for _, ev := range all {
			if keep(ev) {
				out = append(out, ev.ID)
			}
		}
		return out
	}
	streams := []*streamer{
		{name: "admin from 0", query: streamByID, vars: map[string]any{"after": 0}, batch: 5,
			expected: func(all []event) []int { return ids(all, func(event) bool { return true }) }},
		{name: "admin from 0, again", query: streamByID, vars: map[string]any{"after": 0}, batch: 5,
			expected: func(all []event) []int { return ids(all, func(event) bool { return true }) }},
		{name: "admin from 12", query: streamByID, vars: map[string]any{"after": 12}, batch: 5,
			expected: func(all []event) []int { return ids(all, func(ev event) bool { return ev.ID > 12 }) }},
		{name: "user 1 from 0", query: streamByID, vars: map[string]any{"after": 0}, batch: 5,
			expected: func(all []event) []int { return ids(all, func(ev event) bool { return ev.Owner == 1 }) }},
		{name: "admin down from 15", query: `subscription { event_stream(batch_size: 4, cursor: [{initial_value: {id: 15}, ordering: DESC}]) { id owner priority body } }`, batch: 4, desc: true,
			expected: func(all []event) []int {
				out := ids(all, func(ev event) bool { return ev.ID < 15 })
				slices.Reverse(out)
				return out
			}},
	}
	for _, s := range streams {
		h := admin
		if strings.HasPrefix(s.name, "user 1") {
			h = userHeaders("1")
		}
		s.w = dialLive(t, e.URL, h)
		s.start(t)
	}
	// The first batch is what the same request answers over HTTP.
	first := streams[0].w.next()
	if want := httpBody(t, e.URL, streamByID, map[string]any{"after": 0}, admin); first.Type != "next" || !bytes.Equal(first.Payload, want) {
		t.Fatalf("first batch\n%s\nHTTP answers\n%s", first.Payload, want)
	}
	streams[0].got = []int{1, 2, 3, 4, 5}

	// Rows keep coming while they stream.
	const inserts = 150
	done := make(chan error, 1)
	go func() { done <- insertEvents(e.DatabaseURL, inserts) }()
	for _, s := range streams {
		if s.desc {
			s.read(t, 14)
			continue
		}
		want := 20 + inserts
		switch {
		case strings.HasPrefix(s.name, "user 1"):
			want /= 2
		case strings.Contains(s.name, "from 12"):
			want -= 12
		}
		s.read(t, want)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	all := allEvents(t, e.DatabaseURL)
	for _, s := range streams {
		if want := s.expected(all); !slices.Equal(s.got, want) {
			t.Fatalf("%s got %v\nwant %v", s.name, s.got, want)
		}
	}

	// Same shape and role: one poller (the user's and the descending
	// stream are two more), one statement per round.
	if s := graphql.StreamQueryStats(); s.Pollers != 3 || s.Subscribers != 5 {
		t.Fatalf("stats %+v, want 3 pollers of 5 subscribers", s)
	}
	waitStreamPolls(t, 3)
	if s := graphql.StreamQueryStats(); s.LastPollStatements != 1 {
		t.Fatalf("a round ran %d statements, want 1", s.LastPollStatements)
	}

	// Nothing more was sent: the next message of each is the next row.
	pgtest.Exec(t, e.DatabaseURL, `INSERT INTO event (id, owner, priority, body) VALUES (nextval('event_id_seq'), 1, 100, 'event 171')`)
	for _, s := range streams {
		if s.desc {
			continue
		}
		if b := s.w.batch("s", "event_stream"); len(b) != 1 || b[0].ID != 171 {
			t.Fatalf("%s: next batch %+v, want event 171 alone", s.name, b)
		}
	}
	for _, s := range streams {
		s.w.close()
	}
	waitNoStreams(t)
}

// insertEvents adds n events one statement at a time, owners in turn.
func insertEvents(url string, n int) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for range n {
		if _, err := conn.Exec(ctx, `INSERT INTO event (id, owner, priority, body) SELECT n, 1 + (n % 2), 100, 'event ' || n FROM (SELECT nextval('event_id_seq') AS n) s`); err != nil {
			return err
		}
	}
	return nil
}

func allEvents(t *testing.T, url string) []event {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, owner, priority, body FROM event ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[event])
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestStreamBatchesKeepTiesTogether(t *testing.T) {
	waitNoStreams(t)
	e := streamEngine(t, 15*time.Millisecond)
	// Four events share each priority: a batch of 2 takes all four.
	w := dialLive(t, e.URL, map[string]string{"x-hasura-role": "admin"})
	w.subscribe("s", `subscription { event_stream(batch_size: 2, cursor: {initial_value: {priority: 0}, ordering: ASC}) { id priority body } }`, nil)
	seen := map[int]bool{}
	for p := 1; p <= 5; p++ {
		b := w.batch("s", "event_stream")
		if len(b) != 4 {
			t.Fatalf("batch %d: %+v, want the 4 events of priority %d", p, b, p)
		}
		for _, ev := range b {
			if ev.Priority != p || seen[ev.ID] {
				t.Fatalf("batch %d: %+v", p, b)
			}
			seen[ev.ID] = true
		}
	}
	// Without ties, batch_size is the size.
	w.subscribe("d", `subscription { event_stream(batch_size: 3, cursor: {initial_value: {id: 8}, ordering: DESC}) { id priority body } }`, nil)
	for _, want := range [][]int{{7, 6, 5}, {4, 3, 2}, {1}} {
		b := w.batch("d", "event_stream")
		var got []int
		for _, ev := range b {
			got = append(got, ev.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	w.close()
	waitNoStreams(t)
}

func TestStreamArguments(t *testing.T) {
	e := streamEngine(t, time.Second)
	admin := map[string]string{"x-hasura-role": "admin"}
	for _, c := range []struct{ args, want string }{
		{`batch_size: 2, cursor: []`, `"message":"one streaming column field is expected"`},
		{`batch_size: 2, cursor: [null]`, `"message":"one streaming column field is expected"`},
		{`batch_size: 2, cursor: {initial_value: {id: 1, priority: 1}}`, `"message":"multiple column cursors are not supported yet"`},
		{`batch_size: 2, cursor: [{initial_value: {id: 1}}, {initial_value: {priority: 1}}]`, `"message":"multiple column cursors are not supported yet"`},
		{`batch_size: -1, cursor: {initial_value: {id: 1}}`, `"message":"expected a non-negative 32-bit integer for type 'Int'`},
		{`cursor: {initial_value: {id: 1}}`, `"message":"missing required field 'batch_size'"`},
		{`batch_size: 2, cursor: {initial_value: {id: null}}`, `"message":"unexpected null value for type 'Int'"`},
		{`batch_size: 2, cursor: {initial_value: {id: 1}, ordering: UP}`, `"message":"expected one of the values ['ASC', 'DESC'] for type 'cursor_ordering', but found 'UP'"`},
		// A column's value may be a string Postgres reads (Hasura's column parser).
		{`batch_size: 2, cursor: {initial_value: {id: "3"}}`, `{"data":{"event_stream":[{"id":4},{"id":5}]}}`},
		{`batch_size: 2, cursor: {initial_value: {id: 3}}, where: {owner: {_eq: 1}}`, `{"data":{"event_stream":[{"id":4},{"id":6}]}}`},
		{`batch_size: 0, cursor: [null, {initial_value: {id: 3}}]`, `{"data":{"event_stream":[]}}`},
		{`batch_size: 2, cursor: {initial_value: {body: "event 7"}}`, `{"data":{"event_stream":[{"id":8},{"id":9}]}}`},
		{`batch_size: 2, cursor: {initial_value: {priority: 5}, ordering: DESC}, where: {id: {_lt: 8}}`, `{"data":{"event_stream":[{"id":5},{"id":6},{"id":7}]}}`},
	} {
		q := `subscription { event_stream(` + c.args + `) { id } }`
		got := string(httpBody(t, e.URL, q, nil, admin))
		if strings.HasPrefix(c.want, "{") {
			got = compactJSON(t, got)
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s:\n got %s\nwant %s", c.args, got, c.want)
		}
	}
	if got := compactJSON(t, string(httpBody(t, e.URL, `subscription { event_stream(batch_size: 3, cursor: {initial_value: {id: 0}}) { id owner } }`, nil, userHeaders("2")))); got != `{"data":{"event_stream":[{"id":1,"owner":2},{"id":3,"owner":2},{"id":5,"owner":2}]}}` {
		t.Errorf("user 2 got %s", got)
	}
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return b.String()
}

func TestStreamBadCursorFailsOnlyItself(t *testing.T) {
	waitNoStreams(t)
	e := streamEngine(t, 15*time.Millisecond)
	admin := map[string]string{"x-hasura-role": "admin"}
	// The same statement as streamByID's, with a cursor Postgres refuses.
	bad := dialLive(t, e.URL, admin)
	bad.subscribe("s", `subscription { event_stream(batch_size: 5, cursor: {initial_value: {id: "abc"}}) { id owner priority body } }`, nil)
	if m := bad.next(); m.Type != "next" || !strings.Contains(string(m.Payload), "invalid input syntax for type integer") {
		t.Fatalf("got %s %s", m.Type, m.Payload)
	}
	good := dialLive(t, e.URL, admin)
	good.subscribe("s", streamByID, map[string]any{"after": 20})
	waitUntil(t, "both in one poller", func() bool { s := graphql.StreamQueryStats(); return s.Pollers == 1 && s.Cohorts == 2 })
	waitStreamPolls(t, 3)
	// The good one in its batch, the bad one alone.
	if s := graphql.StreamQueryStats(); s.LastPollStatements != 2 {
		t.Fatalf("a round ran %d statements, want 2", s.LastPollStatements)
	}
	pgtest.Exec(t, e.DatabaseURL, `INSERT INTO event (owner, priority, body) VALUES (1, 9, 'event 21')`)
	if b := good.batch("s", "event_stream"); len(b) != 1 || b[0].ID != 21 {
		t.Fatalf("got %+v", b)
	}
	// The bad one is told every round.
	for range 2 {
		if m := bad.next(); m.Type != "next" || !strings.Contains(string(m.Payload), "invalid input syntax") {
			t.Fatalf("got %s %s", m.Type, m.Payload)
		}
	}
	bad.close()
	good.close()
	waitNoStreams(t)
}

func TestStreamFollowsMetadata(t *testing.T) {
	waitNoStreams(t)
	e := streamEngine(t, 15*time.Millisecond)
	w := dialLive(t, e.URL, userHeaders("1"))
	w.subscribe("s", streamByID, map[string]any{"after": 10})
	var got []int
	for _, ev := range w.batch("s", "event_stream") {
		got = append(got, ev.ID)
	}
	if want := []int{12, 14, 16, 18, 20}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	// A new snapshot: the stream carries on from its cursor.
	mustPost(t, e.URL+"/v1/metadata", map[string]any{"type": "pg_track_table", "args": map[string]any{"table": "other"}})
	waitStreamPolls(t, 3)
	pgtest.Exec(t, e.DatabaseURL, `INSERT INTO event (owner, priority, body) VALUES (2, 9, 'event 21'), (1, 9, 'event 22')`)
	if b := w.batch("s", "event_stream"); len(b) != 1 || b[0].ID != 22 {
		t.Fatalf("after the new snapshot got %+v, want event 22 alone", b)
	}

	// One that takes the table away ends the stream with the error.
	mustPost(t, e.URL+"/v1/metadata", map[string]any{"type": "pg_drop_select_permission", "args": map[string]any{"table": "event", "role": "user"}})
	if m := w.next(); m.Type != "error" || !strings.Contains(string(m.Payload), `"validation-failed"`) {
		t.Fatalf("expected the validation error, got %s %s", m.Type, m.Payload)
	}
	if m := w.next(); m.Type != "complete" {
		t.Fatalf("expected complete, got %+v", m)
	}
	w.close()
	waitNoStreams(t)
}
