package pgmeta

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Pools for X-Connection-Encrypted connection strings.
//
// postgres-meta opens (and closes) a pool per request; here a pool is kept
// per connection string in a bounded LRU. A pool is created without
// connecting (pgxpool dials lazily), so creating it under the lock is cheap
// and concurrent first requests for one string share one pool. An evicted
// or idle pool is closed once no request holds it.

const (
	defaultMaxPools   = 10
	defaultPoolIdle   = 5 * time.Minute
	encryptedMaxConns = 5
	applicationName   = "strata pgmeta"
	connectTimeout    = 15 * time.Second // postgres-meta's PG_CONN_TIMEOUT_SECS
)

var errPoolsClosed = errors.New("pgmeta: handler is closed")

type poolEntry struct {
	key      string // sha256 of the connection string; the string itself is only in the pool config
	pool     *pgxpool.Pool
	elem     *list.Element
	refs     int
	lastUsed time.Time
	dropped  bool // evicted or expired: close when refs reaches 0
}

type poolSet struct {
	mu     sync.Mutex
	max    int
	idle   time.Duration
	lru    *list.List // front: most recently used; values are *poolEntry
	byKey  map[string]*poolEntry
	closed bool

	closing sync.WaitGroup
	stop    chan struct{}
	stopped chan struct{}

	// counters, for tests and logs
	created int
	closedN int

	newPool func(cfg *pgxpool.Config) (*pgxpool.Pool, error)
	// onClose, if set, is told of each pool closed (before it closes).
	onClose func(*pgxpool.Pool)
}

func newPoolSet(max int, idle time.Duration) *poolSet {
	if max <= 0 {
		max = defaultMaxPools
	}
	if idle <= 0 {
		idle = defaultPoolIdle
	}
	ps := &poolSet{
		max:     max,
		idle:    idle,
		lru:     list.New(),
		byKey:   map[string]*poolEntry{},
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		newPool: func(cfg *pgxpool.Config) (*pgxpool.Pool, error) {
			return pgxpool.NewWithConfig(context.Background(), cfg)
		},
	}
	go ps.janitor()
	return ps
}

func poolKey(connString string) string {
	sum := sha256.Sum256([]byte(connString))
	return hex.EncodeToString(sum[:])
}

// acquire returns the pool for connString, creating it if needed; the
// caller must release it. Errors never include the connection string.
func (ps *poolSet) acquire(connString string) (*poolEntry, error) {
	key := poolKey(connString)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return nil, errPoolsClosed
	}
	if e, ok := ps.byKey[key]; ok {
		e.refs++
		e.lastUsed = time.Now()
		ps.lru.MoveToFront(e.elem)
		return e, nil
	}
	cfg, err := parseEncryptedConfig(connString)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = encryptedMaxConns
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = time.Minute
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = applicationName
	}
	pool, err := ps.newPool(cfg)
	if err != nil {
		return nil, &headerError{"the decrypted connection string is not usable"}
	}
	ps.created++
	e := &poolEntry{key: key, pool: pool, refs: 1, lastUsed: time.Now()}
	e.elem = ps.lru.PushFront(e)
	ps.byKey[key] = e
	for ps.lru.Len() > ps.max {
		ps.dropLocked(ps.lru.Back().Value.(*poolEntry))
	}
	return e, nil
}

// parseEncryptedConfig parses a header's connection string. pgx fills in
// what the string leaves out from the server's environment (PGPASSWORD,
// PGHOST, ~/.pgpass); for a string from a request that would send the
// server's own password to whatever host the string names, or reach the
// server's default database. So the string must name its host, the
// password is exactly the one it gives (none if none), and parameters that
// make pgx read local files are refused.
func parseEncryptedConfig(connString string) (*pgxpool.Config, error) {
	u, err := url.Parse(connString)
	if err != nil {
		return nil, &headerError{"the decrypted connection string is not a valid URL"}
	}
	q := u.Query()
	if u.Host == "" && q.Get("host") == "" {
		return nil, &headerError{"the decrypted connection string names no host"}
	}
	// Parameters naming files on this server (postgres-meta drops the ssl
	// ones too): a remote client has no business pointing at them.
	for _, k := range []string{"passfile", "service", "servicefile", "sslkey", "sslcert", "sslrootcert", "sslcrl", "sslpassword"} {
		if q.Has(k) {
			return nil, &headerError{"the connection string parameter " + k + " is not supported"}
		}
	}
	password, ok := u.User.Password()
	if !ok {
		password = q.Get("password")
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, &headerError{"the decrypted connection string cannot be parsed"}
	}
	cfg.ConnConfig.Password = password
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	return cfg, nil
}

func (ps *poolSet) release(e *poolEntry) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	e.refs--
	e.lastUsed = time.Now()
	if e.dropped && e.refs == 0 {
		ps.closeLocked(e)
	}
}

// dropLocked takes e out of the set; it is closed now if unused, else by
// the last release.
func (ps *poolSet) dropLocked(e *poolEntry) {
	if e.dropped {
		return
	}
	e.dropped = true
	ps.lru.Remove(e.elem)
	delete(ps.byKey, e.key)
	if e.refs == 0 {
		ps.closeLocked(e)
	}
}

func (ps *poolSet) closeLocked(e *poolEntry) {
	ps.closedN++
	if ps.onClose != nil {
		ps.onClose(e.pool)
	}
	ps.closing.Add(1)
	go func() {
		defer ps.closing.Done()
		e.pool.Close()
	}()
}

// janitor closes pools nobody used for ps.idle.
func (ps *poolSet) janitor() {
	defer close(ps.stopped)
	every := ps.idle / 4
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	if every > time.Minute {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ps.stop:
			return
		case <-t.C:
			ps.expire(time.Now())
		}
	}
}

func (ps *poolSet) expire(now time.Time) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for el := ps.lru.Back(); el != nil; {
		prev := el.Prev()
		e := el.Value.(*poolEntry)
		if e.refs == 0 && now.Sub(e.lastUsed) >= ps.idle {
			ps.dropLocked(e)
		}
		el = prev
	}
}

// stats reports (open pools, pools created, pools closed).
func (ps *poolSet) stats() (open, created, closed int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.lru.Len(), ps.created, ps.closedN
}

// close closes every pool (waiting for requests that hold one) and stops
// the janitor.
func (ps *poolSet) close() {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		ps.closing.Wait()
		return
	}
	ps.closed = true
	for el := ps.lru.Front(); el != nil; {
		next := el.Next()
		ps.dropLocked(el.Value.(*poolEntry))
		el = next
	}
	ps.mu.Unlock()
	close(ps.stop)
	<-ps.stopped
	ps.closing.Wait()
}
