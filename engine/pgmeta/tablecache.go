package pgmeta

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The /pg/tables list cache.
//
// Building a table's columns, keys and relationships as JSON is most of
// the cost of the list (about 110 ms of Postgres CPU at 500 tables,
// against 25 ms for the sizes and row estimates). That part only changes
// when the catalog does, so it is kept per (database, filter) with the
// catalog state it was read in (stateSQL). Each request then reads the
// sizes and row estimates afresh, in a query that also reads the state: if
// the state is unchanged the catalog part is as that query would see it,
// so the answer is the one a full query would give; if not, the full
// query runs and replaces the entry.

// maxTableCacheBytes bounds the cached JSON (an entry of 500 tables is
// about 1 MB); the least recently used entries go first.
const maxTableCacheBytes = 32 << 20

// tableCacheKey is a list request: its database and filter.
type tableCacheKey struct {
	pool *pgxpool.Pool // holds the pool, so its address is not reused while cached
	sql  string        // the page query (without the state), which holds the filter
	args string
}

func tablesKey(pool *pgxpool.Pool, f *filter) tableCacheKey {
	sql, args := tablesPageSQL(f, "")
	return tableCacheKey{pool: pool, sql: sql, args: argsKey(args)}
}

// tablePage is one cached list page: per table its ID and the JSON of its
// catalog fields before and after the stats.
type tablePage struct {
	key   tableCacheKey
	state string
	ids   []int64
	heads [][]byte // `{"id":…,"replica_identity":…}`
	tails [][]byte // `{"comment":…,"columns":[…]}`
	size  int
	elem  *list.Element
}

type tableCache struct {
	mu     sync.Mutex
	byKey  map[tableCacheKey]*tablePage
	lru    *list.List // front: most recently used
	size   int
	hits   atomic.Int64 // answers from a cached page, for tests
	misses atomic.Int64
}

func newTableCache() *tableCache {
	return &tableCache{byKey: map[tableCacheKey]*tablePage{}, lru: list.New()}
}

func (tc *tableCache) get(k tableCacheKey) *tablePage {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	p := tc.byKey[k]
	if p != nil {
		tc.lru.MoveToFront(p.elem)
	}
	return p
}

func (tc *tableCache) put(p *tablePage) {
	if p.size > maxTableCacheBytes {
		return
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if old := tc.byKey[p.key]; old != nil {
		tc.removeLocked(old)
	}
	p.elem = tc.lru.PushFront(p)
	tc.byKey[p.key] = p
	tc.size += p.size
	for tc.size > maxTableCacheBytes {
		tc.removeLocked(tc.lru.Back().Value.(*tablePage))
	}
}

func (tc *tableCache) removeLocked(p *tablePage) {
	tc.lru.Remove(p.elem)
	delete(tc.byKey, p.key)
	tc.size -= p.size
}

// forget drops the pages of a pool being closed.
func (tc *tableCache) forget(pool *pgxpool.Pool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for k, p := range tc.byKey {
		if k.pool == pool {
			tc.removeLocked(p)
		}
	}
}

// listTables answers GET /pg/tables, from a computation shared with the
// identical requests that gather with this one (flights), through the
// cache.
func (h *Handler) listTables(w http.ResponseWriter, r *http.Request, db *database, f *filter) {
	key := tablesKey(db.pool, f)
	out, err := h.tableFlights.do(r.Context(), key, func(ctx context.Context) ([]byte, error) {
		ctx, cancel := h.boundRead(ctx)
		defer cancel()
		var out []byte
		err := h.withConn(ctx, db, func(ctx context.Context, c *pgxpool.Conn) error {
			var err error
			out, err = h.tables.listTables(ctx, c, key, f)
			return err
		})
		return out, err
	})
	if err != nil {
		h.fail(w, r, err, http.StatusInternalServerError)
		return
	}
	writeJSONBytes(w, http.StatusOK, out)
}

// tableStatsRow is a table's bytes, size, live and dead row estimates.
type tableStatsRow struct {
	bytes *int64
	size  *string
	live  *int64
	dead  *int64
}

// listTables answers the list request key (filter f) on c.
func (tc *tableCache) listTables(ctx context.Context, c *pgxpool.Conn, key tableCacheKey, f *filter) ([]byte, error) {
	state := stateSQL(c.Conn().PgConn())
	sql, args := tablesPageSQL(f, state)

	if p := tc.get(key); p != nil {
		stats, now, err := readStats(ctx, c, tablesStatsSQL(state), p.ids, p.state)
		if err != nil {
			return nil, err
		}
		if now == p.state && len(stats) == len(p.ids) {
			tc.hits.Add(1)
			return p.render(stats), nil
		}
	}
	tc.misses.Add(1)
	p, stats, err := readPage(ctx, c, sql, args)
	if err != nil {
		return nil, err
	}
	p.key = key
	tc.put(p)
	return p.render(stats), nil
}

// readPage runs tablesPageSQL.
func readPage(ctx context.Context, c *pgxpool.Conn, sql string, args []any) (*tablePage, []tableStatsRow, error) {
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	p := &tablePage{}
	var stats []tableStatsRow
	for rows.Next() {
		var (
			id         *int64
			head, tail []byte
			s          tableStatsRow
		)
		if err := rows.Scan(&p.state, &id, &head, &tail, &s.bytes, &s.size, &s.live, &s.dead); err != nil {
			return nil, nil, err
		}
		if id == nil {
			continue // the empty list's row
		}
		p.ids = append(p.ids, *id)
		p.heads = append(p.heads, head)
		p.tails = append(p.tails, tail)
		p.size += len(head) + len(tail)
		stats = append(stats, s)
	}
	return p, stats, rows.Err()
}

// readStats runs tablesStatsSQL: the stats of ids if the state is still
// state, and the state now.
func readStats(ctx context.Context, c *pgxpool.Conn, sql string, ids []int64, state string) ([]tableStatsRow, string, error) {
	rows, err := c.Query(ctx, sql, ids, state)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var (
		now   string
		stats []tableStatsRow
	)
	for rows.Next() {
		var (
			id *int64
			s  tableStatsRow
		)
		if err := rows.Scan(&now, &id, &s.bytes, &s.size, &s.live, &s.dead); err != nil {
			return nil, "", err
		}
		if id != nil {
			stats = append(stats, s)
		}
	}
	return stats, now, rows.Err()
}

// render writes the list as Postgres' json_agg writes it (elements
// separated by ", \n "), each table's stats spliced between its head and
// tail fields.
func (p *tablePage) render(stats []tableStatsRow) []byte {
	if len(p.ids) == 0 {
		return []byte("[]")
	}
	var b bytes.Buffer
	b.Grow(p.size + len(p.ids)*128)
	b.WriteByte('[')
	for i := range p.ids {
		if i > 0 {
			b.WriteString(", \n ")
		}
		head, tail := p.heads[i], p.tails[i]
		b.Write(head[:len(head)-1]) // without the closing brace
		s := stats[i]
		b.WriteString(`,"bytes":`)
		writeIntOrNull(&b, s.bytes)
		b.WriteString(`,"size":`)
		if s.size == nil {
			b.WriteString("null")
		} else {
			writeJSONStr(&b, *s.size)
		}
		b.WriteString(`,"live_rows_estimate":`)
		writeIntOrNull(&b, s.live)
		b.WriteString(`,"dead_rows_estimate":`)
		writeIntOrNull(&b, s.dead)
		b.WriteByte(',')
		b.Write(tail[1:]) // without the opening brace
	}
	b.WriteByte(']')
	return b.Bytes()
}

func writeIntOrNull(b *bytes.Buffer, n *int64) {
	if n == nil {
		b.WriteString("null")
		return
	}
	b.WriteString(strconv.FormatInt(*n, 10))
}

// argsKey is the text of a page query's arguments (schema lists, limit,
// offset), for the cache key.
func argsKey(args []any) string { return fmt.Sprintf("%#v", args) }
