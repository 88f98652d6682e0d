package api

import (
	"context"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// opFunc runs one operation on a working transaction.
type opFunc func(ctx context.Context, t *txn, req *request) (any, error)

// The operations of each API. /v1/query has the old names of the same
// operations; /v2/query only the schema ones.
var (
	metadataOps = map[string]opFunc{
		"export_metadata":                         exportMetadata,
		"replace_metadata":                        replaceMetadata,
		"clear_metadata":                          clearMetadata,
		"reload_metadata":                         reloadMetadata,
		"get_inconsistent_metadata":               getInconsistentMetadata,
		"drop_inconsistent_metadata":              dropInconsistentMetadata,
		"get_catalog_state":                       getCatalogState,
		"dump_internal_state":                     dumpInternalState,
		"set_catalog_state":                       setCatalogState,
		"pg_add_source":                           addSource,
		"pg_drop_source":                          dropSource,
		"pg_update_source":                        updateSource,
		"rename_source":                           renameSource,
		"create_query_collection":                 createQueryCollection,
		"drop_query_collection":                   dropQueryCollection,
		"add_query_to_collection":                 addQueryToCollection,
		"drop_query_from_collection":              dropQueryFromCollection,
		"add_collection_to_allowlist":             addCollectionToAllowlist,
		"drop_collection_from_allowlist":          dropCollectionFromAllowlist,
		"update_scope_of_collection_in_allowlist": updateScopeOfCollectionInAllowlist,
		"create_rest_endpoint":                    createRestEndpoint,
		"drop_rest_endpoint":                      dropRestEndpoint,
		"add_inherited_role":                      addInheritedRole,
		"drop_inherited_role":                     dropInheritedRole,
		"test_webhook_transform":                  testWebhookTransform,
	}
	queryV1Ops = map[string]opFunc{
		"export_metadata":                exportMetadata,
		"replace_metadata":               replaceMetadata,
		"clear_metadata":                 clearMetadata,
		"reload_metadata":                reloadMetadata,
		"get_inconsistent_metadata":      getInconsistentMetadata,
		"drop_inconsistent_metadata":     dropInconsistentMetadata,
		"create_query_collection":        createQueryCollection,
		"drop_query_collection":          dropQueryCollection,
		"add_query_to_collection":        addQueryToCollection,
		"drop_query_from_collection":     dropQueryFromCollection,
		"add_collection_to_allowlist":    addCollectionToAllowlist,
		"drop_collection_from_allowlist": dropCollectionFromAllowlist,
		"create_rest_endpoint":           createRestEndpoint,
		"drop_rest_endpoint":             dropRestEndpoint,
	}
	queryV2Ops = map[string]opFunc{}
)

func init() {
	// Table, relationship and permission operations: pg_<name> on the
	// metadata API, <name> on /v1/query.
	for name, op := range map[string]opFunc{
		"track_table":                   trackTable,
		"track_function":                trackFunction,
		"add_computed_field":            addComputedField,
		"drop_computed_field":           dropComputedField,
		"untrack_function":              untrackFunction,
		"untrack_table":                 untrackTable,
		"set_table_is_enum":             setTableIsEnum,
		"create_object_relationship":    createRelationship(false),
		"create_array_relationship":     createRelationship(true),
		"drop_relationship":             dropRelationship,
		"rename_relationship":           renameRelationship,
		"set_relationship_comment":      setRelationshipComment,
		"create_insert_permission":      createPermission(insertPerms),
		"create_select_permission":      createPermission(selectPerms),
		"create_update_permission":      createPermission(updatePerms),
		"create_delete_permission":      createPermission(deletePerms),
		"drop_insert_permission":        dropPermission(insertPerms),
		"drop_select_permission":        dropPermission(selectPerms),
		"drop_update_permission":        dropPermission(updatePerms),
		"drop_delete_permission":        dropPermission(deletePerms),
		"set_permission_comment":        setPermissionComment,
		"set_table_customization":       setTableCustomization,
		"pg_set_table_customization":    setTableCustomization,
		"set_table_custom_fields":       setTableCustomFields,
		"pg_set_table_is_enum":          setTableIsEnum,
		"pg_set_relationship_comment":   setRelationshipComment,
		"pg_set_permission_comment":     setPermissionComment,
		"pg_rename_relationship":        renameRelationship,
		"pg_drop_relationship":          dropRelationship,
		"pg_track_table":                trackTable,
		"pg_untrack_table":              untrackTable,
		"pg_create_object_relationship": createRelationship(false),
		"pg_create_array_relationship":  createRelationship(true),
	} {
		if len(name) > 3 && name[:3] == "pg_" {
			metadataOps[name] = op
			continue
		}
		queryV1Ops[name] = op
		if _, ok := metadataOps["pg_"+name]; !ok {
			metadataOps["pg_"+name] = op
		}
	}
	queryV1Ops["run_sql"] = runSQL
	queryV1Ops["insert"] = insertRows
	queryV2Ops["insert"] = insertRows
	for name, op := range map[string]opFunc{
		"select": v1Statement(compile.V1Select, false),
		"count":  v1Statement(compile.V1Count, false),
		"update": v1Statement(compile.V1Update, true),
		"delete": v1Statement(compile.V1Delete, true),
	} {
		queryV1Ops[name] = op
		queryV2Ops[name] = op
	}
	queryV2Ops["run_sql"] = runSQL
	metadataOps["pg_run_sql"] = runSQL
}

func lookupOp(ep endpoint, name string) (opFunc, bool) {
	var ops map[string]opFunc
	switch ep {
	case metadataAPI:
		ops = metadataOps
	case queryV1:
		ops = queryV1Ops
	default:
		ops = queryV2Ops
	}
	op, ok := ops[name]
	return op, ok
}

// ---- helpers shared by operations ----

const defaultSource = "default"

func notExists(format string, args ...any) *apierr.Error {
	return apierr.BadRequest(apierr.CodeNotExists, format, args...).WithPath("$.args")
}

// source returns a source of the working metadata and its current
// catalog (nil when the source cannot be reached).
func (t *txn) source(ctx context.Context, name string) (*metadata.Source, *catalog.Catalog, error) {
	if name == "" {
		name = defaultSource
	}
	s, ok := t.md.Source(name)
	if !ok {
		return nil, nil, notExists("source with name %q does not exist", name)
	}
	cat, err := t.catalog(ctx, name)
	return s, cat, err
}

// trackedTable returns a tracked table of a source.
func (t *txn) trackedTable(src *metadata.Source, q metadata.QualifiedName) (*metadata.Table, error) {
	tbl, ok := src.Table(q)
	if !ok {
		return nil, notExists("table %q does not exist in source: %s", schemacache.DisplayName(q), src.Name)
	}
	return tbl, nil
}

// trackedTableOf finds a source and one of its tracked tables, with the
// source's current catalog: the lookup every table operation starts with.
func (t *txn) trackedTableOf(ctx context.Context, req *request, source string, table metadata.QualifiedName) (*metadata.Source, *catalog.Catalog, *metadata.Table, error) {
	src, cat, err := t.source(ctx, t.sourceOf(req, source))
	if err != nil {
		return nil, nil, nil, err
	}
	tbl, err := t.trackedTable(src, table)
	if err != nil {
		return nil, nil, nil, err
	}
	return src, cat, tbl, nil
}

func (t *txn) sourceOf(req *request, argSource string) string {
	if argSource != "" {
		return argSource
	}
	if req.Source != "" {
		return req.Source
	}
	return defaultSource
}

// dependencyError refuses to drop what deps depend on, listing them once
// each in text order, as Hasura's reportSchemaObjs does.
func dependencyError(deps []string) *apierr.Error {
	return apierr.BadRequest("dependency-error", "cannot drop due to the following dependent objects: %s", reportObjects(deps)).WithPath("$.args")
}

// reportObjects lists dependent objects as Hasura does: sorted, unique,
// comma-separated.
func reportObjects(objs []string) string {
	sorted := slices.Clone(objs)
	slices.Sort(sorted)
	return strings.Join(slices.Compact(sorted), ", ")
}

func badRequest(code, format string, args ...any) *apierr.Error {
	return apierr.BadRequest(code, format, args...).WithPath("$.args")
}
