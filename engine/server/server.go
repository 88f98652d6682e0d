// Package server is the engine's HTTP front: the route table, and the
// middleware every request passes (request id, panic recovery, one log line
// per request). Endpoint logic lives in the packages the routes call.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/graphql"
	metadataapi "github.com/strata-dev/strata/engine/metadata/api"
	"github.com/strata-dev/strata/engine/version"
)

// Deps are what the handlers need from the running engine.
type Deps struct {
	Config      *config.Config
	Log         *slog.Logger
	Metadata    *pgxpool.Pool // the metadata database
	Auth        *auth.Resolver
	MetadataAPI *metadataapi.Service
	GraphQL     *graphql.Engine
	// PGMeta serves the Postgres admin API under /pg/ (nil: off).
	PGMeta http.Handler
	// Inconsistent counts the metadata objects that do not fit the
	// database (nil: none are tracked yet).
	Inconsistent func() int
}

// Server routes requests to the engine's APIs.
type Server struct {
	deps Deps
	mux  *http.ServeMux
}

// New builds the route table.
func New(deps Deps) *Server {
	s := &Server{deps: deps, mux: http.NewServeMux()}
	s.route("/healthz", methods{http.MethodGet: s.healthz, http.MethodHead: s.healthz})
	s.route("/hasura/healthz", methods{http.MethodGet: s.healthz, http.MethodHead: s.healthz})
	s.route("/v1/version", methods{http.MethodGet: s.version})
	if deps.MetadataAPI != nil {
		resolve := func(r *http.Request) (*auth.Session, *apierr.Error) { return deps.Auth.Resolve(r.Context(), r.Header) }
		// Hasura's "metadata" API group covers all three endpoints.
		s.route("/v1/metadata", s.enabled(config.APIMetadata, methods{http.MethodPost: deps.MetadataAPI.MetadataHandler(resolve)}))
		s.route("/v1/query", s.enabled(config.APIMetadata, methods{http.MethodPost: deps.MetadataAPI.QueryV1Handler(resolve)}))
		s.route("/v2/query", s.enabled(config.APIMetadata, methods{http.MethodPost: deps.MetadataAPI.QueryV2Handler(resolve)}))
	}
	if deps.GraphQL != nil && deps.Config.EnabledAPI(config.APIGraphQL) {
		resolve := func(ctx context.Context, h http.Header) (*auth.Session, *apierr.Error) {
			return deps.Auth.Resolve(ctx, h)
		}
		s.mux.Handle("/v1/graphql", deps.GraphQL.Handler(resolve, false, false))
		s.mux.Handle("/v1alpha1/graphql", deps.GraphQL.Handler(resolve, true, false))
		s.mux.Handle("/v1beta1/relay", deps.GraphQL.Handler(resolve, false, true))
	}
	if deps.PGMeta != nil && deps.Config.EnabledAPI(config.APIPGMeta) {
		s.mux.Handle("/pg/", s.adminOnly(deps.PGMeta))
	}
	s.mux.HandleFunc("/", notFound)
	return s
}

// Handler is the server with its middleware.
func (s *Server) Handler() http.Handler {
	return requestLog(s.deps.Log, recoverPanics(s.deps.Log, s.mux))
}

// methods maps HTTP methods to handlers for one path. Like Hasura, a path
// asked with a method it does not serve is "resource does not exist".
type methods map[string]http.HandlerFunc

func (s *Server) route(path string, m methods) {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if h, ok := m[r.Method]; ok {
			h(w, r)
			return
		}
		notFound(w, r)
	})
}

// enabled turns a route off (404, as Hasura answers for a disabled API)
// unless its API group is in HASURA_GRAPHQL_ENABLED_APIS.
func (s *Server) enabled(api string, m methods) methods {
	if s.deps.Config.EnabledAPI(api) {
		return m
	}
	return methods{}
}

// adminOnly lets only admin sessions through; others get Hasura's
// access-denied, the way the metadata API refuses them.
func (s *Server) adminOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.deps.Auth.Resolve(r.Context(), r.Header)
		if err == nil && !sess.IsAdmin() {
			err = apierr.New(http.StatusBadRequest, apierr.CodeAccessDenied, "restricted access : admin only")
		}
		if err != nil {
			apierr.WriteREST(w, err, false)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	apierr.WriteREST(w, apierr.New(http.StatusNotFound, apierr.CodeNotFound, "resource does not exist"), false)
}

// healthz answers as Hasura does: OK when the metadata database answers;
// "WARN: inconsistent objects in schema" (200) when some metadata does not
// fit the database, a 500 with ?strict=true; 500 ERROR when the metadata
// database is unreachable, so orchestrators restart or route around us.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.deps.Metadata.Ping(ctx); err != nil {
		s.deps.Log.Warn("health check failed", "type", "health-check", "error", err.Error())
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("ERROR"))
		return
	}
	if s.deps.Inconsistent != nil && s.deps.Inconsistent() > 0 {
		if r.URL.Query().Get("strict") == "true" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = w.Write([]byte("WARN: inconsistent objects in schema"))
		return
	}
	_, _ = w.Write([]byte("OK"))
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": version.Version, "server_type": version.ServerType})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
