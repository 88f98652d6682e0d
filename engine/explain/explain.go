// Package explain serves Hasura's POST /v1/graphql/explain: for a GraphQL
// query, the SQL the engine runs for each root field, for a given role and
// session variables, with the plan Postgres makes of it (EXPLAIN, never
// ANALYZE: nothing runs).
//
// The SQL comes from the GraphQL engine's own compile path
// (graphql.Engine.CompileFields), one statement per root field; the plan
// is made with the statement's parameters bound as they would be (the
// session is $1), in a read-only transaction.
package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/graphql"
	"github.com/strata-dev/strata/engine/schemacache"
)

// maxBody bounds a request body.
const maxBody = 32 << 20

// Handler serves the explain API.
type Handler struct {
	cache *schemacache.Cache
	gql   *graphql.Engine
	log   *slog.Logger
	// ShowInternal adds the database's error to error responses (the
	// caller is always an admin): HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS.
	ShowInternal bool
}

// New returns the handler. It serves admins only: the server's route
// table lets only their POSTs through (server.adminOnly).
func New(cache *schemacache.Cache, gql *graphql.Engine, log *slog.Logger) *Handler {
	return &Handler{cache: cache, gql: gql, log: log}
}

// request is the body: the GraphQL request, the session to explain it
// for, and whether it is for the Relay schema.
type request struct {
	Query   *graphql.Request           `json:"query"`
	User    map[string]json.RawMessage `json:"user"`
	IsRelay *bool                      `json:"is_relay"`
}

// plan is the answer for one root field of a query.
type plan struct {
	Field string   `json:"field"`
	SQL   *string  `json:"sql"`
	Plan  []string `json:"plan"`
}

// subscriptionPlan is the answer for a subscription: its one statement.
type subscriptionPlan struct {
	SQL  *string  `json:"sql"`
	Plan []string `json:"plan"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		apierr.WriteREST(w, apierr.BadRequest(apierr.CodeBadRequest, "could not read the request body"), false)
		return
	}
	req, sess, aerr := parse(body)
	if aerr != nil {
		apierr.WriteREST(w, aerr, false)
		return
	}
	out, aerr := h.explain(r.Context(), req, sess)
	if aerr != nil {
		apierr.WriteREST(w, aerr, h.ShowInternal)
		return
	}
	b, err := aeson.Marshal(out)
	if err != nil {
		apierr.WriteREST(w, apierr.Internal(), false)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// parse reads the body and builds the session to explain for: the role
// is the user's x-hasura-role, admin when there is none (as Hasura does).
func parse(body []byte) (*request, *auth.Session, *apierr.Error) {
	t := bytes.TrimSpace(body)
	if !json.Valid(t) {
		return nil, nil, apierr.BadRequest(apierr.CodeInvalidJSON, "Error in $: Failed reading: not a valid json value")
	}
	if k := aeson.Kind(t); k != "Object" {
		return nil, nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing GQLExplain failed, expected Object, but encountered %s", k)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(t, &raw)
	q, ok := raw["query"]
	if !ok {
		return nil, nil, apierr.BadRequest(apierr.CodeParseFailed, `key "query" not found`)
	}
	var req request
	if k := aeson.Kind(q); k != "Object" {
		return nil, nil, apierr.BadRequest(apierr.CodeParseFailed, "parsing GQLReq failed, expected Object, but encountered %s", k).WithPath("$.query")
	}
	if err := json.Unmarshal(t, &req); err != nil {
		return nil, nil, apierr.BadRequest(apierr.CodeParseFailed, "%s", err.Error())
	}
	sess := &auth.Session{Role: auth.AdminRole, Vars: map[string]string{}}
	for k, v := range req.User {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(bytes.TrimSpace(v))
		}
		sess.Vars[strings.ToLower(k)] = s
	}
	if role := sess.Vars["x-hasura-role"]; role != "" {
		sess.Role = role
	}
	sess.Vars["x-hasura-role"] = sess.Role
	return &req, sess, nil
}

func (h *Handler) explain(ctx context.Context, req *request, sess *auth.Session) (any, *apierr.Error) {
	relay := req.IsRelay != nil && *req.IsRelay
	c, aerr := h.gql.CompileFields(ctx, sess, req.Query, relay)
	if aerr != nil {
		return nil, aerr
	}
	switch c.Operation {
	case graphql.OpMutation:
		return nil, apierr.BadRequest(apierr.CodeInvalidParams, "only queries can be explained")
	case graphql.OpSubscription:
		// A subscription has one root field; its statement is what every
		// poll runs.
		out := subscriptionPlan{}
		for _, f := range c.Fields {
			if f.SQL == "" {
				continue
			}
			lines, aerr := h.plan(ctx, f)
			if aerr != nil {
				return nil, aerr
			}
			sql := inlineParams(f.SQL, f.Args)
			out.SQL, out.Plan = &sql, lines
		}
		return out, nil
	}
	out := make([]plan, 0, len(c.Fields))
	for _, f := range c.Fields {
		p := plan{Field: f.Field}
		if f.SQL != "" {
			lines, aerr := h.plan(ctx, f)
			if aerr != nil {
				return nil, aerr
			}
			sql := inlineParams(f.SQL, f.Args)
			p.SQL, p.Plan = &sql, lines
		}
		out = append(out, p)
	}
	return out, nil
}

// plan runs EXPLAIN of a field's statement with its parameters, in a
// read-only transaction that is rolled back.
func (h *Handler) plan(ctx context.Context, f graphql.FieldSQL) ([]string, *apierr.Error) {
	snap := h.cache.Current()
	var src *schemacache.Source
	if snap != nil {
		src = snap.Sources[f.Source]
	}
	if src == nil || src.Pool == nil {
		return nil, apierr.BadRequest(apierr.CodeUnexpected, "source %s is not available", f.Source)
	}
	tx, err := src.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, h.dbError(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, "EXPLAIN "+f.SQL, f.Args...)
	if err != nil {
		return nil, h.dbError(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, h.dbError(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		return nil, h.dbError(err)
	}
	return lines, nil
}

func (h *Handler) dbError(err error) *apierr.Error {
	if errors.Is(err, context.Canceled) {
		return apierr.BadRequest(apierr.CodeUnexpected, "request cancelled")
	}
	e := apierr.New(http.StatusInternalServerError, apierr.CodeUnexpected, "database query error")
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		e.Internal = map[string]any{"error": map[string]any{"message": pe.Message, "status_code": pe.Code, "description": pe.Detail}}
	} else {
		e.Internal = err.Error()
	}
	h.log.Error("explain failed", "type", "explain", "error", err.Error())
	return e
}
