// Package store is the durable home of the engine's metadata document: one
// row in hdb_catalog.hdb_metadata of the metadata database, with Hasura v2's
// resource_version semantics (optimistic concurrency for the metadata API)
// and change notification across engine replicas (see Watch).
//
// The tables have exactly the shape Hasura v2 gives them, so a metadata
// database that Hasura has used is adopted as it is, and vice versa:
//
//	hdb_catalog.hdb_metadata (id integer PRIMARY KEY, metadata json NOT NULL,
//	                          resource_version integer NOT NULL DEFAULT 1 UNIQUE)
//	hdb_catalog.hdb_version  (hasura_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
//	                          version text NOT NULL, upgraded_on timestamptz NOT NULL,
//	                          cli_state jsonb NOT NULL DEFAULT '{}',
//	                          console_state jsonb NOT NULL DEFAULT '{}')
//
// Every write of the document increments resource_version by exactly one and
// sends NOTIFY on channel [NotifyChannel] in the same transaction.
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// NotifyChannel is the LISTEN/NOTIFY channel a write of the metadata
	// announces itself on; the payload is the new resource_version.
	NotifyChannel = "strata_metadata"

	// CatalogVersion is what Strata writes to hdb_catalog.hdb_version.version
	// when it creates that row. It is deliberately not one of Hasura's catalog
	// version numbers: we do not claim to have Hasura's full catalog, so a
	// Hasura pointed at the same database must not assume it has.
	CatalogVersion = "strata-1"

	// metadataID is the id of the one row of hdb_catalog.hdb_metadata, as in
	// Hasura.
	metadataID = 1
)

// ErrNotInitialized is returned when the metadata row does not exist yet
// (call Initialize).
var ErrNotInitialized = errors.New("metadata store: metadata not initialized")

// ErrUnknownCatalogKind is returned by SetCatalogState for a kind other than
// "cli" or "console".
var ErrUnknownCatalogKind = errors.New(`metadata store: unknown catalog state kind (want "cli" or "console")`)

// ConflictError reports that a write referenced a resource_version other
// than the current one. Its message is Hasura's, word for word; the API layer
// answers it with HTTP 409 {"path":"$","error":<message>,"code":"conflict"}.
// Match it with errors.As.
type ConflictError struct {
	Expected int64 // the version the caller referenced
	Current  int64 // the version stored when the write was attempted
}

func (e *ConflictError) Error() string {
	return "metadata resource version referenced (" + strconv.FormatInt(e.Expected, 10) + ") did not match current version"
}

// Snapshot is the stored document and its resource_version.
type Snapshot struct {
	// Metadata is the document exactly as stored: same bytes, same key
	// order, same whitespace.
	Metadata        json.RawMessage
	ResourceVersion int64
}

// CatalogState is the row behind Hasura's get_catalog_state.
type CatalogState struct {
	ID      string          // hdb_version.hasura_uuid; get_catalog_state answers it as "id"
	CLI     json.RawMessage // cli_state, compacted
	Console json.RawMessage // console_state, compacted
}

// Store reads and writes the metadata row. It is safe for concurrent use,
// also by several processes ("replicas") on one database.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// Open brings the catalog schema up to date (see migrate) and returns a Store
// on pool. A nil log discards log output. The pool stays the caller's: Store
// never closes it.
func Open(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) (*Store, error) {
	if pool == nil {
		return nil, errors.New("metadata store: nil pool")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{pool: pool, log: log.With("component", "metadata-store")}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Initialize stores initial as the metadata with resource_version 1 unless a
// metadata row exists already, and returns what is stored afterwards: initial
// when this call created the row, the existing document otherwise (so
// replicas starting together on an empty database all end up with the first
// writer's document). Creating the row notifies watchers like any change.
func (s *Store) Initialize(ctx context.Context, initial json.RawMessage) (Snapshot, error) {
	if err := checkDoc(initial); err != nil {
		return Snapshot{}, err
	}
	var snap Snapshot
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// ON CONFLICT DO NOTHING makes a concurrent Initialize wait for the
		// first one's commit and then do nothing, rather than fail.
		tag, err := tx.Exec(ctx, `INSERT INTO hdb_catalog.hdb_metadata (id, metadata, resource_version)
			VALUES ($1, $2::text::json, 1) ON CONFLICT (id) DO NOTHING`, metadataID, string(initial))
		if err != nil {
			return fmt.Errorf("metadata store: initialize: %w", err)
		}
		if tag.RowsAffected() == 1 {
			if err := notify(ctx, tx, 1); err != nil {
				return err
			}
			snap = Snapshot{Metadata: initial, ResourceVersion: 1}
			return nil
		}
		snap, err = load(ctx, tx, "")
		return err
	})
	return snap, err
}

// Version returns the current resource_version without the document: a
// cheap freshness check for writers holding a cached copy.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, "SELECT resource_version FROM hdb_catalog.hdb_metadata WHERE id = 1").Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotInitialized
	}
	return v, err
}

// Load returns the stored document, or ErrNotInitialized.
func (s *Store) Load(ctx context.Context) (Snapshot, error) {
	return load(ctx, s.pool, "")
}

// Update changes the document in one transaction that holds the metadata
// row's lock (SELECT ... FOR UPDATE) from the read to the commit, so writes
// from any number of replicas are serialised and none is lost.
//
// If expected is not 0 and differs from the current resource_version, Update
// returns a *ConflictError without calling fn. 0 means "whatever is current"
// (a metadata API request without resource_version).
//
// fn gets the current snapshot and returns the new document. If fn returns an
// error, nothing changes and that error is returned as it is. fn runs while
// the row lock and a pool connection are held: it should be quick and must
// not call the Store itself.
//
// Otherwise the new document is stored, resource_version is incremented by
// exactly one and NOTIFY is sent in the same transaction: Postgres delivers a
// notification only when its transaction commits, so watchers never hear of a
// change that was rolled back, and never miss one that committed while they
// were listening. The returned snapshot holds the stored document and new
// version.
func (s *Store) Update(ctx context.Context, expected int64, fn func(cur Snapshot) (json.RawMessage, error)) (Snapshot, error) {
	return s.update(ctx, expected, true, fn)
}

// Replace is Update with a constant document; it does not read the current
// document.
func (s *Store) Replace(ctx context.Context, expected int64, doc json.RawMessage) (Snapshot, error) {
	if err := checkDoc(doc); err != nil {
		return Snapshot{}, err
	}
	return s.update(ctx, expected, false, func(Snapshot) (json.RawMessage, error) { return doc, nil })
}

// Bump increments resource_version without changing the document and
// notifies watchers, as Hasura does on reload_metadata.
func (s *Store) Bump(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var doc []byte
		err := tx.QueryRow(ctx, `UPDATE hdb_catalog.hdb_metadata SET resource_version = resource_version + 1
			WHERE id = $1 RETURNING metadata::text, resource_version`, metadataID).Scan(&doc, &snap.ResourceVersion)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotInitialized
		}
		if err != nil {
			return fmt.Errorf("metadata store: bump: %w", err)
		}
		snap.Metadata = doc
		return notify(ctx, tx, snap.ResourceVersion)
	})
	return snap, err
}

// CatalogState returns the hdb_version row: the catalog's uuid and the
// states the CLI and the console keep there (Hasura's get_catalog_state).
func (s *Store) CatalogState(ctx context.Context) (CatalogState, error) {
	var st CatalogState
	var cli, console []byte
	err := s.pool.QueryRow(ctx, `SELECT hasura_uuid::text, cli_state::text, console_state::text
		FROM hdb_catalog.hdb_version LIMIT 1`).Scan(&st.ID, &cli, &console)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, errors.New("metadata store: hdb_catalog.hdb_version has no row")
	}
	if err != nil {
		return st, fmt.Errorf("metadata store: catalog state: %w", err)
	}
	st.CLI, st.Console = compact(cli), compact(console)
	return st, nil
}

// SetCatalogState replaces the cli or console state (Hasura's
// set_catalog_state); kind is "cli" or "console", anything else is
// ErrUnknownCatalogKind. The state is kept as jsonb, as Hasura keeps it, so
// key order and whitespace are not preserved.
func (s *Store) SetCatalogState(ctx context.Context, kind string, state json.RawMessage) error {
	var column string
	switch kind {
	case "cli":
		column = "cli_state"
	case "console":
		column = "console_state"
	default:
		return fmt.Errorf("%w: %q", ErrUnknownCatalogKind, kind)
	}
	if err := checkDoc(state); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE hdb_catalog.hdb_version SET `+column+` = $1::text::jsonb`, string(state))
	if err != nil {
		return fmt.Errorf("metadata store: set catalog state: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errors.New("metadata store: hdb_catalog.hdb_version has no row")
	}
	return nil
}

// update is Update; withDoc says whether fn needs the current document (Replace
// does not, and the document can be large).
func (s *Store) update(ctx context.Context, expected int64, withDoc bool, fn func(Snapshot) (json.RawMessage, error)) (Snapshot, error) {
	var snap Snapshot
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var cur Snapshot
		var err error
		if withDoc {
			cur, err = load(ctx, tx, " FOR UPDATE")
		} else {
			// Same lock, without shipping the document over the wire.
			err = tx.QueryRow(ctx, `SELECT resource_version FROM hdb_catalog.hdb_metadata WHERE id = $1 FOR UPDATE`,
				metadataID).Scan(&cur.ResourceVersion)
			if errors.Is(err, pgx.ErrNoRows) {
				err = ErrNotInitialized
			} else if err != nil {
				err = fmt.Errorf("metadata store: load: %w", err)
			}
		}
		if err != nil {
			return err
		}
		if expected != 0 && expected != cur.ResourceVersion {
			return &ConflictError{Expected: expected, Current: cur.ResourceVersion}
		}
		doc, err := fn(cur)
		if err != nil {
			return userError{err}
		}
		if err := checkDoc(doc); err != nil {
			return err
		}
		var next int64
		err = tx.QueryRow(ctx, `UPDATE hdb_catalog.hdb_metadata SET metadata = $2::text::json,
			resource_version = resource_version + 1 WHERE id = $1 RETURNING resource_version`,
			metadataID, string(doc)).Scan(&next)
		if err != nil {
			return fmt.Errorf("metadata store: update: %w", err)
		}
		if err := notify(ctx, tx, next); err != nil {
			return err
		}
		snap = Snapshot{Metadata: doc, ResourceVersion: next}
		return nil
	})
	var ue userError
	if errors.As(err, &ue) {
		return Snapshot{}, ue.err
	}
	return snap, err
}

// userError carries fn's error through inTx so that it comes back unwrapped.
type userError struct{ err error }

func (e userError) Error() string { return e.err.Error() }

// inTx runs fn in a READ COMMITTED transaction and commits if fn succeeds.
// The isolation level is explicit because the row-lock protocol relies on it:
// under READ COMMITTED a SELECT ... FOR UPDATE that waited for another writer
// sees that writer's committed row (and so reports a conflict), whereas a
// database defaulting to REPEATABLE READ or SERIALIZABLE would fail with a
// serialisation error instead.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("metadata store: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("metadata store: commit: %w", err)
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// load reads the row; suffix is "" or " FOR UPDATE". The document is read as
// text so that it comes back byte for byte as it was written.
func load(ctx context.Context, q querier, suffix string) (Snapshot, error) {
	var snap Snapshot
	var doc []byte
	err := q.QueryRow(ctx, `SELECT metadata::text, resource_version FROM hdb_catalog.hdb_metadata WHERE id = $1`+suffix,
		metadataID).Scan(&doc, &snap.ResourceVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return Snapshot{}, ErrNotInitialized
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("metadata store: load: %w", err)
	}
	snap.Metadata = doc
	return snap, nil
}

func notify(ctx context.Context, tx pgx.Tx, version int64) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, strconv.FormatInt(version, 10)); err != nil {
		return fmt.Errorf("metadata store: notify: %w", err)
	}
	return nil
}

// checkDoc rejects what the json column would reject, with a clearer error
// and before a round trip.
func checkDoc(doc json.RawMessage) error {
	if len(bytes.TrimSpace(doc)) == 0 {
		return errors.New("metadata store: empty JSON document")
	}
	if !json.Valid(doc) {
		return errors.New("metadata store: invalid JSON document")
	}
	return nil
}

func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
