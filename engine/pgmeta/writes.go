package pgmeta

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The write endpoints, as postgres-meta's PostgresMeta*.create / update /
// remove: the DDL runs in one transaction (with the statement timeout as
// SET LOCAL), each statement on its own through the extended protocol (see
// sqlquote.go), and the answer is the object as the GET endpoint shows it,
// read in the same transaction: after the change for POST and PATCH,
// before it for DELETE. Errors are 400 {"error": message} (Postgres'
// message for a rejected statement), 404 when the object does not exist.

// endpoint serves one method of one path.
type endpoint func(h *Handler, w http.ResponseWriter, r *http.Request, db *database, arg string)

type writer struct {
	create, update, remove endpoint
}

var writers map[string]writer

func init() {
	writers = map[string]writer{
		"schemas":    {create: wrap(createSchema), update: wrapID("schema", updateSchema), remove: wrapID("schema", removeSchema)},
		"tables":     {create: wrap(createTable), update: wrapID("table", updateTable), remove: wrapID("table", removeTable)},
		"columns":    {create: wrap(createColumn), update: wrapColumnID(updateColumn), remove: wrapColumnID(removeColumn)},
		"extensions": {create: wrap(createExtension), update: wrapName(updateExtension), remove: wrapName(removeExtension)},
		"roles":      {create: wrap(createRole), update: wrapID("role", updateRole), remove: wrapID("role", removeRole)},
		"policies":   {create: wrap(createPolicy), update: wrapID("policy", updatePolicy), remove: wrapID("policy", removePolicy)},
	}
}

// writeOp runs inside the transaction and returns the JSON answer.
type writeOp func(ctx context.Context, tx pgx.Tx) ([]byte, error)

func wrap(fn func(r *http.Request, w http.ResponseWriter) (writeOp, *apiError)) endpoint {
	return func(h *Handler, w http.ResponseWriter, r *http.Request, db *database, _ string) {
		op, aerr := fn(r, w)
		h.runWriteOp(w, r, db, op, aerr)
	}
}

func wrapID(what string, fn func(r *http.Request, w http.ResponseWriter, id int64) (writeOp, *apiError)) endpoint {
	return func(h *Handler, w http.ResponseWriter, r *http.Request, db *database, arg string) {
		id, ok := parseOID(arg)
		if !ok {
			writeError(w, http.StatusBadRequest, "Invalid "+what+" ID "+strconv.Quote(arg))
			return
		}
		op, aerr := fn(r, w, id)
		h.runWriteOp(w, r, db, op, aerr)
	}
}

func wrapColumnID(fn func(r *http.Request, w http.ResponseWriter, tableID, attnum int64, id string) (writeOp, *apiError)) endpoint {
	return func(h *Handler, w http.ResponseWriter, r *http.Request, db *database, arg string) {
		t, p, ok := strings.Cut(arg, ".")
		tid, ok1 := parseOID(t)
		pos, ok2 := parseOID(p)
		if !ok || !ok1 || !ok2 {
			writeError(w, http.StatusBadRequest, "Invalid format for column ID")
			return
		}
		op, aerr := fn(r, w, tid, pos, arg)
		h.runWriteOp(w, r, db, op, aerr)
	}
}

func wrapName(fn func(r *http.Request, w http.ResponseWriter, name string) (writeOp, *apiError)) endpoint {
	return func(h *Handler, w http.ResponseWriter, r *http.Request, db *database, arg string) {
		op, aerr := fn(r, w, arg)
		h.runWriteOp(w, r, db, op, aerr)
	}
}

func (h *Handler) runWriteOp(w http.ResponseWriter, r *http.Request, db *database, op writeOp, aerr *apiError) {
	if aerr != nil {
		writeError(w, aerr.status, aerr.msg)
		return
	}
	h.runWrite(w, r, db, op)
}

func (h *Handler) runWrite(w http.ResponseWriter, r *http.Request, db *database, op writeOp) {
	ctx := r.Context()
	timeout := h.opts.StatementTimeout
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout+backstopGrace)
		defer cancel()
	}
	var out []byte
	err := h.withConn(ctx, db, func(ctx context.Context, c *pgxpool.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		if timeout > 0 {
			ms := max(timeout.Milliseconds(), 1)
			if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = "+strconv.FormatInt(ms, 10)); err != nil {
				return err
			}
		}
		if out, err = op(ctx, tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		h.fail(w, r, err, http.StatusBadRequest)
		return
	}
	writeJSONBytes(w, http.StatusOK, out)
}

// exec runs one generated statement with the extended protocol, which
// refuses a string holding more than one statement.
func exec(ctx context.Context, tx pgx.Tx, stmt string) error {
	return tx.Conn().PgConn().ExecParams(ctx, stmt, nil, nil, nil, nil).Read().Err
}

func execAll(ctx context.Context, tx pgx.Tx, stmts []string) error {
	for _, s := range stmts {
		if err := exec(ctx, tx, s); err != nil {
			return err
		}
	}
	return nil
}

func idFilter(id int64) *filter {
	return &filter{id: &id, includeSystem: true, includeColumns: true, includeDefaultRoles: true, includeArrayTypes: true, includeTableTypes: true}
}

// getByID reads the object's JSON inside the transaction.
func getByID(ctx context.Context, tx pgx.Tx, kindName string, id int64) ([]byte, error) {
	out, err := fetchOne(ctx, tx, kinds[kindName], idFilter(id))
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, notFound("Cannot find %s with ID %d", kinds[kindName].what, id)
	}
	return out, nil
}

// lookupID runs a query returning one int8, or notFound's error.
func lookupID(ctx context.Context, tx pgx.Tx, nf *apiError, sql string, args ...any) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, sql, args...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nf
	}
	return id, err
}

func required(name string) *apiError {
	return badRequest("body must have required property '%s'", name)
}

func cascadeParam(r *http.Request) (string, *apiError) {
	q := &queryParams{v: r.URL.Query()}
	c := q.boolean(false, "cascade")
	if q.err != nil {
		return "", q.err
	}
	if c {
		return " CASCADE", nil
	}
	return " RESTRICT", nil
}

// commentSQL is "IS 'text'" or "IS NULL".
func commentSQL(c opt[string]) string {
	if c.Null {
		return "NULL"
	}
	return literal(c.V)
}

// ---------------------------------------------------------------- schemas

func createSchema(r *http.Request, w http.ResponseWriter) (writeOp, *apiError) {
	var b struct {
		Name  opt[string] `json:"name"`
		Owner opt[string] `json:"owner"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	if !b.Name.has() {
		return nil, required("name")
	}
	stmt := "CREATE SCHEMA " + ident(b.Name.V)
	if b.Owner.has() {
		stmt += " AUTHORIZATION " + ident(b.Owner.V)
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		if err := exec(ctx, tx, stmt); err != nil {
			return nil, err
		}
		id, err := lookupID(ctx, tx, notFound("Cannot find a schema named %s", b.Name.V),
			"SELECT oid::int8 FROM pg_catalog.pg_namespace WHERE nspname = $1", b.Name.V)
		if err != nil {
			return nil, err
		}
		return getByID(ctx, tx, "schemas", id)
	}, nil
}

func schemaName(ctx context.Context, tx pgx.Tx, id int64) (string, error) {
	var name string
	err := tx.QueryRow(ctx, "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE oid = $1::int8", id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("Cannot find a schema with ID %d", id)
	}
	return name, err
}

func updateSchema(r *http.Request, w http.ResponseWriter, id int64) (writeOp, *apiError) {
	var b struct {
		Name  opt[string] `json:"name"`
		Owner opt[string] `json:"owner"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		old, err := schemaName(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		var stmts []string
		if b.Owner.has() {
			stmts = append(stmts, "ALTER SCHEMA "+ident(old)+" OWNER TO "+ident(b.Owner.V))
		}
		if b.Name.has() && b.Name.V != old {
			stmts = append(stmts, "ALTER SCHEMA "+ident(old)+" RENAME TO "+ident(b.Name.V))
		}
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		return getByID(ctx, tx, "schemas", id)
	}, nil
}

func removeSchema(r *http.Request, w http.ResponseWriter, id int64) (writeOp, *apiError) {
	cascade, aerr := cascadeParam(r)
	if aerr != nil {
		return nil, aerr
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		out, err := getByID(ctx, tx, "schemas", id)
		if err != nil {
			return nil, err
		}
		name, err := schemaName(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		return out, exec(ctx, tx, "DROP SCHEMA "+ident(name)+cascade)
	}, nil
}

// ---------------------------------------------------------------- tables

func createTable(r *http.Request, w http.ResponseWriter) (writeOp, *apiError) {
	var b struct {
		Name    opt[string] `json:"name"`
		Schema  opt[string] `json:"schema"`
		Comment opt[string] `json:"comment"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	if !b.Name.has() {
		return nil, required("name")
	}
	schema := "public"
	if b.Schema.has() {
		schema = b.Schema.V
	}
	qname := ident(schema, b.Name.V)
	stmts := []string{"CREATE TABLE " + qname + " ()"}
	if b.Comment.Set {
		stmts = append(stmts, "COMMENT ON TABLE "+qname+" IS "+commentSQL(b.Comment))
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		id, err := lookupID(ctx, tx, notFound("Cannot find a table named %s in schema %s", b.Name.V, schema), `
SELECT c.oid::int8 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, schema, b.Name.V)
		if err != nil {
			return nil, err
		}
		return getByID(ctx, tx, "tables", id)
	}, nil
}

// tableName returns a table's schema and name.
func tableName(ctx context.Context, tx pgx.Tx, id int64) (schema, name string, err error) {
	err = tx.QueryRow(ctx, `
SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = $1::int8 AND c.relkind IN ('r', 'p')`, id).Scan(&schema, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", notFound("Cannot find a table with ID %d", id)
	}
	return schema, name, err
}

func updateTable(r *http.Request, w http.ResponseWriter, id int64) (writeOp, *apiError) {
	var b struct {
		Name                 opt[string] `json:"name"`
		Schema               opt[string] `json:"schema"`
		RLSEnabled           opt[bool]   `json:"rls_enabled"`
		RLSForced            opt[bool]   `json:"rls_forced"`
		ReplicaIdentity      opt[string] `json:"replica_identity"`
		ReplicaIdentityIndex opt[string] `json:"replica_identity_index"`
		PrimaryKeys          opt[[]struct {
			Name string `json:"name"`
		}] `json:"primary_keys"`
		Comment opt[string] `json:"comment"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	replica := ""
	if b.ReplicaIdentity.has() {
		switch ri := strings.ToUpper(b.ReplicaIdentity.V); ri {
		case "DEFAULT", "FULL", "NOTHING":
			replica = " REPLICA IDENTITY " + ri
		case "INDEX":
			if !b.ReplicaIdentityIndex.has() || b.ReplicaIdentityIndex.V == "" {
				return nil, badRequest("replica_identity INDEX needs replica_identity_index")
			}
			replica = " REPLICA IDENTITY USING INDEX " + ident(b.ReplicaIdentityIndex.V)
		default:
			return nil, badRequest("body/replica_identity must be one of DEFAULT, INDEX, FULL, NOTHING")
		}
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		schema, name, err := tableName(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		alter := "ALTER TABLE " + ident(schema, name)
		var stmts []string
		if b.RLSEnabled.has() {
			stmts = append(stmts, alter+map[bool]string{true: " ENABLE", false: " DISABLE"}[b.RLSEnabled.V]+" ROW LEVEL SECURITY")
		}
		if b.RLSForced.has() {
			stmts = append(stmts, alter+map[bool]string{true: " FORCE", false: " NO FORCE"}[b.RLSForced.V]+" ROW LEVEL SECURITY")
		}
		if replica != "" {
			stmts = append(stmts, alter+replica)
		}
		if b.PrimaryKeys.Set {
			var pk string
			err := tx.QueryRow(ctx, "SELECT conname::text FROM pg_catalog.pg_constraint WHERE contype = 'p' AND conrelid = $1::int8", id).Scan(&pk)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return nil, err
			}
			if pk != "" {
				stmts = append(stmts, alter+" DROP CONSTRAINT "+ident(pk))
			}
			if len(b.PrimaryKeys.V) > 0 {
				cols := make([]string, len(b.PrimaryKeys.V))
				for i, c := range b.PrimaryKeys.V {
					cols[i] = ident(c.Name)
				}
				stmts = append(stmts, alter+" ADD PRIMARY KEY ("+strings.Join(cols, ", ")+")")
			}
		}
		if b.Comment.Set {
			stmts = append(stmts, "COMMENT ON TABLE "+ident(schema, name)+" IS "+commentSQL(b.Comment))
		}
		if b.Schema.has() && b.Schema.V != schema {
			stmts = append(stmts, alter+" SET SCHEMA "+ident(b.Schema.V))
			schema = b.Schema.V
		}
		if b.Name.has() && b.Name.V != name {
			stmts = append(stmts, "ALTER TABLE "+ident(schema, name)+" RENAME TO "+ident(b.Name.V))
		}
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		return getByID(ctx, tx, "tables", id)
	}, nil
}

func removeTable(r *http.Request, w http.ResponseWriter, id int64) (writeOp, *apiError) {
	cascade, aerr := cascadeParam(r)
	if aerr != nil {
		return nil, aerr
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		out, err := getByID(ctx, tx, "tables", id)
		if err != nil {
			return nil, err
		}
		schema, name, err := tableName(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		return out, exec(ctx, tx, "DROP TABLE "+ident(schema, name)+cascade)
	}, nil
}

// ---------------------------------------------------------------- columns

// defaultClause renders a column default: an SQL expression as given, or
// a literal.
func defaultClause(v opt[json.RawMessage], format opt[string]) (string, *apiError) {
	if v.Null {
		return "NULL", nil
	}
	f := "literal"
	if format.has() {
		f = format.V
	}
	switch f {
	case "expression":
		var s string
		if err := json.Unmarshal(v.V, &s); err == nil {
			if strings.TrimSpace(s) == "" {
				return "", badRequest("body/default_value must not be empty")
			}
			return s, nil
		}
		fallthrough
	case "literal":
		lit, err := jsonValueLiteral(v.V)
		if err != nil {
			return "", badRequest("body/default_value is not a valid value")
		}
		return lit, nil
	}
	return "", badRequest("body/default_value_format must be 'expression' or 'literal'")
}

func identityGeneration(g opt[string]) (string, *apiError) {
	if !g.has() {
		return "BY DEFAULT", nil
	}
	switch s := strings.ToUpper(strings.Join(strings.Fields(g.V), " ")); s {
	case "BY DEFAULT", "ALWAYS":
		return s, nil
	}
	return "", badRequest("body/identity_generation must be 'BY DEFAULT' or 'ALWAYS'")
}

func columnFilter(tableID, attnum int64) *filter {
	return &filter{tableID: &tableID, attnum: &attnum, includeSystem: true}
}

func getColumn(ctx context.Context, tx pgx.Tx, tableID, attnum int64) ([]byte, error) {
	out, err := fetchOne(ctx, tx, kinds["columns"], columnFilter(tableID, attnum))
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, notFound("Cannot find a column with ID %d.%d", tableID, attnum)
	}
	return out, nil
}

func createColumn(r *http.Request, w http.ResponseWriter) (writeOp, *apiError) {
	var b struct {
		TableID            opt[int64]           `json:"table_id"`
		Name               opt[string]          `json:"name"`
		Type               opt[string]          `json:"type"`
		DefaultValue       opt[json.RawMessage] `json:"default_value"`
		DefaultValueFormat opt[string]          `json:"default_value_format"`
		IsIdentity         opt[bool]            `json:"is_identity"`
		IdentityGeneration opt[string]          `json:"identity_generation"`
		IsNullable         opt[bool]            `json:"is_nullable"`
		IsPrimaryKey       opt[bool]            `json:"is_primary_key"`
		IsUnique           opt[bool]            `json:"is_unique"`
		Comment            opt[string]          `json:"comment"`
		Check              opt[string]          `json:"check"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	for _, req := range []struct {
		ok   bool
		name string
	}{{b.TableID.has(), "table_id"}, {b.Name.has(), "name"}, {b.Type.has(), "type"}} {
		if !req.ok {
			return nil, required(req.name)
		}
	}
	typ, err := sqlType(b.Type.V)
	if err != nil {
		return nil, badRequest("%s", err.Error())
	}
	def := []string{ident(b.Name.V), typ}
	if b.IsIdentity.has() && b.IsIdentity.V {
		if b.DefaultValue.Set {
			return nil, badRequest("Columns cannot both be identity and have a default value")
		}
		gen, aerr := identityGeneration(b.IdentityGeneration)
		if aerr != nil {
			return nil, aerr
		}
		def = append(def, "GENERATED "+gen+" AS IDENTITY")
	} else if b.DefaultValue.Set {
		d, aerr := defaultClause(b.DefaultValue, b.DefaultValueFormat)
		if aerr != nil {
			return nil, aerr
		}
		def = append(def, "DEFAULT "+d)
	}
	if b.IsNullable.has() {
		def = append(def, map[bool]string{true: "NULL", false: "NOT NULL"}[b.IsNullable.V])
	}
	if b.IsPrimaryKey.has() && b.IsPrimaryKey.V {
		def = append(def, "PRIMARY KEY")
	}
	if b.IsUnique.has() && b.IsUnique.V {
		def = append(def, "UNIQUE")
	}
	if b.Check.has() {
		def = append(def, "CHECK ("+b.Check.V+")")
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		schema, table, err := tableName(ctx, tx, b.TableID.V)
		if err != nil {
			return nil, err
		}
		stmts := []string{"ALTER TABLE " + ident(schema, table) + " ADD COLUMN " + strings.Join(def, " ")}
		if b.Comment.Set {
			stmts = append(stmts, "COMMENT ON COLUMN "+ident(schema, table, b.Name.V)+" IS "+commentSQL(b.Comment))
		}
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		attnum, err := lookupID(ctx, tx, notFound("Cannot find a column named %s in table %s.%s", b.Name.V, schema, table),
			"SELECT attnum::int8 FROM pg_catalog.pg_attribute WHERE attrelid = $1::int8 AND attname = $2 AND NOT attisdropped", b.TableID.V, b.Name.V)
		if err != nil {
			return nil, err
		}
		return getColumn(ctx, tx, b.TableID.V, attnum)
	}, nil
}

type oldColumn struct {
	schema, table, name string
	isIdentity          bool
	isUnique            bool
}

func loadColumn(ctx context.Context, tx pgx.Tx, tableID, attnum int64, id string) (oldColumn, error) {
	var c oldColumn
	err := tx.QueryRow(ctx, `
SELECT n.nspname::text, cl.relname::text, a.attname::text, a.attidentity <> '',
  EXISTS (SELECT FROM pg_catalog.pg_constraint u WHERE u.conrelid = cl.oid AND u.contype = 'u' AND cardinality(u.conkey) = 1 AND u.conkey[1] = a.attnum)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class cl ON cl.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
WHERE a.attrelid = $1::int8 AND a.attnum = $2::int8 AND a.attnum > 0 AND NOT a.attisdropped
  AND cl.relkind IN ('r', 'v', 'm', 'f', 'p')`, tableID, attnum).Scan(&c.schema, &c.table, &c.name, &c.isIdentity, &c.isUnique)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, notFound("Cannot find a column with ID %s", id)
	}
	return c, err
}

func updateColumn(r *http.Request, w http.ResponseWriter, tableID, attnum int64, id string) (writeOp, *apiError) {
	var b struct {
		Name               opt[string]          `json:"name"`
		Type               opt[string]          `json:"type"`
		DropDefault        opt[bool]            `json:"drop_default"`
		DefaultValue       opt[json.RawMessage] `json:"default_value"`
		DefaultValueFormat opt[string]          `json:"default_value_format"`
		IsIdentity         opt[bool]            `json:"is_identity"`
		IdentityGeneration opt[string]          `json:"identity_generation"`
		IsNullable         opt[bool]            `json:"is_nullable"`
		IsUnique           opt[bool]            `json:"is_unique"`
		Comment            opt[string]          `json:"comment"`
		Check              opt[string]          `json:"check"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	typ := ""
	if b.Type.has() {
		t, err := sqlType(b.Type.V)
		if err != nil {
			return nil, badRequest("%s", err.Error())
		}
		typ = t
	}
	def := ""
	if b.DefaultValue.Set && !(b.DropDefault.has() && b.DropDefault.V) {
		d, aerr := defaultClause(b.DefaultValue, b.DefaultValueFormat)
		if aerr != nil {
			return nil, aerr
		}
		def = d
	}
	gen := ""
	if b.IdentityGeneration.has() {
		g, aerr := identityGeneration(b.IdentityGeneration)
		if aerr != nil {
			return nil, aerr
		}
		gen = g
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		old, err := loadColumn(ctx, tx, tableID, attnum, id)
		if err != nil {
			return nil, err
		}
		tbl := ident(old.schema, old.table)
		alterCol := "ALTER TABLE " + tbl + " ALTER COLUMN " + ident(old.name)
		var stmts []string
		// postgres-meta's order: nullability, type, default, identity,
		// unique, comment, check, and the rename last.
		if b.IsNullable.has() {
			stmts = append(stmts, alterCol+map[bool]string{true: " DROP NOT NULL", false: " SET NOT NULL"}[b.IsNullable.V])
		}
		if typ != "" {
			stmts = append(stmts, alterCol+" SET DATA TYPE "+typ+" USING "+ident(old.name)+"::"+typ)
		}
		if b.DropDefault.has() && b.DropDefault.V {
			stmts = append(stmts, alterCol+" DROP DEFAULT")
		} else if def != "" {
			stmts = append(stmts, alterCol+" SET DEFAULT "+def)
		}
		switch {
		case b.IsIdentity.has() && !b.IsIdentity.V:
			stmts = append(stmts, alterCol+" DROP IDENTITY IF EXISTS")
		case old.isIdentity:
			if gen != "" {
				stmts = append(stmts, alterCol+" SET GENERATED "+gen)
			}
		case b.IsIdentity.has() && b.IsIdentity.V:
			if gen == "" {
				gen = "BY DEFAULT"
			}
			stmts = append(stmts, alterCol+" ADD GENERATED "+gen+" AS IDENTITY")
		}
		if b.IsUnique.has() && old.isUnique && !b.IsUnique.V {
			rows, err := tx.Query(ctx, `
SELECT conname::text FROM pg_catalog.pg_constraint
WHERE contype = 'u' AND cardinality(conkey) = 1 AND conrelid = $1::int8 AND conkey[1] = $2::int8`, tableID, attnum)
			if err != nil {
				return nil, err
			}
			names, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return nil, err
			}
			for _, n := range names {
				stmts = append(stmts, "ALTER TABLE "+tbl+" DROP CONSTRAINT "+ident(n))
			}
		} else if b.IsUnique.has() && !old.isUnique && b.IsUnique.V {
			stmts = append(stmts, "ALTER TABLE "+tbl+" ADD UNIQUE ("+ident(old.name)+")")
		}
		if b.Comment.Set {
			stmts = append(stmts, "COMMENT ON COLUMN "+ident(old.schema, old.table, old.name)+" IS "+commentSQL(b.Comment))
		}
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		stmts = nil
		if b.Check.Set {
			if err := replaceCheck(ctx, tx, tableID, attnum, old, b.Check); err != nil {
				return nil, err
			}
		}
		if b.Name.has() && b.Name.V != old.name {
			stmts = append(stmts, "ALTER TABLE "+tbl+" RENAME COLUMN "+ident(old.name)+" TO "+ident(b.Name.V))
		}
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		return getColumn(ctx, tx, tableID, attnum)
	}, nil
}

// replaceCheck drops the column's (first) single-column CHECK and, unless
// check is null, adds "<table>_<column>_check", which must refer to this
// column only (postgres-meta's assertions).
func replaceCheck(ctx context.Context, tx pgx.Tx, tableID, attnum int64, old oldColumn, check opt[string]) error {
	tbl := ident(old.schema, old.table)
	var existing string
	err := tx.QueryRow(ctx, `
SELECT conname::text FROM pg_catalog.pg_constraint
WHERE contype = 'c' AND cardinality(conkey) = 1 AND conrelid = $1::int8 AND conkey[1] = $2::int8
ORDER BY oid LIMIT 1`, tableID, attnum).Scan(&existing)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if existing != "" {
		if err := exec(ctx, tx, "ALTER TABLE "+tbl+" DROP CONSTRAINT "+ident(existing)); err != nil {
			return err
		}
	}
	if check.Null {
		return nil
	}
	name := old.table + "_" + old.name + "_check"
	if err := exec(ctx, tx, "ALTER TABLE "+tbl+" ADD CONSTRAINT "+ident(name)+" CHECK ("+check.V+")"); err != nil {
		return err
	}
	var conkey []int16
	err = tx.QueryRow(ctx, "SELECT conkey FROM pg_catalog.pg_constraint WHERE conrelid = $1::int8 AND conname = $2", tableID, name).Scan(&conkey)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	switch {
	case len(conkey) == 0:
		return badRequest("error creating column constraint: check condition must refer to this column")
	case len(conkey) > 1:
		return badRequest("error creating column constraint: check condition cannot refer to multiple columns")
	case int64(conkey[0]) != attnum:
		return badRequest("error creating column constraint: check condition cannot refer to other columns")
	}
	return nil
}

func removeColumn(r *http.Request, w http.ResponseWriter, tableID, attnum int64, id string) (writeOp, *apiError) {
	cascade, aerr := cascadeParam(r)
	if aerr != nil {
		return nil, aerr
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		old, err := loadColumn(ctx, tx, tableID, attnum, id)
		if err != nil {
			return nil, err
		}
		out, err := getColumn(ctx, tx, tableID, attnum)
		if err != nil {
			return nil, err
		}
		return out, exec(ctx, tx, "ALTER TABLE "+ident(old.schema, old.table)+" DROP COLUMN "+ident(old.name)+cascade)
	}, nil
}

// ---------------------------------------------------------------- extensions

func getExtension(ctx context.Context, tx pgx.Tx, name string) ([]byte, error) {
	out, err := fetchOne(ctx, tx, kinds["extensions"], &filter{name: &name})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, notFound("Cannot find an extension named %s", name)
	}
	return out, nil
}

func createExtension(r *http.Request, w http.ResponseWriter) (writeOp, *apiError) {
	var b struct {
		Name    opt[string] `json:"name"`
		Schema  opt[string] `json:"schema"`
		Version opt[string] `json:"version"`
		Cascade opt[bool]   `json:"cascade"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	if !b.Name.has() {
		return nil, required("name")
	}
	stmt := "CREATE EXTENSION " + ident(b.Name.V)
	if b.Schema.has() {
		stmt += " SCHEMA " + ident(b.Schema.V)
	}
	if b.Version.has() {
		stmt += " VERSION " + literal(b.Version.V)
	}
	if b.Cascade.has() && b.Cascade.V {
		stmt += " CASCADE"
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		if err := exec(ctx, tx, stmt); err != nil {
			return nil, err
		}
		return getExtension(ctx, tx, b.Name.V)
	}, nil
}

func updateExtension(r *http.Request, w http.ResponseWriter, name string) (writeOp, *apiError) {
	var b struct {
		Update  opt[bool]   `json:"update"`
		Version opt[string] `json:"version"`
		Schema  opt[string] `json:"schema"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	var stmts []string
	if b.Update.has() && b.Update.V {
		s := "ALTER EXTENSION " + ident(name) + " UPDATE"
		if b.Version.has() {
			s += " TO " + literal(b.Version.V)
		}
		stmts = append(stmts, s)
	}
	if b.Schema.has() {
		stmts = append(stmts, "ALTER EXTENSION "+ident(name)+" SET SCHEMA "+ident(b.Schema.V))
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		var installed bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = $1)", name).Scan(&installed); err != nil {
			return nil, err
		}
		if !installed {
			return nil, notFound("Cannot find an extension named %s", name)
		}
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		return getExtension(ctx, tx, name)
	}, nil
}

func removeExtension(r *http.Request, w http.ResponseWriter, name string) (writeOp, *apiError) {
	cascade, aerr := cascadeParam(r)
	if aerr != nil {
		return nil, aerr
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		out, err := getExtension(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		return out, exec(ctx, tx, "DROP EXTENSION "+ident(name)+cascade)
	}, nil
}

// ---------------------------------------------------------------- roles

// configValue renders a role setting's value: a comma-separated list
// (search_path and other list settings) becomes a list of literals, as
// postgres-meta does.
func configValue(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = literal(strings.TrimSpace(p))
	}
	return strings.Join(parts, ", ")
}

func identList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ident(n)
	}
	return strings.Join(out, ", ")
}

type roleAttrs struct {
	IsSuperuser       opt[bool]   `json:"is_superuser"`
	CanCreateDB       opt[bool]   `json:"can_create_db"`
	CanCreateRole     opt[bool]   `json:"can_create_role"`
	InheritRole       opt[bool]   `json:"inherit_role"`
	CanLogin          opt[bool]   `json:"can_login"`
	IsReplicationRole opt[bool]   `json:"is_replication_role"`
	CanBypassRLS      opt[bool]   `json:"can_bypass_rls"`
	ConnectionLimit   opt[int64]  `json:"connection_limit"`
	Password          opt[string] `json:"password"`
	ValidUntil        opt[string] `json:"valid_until"`
}

// options renders the role options; defaults apply for CREATE (as
// postgres-meta: all off but INHERIT, no connection limit).
func (a roleAttrs) options(create bool) []string {
	var out []string
	flag := func(o opt[bool], def bool, yes, no string) {
		v := def
		if o.has() {
			v = o.V
		} else if !create {
			return
		}
		if v {
			out = append(out, yes)
		} else {
			out = append(out, no)
		}
	}
	flag(a.IsSuperuser, false, "SUPERUSER", "NOSUPERUSER")
	flag(a.CanCreateDB, false, "CREATEDB", "NOCREATEDB")
	flag(a.CanCreateRole, false, "CREATEROLE", "NOCREATEROLE")
	flag(a.InheritRole, true, "INHERIT", "NOINHERIT")
	flag(a.CanLogin, false, "LOGIN", "NOLOGIN")
	flag(a.IsReplicationRole, false, "REPLICATION", "NOREPLICATION")
	flag(a.CanBypassRLS, false, "BYPASSRLS", "NOBYPASSRLS")
	if a.ConnectionLimit.has() {
		out = append(out, "CONNECTION LIMIT "+strconv.FormatInt(a.ConnectionLimit.V, 10))
	} else if create {
		out = append(out, "CONNECTION LIMIT -1")
	}
	if a.Password.Set {
		if a.Password.Null {
			out = append(out, "PASSWORD NULL")
		} else {
			out = append(out, "PASSWORD "+literal(a.Password.V))
		}
	}
	if a.ValidUntil.has() {
		out = append(out, "VALID UNTIL "+literal(a.ValidUntil.V))
	}
	return out
}

func createRole(r *http.Request, w http.ResponseWriter) (writeOp, *apiError) {
	var b struct {
		Name opt[string] `json:"name"`
		roleAttrs
		MemberOf opt[[]string]          `json:"member_of"`
		Members  opt[[]string]          `json:"members"`
		Admins   opt[[]string]          `json:"admins"`
		Config   opt[map[string]string] `json:"config"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	if !b.Name.has() {
		return nil, required("name")
	}
	opts := b.options(true)
	if b.MemberOf.has() && len(b.MemberOf.V) > 0 {
		opts = append(opts, "IN ROLE "+identList(b.MemberOf.V))
	}
	if b.Members.has() && len(b.Members.V) > 0 {
		opts = append(opts, "ROLE "+identList(b.Members.V))
	}
	if b.Admins.has() && len(b.Admins.V) > 0 {
		opts = append(opts, "ADMIN "+identList(b.Admins.V))
	}
	stmts := []string{"CREATE ROLE " + ident(b.Name.V) + " WITH " + strings.Join(opts, " ")}
	keys := make([]string, 0, len(b.Config.V))
	for k := range b.Config.V {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := b.Config.V[k]; k != "" && v != "" {
			stmts = append(stmts, "ALTER ROLE "+ident(b.Name.V)+" SET "+ident(k)+" = "+configValue(v))
		}
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		id, err := lookupID(ctx, tx, notFound("Cannot find a role named %s", b.Name.V),
			"SELECT oid::int8 FROM pg_catalog.pg_roles WHERE rolname = $1", b.Name.V)
		if err != nil {
			return nil, err
		}
		return getByID(ctx, tx, "roles", id)
	}, nil
}

func roleName(ctx context.Context, tx pgx.Tx, id int64) (string, error) {
	var name string
	err := tx.QueryRow(ctx, "SELECT rolname::text FROM pg_catalog.pg_roles WHERE oid = $1::int8", id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("Cannot find a role with ID %d", id)
	}
	return name, err
}

func updateRole(r *http.Request, w http.ResponseWriter, id int64) (writeOp, *apiError) {
	var b struct {
		Name opt[string] `json:"name"`
		roleAttrs
		Config opt[[]struct {
			Op    string      `json:"op"`
			Path  string      `json:"path"`
			Value opt[string] `json:"value"`
		}] `json:"config"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	for _, c := range b.Config.V {
		if c.Path == "" {
			return nil, badRequest("Invalid config value %s", c.Value.V)
		}
		switch c.Op {
		case "add", "replace", "remove":
		default:
			return nil, badRequest("Invalid config op %s", c.Op)
		}
	}
	opts := b.options(false)
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		old, err := roleName(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		var stmts []string
		if len(opts) > 0 {
			stmts = append(stmts, "ALTER ROLE "+ident(old)+" WITH "+strings.Join(opts, " "))
		}
		for _, c := range b.Config.V {
			if c.Op == "remove" {
				stmts = append(stmts, "ALTER ROLE "+ident(old)+" RESET "+ident(c.Path))
			} else if c.Value.has() && c.Value.V != "" {
				stmts = append(stmts, "ALTER ROLE "+ident(old)+" SET "+ident(c.Path)+" = "+configValue(c.Value.V))
			} else {
				stmts = append(stmts, "ALTER ROLE "+ident(old)+" SET "+ident(c.Path)+" = DEFAULT")
			}
		}
		if b.Name.has() && b.Name.V != old {
			stmts = append(stmts, "ALTER ROLE "+ident(old)+" RENAME TO "+ident(b.Name.V))
		}
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		return getByID(ctx, tx, "roles", id)
	}, nil
}

func removeRole(r *http.Request, w http.ResponseWriter, id int64) (writeOp, *apiError) {
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		out, err := getByID(ctx, tx, "roles", id)
		if err != nil {
			return nil, err
		}
		name, err := roleName(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		return out, exec(ctx, tx, "DROP ROLE "+ident(name))
	}, nil
}

// ---------------------------------------------------------------- policies

func createPolicy(r *http.Request, w http.ResponseWriter) (writeOp, *apiError) {
	var b struct {
		Name       opt[string]   `json:"name"`
		Table      opt[string]   `json:"table"`
		Schema     opt[string]   `json:"schema"`
		Definition opt[string]   `json:"definition"`
		Check      opt[string]   `json:"check"`
		Action     opt[string]   `json:"action"`
		Command    opt[string]   `json:"command"`
		Roles      opt[[]string] `json:"roles"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	if !b.Name.has() {
		return nil, required("name")
	}
	if !b.Table.has() {
		return nil, required("table")
	}
	schema := "public"
	if b.Schema.has() {
		schema = b.Schema.V
	}
	action := "PERMISSIVE"
	if b.Action.has() {
		switch a := strings.ToUpper(b.Action.V); a {
		case "PERMISSIVE", "RESTRICTIVE":
			action = a
		default:
			return nil, badRequest("body/action must be PERMISSIVE or RESTRICTIVE")
		}
	}
	command := "ALL"
	if b.Command.has() {
		switch c := strings.ToUpper(b.Command.V); c {
		case "ALL", "SELECT", "INSERT", "UPDATE", "DELETE":
			command = c
		default:
			return nil, badRequest("body/command must be one of ALL, SELECT, INSERT, UPDATE, DELETE")
		}
	}
	roles := []string{"public"}
	if b.Roles.has() && len(b.Roles.V) > 0 {
		roles = b.Roles.V
	}
	stmt := "CREATE POLICY " + ident(b.Name.V) + " ON " + ident(schema, b.Table.V) +
		" AS " + action + " FOR " + command + " TO " + roleList(roles)
	if b.Definition.has() {
		stmt += " USING (" + b.Definition.V + ")"
	}
	if b.Check.has() {
		stmt += " WITH CHECK (" + b.Check.V + ")"
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		if err := exec(ctx, tx, stmt); err != nil {
			return nil, err
		}
		id, err := lookupID(ctx, tx, notFound("Cannot find a policy named %s for table %s.%s", b.Name.V, schema, b.Table.V), `
SELECT pol.oid::int8 FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND pol.polname = $3`, schema, b.Table.V, b.Name.V)
		if err != nil {
			return nil, err
		}
		return getByID(ctx, tx, "policies", id)
	}, nil
}

// roleList renders policy roles; "public" (any case, as postgres-meta's
// roles list shows it) is the PUBLIC keyword, every other name is quoted.
func roleList(roles []string) string {
	out := make([]string, len(roles))
	for i, r := range roles {
		if strings.EqualFold(r, "public") {
			out[i] = "PUBLIC"
		} else {
			out[i] = ident(r)
		}
	}
	return strings.Join(out, ", ")
}

func policyNames(ctx context.Context, tx pgx.Tx, id int64) (name, schema, table string, err error) {
	err = tx.QueryRow(ctx, `
SELECT pol.polname::text, n.nspname::text, c.relname::text FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE pol.oid = $1::int8`, id).Scan(&name, &schema, &table)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", "", notFound("Cannot find a policy with ID %d", id)
	}
	return name, schema, table, err
}

func updatePolicy(r *http.Request, w http.ResponseWriter, id int64) (writeOp, *apiError) {
	var b struct {
		Name       opt[string]   `json:"name"`
		Definition opt[string]   `json:"definition"`
		Check      opt[string]   `json:"check"`
		Roles      opt[[]string] `json:"roles"`
	}
	if aerr := decodeBody(r, w, &b); aerr != nil {
		return nil, aerr
	}
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		name, schema, table, err := policyNames(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		alter := "ALTER POLICY " + ident(name) + " ON " + ident(schema, table)
		var stmts []string
		if b.Definition.has() {
			stmts = append(stmts, alter+" USING ("+b.Definition.V+")")
		}
		if b.Check.has() {
			stmts = append(stmts, alter+" WITH CHECK ("+b.Check.V+")")
		}
		if b.Roles.has() && len(b.Roles.V) > 0 {
			stmts = append(stmts, alter+" TO "+roleList(b.Roles.V))
		}
		if b.Name.has() && b.Name.V != name {
			stmts = append(stmts, alter+" RENAME TO "+ident(b.Name.V))
		}
		if err := execAll(ctx, tx, stmts); err != nil {
			return nil, err
		}
		return getByID(ctx, tx, "policies", id)
	}, nil
}

func removePolicy(r *http.Request, w http.ResponseWriter, id int64) (writeOp, *apiError) {
	return func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
		out, err := getByID(ctx, tx, "policies", id)
		if err != nil {
			return nil, err
		}
		name, schema, table, err := policyNames(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		return out, exec(ctx, tx, "DROP POLICY "+ident(name)+" ON "+ident(schema, table))
	}, nil
}
