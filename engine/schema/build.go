package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// Source is one database's share of the model.
type Source struct {
	Name     string
	Metadata *metadata.Source
	Catalog  *catalog.Catalog
	Resolved *compile.Schema
	// Enums holds each enum table's rows.
	Enums map[metadata.QualifiedName][]EnumValue
}

// builder builds one role's schema.
type builder struct {
	s       *Schema
	role    string
	admin   bool
	relay   bool
	types   map[string]*ast.Definition
	scalars map[string]bool
	tables  []*Table
	byName  map[string]map[metadata.QualifiedName]*Table // source -> selectable table
	all     map[string]map[metadata.QualifiedName]*Table // source -> any table with a permission
	root    []*ast.FieldDefinition                       // query_root
	mroot   []*ast.FieldDefinition                       // mutation_root
	sroot   []*ast.FieldDefinition                       // subscription_root
	seen    map[string]bool                              // root field names taken
	cust    *customizing                                 // the sources' customizations
	perms   *permResolver                                // the role's permissions (perms.go)
}

// build derives the schema of a role from the sources; in are the
// metadata's inherited roles (nil: none).
func build(sources []*Source, in *inheritance, role string, relay bool) *Schema {
	admin := role == "admin"
	b := &builder{
		s:       &Schema{Role: role, Admin: admin, Relay: relay, Fields: map[string]map[string]*Field{}, NodeTables: map[string]*Table{}},
		role:    role,
		admin:   admin,
		relay:   relay,
		types:   map[string]*ast.Definition{},
		scalars: map[string]bool{},
		byName:  map[string]map[metadata.QualifiedName]*Table{},
		all:     map[string]map[metadata.QualifiedName]*Table{},
		seen:    map[string]bool{},
		cust:    newCustomizing(sources),
		perms:   newPermResolver(in),
	}
	for _, src := range sources {
		b.tablesOf(src)
	}
	for _, src := range sources {
		b.relationshipsOf(src)
		b.remoteRelationshipsOf(src)
		b.computedFieldsOf(src)
	}
	for _, t := range b.tables {
		b.tableTypes(t)
	}
	for _, src := range sources {
		b.rootFieldsOf(src)
	}
	b.nodeField()
	for _, src := range sources {
		b.streamFieldsOf(src)
	}
	for _, src := range sources {
		b.mutationsOf(src)
	}
	return b.finish()
}

// tablesOf makes the tables of a source the role has any permission on.
// Those it may select are the schema's readable tables (b.tables); the
// others exist only for their mutations (b.all holds both).
func (b *builder) tablesOf(src *Source) {
	b.byName[src.Name] = map[metadata.QualifiedName]*Table{}
	b.all[src.Name] = map[metadata.QualifiedName]*Table{}
	var added []*Table
	for _, mt := range src.Metadata.Tables {
		rt := src.Resolved.Tables[mt.Table]
		if rt == nil {
			continue
		}
		perms := b.permsOf(src, mt, rt)
		if !b.admin && perms.sel == nil && perms.ins == nil && perms.upd == nil && perms.del == nil {
			continue
		}
		cfg := parseTableConfig(mt.Configuration)
		t := &Table{
			Source:      src.Name,
			Name:        mt.Table,
			Catalog:     rt.Catalog,
			Base:        rt,
			ByField:     map[string]*Column{},
			Rels:        map[string]*Relationship{},
			Computed:    map[string]*ComputedField{},
			AllComputed: map[string]*ComputedField{},
			perm:        perms.sel,
		}
		b.nameTable(t, typeBaseName(mt.Table, cfg))
		if !IsName(t.TypeName) {
			continue
		}
		for _, cc := range rt.Catalog.Columns {
			c := &Column{
				Field:    cfg.ColumnField(cc.Name),
				Name:     cc.Name,
				Scalar:   scalarName(cc.TypeName, cc.TypeKind, src.Catalog),
				SQLType:  ColumnSQLType(cc),
				Nullable: cc.Nullable,
				IsArray:  cc.IsArray,
				Catalog:  cc,
			}
			if IsName(c.Field) {
				t.AllColumns = append(t.AllColumns, c)
			}
		}
		added = append(added, t)
		b.all[src.Name][mt.Table] = t
		b.mutationPerms(t, perms)
		if !b.admin && perms.sel == nil {
			continue
		}
		t.Selectable = true
		perm := perms.sel
		if perm != nil {
			t.Filter = perm.filter
			t.Limit = perm.limit
			t.AllowAggregations = perm.allowAgg
		} else {
			t.AllowAggregations = true
		}
		for _, c := range t.AllColumns {
			if perm != nil {
				redact, ok := perm.columns[c.Name]
				if !ok {
					continue
				}
				c.Redact = redact
				t.Redacts = t.Redacts || redact != nil
			}
			t.Columns = append(t.Columns, c)
			t.ByField[c.Field] = c
		}
		if pk := rt.Catalog.PrimaryKey; pk != nil {
			var cols []*Column
			for _, name := range pk.Columns {
				for _, c := range t.Columns {
					if c.Name == name {
						cols = append(cols, c)
					}
				}
			}
			if len(cols) == len(pk.Columns) {
				t.PK = cols
			}
		}
		if mt.IsEnum {
			t.Enum = src.Enums[mt.Table]
		}
		b.tables = append(b.tables, t)
		b.byName[src.Name][mt.Table] = t
	}
	// Columns referencing an enum table take its enum type.
	for _, t := range added {
		for _, fk := range t.Catalog.ForeignKeys {
			if len(fk.Columns) != 1 {
				continue
			}
			ref := src.Resolved.Tables[metadata.QualifiedName{Schema: fk.RefTable.Schema, Name: fk.RefTable.Name}]
			if ref == nil || !isEnumTable(src.Metadata, ref.Name) {
				continue
			}
			refCfg := parseTableConfig(tableMeta(src.Metadata, ref.Name).Configuration)
			for _, c := range t.AllColumns {
				if c.Name == fk.Columns[0] {
					c.EnumType = b.typeName(src.Name, typeBaseName(ref.Name, refCfg)+"_enum")
					c.Scalar = c.EnumType
					// The enum type exists even for a role that may not
					// select the enum table itself.
					b.enumType(c.EnumType, src.Enums[ref.Name])
				}
			}
		}
	}
}

func tableMeta(src *metadata.Source, q metadata.QualifiedName) *metadata.Table {
	t, _ := src.Table(q)
	return t
}

func isEnumTable(src *metadata.Source, q metadata.QualifiedName) bool {
	t, ok := src.Table(q)
	return ok && t.IsEnum
}

// columnSet reads a permission's columns: a list or "*".
func columnSet(raw json.RawMessage, t *catalog.Table) func(string) bool {
	var star string
	if json.Unmarshal(raw, &star) == nil && star == "*" {
		return func(string) bool { return true }
	}
	var cols []string
	_ = json.Unmarshal(raw, &cols)
	set := map[string]bool{}
	for _, c := range cols {
		set[c] = true
	}
	return func(c string) bool { return set[c] }
}

// relationshipsOf links tables the role may select.
func (b *builder) relationshipsOf(src *Source) {
	for _, mt := range src.Metadata.Tables {
		t := b.byName[src.Name][mt.Table]
		rt := src.Resolved.Tables[mt.Table]
		if t == nil || rt == nil {
			continue
		}
		for name, rel := range rt.Rels {
			remote := b.byName[src.Name][rel.Remote.Name]
			if remote == nil || !IsName(name) {
				continue
			}
			r := &Relationship{Field: name, Array: rel.Array, Remote: remote, On: rel.On, Nullable: true}
			if !rel.Array {
				r.Nullable = !fkNotNull(rt.Catalog, rel)
			}
			t.Rels[name] = r
		}
	}
}

// fkNotNull: an object relationship over this table's own foreign key
// whose columns are all NOT NULL always finds its row.
func fkNotNull(t *catalog.Table, rel *compile.Relationship) bool {
	locals := make([]string, len(rel.On))
	for i, on := range rel.On {
		locals[i] = on[0]
	}
	fk := schemacache.FindFK(t, locals)
	if fk == nil || fk.RefTable.Schema != rel.Remote.Name.Schema || fk.RefTable.Name != rel.Remote.Name.Name {
		return false
	}
	for i, c := range fk.Columns {
		if rel.On[i][1] != fk.RefColumns[max(0, slices.Index(fk.Columns, rel.On[i][0]))] {
			return false
		}
		cc, ok := t.Column(c)
		if !ok || cc.Nullable {
			return false
		}
	}
	return true
}

// Type helpers.
func named(n string) *ast.Type      { return &ast.Type{NamedType: n} }
func nonNull(t *ast.Type) *ast.Type { c := *t; c.NonNull = true; return &c }
func listOf(t *ast.Type) *ast.Type  { return &ast.Type{Elem: t} }
func nnNamed(n string) *ast.Type    { return nonNull(named(n)) }
func nnListNN(n string) *ast.Type   { return nonNull(listOf(nnNamed(n))) }
func arg(name string, t *ast.Type, desc string) *ast.ArgumentDefinition {
	return &ast.ArgumentDefinition{Name: name, Type: t, Description: desc}
}

func (b *builder) define(d *ast.Definition) *ast.Definition {
	if old, ok := b.types[d.Name]; ok {
		return old
	}
	b.types[d.Name] = d
	return d
}

func (b *builder) mean(typeName, field string, f *Field) {
	m := b.s.Fields[typeName]
	if m == nil {
		m = map[string]*Field{}
		b.s.Fields[typeName] = m
	}
	m[field] = f
}

// scalar declares a scalar and returns its name.
func (b *builder) scalar(name string) string {
	b.scalars[name] = true
	return name
}

// columnType is a column's output/input type, without nullability.
func (b *builder) columnType(c *Column) *ast.Type {
	name := c.Scalar
	if c.EnumType == "" {
		b.scalar(name)
	}
	if c.IsArray {
		return listOf(nnNamed(name))
	}
	return named(name)
}

func (b *builder) tableTypes(t *Table) {
	n := t.TypeName
	desc := fmt.Sprintf("columns and relationships of %q", t.Name.Name)
	if t.Catalog.Comment != nil {
		desc = *t.Catalog.Comment
	}
	obj := &ast.Definition{Kind: ast.Object, Name: n, Description: desc}
	node := b.relay && len(t.PK) > 0
	if node {
		b.relayTypes()
		obj.Interfaces = []string{"Node"}
		obj.Fields = append(obj.Fields, &ast.FieldDefinition{Name: "id", Type: nnNamed("ID")})
		b.mean(n, "id", &Field{Kind: NodeIDField, Table: t})
		b.s.NodeTables[n] = t
	}
	for _, c := range t.Columns {
		if node && c.Field == "id" {
			continue
		}
		typ := b.columnType(c)
		// A redacted column is null on some rows, whatever the database
		// says (Hasura: nullable unless NoRedaction).
		if !c.Nullable && c.Redact == nil {
			typ = nonNull(typ)
		}
		fd := &ast.FieldDefinition{Name: c.Field, Type: typ}
		if c.Catalog.Comment != nil {
			fd.Description = *c.Catalog.Comment
		}
		if c.IsArray || c.Catalog.TypeName.Name == "json" || c.Catalog.TypeName.Name == "jsonb" {
			if c.Catalog.TypeName.Name == "json" || c.Catalog.TypeName.Name == "jsonb" {
				fd.Arguments = ast.ArgumentDefinitionList{arg("path", named("String"), "JSON select path")}
			}
		}
		obj.Fields = append(obj.Fields, fd)
		b.mean(n, c.Field, &Field{Kind: ColumnField, Table: t, Column: c})
	}
	for _, r := range t.Rels {
		rn := r.Remote.TypeName
		if r.Array && b.relay {
			if len(r.Remote.PK) > 0 {
				obj.Fields = append(obj.Fields, &ast.FieldDefinition{Name: r.Field + "_connection", Description: "An array relationship connection", Arguments: b.connectionArgs(r.Remote), Type: nnNamed(r.Remote.Derived("Connection"))})
				b.mean(n, r.Field+"_connection", &Field{Kind: ArrayRelConnectionField, Table: r.Remote, Rel: r})
				b.connectionType(r.Remote)
			}
		}
		if r.Array {
			obj.Fields = append(obj.Fields, &ast.FieldDefinition{Name: r.Field, Description: "An array relationship", Arguments: b.selectArgs(r.Remote), Type: nnListNN(rn)})
			b.mean(n, r.Field, &Field{Kind: ArrayRelField, Table: r.Remote, Rel: r})
			if r.Remote.AllowAggregations {
				obj.Fields = append(obj.Fields, &ast.FieldDefinition{Name: r.Field + "_aggregate", Description: "An aggregate relationship", Arguments: b.selectArgs(r.Remote), Type: nnNamed(r.Remote.Derived("_aggregate"))})
				b.mean(n, r.Field+"_aggregate", &Field{Kind: ArrayRelAggregateField, Table: r.Remote, Rel: r})
			}
			continue
		}
		typ := named(rn)
		if !r.Nullable {
			typ = nonNull(typ)
		}
		obj.Fields = append(obj.Fields, &ast.FieldDefinition{Name: r.Field, Description: "An object relationship", Type: typ})
		b.mean(n, r.Field, &Field{Kind: ObjectRelField, Table: r.Remote, Rel: r})
	}
	for _, cf := range t.Computed {
		fd := &ast.FieldDefinition{Name: cf.Field}
		if cf.Comment != nil {
			fd.Description = *cf.Comment
		} else {
			fd.Description = fmt.Sprintf("A computed field, executes function %q", cf.Function.Name.Name)
		}
		if cf.ArgsType != "" {
			fd.Arguments = append(fd.Arguments, arg("args", nnNamed(cf.ArgsType), "input parameters for computed field \""+cf.Field+"\" defined on table \""+t.Name.Name+"\""))
		}
		if cf.Function.Returns == nil {
			fd.Type = named(b.scalar(cf.Scalar))
			b.mean(n, cf.Field, &Field{Kind: ComputedScalarField, Table: t, Computed: cf})
		} else {
			fd.Arguments = append(fd.Arguments, b.selectArgs(cf.Function.Returns)...)
			fd.Type = nnListNN(cf.Function.Returns.TypeName)
			b.mean(n, cf.Field, &Field{Kind: ComputedSetField, Table: cf.Function.Returns, Computed: cf})
		}
		obj.Fields = append(obj.Fields, fd)
	}
	b.remoteRelationshipFields(t, obj)
	if len(obj.Fields) == 0 {
		return
	}
	b.define(obj)
	b.boolExp(t)
	b.orderBy(t)
	b.selectColumn(t)
	if t.AllowAggregations {
		b.aggregate(t)
	}
	if t.Enum != nil {
		b.enumType(t.Derived("_enum"), t.Enum)
	}
}

// selectArgs are the arguments of every multi-row selection.
func (b *builder) selectArgs(t *Table) ast.ArgumentDefinitionList {
	return ast.ArgumentDefinitionList{
		arg("distinct_on", listOf(nnNamed(t.Derived("_select_column"))), "distinct select on columns"),
		arg("limit", named("Int"), "limit the number of rows returned"),
		arg("offset", named("Int"), "skip the first n rows. Use only with order_by"),
		arg("order_by", listOf(nnNamed(t.Derived("_order_by"))), "sort the rows by one or more columns"),
		arg("where", named(t.Derived("_bool_exp")), "filter the rows returned"),
	}
}

func (b *builder) boolExp(t *Table) {
	n := t.Derived("_bool_exp")
	d := &ast.Definition{Kind: ast.InputObject, Name: n, Description: fmt.Sprintf("Boolean expression to filter rows from the table %q. All fields are combined with a logical 'AND'.", t.Name.Name)}
	d.Fields = ast.FieldList{
		{Name: "_and", Type: listOf(nnNamed(n))},
		{Name: "_not", Type: named(n)},
		{Name: "_or", Type: listOf(nnNamed(n))},
	}
	for _, c := range t.Columns {
		d.Fields = append(d.Fields, &ast.FieldDefinition{Name: c.Field, Type: named(b.comparisonExp(c))})
	}
	for _, r := range t.Rels {
		d.Fields = append(d.Fields, &ast.FieldDefinition{Name: r.Field, Type: named(r.Remote.Derived("_bool_exp"))})
	}
	for _, cf := range t.Computed {
		if cf.Function.Returns == nil && cf.ArgsType == "" {
			d.Fields = append(d.Fields, &ast.FieldDefinition{Name: cf.Field, Type: named(b.comparisonExp(&Column{Scalar: cf.Scalar, Catalog: &catalog.Column{TypeName: catalog.QualifiedName{Schema: "pg_catalog", Name: cf.ReturnSQL}}}))})
		}
	}
	b.define(d)
}

var stringScalars = map[string]bool{"String": true, "citext": true, "bpchar": true}

// comparisonExp declares <scalar>_comparison_exp and returns its name.
func (b *builder) comparisonExp(c *Column) string {
	base := c.Scalar
	name := base + "_comparison_exp"
	if c.IsArray {
		name = base + "_array_comparison_exp"
	}
	if _, ok := b.types[name]; ok {
		return name
	}
	typ := b.columnType(c)
	d := &ast.Definition{Kind: ast.InputObject, Name: name, Description: fmt.Sprintf("Boolean expression to compare columns of type %q. All fields are combined with logical 'AND'.", base)}
	f := func(n string, t *ast.Type) { d.Fields = append(d.Fields, &ast.FieldDefinition{Name: n, Type: t}) }
	// Operator fields are optional, yet null is refused for them (Hasura's
	// fieldOptional over a non-null parser): see coercer.object.
	for _, op := range []string{"_eq", "_neq"} {
		f(op, typ)
	}
	f("_in", listOf(nonNull(typ)))
	f("_nin", listOf(nonNull(typ)))
	f("_is_null", named("Boolean"))
	if c.EnumType == "" && base != "Boolean" && !(base == "json") {
		for _, op := range []string{"_gt", "_gte", "_lt", "_lte"} {
			f(op, typ)
		}
	}
	if c.IsArray {
		f("_contains", typ)
		f("_contained_in", typ)
	}
	if c.EnumType == "" && !c.IsArray && stringScalars[base] {
		for _, op := range []string{"_like", "_nlike", "_ilike", "_nilike", "_similar", "_nsimilar", "_regex", "_nregex", "_iregex", "_niregex"} {
			f(op, typ)
		}
	}
	if !c.IsArray && base == "jsonb" {
		f("_cast", named(b.jsonbCast()))
		f("_contains", named("jsonb"))
		f("_contained_in", named("jsonb"))
		f("_has_key", named("String"))
		f("_has_keys_all", listOf(nnNamed("String")))
		f("_has_keys_any", listOf(nnNamed("String")))
	}
	if !c.IsArray && (base == "geometry" || base == "geography") {
		within := b.stDWithin(base)
		f("_st_d_within", named(within))
		f("_st_intersects", named(base))
		if base == "geometry" {
			for _, op := range []string{"_st_contains", "_st_crosses", "_st_equals", "_st_overlaps", "_st_touches", "_st_within", "_st_3d_intersects"} {
				f(op, named(base))
			}
			f("_st_3d_d_within", named(within))
		}
	}
	b.define(d)
	return name
}

func (b *builder) jsonbCast() string {
	b.define(&ast.Definition{Kind: ast.InputObject, Name: "jsonb_cast_exp", Fields: ast.FieldList{{Name: "String", Type: named("String_comparison_exp")}}})
	b.comparisonExp(&Column{Scalar: "String", Catalog: &catalog.Column{TypeName: catalog.QualifiedName{Schema: "pg_catalog", Name: "text"}}})
	return "jsonb_cast_exp"
}

func (b *builder) stDWithin(base string) string {
	name := "st_d_within_input"
	fields := ast.FieldList{{Name: "distance", Type: nnNamed("Float")}, {Name: "from", Type: nnNamed(base)}}
	if base == "geography" {
		name = "st_d_within_geography_input"
		fields = append(fields, &ast.FieldDefinition{Name: "use_spheroid", Type: named("Boolean"), DefaultValue: &ast.Value{Kind: ast.BooleanValue, Raw: "true"}})
	}
	b.define(&ast.Definition{Kind: ast.InputObject, Name: name, Fields: fields})
	return name
}

func (b *builder) orderBy(t *Table) {
	b.orderByEnum()
	n := t.Derived("_order_by")
	d := &ast.Definition{Kind: ast.InputObject, Name: n, Description: fmt.Sprintf("Ordering options when selecting data from %q.", t.Name.Name)}
	for _, c := range t.Columns {
		if c.IsArray || c.Scalar == "json" {
			continue
		}
		d.Fields = append(d.Fields, &ast.FieldDefinition{Name: c.Field, Type: named("order_by")})
	}
	for _, r := range t.Rels {
		if !r.Array {
			d.Fields = append(d.Fields, &ast.FieldDefinition{Name: r.Field, Type: named(r.Remote.Derived("_order_by"))})
		} else if r.Remote.AllowAggregations {
			d.Fields = append(d.Fields, &ast.FieldDefinition{Name: r.Field + "_aggregate", Type: named(r.Remote.Derived("_aggregate_order_by"))})
			b.aggregateOrderBy(r.Remote)
		}
	}
	for _, cf := range t.Computed {
		if cf.ArgsType != "" {
			continue
		}
		if cf.Function.Returns == nil {
			d.Fields = append(d.Fields, &ast.FieldDefinition{Name: cf.Field, Type: named("order_by")})
		} else if cf.Function.Returns.AllowAggregations {
			d.Fields = append(d.Fields, &ast.FieldDefinition{Name: cf.Field + "_aggregate", Type: named(cf.Function.Returns.Derived("_aggregate_order_by"))})
			b.aggregateOrderBy(cf.Function.Returns)
		}
	}
	b.define(d)
}

func (b *builder) orderByEnum() {
	b.define(&ast.Definition{Kind: ast.Enum, Name: "order_by", Description: "column ordering options", EnumValues: ast.EnumValueList{
		{Name: "asc", Description: "in ascending order, nulls last"},
		{Name: "asc_nulls_first", Description: "in ascending order, nulls first"},
		{Name: "asc_nulls_last", Description: "in ascending order, nulls last"},
		{Name: "desc", Description: "in descending order, nulls first"},
		{Name: "desc_nulls_first", Description: "in descending order, nulls first"},
		{Name: "desc_nulls_last", Description: "in descending order, nulls last"},
	}})
}

func (b *builder) selectColumn(t *Table) {
	d := &ast.Definition{Kind: ast.Enum, Name: t.Derived("_select_column"), Description: fmt.Sprintf("select columns of table %q", t.Name.Name)}
	for _, c := range t.Columns {
		d.EnumValues = append(d.EnumValues, &ast.EnumValueDefinition{Name: c.Field, Description: "column name"})
	}
	if len(d.EnumValues) > 0 {
		b.define(d)
	}
}

// aggOps are the aggregate operations over numeric columns, then min and
// max over comparable ones.
var aggOps = []string{"avg", "stddev", "stddev_pop", "stddev_samp", "sum", "var_pop", "var_samp", "variance"}

func (b *builder) aggregate(t *Table) {
	agg, aggFields := t.Derived("_aggregate"), t.Derived("_aggregate_fields")
	b.define(&ast.Definition{Kind: ast.Object, Name: agg, Description: fmt.Sprintf("aggregated selection of %q", t.Name.Name), Fields: ast.FieldList{
		{Name: "aggregate", Type: named(aggFields)},
		{Name: "nodes", Type: nnListNN(t.TypeName)},
	}})
	b.mean(agg, "aggregate", &Field{Kind: AggregateField, Table: t})
	b.mean(agg, "nodes", &Field{Kind: NodesField, Table: t})
	fields := &ast.Definition{Kind: ast.Object, Name: aggFields, Description: fmt.Sprintf("aggregate fields of %q", t.Name.Name)}
	fields.Fields = append(fields.Fields, &ast.FieldDefinition{Name: "count", Type: nnNamed("Int"), Arguments: ast.ArgumentDefinitionList{
		arg("columns", listOf(nnNamed(t.Derived("_select_column"))), ""),
		arg("distinct", named("Boolean"), ""),
	}})
	b.mean(aggFields, "count", &Field{Kind: CountField, Table: t})
	for _, op := range append(append([]string{}, aggOps...), "max", "min") {
		tn := t.Derived("_" + op + "_fields")
		d := &ast.Definition{Kind: ast.Object, Name: tn, Description: "aggregate " + op + " on columns"}
		for _, c := range t.Columns {
			if op == "max" || op == "min" {
				if !c.Comparable() {
					continue
				}
				d.Fields = append(d.Fields, &ast.FieldDefinition{Name: c.Field, Type: b.columnType(c)})
			} else {
				if !c.Numeric() {
					continue
				}
				typ := named(b.scalar(AggregateScalar(op, c)))
				d.Fields = append(d.Fields, &ast.FieldDefinition{Name: c.Field, Type: typ})
			}
			b.mean(tn, c.Field, &Field{Kind: ColumnField, Table: t, Column: c, Op: op})
		}
		if len(d.Fields) == 0 {
			continue
		}
		b.define(d)
		fields.Fields = append(fields.Fields, &ast.FieldDefinition{Name: op, Type: named(tn)})
		b.mean(aggFields, op, &Field{Kind: AggOpField, Table: t, Op: op})
	}
	b.define(fields)
}

func (b *builder) aggregateOrderBy(t *Table) {
	n := t.Derived("_aggregate_order_by")
	if _, ok := b.types[n]; ok {
		return
	}
	b.orderByEnum()
	d := &ast.Definition{Kind: ast.InputObject, Name: n, Description: fmt.Sprintf("order by aggregate values of table %q", t.Name.Name)}
	d.Fields = append(d.Fields, &ast.FieldDefinition{Name: "count", Type: named("order_by")})
	b.define(d)
	for _, op := range append(append([]string{}, aggOps...), "max", "min") {
		od := &ast.Definition{Kind: ast.InputObject, Name: t.Derived("_" + op + "_order_by"), Description: fmt.Sprintf("order by %s() on columns of table %q", op, t.Name.Name)}
		for _, c := range t.Columns {
			if (op == "max" || op == "min") && c.Comparable() || op != "max" && op != "min" && c.Numeric() {
				od.Fields = append(od.Fields, &ast.FieldDefinition{Name: c.Field, Type: named("order_by")})
			}
		}
		if len(od.Fields) > 0 {
			b.define(od)
			d.Fields = append(d.Fields, &ast.FieldDefinition{Name: op, Type: named(od.Name)})
		}
	}
}

func (b *builder) enumType(name string, values []EnumValue) {
	d := &ast.Definition{Kind: ast.Enum, Name: name}
	for _, v := range values {
		ev := &ast.EnumValueDefinition{Name: v.Value}
		if v.Comment != nil {
			ev.Description = *v.Comment
		}
		d.EnumValues = append(d.EnumValues, ev)
	}
	if len(d.EnumValues) == 0 {
		return
	}
	b.define(d)
}

// rootFieldsOf adds the query and subscription root fields of a
// source's tables and functions, each where the role's select permission
// lets it go (rootfields.go).
func (b *builder) rootFieldsOf(src *Source) {
	for _, mt := range src.Metadata.Tables {
		t := b.byName[src.Name][mt.Table]
		if t == nil || b.types[t.TypeName] == nil {
			continue
		}
		cfg := parseTableConfig(mt.Configuration)
		name := t.gqlName
		if b.relay {
			if len(t.PK) == 0 {
				continue
			}
			_, comment := cfg.rootField("select", name)
			b.connection(t, name+"_connection", comment, RootConnection, nil, t.rootsOf(selectRootField))
			continue
		}
		sel, c1 := cfg.rootField("select", name)
		b.addRoot(&ast.FieldDefinition{Name: sel, Description: orDefault(c1, fmt.Sprintf("fetch data from the table: %q", t.Name.Name)), Arguments: b.selectArgs(t), Type: nnListNN(t.TypeName)}, &Field{Kind: RootSelect, Table: t}, t.rootsOf(selectRootField))
		if t.AllowAggregations {
			agg, c2 := cfg.rootField("select_aggregate", name+"_aggregate")
			b.addRoot(&ast.FieldDefinition{Name: agg, Description: orDefault(c2, fmt.Sprintf("fetch aggregated fields from the table: %q", t.Name.Name)), Arguments: b.selectArgs(t), Type: nnNamed(t.Derived("_aggregate"))}, &Field{Kind: RootAggregate, Table: t}, t.rootsOf(selectAggregateRootField))
		}
		if len(t.PK) > 0 {
			pk, c3 := cfg.rootField("select_by_pk", name+"_by_pk")
			var args ast.ArgumentDefinitionList
			for _, c := range t.PK {
				args = append(args, arg(c.Field, nonNull(b.columnType(c)), ""))
			}
			b.addRoot(&ast.FieldDefinition{Name: pk, Description: orDefault(c3, fmt.Sprintf("fetch data from the table: %q using primary key columns", t.Name.Name)), Arguments: args, Type: named(t.TypeName)}, &Field{Kind: RootByPK, Table: t}, t.rootsOf(selectByPKRootField))
		}
	}
	b.functionsOf(src)
}

func orDefault(s *string, def string) string {
	if s != nil {
		return *s
	}
	return def
}

// addRoot adds a query or subscription root field (or both, as in says).
// Its name is taken in both roots either way: Hasura names them alike.
func (b *builder) addRoot(fd *ast.FieldDefinition, f *Field, in roots) {
	parents := in.parents()
	if len(parents) == 0 || b.customRoot(fd, f, parents...) || b.seen[fd.Name] || !IsName(fd.Name) {
		return
	}
	b.seen[fd.Name] = true
	if in.query {
		b.root = append(b.root, fd)
		b.mean("query_root", fd.Name, f)
	}
	if in.subscription {
		b.sroot = append(b.sroot, fd)
		b.mean("subscription_root", fd.Name, f)
	}
}

func (b *builder) addMutation(fd *ast.FieldDefinition, f *Field) {
	if b.customRoot(fd, f, "mutation_root") || b.seen["mutation_root."+fd.Name] || !IsName(fd.Name) {
		return
	}
	b.seen["mutation_root."+fd.Name] = true
	b.mroot = append(b.mroot, fd)
	b.mean("mutation_root", fd.Name, f)
}

// finish assembles the ast.Schema.
func (b *builder) finish() *Schema {
	b.addNamespaces()
	if len(b.root) == 0 {
		b.root = append(b.root, &ast.FieldDefinition{Name: "no_queries_available", Type: nnNamed("String")})
	}
	query := &ast.Definition{Kind: ast.Object, Name: "query_root", Fields: b.root}
	b.types["query_root"] = query
	if len(b.mroot) > 0 {
		b.types["mutation_root"] = &ast.Definition{Kind: ast.Object, Name: "mutation_root", Fields: b.mroot}
	}
	// As in Hasura, no subscription field means no subscription_root.
	// The relay schema serves no subscriptions yet.
	if !b.relay && len(b.sroot) > 0 {
		b.types["subscription_root"] = &ast.Definition{Kind: ast.Object, Name: "subscription_root", Fields: b.sroot}
	} else {
		delete(b.s.Fields, "subscription_root")
	}
	for _, s := range []string{"Int", "String", "Boolean", "Float"} {
		b.scalars[s] = true
	}
	for s := range b.scalars {
		if _, ok := b.types[s]; ok {
			continue
		}
		d := &ast.Definition{Kind: ast.Scalar, Name: s, BuiltIn: s == "Int" || s == "String" || s == "Boolean" || s == "Float" || s == "ID"}
		b.types[s] = d
	}
	for name, d := range introspectionTypes() {
		b.types[name] = d
	}
	for _, d := range b.types {
		if strings.HasPrefix(d.Name, "__") {
			continue
		}
		sort.SliceStable(d.Fields, func(i, j int) bool { return d.Fields[i].Name < d.Fields[j].Name })
		sort.SliceStable(d.EnumValues, func(i, j int) bool { return d.EnumValues[i].Name < d.EnumValues[j].Name })
		for _, f := range d.Fields {
			sort.SliceStable(f.Arguments, func(i, j int) bool { return f.Arguments[i].Name < f.Arguments[j].Name })
		}
	}
	s := &ast.Schema{Types: b.types, Query: query, Directives: directives(), PossibleTypes: map[string][]*ast.Definition{}, Implements: map[string][]*ast.Definition{}}
	if m, ok := b.types["mutation_root"]; ok {
		s.Mutation = m
	}
	if st, ok := b.types["subscription_root"]; ok {
		s.Subscription = st
	}
	if n, ok := b.types["Node"]; ok {
		for _, t := range b.types {
			for _, i := range t.Interfaces {
				if i == "Node" {
					s.PossibleTypes["Node"] = append(s.PossibleTypes["Node"], t)
					s.Implements[t.Name] = append(s.Implements[t.Name], n)
				}
			}
		}
		sort.Slice(s.PossibleTypes["Node"], func(i, j int) bool { return s.PossibleTypes["Node"][i].Name < s.PossibleTypes["Node"][j].Name })
	}
	b.s.AST = s
	return b.s
}
