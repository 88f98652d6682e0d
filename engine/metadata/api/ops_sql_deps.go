package api

import (
	"fmt"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// What a run_sql did to the tracked tables, found as Hasura finds it
// (RQL/DDL/Schema/Diff.hs): tables by OID, columns by attnum. A table
// whose OID is gone was dropped; a column whose attnum is gone was
// dropped; one whose attnum keeps its name but not its type was altered.
// The permissions that depend on what was dropped are the dependents
// run_sql refuses to break (or drops, with cascade); those that compare
// an altered column to a static value refuse the change outright.

// tablesDiff is a run_sql's change to the tracked tables, by their names
// before it.
type tablesDiff struct {
	dropped        map[metadata.QualifiedName]bool
	droppedColumns map[metadata.QualifiedName]map[string]bool
	retyped        []tableColumn // in table, then column order
}

type tableColumn struct {
	table  metadata.QualifiedName
	column string
}

func diffTables(src *metadata.Source, before, after *catalog.Catalog) tablesDiff {
	d := tablesDiff{dropped: map[metadata.QualifiedName]bool{}, droppedColumns: map[metadata.QualifiedName]map[string]bool{}}
	if before == nil {
		return d
	}
	byOID := tablesByOID(after)
	for _, tbl := range src.Tables {
		was, ok := before.Table(tbl.Table.Schema, tbl.Table.Name)
		if !ok {
			continue
		}
		now, ok := byOID[was.OID]
		if !ok {
			d.dropped[tbl.Table] = true
			continue
		}
		byPosition := map[int]*catalog.Column{}
		for _, c := range now.Columns {
			byPosition[c.Position] = c
		}
		for _, oc := range was.Columns {
			nc, ok := byPosition[oc.Position]
			switch {
			case !ok:
				if d.droppedColumns[tbl.Table] == nil {
					d.droppedColumns[tbl.Table] = map[string]bool{}
				}
				d.droppedColumns[tbl.Table][oc.Name] = true
			case nc.Name == oc.Name && (nc.TypeName != oc.TypeName || nc.IsArray != oc.IsArray):
				d.retyped = append(d.retyped, tableColumn{tbl.Table, oc.Name})
			}
		}
	}
	return d
}

// breaks reports whether dropping what d drops breaks dep.
func (d tablesDiff) breaks(dep schemacache.Dependency) bool {
	return d.dropped[dep.Table] || dep.Kind == schemacache.DepColumn && d.droppedColumns[dep.Table][dep.Name]
}

// dependents are the permissions, of tables that stay, that depend on
// what d drops (Hasura's getIndirectDependenciesFromTableDiff).
func (d tablesDiff) dependents(perms []schemacache.PermissionDeps) []schemacache.PermissionDeps {
	var out []schemacache.PermissionDeps
	for _, p := range perms {
		if !d.dropped[p.Table] && p.DependsOn(d.breaks) {
			out = append(out, p)
		}
	}
	return out
}

// typeChangeError refuses a column type change that permissions comparing
// the column to static values depend on (alterColumnsInMetadata): the
// first such column is reported.
func (d tablesDiff) typeChangeError(source string, perms []schemacache.PermissionDeps) *apierr.Error {
	for _, tc := range d.retyped {
		var deps []string
		for _, p := range perms {
			if p.DependsOn(func(dep schemacache.Dependency) bool {
				return dep.OnType && dep.Kind == schemacache.DepColumn && dep.Table == tc.table && dep.Name == tc.column
			}) {
				deps = append(deps, schemacache.PermissionDependent(source, p.Table, p.Role, p.Kind))
			}
		}
		if len(deps) > 0 {
			return apierr.BadRequest("dependency-error", "cannot change type of column %s in table %s because of the following dependencies: %s",
				dquote(tc.column), dquote(schemacache.DisplayName(tc.table)), reportObjects(deps)).WithPath("$.args")
		}
	}
	return nil
}

// permissionDependents are the permissions of src whose dependencies
// match f, named as a dependency-error names them. With drop, they are
// removed from src too.
func permissionDependents(src *metadata.Source, perms []schemacache.PermissionDeps, f func(schemacache.PermissionDeps) bool, drop bool) []string {
	var names []string
	for _, p := range perms {
		if !f(p) {
			continue
		}
		names = append(names, schemacache.PermissionDependent(src.Name, p.Table, p.Role, p.Kind))
		if drop {
			schemacache.DropPermission(src, p.PermissionRef)
		}
	}
	return names
}

func dquote(s string) string { return fmt.Sprintf(`"%s"`, s) }
