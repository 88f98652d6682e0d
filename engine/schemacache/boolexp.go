package schemacache

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/metadata"
)

// A permission's boolean expressions (filter, check) are checked against
// the fields of the tables they reach as Hasura's annBoolExp and
// parseBoolExpOperations check them (RQL/DDL/Permission/Internal.hs,
// Backends/Postgres/DDL/BoolExp.hs), with the same messages. What an
// expression names is recorded as the permission's dependencies.

// DepKind is the kind of object a permission depends on.
type DepKind int

// The kinds of objects a permission depends on.
const (
	DepTable DepKind = iota
	DepColumn
	DepRelationship
	DepComputedField
)

// Dependency is one object a consistent permission depends on, as Hasura
// records it (SchemaDependency).
type Dependency struct {
	Table metadata.QualifiedName
	Kind  DepKind
	Name  string // the column, relationship or computed field; "" for a table
	// OnType: the permission compares the column to a static value, so it
	// depends on the column's type too (DROnType).
	OnType bool
}

// permChecker checks the expressions of one permission.
type permChecker struct {
	fields *sourceFields
	root   *tableFields // the permission's table, "$" in column comparisons
	deps   []Dependency
}

func (c *permChecker) dep(t *tableFields, kind DepKind, name string, onType bool) {
	c.deps = append(c.deps, Dependency{Table: t.name, Kind: kind, Name: name, OnType: onType})
}

func dquote(s string) string { return `"` + s + `"` }

func isNullJSON(raw json.RawMessage) bool { return aeson.Kind(raw) == "Null" }

// object decodes a JSON object; what names the expected value in aeson's
// "parsing <what> failed" when it is not one.
func object(raw json.RawMessage, what string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if aeson.Kind(raw) != "Object" || json.Unmarshal(raw, &obj) != nil {
		return nil, fmt.Errorf("parsing %s failed, expected Object, but encountered %s", what, aeson.Kind(raw))
	}
	return obj, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// boolExp checks an expression over t; an absent one is true.
func (c *permChecker) boolExp(t *tableFields, raw json.RawMessage) error {
	if isNullJSON(raw) {
		return nil
	}
	obj, err := object(raw, "boolean expression")
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "_and", "$and", "_or", "$or":
			var items []json.RawMessage
			if aeson.Kind(v) != "Array" || json.Unmarshal(v, &items) != nil {
				return fmt.Errorf("parsing [] failed, expected Array, but encountered %s", aeson.Kind(v))
			}
			for _, it := range items {
				if err := c.boolExp(t, it); err != nil {
					return err
				}
			}
		case "_not", "$not":
			if err := c.boolExp(t, v); err != nil {
				return err
			}
		case "_exists", "$exists":
			if err := c.exists(v); err != nil {
				return err
			}
		default:
			if err := c.field(t, k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// exists checks {_table, _where}: a condition on any tracked table.
func (c *permChecker) exists(raw json.RawMessage) error {
	obj, err := object(raw, "_exists")
	if err != nil {
		return err
	}
	for _, key := range []string{"_table", "_where"} {
		if _, ok := obj[key]; !ok {
			return fmt.Errorf("parsing _exists failed, key %q not found", key)
		}
	}
	var q metadata.QualifiedName
	if err := json.Unmarshal(obj["_table"], &q); err != nil {
		return err
	}
	t := c.fields.table(q)
	if t == nil {
		return fmt.Errorf("table %s does not exist", dquote(DisplayName(q)))
	}
	c.dep(t, DepTable, "", false)
	return c.boolExp(t, obj["_where"])
}

// field checks `name: value`, name being a field of t.
func (c *permChecker) field(t *tableFields, name string, v json.RawMessage) error {
	switch t.kind(name) {
	case kindColumn:
		typ := columnType(t.column(name))
		if typ == (pgType{name: "json"}) {
			return errors.New("JSON column can not be part of boolean expression")
		}
		static, err := c.operations(t, name, typ, v)
		if err != nil {
			return err
		}
		c.dep(t, DepColumn, name, static)
	case kindRelationship:
		target := c.fields.table(t.rels[name])
		if target == nil {
			return fmt.Errorf("table %s does not exist", dquote(DisplayName(t.rels[name])))
		}
		if _, err := object(v, "boolean expression"); err != nil {
			return err
		}
		if err := c.boolExp(target, v); err != nil {
			return err
		}
		c.dep(t, DepRelationship, name, true)
	case kindComputedField:
		cf := t.computed[name]
		if cf.inputArgs {
			return errors.New("Computed columns with input arguments can not be part of the where clause")
		}
		if cf.returnsTable != nil {
			rt := c.fields.table(*cf.returnsTable)
			if rt == nil {
				return fmt.Errorf("table %s does not exist", dquote(DisplayName(*cf.returnsTable)))
			}
			if _, err := object(v, "boolean expression"); err != nil {
				return err
			}
			if err := c.boolExp(rt, v); err != nil {
				return err
			}
			c.dep(t, DepComputedField, name, true)
			return nil
		}
		static, err := c.operations(t, name, typeOf(cf.fn.ReturnType, cf.fn.ReturnsArray), v)
		if err != nil {
			return err
		}
		c.dep(t, DepComputedField, name, static)
	case kindRemoteRelationship:
		if t.remote[name] {
			return errors.New("remote schema field unsupported")
		}
	default:
		return fmt.Errorf("%s does not exist", dquote(name))
	}
	return nil
}

// operations checks the operators applied to a column (or scalar
// computed field) of type typ: {op: value, ...}, or a bare value for
// _eq. static says whether any operand is a static value rather than a
// session variable.
func (c *permChecker) operations(t *tableFields, col string, typ pgType, v json.RawMessage) (static bool, err error) {
	if aeson.Kind(v) != "Object" {
		return c.value(typ, v)
	}
	ops, _ := object(v, "")
	for _, op := range sortedKeys(ops) {
		s, err := c.operation(t, col, typ, op, ops[op])
		if err != nil {
			return false, err
		}
		static = static || s
	}
	return static, nil
}

// value checks one operand of type typ.
func (c *permChecker) value(typ pgType, v json.RawMessage) (static bool, err error) {
	if sessionValue(v) {
		return false, nil
	}
	if r := checkValue(typ, v); r != "" {
		return false, errors.New(r)
	}
	return true, nil
}

// values checks a list operand (_in, _has_keys_any, ...) of elements of
// type typ.
func (c *permChecker) values(typ pgType, v json.RawMessage) (static bool, err error) {
	if sessionValue(v) {
		return false, nil
	}
	var items []json.RawMessage
	if aeson.Kind(v) != "Array" || json.Unmarshal(v, &items) != nil {
		return false, fmt.Errorf("parsing [] failed, expected Array, but encountered %s", aeson.Kind(v))
	}
	for _, it := range items {
		if r := checkValue(typ, it); r != "" {
			return false, errors.New(r)
		}
	}
	return true, nil
}

var (
	stringTypes = []string{"varchar", "text", "citext", "bpchar"}
	geoTypes    = []string{"geometry", "geography"}
)

func dquoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = dquote(n)
	}
	return strings.Join(quoted, ", ")
}

// guard refuses an operator on a column whose type it does not apply to.
func guard(typ pgType, valid []string) error {
	if !typ.array {
		for _, v := range valid {
			if typ.name == v {
				return nil
			}
		}
	}
	return invalidType(typ, dquoteList(valid))
}

func invalidType(typ pgType, expected string) error {
	// Hasura's message starts with the space.
	return fmt.Errorf(" is of type %s; this operator works only on columns of type %s", dquote(typ.String()), expected)
}

// operation checks one operator of a column of type typ.
func (c *permChecker) operation(t *tableFields, col string, typ pgType, op string, v json.RawMessage) (static bool, err error) {
	name := op
	if strings.HasPrefix(name, "$") {
		name = "_" + name[1:]
	}
	text, ltree := pgType{name: "text"}, pgType{name: "ltree"}
	switch name {
	case "_cast":
		return c.cast(t, col, typ, v)
	case "_eq", "_ne", "_neq", "_gt", "_lt", "_gte", "_lte":
		return c.value(typ, v)
	case "_in", "_nin":
		return c.values(typ, v)
	case "_is_null":
		if aeson.Kind(v) != "Boolean" {
			return false, fmt.Errorf("parsing Bool failed, expected Boolean, but encountered %s", aeson.Kind(v))
		}
		return false, nil
	case "_like", "_nlike", "_ilike", "_nilike", "_similar", "_nsimilar", "_regex", "_iregex", "_nregex", "_niregex":
		if err := guard(typ, stringTypes); err != nil {
			return false, err
		}
		return c.value(typ, v)
	case "_contains", "_contained_in":
		if !typ.array && typ.name != "jsonb" {
			return false, invalidType(typ, "an array or JSONB")
		}
		return c.value(typ, v)
	case "_has_key":
		if err := guard(typ, []string{"jsonb"}); err != nil {
			return false, err
		}
		return c.value(text, v)
	case "_has_keys_any", "_has_keys_all":
		if err := guard(typ, []string{"jsonb"}); err != nil {
			return false, err
		}
		return c.values(text, v)
	case "_st_contains", "_st_crosses", "_st_equals", "_st_overlaps", "_st_touches", "_st_within", "_st_3d_intersects":
		if err := guard(typ, []string{"geometry"}); err != nil {
			return false, err
		}
		return c.value(typ, v)
	case "_st_intersects":
		if err := guard(typ, geoTypes); err != nil {
			return false, err
		}
		return c.value(typ, v)
	case "_st_d_within", "_st_3d_d_within":
		valid := geoTypes
		if name == "_st_3d_d_within" {
			valid = geoTypes[:1]
		}
		if err := guard(typ, valid); err != nil {
			return false, err
		}
		if _, err := object(v, "DWithinGeomOp"); err != nil {
			return false, err
		}
		return true, nil
	case "_ceq", "_cne", "_cneq", "_cgt", "_clt", "_cgte", "_clte":
		return false, c.compareColumn(t, col, typ, v)
	case "_ancestor", "_descendant":
		if err := guard(typ, []string{"ltree"}); err != nil {
			return false, err
		}
		return c.value(typ, v)
	case "_ancestor_any", "_descendant_any":
		if err := guard(typ, []string{"ltree"}); err != nil {
			return false, err
		}
		return c.values(ltree, v)
	case "_matches", "_matches_any", "_matches_fulltext":
		if err := guard(typ, []string{"ltree"}); err != nil {
			return false, err
		}
		if name == "_matches_any" {
			return c.values(pgType{name: "lquery"}, v)
		}
		if name == "_matches_fulltext" {
			return c.value(pgType{name: "ltxtquery"}, v)
		}
		return c.value(pgType{name: "lquery"}, v)
	}
	return false, fmt.Errorf("Unknown operator: %s", op)
}

// cast checks _cast: {type: operations} on the column cast to each type,
// where Hasura can cast it.
func (c *permChecker) cast(t *tableFields, col string, typ pgType, v json.RawMessage) (static bool, err error) {
	casts, err := object(v, "HashMap ~Text")
	if err != nil {
		return false, err
	}
	for _, name := range sortedKeys(casts) {
		target := castType(name)
		ok := !typ.array && !target.array && (typ.name == "geometry" && target.name == "geography" ||
			typ.name == "geography" && target.name == "geometry" || typ.name == "jsonb" && target.name == "text")
		if !ok {
			return false, fmt.Errorf("cannot cast column of type %s to type %s", dquote(typ.String()), dquote(target.String()))
		}
		s, err := c.operations(t, col, target, casts[name])
		if err != nil {
			return false, err
		}
		static = static || s
	}
	return static, nil
}

// compareColumn checks the column a column comparison (_ceq, ...) names:
// "col" or ["col"] of the current table, ["$", "col"] of the
// permission's own table.
func (c *permChecker) compareColumn(t *tableFields, col string, typ pgType, v json.RawMessage) error {
	fields, name := t, v
	switch aeson.Kind(v) {
	case "String":
	case "Array":
		var path []json.RawMessage
		_ = json.Unmarshal(v, &path)
		switch {
		case len(path) == 0:
			return errors.New("path cannot be empty")
		case len(path) == 1:
			name = path[0]
		case len(path) == 2 && string(path[0]) == `"$"`:
			fields, name = c.root, path[1]
		default:
			return errors.New("Relationship references are not supported in column comparison RHS")
		}
	default:
		return errors.New("a boolean expression JSON must be either a string or an array")
	}
	var rhs string
	if err := json.Unmarshal(name, &rhs); err != nil {
		return fmt.Errorf("parsing Text failed, expected String, but encountered %s", aeson.Kind(name))
	}
	switch k := fields.kind(rhs); k {
	case kindColumn:
	case kindNone:
		return fmt.Errorf("column %s does not exist", dquote(rhs))
	default:
		return fmt.Errorf("expecting a database column; but, %s is a %s; column operators can only compare postgres columns", dquote(rhs), k.kindName())
	}
	if rt := columnType(fields.column(rhs)); rt != typ {
		return fmt.Errorf("incompatible column types: %s has type %s, but %s has type %s", dquote(col), dquote(typ.String()), dquote(rhs), dquote(rt.String()))
	}
	c.dep(fields, DepColumn, rhs, true)
	return nil
}
