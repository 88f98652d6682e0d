package api

import (
	"encoding/json"
	"strings"
)

// Hasura checks a change for new inconsistencies in one of two ways. Most
// operations rebuild with buildSchemaCacheFor, which refuses one with a
// 400 ("cannot continue due to new inconsistent metadata"). Those below
// rebuild inside withNewInconsistentObjsCheck instead, whose refusal is a
// 500 ("cannot continue due to newly found inconsistent metadata"): the
// operations that drop or rename something others may use, run_sql, and
// those of query collections and the allowlist. Names are those of
// /v1/query; the metadata API's pg_ names are the same operations.
var newlyFoundCheck = map[string]bool{
	"untrack_table":                           true,
	"untrack_function":                        true,
	"drop_computed_field":                     true,
	"drop_relationship":                       true,
	"rename_relationship":                     true,
	"drop_insert_permission":                  true,
	"drop_select_permission":                  true,
	"drop_update_permission":                  true,
	"drop_delete_permission":                  true,
	"run_sql":                                 true,
	"create_query_collection":                 true,
	"rename_query_collection":                 true,
	"add_query_to_collection":                 true,
	"drop_query_collection":                   true,
	"drop_query_from_collection":              true,
	"add_collection_to_allowlist":             true,
	"drop_collection_from_allowlist":          true,
	"update_scope_of_collection_in_allowlist": true,
	"drop_rest_endpoint":                      true,
}

// checksNewlyFound reports whether req runs an operation Hasura checks
// with withNewInconsistentObjsCheck. A bulk is checked once, at its
// commit, so one such operation in it decides for the whole.
func checksNewlyFound(req *request) bool {
	switch req.Type {
	case "bulk", "bulk_keep_going", "concurrent_bulk":
		var items []json.RawMessage
		if json.Unmarshal(req.Args, &items) != nil {
			return false
		}
		for _, it := range items {
			if sub, err := parseRequest(it, "$"); err == nil && checksNewlyFound(sub) {
				return true
			}
		}
		return false
	}
	return newlyFoundCheck[strings.TrimPrefix(req.Type, "pg_")]
}
