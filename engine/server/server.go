// Package server is the engine's HTTP front: the route table, and the
// middleware every request passes (request id, request log and metrics,
// panic recovery, CORS). Endpoint logic lives in the packages the routes
// call.
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
	"github.com/strata-dev/strata/engine/console"
	"github.com/strata-dev/strata/engine/graphql"
	metadataapi "github.com/strata-dev/strata/engine/metadata/api"
	"github.com/strata-dev/strata/engine/server/reqlog"
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
	// PGDump serves /v1alpha1/pg_dump (nil: not built; the path is then
	// unknown, as any other). It sees only admins' POSTs.
	PGDump http.Handler
	// REST serves the RESTified endpoints under /api/rest/, Swagger their
	// OpenAPI document at /api/swagger/json (nil: off).
	REST, Swagger http.Handler
	// Explain serves /v1/graphql/explain (nil: off). It sees only
	// admins' POSTs.
	Explain http.Handler
	// Inconsistent counts the metadata objects that do not fit the
	// database (nil: none are tracked yet).
	Inconsistent func() int
}

// Server routes requests to the engine's APIs.
type Server struct {
	deps    Deps
	mux     *http.ServeMux
	cors    config.CORSPolicy
	metrics *metrics // nil unless the metrics API group is on
	// configBody is the /v1alpha1/config answer; settings do not change
	// while the engine runs.
	configBody []byte
}

// New builds the route table.
func New(deps Deps) *Server {
	s := &Server{deps: deps, mux: http.NewServeMux()}
	cors, err := deps.Config.CORS()
	if err != nil {
		// Start-up validation makes this a Config built in code: refuse
		// every origin rather than guess.
		deps.Log.Error("CORS settings are invalid; no origin is allowed", "type", "startup", "error", err.Error())
		cors = config.CORSPolicy{}
	}
	s.cors = cors
	if deps.Config.EnabledAPI(config.APIMetrics) {
		s.metrics = newMetrics()
		if deps.Config.MetricsSecret == "" {
			deps.Log.Warn("the metrics API is on without HASURA_GRAPHQL_METRICS_SECRET: anyone who can reach /v1/metrics can read it",
				"type", "startup")
		}
	}
	s.configBody = serverConfigBody(deps.Config)

	for _, rt := range s.routes() {
		if rt.h == nil {
			continue
		}
		h := rt.h
		if rt.api != "" && !deps.Config.EnabledAPI(rt.api) {
			h = http.HandlerFunc(notFound)
		}
		label := rt.label
		if label == "" {
			label = rt.api
		}
		s.mux.Handle(rt.pattern, labelled(label, h))
	}
	s.mux.Handle("/", labelled("unknown", http.HandlerFunc(notFound)))
	return s
}

// route is one row of the route table.
type route struct {
	pattern string // http.ServeMux pattern
	// api is the HASURA_GRAPHQL_ENABLED_APIS group that switches the route
	// on; a route whose group is off answers Hasura's 404. "" = always on.
	api string
	// label names the route in metrics; "" = api.
	label string
	h     http.Handler // nil: not part of this engine
}

// routes is every path the engine serves, with its API group: the one
// place that says which group a path belongs to.
func (s *Server) routes() []route {
	d := s.deps
	var gql, gqlLegacy, relay, metadata, queryV1, queryV2, pgmeta http.Handler
	if d.GraphQL != nil {
		gql = d.GraphQL.Handler(s.resolve, false, false)
		gqlLegacy = d.GraphQL.Handler(s.resolve, true, false)
		relay = d.GraphQL.Handler(s.resolve, false, true)
	}
	if d.MetadataAPI != nil {
		resolve := func(r *http.Request) (*auth.Session, *apierr.Error) { return s.resolve(r.Context(), r.Header) }
		metadata = methods{http.MethodPost: d.MetadataAPI.MetadataHandler(resolve)}
		queryV1 = methods{http.MethodPost: d.MetadataAPI.QueryV1Handler(resolve)}
		queryV2 = methods{http.MethodPost: d.MetadataAPI.QueryV2Handler(resolve)}
	}
	if d.PGMeta != nil {
		pgmeta = s.adminOnly(d.PGMeta, msgRestricted)
	}
	var consoleH http.Handler // off unless HASURA_GRAPHQL_ENABLE_CONSOLE
	if d.Config.EnableConsole {
		consoleH = console.New()
	}
	var metricsH http.Handler
	if s.metrics != nil {
		metricsH = methods{http.MethodGet: s.metrics.handler(d.Config.MetricsSecret)}
	}
	return []route{
		{pattern: "/healthz", label: "health", h: methods{http.MethodGet: s.healthz, http.MethodHead: s.healthz}},
		{pattern: "/hasura/healthz", label: "health", h: methods{http.MethodGet: s.healthz, http.MethodHead: s.healthz}},
		{pattern: "/v1/version", label: "version", h: methods{http.MethodGet: s.version}},

		{pattern: "/v1/graphql", api: config.APIGraphQL, h: gql},
		{pattern: "/v1alpha1/graphql", api: config.APIGraphQL, h: gqlLegacy},
		{pattern: "/v1beta1/relay", api: config.APIGraphQL, h: relay},

		// Hasura's "metadata" group covers the metadata and query APIs.
		{pattern: "/v1/metadata", api: config.APIMetadata, h: metadata},
		{pattern: "/v1/query", api: config.APIMetadata, h: queryV1},
		{pattern: "/v2/query", api: config.APIMetadata, h: queryV2},

		{pattern: "/v1alpha1/config", api: config.APIConfig, h: methods{http.MethodGet: s.adminOnly(http.HandlerFunc(s.serverConfig), msgAdminOnly).ServeHTTP}},
		{pattern: "/v1alpha1/pg_dump", api: config.APIPGDump, h: s.adminPOST(d.PGDump)},
		// Hasura serves explain with the metadata API, and the REST
		// endpoints whatever the enabled APIs.
		{pattern: "/v1/graphql/explain", api: config.APIMetadata, label: "explain", h: s.adminPOST(d.Explain)},
		{pattern: "/v1alpha1/graphql/explain", api: config.APIMetadata, label: "explain", h: s.adminPOST(d.Explain)},
		{pattern: "/api/rest/", label: "rest", h: d.REST},
		{pattern: "/api/swagger/json", label: "rest", h: d.Swagger},
		{pattern: "/pg/", api: config.APIPGMeta, h: pgmeta},
		// Hasura's developer API; of its /dev/* endpoints only the
		// deprecated plan cache (always null) has a meaning here.
		{pattern: "/dev/plan_cache", api: config.APIDeveloper, h: methods{http.MethodGet: s.adminOnly(http.HandlerFunc(planCache), msgAdminOnly).ServeHTTP}},
		{pattern: "/v1/metrics", api: config.APIMetrics, h: metricsH},
		// As Hasura, the console needs the metadata API too; with it on,
		// / redirects to /console.
		{pattern: "/{$}", api: config.APIMetadata, label: "console", h: consoleH},
		{pattern: console.Page, api: config.APIMetadata, label: "console", h: consoleH},
		{pattern: console.Page + "/", api: config.APIMetadata, label: "console", h: consoleH},
	}
}

// labelled names the route a request reached, for its metrics.
func labelled(label string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := reqlog.FromContext(r.Context()); e != nil {
			e.SetGroup(label)
		}
		h.ServeHTTP(w, r)
	})
}

// Handler is the server with its middleware.
func (s *Server) Handler() http.Handler {
	return s.observe(recoverPanics(s.deps.Log, s.corsMiddleware(s.mux)))
}

// Annotate records the role and GraphQL operation name of the request ctx
// belongs to, for its log line. Packages that engine/server imports (the
// GraphQL and metadata handlers) call reqlog.Annotate, the same function,
// to stay clear of an import cycle.
func Annotate(ctx context.Context, role, operationName string) {
	reqlog.Annotate(ctx, role, operationName)
}

// resolve authenticates a request: see Resolve.
func (s *Server) resolve(ctx context.Context, h http.Header) (*auth.Session, *apierr.Error) {
	return authenticate(s.deps.Auth, ctx, h)
}

// Resolve is how every handler authenticates, those built outside the
// server (REST) included: the session is noted for the request's log
// line, and the auth webhook's Set-Cookie headers go out with the answer,
// as Hasura passes them on.
func Resolve(a *auth.Resolver) func(context.Context, http.Header) (*auth.Session, *apierr.Error) {
	return func(ctx context.Context, h http.Header) (*auth.Session, *apierr.Error) {
		return authenticate(a, ctx, h)
	}
}

func authenticate(a *auth.Resolver, ctx context.Context, h http.Header) (*auth.Session, *apierr.Error) {
	sess, err := a.Resolve(ctx, h)
	if err != nil {
		return nil, err
	}
	reqlog.SetSession(ctx, sess.Role, sess.Vars)
	if len(sess.SetCookie) > 0 {
		if out, ok := ctx.Value(responseHeaderKey{}).(http.Header); ok {
			for _, c := range sess.SetCookie {
				out.Add("Set-Cookie", c)
			}
		}
	}
	return sess, nil
}

// responseHeaderKey holds, in a request's context, the header of its
// response (set by observe), for authenticate to add the hook's cookies
// to before the handler writes.
type responseHeaderKey struct{}

// methods maps HTTP methods to handlers for one path. Like Hasura, a path
// asked with a method it does not serve is "resource does not exist".
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	notFound(w, r)
}

// Hasura's refusals of non-admin roles: the metadata API's, and the one of
// onlyAdmin (Server/App.hs) that guards the config and developer APIs.
const (
	msgRestricted = "restricted access : admin only"
	msgAdminOnly  = "You have to be an admin to access this endpoint"
)

// adminOnly lets only admin sessions through; others get Hasura's 400
// access-denied with msg.
func (s *Server) adminOnly(h http.Handler, msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.resolve(r.Context(), r.Header)
		if err == nil && !sess.IsAdmin() {
			err = apierr.New(http.StatusBadRequest, apierr.CodeAccessDenied, "%s", msg)
		}
		if err != nil {
			apierr.WriteREST(w, err, false)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// adminPOST is h for admins' POSTs only, as Hasura guards pg_dump and
// explain; nil when h is (the route is off).
func (s *Server) adminPOST(h http.Handler) http.Handler {
	if h == nil {
		return nil
	}
	return methods{http.MethodPost: s.adminOnly(h, msgAdminOnly).ServeHTTP}
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
	writeJSON(w, http.StatusOK, map[string]string{"version": version.Hasura, "server_type": version.ServerType, "strata_version": version.Version})
}

// serverConfig answers GET /v1alpha1/config (admins only, see routes).
func (s *Server) serverConfig(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(s.configBody)
}

// planCache is Hasura's deprecated /dev/plan_cache: always null.
func planCache(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write([]byte("null"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
