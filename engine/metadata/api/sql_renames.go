package api

import (
	"encoding/json"
	"slices"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

// Column renames (ALTER TABLE ... RENAME COLUMN through run_sql) are
// followed as Hasura follows them: a tracked table's column whose attnum
// now carries another name is renamed in everything that names it: the
// permissions of its table (columns, presets, filters and checks), the
// filters of other tables that reach it through relationships or _exists,
// the relationships that join on it, and its column_config.

// columnRenames maps each tracked table (by its name after the change) to
// its renamed columns, old name to new.
type columnRenames map[metadata.QualifiedName]map[string]string

// tablesByOID indexes a catalog's tables by OID: what a table was before a
// change and is after it, whatever it is called now.
func tablesByOID(c *catalog.Catalog) map[uint32]*catalog.Table {
	out := make(map[uint32]*catalog.Table, len(c.Tables))
	for _, ct := range c.Tables {
		out[ct.OID] = ct
	}
	return out
}

func findColumnRenames(src *metadata.Source, before, after *catalog.Catalog) columnRenames {
	out := columnRenames{}
	byOID := tablesByOID(before)
	for _, tbl := range src.Tables {
		now, ok := after.Table(tbl.Table.Schema, tbl.Table.Name)
		if !ok {
			continue
		}
		was, ok := byOID[now.OID]
		if !ok {
			continue
		}
		for _, oc := range was.Columns {
			for _, nc := range now.Columns {
				if nc.Position == oc.Position && nc.Name != oc.Name {
					if out[tbl.Table] == nil {
						out[tbl.Table] = map[string]string{}
					}
					out[tbl.Table][oc.Name] = nc.Name
				}
			}
		}
	}
	return out
}

// apply renames the columns everywhere in src. after is the catalog with
// the new names, used to follow relationships in filters.
func (rn columnRenames) apply(src *metadata.Source, after *catalog.Catalog) {
	if len(rn) == 0 {
		return
	}
	// Relationships first: following them in filters needs them current.
	for _, tbl := range src.Tables {
		for _, r := range slices.Concat(tbl.ObjectRelationships, tbl.ArrayRelationships) {
			r.Using = rn.using(tbl.Table, r.Using)
		}
	}
	for _, tbl := range src.Tables {
		own := rn[tbl.Table]
		filter := func(raw json.RawMessage) json.RawMessage {
			return rewriteJSON(raw, func(v any) any { return rn.boolExp(src, after, tbl.Table, v) })
		}
		for _, p := range tbl.InsertPermissions {
			p.Permission.Check = filter(p.Permission.Check)
			p.Permission.Columns = renameList(p.Permission.Columns, own)
			p.Permission.Set = renameKeys(p.Permission.Set, own)
		}
		for _, p := range tbl.SelectPermissions {
			p.Permission.Filter = filter(p.Permission.Filter)
			p.Permission.Columns = renameList(p.Permission.Columns, own)
		}
		for _, p := range tbl.UpdatePermissions {
			p.Permission.Filter = filter(p.Permission.Filter)
			p.Permission.Check = filter(p.Permission.Check)
			p.Permission.Columns = renameList(p.Permission.Columns, own)
			p.Permission.Set = renameKeys(p.Permission.Set, own)
		}
		for _, p := range tbl.DeletePermissions {
			p.Permission.Filter = filter(p.Permission.Filter)
		}
		if len(own) > 0 && len(tbl.Configuration) > 0 {
			var conf map[string]json.RawMessage
			if json.Unmarshal(tbl.Configuration, &conf) == nil {
				for _, k := range []string{"column_config", "custom_column_names"} {
					if _, ok := conf[k]; ok {
						conf[k] = renameKeys(conf[k], own)
					}
				}
				tbl.Configuration, _ = json.Marshal(conf)
			}
		}
	}
}

// using renames the columns a relationship of table joins on.
func (rn columnRenames) using(table metadata.QualifiedName, raw json.RawMessage) json.RawMessage {
	var u map[string]json.RawMessage
	if json.Unmarshal(raw, &u) != nil {
		return raw
	}
	if fk, ok := u["foreign_key_constraint_on"]; ok {
		var col string
		var remote struct {
			Table   metadata.QualifiedName `json:"table"`
			Column  string                 `json:"column,omitempty"`
			Columns []string               `json:"columns,omitempty"`
		}
		switch {
		case json.Unmarshal(fk, &col) == nil:
			if n, ok := rn[table][col]; ok {
				u["foreign_key_constraint_on"], _ = json.Marshal(n)
			}
		case json.Unmarshal(fk, &remote) == nil && rn[remote.Table] != nil:
			var inner map[string]json.RawMessage
			_ = json.Unmarshal(fk, &inner)
			if n, ok := rn[remote.Table][remote.Column]; ok {
				inner["column"], _ = json.Marshal(n)
			}
			if inner["columns"] != nil {
				inner["columns"] = renameList(inner["columns"], rn[remote.Table])
			}
			u["foreign_key_constraint_on"], _ = json.Marshal(inner)
		default:
			var cols []string
			if json.Unmarshal(fk, &cols) == nil {
				u["foreign_key_constraint_on"] = renameList(fk, rn[table])
			}
		}
	}
	if mc, ok := u["manual_configuration"]; ok {
		var m map[string]json.RawMessage
		var remote metadata.QualifiedName
		var mapping map[string]string
		if json.Unmarshal(mc, &m) == nil && json.Unmarshal(m["remote_table"], &remote) == nil && json.Unmarshal(m["column_mapping"], &mapping) == nil {
			out := make(map[string]string, len(mapping))
			for local, rem := range mapping {
				if n, ok := rn[table][local]; ok {
					local = n
				}
				if n, ok := rn[remote][rem]; ok {
					rem = n
				}
				out[local] = rem
			}
			m["column_mapping"], _ = json.Marshal(out)
			u["manual_configuration"], _ = json.Marshal(m)
		}
	}
	out, err := json.Marshal(u)
	if err != nil {
		return raw
	}
	return out
}

// boolExp renames the columns of a boolean expression over table.
func (rn columnRenames) boolExp(src *metadata.Source, cat *catalog.Catalog, table metadata.QualifiedName, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		switch k {
		case "_and", "_or":
			if list, ok := e.([]any); ok {
				for i := range list {
					list[i] = rn.boolExp(src, cat, table, list[i])
				}
			}
			out[k] = e
		case "_not":
			out[k] = rn.boolExp(src, cat, table, e)
		case "_exists":
			if x, ok := e.(map[string]any); ok {
				var other metadata.QualifiedName
				raw, _ := json.Marshal(x["_table"])
				if json.Unmarshal(raw, &other) == nil {
					x["_where"] = rn.boolExp(src, cat, other, x["_where"])
				}
			}
			out[k] = e
		default:
			if remote, ok := remoteTable(src, cat, table, k); ok {
				out[k] = rn.boolExp(src, cat, remote, e)
				continue
			}
			// A column: its new name, and column comparisons (_ceq ...)
			// naming columns of the same table.
			if ops, ok := e.(map[string]any); ok {
				for op, val := range ops {
					if s, ok := val.(string); ok && len(op) > 2 && op[:2] == "_c" {
						if n, ok := rn[table][s]; ok {
							ops[op] = n
						}
					}
				}
			}
			if n, ok := rn[table][k]; ok {
				k = n
			}
			out[k] = e
		}
	}
	return out
}

// remoteTable is the table a relationship of table leads to.
func remoteTable(src *metadata.Source, cat *catalog.Catalog, table metadata.QualifiedName, name string) (metadata.QualifiedName, bool) {
	tbl, ok := src.Table(table)
	if !ok {
		return metadata.QualifiedName{}, false
	}
	for _, r := range slices.Concat(tbl.ObjectRelationships, tbl.ArrayRelationships) {
		if r.Name != name {
			continue
		}
		var u struct {
			FK     json.RawMessage `json:"foreign_key_constraint_on"`
			Manual *struct {
				RemoteTable metadata.QualifiedName `json:"remote_table"`
			} `json:"manual_configuration"`
		}
		if json.Unmarshal(r.Using, &u) != nil {
			return metadata.QualifiedName{}, false
		}
		if u.Manual != nil {
			return u.Manual.RemoteTable, true
		}
		var remote struct {
			Table metadata.QualifiedName `json:"table"`
		}
		if json.Unmarshal(u.FK, &remote) == nil && remote.Table.Name != "" {
			return remote.Table, true
		}
		// A column (or columns) of this table with a foreign key.
		var cols []string
		var col string
		if json.Unmarshal(u.FK, &col) == nil {
			cols = []string{col}
		} else {
			_ = json.Unmarshal(u.FK, &cols)
		}
		if ct, ok := cat.Table(table.Schema, table.Name); ok {
			for _, fk := range ct.ForeignKeys {
				if slices.Equal(fk.Columns, cols) {
					return metadata.QualifiedName{Schema: fk.RefTable.Schema, Name: fk.RefTable.Name}, true
				}
			}
		}
		return metadata.QualifiedName{}, false
	}
	return metadata.QualifiedName{}, false
}

// rewriteJSON decodes raw, maps it and encodes it again; raw comes back
// unchanged when it is empty or not JSON.
func rewriteJSON(raw json.RawMessage, f func(any) any) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	was, _ := json.Marshal(v) // before f, which may change v in place
	out, err := json.Marshal(f(v))
	if err != nil || string(out) == string(was) {
		return raw // untouched expressions keep their stored form
	}
	return out
}

// renameList renames the names of a JSON list of columns ("*" stays).
func renameList(raw json.RawMessage, renames map[string]string) json.RawMessage {
	var cols []string
	if len(renames) == 0 || json.Unmarshal(raw, &cols) != nil {
		return raw
	}
	for i, c := range cols {
		if n, ok := renames[c]; ok {
			cols[i] = n
		}
	}
	out, _ := json.Marshal(cols)
	return out
}

// renameKeys renames the keys of a JSON object keyed by column.
func renameKeys(raw json.RawMessage, renames map[string]string) json.RawMessage {
	var m map[string]json.RawMessage
	if len(renames) == 0 || json.Unmarshal(raw, &m) != nil {
		return raw
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		if n, ok := renames[k]; ok {
			k = n
		}
		out[k] = v
	}
	b, _ := json.Marshal(out)
	return b
}
