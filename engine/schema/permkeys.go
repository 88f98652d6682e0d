package schema

// When are two parents' insert, update or delete permissions "the same"?
// Hasura compares them once parsed (OnlyRelevantEq in
// Hasura.RQL.Types.Roles.Internal): column lists as sets ("*" is every
// column), boolean expressions structurally with the operands of _and and
// _or as sets, presets, backend_only and validate_input as they are;
// comments never count. The keys below are that comparison: two
// permissions are the same when their keys are.

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

func insertKey(p *metadata.InsertPermission, cat *catalog.Table) string {
	return permKeyOf(columnsKey(p.Columns, cat), expKey(p.Check, true), valueKey(p.Set), p.BackendOnly, valueKey(p.ValidateInput))
}

func updateKey(p *metadata.UpdatePermission, cat *catalog.Table) string {
	return permKeyOf(columnsKey(p.Columns, cat), expKey(p.Filter, true), expKey(p.Check, false), valueKey(p.Set), p.BackendOnly, valueKey(p.ValidateInput))
}

func deleteKey(p *metadata.DeletePermission) string {
	return permKeyOf(expKey(p.Filter, true), p.BackendOnly, valueKey(p.ValidateInput))
}

func permKeyOf(parts ...any) string {
	b, _ := json.Marshal(parts)
	return string(b)
}

// columnsKey is a column list resolved against the table, sorted; absent
// is every column.
func columnsKey(raw json.RawMessage, cat *catalog.Table) []string {
	allowed := func(string) bool { return true }
	if !isNullJSON(raw) {
		allowed = columnSet(raw, cat)
	}
	var cols []string
	for _, c := range cat.Columns {
		if allowed(c.Name) {
			cols = append(cols, c.Name)
		}
	}
	slices.Sort(cols)
	return cols
}

// expKey is a boolean expression in canonical form. absentIsTrue: an
// absent expression means every row (a filter, an insert's check) rather
// than none given (an update's check).
func expKey(raw json.RawMessage, absentIsTrue bool) any {
	if isNullJSON(raw) {
		if absentIsTrue {
			return map[string]any{}
		}
		return nil
	}
	return canonicalExp(decodeJSON(raw), "")
}

// valueKey is a JSON value with session variable names lowercased
// (they are case-insensitive); absent is null.
func valueKey(raw json.RawMessage) any {
	if isNullJSON(raw) {
		return nil
	}
	return canonicalValue(decodeJSON(raw))
}

// canonicalExp rewrites a boolean expression so that equal meanings
// marshal alike: `$op` is `_op`, a column compared to a bare value is
// compared with _eq, and the operands of _and and _or are sorted and
// deduplicated. key is the key the value sits under ("" at the top).
func canonicalExp(v any, key string) any {
	m, ok := v.(map[string]any)
	if !ok {
		if key != "" && !strings.HasPrefix(key, "_") {
			// {"col": value} is {"col": {"_eq": value}}.
			return map[string]any{"_eq": canonicalValue(v)}
		}
		return canonicalValue(v)
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		if strings.HasPrefix(k, "$") {
			k = "_" + k[1:]
		}
		switch k {
		case "_and", "_or":
			items, isList := val.([]any)
			if !isList {
				items = []any{val}
			}
			out[k] = canonicalSet(items)
		case "_not":
			out[k] = canonicalExp(val, "")
		default:
			if strings.HasPrefix(k, "_") {
				// An operator, or _exists's _table and _where.
				if k == "_where" {
					out[k] = canonicalExp(val, "")
				} else {
					out[k] = canonicalValue(val)
				}
				continue
			}
			if inner, isObj := val.(map[string]any); isObj && !operatorsOnly(inner) {
				out[k] = canonicalExp(inner, "") // a relationship or table-valued computed field
			} else {
				out[k] = canonicalExp(val, k)
			}
		}
	}
	return out
}

// canonicalSet sorts and deduplicates the operands of _and or _or.
func canonicalSet(items []any) []any {
	byText := map[string]any{}
	var texts []string
	for _, it := range items {
		c := canonicalExp(it, "")
		b, _ := json.Marshal(c)
		if _, dup := byText[string(b)]; !dup {
			byText[string(b)] = c
			texts = append(texts, string(b))
		}
	}
	slices.Sort(texts)
	out := make([]any, len(texts))
	for i, t := range texts {
		out[i] = byText[t]
	}
	return out
}

// canonicalValue lowercases session variable names; `$op` keys become
// `_op` (an operator object under a column).
func canonicalValue(v any) any {
	switch x := v.(type) {
	case string:
		if len(x) >= 9 && strings.EqualFold(x[:9], "x-hasura-") {
			return strings.ToLower(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = canonicalValue(it)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if strings.HasPrefix(k, "$") {
				k = "_" + k[1:]
			}
			out[k] = canonicalValue(val)
		}
		return out
	}
	return v
}

// operatorsOnly: every key is an operator (_eq, $gt...); an empty object
// counts as one too (it compares nothing).
func operatorsOnly(m map[string]any) bool {
	for k := range m {
		if !strings.HasPrefix(k, "_") && !strings.HasPrefix(k, "$") {
			return false
		}
	}
	return true
}

func isNullJSON(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}
