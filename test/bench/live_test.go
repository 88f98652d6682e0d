package bench

// Live queries: N subscribers of one subscription, each with its own
// value of $id (so each is a cohort of its own, the worst case for
// multiplexing), over a few websocket connections. "engine" is the
// multiplexed engine (one statement per batch of 100 cohorts per
// refetch); "baseline=poll-each" is the same engine serving subscriptions
// as before multiplexing (graphql.PollEachSubscriber: every subscriber
// runs its own statement every interval).
//
// An op is one change to every subscriber's row: ns/op is the time from
// the UPDATE's commit until the last subscriber has received its new
// result (which includes waiting for the next refetch, up to an
// interval). Besides, per refetch interval in the steady state, nothing
// changing: stmts/interval (SQL statements run), pg-cpu-ms/interval (CPU
// time of the Postgres server) and go-cpu-ms/interval (of this process:
// the engine, and the clients alike in both); ms/round, the latency of
// one refetch round (the engine's refetches all N subscribers, the
// baseline's one); and B/sub and goroutines/sub, the growth of the
// process's heap plus stacks, and of its goroutines, per subscriber
// (clients included, alike in both).
//
// BenchmarkLiveQueries10k is the same subscription at 10,000 subscribers,
// engine only, with the engine as a process of its own (the strata
// binary, built by the benchmark) so that its memory and CPU are its own;
// its doc says what it reports.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/graphql"
	"github.com/strata-dev/strata/test/enginetest"
	"github.com/strata-dev/strata/test/pgtest"
)

const (
	liveRows     = liveScale // one per subscriber of the largest run
	liveConns    = 10
	liveInterval = time.Second // Hasura's default refetch interval
)

var liveSQL = fmt.Sprintf(`
CREATE TABLE item (id int PRIMARY KEY, value int NOT NULL);
INSERT INTO item SELECT g, 0 FROM generate_series(1, %d) g;
ANALYZE item;`, liveRows)

const liveTrack = `{"type":"pg_track_table","args":{"source":"default","table":"item"}}`

const liveSub = `subscription ($id: Int!) { item_by_pk(id: $id) { id value } }`

var (
	liveDBOnce sync.Once
	liveDBURL  string
	liveDBErr  error
)

// liveDatabase is the item table, created once for both benchmarks.
func liveDatabase(b *testing.B) string {
	b.Helper()
	liveDBOnce.Do(func() {
		liveDBURL, liveDBErr = setupDatabase(pgtest.Server(b).CreateDatabase, "bench_live", liveSQL, liveTrack)
	})
	if liveDBErr != nil {
		b.Fatal(liveDBErr)
	}
	return liveDBURL
}

// BenchmarkLiveQueries runs the baseline beside the engine at 1000 and
// 5000 subscribers; 10,000 are BenchmarkLiveQueries10k's, engine only.
func BenchmarkLiveQueries(b *testing.B) {
	url := liveDatabase(b)
	pool := rawPool(b, url, 2)
	configure := func(c *config.Config) {
		c.DatabaseURL = url
		c.LiveQueriesRefetchInterval = liveInterval
	}
	graphql.PollEachSubscriber(true)
	baseline := enginetest.Start(b, configure)
	graphql.PollEachSubscriber(false)
	multiplexed := enginetest.Start(b, configure)

	postmaster := postmasterOf(b, pool)
	for _, n := range []int{1000, 5000} {
		b.Run("subscribers="+strconv.Itoa(n), func(b *testing.B) {
			b.Run("baseline=poll-each", func(b *testing.B) { benchLive(b, baseline.URL, pool, postmaster, n) })
			b.Run("engine", func(b *testing.B) { benchLive(b, multiplexed.URL, pool, postmaster, n) })
		})
	}
}

func benchLive(b *testing.B, url string, pool *pgxpool.Pool, postmaster, n int) {
	waitLiveIdle(b)
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()

	clients := dialLive(b, url)
	defer func() {
		clients.close()
		waitLiveIdle(b)
		// The baseline's subscriptions are goroutines of their own.
		for deadline := time.Now().Add(time.Minute); runtime.NumGoroutine() > g0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	clients.subscribe(b, n)
	waitReceived(b, &clients.received, int64(n))

	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	g1 := runtime.NumGoroutine()

	// The steady state, nothing changing: what refetching costs.
	s0, pg0, go0 := graphql.LiveQueryStats(), serverCPU(postmaster), selfCPU()
	const window = 3 * liveInterval
	time.Sleep(window)
	s1, pg1, go1 := graphql.LiveQueryStats(), serverCPU(postmaster), selfCPU()
	intervals := float64(window / liveInterval)

	// b.Loop: the subscribers above are set up once, not once more per
	// b.N the framework tries.
	for round := 0; b.Loop(); round++ {
		if _, err := pool.Exec(context.Background(), `UPDATE item SET value = value + 1 WHERE id <= $1`, n); err != nil {
			b.Fatal(err)
		}
		waitReceived(b, &clients.received, int64(n)*int64(round+2))
	}

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(s1.Statements-s0.Statements)/intervals, "stmts/interval")
	b.ReportMetric(ms(pg1-pg0)/intervals, "pg-cpu-ms/interval")
	b.ReportMetric(ms(go1-go0)/intervals, "go-cpu-ms/interval")
	if polls := s1.Polls - s0.Polls; polls > 0 {
		b.ReportMetric(ms(s1.PollTime-s0.PollTime)/float64(polls), "ms/round")
	}
	mem := func(m *runtime.MemStats) int64 { return int64(m.HeapAlloc + m.StackInuse) }
	b.ReportMetric(float64(mem(&m1)-mem(&m0))/float64(n), "B/sub")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/sub")
}

// liveScale is BenchmarkLiveQueries10k's number of subscribers.
const liveScale = 10000

// BenchmarkLiveQueries10k: liveScale subscribers of liveSub, each its own
// cohort, over liveConns connections (1000 subscriptions each), on an
// engine run as a process of its own: the strata binary, built here, so
// that what is measured of it is the engine's alone (the clients are this
// process). An op is one change to all the subscribers' rows, committed
// through pgx. Reported:
//
//   - rss-MB: the engine's resident memory (VmRSS) with the subscribers
//     on, after the changes; peak-rss-MB its peak (VmHWM), start-up
//     included; B/sub its RSS growth per subscriber while they subscribed.
//   - last-p50-ms, last-p99-ms: from a change's commit until the last
//     subscriber has its new result, which includes waiting for the next
//     refetch (up to liveInterval), over the changes; with -benchtime 3x
//     that is three changes and p99 is their maximum: -benchtime 20x gives
//     a p99 worth the name. notify-p50-ms, notify-p99-ms: the same for
//     every subscriber's new result, over all of them.
//   - engine-cpu-ms/refetch, pg-cpu-ms/refetch: CPU time of the engine and
//     of the Postgres server per refetch interval, nothing changing (each
//     interval refetches all the subscribers and finds nothing new).
//   - engine-cpu-ms/change, pg-cpu-ms/change: the same from a change's
//     commit until the last subscriber has its result, a refetch in which
//     every result is new and sent.
//
// The poll-each baseline is not run at this size: it runs a statement per
// subscriber per interval, which at 10,000 would measure how a 2-core
// machine drowns; BenchmarkLiveQueries compares it at 1000 and 5000.
func BenchmarkLiveQueries10k(b *testing.B) {
	url := liveDatabase(b)
	pool := rawPool(b, url, 2)
	postmaster := postmasterOf(b, pool)
	proc := startEngineProcess(b, url)
	n := liveScale

	mem0 := procMem(proc.pid)
	clients := dialLive(b, proc.url)
	defer clients.close()
	clients.subscribe(b, n)
	waitReceived(b, &clients.received, int64(n))
	mem1 := procMem(proc.pid)

	// The steady state, nothing changing: what a refetch costs.
	e0, pg0 := procStat(proc.pid).cpu, serverCPU(postmaster)
	const window = 3 * liveInterval
	time.Sleep(window)
	e1, pg1 := procStat(proc.pid).cpu, serverCPU(postmaster)
	intervals := float64(window / liveInterval)

	var last, notify []time.Duration
	var engineChange, pgChange time.Duration
	for round := 0; b.Loop(); round++ {
		clients.record()
		if _, err := pool.Exec(context.Background(), `UPDATE item SET value = value + 1 WHERE id <= $1`, n); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		eA, pgA := procStat(proc.pid).cpu, serverCPU(postmaster)
		waitReceived(b, &clients.received, int64(n)*int64(round+2))
		eB, pgB := procStat(proc.pid).cpu, serverCPU(postmaster)
		engineChange += eB - eA
		pgChange += pgB - pgA
		var latest time.Duration
		for _, at := range clients.recorded() {
			d := max(at.Sub(committed), 0) // a result may beat Exec's return
			notify = append(notify, d)
			latest = max(latest, d)
		}
		last = append(last, latest)
	}
	mem2 := procMem(proc.pid)

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	const mb = 1 << 20
	b.ReportMetric(float64(mem2.rss)/mb, "rss-MB")
	b.ReportMetric(float64(mem2.peak)/mb, "peak-rss-MB")
	b.ReportMetric(float64(mem1.rss-mem0.rss)/float64(n), "B/sub")
	b.ReportMetric(ms(percentile(last, 50)), "last-p50-ms")
	b.ReportMetric(ms(percentile(last, 99)), "last-p99-ms")
	b.ReportMetric(ms(percentile(notify, 50)), "notify-p50-ms")
	b.ReportMetric(ms(percentile(notify, 99)), "notify-p99-ms")
	b.ReportMetric(ms(e1-e0)/intervals, "engine-cpu-ms/refetch")
	b.ReportMetric(ms(pg1-pg0)/intervals, "pg-cpu-ms/refetch")
	if rounds := len(last); rounds > 0 {
		b.ReportMetric(ms(engineChange)/float64(rounds), "engine-cpu-ms/change")
		b.ReportMetric(ms(pgChange)/float64(rounds), "pg-cpu-ms/change")
	}
}

// percentile is the nearest-rank p-th percentile of ds (0 for none).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// engineProcess is a `strata serve` of its own.
type engineProcess struct {
	url string
	pid int
}

// startEngineProcess builds the strata binary and serves dbURL with it,
// refetching live queries every liveInterval, until the benchmark ends.
func startEngineProcess(b *testing.B, dbURL string) engineProcess {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "strata")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/strata-dev/strata").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	port := freePort(b)
	cmd := exec.Command(bin, "serve", "--database-url", dbURL, "--server-host", "127.0.0.1", "--server-port", port,
		"--live-queries-multiplexed-refetch-interval", strconv.FormatInt(liveInterval.Milliseconds(), 10),
		"--log-level", "warn")
	// Only the flags configure it, whatever this shell exports.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HASURA_GRAPHQL_") && !strings.HasPrefix(kv, "STRATA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var logs bytes.Buffer // read once the process has exited
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-exited
		}
		if b.Failed() {
			b.Logf("engine log:\n%s", logs.String())
		}
	})

	url := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			b.Fatalf("the engine exited: %v", cmd.ProcessState)
		default:
		}
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("the engine did not answer /healthz in a minute")
		}
	}
	return engineProcess{url: url, pid: cmd.Process.Pid}
}

// freePort is a loopback port free a moment ago (the engine cannot be
// asked to pick one: it refuses port 0).
func freePort(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

type mem struct{ rss, peak int64 } // bytes

// procMem reads a process's resident memory and its peak from
// /proc/<pid>/status (Linux; zero elsewhere).
func procMem(pid int) mem {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return mem{}
	}
	var m mem
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = kb << 10
		case "VmHWM:":
			m.peak = kb << 10
		}
	}
	return m
}

// postmasterOf is the process id of the Postgres server pool is on.
func postmasterOf(b *testing.B, pool *pgxpool.Pool) int {
	b.Helper()
	var backend int
	if err := pool.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		b.Fatal(err)
	}
	return procStat(backend).ppid
}

// liveClients are liveConns websocket connections (graphql-transport-ws)
// to one engine, sharing the subscribers out, that count the results
// they receive and, while recording, note when each arrived.
type liveClients struct {
	conns    []*websocket.Conn
	ctx      context.Context
	cancel   context.CancelFunc
	readers  sync.WaitGroup
	received atomic.Int64 // "next" messages, all subscribers

	mu        sync.Mutex
	recording bool
	arrivals  []time.Time
}

func dialLive(b *testing.B, url string) *liveClients {
	b.Helper()
	c := &liveClients{}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for range liveConns {
		conn, _, err := websocket.Dial(c.ctx, "ws"+strings.TrimPrefix(url, "http")+"/v1/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			c.close()
			b.Fatal(err)
		}
		conn.SetReadLimit(1 << 20)
		c.conns = append(c.conns, conn)
		if err := conn.Write(c.ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{}}`)); err != nil {
			c.close()
			b.Fatal(err)
		}
		if _, ack, err := conn.Read(c.ctx); err != nil || !strings.Contains(string(ack), "connection_ack") {
			c.close()
			b.Fatalf("init: %s %v", ack, err)
		}
		c.readers.Go(func() { c.read(b, conn) })
	}
	return c
}

func (c *liveClients) read(b *testing.B, conn *websocket.Conn) {
	for {
		_, data, err := conn.Read(c.ctx)
		if err != nil {
			return
		}
		at := time.Now()
		var m struct{ Type string }
		if json.Unmarshal(data, &m) != nil || m.Type != "next" {
			b.Errorf("unexpected message %s", data)
			continue
		}
		c.mu.Lock()
		if c.recording {
			c.arrivals = append(c.arrivals, at)
		}
		c.mu.Unlock()
		c.received.Add(1)
	}
}

// subscribe starts n subscribers of liveSub, subscriber k watching row
// k+1, shared out over the connections.
func (c *liveClients) subscribe(b *testing.B, n int) {
	b.Helper()
	for k := range n {
		msg := fmt.Sprintf(`{"type":"subscribe","id":"%d","payload":{"query":%q,"variables":{"id":%d}}}`, k, liveSub, k+1)
		if err := c.conns[k%len(c.conns)].Write(c.ctx, websocket.MessageText, []byte(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

// record starts noting arrivals afresh; recorded stops and returns them.
func (c *liveClients) record() {
	c.mu.Lock()
	c.recording, c.arrivals = true, c.arrivals[:0]
	c.mu.Unlock()
}

func (c *liveClients) recorded() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording = false
	return slices.Clone(c.arrivals)
}

func (c *liveClients) close() {
	c.cancel()
	for _, conn := range c.conns {
		_ = conn.Close(websocket.StatusNormalClosure, "")
	}
	c.readers.Wait()
}

// selfCPU is this process's CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type stat struct {
	ppid int
	cpu  time.Duration // own, and of the children it has reaped
}

// procStat reads /proc/<pid>/stat (Linux; zero elsewhere).
func procStat(pid int) stat {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}
	}
	// The command may hold spaces: fields start after its ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 15 {
		return stat{}
	}
	n := func(i int) int { v, _ := strconv.Atoi(f[i]); return v }
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return stat{ppid: n(1), cpu: time.Duration(n(11)+n(12)+n(13)+n(14)) * tick}
}

// serverCPU is the CPU time of a Postgres server: the postmaster's (with
// the backends it has reaped) and its live processes'.
func serverCPU(postmaster int) time.Duration {
	total := procStat(postmaster).cpu
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st := procStat(pid); st.ppid == postmaster {
			total += st.cpu
		}
	}
	return total
}

// waitReceived waits until the clients have had want results in all.
func waitReceived(b *testing.B, got *atomic.Int64, want int64) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for got.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d results of %d", got.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitLiveIdle waits for the subscribers of a previous run to be gone.
func waitLiveIdle(b *testing.B) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for s := graphql.LiveQueryStats(); s.Subscribers != 0 || s.Pollers != 0; s = graphql.LiveQueryStats() {
		if time.Now().After(deadline) {
			b.Fatalf("live queries still running: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
