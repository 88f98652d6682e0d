package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// The v1 data API (/v1/query and /v2/query `insert`), for admins: the
// other roles' permissions come with the GraphQL compiler. It runs in the
// request's source transaction, so a bulk that seeds rows after its DDL
// commits or rolls back as one.

type insertArgs struct {
	Source     string                 `json:"source"`
	Table      metadata.QualifiedName `json:"table"`
	Objects    json.RawMessage        `json:"objects"`
	Returning  []string               `json:"returning"`
	OnConflict json.RawMessage        `json:"on_conflict"`
}

// insertRows inserts objects into a tracked table with one statement, in
// order: each row's cells are fields of json_populate_record over that
// row's JSON, so Postgres converts the values exactly as it would cast
// their text; a column a row leaves out gets its DEFAULT, as in Hasura.
func insertRows(ctx context.Context, t *txn, req *request) (any, error) {
	var a insertArgs
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	if !isNull(a.OnConflict) {
		return nil, badRequest(apierr.CodeNotSupported, "on_conflict is not supported yet in the v1 insert")
	}
	src, cat, _, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
	if err != nil {
		return nil, err
	}
	if cat == nil {
		return nil, badRequest(apierr.CodeInvalidConfig, "source %q is inconsistent", src.Name)
	}
	ct, ok := cat.Table(a.Table.Schema, a.Table.Name)
	if !ok {
		return nil, notExists("table %q does not exist", schemacache.DisplayName(a.Table))
	}
	var objects []map[string]json.RawMessage
	if aeson.Kind(a.Objects) == "Object" { // a single object is accepted too
		var one map[string]json.RawMessage
		if err := json.Unmarshal(a.Objects, &one); err != nil {
			return nil, badRequest(apierr.CodeParseFailed, "%s", err.Error()).WithPath("$.args.objects")
		}
		objects = []map[string]json.RawMessage{one}
	} else if err := json.Unmarshal(a.Objects, &objects); err != nil {
		return nil, badRequest(apierr.CodeParseFailed, `expected an array of objects for "objects"`).WithPath("$.args.objects")
	}
	for _, c := range a.Returning {
		if _, ok := ct.Column(c); !ok {
			return nil, notExists("no such column exists: %q", c).WithPath("$.args.returning")
		}
	}
	if len(objects) == 0 {
		return insertResult(0, nil, a.Returning), nil
	}

	// Columns in table order: the union of the rows' keys.
	used := map[string]bool{}
	for i, o := range objects {
		for k := range o {
			if _, ok := ct.Column(k); !ok {
				return nil, notExists("no such column exists: %q", k).WithPath(fmt.Sprintf("$.args.objects[%d]", i))
			}
			used[k] = true
		}
	}
	var cols []*catalog.Column
	for _, c := range ct.Columns {
		if used[c.Name] {
			cols = append(cols, c)
		}
	}

	table := pgx.Identifier{a.Table.Schema, a.Table.Name}.Sanitize()
	var b strings.Builder
	params := make([]any, 0, len(objects))
	var extra []any // GeoJSON values, after the rows
	if len(cols) == 0 {
		// Rows of {} only: a zero-column SELECT inserts all defaults.
		b.WriteString("INSERT INTO " + table + " SELECT FROM generate_series(1, $1)")
		params = append(params, len(objects))
	} else {
		b.WriteString("INSERT INTO " + table + " (")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pgx.Identifier{c.Name}.Sanitize())
		}
		b.WriteString(") VALUES ")
		for i, o := range objects {
			for _, c := range cols {
				// Numbers for numeric columns arrive as Hasura sends them.
				if v, ok := o[c.Name]; ok && compile.IsNumeric(c.Type) && aeson.Kind(v) == "Number" {
					o[c.Name] = json.RawMessage(compile.NumericText(string(v)))
				}
			}
			// GeoJSON goes in its own parameter, read by ST_GeomFromGeoJSON:
			// json_populate_record would hand it to the type's own input
			// (which does not read GeoJSON) even to fill another column.
			geoParams := map[string]int{}
			for _, c := range cols {
				if geo := c.TypeName.Name; (geo == "geometry" || geo == "geography") && aeson.Kind(o[c.Name]) == "Object" {
					geoParams[c.Name] = len(objects) + len(extra) + 1
					extra = append(extra, string(o[c.Name]))
					delete(o, c.Name)
				}
			}
			row, _ := json.Marshal(o)
			params = append(params, string(row))
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, c := range cols {
				if j > 0 {
					b.WriteString(", ")
				}
				if n, ok := geoParams[c.Name]; ok {
					fmt.Fprintf(&b, "ST_GeomFromGeoJSON($%d::text)::%s", n, c.TypeName.Name)
					continue
				}
				if _, given := o[c.Name]; !given {
					b.WriteString("DEFAULT")
					continue
				}
				fmt.Fprintf(&b, "(json_populate_record(NULL::%s, $%d::json)).%s", table, i+1, pgx.Identifier{c.Name}.Sanitize())
			}
			b.WriteByte(')')
		}
	}
	params = append(params, extra...)
	b.WriteString(" RETURNING ")
	b.WriteString(returningObject(a.Returning))
	sql := "WITH ins AS (" + b.String() + ") SELECT count(*), coalesce(json_agg(r), '[]') FROM ins"

	tx, err := t.sqlTx(ctx, src.Name, t.base.Sources[src.Name].Pool, false)
	if err != nil {
		return nil, err
	}
	t.sideEffects = true
	var n int
	var rows json.RawMessage
	if err := tx.Conn().QueryRow(ctx, sql, params...).Scan(&n, &rows); err != nil {
		return nil, dataError(err)
	}
	return insertResult(n, rows, a.Returning), nil
}

// returningObject builds the row object RETURNING yields, named r.
func returningObject(cols []string) string {
	if len(cols) == 0 {
		return "NULL::json AS r"
	}
	parts := make([]string, 0, 2*len(cols))
	for _, c := range cols {
		lit := strings.ReplaceAll(c, "'", "''")
		parts = append(parts, "'"+lit+"'", pgx.Identifier{c}.Sanitize())
	}
	return "json_build_object(" + strings.Join(parts, ", ") + ") AS r"
}

func insertResult(n int, rows json.RawMessage, returning []string) any {
	if len(returning) == 0 {
		return map[string]any{"affected_rows": n}
	}
	if rows == nil {
		rows = json.RawMessage("[]")
	}
	return map[string]any{"affected_rows": n, "returning": rows}
}

// dataError maps a Postgres error of a data operation to Hasura's codes.
func dataError(err error) error {
	var code, msg string
	if pe, ok := asPgError(err); ok {
		code, msg = pe.Code, pe.Message
	} else {
		return err
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
		schema := compile.BuildSchema(src, cat)
		args := req.Args
		if sess := sessionOf(ctx); sess != nil && !sess.IsAdmin() {
			if args, err = forRole(src, schema, sess, args, req.Type == "count"); err != nil {
				return nil, err
			}
		}
		stmt, err := compileFn(schema, args)
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
