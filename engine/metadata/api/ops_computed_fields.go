package api

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

type computedFieldArgs struct {
	Source     string                 `json:"source"`
	Table      metadata.QualifiedName `json:"table"`
	Name       string                 `json:"name"`
	Definition json.RawMessage        `json:"definition"`
	Comment    *string                `json:"comment"`
	Cascade    bool                   `json:"cascade"`
}

// computedFieldDefinition is what a computed field's definition names.
type computedFieldDefinition struct {
	Function        metadata.QualifiedName `json:"function"`
	TableArgument   *string                `json:"table_argument"`
	SessionArgument *string                `json:"session_argument"`
}

// addComputedField exposes a function as a field of a table. The function
// must exist, be the only one of its name, and take the table's row as the
// table argument (named, or its first argument).
func addComputedField(ctx context.Context, t *txn, req *request) (any, error) {
	var a computedFieldArgs
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	if a.Name == "" {
		return nil, badRequest(apierr.CodeParseFailed, `key "name" not found`)
	}
	var def computedFieldDefinition
	if isNull(a.Definition) || json.Unmarshal(a.Definition, &def) != nil || def.Function.Name == "" {
		return nil, badRequest(apierr.CodeParseFailed, `key "function" not found`).WithPath("$.args.definition")
	}
	_, cat, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
	if err != nil {
		return nil, err
	}
	for _, c := range tbl.ComputedFields {
		if c.Name == a.Name {
			return nil, badRequest(apierr.CodeAlreadyExists, "computed field %q already exists", a.Name)
		}
	}
	if cat != nil {
		if ct, ok := cat.Table(a.Table.Schema, a.Table.Name); ok {
			if _, clash := ct.Column(a.Name); clash {
				return nil, badRequest(apierr.CodeAlreadyExists, "column/computed field %q of table %q already exists", a.Name, schemacache.DisplayName(a.Table))
			}
		}
		if reason := checkComputedFunction(cat, a.Table, def); reason != "" {
			return nil, badRequest(apierr.CodeInvalidConfig, "in table %q: in computed field %q: %s", schemacache.DisplayName(a.Table), a.Name, reason)
		}
	}
	tbl.ComputedFields = append(tbl.ComputedFields, &metadata.ComputedField{Name: a.Name, Definition: a.Definition, Comment: a.Comment})
	t.changed = true
	return success, nil
}

// checkComputedFunction says why a function cannot back a computed field
// of table, or "".
func checkComputedFunction(cat *catalog.Catalog, table metadata.QualifiedName, def computedFieldDefinition) string {
	fns := cat.Function(def.Function.Schema, def.Function.Name)
	switch {
	case len(fns) == 0:
		return fmt.Sprintf("no such function exists: %q", schemacache.DisplayName(def.Function))
	case len(fns) > 1:
		return fmt.Sprintf("function %q is overloaded. Overloaded functions are not supported", schemacache.DisplayName(def.Function))
	}
	f := fns[0]
	argIndex := func(name string) int {
		for i, a := range f.Args {
			if a.Name == name {
				return i
			}
		}
		return -1
	}
	tableArg := 0
	if def.TableArgument != nil {
		if tableArg = argIndex(*def.TableArgument); tableArg < 0 {
			return fmt.Sprintf("the computed field function has no argument named %q", *def.TableArgument)
		}
	}
	if len(f.Args) == 0 {
		return "the function has no arguments; its first must be the table's row type"
	}
	if ta := f.Args[tableArg]; ta.TypeName.Schema != table.Schema || ta.TypeName.Name != table.Name || ta.IsArray {
		return fmt.Sprintf("the table argument of the function must be of type %q, not %q", schemacache.DisplayName(table), ta.Type)
	}
	if def.SessionArgument != nil {
		i := argIndex(*def.SessionArgument)
		if i < 0 {
			return fmt.Sprintf("the computed field function has no argument named %q", *def.SessionArgument)
		}
		if n := f.Args[i].TypeName.Name; f.Args[i].TypeName.Schema != "pg_catalog" || (n != "json" && n != "jsonb") {
			return fmt.Sprintf("session argument %q must be of type json or jsonb", *def.SessionArgument)
		}
	}
	return ""
}

func dropComputedField(ctx context.Context, t *txn, req *request) (any, error) {
	var a computedFieldArgs
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	src, cat, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
	if err != nil {
		return nil, err
	}
	for i, c := range tbl.ComputedFields {
		if c.Name == a.Name {
			// The permissions that use it go with it, with cascade.
			uses := func(p schemacache.PermissionDeps) bool {
				return p.DependsOn(func(d schemacache.Dependency) bool {
					return d.Kind == schemacache.DepComputedField && d.Table == a.Table && d.Name == a.Name
				})
			}
			if deps := permissionDependents(src, schemacache.PermissionDependencies(src, cat), uses, a.Cascade); len(deps) > 0 && !a.Cascade {
				return nil, dependencyError(deps)
			}
			tbl.ComputedFields = append(tbl.ComputedFields[:i], tbl.ComputedFields[i+1:]...)
			t.changed = true
			return success, nil
		}
	}
	return nil, notExists("computed field %q does not exist", a.Name)
}
