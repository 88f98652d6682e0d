package schemacache

import (
	"encoding/json"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/catalog"
)

// pgType is a column's type as Hasura's Postgres backend names it
// (PGScalarType): "integer", "float8", "text", ..., or the type's own
// name for one it has no name of its own for.
type pgType struct {
	name  string // for an array, the element type's
	array bool
}

func (t pgType) String() string {
	if t.array {
		return t.name + "[]"
	}
	return t.name
}

// pgScalarNames maps pg_catalog's type names to Hasura's.
var pgScalarNames = map[string]string{
	"int2": "smallint", "int4": "integer", "int8": "bigint",
	"float4": "real", "float8": "float8", "numeric": "numeric", "money": "money",
	"bool": "boolean", "bpchar": "bpchar", "varchar": "varchar", "text": "text",
	"date": "date", "timestamp": "timestamp", "timestamptz": "timestamptz", "timetz": "timetz",
	"json": "json", "jsonb": "jsonb", "uuid": "uuid",
}

// typeOf names a catalog type. Types outside pg_catalog go by their own
// name, which is Hasura's for the extensions' (citext, geometry, ltree, ...).
func typeOf(name catalog.QualifiedName, array bool) pgType {
	if name.Schema == "pg_catalog" {
		if n, ok := pgScalarNames[name.Name]; ok {
			return pgType{n, array}
		}
	}
	return pgType{name.Name, array}
}

func columnType(c *catalog.Column) pgType { return typeOf(c.TypeName, c.IsArray) }

// castType is a type a _cast names (Hasura's textToPGScalarType).
func castType(name string) pgType {
	if strings.HasSuffix(name, "[]") {
		return pgType{castType(strings.TrimSuffix(name, "[]")).name, true}
	}
	n := strings.ToLower(name)
	for pg, h := range pgScalarNames {
		if n == pg || n == h {
			return pgType{h, false}
		}
	}
	switch n {
	case "int", "serial":
		return pgType{"integer", false}
	case "bigserial":
		return pgType{"bigint", false}
	case "float", "double precision":
		return pgType{"float8", false}
	case "decimal":
		return pgType{"numeric", false}
	case "char", "character":
		return pgType{"bpchar", false}
	case "character varying":
		return pgType{"varchar", false}
	case "timestamp without time zone":
		return pgType{"timestamp", false}
	case "timestamp with time zone":
		return pgType{"timestamptz", false}
	case "time with time zone":
		return pgType{"timetz", false}
	}
	return pgType{name, false}
}

// isSessionVariable says whether a string stands for a session value:
// x-hasura-* in any case, or Hasura's old REQ_USER_ID.
func isSessionVariable(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "x-hasura-") || l == "req_user_id"
}

// sessionValue says whether raw is a session variable.
func sessionValue(raw json.RawMessage) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && isSessionVariable(s)
}

// checkValue says why a static value does not parse as t, as Hasura's
// parsePGValue would fail on it, or "". Strings and null are taken for
// any type (Postgres parses the text); other JSON must be of the type's
// own kind.
func checkValue(t pgType, raw json.RawMessage) string {
	kind := aeson.Kind(raw)
	if kind == "Null" || kind == "String" {
		return ""
	}
	if t.array {
		if kind != "Array" {
			return "parsing [] failed, expected Array, but encountered " + kind
		}
		var items []json.RawMessage
		_ = json.Unmarshal(raw, &items)
		for _, it := range items {
			if r := checkValue(pgType{name: t.name}, it); r != "" {
				return r
			}
		}
		return ""
	}
	mismatch := func(context, want string) string {
		if kind == want {
			return ""
		}
		return "parsing " + context + " failed, expected " + want + ", but encountered " + kind
	}
	switch t.name {
	case "smallint", "integer", "bigint":
		return mismatch("Integer expected for input type: "+haskellTypeName[t.name], "Number")
	case "real", "float8":
		return mismatch("Float expected for input type: "+haskellTypeName[t.name], "Number")
	case "numeric", "money":
		return mismatch("Scientific", "Number")
	case "boolean":
		return mismatch("Bool", "Boolean")
	case "bpchar", "varchar", "text", "citext":
		return mismatch("Text", "String")
	}
	return ""
}

// haskellTypeName is how Hasura's messages show a numeric type (its
// constructor's name).
var haskellTypeName = map[string]string{
	"smallint": "PGSmallInt", "integer": "PGInteger", "bigint": "PGBigInt",
	"real": "PGFloat", "float8": "PGDouble",
}
