// Package schema builds the GraphQL schema each role sees from the
// metadata and the Postgres catalogs, as Hasura v2 names and shapes it:
// per tracked table a type with its columns and relationships, the
// `<table>`, `<table>_by_pk` and `<table>_aggregate` root fields, boolean
// expressions, orderings and aggregates; tracked functions and computed
// fields; enum tables as GraphQL enums.
//
// A Schema carries two things: the type system as a gqlparser *ast.Schema
// (what introspection shows and what input values are checked against),
// and beside it, for every object field, what the field means (a column,
// a relationship, an aggregate...), which is what the compiler reads. Both
// are immutable once built and shared by every request of the role.
//
// Building is split in two. A Model is built once per schema-cache
// snapshot and is role-independent: names, column types, relationships,
// enum values. Role schemas are derived from it lazily, on a role's first
// request, and kept until the next snapshot, so a role nobody uses costs
// nothing and a metadata change never rebuilds eagerly for every role.
//
// What a role may do with a table is resolved in one place (perms.go),
// inherited roles included (inherited.go, selectperm.go): the compiler
// reads it from the role's Table (Filter, Columns and their Redact...),
// so schema and SQL always agree.
package schema

import (
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/metadata"
)

// Schema is the GraphQL schema of one role.
type Schema struct {
	Role  string
	Admin bool
	AST   *ast.Schema
	// Fields maps object type name, then field name, to its meaning.
	Fields map[string]map[string]*Field
	// Relay marks the /v1beta1/relay flavour of the schema.
	Relay bool
	// NodeTables lists, by type name, the tables the relay `node` field
	// can return.
	NodeTables map[string]*Table
}

// Field returns the meaning of typeName.fieldName, if it has one.
func (s *Schema) Field(typeName, fieldName string) *Field {
	return s.Fields[typeName][fieldName]
}

// FieldKind says what an output field is.
type FieldKind int

const (
	// Root fields.
	RootSelect FieldKind = iota + 1
	RootByPK
	RootAggregate
	RootFunction
	RootFunctionAggregate
	RootConnection
	RootFunctionConnection
	RootNode
	RootNamespace // a source's root fields under its namespace (customize.go)
	// Fields of a table's type.
	ColumnField
	ObjectRelField
	ArrayRelField
	ArrayRelAggregateField
	ArrayRelConnectionField
	ComputedScalarField
	ComputedSetField
	ComputedSetAggregateField
	NodeIDField
	// Mutation root fields.
	RootInsert
	RootInsertOne
	RootUpdate
	RootUpdateByPK
	RootUpdateMany
	RootDelete
	RootDeleteByPK
	// Fields of the aggregate types.
	AggregateField // <t>_aggregate.aggregate
	NodesField     // <t>_aggregate.nodes
	CountField     // <t>_aggregate_fields.count
	AggOpField     // <t>_aggregate_fields.sum (Op says which)
	// Relay connection types.
	EdgesField
	PageInfoField
	CursorField
	NodeField
	PageInfoScalar
)

// Field is what an object field means.
type Field struct {
	Kind FieldKind
	// Table is the table whose rows the field selects (root fields,
	// relationships, aggregates) or whose column it is.
	Table    *Table
	Column   *Column
	Rel      *Relationship
	Function *Function
	Computed *ComputedField
	// Namespace is what a RootNamespace field holds.
	Namespace *Namespace
	// Op is an aggregate operation (sum, avg, max...) or a pageInfo field.
	Op string
}

// Table is a tracked table as one role sees it.
type Table struct {
	Source  string
	Name    metadata.QualifiedName
	Catalog *catalog.Table
	Base    *compile.Table // every column and relationship, for permission filters
	// TypeName is the name of the table's object type; Derived names the
	// other types made from the table.
	TypeName string
	gqlName  string    // the table's GraphQL name, before customization
	names    typeNamer // the source's type name customization
	// Selectable: the role may select the table (else it is known for
	// its mutations only, and Columns is empty).
	Selectable bool
	// AllColumns are every column, in table order; Columns those the
	// role may select.
	AllColumns []*Column
	Columns    []*Column
	ByField    map[string]*Column
	// Rels are the relationships whose remote table the role may select.
	Rels map[string]*Relationship
	// RemoteRels are its relationships to tables of other sources
	// (remote_source.go).
	RemoteRels []*Relationship
	// Computed are the computed fields the role may select; AllComputed
	// every one that resolves, which permission filters may use.
	Computed    map[string]*ComputedField
	AllComputed map[string]*ComputedField
	// PK is the primary key, when every key column is selectable.
	PK []*Column
	// Filter is the row filter of the role's select permission (a
	// boolean expression that may reference session variables), decoded
	// once here (JSON numbers kept as json.Number); nil means every row.
	// For an inherited role it is the OR of its parents' (selectperm.go).
	Filter            any
	Limit             *int64
	AllowAggregations bool
	// Enum is set for enum tables (is_enum): their values.
	Enum []EnumValue

	// Insert, Update and Delete are the role's mutation permissions, nil
	// when it has none.
	Insert *InsertPerm
	Update *UpdatePerm
	Delete *DeletePerm

	// Redacts: some column the role selects is redacted (Column.Redact),
	// which only an inherited role's can be.
	Redacts bool

	perm   *selectPerm // nil for admin
	hidden bool        // known only to permission filters
}

// Column is a column of a table.
type Column struct {
	Field    string // GraphQL name
	Name     string // Postgres name
	Scalar   string // GraphQL scalar (or enum type) name
	SQLType  string // type to cast values to
	Nullable bool
	IsArray  bool
	// EnumType is the GraphQL enum of an enum-table reference ("" if not).
	EnumType string
	Catalog  *catalog.Column
	// Redact is, for a column an inherited role selects but not on every
	// row it sees, the condition (a permission boolean expression over
	// the row) under which its value shows; elsewhere it reads null.
	// nil: the value always shows.
	Redact any
}

// Numeric reports whether aggregates such as sum and avg apply.
func (c *Column) Numeric() bool {
	if c.IsArray || c.EnumType != "" {
		return false
	}
	switch c.Scalar {
	case "Int", "smallint", "bigint", "Float", "float8", "numeric", "money":
		return true
	}
	return false
}

// Comparable reports whether min and max apply.
func (c *Column) Comparable() bool {
	if c.IsArray || c.EnumType != "" {
		return false
	}
	switch c.Scalar {
	case "json", "jsonb", "geometry", "geography", "Boolean":
		return false
	}
	return c.Catalog.TypeName.Schema == "pg_catalog" || c.Scalar == "citext"
}

// Relationship joins a table to another; each On pair is (local column,
// remote column).
type Relationship struct {
	Field  string
	Array  bool
	Remote *Table
	On     [][2]string
	// AfterParent: a nested insert writes the remote row after this one.
	AfterParent bool
	// Nullable is false for an object relationship over non-null foreign
	// key columns of this table: the row always exists.
	Nullable bool
}

// EnumValue is a row of an enum table.
type EnumValue struct {
	Value   string
	Comment *string
}

// Function is a tracked function returning rows of a table.
type Function struct {
	Name       metadata.QualifiedName
	Catalog    *catalog.Function
	FieldName  string
	Returns    *Table
	ArgsType   string // <fn>_args, "" when it takes no user arguments
	Args       []FunctionArg
	SessionArg string // the argument that receives the session JSON
}

// FunctionArg is an argument the user passes.
type FunctionArg struct {
	Name       string
	Scalar     string
	SQLType    string
	HasDefault bool
	Position   int
}

// ComputedField is a function exposed as a field of a table.
type ComputedField struct {
	Field     string
	Function  *Function // Returns is nil for a scalar computed field
	Scalar    string    // scalar result type
	TableArg  int       // position of the row argument
	ArgsType  string
	Comment   *string
	ReturnSQL string
	// Redact: as Column.Redact, for a scalar computed field.
	Redact any
}

// AggregateScalar is the type of an aggregate of a column: sum keeps the
// column's type, the statistics (avg, stddev, variance...) are Float
// except over numeric, which stays numeric (as Postgres computes it).
func AggregateScalar(op string, c *Column) string {
	switch {
	case op == "sum" || op == "max" || op == "min":
		return c.Scalar
	case c.Scalar == "numeric":
		return "numeric"
	}
	return "Float"
}
