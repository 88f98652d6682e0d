package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// waitFor bounds every wait for something asynchronous; it is generous on
// purpose, as nothing here asserts speed.
const waitFor = 10 * time.Second

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func open(t *testing.T, pool *pgxpool.Pool) *Store {
	t.Helper()
	s, err := Open(context.Background(), pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newStore gives a fresh database, a pool on it and an initialized Store.
func newStore(t *testing.T, initial string) (*Store, *pgxpool.Pool, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	pool := newPool(t, url)
	s := open(t, pool)
	if _, err := s.Initialize(context.Background(), json.RawMessage(initial)); err != nil {
		t.Fatal(err)
	}
	return s, pool, url
}

func mustLoad(t *testing.T, s *Store) Snapshot {
	t.Helper()
	snap, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func wantSnapshot(t *testing.T, got Snapshot, doc string, version int64) {
	t.Helper()
	if string(got.Metadata) != doc || got.ResourceVersion != version {
		t.Fatalf("snapshot = (%s, %d), want (%s, %d)", got.Metadata, got.ResourceVersion, doc, version)
	}
}

func TestOpenConcurrentMigratesOnce(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)

	const n = 5
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		pools[i] = newPool(t, url)
	}
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = Open(ctx, pools[i], nil)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
		}
	}

	type applied struct {
		version int
		at      time.Time
	}
	readApplied := func() []applied {
		rows, err := pools[0].Query(ctx, `SELECT version, applied_at FROM hdb_catalog.strata_schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (applied, error) {
			var a applied
			return a, r.Scan(&a.version, &a.at)
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := readApplied()
	if len(first) != len(migrations) {
		t.Fatalf("strata_schema_migrations has %d rows, want %d: %v", len(first), len(migrations), first)
	}
	for i, a := range first {
		if a.version != migrations[i].version {
			t.Fatalf("row %d is version %d, want %d", i, a.version, migrations[i].version)
		}
	}

	var versions []string
	rows, err := pools[0].Query(ctx, `SELECT version FROM hdb_catalog.hdb_version`)
	if err != nil {
		t.Fatal(err)
	}
	if versions, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(versions, []string{CatalogVersion}) {
		t.Fatalf("hdb_version.version rows = %q, want [%q]", versions, CatalogVersion)
	}

	// Opening again later changes nothing.
	open(t, pools[1])
	if again := readApplied(); !reflect.DeepEqual(again, first) {
		t.Fatalf("migrations after re-Open = %v, want %v", again, first)
	}
}

// A database Hasura v2 already set up is adopted: its document, version and
// catalog version are kept.
func TestOpenAdoptsHasuraCatalog(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, pgtest.NewDatabase(t))
	for _, stmt := range []string{
		`CREATE SCHEMA hdb_catalog`,
		`CREATE TABLE hdb_catalog.hdb_metadata (id INTEGER PRIMARY KEY, metadata JSON NOT NULL, resource_version INTEGER NOT NULL DEFAULT 1 UNIQUE)`,
		`CREATE TABLE hdb_catalog.hdb_version (hasura_uuid UUID PRIMARY KEY DEFAULT gen_random_uuid(), version TEXT NOT NULL, upgraded_on TIMESTAMPTZ NOT NULL, cli_state JSONB NOT NULL DEFAULT '{}'::jsonb, console_state JSONB NOT NULL DEFAULT '{}'::jsonb)`,
		`CREATE UNIQUE INDEX hdb_version_one_row ON hdb_catalog.hdb_version((version IS NOT NULL))`,
		`INSERT INTO hdb_catalog.hdb_version (version, upgraded_on, cli_state) VALUES ('48', now(), '{"settings":{"migrations_mode":"true"}}')`,
		`INSERT INTO hdb_catalog.hdb_metadata (id, metadata, resource_version) VALUES (1, '{"version":3,"sources":[]}', 42)`,
	} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, pool)
	wantSnapshot(t, mustLoad(t, s), `{"version":3,"sources":[]}`, 42)
	var version string
	if err := pool.QueryRow(ctx, `SELECT version FROM hdb_catalog.hdb_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != "48" {
		t.Fatalf("hdb_version.version = %q, want Hasura's 48 kept", version)
	}
	st, err := s.CatalogState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(st.CLI) != `{"settings":{"migrations_mode":"true"}}` {
		t.Fatalf("cli_state = %s", st.CLI)
	}
}

func TestInitializeIdempotentAndExactBytes(t *testing.T) {
	ctx := context.Background()
	s := open(t, newPool(t, pgtest.NewDatabase(t)))

	if _, err := s.Load(ctx); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Load before Initialize: err = %v, want ErrNotInitialized", err)
	}
	if _, err := s.Update(ctx, 0, func(Snapshot) (json.RawMessage, error) { return json.RawMessage(`{}`), nil }); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Update before Initialize: err = %v, want ErrNotInitialized", err)
	}
	if _, err := s.Bump(ctx); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Bump before Initialize: err = %v, want ErrNotInitialized", err)
	}
	if _, err := s.Initialize(ctx, json.RawMessage(`{"a":`)); err == nil {
		t.Fatal("Initialize with invalid JSON: no error")
	}

	// Key order, whitespace, escapes and duplicate keys are all kept.
	const doc = `{"b":1, "a":2,  "c":{"z":null,"y":"\u00e9"}, "b":3}`
	snap, err := s.Initialize(ctx, json.RawMessage(doc))
	if err != nil {
		t.Fatal(err)
	}
	wantSnapshot(t, snap, doc, 1)

	snap, err = s.Initialize(ctx, json.RawMessage(`{"other":true}`))
	if err != nil {
		t.Fatal(err)
	}
	wantSnapshot(t, snap, doc, 1)
	wantSnapshot(t, mustLoad(t, s), doc, 1)

	// A second replica's Store sees the same bytes.
	wantSnapshot(t, mustLoad(t, open(t, s.pool)), doc, 1)
}

func TestReplaceAndUpdate(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, `{"b":1,"a":2}`)

	snap, err := s.Replace(ctx, 1, json.RawMessage(`{"v":2}`))
	if err != nil {
		t.Fatal(err)
	}
	wantSnapshot(t, snap, `{"v":2}`, 2)

	// Stale version: conflict with Hasura's message, nothing changes.
	_, err = s.Replace(ctx, 1, json.RawMessage(`{"v":"stale"}`))
	var conflict *ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("Replace with stale version: err = %v, want *ConflictError", err)
	}
	if *conflict != (ConflictError{Expected: 1, Current: 2}) {
		t.Fatalf("conflict = %+v", *conflict)
	}
	if want := "metadata resource version referenced (1) did not match current version"; err.Error() != want {
		t.Fatalf("message = %q, want %q", err.Error(), want)
	}
	wantSnapshot(t, mustLoad(t, s), `{"v":2}`, 2)

	// A version from the future conflicts too.
	if _, err := s.Replace(ctx, 7, json.RawMessage(`{}`)); !errors.As(err, &conflict) || conflict.Current != 2 {
		t.Fatalf("Replace with future version: err = %v", err)
	}

	// 0 is unconditional.
	snap, err = s.Replace(ctx, 0, json.RawMessage(`{"v":3}`))
	if err != nil {
		t.Fatal(err)
	}
	wantSnapshot(t, snap, `{"v":3}`, 3)

	// Update sees the current snapshot.
	snap, err = s.Update(ctx, 3, func(cur Snapshot) (json.RawMessage, error) {
		wantSnapshot(t, cur, `{"v":3}`, 3)
		return json.RawMessage(`{"v":4}`), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantSnapshot(t, snap, `{"v":4}`, 4)

	// fn's error aborts and comes back as is.
	errBoom := errors.New("boom")
	_, err = s.Update(ctx, 4, func(Snapshot) (json.RawMessage, error) { return nil, errBoom })
	if err != errBoom {
		t.Fatalf("Update with failing fn: err = %v, want errBoom itself", err)
	}
	wantSnapshot(t, mustLoad(t, s), `{"v":4}`, 4)

	// On conflict fn is not called.
	called := false
	_, err = s.Update(ctx, 3, func(Snapshot) (json.RawMessage, error) { called = true; return json.RawMessage(`{}`), nil })
	if !errors.As(err, &conflict) || called {
		t.Fatalf("Update with stale version: err = %v, fn called = %v", err, called)
	}

	// Invalid JSON from fn or Replace is refused.
	if _, err := s.Update(ctx, 0, func(Snapshot) (json.RawMessage, error) { return json.RawMessage(`{`), nil }); err == nil {
		t.Fatal("Update to invalid JSON: no error")
	}
	if _, err := s.Replace(ctx, 0, nil); err == nil {
		t.Fatal("Replace with empty document: no error")
	}
	wantSnapshot(t, mustLoad(t, s), `{"v":4}`, 4)

	// Bump: version + 1, same document.
	snap, err = s.Bump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantSnapshot(t, snap, `{"v":4}`, 5)
	wantSnapshot(t, mustLoad(t, s), `{"v":4}`, 5)
}

func TestReplaceRace(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, `{"start":true}`)
	if _, err := s.Bump(ctx); err != nil { // start from something other than 1
		t.Fatal(err)
	}

	const n = 20
	type result struct {
		doc  string
		read int64
		snap Snapshot
		err  error
	}
	results := make([]result, n)
	var read, wg sync.WaitGroup
	read.Add(n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			r := &results[i]
			r.doc = fmt.Sprintf(`{"writer":%d}`, i)
			snap, err := s.Load(ctx)
			read.Done()
			if err != nil {
				r.err = err
				return
			}
			r.read = snap.ResourceVersion
			<-start // everyone has read V before anyone writes
			r.snap, r.err = s.Replace(ctx, r.read, json.RawMessage(r.doc))
		})
	}
	read.Wait()
	close(start)
	wg.Wait()

	var winners []result
	conflicts := 0
	for _, r := range results {
		var c *ConflictError
		switch {
		case r.err == nil:
			winners = append(winners, r)
		case errors.As(r.err, &c):
			if c.Expected != r.read || c.Current != r.read+1 {
				t.Errorf("conflict %+v, read %d", *c, r.read)
			}
			conflicts++
		default:
			t.Errorf("unexpected error: %v", r.err)
		}
		if r.read != 2 {
			t.Errorf("read version %d, want 2", r.read)
		}
	}
	if len(winners) != 1 || conflicts != n-1 {
		t.Fatalf("%d winners, %d conflicts; want 1 and %d", len(winners), conflicts, n-1)
	}
	wantSnapshot(t, winners[0].snap, winners[0].doc, 3)
	wantSnapshot(t, mustLoad(t, s), winners[0].doc, 3)
}

// NOTIFY goes out with the commit, and only then.
func TestNotifyOnlyOnCommit(t *testing.T) {
	ctx := context.Background()
	s, _, url := newStore(t, `{}`)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		t.Fatal(err)
	}

	_, _ = s.Update(ctx, 0, func(Snapshot) (json.RawMessage, error) { return nil, errors.New("abort") })
	_, _ = s.Replace(ctx, 99, json.RawMessage(`{}`))
	if _, err := s.Replace(ctx, 1, json.RawMessage(`{"x":1}`)); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, waitFor)
	defer cancel()
	n, err := conn.WaitForNotification(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Channel != NotifyChannel || n.Payload != "2" {
		t.Fatalf("first notification = %s %q, want %s \"2\"", n.Channel, n.Payload, NotifyChannel)
	}
}

// recorder collects what Watch reports.
type recorder struct {
	mu       sync.Mutex
	versions []int64
	changed  chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) onChange(v int64) {
	r.mu.Lock()
	r.versions = append(r.versions, v)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) seen() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.versions...)
}

// waitVersion waits until v has been reported.
func (r *recorder) waitVersion(t *testing.T, v int64) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		for _, got := range r.seen() {
			if got == v {
				return
			}
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("version %d not reported within %v; reported %v", v, waitFor, r.seen())
		}
	}
}

// startWatch runs Watch until the test ends; stop cancels it and returns
// Watch's result, failing the test if Watch does not return.
func startWatch(t *testing.T, s *Store, poll time.Duration, r *recorder) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, poll, r.onChange) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(waitFor):
				t.Errorf("Watch did not return within %v of cancel", waitFor)
			}
		})
		return result
	}
	t.Cleanup(func() { stop() })
	return stop
}

// waitListening waits until Watch's connection is listening and caught up:
// its last statement is the version read that follows LISTEN.
func waitListening(t *testing.T, pool *pgxpool.Pool) int32 {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		var pid int32
		err := pool.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1
			AND state = 'idle' AND query LIKE '%resource_version%'`, WatchApplicationName).Scan(&pid)
		if err == nil {
			return pid
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Watch connection not listening within %v", waitFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two replicas: a change made through A reaches Watch on B by NOTIFY (the
// poll interval is far longer than the wait).
func TestWatchSeesOtherReplicaByNotify(t *testing.T) {
	ctx := context.Background()
	a, _, url := newStore(t, `{"v":1}`)
	poolB := newPool(t, url)
	b := open(t, poolB)

	r := newRecorder()
	stop := startWatch(t, b, time.Hour, r)
	waitListening(t, poolB)

	if _, err := a.Replace(ctx, 1, json.RawMessage(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	r.waitVersion(t, 2)
	wantSnapshot(t, mustLoad(t, b), `{"v":2}`, 2)
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v, want context.Canceled", err)
	}
	if got := r.seen(); !reflect.DeepEqual(got, []int64{2}) {
		t.Fatalf("reported %v, want [2]", got)
	}
}

// A change that sends no NOTIFY (a plain UPDATE, as another tool might do)
// is found by polling alone.
func TestWatchPollFallback(t *testing.T) {
	ctx := context.Background()
	_, poolA, url := newStore(t, `{}`)
	b := open(t, newPool(t, url))

	r := newRecorder()
	startWatch(t, b, 200*time.Millisecond, r)
	waitListening(t, poolA)

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE hdb_catalog.hdb_metadata SET metadata = '{"plain":true}', resource_version = 5 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	r.waitVersion(t, 5)
}

// Killing the listening connection: Watch reconnects and still delivers.
func TestWatchReconnects(t *testing.T) {
	ctx := context.Background()
	a, pool, _ := newStore(t, `{}`)

	r := newRecorder()
	startWatch(t, a, time.Hour, r)
	pid := waitListening(t, pool)
	var ok bool
	if err := pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate listener: %v %v", ok, err)
	}
	if _, err := a.Replace(ctx, 0, json.RawMessage(`{"after":"kill"}`)); err != nil {
		t.Fatal(err)
	}
	r.waitVersion(t, 2)
	if newPID := waitListening(t, pool); newPID == pid {
		t.Fatalf("listener pid %d unchanged", pid)
	}
	if _, err := a.Bump(ctx); err != nil {
		t.Fatal(err)
	}
	r.waitVersion(t, 3)
}

// Watch reports every version at most once, never an older one, ignores
// notification payloads, and returns (closing its connection) on cancel.
func TestWatchDedupAndCancel(t *testing.T) {
	ctx := context.Background()
	a, pool, url := newStore(t, `{}`)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	r := newRecorder()
	stop := startWatch(t, a, 50*time.Millisecond, r)
	waitListening(t, pool)

	for range 10 {
		if _, err := a.Bump(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.waitVersion(t, 11)

	// Notifications with stale or bogus payloads report nothing new.
	exec(`SELECT pg_notify('strata_metadata', '3')`)
	exec(`SELECT pg_notify('strata_metadata', '999')`)
	exec(`SELECT pg_notify('strata_metadata', 'garbage')`)
	// The version going backwards, then forwards but not past 11, is not news.
	exec(`UPDATE hdb_catalog.hdb_metadata SET resource_version = 4 WHERE id = 1`)
	time.Sleep(300 * time.Millisecond)
	for range 3 {
		if _, err := a.Bump(ctx); err != nil { // 5, 6, 7
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	exec(`UPDATE hdb_catalog.hdb_metadata SET resource_version = 12 WHERE id = 1`)
	r.waitVersion(t, 12)

	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v, want context.Canceled", err)
	}
	got := r.seen()
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("reported %v: not strictly increasing", got)
		}
	}
	for _, v := range got {
		if v < 2 || v > 12 {
			t.Fatalf("reported %v: %d was never stored after Watch started", got, v)
		}
	}

	// Nothing is reported after Watch returned, and its connection is gone.
	if _, err := a.Bump(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitFor)
	for {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1`, WatchApplicationName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Watch connections still open after Watch returned", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if after := r.seen(); len(after) != len(got) {
		t.Fatalf("reported %v after Watch returned", after[len(got):])
	}
}

// Watch started before Initialize reports the first version; a Watch whose
// context is already done returns at once.
func TestWatchUninitializedAndDoneContext(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, pgtest.NewDatabase(t))
	s := open(t, pool)

	r := newRecorder()
	startWatch(t, s, time.Hour, r)
	waitListening(t, pool)
	if _, err := s.Initialize(ctx, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	r.waitVersion(t, 1)

	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Watch(done, 0, r.onChange); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch on a done context returned %v", err)
	}
	if err := s.Watch(ctx, 0, nil); err == nil {
		t.Fatal("Watch with nil onChange: no error")
	}
}

func TestCatalogState(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, `{}`)

	st, err := s.CatalogState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ID) != 36 || string(st.CLI) != `{}` || string(st.Console) != `{}` {
		t.Fatalf("initial catalog state = %q %s %s", st.ID, st.CLI, st.Console)
	}
	id := st.ID

	if err := s.SetCatalogState(ctx, "cli", json.RawMessage(`{"settings": {"migrations_mode": "true"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCatalogState(ctx, "console", json.RawMessage(`{"onboardingShown":true,"telemetryNotificationShown":[1,2]}`)); err != nil {
		t.Fatal(err)
	}
	st, err = s.CatalogState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, st.CLI, `{"settings":{"migrations_mode":"true"}}`)
	jsonEqual(t, st.Console, `{"onboardingShown":true,"telemetryNotificationShown":[1,2]}`)
	if st.ID != id {
		t.Fatalf("id changed from %s to %s", id, st.ID)
	}
	if bytes.ContainsAny(st.CLI, " \n") {
		t.Fatalf("cli_state not compact: %s", st.CLI)
	}

	err = s.SetCatalogState(ctx, "server", json.RawMessage(`{}`))
	if !errors.Is(err, ErrUnknownCatalogKind) {
		t.Fatalf("SetCatalogState(server): err = %v, want ErrUnknownCatalogKind", err)
	}
	if err := s.SetCatalogState(ctx, "cli", json.RawMessage(`{`)); err == nil {
		t.Fatal("SetCatalogState with invalid JSON: no error")
	}
	st, _ = s.CatalogState(ctx)
	jsonEqual(t, st.CLI, `{"settings":{"migrations_mode":"true"}}`)
}

func jsonEqual(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got %s, want %s", got, want)
	}
}
