package schemacache

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

// InconsistentObject is one entry of get_inconsistent_metadata, in
// Hasura's shape.
type InconsistentObject struct {
	Definition any    `json:"definition"`
	Reason     string `json:"reason"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	// Source the object belongs to (not part of Hasura's shape).
	Source string `json:"-"`
	// Dependent is how a dependency-error names the object, when it can
	// be one ("relationship article.author in source \"default\"").
	Dependent string `json:"-"`
	// Permission is the permission an inconsistent permission is.
	Permission *PermissionRef `json:"-"`
	// Entity, when set, makes this one of Hasura's informational
	// inconsistencies, tied to no metadata object (its imObjectIds are
	// empty): an inherited role's permission it could not inherit. It is
	// listed as {entity, name, reason, type}, without definition; no
	// operation is refused for it being new, and drop_inconsistent_metadata
	// cannot drop it (Informational).
	Entity any `json:"-"`
}

// Informational reports whether o names no metadata object (see Entity).
func (o InconsistentObject) Informational() bool { return o.Entity != nil }

// MarshalJSON writes o in Hasura's shape: definition, reason, name, type;
// or, when informational, entity, name, reason, type.
func (o InconsistentObject) MarshalJSON() ([]byte, error) {
	if o.Entity != nil {
		return aeson.Marshal(struct {
			Entity any    `json:"entity"`
			Name   string `json:"name"`
			Reason string `json:"reason"`
			Type   string `json:"type"`
		}{o.Entity, o.Name, o.Reason, o.Type})
	}
	type plain InconsistentObject // without this method
	return aeson.Marshal(plain(o))
}

// DisplayName prints a table as Hasura does: bare in public, else
// schema.name.
func DisplayName(q metadata.QualifiedName) string {
	if q.Schema == "public" {
		return q.Name
	}
	return q.Schema + "." + q.Name
}

// The names Hasura gives metadata objects in inconsistencies. The metadata
// API uses the same ones to recognize an operation's own object.

// TableObject names a tracked table.
func TableObject(source string, table metadata.QualifiedName) string {
	return fmt.Sprintf("table %s in source %s", DisplayName(table), source)
}

// RelationshipObject names an object ("object_relation") or array
// ("array_relation") relationship.
func RelationshipObject(source string, table metadata.QualifiedName, array bool, name string) string {
	kind := "object_relation"
	if array {
		kind = "array_relation"
	}
	return fmt.Sprintf("%s %s in table %s in source %s", kind, name, DisplayName(table), source)
}

// FunctionObject names a tracked function.
func FunctionObject(source string, fn metadata.QualifiedName) string {
	return fmt.Sprintf("function %s in source %s", DisplayName(fn), source)
}

// RelationshipDependent is how Hasura names a relationship among the
// objects that depend on another.
func RelationshipDependent(source string, table metadata.QualifiedName, name string) string {
	return fmt.Sprintf("relationship %s.%s in source %s", DisplayName(table), name, dquote(source))
}

func inconsistent(source, typ, name, reason string, def any) InconsistentObject {
	return InconsistentObject{Definition: def, Reason: "Inconsistent object: " + reason, Name: name, Type: typ, Source: source}
}

// Check lists the metadata objects of one source that do not match its
// database. A missing table hides the objects inside it (they are not
// reported again), as in Hasura.
func Check(src *metadata.Source, cat *catalog.Catalog) []InconsistentObject {
	// Missing tables first, then what is inside the tables that exist,
	// whatever the order of the tables: Hasura reports them so. The
	// permissions come last: Hasura builds them once every table's
	// fields are known.
	var out, inner []InconsistentObject
	tracked := map[metadata.QualifiedName]bool{}
	for _, t := range src.Tables {
		if lookup(cat, t.Table) != nil {
			tracked[t.Table] = true
		}
	}
	for _, t := range src.Tables {
		ct := lookup(cat, t.Table)
		if ct == nil {
			out = append(out, inconsistent(src.Name, "table",
				TableObject(src.Name, t.Table),
				fmt.Sprintf("no such table/view exists in source: %q", DisplayName(t.Table)),
				t.Table))
			continue
		}
		custom := customColumnNames(t.Configuration, ct)
		for _, kind := range []struct {
			typ   string
			array bool
			rels  []*metadata.Relationship
		}{{"object_relation", false, t.ObjectRelationships}, {"array_relation", true, t.ArrayRelationships}} {
			for _, r := range kind.rels {
				reason := checkRelationship(cat, ct, r, kind.array, tracked)
				if reason != "" {
					reason = relReason(t.Table, r, reason)
				} else if col, ok := custom[r.Name]; ok {
					reason = fmt.Sprintf("field definition conflicts with custom field name for postgres column %q", col)
				}
				if reason != "" {
					o := inconsistent(src.Name, kind.typ,
						RelationshipObject(src.Name, t.Table, kind.array, r.Name),
						reason, relDefinition(src.Name, t.Table, r))
					o.Dependent = RelationshipDependent(src.Name, t.Table, r.Name)
					inner = append(inner, o)
				}
			}
		}
	}
	out = append(out, inner...)
	return append(out, permissionInconsistencies(src, buildFields(src, cat))...)
}

// notTrackedSuffix marks a reason Hasura reports without the table and
// relationship prefix (it comes from resolving the remote table, not from
// building the relationship).
const notTrackedSuffix = " is not tracked"

func relReason(table metadata.QualifiedName, r *metadata.Relationship, reason string) string {
	if strings.HasSuffix(reason, notTrackedSuffix) {
		return reason
	}
	return fmt.Sprintf("in table %q: in relationship %q: %s", DisplayName(table), r.Name, reason)
}

// relDefinition is how Hasura shows a relationship in an inconsistency:
// with the remote table in its {schema, name} form.
func relDefinition(source string, table metadata.QualifiedName, r *metadata.Relationship) map[string]any {
	using := MapUsingTables(r.Using, nil)
	return map[string]any{"name": r.Name, "using": using, "comment": r.Comment, "source": source, "table": table}
}

// MapUsingTables rewrites the remote table a relationship's using clause
// names (foreign_key_constraint_on.table, manual_configuration
// .remote_table) to f's answer, in its {schema, name} form; a table f
// leaves unchanged is left as written. With a nil f every table is
// rewritten as it is, which only normalizes its form. Other keys are kept.
func MapUsingTables(using json.RawMessage, f func(metadata.QualifiedName) metadata.QualifiedName) json.RawMessage {
	var u map[string]json.RawMessage
	if json.Unmarshal(using, &u) != nil {
		return using
	}
	changed := false
	for key, field := range map[string]string{"foreign_key_constraint_on": "table", "manual_configuration": "remote_table"} {
		var inner map[string]json.RawMessage
		if json.Unmarshal(u[key], &inner) != nil {
			continue
		}
		var q metadata.QualifiedName
		if _, ok := inner[field]; !ok || json.Unmarshal(inner[field], &q) != nil {
			continue
		}
		nq := q
		if f != nil {
			if nq = f(q); nq == q {
				continue
			}
		}
		inner[field], _ = json.Marshal(nq)
		u[key], _ = json.Marshal(inner)
		changed = true
	}
	if !changed {
		return using
	}
	out, _ := json.Marshal(u)
	return out
}

func lookup(cat *catalog.Catalog, q metadata.QualifiedName) *catalog.Table {
	if cat == nil {
		return nil
	}
	t, _ := cat.Table(q.Schema, q.Name)
	return t
}

// Using is a relationship's `using`, in any of Hasura's forms.
type Using struct {
	// foreign_key_constraint_on: a column name, {column|columns}, or
	// {table, column|columns} (the FK is on the remote table).
	FKOn *FKOn `json:"foreign_key_constraint_on"`
	// manual_configuration.
	Manual *struct {
		RemoteTable   metadata.QualifiedName `json:"remote_table"`
		ColumnMapping map[string]string      `json:"column_mapping"`
		// InsertionOrder is "before_parent" (default) or "after_parent":
		// which row a nested insert writes first.
		InsertionOrder string `json:"insertion_order"`
	} `json:"manual_configuration"`
}

// FKOn is foreign_key_constraint_on.
type FKOn struct {
	Table   *metadata.QualifiedName // set: the FK is on this (remote) table
	Columns []string
}

// UnmarshalJSON accepts "col", {"column": ...}, {"columns": ...} (each a
// name or a list of names, as Hasura takes either) and the same with
// "table".
func (f *FKOn) UnmarshalJSON(b []byte) error {
	var col string
	if json.Unmarshal(b, &col) == nil {
		f.Columns = []string{col}
		return nil
	}
	if json.Unmarshal(b, &f.Columns) == nil && len(f.Columns) > 0 {
		return nil // a bare list of columns
	}
	var o struct {
		Table   *metadata.QualifiedName `json:"table"`
		Column  json.RawMessage         `json:"column"`
		Columns json.RawMessage         `json:"columns"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("foreign_key_constraint_on: expected a column name or an object")
	}
	f.Table = o.Table
	for _, raw := range []json.RawMessage{o.Column, o.Columns} {
		if len(raw) == 0 {
			continue
		}
		var one string
		if json.Unmarshal(raw, &one) == nil {
			f.Columns = []string{one}
			return nil
		}
		if json.Unmarshal(raw, &f.Columns) == nil && len(f.Columns) > 0 {
			return nil
		}
		return fmt.Errorf("foreign_key_constraint_on: a column must be a name or a list of names")
	}
	return fmt.Errorf(`foreign_key_constraint_on: "column" or "columns" is required`)
}

// ParseUsing decodes a relationship's using clause.
func ParseUsing(raw json.RawMessage) (Using, error) {
	var u Using
	if err := json.Unmarshal(raw, &u); err != nil {
		return u, err
	}
	if (u.FKOn == nil) == (u.Manual == nil) {
		return u, fmt.Errorf("exactly one of foreign_key_constraint_on and manual_configuration is expected")
	}
	return u, nil
}

// checkRelationship returns why r does not fit the database, or "".
func checkRelationship(cat *catalog.Catalog, t *catalog.Table, r *metadata.Relationship, array bool, tracked map[metadata.QualifiedName]bool) string {
	u, err := ParseUsing(r.Using)
	if err != nil {
		return err.Error()
	}
	self := metadata.QualifiedName{Schema: t.Name.Schema, Name: t.Name.Name}
	if u.Manual != nil {
		rt := lookup(cat, u.Manual.RemoteTable)
		if rt == nil || !tracked[u.Manual.RemoteTable] {
			return fmt.Sprintf("table %q is not tracked", DisplayName(u.Manual.RemoteTable))
		}
		cols := make([]string, 0, len(u.Manual.ColumnMapping))
		for c := range u.Manual.ColumnMapping {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		for _, c := range cols {
			if !hasColumn(t, c) {
				return fmt.Sprintf("column %q does not exist in table %q", c, DisplayName(self))
			}
			if rc := u.Manual.ColumnMapping[c]; !hasColumn(rt, rc) {
				return fmt.Sprintf("column %q does not exist in table %q", rc, DisplayName(u.Manual.RemoteTable))
			}
		}
		return ""
	}
	fk := u.FKOn
	if fk.Table == nil {
		if array {
			return "foreign_key_constraint_on of an array relationship must name the remote table"
		}
		// The FK is on this table's columns.
		for _, c := range fk.Columns {
			if !hasColumn(t, c) {
				return fmt.Sprintf("column %q does not exist in table %q", c, DisplayName(self))
			}
		}
		f := FindFK(t, fk.Columns)
		if f == nil {
			return "no foreign constraint exists on the given column(s)"
		}
		target := metadata.QualifiedName{Schema: f.RefTable.Schema, Name: f.RefTable.Name}
		if !tracked[target] {
			return fmt.Sprintf("table %q is not tracked", DisplayName(target))
		}
		return ""
	}
	// The FK is on the remote table's columns and points at this table.
	if !tracked[*fk.Table] {
		return fmt.Sprintf("table %q is not tracked", DisplayName(*fk.Table))
	}
	rt := lookup(cat, *fk.Table)
	for _, c := range fk.Columns {
		if !hasColumn(rt, c) {
			return fmt.Sprintf("column %q does not exist in table %q", c, DisplayName(*fk.Table))
		}
	}
	f := FindFK(rt, fk.Columns)
	if f == nil || f.RefTable.Schema != self.Schema || f.RefTable.Name != self.Name {
		return "no foreign constraint exists on the given column(s)"
	}
	return ""
}

func hasColumn(t *catalog.Table, name string) bool {
	for _, c := range t.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

// FindFK finds the foreign key of t over exactly these columns (any order).
func FindFK(t *catalog.Table, cols []string) *catalog.ForeignKey {
	want := map[string]bool{}
	for _, c := range cols {
		want[c] = true
	}
	for _, f := range t.ForeignKeys {
		if len(f.Columns) != len(want) {
			continue
		}
		ok := true
		for _, c := range f.Columns {
			ok = ok && want[c]
		}
		if ok {
			return f
		}
	}
	return nil
}

// customColumnNames maps the GraphQL names a table's configuration gives
// its columns, where they differ from the columns' own, to the columns.
func customColumnNames(raw json.RawMessage, ct *catalog.Table) map[string]string {
	cfg := metadata.ParseTableConfig(raw)
	out := map[string]string{}
	for _, c := range ct.Columns {
		if name := cfg.ColumnField(c.Name); name != c.Name {
			out[name] = c.Name
		}
	}
	return out
}
