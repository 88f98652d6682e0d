package schema

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/metadata"
)

// InsertPerm is what a role may insert into a table.
type InsertPerm struct {
	// Columns the role may give values for, in table order: the
	// permission's columns less the preset ones and those Postgres fills
	// itself (generated, identity ALWAYS).
	Columns []*Column
	ByField map[string]*Column
	// Check must hold for every inserted row; nil: always.
	Check any
	// Set are the presets: Postgres column name to a value, or to the name
	// of a session variable.
	Set map[string]any
	// Rels are the relationships whose remote table the role may insert
	// into too (nested inserts), by field name.
	Rels map[string]*Relationship
}

// UpdatePerm is what a role may update in a table.
type UpdatePerm struct {
	Columns []*Column // updatable, less the preset ones
	ByField map[string]*Column
	Filter  any // rows the role may update; nil: every row
	Check   any // must hold after the update; nil: always
	Set     map[string]any
}

// DeletePerm is which rows a role may delete.
type DeletePerm struct {
	Filter any // nil: every row
}

// RefusesNull marks an input field that is optional, yet refuses an
// explicit null: Hasura's fieldOptional over a non-nullable parser (the
// columns of a NOT NULL column in insert and _set inputs). Introspection
// shows the field as nullable, as Hasura does.
const RefusesNull = "strata_refuses_null"

// Mutation response fields.
const (
	AffectedRowsField FieldKind = iota + 100
	ReturningField
)

// permsOf is the role's permissions on a table (perms.go); admin has
// none: it may do anything.
func (b *builder) permsOf(src *Source, mt *metadata.Table, rt *compile.Table) *tablePerms {
	if b.admin {
		return &tablePerms{}
	}
	return b.perms.perms(src.Name, mt, rt.Catalog, b.role)
}

// boolFilter decodes a permission's filter or check; nil means true.
func boolFilter(raw []byte) any {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "{}" || s == "null" {
		return nil
	}
	return decodeJSON(raw)
}

func presets(raw []byte) map[string]any {
	m, _ := boolFilter(raw).(map[string]any)
	return m
}

// writable: Postgres fills generated and identity ALWAYS columns itself.
func writable(c *catalog.Column) bool {
	return !c.IsGenerated && c.IdentityGeneration != "ALWAYS"
}

// mutationPerms resolves the role's insert, update and delete
// permissions on t (every column, every row for admin). Backend-only
// permissions are left out: this schema is the frontend one.
func (b *builder) mutationPerms(t *Table, p *tablePerms) {
	columns := func(raw []byte, set map[string]any) ([]*Column, map[string]*Column) {
		allowed := func(string) bool { return true }
		if raw != nil {
			allowed = columnSet(raw, t.Catalog)
		}
		var cols []*Column
		by := map[string]*Column{}
		for _, c := range t.AllColumns {
			if _, preset := set[c.Name]; allowed(c.Name) && !preset && writable(c.Catalog) {
				cols = append(cols, c)
				by[c.Field] = c
			}
		}
		return cols, by
	}
	if b.admin {
		ip := &InsertPerm{Rels: map[string]*Relationship{}}
		ip.Columns, ip.ByField = columns(nil, nil)
		t.Insert = ip
		up := &UpdatePerm{}
		up.Columns, up.ByField = columns(nil, nil)
		t.Update = up
		t.Delete = &DeletePerm{}
		return
	}
	if p.ins != nil && !p.ins.BackendOnly {
		ip := &InsertPerm{Check: boolFilter(p.ins.Check), Set: presets(p.ins.Set), Rels: map[string]*Relationship{}}
		ip.Columns, ip.ByField = columns(p.ins.Columns, ip.Set)
		t.Insert = ip
	}
	if p.upd != nil && !p.upd.BackendOnly {
		up := &UpdatePerm{Filter: boolFilter(p.upd.Filter), Check: boolFilter(p.upd.Check), Set: presets(p.upd.Set)}
		up.Columns, up.ByField = columns(p.upd.Columns, up.Set)
		t.Update = up
	}
	if p.del != nil && !p.del.BackendOnly {
		t.Delete = &DeletePerm{Filter: boolFilter(p.del.Filter)}
	}
}

// mutationsOf adds the mutation root fields of a source's tables.
func (b *builder) mutationsOf(src *Source) {
	// Nested inserts go through relationships to tables the role may
	// insert into, whether or not it may select them.
	for _, t := range b.all[src.Name] {
		if t.Insert == nil {
			continue
		}
		for name, rel := range t.Base.Rels {
			remote := b.all[src.Name][rel.Remote.Name]
			if remote == nil || remote.Insert == nil || !remote.Catalog.Insertable || !IsName(name) {
				continue
			}
			t.Insert.Rels[name] = &Relationship{Field: name, Array: rel.Array, Remote: remote, On: rel.On, AfterParent: rel.AfterParent}
		}
	}
	for _, mt := range src.Metadata.Tables {
		t := b.all[src.Name][mt.Table]
		if t == nil {
			continue
		}
		cfg := parseTableConfig(mt.Configuration)
		name := t.gqlName
		q := t.Name.Name
		root := func(key, def, desc string, args ast.ArgumentDefinitionList, typ *ast.Type, kind FieldKind) {
			fn, comment := cfg.rootField(key, def)
			b.addMutation(&ast.FieldDefinition{Name: fn, Description: orDefault(comment, desc), Arguments: args, Type: typ}, &Field{Kind: kind, Table: t})
		}
		returnsRow := t.Selectable && b.types[t.TypeName] != nil
		if t.Insert != nil && t.Catalog.Insertable {
			input := b.insertInput(t)
			args := ast.ArgumentDefinitionList{arg("objects", nnListNN(input), "the rows to be inserted")}
			one := ast.ArgumentDefinitionList{arg("object", nnNamed(input), "the row to be inserted")}
			if oc := b.onConflict(t); oc != "" {
				args = append(args, arg("on_conflict", named(oc), "upsert condition"))
				one = append(one, arg("on_conflict", named(oc), "upsert condition"))
			}
			root("insert", "insert_"+name, fmt.Sprintf("insert data into the table: %q", q), args, named(b.mutationResponse(t)), RootInsert)
			if returnsRow {
				root("insert_one", "insert_"+name+"_one", fmt.Sprintf("insert a single row into the table: %q", q), one, named(t.TypeName), RootInsertOne)
			}
		}
		if t.Update != nil && t.Catalog.Updatable && len(t.Update.Columns) > 0 {
			ops := b.updateOps(t)
			where := arg("where", nnNamed(b.whereExp(t)), "filter the rows which have to be updated")
			root("update", "update_"+name, fmt.Sprintf("update data of the table: %q", q), append(append(ast.ArgumentDefinitionList{}, ops...), where), named(b.mutationResponse(t)), RootUpdate)
			if returnsRow && len(t.PK) > 0 {
				root("update_by_pk", "update_"+name+"_by_pk", fmt.Sprintf("update single row of the table: %q", q), append(append(ast.ArgumentDefinitionList{}, ops...), arg("pk_columns", nnNamed(b.pkColumnsInput(t)), "")), named(t.TypeName), RootUpdateByPK)
			}
			updates := b.define(&ast.Definition{Kind: ast.InputObject, Name: t.Derived("_updates")})
			if len(updates.Fields) == 0 {
				for _, op := range ops {
					updates.Fields = append(updates.Fields, &ast.FieldDefinition{Name: op.Name, Description: op.Description, Type: op.Type})
				}
				updates.Fields = append(updates.Fields, &ast.FieldDefinition{Name: "where", Description: where.Description, Type: where.Type})
			}
			root("update_many", "update_"+name+"_many", fmt.Sprintf("update multiples rows of table: %q", q), ast.ArgumentDefinitionList{arg("updates", nnListNN(updates.Name), "updates to execute, in order")}, listOf(named(b.mutationResponse(t))), RootUpdateMany)
		}
		if t.Delete != nil && t.Catalog.Deletable {
			root("delete", "delete_"+name, fmt.Sprintf("delete data from the table: %q", q), ast.ArgumentDefinitionList{arg("where", nnNamed(b.whereExp(t)), "filter the rows which have to be deleted")}, named(b.mutationResponse(t)), RootDelete)
			if returnsRow && len(t.PK) > 0 {
				var args ast.ArgumentDefinitionList
				for _, c := range t.PK {
					args = append(args, arg(c.Field, nonNull(b.columnType(c)), ""))
				}
				root("delete_by_pk", "delete_"+name+"_by_pk", fmt.Sprintf("delete single row from the table: %q", q), args, named(t.TypeName), RootDeleteByPK)
			}
		}
	}
}

// whereExp is the table's bool_exp; a table the role may not select has
// one with only _and, _or and _not (it can filter on nothing).
func (b *builder) whereExp(t *Table) string {
	b.boolExp(t)
	return t.Derived("_bool_exp")
}

// inputField is a column as an optional input field.
func (b *builder) inputField(c *Column) *ast.FieldDefinition {
	fd := &ast.FieldDefinition{Name: c.Field, Type: b.columnType(c)}
	if c.Catalog.Comment != nil {
		fd.Description = *c.Catalog.Comment
	}
	if !c.Nullable {
		fd.Directives = ast.DirectiveList{{Name: RefusesNull}}
	}
	return fd
}

func (b *builder) insertInput(t *Table) string {
	name := t.Derived("_insert_input")
	if _, ok := b.types[name]; ok {
		return name
	}
	d := b.define(&ast.Definition{Kind: ast.InputObject, Name: name, Description: fmt.Sprintf("input type for inserting data into table %q", t.Name.Name)})
	for _, c := range t.Insert.Columns {
		d.Fields = append(d.Fields, b.inputField(c))
	}
	for _, r := range t.Insert.Rels {
		d.Fields = append(d.Fields, &ast.FieldDefinition{Name: r.Field, Type: named(b.relInsertInput(r))})
	}
	return name
}

func (b *builder) relInsertInput(r *Relationship) string {
	t := r.Remote
	kind, desc, data := "_obj_rel_insert_input", "object", nnNamed(t.Derived("_insert_input"))
	if r.Array {
		kind, desc, data = "_arr_rel_insert_input", "array", nnListNN(t.Derived("_insert_input"))
	}
	name := t.Derived(kind)
	if _, ok := b.types[name]; ok {
		return name
	}
	d := b.define(&ast.Definition{Kind: ast.InputObject, Name: name, Description: fmt.Sprintf("input type for inserting %s relation for remote table %q", desc, t.Name.Name)})
	b.insertInput(t)
	d.Fields = append(d.Fields, &ast.FieldDefinition{Name: "data", Type: data})
	if oc := b.onConflict(t); oc != "" {
		d.Fields = append(d.Fields, &ast.FieldDefinition{Name: "on_conflict", Description: "upsert condition", Type: named(oc)})
	}
	return name
}

// Constraints are a table's primary key and unique constraints, the
// targets of on_conflict.
func Constraints(t *catalog.Table) []*catalog.Constraint {
	var cs []*catalog.Constraint
	if t.PrimaryKey != nil {
		cs = append(cs, t.PrimaryKey)
	}
	return append(cs, t.UniqueConstraints...)
}

// onConflict declares <t>_on_conflict; "" when the table has no unique
// constraint to conflict on.
func (b *builder) onConflict(t *Table) string {
	cs := Constraints(t.Catalog)
	if len(cs) == 0 {
		return ""
	}
	name := t.Derived("_on_conflict")
	if _, ok := b.types[name]; ok {
		return name
	}
	q := t.Name.Name
	ce := &ast.Definition{Kind: ast.Enum, Name: t.Derived("_constraint"), Description: fmt.Sprintf("unique or primary key constraints on table %q", q)}
	for _, c := range cs {
		if !IsName(c.Name) {
			continue
		}
		cols := make([]string, len(c.Columns))
		for i, col := range c.Columns {
			cols[i] = fmt.Sprintf("%q", col)
		}
		ce.EnumValues = append(ce.EnumValues, &ast.EnumValueDefinition{Name: c.Name, Description: "unique or primary key constraint on columns " + strings.Join(cols, ", ")})
	}
	if len(ce.EnumValues) == 0 {
		return ""
	}
	b.define(ce)
	uc := &ast.Definition{Kind: ast.Enum, Name: t.Derived("_update_column"), Description: fmt.Sprintf("update columns of table %q", q)}
	if t.Update != nil {
		for _, c := range t.Update.Columns {
			uc.EnumValues = append(uc.EnumValues, &ast.EnumValueDefinition{Name: c.Field, Description: "column name"})
		}
	}
	if len(uc.EnumValues) == 0 {
		uc.EnumValues = ast.EnumValueList{{Name: "_PLACEHOLDER", Description: "placeholder (do not use)"}}
	}
	b.define(uc)
	b.define(&ast.Definition{Kind: ast.InputObject, Name: name, Description: fmt.Sprintf("on_conflict condition type for table %q", q), Fields: ast.FieldList{
		{Name: "constraint", Type: nnNamed(ce.Name)},
		{Name: "update_columns", Type: nnListNN(uc.Name), DefaultValue: &ast.Value{Kind: ast.ListValue, Raw: "[]"}},
		{Name: "where", Type: named(b.whereExp(t))},
	}})
	return name
}

func (b *builder) mutationResponse(t *Table) string {
	name := t.Derived("_mutation_response")
	if _, ok := b.types[name]; ok {
		return name
	}
	d := b.define(&ast.Definition{Kind: ast.Object, Name: name, Description: fmt.Sprintf("response of any mutation on the table %q", t.Name.Name)})
	d.Fields = append(d.Fields, &ast.FieldDefinition{Name: "affected_rows", Description: "number of rows affected by the mutation", Type: nnNamed("Int")})
	b.mean(name, "affected_rows", &Field{Kind: AffectedRowsField, Table: t})
	if t.Selectable && b.types[t.TypeName] != nil {
		d.Fields = append(d.Fields, &ast.FieldDefinition{Name: "returning", Description: "data from the rows affected by the mutation", Type: nnListNN(t.TypeName)})
		b.mean(name, "returning", &Field{Kind: ReturningField, Table: t})
	}
	return name
}

func (b *builder) pkColumnsInput(t *Table) string {
	name := t.Derived("_pk_columns_input")
	d := &ast.Definition{Kind: ast.InputObject, Name: name, Description: "primary key columns input for table: " + t.Name.Name}
	for _, c := range t.PK {
		d.Fields = append(d.Fields, &ast.FieldDefinition{Name: c.Field, Type: nonNull(b.columnType(c))})
	}
	b.define(d)
	return name
}

// UpdateOps are the update operators after _set, each over the columns
// of a kind: name, input type suffix, argument description, and the type
// of its fields ("" keeps the column's own type).
var UpdateOps = []struct{ Name, Suffix, Desc, Scalar string }{
	{"_append", "_append_input", "append existing jsonb value of filtered columns with new jsonb value", ""},
	{"_delete_at_path", "_delete_at_path_input", "delete the field or element with specified path (for JSON arrays, negative integers count from the end)", "[String!]"},
	{"_delete_elem", "_delete_elem_input", "delete the array element with specified index (negative integers count from the end). throws an error if top level container is not an array", "Int"},
	{"_delete_key", "_delete_key_input", "delete key/value pair or string element. key/value pairs are matched based on their key value", "String"},
	{"_inc", "_inc_input", "increments the numeric columns with given value of the filtered values", ""},
	{"_prepend", "_prepend_input", "prepend existing jsonb value of filtered columns with new jsonb value", ""},
}

func isJSONB(c *Column) bool { return c.Scalar == "jsonb" && !c.IsArray }

// updateOps declares the update operator input types of t and returns
// them as arguments.
func (b *builder) updateOps(t *Table) ast.ArgumentDefinitionList {
	q := t.Name.Name
	set := &ast.Definition{Kind: ast.InputObject, Name: t.Derived("_set_input"), Description: fmt.Sprintf("input type for updating data in table %q", q)}
	for _, c := range t.Update.Columns {
		set.Fields = append(set.Fields, b.inputField(c))
	}
	b.define(set)
	args := ast.ArgumentDefinitionList{arg("_set", named(set.Name), "sets the columns of the filtered rows to the given values")}
	for _, op := range UpdateOps {
		d := &ast.Definition{Kind: ast.InputObject, Name: t.Derived(op.Suffix), Description: op.Desc}
		if op.Name == "_inc" {
			d.Description = fmt.Sprintf("input type for incrementing numeric columns in table %q", q)
		}
		for _, c := range t.Update.Columns {
			if op.Name == "_inc" && !c.Numeric() || op.Name != "_inc" && !isJSONB(c) {
				continue
			}
			fd := b.inputField(c)
			fd.Directives = nil
			switch op.Scalar {
			case "[String!]":
				fd.Type = listOf(nnNamed("String"))
			case "":
			default:
				fd.Type = named(op.Scalar)
			}
			d.Fields = append(d.Fields, fd)
		}
		if len(d.Fields) == 0 {
			continue
		}
		b.define(d)
		args = append(args, arg(op.Name, named(d.Name), op.Desc))
	}
	return args
}
