// Package catalog introspects a Postgres database: its tables, views and
// other relations with their columns and keys, its functions, enum and
// domain types. The result feeds both GraphQL schema building (Hasura's
// track_table, relationships from foreign keys, column permissions, tracked
// functions) and the /pg/ admin API.
//
// # One round trip
//
// Load sends exactly ONE SQL statement and makes exactly one call on its
// Querier: the statement reads pg_catalog (pg_class, pg_attribute,
// pg_attrdef, pg_constraint, pg_type, pg_proc, pg_namespace, pg_description,
// pg_enum, pg_inherits, pg_language) — never the slow information_schema
// views — and has Postgres assemble the whole catalog as a single JSON value
// with json_agg/json_build_object, which Go decodes once. There are no
// per-table follow-up queries (no N+1). The statement is run in
// pgx.QueryExecModeExec, so it is not prepared first and costs one network
// round trip even on a fresh connection, and it does not occupy a slot in
// the connection's statement cache. Being one statement, it also sees one
// consistent snapshot of the catalog. A database of 1,000 tables loads in
// roughly 0.2-0.3 s (about 1.5 MB of JSON).
//
// # Conventions
//
//   - Type names: Column.TypeName (and FunctionArg.TypeName,
//     Function.ReturnType, Domain.BaseType) name the element type for an
//     array (integer[] -> pg_catalog.int4 with IsArray set) and the type
//     itself otherwise; a domain is named as the domain (its underlying type
//     is in Catalog.Domains). The matching *Kind field describes that same
//     named type, so an array of an enum has kind "enum" and IsArray.
//   - Order: columns in attnum order; key columns in constraint order;
//     constraints and foreign keys by name; overloads by identity
//     arguments. Maps aside, everything is deterministic.
//   - The Catalog is a snapshot: treat it as read-only once loaded.
//
// Requires Postgres 12 or later (pg_attribute.attgenerated, pg_proc.prokind).
package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Querier runs the one catalog statement. *pgx.Conn, *pgxpool.Pool and
// pgx.Tx satisfy it; so does any wrapper that forwards QueryRow (its args
// start with a pgx.QueryExecMode, which pgx consumes).
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Options choose which schemas Load reads. The zero value reads every
// user schema.
type Options struct {
	// IncludeSystemSchemas keeps pg_catalog, information_schema, the
	// pg_toast* and pg_temp* schemas (every schema named pg_*, a prefix
	// Postgres reserves) and Hasura's hdb_catalog, which are excluded by
	// default. Ignored when Schemas is set.
	IncludeSystemSchemas bool
	// Schemas, if non-empty, is the exact list of schemas to read; a
	// system schema listed here is read.
	Schemas []string
}

// Catalog is one snapshot of a database's catalog. Every map is non-nil.
type Catalog struct {
	Tables    map[QualifiedName]*Table      `json:"tables"`
	Functions map[QualifiedName][]*Function `json:"functions"` // overloads, by identity arguments
	// Enums holds each enum type's labels in their sort order.
	Enums map[QualifiedName][]string `json:"enums"`
	// Domains holds each domain type, so a column whose TypeKind is
	// TypeDomain can be mapped through to its underlying type.
	Domains map[QualifiedName]*Domain `json:"domains"`

	// refs indexes foreign keys by referenced table; built by Load.
	refs map[QualifiedName][]*ForeignKeyRef
}

// TableKind is the kind of a relation (pg_class.relkind).
type TableKind string

const (
	KindTable            TableKind = "table"             // relkind r
	KindView             TableKind = "view"              // relkind v
	KindMaterializedView TableKind = "materialized_view" // relkind m
	KindForeignTable     TableKind = "foreign_table"     // relkind f
	KindPartitionedTable TableKind = "partitioned_table" // relkind p
)

// TypeKind is the kind of a type (pg_type.typtype).
type TypeKind string

const (
	TypeBase       TypeKind = "base"       // typtype b (scalars such as int4, text, uuid)
	TypeComposite  TypeKind = "composite"  // typtype c (a table's row type, CREATE TYPE ... AS)
	TypeDomain     TypeKind = "domain"     // typtype d
	TypeEnum       TypeKind = "enum"       // typtype e
	TypePseudo     TypeKind = "pseudo"     // typtype p (record, void, anyelement, trigger...)
	TypeRange      TypeKind = "range"      // typtype r
	TypeMultirange TypeKind = "multirange" // typtype m
)

// Table is a relation: a table, view, materialized view, foreign table or
// partitioned table. Partitions are listed as tables of their own, with
// PartitionOf naming their parent.
type Table struct {
	Name    QualifiedName `json:"name"`
	OID     uint32        `json:"oid"`
	Kind    TableKind     `json:"kind"`
	Comment *string       `json:"comment"`
	// Columns are in attnum order, dropped columns excluded.
	Columns []*Column `json:"columns"`
	// PrimaryKey is nil if there is none.
	PrimaryKey        *Constraint   `json:"primary_key"`
	UniqueConstraints []*Constraint `json:"unique_constraints"` // excludes the primary key
	ForeignKeys       []*ForeignKey `json:"foreign_keys"`
	// Insertable, Updatable and Deletable say whether INSERT, UPDATE and
	// DELETE can target the relation: always for tables and partitioned
	// tables, never for materialized views, and for views and foreign
	// tables what pg_relation_is_updatable(oid, true) reports — so a view
	// made writable by INSTEAD OF triggers counts, as it does for Hasura.
	Insertable bool `json:"insertable"`
	Updatable  bool `json:"updatable"`
	Deletable  bool `json:"deletable"`
	// PartitionOf is the parent of a partition, nil otherwise.
	PartitionOf *QualifiedName `json:"partition_of,omitempty"`

	byName map[string]*Column
}

// Column is a column of a Table.
type Column struct {
	Name string `json:"name"`
	// Position is pg_attribute.attnum: 1-based, and it keeps the gaps
	// dropped columns leave (as information_schema's ordinal_position does).
	Position int `json:"position"`
	// Type is format_type(atttypid, atttypmod): "integer", "text",
	// "character varying(100)", "timestamp with time zone", "integer[]",
	// "shop.mood". format_type schema-qualifies a type only when its schema
	// is not on the loading session's search_path (so public.email prints
	// "email" by default): use TypeName to identify the type.
	Type string `json:"type"`
	// TypeOID is atttypid (the array type's OID for an array column).
	TypeOID uint32 `json:"type_oid"`
	// TypeName is the element type for an array, the type itself otherwise
	// (pg_catalog.int4, public.mood); TypeKind is that type's kind.
	TypeName QualifiedName `json:"type_name"`
	TypeKind TypeKind      `json:"type_kind"`
	IsArray  bool          `json:"is_array"`
	Nullable bool          `json:"nullable"`
	// Default is the DEFAULT expression (pg_get_expr), e.g.
	// "nextval('users_id_seq'::regclass)"; nil if none, and nil for a
	// generated column, whose expression is in GenerationExpression.
	Default    *string `json:"default"`
	IsIdentity bool    `json:"is_identity"`
	// IdentityGeneration is "ALWAYS", "BY DEFAULT" or "".
	IdentityGeneration string `json:"identity_generation"`
	// IsGenerated marks a GENERATED ALWAYS AS (...) STORED column.
	IsGenerated          bool    `json:"is_generated"`
	GenerationExpression *string `json:"generation_expression,omitempty"`
	Comment              *string `json:"comment"`
}

// Constraint is a primary key or unique constraint.
type Constraint struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"` // in constraint (conkey) order
}

// ForeignKey is a foreign key constraint. Columns[i] references
// RefColumns[i].
type ForeignKey struct {
	Name       string        `json:"name"`
	Columns    []string      `json:"columns"`
	RefTable   QualifiedName `json:"ref_table"`
	RefColumns []string      `json:"ref_columns"`
	// OnUpdate and OnDelete are "NO ACTION", "RESTRICT", "CASCADE",
	// "SET NULL" or "SET DEFAULT".
	OnUpdate string `json:"on_update"`
	OnDelete string `json:"on_delete"`
}

// ForeignKeyRef is a foreign key seen from the table it references: Table
// holds ForeignKey, whose RefTable is the table asked about.
type ForeignKeyRef struct {
	Table      *Table
	ForeignKey *ForeignKey
}

// Function is a plain function (pg_proc.prokind 'f'; aggregates, window
// functions and procedures are not loaded).
type Function struct {
	Name    QualifiedName `json:"name"`
	OID     uint32        `json:"oid"`
	Comment *string       `json:"comment"`
	// Args are the input arguments (IN, INOUT, VARIADIC) in order; OUT and
	// TABLE columns are not arguments.
	Args []FunctionArg `json:"args"`
	// IdentityArgs is pg_get_function_identity_arguments as the server
	// prints it, e.g. "a integer, b text" (OUT arguments included, marked
	// OUT): what tells overloads apart, and what DROP FUNCTION takes.
	IdentityArgs string `json:"identity_args"`
	// ReturnType is the return type (its element type for an array, see
	// ReturnsArray); for RETURNS SETOF tbl or RETURNS tbl it is the table's
	// row type, which has the table's name. RETURNS TABLE (...) and OUT
	// parameters give pg_catalog.record.
	ReturnType     QualifiedName `json:"return_type"`
	ReturnTypeKind TypeKind      `json:"return_type_kind"`
	ReturnsArray   bool          `json:"returns_array"`
	ReturnsSet     bool          `json:"returns_set"`
	// ReturnsTable is true when the return type is the row type of a
	// table-like relation (table, view, materialized view, foreign or
	// partitioned table) — what Hasura needs to track a function. It is
	// not about the RETURNS TABLE (...) syntax, which returns record.
	ReturnsTable bool `json:"returns_table"`
	// Volatility is "IMMUTABLE", "STABLE" or "VOLATILE".
	Volatility string `json:"volatility"`
	Language   string `json:"language"`
}

// FunctionArg is one input argument of a Function.
type FunctionArg struct {
	Name     string        `json:"name"` // "" if unnamed
	Type     string        `json:"type"` // format_type, e.g. "integer", "text[]"
	TypeName QualifiedName `json:"type_name"`
	TypeKind TypeKind      `json:"type_kind"`
	IsArray  bool          `json:"is_array"`
	// Mode is "IN", "INOUT" or "VARIADIC".
	Mode       string `json:"mode"`
	HasDefault bool   `json:"has_default"`
}

// Domain is a domain type. BaseType is the non-domain type underneath,
// however many domains deep (element type if it is an array).
type Domain struct {
	Name         QualifiedName `json:"name"`
	Type         string        `json:"type"` // format_type of the immediate base type
	BaseType     QualifiedName `json:"base_type"`
	BaseTypeKind TypeKind      `json:"base_type_kind"`
	BaseIsArray  bool          `json:"base_is_array"`
	NotNull      bool          `json:"not_null"`
	Default      *string       `json:"default"`
}

// Table returns the named relation.
func (c *Catalog) Table(schema, name string) (*Table, bool) {
	t, ok := c.Tables[QualifiedName{Schema: schema, Name: name}]
	return t, ok
}

// SortedTables returns every relation ordered by schema, then name.
func (c *Catalog) SortedTables() []*Table {
	ts := make([]*Table, 0, len(c.Tables))
	for _, t := range c.Tables {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *Table) int { return compareNames(a.Name, b.Name) })
	return ts
}

// Function returns the overloads of the named function.
func (c *Catalog) Function(schema, name string) []*Function {
	return c.Functions[QualifiedName{Schema: schema, Name: name}]
}

// ForeignKeysTo returns the foreign keys, of any loaded table (t itself
// included, for a self-reference), that reference t: Hasura's array
// relationships. They are ordered by referencing table, then constraint
// name. Referencing tables in schemas Load did not read are not seen.
func (c *Catalog) ForeignKeysTo(t QualifiedName) []*ForeignKeyRef {
	if c.refs == nil { // not from Load: index now, without caching (no data race)
		return indexRefs(c)[t]
	}
	return c.refs[t]
}

func indexRefs(c *Catalog) map[QualifiedName][]*ForeignKeyRef {
	refs := map[QualifiedName][]*ForeignKeyRef{}
	for _, t := range c.SortedTables() {
		for _, fk := range t.ForeignKeys {
			refs[fk.RefTable] = append(refs[fk.RefTable], &ForeignKeyRef{Table: t, ForeignKey: fk})
		}
	}
	return refs
}

// Column returns the named column.
func (t *Table) Column(name string) (*Column, bool) {
	if t.byName == nil { // not from Load
		for _, c := range t.Columns {
			if c.Name == name {
				return c, true
			}
		}
		return nil, false
	}
	c, ok := t.byName[name]
	return c, ok
}

// IsView reports whether the relation is a view or materialized view.
func (t *Table) IsView() bool { return t.Kind == KindView || t.Kind == KindMaterializedView }

// Load reads the catalog with one statement (see the package comment).
func Load(ctx context.Context, q Querier, opts Options) (*Catalog, error) {
	var schemas []string
	if len(opts.Schemas) > 0 {
		schemas = opts.Schemas
	}
	var doc []byte
	if err := q.QueryRow(ctx, loadSQL, pgx.QueryExecModeExec, schemas, opts.IncludeSystemSchemas).Scan(&doc); err != nil {
		return nil, fmt.Errorf("catalog: load: %w", err)
	}
	var raw rawCatalog
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("catalog: decode: %w", err)
	}
	return raw.build(), nil
}
