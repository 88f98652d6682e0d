// Package engine is the Strata GraphQL engine as a library: New connects to
// the databases (starting a throwaway Postgres when none is configured) and
// builds the HTTP handler; Serve runs it until the context ends.
//
// It has no Kubernetes imports: the operator drives engines over HTTP only.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/exec"
	"github.com/strata-dev/strata/engine/explain"
	"github.com/strata-dev/strata/engine/graphql"
	metadataapi "github.com/strata-dev/strata/engine/metadata/api"
	"github.com/strata-dev/strata/engine/metadata/store"
	"github.com/strata-dev/strata/engine/pgdump"
	"github.com/strata-dev/strata/engine/pglocal"
	"github.com/strata-dev/strata/engine/pgmeta"
	"github.com/strata-dev/strata/engine/rest"
	"github.com/strata-dev/strata/engine/schemacache"
	"github.com/strata-dev/strata/engine/server"
	"github.com/strata-dev/strata/engine/version"
)

// Engine is a configured engine, connected and ready to serve.
type Engine struct {
	cfg      *config.Config
	log      *slog.Logger
	local    *pglocal.Server // nil unless we started Postgres ourselves
	metadata *pgxpool.Pool
	sources  *exec.Sources // pools of every source, by database URL
	// pgmeta serves /pg/ on its own small pool of the default database,
	// apart from the pools GraphQL shares.
	pgmeta     *pgmeta.Handler
	pgmetaPool *pgxpool.Pool
	cache      *schemacache.Cache
	handler    http.Handler
	onShutdown func() // closes the GraphQL websockets (hijacked: http.Server.Shutdown does not)
	// stopFollow ends the goroutine that follows other replicas' metadata
	// changes; followed is closed when it has.
	stopFollow context.CancelFunc
	followed   chan struct{}
}

// New connects to the configured databases. With neither a database URL
// nor a metadata database URL it starts a throwaway local Postgres and says
// so in the log; its data is deleted on Close.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Engine, error) {
	e := &Engine{cfg: cfg, log: log}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()

	// Auth first: a bad JWT or webhook setting fails before any database
	// is touched.
	resolver, err := newResolver(cfg, log)
	if err != nil {
		return nil, err
	}

	dbURL, metaURL := cfg.DatabaseURL, cfg.MetadataDatabaseURL
	if dbURL == "" && metaURL == "" {
		srv, err := pglocal.Start(ctx, pglocal.Options{Dir: cfg.LocalPGDir})
		if err != nil {
			return nil, err
		}
		e.local = srv
		dbURL = srv.URL("postgres")
		log.Warn("no database URL given (HASURA_GRAPHQL_DATABASE_URL): started a throwaway local Postgres; its data is deleted when strata stops",
			"type", "startup", "port", srv.Port, "dir", srv.Dir())
	}
	if metaURL == "" {
		metaURL = dbURL
	}

	if e.metadata, err = exec.Open(ctx, metaURL, exec.PoolOptions{MaxConns: 4, ConnectTimeout: cfg.ConnectTimeout, AppName: "strata-metadata"}); err != nil {
		return nil, fmt.Errorf("metadata database: %w", err)
	}
	st, err := store.Open(ctx, e.metadata, log)
	if err != nil {
		return nil, fmt.Errorf("metadata database: %w", err)
	}
	if _, err := st.Initialize(ctx, initialMetadata(dbURL)); err != nil {
		return nil, fmt.Errorf("metadata database: %w", err)
	}

	e.sources = exec.NewSources(exec.PoolOptions{MaxConns: int32(cfg.PGConnections), ConnectTimeout: cfg.ConnectTimeout})
	e.cache = schemacache.New(st, e.sources, lookupEnv(dbURL), log)
	snap, err := e.cache.Rebuild(ctx)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	for _, o := range snap.Inconsistent {
		log.Warn("inconsistent metadata object", "type", "schema-sync", "object", o.Name, "reason", o.Reason)
	}

	// Follow other replicas' metadata changes for as long as the engine
	// lives, whoever serves its handler.
	fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stopFollow, e.followed = stop, make(chan struct{})
	go func() {
		defer close(e.followed)
		e.cache.Follow(fctx, 5*time.Second)
	}()

	if cfg.EnabledAPI(config.APIPGMeta) {
		url := dbURL
		if url == "" {
			url = metaURL
		}
		if e.pgmetaPool, err = exec.Open(ctx, url, exec.PoolOptions{MaxConns: 5, ConnectTimeout: cfg.ConnectTimeout, AppName: "strata-pgmeta"}); err != nil {
			return nil, fmt.Errorf("database of the /pg/ API: %w", err)
		}
		e.pgmeta = pgmeta.New(pgmeta.Options{Pool: e.pgmetaPool, CryptoKey: cfg.PGMetaCryptoKey,
			StatementTimeout: cfg.PGMetaTimeout, Log: log})
	}

	meta := metadataapi.New(st, e.cache, log)
	meta.ShowInternal = cfg.AdminInternalErrors || cfg.DevMode
	gql := graphql.New(e.cache, log)
	gql.ShowInternal = meta.ShowInternal
	gql.StringifyNumbers = cfg.StringifyNumerics
	gql.AllowList = cfg.EnableAllowlist
	gql.LiveQueriesRefetchInterval, gql.LiveQueriesBatchSize = cfg.LiveQueriesRefetchInterval, cfg.LiveQueriesBatchSize
	gql.StreamingQueriesRefetchInterval, gql.StreamingQueriesBatchSize = cfg.StreamingQueriesRefetchInterval, cfg.StreamingQueriesBatchSize
	e.onShutdown = gql.Shutdown
	if cfg.CloseWebsocketsOnMetadataChange {
		// As Hasura: clients reconnect, and their subscriptions start again
		// on the new schema and permissions. Hasura does it for changes made
		// through its own metadata API only; here every replica does it for
		// every change, so that no replica keeps serving a revoked
		// permission.
		e.cache.OnNewVersion(func(*schemacache.Snapshot) {
			gql.CloseWebsockets("Server state changed, restarting the server")
		})
	}
	restAPI := rest.New(e.cache, gql, server.Resolve(resolver), log)
	explainAPI := explain.New(e.cache, gql, log)
	explainAPI.ShowInternal = meta.ShowInternal
	pgDump := pgdump.New(pgdump.Options{Cache: e.cache, LookupEnv: lookupEnv(dbURL),
		Log: log, ShowInternal: meta.ShowInternal})
	e.handler = server.New(server.Deps{Config: cfg, Log: log, Metadata: e.metadata, Auth: resolver, MetadataAPI: meta,
		GraphQL:      gql,
		PGMeta:       e.pgmeta,
		REST:         restAPI,
		Swagger:      restAPI.OpenAPI(),
		Explain:      explainAPI,
		PGDump:       pgDump,
		Inconsistent: func() int { return len(e.cache.Current().Inconsistent) }}).Handler()
	ok = true
	return e, nil
}

// newResolver builds the request authenticator; its errors name the
// setting at fault.
func newResolver(cfg *config.Config, log *slog.Logger) (*auth.Resolver, error) {
	var jwts, names []string
	if cfg.JWTSecret != "" {
		jwts, names = append(jwts, cfg.JWTSecret), append(names, "HASURA_GRAPHQL_JWT_SECRET")
	}
	for i, s := range cfg.JWTSecrets {
		jwts, names = append(jwts, s), append(names, fmt.Sprintf("HASURA_GRAPHQL_JWT_SECRETS[%d]", i))
	}
	r, err := auth.NewResolver(auth.Options{
		AdminSecrets:     cfg.AdminSecrets,
		UnauthorizedRole: cfg.UnauthorizedRole,
		JWT:              jwts,
		Hook:             cfg.AuthHook,
		HookMode:         cfg.AuthHookMode,
		HookOmitRequest:  !cfg.AuthHookSendRequestBody,
		Log:              log,
	})
	var ce *auth.ConfigError
	if errors.As(err, &ce) {
		return nil, fmt.Errorf("invalid %s: %v", names[ce.Index], ce.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return r, nil
}

// Handler serves every engine endpoint.
func (e *Engine) Handler() http.Handler { return e.handler }

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// no new connections, in-flight requests get up to 10s to finish.
func (e *Engine) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           e.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	e.log.Info("serving", "type", "startup", "address", ln.Addr().String(), "version", version.Version)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	e.log.Info("shutting down", "type", "shutdown")
	if e.onShutdown != nil {
		e.onShutdown()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops following metadata changes, releases the pools and stops
// the throwaway Postgres, if any.
func (e *Engine) Close() {
	if e.stopFollow != nil {
		e.stopFollow()
		<-e.followed
	}
	if e.sources != nil {
		e.sources.Close()
	}
	if e.pgmeta != nil {
		e.pgmeta.Close()
		e.pgmetaPool.Close()
	}
	if e.metadata != nil {
		e.metadata.Close()
	}
	if e.local != nil {
		e.local.Stop()
	}
}

// Run listens on the configured address and serves until ctx ends. The
// port is bound before the databases are touched so a taken port fails
// fast.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.ListenAddr())
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", cfg.ListenAddr(), unwrapOpErr(err))
	}
	defer ln.Close()
	e, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer e.Close()
	return e.Serve(ctx, ln)
}

// unwrapOpErr drops net.OpError's "listen tcp :8080:" prefix that the
// caller already says.
func unwrapOpErr(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// initialMetadata is what a fresh metadata database starts with: the
// default source when a database URL is configured, read from the
// environment like Hasura does, so the URL (and its password) is never
// written into the metadata.
func initialMetadata(dbURL string) json.RawMessage {
	if dbURL == "" {
		return json.RawMessage(`{"version":3,"sources":[]}`)
	}
	return json.RawMessage(`{"version":3,"sources":[{"name":"default","kind":"postgres","tables":[],"configuration":{"connection_info":{"database_url":{"from_env":"HASURA_GRAPHQL_DATABASE_URL"},"isolation_level":"read-committed","pool_settings":{"connection_lifetime":600,"idle_timeout":180,"max_connections":50,"retries":1},"use_prepared_statements":true}}}]}`)
}

// lookupEnv resolves from_env references in source configurations. The
// database URL given by flag (or the throwaway server's) stands in for
// HASURA_GRAPHQL_DATABASE_URL, so the default source works however the URL
// was given.
func lookupEnv(dbURL string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if name == "HASURA_GRAPHQL_DATABASE_URL" && dbURL != "" {
			return dbURL, true
		}
		return os.LookupEnv(name)
	}
}
