// Package schemacache holds what the engine serves from: the current
// metadata, each source's pool, catalog and enum tables' rows, and the
// objects that do not fit the database. A Snapshot is immutable; the
// Cache swaps in a new one atomically, so a request sees one whole
// snapshot or the next, never half.
package schemacache

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/exec"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/metadata/store"
)

// Source is a database as the engine sees it.
type Source struct {
	// Metadata is the source's metadata as served: without its
	// inconsistent permissions (Snapshot.Metadata has them all).
	Metadata *metadata.Source
	Pool     *pgxpool.Pool    // nil when the source is inconsistent
	Catalog  *catalog.Catalog // nil when the source is inconsistent
	// Enums are the rows of its enum tables as the build read them (the
	// one thing the catalog does not hold, enums.go); only the tables
	// that can be enums, which alone Metadata keeps.
	Enums map[metadata.QualifiedName][]EnumRow
}

// Snapshot is one consistent view of metadata and databases.
type Snapshot struct {
	ResourceVersion int64
	Metadata        *metadata.Metadata
	Sources         map[string]*Source
	Inconsistent    []InconsistentObject
}

// Catalogs returns each consistent source's catalog.
func (s *Snapshot) Catalogs() map[string]*catalog.Catalog {
	out := make(map[string]*catalog.Catalog, len(s.Sources))
	for name, src := range s.Sources {
		if src.Catalog != nil {
			out[name] = src.Catalog
		}
	}
	return out
}

// Cache keeps the current Snapshot up to date with the store.
type Cache struct {
	store     *store.Store
	sources   *exec.Sources
	lookupEnv func(string) (string, bool)
	log       *slog.Logger

	cur       atomic.Pointer[Snapshot]
	rebuildMu sync.Mutex
	validator atomic.Pointer[Validator] // see SetValidator
	// onNew run, each in its own goroutine, when a snapshot of a newer
	// resource version becomes current (see OnNewVersion); guarded by
	// rebuildMu.
	onNew []func(*Snapshot)
}

// OnNewVersion has f run, in a goroutine of its own, whenever metadata
// of a newer resource version becomes current: changed through this
// engine or, followed, through another replica. The first snapshot does
// not count.
func (c *Cache) OnNewVersion(f func(*Snapshot)) {
	c.rebuildMu.Lock()
	defer c.rebuildMu.Unlock()
	c.onNew = append(c.onNew, f)
}

// swap makes s current unless a newer snapshot is (with replaceSame, one
// of the same version too: a rebuild after the database changed); the
// caller holds rebuildMu.
func (c *Cache) swap(s *Snapshot, replaceSame bool) {
	old := c.cur.Load()
	if old != nil && (old.ResourceVersion > s.ResourceVersion || old.ResourceVersion == s.ResourceVersion && !replaceSame) {
		return
	}
	c.cur.Store(s)
	if old != nil && old.ResourceVersion < s.ResourceVersion {
		for _, f := range c.onNew {
			go f(s)
		}
	}
}

// New builds an empty cache; call Rebuild before serving.
func New(st *store.Store, sources *exec.Sources, lookupEnv func(string) (string, bool), log *slog.Logger) *Cache {
	return &Cache{store: st, sources: sources, lookupEnv: lookupEnv, log: log}
}

// Current is the snapshot in force.
func (c *Cache) Current() *Snapshot { return c.cur.Load() }

// Rebuild loads the stored metadata, introspects every source and swaps
// the result in. Concurrent calls are serialized; a snapshot never
// replaces a newer one.
func (c *Cache) Rebuild(ctx context.Context) (*Snapshot, error) {
	c.rebuildMu.Lock()
	defer c.rebuildMu.Unlock()
	snap, err := c.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	md, err := metadata.Parse(snap.Metadata)
	if err != nil {
		return nil, fmt.Errorf("stored metadata does not parse: %w", err)
	}
	s := c.Build(ctx, md, Reads{})
	s.ResourceVersion = snap.ResourceVersion
	c.swap(s, true)
	return c.cur.Load(), nil
}

// Install makes s current, unless a newer snapshot already is: a writer
// that just built and stored s need not introspect again.
func (c *Cache) Install(s *Snapshot) {
	c.rebuildMu.Lock()
	defer c.rebuildMu.Unlock()
	c.swap(s, false)
}

// Querier reads a source's database: *pgxpool.Pool and *pgx.Conn
// satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Reads is what a build takes from its caller rather than reading it
// through the sources' pools. A metadata request has read some catalogs
// already, and its run_sql holds a transaction open on a source until the
// metadata is known to fit: the build must see that transaction's
// uncommitted changes, and must not wait on the locks it holds, so it
// reads that source through it.
type Reads struct {
	// Catalogs are used as they are.
	Catalogs map[string]*catalog.Catalog
	// Conns are the sources to read through an open transaction.
	Conns map[string]Querier
}

// Build makes a snapshot of md (without storing it), reading each
// source's catalog (unless given) and enum tables' rows through from's
// transaction on it, else through its pool.
func (c *Cache) Build(ctx context.Context, md *metadata.Metadata, from Reads) *Snapshot {
	s := &Snapshot{Metadata: md, Sources: map[string]*Source{}}
	for _, src := range md.Sources {
		ss := &Source{Metadata: src}
		s.Sources[src.Name] = ss
		pool, err := c.pool(ctx, src)
		if err != nil {
			s.Inconsistent = append(s.Inconsistent, sourceInconsistent(src.Name, err))
			continue
		}
		var db Querier = pool
		if conn := from.Conns[src.Name]; conn != nil {
			db = conn
		}
		cat := from.Catalogs[src.Name]
		if cat == nil {
			if cat, err = LoadCatalog(ctx, db); err != nil {
				s.Inconsistent = append(s.Inconsistent, sourceInconsistent(src.Name, err))
				continue
			}
		}
		ss.Pool, ss.Catalog = pool, cat
		enums, badEnums := enumTables(ctx, db, src, cat)
		served := withoutTables(src, badEnums)
		found := append(badEnums, Check(served, cat)...)
		s.Inconsistent = append(s.Inconsistent, found...)
		// The schema is served without the enum tables and permissions
		// that do not fit.
		ss.Metadata = WithoutInconsistentPermissions(served, found)
		ss.Enums = enums
	}
	if v := c.validator.Load(); v != nil {
		s.Inconsistent = append(s.Inconsistent, (*v)(ctx, s)...)
	}
	return s
}

func sourceInconsistent(name string, err error) InconsistentObject {
	return inconsistent(name, "source", "source "+name, err.Error(), name)
}

// Pool returns the pool of a source's configured database.
func (c *Cache) pool(ctx context.Context, src *metadata.Source) (*pgxpool.Pool, error) {
	if src.Kind != "postgres" && src.Kind != "" {
		return nil, fmt.Errorf("source kind %q is not supported", src.Kind)
	}
	url, err := exec.ResolveDatabaseURL(src.Configuration, c.lookupEnv)
	if err != nil {
		return nil, err
	}
	return c.sources.Pool(ctx, url)
}

// SourcePool resolves the pool of a source configuration, for operations
// that need a database before the source is in a snapshot (pg_add_source).
func (c *Cache) SourcePool(ctx context.Context, src *metadata.Source) (*pgxpool.Pool, error) {
	return c.pool(ctx, src)
}

// LoadCatalog introspects a source's user schemas.
func LoadCatalog(ctx context.Context, db catalog.Querier) (*catalog.Catalog, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return catalog.Load(ctx, db, catalog.Options{})
}

// Follow rebuilds whenever another replica changes the metadata, until ctx
// ends. Changes made through this engine rebuild at once; this is for the
// others (LISTEN/NOTIFY, with a poll as a fallback).
func (c *Cache) Follow(ctx context.Context, poll time.Duration) {
	since := int64(0)
	if cur := c.Current(); cur != nil {
		since = cur.ResourceVersion
	}
	err := c.store.WatchFrom(ctx, since, poll, func(version int64) {
		if cur := c.Current(); cur != nil && cur.ResourceVersion >= version {
			return
		}
		if _, err := c.Rebuild(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("metadata reload failed", "type", "schema-sync", "error", err.Error())
			return
		}
		c.log.Info("metadata reloaded", "type", "schema-sync", "resource_version", version)
	})
	if err != nil && ctx.Err() == nil {
		c.log.Error("metadata watch stopped", "type", "schema-sync", "error", err.Error())
	}
}
