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

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
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
	liveRows     = 5000
	liveConns    = 10
	liveInterval = time.Second // Hasura's default refetch interval
)

var liveSQL = fmt.Sprintf(`
CREATE TABLE item (id int PRIMARY KEY, value int NOT NULL);
INSERT INTO item SELECT g, 0 FROM generate_series(1, %d) g;
ANALYZE item;`, liveRows)

const liveTrack = `{"type":"pg_track_table","args":{"source":"default","table":"item"}}`

const liveSub = `subscription ($id: Int!) { item_by_pk(id: $id) { id value } }`

func BenchmarkLiveQueries(b *testing.B) {
	url, err := setupDatabase(pgtest.Server(b).CreateDatabase, "bench_live", liveSQL, liveTrack)
	if err != nil {
		b.Fatal(err)
	}
	pool := rawPool(b, url, 2)
	configure := func(c *config.Config) {
		c.DatabaseURL = url
		c.LiveQueriesRefetchInterval = liveInterval
	}
	graphql.PollEachSubscriber(true)
	baseline := enginetest.Start(b, configure)
	graphql.PollEachSubscriber(false)
	multiplexed := enginetest.Start(b, configure)

	var backend int
	if err := pool.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		b.Fatal(err)
	}
	postmaster := procStat(backend).ppid
	for _, n := range []int{1000, liveRows} {
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

	var received atomic.Int64 // "next" messages, all subscribers
	conns := make([]*websocket.Conn, liveConns)
	var readers sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		for _, c := range conns {
			if c != nil {
				_ = c.Close(websocket.StatusNormalClosure, "")
			}
		}
		readers.Wait()
		waitLiveIdle(b)
		// The baseline's subscriptions are goroutines of their own.
		for deadline := time.Now().Add(time.Minute); runtime.NumGoroutine() > g0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	for i := range conns {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/v1/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		conns[i] = c
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{}}`)); err != nil {
			b.Fatal(err)
		}
		if _, ack, err := c.Read(ctx); err != nil || !strings.Contains(string(ack), "connection_ack") {
			b.Fatalf("init: %s %v", ack, err)
		}
		readers.Go(func() {
			for {
				_, data, err := c.Read(ctx)
				if err != nil {
					return
				}
				var m struct{ Type string }
				if json.Unmarshal(data, &m) == nil && m.Type == "next" {
					received.Add(1)
				} else {
					b.Errorf("unexpected message %s", data)
				}
			}
		})
	}
	for k := range n {
		msg := fmt.Sprintf(`{"type":"subscribe","id":"%d","payload":{"query":%q,"variables":{"id":%d}}}`, k, liveSub, k+1)
		if err := conns[k%liveConns].Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			b.Fatal(err)
		}
	}
	waitReceived(b, &received, int64(n))

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

	b.ResetTimer()
	for round := range b.N {
		if _, err := pool.Exec(context.Background(), `UPDATE item SET value = value + 1 WHERE id <= $1`, n); err != nil {
			b.Fatal(err)
		}
		waitReceived(b, &received, int64(n)*int64(round+2))
	}
	b.StopTimer()

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
