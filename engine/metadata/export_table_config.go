package metadata

// A table's configuration as Hasura exports it: TableConfig's ToJSON in
// Hasura.Table.Cache. Hasura merges the legacy custom_column_names into
// column_config on input and writes both back, with custom_root_fields
// always (possibly {}), leaving out only null values; the whole
// configuration is left out when it equals emptyTableConfig.

import "encoding/json"

// customRootFieldKeys are TableCustomRootFields' fields.
var customRootFieldKeys = []string{
	"select", "select_by_pk", "select_aggregate", "select_stream",
	"insert", "insert_one", "update", "update_by_pk", "update_many",
	"delete", "delete_by_pk",
}

// exportTableConfig returns the configuration to write, or nil to leave
// it out.
func exportTableConfig(raw json.RawMessage) (json.RawMessage, error) {
	if isNull(raw) {
		return nil, nil
	}
	return exportRaw(raw, tableConfig)
}

func tableConfig(v any) (any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return v, true
	}
	rootFields := customRootFields(obj["custom_root_fields"])
	merged := mergeColumnConfig(obj["column_config"], obj["custom_column_names"])
	columnConfig := map[string]any{}
	customColumnNames := map[string]any{}
	for col, e := range merged {
		cc, ok := e.(map[string]any)
		if !ok || len(cc) > 0 {
			columnConfig[col] = e // entries equal to mempty are dropped
		}
		if name, ok := cc["custom_name"]; ok {
			customColumnNames[col] = name
		}
	}
	out := keySortedObject(obj, []field{
		{"custom_root_fields", func(any, bool) (any, bool) { return rootFields, true }},
		{"column_config", func(any, bool) (any, bool) { return columnConfig, true }},
		{"custom_column_names", func(any, bool) (any, bool) { return customColumnNames, true }},
		optional("custom_name", asIs),
		optional("comment", asIs),
	})
	// emptyTableConfig: default root fields, no column entry, no name, no
	// comment. Hasura compares before dropping the column entries that set
	// nothing, so {"column_config": {"a": {}}} comes out of Hasura as the
	// three empty keys, and as nothing once read back: Strata drops those
	// entries first and leaves it out at once, so that an export reads
	// back to the same export.
	empty := len(columnConfig) == 0 && len(out) == 3
	if m, ok := rootFields.(map[string]any); !ok || len(m) > 0 {
		empty = false
	}
	return out, !empty
}

// customRootFields: each field is null (left out), a name, or {name,
// comment}; one with only a name is written as the name.
func customRootFields(v any) any {
	if v == nil {
		return map[string]any{}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	fields := make([]field, len(customRootFieldKeys))
	for i, k := range customRootFieldKeys {
		fields[i] = optional(k, customRootField)
	}
	out := keySortedObject(obj, fields)
	for k, f := range out {
		if f == nil {
			delete(out, k)
		}
	}
	return out
}

// customRootField returns nil for the default (no name, automatic
// comment), which Hasura writes as null and then drops.
func customRootField(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k := range obj {
		if k != "name" && k != "comment" {
			return obj // unknown keys: keep the object whole
		}
	}
	name, comment := obj["name"], obj["comment"]
	switch {
	case name == nil && comment == nil:
		return nil
	case comment == nil:
		return name
	}
	return map[string]any{"name": name, "comment": comment}
}

// mergeColumnConfig merges custom_column_names into column_config as
// Hasura does (column_config's custom_name wins) and drops null values
// from each entry. An entry that is not an object is kept as it is.
func mergeColumnConfig(columnConfig, legacy any) map[string]any {
	merged := map[string]any{}
	if cc, ok := columnConfig.(map[string]any); ok {
		for col, e := range cc {
			eo, ok := e.(map[string]any)
			if !ok {
				merged[col] = e
				continue
			}
			entry := map[string]any{}
			for k, x := range eo {
				if x != nil {
					entry[k] = x
				}
			}
			merged[col] = entry
		}
	}
	if names, ok := legacy.(map[string]any); ok {
		for col, name := range names {
			if _, ok := merged[col]; !ok {
				merged[col] = map[string]any{}
			}
			entry, ok := merged[col].(map[string]any)
			if !ok {
				continue
			}
			if _, has := entry["custom_name"]; !has && name != nil {
				entry["custom_name"] = name
			}
		}
	}
	return merged
}
