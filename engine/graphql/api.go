package graphql

// Hooks for the endpoints built on the GraphQL engine that answer in
// their own shapes: RESTified endpoints (/api/rest, which want the data
// object and a structured error), the explain API (which wants the SQL
// of each root field) and the OpenAPI document of the REST endpoints
// (which wants the schema). They go through the same compile path as
// /v1/graphql.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
)

// Outcome is the result of Run.
type Outcome struct {
	// Data is the response's "data" object when Err is nil.
	Data json.RawMessage
	// Err is the request's error, as /v1/graphql would report it.
	Err *apierr.Error
	// RequestError: the request did not run (parse, validation or a
	// missing session variable).
	RequestError bool
	Subscription bool
	// ShowInternal says whether Err's Internal may be shown to the caller
	// (HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS for an admin session).
	ShowInternal bool
}

// Run executes one request for a session exactly as Execute does (same
// plan cache, same executor), returning the data object itself and the
// error as a value.
func (e *Engine) Run(ctx context.Context, sess *auth.Session, req *Request, relay bool) Outcome {
	st, pl, err := e.planFor(ctx, sess, req, relay)
	if err != nil {
		return Outcome{Err: requestErr(err), RequestError: true}
	}
	var out bytes.Buffer
	if aerr := execute(ctx, st.model, pl, sess, &out); aerr != nil {
		if aerr.Status >= http.StatusInternalServerError {
			e.log.Error("graphql execution failed", "type", "graphql", "role", sess.Role, "error", aerr.Message, "internal", aerr.Internal)
		}
		return Outcome{Err: aerr, Subscription: pl.subscribe, ShowInternal: e.ShowInternal && sess.IsAdmin()}
	}
	// execute writes {"data":<object>}.
	b := out.Bytes()
	data := b[len(`{"data":`) : len(b)-1]
	return Outcome{Data: json.RawMessage(data), Subscription: pl.subscribe}
}

func requestErr(err *errAt) *apierr.Error {
	return &apierr.Error{Status: http.StatusBadRequest, Code: err.code, Message: err.msg, Path: err.path}
}

// Operation kinds of Compiled.
const (
	OpQuery        = "query"
	OpMutation     = "mutation"
	OpSubscription = "subscription"
)

// Compiled is a request compiled for a session, one statement per root
// field.
type Compiled struct {
	// Operation is OpQuery, OpMutation or OpSubscription. A mutation is
	// not compiled: its statements depend on each other's results, so
	// Fields is empty.
	Operation string
	Fields    []FieldSQL
}

// FieldSQL is what one root field compiles to.
type FieldSQL struct {
	// Field is the field's response key (its alias, if any).
	Field string
	// Source is the source the statement runs on; "" for a field answered
	// without the database (__typename, introspection), which has no SQL.
	Source string
	// SQL is the statement the engine runs for the field alone: its one
	// column is the field's JSON value.
	SQL string
	// Args are its parameters: $1 is the session (the JSON object of the
	// x-hasura-* variables), the others the request's values.
	Args []any
}

// CompileFields compiles a query or subscription for a session the way
// Execute would (same schema of the session's role, same compiler), but
// with a statement per root field instead of one per source. A missing
// session variable that the SQL reads is an error, as it is at execution.
func (e *Engine) CompileFields(ctx context.Context, sess *auth.Session, req *Request, relay bool) (*Compiled, *apierr.Error) {
	st := e.current(ctx)
	doc, err := parseDocument(req.Query)
	if err != nil {
		return nil, requestErr(err)
	}
	op, err := selectOperation(doc, req.OperationName)
	if err != nil {
		return nil, requestErr(err)
	}
	if op.Operation == ast.Mutation {
		return &Compiled{Operation: OpMutation}, nil
	}
	vars, err := bindVariables(op, req.Variables)
	if err != nil {
		return nil, requestErr(err)
	}
	p, err := compileOperationSplit(st.model, st.model.Role(sess.Role, relay), op, vars, e.StringifyNumbers, true)
	if err != nil {
		return nil, requestErr(err)
	}
	for _, v := range p.sessionVars {
		if _, ok := sess.Vars[v]; !ok {
			return nil, &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeNotFound, Message: "missing session variable: " + jsonString(v), Path: "$"}
		}
	}
	session, _ := json.Marshal(sess.Vars)
	out := &Compiled{Operation: OpQuery}
	if p.subscribe {
		out.Operation = OpSubscription
	}
	for _, f := range p.fields {
		fs := FieldSQL{Field: f.key}
		if f.static == nil {
			stmt := p.stmts[f.stmt]
			fs.Source, fs.SQL = stmt.source, stmt.sql
			fs.Args = append([]any{string(session)}, stmt.params...)
		}
		out.Fields = append(out.Fields, fs)
	}
	return out, nil
}

// Schema is the GraphQL schema a role sees (relay: the /v1beta1/relay
// one) in the snapshot in force.
func (e *Engine) Schema(ctx context.Context, role string, relay bool) *ast.Schema {
	return e.current(ctx).model.Role(role, relay).AST
}
