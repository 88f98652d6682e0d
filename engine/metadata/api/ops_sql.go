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
// objects the change would break are dropped with `cascade` or else undo
// the whole statement with a dependency-error. Metadata never silently
// points at something that is gone.
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

	// Renames: a tracked table whose OID now carries another name.
	if before != nil {
		byOID := map[uint32]*catalog.Table{}
		for _, ct := range after.Tables {
			byOID[ct.OID] = ct
		}
		for _, tbl := range src.Tables {
			was, ok := before.Table(tbl.Table.Schema, tbl.Table.Name)
			if !ok {
				continue
			}
			if now, ok := byOID[was.OID]; ok && (now.Name.Schema != tbl.Table.Schema || now.Name.Name != tbl.Table.Name) {
				renameTable(src, tbl.Table, metadata.QualifiedName{Schema: now.Name.Schema, Name: now.Name.Name})
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
				deps = append(deps, fmt.Sprintf("relationship %s.%s in source %q", schemacache.DisplayName(d.table.Table), d.rel.Name, src.Name))
				d.table.ObjectRelationships = without(d.table.ObjectRelationships, d.rel)
				d.table.ArrayRelationships = without(d.table.ArrayRelationships, d.rel)
			}
		}
		src.Tables = removeTable(src.Tables, tbl.Table)
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
	known := map[string]bool{}
	for _, o := range old {
		known[o.Name] = true
	}
	var broken []schemacache.InconsistentObject
	for _, o := range schemacache.Check(src, after) {
		if !known[o.Name] {
			broken = append(broken, o)
			deps = append(deps, o.Name)
		}
	}
	if len(deps) > 0 && !cascade {
		return dependencyError(deps)
	}
	dropObjects(src, broken)
	return nil
}

// renameTable renames a tracked table and every reference to it.
func renameTable(src *metadata.Source, from, to metadata.QualifiedName) {
	for _, tbl := range src.Tables {
		if tbl.Table == from {
			tbl.Table = to
		}
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
