package schemacache

import (
	"encoding/json"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

// The fields of a table as a permission may name them: Hasura's field
// info map. Columns come from the catalog; relationships and computed
// fields only when they are consistent (an inconsistent one is not a field
// at all, so a permission naming it "does not exist").

// tableFields are one tracked table's fields.
type tableFields struct {
	name     metadata.QualifiedName
	cat      *catalog.Table
	rels     map[string]metadata.QualifiedName // relationship -> remote table
	computed map[string]*computedField
	remote   map[string]bool // remote relationship -> whether to a remote schema
}

// computedField is a consistent computed field.
type computedField struct {
	fn *catalog.Function
	// returnsTable is the table a set-returning one returns rows of.
	returnsTable *metadata.QualifiedName
	// inputArgs: the function takes arguments besides the table row and
	// the session, which a boolean expression cannot give it.
	inputArgs bool
}

// sourceFields are the fields of every tracked table that exists.
type sourceFields struct {
	source string
	cat    *catalog.Catalog
	tables map[metadata.QualifiedName]*tableFields
}

func (f *sourceFields) table(q metadata.QualifiedName) *tableFields {
	if f == nil {
		return nil
	}
	return f.tables[q]
}

// fieldKind is what a field name of a table stands for.
type fieldKind int

const (
	kindNone fieldKind = iota
	kindColumn
	kindRelationship
	kindComputedField
	kindRemoteRelationship
)

// kind says what name is on t.
func (t *tableFields) kind(name string) fieldKind {
	switch {
	case t.column(name) != nil:
		return kindColumn
	case hasKey(t.rels, name):
		return kindRelationship
	case t.computed[name] != nil:
		return kindComputedField
	case hasKey(t.remote, name):
		return kindRemoteRelationship
	}
	return kindNone
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// kindName is how Hasura's errors name a kind of field.
func (k fieldKind) kindName() string {
	switch k {
	case kindColumn:
		return "column"
	case kindRelationship:
		return "relationship"
	case kindComputedField:
		return "computed field"
	case kindRemoteRelationship:
		return "remote relationship"
	}
	return "field"
}

func (t *tableFields) column(name string) *catalog.Column {
	c, _ := t.cat.Column(name)
	return c
}

// buildFields resolves the fields of src's tables against cat.
func buildFields(src *metadata.Source, cat *catalog.Catalog) *sourceFields {
	f := &sourceFields{source: src.Name, cat: cat, tables: map[metadata.QualifiedName]*tableFields{}}
	tracked := map[metadata.QualifiedName]bool{}
	for _, t := range src.Tables {
		if ct := lookup(cat, t.Table); ct != nil {
			tracked[t.Table] = true
			f.tables[t.Table] = &tableFields{name: t.Table, cat: ct}
		}
	}
	for _, t := range src.Tables {
		tf := f.tables[t.Table]
		if tf == nil {
			continue
		}
		custom := customColumnNames(t.Configuration, tf.cat)
		tf.rels = map[string]metadata.QualifiedName{}
		for _, kind := range []struct {
			array bool
			rels  []*metadata.Relationship
		}{{false, t.ObjectRelationships}, {true, t.ArrayRelationships}} {
			for _, r := range kind.rels {
				if _, clash := custom[r.Name]; clash || checkRelationship(cat, tf.cat, r, kind.array, tracked) != "" {
					continue
				}
				if target, ok := RelationshipTarget(tf.cat, r); ok {
					tf.rels[r.Name] = target
				}
			}
		}
		tf.computed = map[string]*computedField{}
		for _, c := range t.ComputedFields {
			if cf := resolveComputedField(cat, t.Table, c); cf != nil {
				tf.computed[c.Name] = cf
			}
		}
		tf.remote = map[string]bool{}
		for _, r := range t.RemoteRelationshipList() {
			_, toSource := r.ToSource()
			tf.remote[r.Name] = !toSource
		}
	}
	return f
}

// RelationshipTarget is the table a relationship of t leads to: named in
// its definition, or the referenced table of the foreign key it is on
// (unknown when t, the table's catalog entry, is nil).
func RelationshipTarget(t *catalog.Table, r *metadata.Relationship) (metadata.QualifiedName, bool) {
	u, err := ParseUsing(r.Using)
	if err != nil {
		return metadata.QualifiedName{}, false
	}
	switch {
	case u.Manual != nil:
		return u.Manual.RemoteTable, true
	case u.FKOn.Table != nil:
		return *u.FKOn.Table, true
	}
	if t == nil {
		return metadata.QualifiedName{}, false
	}
	if fk := FindFK(t, u.FKOn.Columns); fk != nil {
		return metadata.QualifiedName{Schema: fk.RefTable.Schema, Name: fk.RefTable.Name}, true
	}
	return metadata.QualifiedName{}, false
}

// resolveComputedField finds the function behind a computed field of
// table; nil when it does not resolve to exactly one function taking the
// table's row.
func resolveComputedField(cat *catalog.Catalog, table metadata.QualifiedName, c *metadata.ComputedField) *computedField {
	var def struct {
		Function        metadata.QualifiedName `json:"function"`
		TableArgument   *string                `json:"table_argument"`
		SessionArgument *string                `json:"session_argument"`
	}
	if json.Unmarshal(c.Definition, &def) != nil || def.Function.Name == "" {
		return nil
	}
	fns := cat.Function(def.Function.Schema, def.Function.Name)
	if len(fns) != 1 || len(fns[0].Args) == 0 {
		return nil
	}
	fn := fns[0]
	tableArg := 0
	if def.TableArgument != nil {
		tableArg = argIndex(fn, *def.TableArgument)
	}
	if tableArg < 0 {
		return nil
	}
	if ta := fn.Args[tableArg]; ta.TypeName.Schema != table.Schema || ta.TypeName.Name != table.Name || ta.IsArray {
		return nil
	}
	sessionArg := -1
	if def.SessionArgument != nil {
		if sessionArg = argIndex(fn, *def.SessionArgument); sessionArg < 0 {
			return nil
		}
	}
	cf := &computedField{fn: fn, inputArgs: len(fn.Args) > 1 && !(len(fn.Args) == 2 && sessionArg >= 0)}
	if fn.ReturnsTable {
		cf.returnsTable = &metadata.QualifiedName{Schema: fn.ReturnType.Schema, Name: fn.ReturnType.Name}
	}
	return cf
}

func argIndex(fn *catalog.Function, name string) int {
	for i, a := range fn.Args {
		if a.Name == name {
			return i
		}
	}
	return -1
}
