package schema

import (
	"bytes"
	"encoding/json"
	"regexp"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

// scalarName is the GraphQL scalar a Postgres type maps to, as Hasura's
// mkScalarTypeName names it: the five GraphQL built-ins for the types that
// fit them, the Postgres name (smallint, bigint, float8, numeric, uuid,
// timestamptz, jsonb, ...) for the rest. Domains map through to their
// base type.
func scalarName(typ catalog.QualifiedName, kind catalog.TypeKind, cat *catalog.Catalog) string {
	if kind == catalog.TypeDomain && cat != nil {
		if d, ok := cat.Domains[typ]; ok {
			return scalarName(d.BaseType, d.BaseTypeKind, cat)
		}
	}
	if typ.Schema != "pg_catalog" {
		return typ.Name
	}
	switch typ.Name {
	case "int4":
		return "Int"
	case "bool":
		return "Boolean"
	case "float4":
		return "Float"
	case "text", "varchar":
		return "String"
	case "int2":
		return "smallint"
	case "int8":
		return "bigint"
	}
	return typ.Name
}

// SQLType is how SQL names a type to cast values to: bare for
// pg_catalog types, schema-qualified and quoted otherwise, [] for arrays.
func SQLType(typ catalog.QualifiedName, isArray bool) string {
	t := typ.Name
	if typ.Schema != "pg_catalog" {
		t = pgx.Identifier{typ.Schema, typ.Name}.Sanitize()
	}
	if isArray {
		t += "[]"
	}
	return t
}

// ColumnSQLType is SQLType of a column.
func ColumnSQLType(c *catalog.Column) string { return SQLType(c.TypeName, c.IsArray) }

var graphqlName = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)

// IsName reports whether s is a legal GraphQL name.
func IsName(s string) bool { return graphqlName.MatchString(s) }

// tableConfig is a table's custom names, with the schema builder's own
// readings of them.
type tableConfig struct{ metadata.TableConfig }

func parseTableConfig(raw json.RawMessage) tableConfig {
	return tableConfig{metadata.ParseTableConfig(raw)}
}

// rootField is a custom root field name: a string or {name, comment}.
func (c tableConfig) rootField(key, def string) (name string, comment *string) {
	raw, ok := c.CustomRootFields[key]
	if !ok {
		return def, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return def, nil
		}
		return s, nil
	}
	var o struct {
		Name    *string `json:"name"`
		Comment *string `json:"comment"`
	}
	if json.Unmarshal(raw, &o) == nil {
		if o.Name != nil && *o.Name != "" {
			def = *o.Name
		}
		return def, o.Comment
	}
	return def, nil
}

// typeBaseName is a table's GraphQL type name: its custom name, else its
// name, prefixed with its schema outside public.
func typeBaseName(q metadata.QualifiedName, c tableConfig) string {
	if c.CustomName != "" {
		return c.CustomName
	}
	if q.Schema == "public" {
		return q.Name
	}
	return q.Schema + "_" + q.Name
}

// decodeJSON decodes a metadata value, numbers kept exact.
func decodeJSON(raw json.RawMessage) any {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&v) // validated when the metadata was written
	return v
}
