package api

import (
	"encoding/json"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schema"
	"github.com/strata-dev/strata/engine/schemacache"
)

// The v1 data API's insert, update and delete for roles other than
// admin, as Hasura's RQL/DML does: the role's permission of the kind
// must exist, its session variables are filled in from the session
// (one missing is Hasura's missing-header error), and the compiler gets
// it as a compile.Perm, which limits columns, applies presets, ANDs the
// filter and checks the written rows inside the statement. The where of
// an update or delete is read under the role's select permission, as a
// select's is, and returning names only columns the role may select.

// roleStatement compiles a v1 data operation for a non-admin session.
// perms resolves the role's permissions as the GraphQL schema does, so an
// inherited role has the same ones on both APIs.
func roleStatement(src *metadata.Source, cs *compile.Schema, perms *schema.Permissions, sess *auth.Session, op string, args json.RawMessage) (*compile.Statement, error) {
	r := &rewriter{src: src, schema: cs, perms: perms, sess: sess}
	switch op {
	case "select", "count":
		args, err := r.forRole(args, op == "count")
		if err != nil {
			return nil, err
		}
		if op == "count" {
			return compile.V1Count(cs, args)
		}
		return compile.V1Select(cs, args)
	}
	var a map[string]json.RawMessage
	var name metadata.QualifiedName
	if json.Unmarshal(args, &a) != nil || json.Unmarshal(a["table"], &name) != nil {
		return compileWrite(op, cs, args, &compile.Perm{Role: sess.Role}) // the compiler reports the shape
	}
	t, tp := cs.Tables[name], perms.Of(sess.Role, name)
	if t == nil || tp == nil {
		return compileWrite(op, cs, args, &compile.Perm{Role: sess.Role}) // the compiler reports the table
	}
	var p *compile.Perm
	var err error
	switch op {
	case "insert":
		p, err = r.insertPerm(t, tp, !isNull(a["returning"]), !isNull(a["on_conflict"]))
	case "update":
		p, err = r.updatePerm(t, tp)
	case "delete":
		p, err = r.deletePerm(t, tp)
	}
	if err != nil {
		return nil, err
	}
	if op != "insert" {
		if p.Select == nil {
			// Hasura's update and delete read where under the select
			// permission, so they need one.
			_, err := r.permission(name)
			return nil, withSuffix(err, "; \""+op+"\" is only allowed if the role has \"select\" permission as \"where\" can't be used without \"select\" permission on the table")
		}
		if where, ok := a["where"]; ok {
			if a["where"], err = r.readable(t, where, "$.args.where"); err != nil {
				return nil, err
			}
			if args, err = json.Marshal(a); err != nil {
				return nil, err
			}
		}
	}
	return compileWrite(op, cs, args, p)
}

func compileWrite(op string, schema *compile.Schema, args json.RawMessage, p *compile.Perm) (*compile.Statement, error) {
	switch op {
	case "insert":
		return compile.V1InsertFor(schema, args, p)
	case "update":
		return compile.V1UpdateFor(schema, args, p)
	}
	return compile.V1DeleteFor(schema, args, p)
}

// notAllowed is Hasura's answer when the role has no permission of the
// kind on the table.
func (r *rewriter) notAllowed(kind string, name metadata.QualifiedName) *apierr.Error {
	return badRequest(apierr.CodePermissionDenied, "%s on %q for role %q is not allowed. ", kind, schemacache.DisplayName(name), r.sess.Role)
}

// insertPerm is the role's insert permission; returning needs its select
// permission, on_conflict its update permission (refused later, in
// order, when it has none).
func (r *rewriter) insertPerm(t *compile.Table, tp *schema.TablePermissions, returning, onConflict bool) (*compile.Perm, error) {
	ip := tp.Insert
	if ip == nil {
		return nil, r.notAllowed("insert", t.Name)
	}
	p := &compile.Perm{Role: r.sess.Role}
	var err error
	if p.Presets, err = r.presets(ip.Set); err != nil {
		return nil, err
	}
	if p.Check, err = r.fillJSON(ip.Check); err != nil {
		return nil, err
	}
	p.Columns = writable(t, ip.Columns, p.Presets)
	if returning {
		sp, err := r.permission(t.Name)
		if err != nil {
			return nil, withSuffix(err, "; \"returning\" can only be used if the role has \"select\" permission on the table")
		}
		p.Select = readableColumns(t, sp)
	}
	if onConflict {
		if p.Update, err = r.updatePerm(t, tp); err != nil {
			if e, ok := err.(*apierr.Error); ok && e.Code == apierr.CodePermissionDenied {
				p.Update, err = nil, nil // the compiler refuses the upsert in its turn
			} else {
				return nil, err
			}
		}
	}
	return p, nil
}

// updatePerm is the role's update permission, with its select
// permission's columns (nil Select when it has none).
func (r *rewriter) updatePerm(t *compile.Table, tp *schema.TablePermissions) (*compile.Perm, error) {
	up := tp.Update
	if up == nil {
		return nil, r.notAllowed("update", t.Name)
	}
	p := &compile.Perm{Role: r.sess.Role}
	var err error
	if p.Filter, err = r.fillJSON(up.Filter); err != nil {
		return nil, err
	}
	if p.Presets, err = r.presets(up.Set); err != nil {
		return nil, err
	}
	if p.Check, err = r.fillJSON(up.Check); err != nil {
		return nil, err
	}
	p.Columns = writable(t, up.Columns, p.Presets)
	if sp, err := r.permission(t.Name); err == nil {
		p.Select = readableColumns(t, sp)
	}
	return p, nil
}

// deletePerm is the role's delete permission, with its select
// permission's columns (nil Select when it has none).
func (r *rewriter) deletePerm(t *compile.Table, tp *schema.TablePermissions) (*compile.Perm, error) {
	dp := tp.Delete
	if dp == nil {
		return nil, r.notAllowed("delete", t.Name)
	}
	p := &compile.Perm{Role: r.sess.Role}
	var err error
	if p.Filter, err = r.fillJSON(dp.Filter); err != nil {
		return nil, err
	}
	if sp, err := r.permission(t.Name); err == nil {
		p.Select = readableColumns(t, sp)
	}
	return p, nil
}

// writable is the set of columns a permission lets the role give: its
// columns ("*" or absent: all of the table's), less its presets.
func writable(t *compile.Table, spec json.RawMessage, presets map[string]json.RawMessage) map[string]bool {
	cols := map[string]bool{}
	var list []string
	if isNull(spec) || json.Unmarshal(spec, &list) != nil { // "*"
		for _, c := range t.Catalog.Columns {
			cols[c.Name] = true
		}
	} else {
		for _, c := range list {
			if _, ok := t.Catalog.Column(c); ok {
				cols[c] = true
			}
		}
	}
	for c := range presets {
		delete(cols, c)
	}
	return cols
}

// readableColumns is the set of columns a select permission shows.
func readableColumns(t *compile.Table, sp *rolePerm) map[string]bool {
	cols := map[string]bool{}
	for _, c := range t.Catalog.Columns {
		if sp.allows(c.Name) {
			cols[c.Name] = true
		}
	}
	return cols
}

// presets are a permission's column presets, session variables filled in.
func (r *rewriter) presets(set json.RawMessage) (map[string]json.RawMessage, error) {
	if isNull(set) {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(set, &raw); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(raw))
	for col, v := range raw {
		filled, err := r.fillJSON(v)
		if err != nil {
			return nil, err
		}
		out[col] = filled
	}
	return out, nil
}

// fillJSON is a permission's JSON with its session variables filled in;
// nil stays nil.
func (r *rewriter) fillJSON(raw json.RawMessage) (json.RawMessage, error) {
	if isNull(raw) {
		return nil, nil
	}
	v, err := decodeNumbers(raw)
	if err != nil {
		return nil, err
	}
	if v, err = r.fill(v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// withSuffix appends Hasura's explanation to a permission error.
func withSuffix(err error, suffix string) error {
	if e, ok := err.(*apierr.Error); ok {
		c := *e
		c.Message += suffix
		return &c
	}
	return err
}
