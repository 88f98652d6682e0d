// Package api serves Hasura's admin APIs over the engine's metadata:
// /v1/metadata, /v2/query and the deprecated /v1/query. Each request runs
// one operation (or a bulk of them) against a working copy of the metadata
// and the catalogs; if it changed the metadata, the copy is checked for new
// inconsistencies and stored with a compare-and-swap on resource_version,
// then the schema cache is rebuilt.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/metadata/store"
	"github.com/strata-dev/strata/engine/runsql"
	"github.com/strata-dev/strata/engine/schema"
	"github.com/strata-dev/strata/engine/schemacache"
)

// Service runs metadata operations.
type Service struct {
	store *store.Store
	cache *schemacache.Cache
	log   *slog.Logger
	// mu serializes writers in this process; other replicas are kept out
	// by the store's compare-and-swap.
	mu sync.Mutex
	// ShowInternal says whether error details (Postgres errors,
	// inconsistencies) go to the admin, as HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS.
	ShowInternal bool
}

// New builds a Service, and installs on cache the checks its schema cache
// builds run that need the GraphQL schema package: inherited roles
// (inherited_roles_cache.go) and saved queries (saved_queries.go).
func New(st *store.Store, cache *schemacache.Cache, log *slog.Logger) *Service {
	cache.SetValidator(context.Background(), validateSnapshot)
	return &Service{store: st, cache: cache, log: log, ShowInternal: true}
}

// endpoint says which API a request came in on; they share operations
// under different names.
type endpoint int

const (
	metadataAPI endpoint = iota // /v1/metadata
	queryV1                     // /v1/query
	queryV2                     // /v2/query
)

// request is the envelope every admin API request has.
type request struct {
	Type            string          `json:"type"`
	Args            json.RawMessage `json:"args"`
	Version         *int            `json:"version"`
	ResourceVersion *int64          `json:"resource_version"`
	Source          string          `json:"source"`
}

// Handler serves one of the APIs; the session comes from resolve.
func (s *Service) Handler(ep endpoint, resolve func(*http.Request) (*auth.Session, *apierr.Error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, aerr := resolve(r)
		if aerr != nil {
			apierr.WriteREST(w, aerr, false)
			return
		}
		body, err := readBody(r)
		if err != nil {
			apierr.WriteREST(w, err, false)
			return
		}
		req, perr := parseRequest(body, "$")
		if perr != nil {
			apierr.WriteREST(w, perr, false)
			return
		}
		if !sess.IsAdmin() && (ep == metadataAPI || !roleDataOps[req.Type]) {
			apierr.WriteREST(w, apierr.BadRequest(apierr.CodeAccessDenied, "restricted access : admin only").WithPath("$.args"), false)
			return
		}
		out, err2 := s.Run(withSession(r.Context(), sess), ep, req)
		if err2 != nil {
			e := apierr.As(err2)
			if e.Code == apierr.CodeUnexpected && e.Status == http.StatusInternalServerError {
				s.log.Error("metadata operation failed", "type", req.Type, "error", err2.Error())
			}
			apierr.WriteREST(w, e, s.ShowInternal)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(out)
	}
}

// MetadataHandler serves /v1/metadata.
func (s *Service) MetadataHandler(resolve func(*http.Request) (*auth.Session, *apierr.Error)) http.HandlerFunc {
	return s.Handler(metadataAPI, resolve)
}

// QueryV1Handler serves /v1/query.
func (s *Service) QueryV1Handler(resolve func(*http.Request) (*auth.Session, *apierr.Error)) http.HandlerFunc {
	return s.Handler(queryV1, resolve)
}

// QueryV2Handler serves /v2/query.
func (s *Service) QueryV2Handler(resolve func(*http.Request) (*auth.Session, *apierr.Error)) http.HandlerFunc {
	return s.Handler(queryV2, resolve)
}

// Run executes one request and returns the response body. Writers are
// serialized; reads run beside them, so an export does not wait behind a
// slow run_sql.
func (s *Service) Run(ctx context.Context, ep endpoint, req *request) ([]byte, error) {
	if !readOnly(req) {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	const attempts = 5
	for attempt := 1; ; attempt++ {
		tx, err := s.begin(ctx)
		if err != nil {
			return nil, err
		}
		tx.newlyFound = checksNewlyFound(req)
		result, err := tx.exec(ctx, ep, req, "$")
		if err == nil {
			err = tx.commit(ctx, req.ResourceVersion)
		}
		tx.rollbackSQL() // a no-op after a successful commit
		var conflict *store.ConflictError
		if errors.As(err, &conflict) && req.ResourceVersion == nil && !tx.sideEffects && attempt < attempts {
			// Another replica wrote first; our view was stale. Catch up
			// and run the operation again on the new metadata.
			if _, rerr := s.cache.Rebuild(ctx); rerr != nil {
				return nil, rerr
			}
			continue
		}
		if errors.As(err, &conflict) {
			return nil, apierr.New(http.StatusConflict, apierr.CodeConflict, "%s", conflict.Error())
		}
		if err != nil {
			return nil, err
		}
		return aeson.Marshal(resolveResults(result, s.cache.Current()))
	}
}

// readOnly reports whether a request can only read: it then needs no
// writer lock (it never stores metadata).
func readOnly(req *request) bool {
	switch req.Type {
	case "export_metadata", "get_inconsistent_metadata", "get_catalog_state", "dump_internal_state", "select", "count", "test_webhook_transform":
		return true
	case "run_sql":
		var a struct {
			ReadOnly bool `json:"read_only"`
		}
		return json.Unmarshal(req.Args, &a) == nil && a.ReadOnly
	case "bulk", "bulk_keep_going", "concurrent_bulk":
		var items []json.RawMessage
		if json.Unmarshal(req.Args, &items) != nil {
			return false
		}
		for _, it := range items {
			sub, err := parseRequest(it, "$")
			if err != nil || !readOnly(sub) {
				return false
			}
		}
		return true
	}
	return false
}

// txn is one request's working state.
type txn struct {
	svc      *Service
	base     *schemacache.Snapshot
	md       *metadata.Metadata
	catalogs map[string]*catalog.Catalog
	changed  bool
	// sideEffects: the request ran SQL, so it must not be replayed.
	sideEffects bool
	// target names the object an operation creates, so a new
	// inconsistency in it is reported as that operation's error.
	target string
	// allowInconsistent: replace_metadata's allow_inconsistent_metadata.
	allowInconsistent bool
	// refuseInconsistent: replace_metadata without it, which refuses any
	// inconsistency, old or new (Hasura's throwOnInconsistencies).
	refuseInconsistent bool
	// newlyFound: the request runs an operation whose new inconsistencies
	// Hasura refuses with a 500 rather than a 400 (newly_found.go).
	newlyFound bool
	// sql holds the open run_sql transaction of each source: all the
	// request's SQL commits together, after the metadata checks, or not
	// at all.
	sql map[string]*runsql.Tx
}

// sqlTx returns the request's transaction on a source, opening it.
func (t *txn) sqlTx(ctx context.Context, source string, pool *pgxpool.Pool, readOnly bool) (*runsql.Tx, error) {
	if tx, ok := t.sql[source]; ok {
		if tx.ReadOnly() != readOnly {
			return nil, apierr.BadRequest(apierr.CodeBadRequest, "incompatible access mode requirements in bulk query, expected access mode: %s but this query forces %s", accessMode(tx.ReadOnly()), accessMode(readOnly)).WithPath("$.args")
		}
		return tx, nil
	}
	tx, aerr := runsql.Begin(ctx, pool, readOnly)
	if aerr != nil {
		return nil, aerr
	}
	if t.sql == nil {
		t.sql = map[string]*runsql.Tx{}
	}
	t.sql[source] = tx
	return tx, nil
}

func accessMode(readOnly bool) string {
	if readOnly {
		return "ReadOnly"
	}
	return "ReadWrite"
}

// commitSQL commits every open run_sql transaction.
func (t *txn) commitSQL() error {
	for name, tx := range t.sql {
		if tx.Conn().PgConn().TxStatus() == 'E' {
			// COMMIT would answer ROLLBACK, and the request success.
			return failedSQL(name)
		}
		delete(t.sql, name)
		if aerr := tx.Commit(); aerr != nil {
			return aerr
		}
	}
	return nil
}

// rollbackSQL undoes every open run_sql transaction.
func (t *txn) rollbackSQL() {
	for name, tx := range t.sql {
		delete(t.sql, name)
		tx.Rollback()
	}
}

func (s *Service) begin(ctx context.Context) (*txn, error) {
	// Start from the stored version, not just the cached one: another
	// replica's change may be committed but not yet announced, and an
	// operation run on a stale copy would fail its compare-and-swap after
	// its SQL had run.
	stored, err := s.store.Version(ctx)
	if err != nil {
		return nil, err
	}
	base := s.cache.Current()
	if base == nil || base.ResourceVersion < stored {
		if base, err = s.cache.Rebuild(ctx); err != nil {
			return nil, err
		}
	}
	// A private copy: operations edit it freely.
	doc, err := json.Marshal(base.Metadata)
	if err != nil {
		return nil, err
	}
	md, err := metadata.Parse(doc)
	if err != nil {
		return nil, err
	}
	// Catalogs are read fresh, once per request, when an operation needs
	// one: a table created outside the engine can be tracked at once.
	return &txn{svc: s, base: base, md: md, catalogs: map[string]*catalog.Catalog{}}, nil
}

// catalog returns a source's catalog as the database is now, read once
// per request.
func (t *txn) catalog(ctx context.Context, name string) (*catalog.Catalog, error) {
	if c, ok := t.catalogs[name]; ok {
		return c, nil
	}
	var c *catalog.Catalog
	var err error
	if tx, ok := t.sql[name]; ok {
		// Inside the request's transaction: see its own DDL.
		c, err = catalog.Load(ctx, tx.Conn(), catalog.Options{})
	} else {
		src := t.base.Sources[name]
		if src == nil || src.Pool == nil {
			return nil, nil // not connected: the consistency check reports it
		}
		c, err = schemacache.LoadCatalog(ctx, src.Pool)
	}
	if err != nil {
		return nil, err
	}
	t.catalogs[name] = c
	return c, nil
}

// commit checks and stores the working metadata if it changed.
func (t *txn) commit(ctx context.Context, expected *int64) error {
	if !t.changed {
		if expected != nil && *expected != t.base.ResourceVersion {
			return &store.ConflictError{Expected: *expected, Current: t.base.ResourceVersion}
		}
		return t.commitSQL()
	}
	// Hasura's schema cache build fails outright on cyclic inherited
	// roles, whatever the operation.
	if err := schema.CheckInheritedRoles(t.md); err != nil {
		return err.WithPath("$.args")
	}
	// A source whose SQL is still uncommitted is checked against the
	// catalog its transaction sees: read from outside, the tables the
	// request created would be missing.
	for name := range t.sql {
		if _, err := t.catalog(ctx, name); err != nil {
			return err
		}
	}
	after := t.svc.cache.Build(ctx, t.md, t.buildReads())
	switch {
	case t.allowInconsistent:
		// Stored whatever it finds.
	case t.refuseInconsistent:
		if len(after.Inconsistent) > 0 {
			e := apierr.BadRequest(apierr.CodeUnexpected, "cannot continue due to inconsistent metadata").WithPath("$.args")
			e.Internal = after.Inconsistent
			return e
		}
	default:
		if err := newInconsistencies(t.base.Inconsistent, after.Inconsistent, t.target, t.newlyFound); err != nil {
			return err
		}
	}
	// The SQL commits once the metadata is known to fit it. Should the
	// compare-and-swap below then lose to another replica, the SQL stays
	// committed and the client gets the 409.
	if err := t.commitSQL(); err != nil {
		return err
	}
	want := t.base.ResourceVersion
	if expected != nil {
		if *expected <= 0 {
			// The store reads 0 as "unconditional"; versions start at 1,
			// so a client's explicit 0 can only be stale.
			return &store.ConflictError{Expected: *expected, Current: t.base.ResourceVersion}
		}
		want = *expected
	}
	doc, err := json.Marshal(t.md)
	if err != nil {
		return err
	}
	stored, err := t.svc.store.Replace(ctx, want, doc)
	if err != nil {
		return err
	}
	after.ResourceVersion = stored.ResourceVersion
	t.svc.cache.Install(after)
	return nil
}

// newInconsistencies fails when the change made objects inconsistent that
// were not before, or left its own object inconsistent (informational
// inconsistencies name no object, so they never count), in Hasura's shapes: the operation's own object
// (invalid-configuration, its reasons), or others (unexpected): a 400 from
// buildSchemaCacheFor, a 500 from withNewInconsistentObjsCheck when
// newlyFound.
func newInconsistencies(before, after []schemacache.InconsistentObject, target string, newlyFound bool) error {
	old := map[string]bool{}
	for _, o := range before {
		old[o.Name] = true
	}
	var fresh, own []schemacache.InconsistentObject
	for _, o := range after {
		if o.Informational() {
			continue
		}
		// The operation's own object is refused inconsistent even if it
		// already was (Hasura's buildSchemaCacheFor).
		if target != "" && o.Name == target {
			own = append(own, o)
		}
		if !old[o.Name] {
			fresh = append(fresh, o)
		}
	}
	if len(own) > 0 {
		reasons := ""
		for i, o := range own {
			if i > 0 {
				reasons += ", "
			}
			reasons += o.Reason
		}
		e := apierr.BadRequest(apierr.CodeInvalidConfig, "%s", reasons).WithPath("$.args")
		e.Internal = own
		return e
	}
	if len(fresh) > 0 && newlyFound {
		e := apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "cannot continue due to newly found inconsistent metadata").WithPath("$.args")
		e.Internal = fresh
		return e
	}
	if len(fresh) > 0 {
		e := apierr.BadRequest(apierr.CodeUnexpected, "cannot continue due to new inconsistent metadata").WithPath("$.args")
		e.Internal = fresh
		return e
	}
	return nil
}
