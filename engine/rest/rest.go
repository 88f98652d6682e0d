// Package rest serves Hasura's RESTified GraphQL endpoints: /api/rest/*,
// where each endpoint of the metadata's rest_endpoints runs a query of a
// query collection, and /api/swagger/json, the OpenAPI document of them
// all (openapi.go).
//
// A request is matched against the endpoints' URL templates as Hasura's
// router does, its variables come from the path, the query string and a
// JSON body (Server/Rest.hs), and the stored query runs through the
// GraphQL engine with the caller's session, so permissions are the
// caller's role's. The answer is the query's data object itself; errors
// are in the REST shape ({"path","error","code"}) with their real status.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/graphql"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// Prefix is where the endpoints are served.
const Prefix = "/api/rest/"

// maxBody bounds a request body.
const maxBody = 32 << 20

// Handler serves /api/rest/* and /api/swagger/json.
type Handler struct {
	cache   *schemacache.Cache
	gql     *graphql.Engine
	resolve func(context.Context, http.Header) (*auth.Session, *apierr.Error)
	log     *slog.Logger

	mu     sync.Mutex
	routed *metadata.Metadata // the metadata router was built from
	router *router
}

// New returns a handler serving the endpoints of the current snapshot of
// cache through gql; resolve authenticates requests.
func New(cache *schemacache.Cache, gql *graphql.Engine, resolve func(context.Context, http.Header) (*auth.Session, *apierr.Error), log *slog.Logger) *Handler {
	return &Handler{cache: cache, gql: gql, resolve: resolve, log: log}
}

// current is the router of the snapshot in force, built once per
// metadata version.
func (h *Handler) current() *router {
	snap := h.cache.Current()
	var md *metadata.Metadata
	if snap != nil {
		md = snap.Metadata
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.router == nil || h.routed != md {
		h.router, h.routed = buildRouter(md), md
	}
	return h.router
}

// ServeHTTP serves /api/rest/*.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sess, aerr := h.resolve(r.Context(), r.Header)
	if aerr != nil {
		apierr.WriteREST(w, aerr, false)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
	case http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodConnect:
		apierr.WriteREST(w, apierr.BadRequest(apierr.CodeBadRequest, "Method %s not supported.", r.Method), false)
		return
	default:
		apierr.WriteREST(w, apierr.BadRequest(apierr.CodeBadRequest, "Nonstandard method not allowed for REST endpoints"), false)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		apierr.WriteREST(w, apierr.BadRequest(apierr.CodeBadRequest, "could not read the request body"), false)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(Prefix, "/"))
	path = strings.TrimPrefix(path, "/")
	m := h.current().match(r.Method, strings.Split(path, "/"))
	switch m.kind {
	case matchNotFound:
		apierr.WriteREST(w, apierr.New(http.StatusNotFound, apierr.CodeNotFound, "Endpoint not found"), false)
		return
	case matchMissingKey:
		apierr.WriteREST(w, apierr.New(http.StatusMethodNotAllowed, apierr.CodeMethodNotAllowed, "Allowed methods: %s", strings.Join(m.allowed, ", ")), false)
		return
	case matchAmbiguous:
		apierr.WriteREST(w, apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "Multiple endpoints match request"), false)
		return
	}
	ep := m.ep
	var defs ast.VariableDefinitionList
	if ep.doc != nil {
		// Hasura runs a stored query only when it is exactly one typed
		// operation (a `{ ... }` shorthand query is not).
		if len(ep.doc.Operations) != 1 || len(ep.doc.Fragments) != 0 || isShorthand(ep.doc.Operations[0]) {
			apierr.WriteREST(w, apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "A stored query should contain exactly one definition"), false)
			return
		}
		defs = ep.doc.Operations[0].VariableDefinitions
	}
	vars, err := resolveVariables(defs, requestArgs(r, body, ep, m.values))
	if err != nil {
		apierr.WriteREST(w, apierr.BadRequest(apierr.CodeBadRequest, "%s", err.Error()), false)
		return
	}
	out := h.gql.Run(r.Context(), sess, &graphql.Request{Query: ep.Query, Variables: vars}, false)
	if out.Err == nil && out.Subscription {
		out.Err = apierr.BadRequest("unexpected-payload", "subscriptions are not supported over HTTP, use websockets instead")
	}
	if out.Err != nil {
		apierr.WriteREST(w, out.Err, out.ShowInternal)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Data)
}

// requestArgs lists the values a request gives, lowest precedence first:
// the query string (and a form body), a JSON object body, then the path's
// values of the template's variables.
func requestArgs(r *http.Request, body []byte, ep *endpoint, values []string) []arg {
	var args []arg
	addForm := func(raw string) {
		// As http-types' parseQuery: pairs separated by & or ;.
		for _, kv := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' }) {
			k, v, _ := strings.Cut(kv, "=")
			k, err1 := url.QueryUnescape(k)
			v, err2 := url.QueryUnescape(v)
			if err1 == nil && err2 == nil {
				args = append(args, arg{name: k, text: v})
			}
		}
	}
	addForm(r.URL.RawQuery)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
		addForm(string(body))
	}
	var obj map[string]json.RawMessage
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' && json.Unmarshal(t, &obj) == nil {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		for _, k := range keys {
			args = append(args, arg{name: k, json: obj[k]})
		}
	}
	for i, name := range ep.params {
		if i < len(values) {
			args = append(args, arg{name: name, text: values[i]})
		}
	}
	return args
}

// isShorthand reports an operation written as a bare selection set.
func isShorthand(op *ast.OperationDefinition) bool {
	return op.Position != nil && op.Position.Src != nil &&
		strings.HasPrefix(strings.TrimSpace(op.Position.Src.Input[op.Position.Start:]), "{")
}
