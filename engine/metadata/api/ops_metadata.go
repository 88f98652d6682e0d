package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// afterCommit is a result that can only be written once the request has
// been committed (it reports the new snapshot's consistency).
type afterCommit func(after *schemacache.Snapshot) any

// resolveResults replaces afterCommit results, also inside bulk lists.
func resolveResults(v any, after *schemacache.Snapshot) any {
	switch r := v.(type) {
	case afterCommit:
		return r(after)
	case []any:
		for i := range r {
			r[i] = resolveResults(r[i], after)
		}
	}
	return v
}

func consistencyReport(s *schemacache.Snapshot) map[string]any {
	objs := s.Inconsistent
	if objs == nil {
		objs = []schemacache.InconsistentObject{}
	}
	return map[string]any{"is_consistent": len(objs) == 0, "inconsistent_objects": objs}
}

func exportMetadata(_ context.Context, t *txn, req *request) (any, error) {
	// Cron triggers with include_in_metadata false are not exported.
	md := t.base.Metadata.ForExport()
	if req.Version != nil && *req.Version == 2 {
		return struct {
			ResourceVersion int64              `json:"resource_version"`
			Metadata        *metadata.Metadata `json:"metadata"`
		}{t.base.ResourceVersion, md}, nil
	}
	return md, nil
}

// replaceMetadata takes a whole document (v1), or {metadata,
// allow_inconsistent_metadata} (v2, which answers with the consistency
// of the result). Without allow_inconsistent_metadata any inconsistency
// of the result refuses it, not only a new one (Hasura's
// throwOnInconsistencies).
func replaceMetadata(_ context.Context, t *txn, req *request) (any, error) {
	v2 := req.Version != nil && *req.Version == 2
	doc, path := req.Args, "$.args"
	if v2 {
		var a struct {
			Metadata                  json.RawMessage `json:"metadata"`
			AllowInconsistentMetadata bool            `json:"allow_inconsistent_metadata"`
		}
		if err := decodeArgs(req.Args, &a); err != nil {
			return nil, err
		}
		if isNull(a.Metadata) {
			return nil, badRequest(apierr.CodeParseFailed, `key "metadata" not found`)
		}
		doc, path = a.Metadata, "$.args.metadata"
		t.allowInconsistent = a.AllowInconsistentMetadata
	}
	md, err := metadata.Parse(doc)
	if err != nil {
		if pe, ok := err.(*metadata.ParseError); ok {
			return nil, apierr.BadRequest(apierr.CodeParseFailed, "%s", pe.Message).WithPath(path + strings.TrimPrefix(pe.Path, "$"))
		}
		return nil, err
	}
	// Older documents carry no source configuration: keep the current
	// default source's, as Hasura does.
	if def, ok := md.Source(defaultSource); ok && isNull(def.Configuration) {
		if cur, ok := t.md.Source(defaultSource); ok {
			def.Configuration = cur.Configuration
		}
	}
	t.md = md
	t.changed = true
	t.refuseInconsistent = !t.allowInconsistent
	if v2 {
		return afterCommit(func(after *schemacache.Snapshot) any { return consistencyReport(after) }), nil
	}
	return success, nil
}

// clearMetadata empties the metadata but keeps the default source's
// connection, so the engine stays usable (Hasura's runClearMetadata).
func clearMetadata(_ context.Context, t *txn, _ *request) (any, error) {
	md := metadata.Empty()
	if def, ok := t.md.Source(defaultSource); ok {
		md.Sources = []*metadata.Source{{Name: def.Name, Kind: def.Kind, Configuration: def.Configuration,
			Customization: def.Customization, HealthCheck: def.HealthCheck}}
	}
	t.md = md
	t.changed = true
	return success, nil
}

// reloadMetadata introspects the databases again and bumps
// resource_version, reporting the resulting consistency.
func reloadMetadata(_ context.Context, t *txn, _ *request) (any, error) {
	t.catalogs = map[string]*catalog.Catalog{}
	t.changed, t.allowInconsistent = true, true
	return afterCommit(func(after *schemacache.Snapshot) any {
		return map[string]any{"message": "success", "is_consistent": len(after.Inconsistent) == 0}
	}), nil
}

func getInconsistentMetadata(_ context.Context, t *txn, _ *request) (any, error) {
	return consistencyReport(t.base), nil
}

// dropInconsistentMetadata removes every object the snapshot reports as
// inconsistent. Informational inconsistencies name none: they stay.
func dropInconsistentMetadata(_ context.Context, t *txn, _ *request) (any, error) {
	for _, o := range t.base.Inconsistent {
		if o.Informational() {
			continue
		}
		switch o.Type {
		case "inherited_role":
			role, _ := o.Definition.(inheritedRole)
			irs, err := t.inheritedRoles()
			if err != nil {
				return nil, err
			}
			if err := irs.removeIf(func(r *inheritedRole) bool { return r.RoleName == role.RoleName }).store(&t.md.InheritedRoles); err != nil {
				return nil, err
			}
			continue
		case "source":
			t.md.Sources = removeSource(t.md.Sources, o.Source)
			continue
		case "query_collections":
			if err := t.dropSavedQuery(o.Name); err != nil {
				return nil, err
			}
			continue
		}
		if o.Permission != nil {
			if src, ok := t.md.Source(o.Source); ok {
				schemacache.DropPermission(src, *o.Permission)
			}
			continue
		}
		src, ok := t.md.Source(o.Source)
		if !ok {
			continue
		}
		switch o.Type {
		case "table":
			q, _ := o.Definition.(metadata.QualifiedName)
			src.Tables = removeTable(src.Tables, q)
		case "object_relation", "array_relation":
			def, _ := o.Definition.(map[string]any)
			q, _ := def["table"].(metadata.QualifiedName)
			if tbl, ok := src.Table(q); ok {
				if r, list, ok := findRelationship(tbl, fmt.Sprint(def["name"])); ok {
					*list = without(*list, r)
				}
			}
		}
	}
	t.changed, t.allowInconsistent = true, true
	return success, nil
}

// dropSavedQuery drops the saved query an inconsistency names, and the
// REST endpoints that serve it (Hasura's dropListedQueryFromQueryCollections).
// A collection left empty goes too, with its allowlist entries. (Hasura
// then clears the whole allowlist, every collection's entries: a bug not
// copied here.)
func (t *txn) dropSavedQuery(object string) error {
	cols, err := t.collections()
	if err != nil {
		return err
	}
	for _, c := range cols {
		if !c.ok {
			continue
		}
		i := slices.IndexFunc(c.val.Definition.Queries, func(q json.RawMessage) bool {
			return savedQueryObject(c.val.Name, queryNameOf(q)) == object
		})
		if i < 0 {
			continue
		}
		name, query := c.val.Name, queryNameOf(c.val.Definition.Queries[i])
		c.val.Definition.Queries = slices.Delete(slices.Clone(c.val.Definition.Queries), i, i+1)
		c.raw = nil
		emptied := len(c.val.Definition.Queries) == 0
		eps, err := t.restEndpoints()
		if err != nil {
			return err
		}
		dependent := func(e *restEndpoint) bool {
			q := e.Definition.Query
			return q.CollectionName == name && (emptied || q.QueryName == query)
		}
		if err := eps.removeIf(dependent).store(&t.md.RestEndpoints); err != nil {
			return err
		}
		if emptied {
			cols = cols.removeIf(byCollectionName(name))
			al, err := t.allowlist()
			if err != nil {
				return err
			}
			if err := al.removeIf(inAllowlist(name)).store(&t.md.Allowlist); err != nil {
				return err
			}
		}
		return cols.store(&t.md.QueryCollections)
	}
	return nil
}

func getCatalogState(ctx context.Context, t *txn, _ *request) (any, error) {
	st, err := t.svc.store.CatalogState(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": st.ID, "cli_state": st.CLI, "console_state": st.Console}, nil
}

func setCatalogState(ctx context.Context, t *txn, req *request) (any, error) {
	var a struct {
		Type  string          `json:"type"`
		State json.RawMessage `json:"state"`
	}
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	if a.Type != "cli" && a.Type != "console" {
		return nil, badRequest(apierr.CodeParseFailed, `expected "cli" or "console" for type, encountered %q`, a.Type).WithPath("$.args.type")
	}
	if err := t.svc.store.SetCatalogState(ctx, a.Type, a.State); err != nil {
		return nil, err
	}
	return success, nil
}

// dumpInternalState is Hasura's debugging dump of the schema cache. Its
// content is the engine's own: here the snapshot in force, with what each
// source tracks and whether it is connected.
func dumpInternalState(_ context.Context, t *txn, _ *request) (any, error) {
	type sourceState struct {
		Connected bool                     `json:"connected"`
		Tables    []metadata.QualifiedName `json:"tables"`
		Functions []metadata.QualifiedName `json:"functions"`
	}
	sources := map[string]sourceState{}
	for name, src := range t.base.Sources {
		st := sourceState{Connected: src.Pool != nil, Tables: []metadata.QualifiedName{}, Functions: []metadata.QualifiedName{}}
		for _, tbl := range src.Metadata.Tables {
			st.Tables = append(st.Tables, tbl.Table)
		}
		for _, f := range src.Metadata.Functions {
			st.Functions = append(st.Functions, f.Function)
		}
		sources[name] = st
	}
	report := consistencyReport(t.base)
	return map[string]any{
		"resource_version":     t.base.ResourceVersion,
		"sources":              sources,
		"inconsistent_objects": report["inconsistent_objects"],
	}, nil
}
