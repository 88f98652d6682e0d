// Package tenantapi is the operator's tenant API: the GraphQL API of
// Hasura Cloud (data.pro.hasura.io/v1/graphql: createTenant, tenant_by_pk,
// projects_by_pk, deleteTenant, getTenantEnv, updateTenantEnv,
// deleteTenantEnv, createGitHubPreviewApp, jobs_by_pk) served on its own
// port, over the operator's own kinds.
//
// A tenant is a Project in one namespace (--tenant-namespace), labelled
// strata.dev/tenant=<tenant id>, with its own Postgres database (metadata
// database and the source "default"), a Secret holding its env, and, for
// preview apps, a git source and a Metadata applying the repository's
// migrations and metadata. Everything the API does is a write the
// reconcilers then act on; it reads back through the API server, never a
// cache, so an answer reflects every write before it.
//
// The package cannot import controllers (controllers starts it); the few
// names it shares with the reconcilers (condition reasons, the engine
// port) are repeated here.
package tenantapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The operator's permissions for the tenant API (secrets are the
// Project reconciler's already).
// +kubebuilder:rbac:groups=strata.dev,resources=projects;sources;metadata,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;create

//go:embed schema.graphql
var schemaSDL string

// Config configures the tenant API.
type Config struct {
	// BindAddress of the HTTP server; "" or "0" disables the tenant API.
	BindAddress string
	// Namespace holds every tenant's objects; created when missing.
	Namespace string
	// TokenNamespace holds the token Secret (DefaultTokenSecret).
	TokenNamespace string
	// Regions tenants may be created in; empty accepts any cloud/region.
	Regions []Region
	// Databases makes each tenant's database; nil refuses createTenant.
	Databases Databases
	// GitBaseURL prefixes owner/repo for preview apps.
	GitBaseURL string
	// EngineAddress maps a Project's Service to the URL the operator
	// dials (as controllers.Options.EngineAddress); nil: in-cluster DNS.
	EngineAddress func(namespace, service string, port int32) string
	// JobTimeout fails a job whose current task has not finished in
	// that long after the job started.
	JobTimeout time.Duration
	// JobPoll is how often running jobs are looked at.
	JobPoll time.Duration
}

// Enabled reports whether the API is to be served.
func (c Config) Enabled() bool { return c.BindAddress != "" && c.BindAddress != "0" }

func (c *Config) defaults() {
	if c.Namespace == "" {
		c.Namespace = "strata-tenants"
	}
	if c.TokenNamespace == "" {
		c.TokenNamespace = DefaultTokenNamespace
	}
	if c.GitBaseURL == "" {
		c.GitBaseURL = "https://github.com"
	}
	c.GitBaseURL = strings.TrimRight(c.GitBaseURL, "/")
	if c.JobTimeout == 0 {
		c.JobTimeout = 15 * time.Minute
	}
	if c.JobPoll == 0 {
		c.JobPoll = time.Second
	}
}

// Server serves the tenant API.
type Server struct {
	cfg    Config
	c      client.Client // writes
	r      client.Reader // reads, straight from the API server
	scheme *runtime.Scheme
	log    logr.Logger
	exec   *executor
	http   *http.Client
	nsOK   atomic.Bool
}

// Setup adds the tenant API to the manager when cfg enables it: the HTTP
// server (on every replica) and the job runner (on the leader), both
// stopping with the manager.
func Setup(mgr ctrl.Manager, cfg Config) error {
	if !cfg.Enabled() {
		return nil
	}
	s, err := New(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetScheme(), cfg, mgr.GetLogger().WithName("tenant-api"))
	if err != nil {
		return err
	}
	if err := mgr.Add(s); err != nil {
		return err
	}
	return mgr.Add(s.JobRunner())
}

// New builds the server; c writes, r reads (uncached).
func New(c client.Client, r client.Reader, scheme *runtime.Scheme, cfg Config, log logr.Logger) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, c: c, r: r, scheme: scheme, log: log, http: &http.Client{Timeout: 10 * time.Second}}
	exec, err := newExecutor(schemaSDL, map[string]resolver{
		"projects_by_pk": s.projectsByPK,
		"projects":       s.projects,
		"tenant_by_pk":   s.tenantByPK,
		"getTenantEnv":   s.getTenantEnv,
		"jobs_by_pk":     s.jobsByPK,
	}, map[string]resolver{
		"createTenant":           s.createTenant,
		"deleteTenant":           s.deleteTenant,
		"updateTenantEnv":        s.updateTenantEnv,
		"deleteTenantEnv":        s.deleteTenantEnv,
		"createGitHubPreviewApp": s.createGitHubPreviewApp,
	})
	if err != nil {
		return nil, fmt.Errorf("tenant API schema: %w", err)
	}
	exec.unexpected = func(ctx context.Context, err error) {
		s.log.Error(err, "tenant API request failed", "token", callerOf(ctx))
	}
	s.exec = exec
	return s, nil
}

// NeedLeaderElection: every replica serves the API.
func (s *Server) NeedLeaderElection() bool { return false }

// Start serves until ctx ends, then shuts down gracefully.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.BindAddress)
	if err != nil {
		return fmt.Errorf("tenant API: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	s.log.Info("serving the tenant API", "address", ln.Addr().String(), "namespace", s.cfg.Namespace)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type callerKey struct{}

func callerOf(ctx context.Context) string {
	s, _ := ctx.Value(callerKey{}).(string)
	return s
}

const maxBody = 1 << 20

// ServeHTTP answers POST /v1/graphql. Every request must carry a valid
// token; errors have Hasura's GraphQL shape (HTTP 200, as Hasura answers
// on /v1/graphql, except a malformed body or method).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.URL.Path != "/v1/graphql" {
		writeJSON(w, http.StatusNotFound, fail(CodeNotFound, "$", "no such endpoint: the tenant API is POST /v1/graphql"))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, fail(CodeValidation, "$", "only POST is supported"))
		return
	}
	var req Request
	status := http.StatusOK
	caller, resp := s.authenticate(r)
	if resp == nil {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		if err := dec.Decode(&req); err != nil {
			status, resp = http.StatusBadRequest, fail(CodeInvalidJSON, "$", "the request body is not a GraphQL request in JSON: %v", err)
		} else {
			resp = s.exec.Execute(context.WithValue(r.Context(), callerKey{}, caller), req)
		}
	}
	writeJSON(w, status, resp)
	// Never the variables or the token: they may hold secrets.
	kv := []any{"token", caller, "operation", req.OperationName, "duration", time.Since(start).Round(time.Microsecond).String()}
	if len(resp.Errors) > 0 {
		kv = append(kv, "error", resp.Errors[0].Extensions["code"])
	}
	s.log.Info("tenant API request", kv...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// authenticate checks `Authorization: pat <token>` against the token
// Secret, read on every request so a revoked token stops at once.
func (s *Server) authenticate(r *http.Request) (string, *Response) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", fail(CodeInvalidHeaders, "$", "missing Authorization header: send 'Authorization: pat <token>'")
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "pat") || token == "" {
		return "", fail(CodeInvalidHeaders, "$", "the Authorization header must be 'pat <token>'")
	}
	var sec corev1.Secret
	err := s.r.Get(r.Context(), types.NamespacedName{Namespace: s.cfg.TokenNamespace, Name: DefaultTokenSecret}, &sec)
	if err != nil && !apierrors.IsNotFound(err) {
		s.log.Error(err, "reading the token Secret")
		return "", fail(CodeUnexpected, "$", "cannot check the token now; try again")
	}
	name := verifyToken(sec.Data, token)
	if name == "" {
		return "", fail(CodeInvalidToken, "$", "invalid or revoked token")
	}
	return name, nil
}

// ensureNamespace creates the tenants' namespace on first use.
func (s *Server) ensureNamespace(ctx context.Context) error {
	if s.nsOK.Load() {
		return nil
	}
	var ns corev1.Namespace
	err := s.r.Get(ctx, types.NamespacedName{Name: s.cfg.Namespace}, &ns)
	if apierrors.IsNotFound(err) {
		ns = corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.cfg.Namespace,
			Labels: map[string]string{labelManagedBy: managedBy}}}
		err = s.c.Create(ctx, &ns)
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("tenants' namespace %s: %w", s.cfg.Namespace, err)
	}
	s.nsOK.Store(true)
	return nil
}
