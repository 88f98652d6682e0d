package api

import (
	"context"
	"encoding/json"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// trackTableArgs accepts /v1/query's {schema, name} and the metadata API's
// {table, source, configuration}.
type trackTableArgs struct {
	Source        string                  `json:"source"`
	Table         *metadata.QualifiedName `json:"table"`
	Schema        *string                 `json:"schema"`
	Name          *string                 `json:"name"`
	IsEnum        bool                    `json:"is_enum"`
	Configuration json.RawMessage         `json:"configuration"`
}

func (a *trackTableArgs) qualified() (metadata.QualifiedName, error) {
	return qualifiedArg(a.Table, a.Schema, a.Name, "table")
}

// qualifiedArg reads an object's name from the metadata API's form
// ({key: name}) or /v1/query's older one ({schema, name}, schema public
// by default).
func qualifiedArg(q *metadata.QualifiedName, schema, name *string, key string) (metadata.QualifiedName, error) {
	if q != nil {
		return *q, nil
	}
	if name == nil {
		return metadata.QualifiedName{}, badRequest(apierr.CodeParseFailed, "key %q not found", key)
	}
	out := metadata.QualifiedName{Schema: "public", Name: *name}
	if schema != nil {
		out.Schema = *schema
	}
	return out, nil
}

func trackTable(ctx context.Context, t *txn, req *request) (any, error) {
	var a trackTableArgs
	if aeson.Kind(req.Args) == "String" {
		// /v1/query takes a bare table name too.
		var name string
		_ = json.Unmarshal(req.Args, &name)
		a.Name = &name
	} else if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	q, err := a.qualified()
	if err != nil {
		return nil, err
	}
	src, cat, err := t.source(ctx, t.sourceOf(req, a.Source))
	if err != nil {
		return nil, err
	}
	if _, ok := src.Table(q); ok {
		return nil, badRequest(apierr.CodeAlreadyTracked, "view/table already tracked: %q", schemacache.DisplayName(q))
	}
	if cat == nil {
		return nil, badRequest(apierr.CodeInvalidConfig, "source %q is inconsistent", src.Name)
	}
	if _, ok := cat.Table(q.Schema, q.Name); !ok {
		return nil, badRequest(apierr.CodeNotExists, "no such table/view exists in source: %q", schemacache.DisplayName(q))
	}
	for _, f := range src.Functions {
		if f.Function == q {
			return nil, badRequest(apierr.CodeNotSupported, "function with name %q already exists", schemacache.DisplayName(q))
		}
	}
	src.Tables = append(src.Tables, &metadata.Table{Table: q, IsEnum: a.IsEnum, Configuration: a.Configuration})
	t.changed = true
	t.target = schemacache.TableObject(src.Name, q)
	return success, nil
}

type untrackTableArgs struct {
	trackTableArgs
	Cascade bool `json:"cascade"`
}

func untrackTable(ctx context.Context, t *txn, req *request) (any, error) {
	var a untrackTableArgs
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	q, err := a.qualified()
	if err != nil {
		return nil, err
	}
	src, cat, err := t.source(ctx, t.sourceOf(req, a.Source))
	if err != nil {
		return nil, err
	}
	if _, ok := src.Table(q); !ok {
		return nil, badRequest("already-untracked", "view/table already untracked: %q", schemacache.DisplayName(q))
	}
	deps := dependentRelationships(src, cat, q)
	names := make([]string, len(deps))
	for i, d := range deps {
		names[i] = schemacache.RelationshipDependent(src.Name, d.table.Table, d.rel.Name)
	}
	// Permissions of other tables that reach into it (through a
	// relationship or _exists) depend on it too.
	reaches := func(p schemacache.PermissionDeps) bool {
		return p.Table != q && p.DependsOn(func(d schemacache.Dependency) bool { return d.Table == q })
	}
	names = append(names, permissionDependents(src, schemacache.PermissionDependencies(src, cat), reaches, a.Cascade)...)
	if len(names) > 0 && !a.Cascade {
		return nil, dependencyError(names)
	}
	for _, d := range deps {
		d.table.ObjectRelationships = without(d.table.ObjectRelationships, d.rel)
		d.table.ArrayRelationships = without(d.table.ArrayRelationships, d.rel)
	}
	src.Tables = removeTable(src.Tables, q)
	t.changed = true
	return success, nil
}

type relRef struct {
	table *metadata.Table
	rel   *metadata.Relationship
}

// dependentRelationships lists relationships of other tables that point
// at q.
func dependentRelationships(src *metadata.Source, cat *catalog.Catalog, q metadata.QualifiedName) []relRef {
	var out []relRef
	for _, tbl := range src.Tables {
		if tbl.Table == q {
			continue
		}
		for _, list := range [][]*metadata.Relationship{tbl.ObjectRelationships, tbl.ArrayRelationships} {
			for _, r := range list {
				if target, ok := relationshipTarget(cat, tbl, r); ok && target == q {
					out = append(out, relRef{tbl, r})
				}
			}
		}
	}
	return out
}

// relationshipTarget is the table a relationship of tbl leads to.
func relationshipTarget(cat *catalog.Catalog, tbl *metadata.Table, r *metadata.Relationship) (metadata.QualifiedName, bool) {
	var ct *catalog.Table
	if cat != nil {
		ct, _ = cat.Table(tbl.Table.Schema, tbl.Table.Name)
	}
	return schemacache.RelationshipTarget(ct, r)
}

func removeTable(ts []*metadata.Table, q metadata.QualifiedName) []*metadata.Table {
	out := ts[:0]
	for _, t := range ts {
		if t.Table != q {
			out = append(out, t)
		}
	}
	return out
}

func without(rs []*metadata.Relationship, r *metadata.Relationship) []*metadata.Relationship {
	out := rs[:0]
	for _, x := range rs {
		if x != r {
			out = append(out, x)
		}
	}
	return out
}

type setIsEnumArgs struct {
	Source string                 `json:"source"`
	Table  metadata.QualifiedName `json:"table"`
	IsEnum bool                   `json:"is_enum"`
}

func setTableIsEnum(ctx context.Context, t *txn, req *request) (any, error) {
	var a setIsEnumArgs
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	src, _, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
	if err != nil {
		return nil, err
	}
	tbl.IsEnum = a.IsEnum
	t.changed = true
	t.target = schemacache.TableObject(src.Name, a.Table)
	return success, nil
}

type setCustomizationArgs struct {
	Source        string                 `json:"source"`
	Table         metadata.QualifiedName `json:"table"`
	Configuration json.RawMessage        `json:"configuration"`
}

func setTableCustomization(ctx context.Context, t *txn, req *request) (any, error) {
	var a setCustomizationArgs
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	src, _, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
	if err != nil {
		return nil, err
	}
	tbl.Configuration = a.Configuration
	t.changed = true
	t.target = schemacache.TableObject(src.Name, a.Table)
	return success, nil
}

// setTableCustomFields is the /v1/query form: custom_root_fields and
// custom_column_names at the top of args, stored as the table's
// configuration.
func setTableCustomFields(ctx context.Context, t *txn, req *request) (any, error) {
	var a struct {
		Source            string                 `json:"source"`
		Table             metadata.QualifiedName `json:"table"`
		CustomRootFields  json.RawMessage        `json:"custom_root_fields"`
		CustomColumnNames json.RawMessage        `json:"custom_column_names"`
	}
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	src, _, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
	if err != nil {
		return nil, err
	}
	cfg := map[string]json.RawMessage{}
	if !isNull(a.CustomRootFields) {
		cfg["custom_root_fields"] = a.CustomRootFields
	}
	if !isNull(a.CustomColumnNames) {
		cfg["custom_column_names"] = a.CustomColumnNames
	}
	b, _ := json.Marshal(cfg)
	tbl.Configuration = b
	t.changed = true
	t.target = schemacache.TableObject(src.Name, a.Table)
	return success, nil
}
