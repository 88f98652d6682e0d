package api

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/schema"
	"github.com/strata-dev/strata/engine/schemacache"
)

// The v1 data API (/v1/query and /v2/query select, count, insert,
// update, delete). The admin's requests compile as they are; other
// roles' go through their permissions (data_roles.go). Writes run in the
// request's source transaction, so a bulk that seeds rows after its DDL
// commits or rolls back as one.

// insertRows is the v1 insert.
func insertRows(ctx context.Context, t *txn, req *request) (any, error) {
	return v1Statement(compile.V1Insert, true)(ctx, t, req)
}

// dataError maps a Postgres error of a data operation to Hasura's codes.
func dataError(err error) error {
	var code, msg string
	if pe, ok := asPgError(err); ok {
		code, msg = pe.Code, pe.Message
	} else {
		return err
	}
	if e, failed := compile.CheckFailure(msg); failed {
		return e
	}
	switch {
	case strings.HasPrefix(code, "23"): // integrity constraint violation
		return badRequest(apierr.CodeConstraintError, "%s", msg).WithPath("$.args")
	case strings.HasPrefix(code, "22"): // data exception
		return badRequest(apierr.CodeDataException, "%s", msg).WithPath("$.args")
	}
	return badRequest(apierr.CodePostgresError, "%s", msg).WithPath("$.args")
}

func asPgError(err error) (*pgconn.PgError, bool) {
	var pe *pgconn.PgError
	ok := errors.As(err, &pe)
	return pe, ok
}

// v1Statement runs a compiled v1 statement on a source: reads inside the
// request's transaction when it has one (a bulk reads its own writes),
// writes always inside it (a bulk commits or rolls back as one).
func v1Statement(compileFn func(*compile.Schema, json.RawMessage) (*compile.Statement, error), writes bool) opFunc {
	return func(ctx context.Context, t *txn, req *request) (any, error) {
		var a struct {
			Source string `json:"source"`
		}
		if err := decodeArgs(req.Args, &a); err != nil {
			return nil, err
		}
		src, cat, err := t.source(ctx, t.sourceOf(req, a.Source))
		if err != nil {
			return nil, err
		}
		cs := compile.BuildSchema(src, cat)
		var stmt *compile.Statement
		if sess := sessionOf(ctx); sess != nil && !sess.IsAdmin() {
			// A role is served without its inconsistent permissions.
			served := schemacache.WithoutInconsistentPermissions(src, t.base.Inconsistent)
			stmt, err = roleStatement(served, cs, schema.RolePermissions(t.md, served, cat), sess, req.Type, req.Args)
		} else {
			stmt, err = compileFn(cs, req.Args)
		}
		if err != nil {
			return nil, err
		}
		snap := t.base.Sources[src.Name]
		if snap == nil || snap.Pool == nil {
			return nil, badRequest(apierr.CodeInvalidConfig, "source %q is inconsistent", src.Name)
		}
		if writes {
			if _, err := t.sqlTx(ctx, src.Name, snap.Pool, false); err != nil {
				return nil, err
			}
			t.sideEffects = true
		}
		var out json.RawMessage
		if tx, ok := t.sql[src.Name]; ok {
			err = tx.Conn().QueryRow(ctx, stmt.SQL, stmt.Params...).Scan(&out)
		} else {
			err = snap.Pool.QueryRow(ctx, stmt.SQL, stmt.Params...).Scan(&out)
		}
		if err != nil {
			return nil, dataError(err)
		}
		return out, nil
	}
}
