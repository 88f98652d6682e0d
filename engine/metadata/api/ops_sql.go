package api

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/runsql"
	"github.com/strata-dev/strata/engine/schemacache"
)

// runSQL is run_sql. When the SQL may change the schema, the catalog is
// read again inside its transaction and the metadata follows the change
// before COMMIT: renamed tables are renamed, dropped tables untracked, and
// objects the change would break (relationships, computed fields,
// permissions on dropped columns: ops_sql_deps.go) are dropped with
// `cascade` or else undo the whole statement with a dependency-error.
// Metadata never silently points at something that is gone.
func runSQL(ctx context.Context, t *txn, req *request) (any, error) {
	args, perr := runsql.ParseArgs(req.Args)
	if perr != nil {
		return nil, perr
	}
	src, before, err := t.source(ctx, args.Source)
	if err != nil {
		return nil, err
	}
	snap := t.base.Sources[src.Name]
	if snap == nil || snap.Pool == nil {
		return nil, badRequest(apierr.CodeInvalidConfig, "source %q is inconsistent", src.Name)
	}
	if !args.ReadOnly {
		t.sideEffects = true
	}
	tx, err := t.sqlTx(ctx, src.Name, snap.Pool, args.ReadOnly)
	if err != nil {
		return nil, err
	}
	if !runsql.NeedsConsistencyCheck(args) {
		res, aerr := tx.Exec(args, nil)
		if aerr != nil {
			return nil, aerr
		}
		if !args.ReadOnly {
			// CREATE TABLE and the like pass Hasura's heuristic: nothing
			// tracked can break, but the request's next operations must
			// see the new objects.
			delete(t.catalogs, src.Name)
		}
		return res, nil
	}
	var after *catalog.Catalog
	check := func(ctx context.Context, conn *pgx.Conn) *apierr.Error {
		cat, err := catalog.Load(ctx, conn, catalog.Options{})
		if err != nil {
			return apierr.Internal()
		}
		if aerr := t.followSchema(src, before, cat, args.Cascade); aerr != nil {
			return aerr
		}
		after = cat
		return nil
	}
	res, aerr := tx.Exec(args, check)
	if aerr != nil {
		return nil, aerr
	}
	t.catalogs[src.Name] = after
	t.changed = true
	return res, nil
}

// followSchema updates src's metadata for a catalog change from before to
// after.
func (t *txn) followSchema(src *metadata.Source, before, after *catalog.Catalog, cascade bool) *apierr.Error {
	old := schemacache.Check(src, before)
	// What the permissions depend on, and what the change drops, as the
	// tables were named before it.
	var perms []schemacache.PermissionDeps
	if before != nil {
		perms = schemacache.PermissionDependencies(src, before)
	}
	diff := diffTables(src, before, after)
	renamed := map[metadata.QualifiedName]metadata.QualifiedName{}

	// Renames: a tracked table whose OID now carries another name.
	if before != nil {
		byOID := tablesByOID(after)
		for _, tbl := range src.Tables {
			was, ok := before.Table(tbl.Table.Schema, tbl.Table.Name)
			if !ok {
				continue
			}
			if now, ok := byOID[was.OID]; ok && (now.Name.Schema != tbl.Table.Schema || now.Name.Name != tbl.Table.Name) {
				to := metadata.QualifiedName{Schema: now.Name.Schema, Name: now.Name.Name}
				renamed[tbl.Table] = to
				renameTable(src, tbl.Table, to)
			}
		}
		findColumnRenames(src, before, after).apply(src, after)
	}

	// Dropped tables leave the metadata; what pointed at them is a
	// dependent, removed here too (the request fails below unless
	// cascade allows it, and then this copy is thrown away).
	var deps []string
	for _, tbl := range append([]*metadata.Table(nil), src.Tables...) {
		if _, ok := after.Table(tbl.Table.Schema, tbl.Table.Name); ok {
			continue
		}
		for _, d := range dependentRelationships(src, before, tbl.Table) {
			if _, kept := after.Table(d.table.Table.Schema, d.table.Table.Name); kept {
				deps = append(deps, schemacache.RelationshipDependent(src.Name, d.table.Table, d.rel.Name))
				d.table.ObjectRelationships = without(d.table.ObjectRelationships, d.rel)
				d.table.ArrayRelationships = without(d.table.ArrayRelationships, d.rel)
			}
		}
		src.Tables = removeTable(src.Tables, tbl.Table)
	}

	// Permissions of the tables that stay that depend on a dropped table
	// or column, named as they were.
	for _, p := range diff.dependents(perms) {
		deps = append(deps, schemacache.PermissionDependent(src.Name, p.Table, p.Role, p.Kind))
		ref := p.PermissionRef
		if to, ok := renamed[ref.Table]; ok {
			ref.Table = to
		}
		schemacache.DropPermission(src, ref)
	}

	// Dropped functions leave the metadata too; computed fields built on
	// them are dependents.
	kept := src.Functions[:0]
	for _, f := range src.Functions {
		if len(after.Function(f.Function.Schema, f.Function.Name)) > 0 {
			kept = append(kept, f)
		}
	}
	src.Functions = kept
	for _, tbl := range src.Tables {
		for _, c := range append([]*metadata.ComputedField(nil), tbl.ComputedFields...) {
			var def computedFieldDefinition
			if json.Unmarshal(c.Definition, &def) == nil && len(after.Function(def.Function.Schema, def.Function.Name)) == 0 {
				deps = append(deps, fmt.Sprintf("computed field %s.%s in source %q", schemacache.DisplayName(tbl.Table), c.Name, src.Name))
				tbl.ComputedFields = withoutComputed(tbl.ComputedFields, c)
			}
		}
	}

	// Anything else the change broke (a column a relationship used, ...).
	// Permissions are not among them: those that depend on what was
	// dropped are above, and one broken otherwise (by a relationship
	// dropped here, say) is left to the check of new inconsistencies, as
	// in Hasura.
	known := map[string]bool{}
	for _, o := range old {
		known[o.Name] = true
	}
	var broken []schemacache.InconsistentObject
	for _, o := range schemacache.Check(src, after) {
		if !known[o.Name] && o.Permission == nil {
			broken = append(broken, o)
			name := o.Dependent
			if name == "" {
				name = o.Name
			}
			deps = append(deps, name)
		}
	}
	if len(deps) > 0 && !cascade {
		return dependencyError(deps)
	}
	if err := diff.typeChangeError(src.Name, perms); err != nil {
		return err
	}
	dropObjects(src, broken)
	return nil
}

// renameTable renames a tracked table and every reference to it: in
// relationships and in the _exists of permissions.
func renameTable(src *metadata.Source, from, to metadata.QualifiedName) {
	for _, tbl := range src.Tables {
		if tbl.Table == from {
			tbl.Table = to
		}
		renameExistsTables(tbl, from, to)
		for _, list := range [][]*metadata.Relationship{tbl.ObjectRelationships, tbl.ArrayRelationships} {
			for _, r := range list {
				r.Using = schemacache.MapUsingTables(r.Using, func(q metadata.QualifiedName) metadata.QualifiedName {
					if q == from {
						return to
					}
					return q
				})
			}
		}
	}
}

// renameExistsTables renames the table of every _exists in tbl's
// permissions from one name to another.
func renameExistsTables(tbl *metadata.Table, from, to metadata.QualifiedName) {
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k, e := range x {
				if ex, ok := e.(map[string]any); ok && (k == "_exists" || k == "$exists") {
					var q metadata.QualifiedName
					if raw, err := json.Marshal(ex["_table"]); err == nil && json.Unmarshal(raw, &q) == nil && q == from {
						ex["_table"] = map[string]any{"schema": to.Schema, "name": to.Name}
					}
				}
				x[k] = walk(e)
			}
		}
		return v
	}
	rewritePermissionExps(tbl, walk)
}

// rewritePermissionExps rewrites every boolean expression of tbl's
// permissions (insert check, select filter, update filter and check,
// delete filter) with walk (see rewriteJSON).
func rewritePermissionExps(tbl *metadata.Table, walk func(any) any) {
	exp := func(raw json.RawMessage) json.RawMessage { return rewriteJSON(raw, walk) }
	for _, p := range tbl.InsertPermissions {
		p.Permission.Check = exp(p.Permission.Check)
	}
	for _, p := range tbl.SelectPermissions {
		p.Permission.Filter = exp(p.Permission.Filter)
	}
	for _, p := range tbl.UpdatePermissions {
		p.Permission.Filter = exp(p.Permission.Filter)
		p.Permission.Check = exp(p.Permission.Check)
	}
	for _, p := range tbl.DeletePermissions {
		p.Permission.Filter = exp(p.Permission.Filter)
	}
}

// dropObjects removes relationships reported broken (tables are handled
// by the caller).
func dropObjects(src *metadata.Source, objs []schemacache.InconsistentObject) {
	for _, o := range objs {
		def, ok := o.Definition.(map[string]any)
		if !ok {
			continue
		}
		q, _ := def["table"].(metadata.QualifiedName)
		if tbl, ok := src.Table(q); ok {
			if r, list, ok := findRelationship(tbl, fmt.Sprint(def["name"])); ok {
				*list = without(*list, r)
			}
		}
	}
}

func withoutComputed(cs []*metadata.ComputedField, c *metadata.ComputedField) []*metadata.ComputedField {
	out := cs[:0]
	for _, x := range cs {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}
