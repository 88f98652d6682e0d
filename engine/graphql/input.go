package graphql

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/graphql/introspection"
	"github.com/strata-dev/strata/engine/schema"
)

// Input values reach the compiler as plain Go values, the shape
// encoding/json gives with UseNumber: nil, bool, string, json.Number,
// []any, map[string]any. An enum value is its name as a string. Values
// come from two places, GraphQL literals and the variables JSON, and are
// checked against the schema's input types on the way, with Hasura's
// messages (server/lib/schema-parsers, Parser/Internal/Input.hs).

// variable is a declared operation variable and its value.
type variable struct {
	def     *ast.VariableDefinition
	value   any
	present bool // a value (possibly null) was given or defaulted
}

// inValue is an input value before coercion: a literal, or JSON.
type inValue struct {
	lit    *ast.Value
	json   any
	isJSON bool
}

// describe names a value's kind as Hasura's messages do.
func (v inValue) describe(vars map[string]*variable) string {
	if v.isJSON {
		return introspection.DescribeJSON(v.json)
	}
	if v.lit.Kind == ast.Variable {
		if vr := vars[v.lit.Raw]; vr != nil && vr.present {
			return introspection.DescribeJSON(vr.value)
		}
		return fmt.Sprintf("no value specified for variable '%s'", v.lit.Raw)
	}
	return introspection.DescribeLiteral(v.lit.Kind)
}

// coercer checks input values against a schema's types.
type coercer struct {
	schema *ast.Schema
	vars   map[string]*variable
	// column is set while coercing a column's value (see columnValued).
	column bool
}

// typeString prints a type as GraphQL writes it: [Int!]!.
func typeString(t *ast.Type) string { return t.String() }

// peel resolves a variable reference: its declared type must fit where it
// is used (no coercion between variables, per the spec), then its JSON
// value stands for it. ok is false when the variable has no value.
func (c *coercer) peel(want *ast.Type, v inValue, hasDefault bool) (inValue, bool, error) {
	if v.isJSON || v.lit.Kind != ast.Variable {
		return v, true, nil
	}
	vr := c.vars[v.lit.Raw]
	if vr == nil {
		return v, false, fmt.Errorf("unbound variable %q", v.lit.Raw)
	}
	if !usageAllowed(want, vr, hasDefault) {
		return v, false, fmt.Errorf("variable '%s' is declared as '%s', but used where '%s' is expected", vr.def.Variable, typeString(vr.def.Type), typeString(want))
	}
	if !vr.present {
		return v, false, nil
	}
	return inValue{json: vr.value, isJSON: true}, true, nil
}

// usageAllowed is the spec's "All Variable Usages Are Allowed" as Hasura
// implements it (TypeChecking.hs).
func usageAllowed(loc *ast.Type, vr *variable, locHasDefault bool) bool {
	vt := vr.def.Type
	nonNullDefault := vr.def.DefaultValue != nil && vr.def.DefaultValue.Kind != ast.NullValue
	if loc.NonNull && !vt.NonNull && !locHasDefault && !nonNullDefault {
		return false
	}
	return compatible(loc, vt, true)
}

func compatible(loc, vt *ast.Type, top bool) bool {
	if !top && loc.NonNull && !vt.NonNull {
		return false
	}
	if (loc.Elem == nil) != (vt.Elem == nil) {
		return false
	}
	if loc.Elem != nil {
		return compatible(loc.Elem, vt.Elem, false)
	}
	return loc.NamedType == vt.NamedType
}

// unsetOptional reports whether v is a variable given no value at an
// optional location, which then counts as omitted (once the variable's
// declared type is checked against the location).
func (c *coercer) unsetOptional(t *ast.Type, v inValue, hasDefault bool, path string) (bool, *errAt) {
	if v.isJSON || v.lit.Kind != ast.Variable || t.NonNull {
		return false, nil
	}
	if vr := c.vars[v.lit.Raw]; vr == nil || vr.present {
		return false, nil
	}
	if _, _, err := c.peel(t, v, hasDefault); err != nil {
		return false, fail(path, "%s", err.Error())
	}
	return true, nil
}

// errAt is a validation error at a JSON path.
type errAt struct {
	path, msg, code string
}

func (e *errAt) Error() string { return e.msg }

func fail(path, format string, args ...any) *errAt {
	return &errAt{path: path, msg: fmt.Sprintf(format, args...), code: "validation-failed"}
}

// coerce checks v against t and returns its Go value.
func (c *coercer) coerce(t *ast.Type, v inValue, path string) (any, *errAt) {
	v, ok, err := c.peel(t, v, false)
	if err != nil {
		return nil, fail(path, "%s", err.Error())
	}
	if !ok {
		if t.NonNull {
			return nil, fail(path, "no variable value specified for non-nullable variable %s", v.describe(c.vars))
		}
		return nil, nil
	}
	if isNullValue(v) {
		if t.NonNull {
			if t.Elem != nil {
				return nil, fail(path, "expected a list, but found null")
			}
			return nil, c.nullError(t, path)
		}
		// A table's boolean expression refuses null, as Hasura's does. It
		// is known by its fields, not its name: a source's type-name
		// suffix may follow _bool_exp.
		if d := c.schema.Types[t.NamedType]; t.Elem == nil && isBoolExp(d) {
			return nil, fail(path, "expected an object for type '%s', but found null", t.NamedType)
		}
		return nil, nil
	}
	if t.Elem != nil {
		return c.list(t, v, path)
	}
	d := c.schema.Types[t.NamedType]
	if d == nil {
		return nil, fail(path, "unknown type %q", t.NamedType)
	}
	switch d.Kind {
	case ast.InputObject:
		return c.object(d, v, path)
	case ast.Enum:
		return c.enum(d, v, path)
	default:
		return c.scalar(d.Name, v, path)
	}
}

func (c *coercer) nullError(t *ast.Type, path string) *errAt {
	if d := c.schema.Types[t.NamedType]; d != nil && d.Kind == ast.InputObject {
		return fail(path, "expected an object for type '%s', but found null", t.NamedType)
	}
	return fail(path, "unexpected null value for type '%s'", t.NamedType)
}

func isNullValue(v inValue) bool {
	if v.isJSON {
		return v.json == nil
	}
	return v.lit.Kind == ast.NullValue
}

func (c *coercer) list(t *ast.Type, v inValue, path string) (any, *errAt) {
	var items []inValue
	switch {
	case v.isJSON:
		if arr, ok := v.json.([]any); ok {
			for _, it := range arr {
				items = append(items, inValue{json: it, isJSON: true})
			}
		} else {
			items = []inValue{v} // list input coercion: a single value is a list of one
		}
	case v.lit.Kind == ast.ListValue:
		for _, ch := range v.lit.Children {
			items = append(items, inValue{lit: ch.Value})
		}
	default:
		items = []inValue{v}
	}
	out := make([]any, len(items))
	for i, it := range items {
		x, err := c.coerce(t.Elem, it, path+"["+strconv.Itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

func (c *coercer) object(d *ast.Definition, v inValue, path string) (any, *errAt) {
	fields := map[string]inValue{}
	var order []string
	switch {
	case v.isJSON:
		obj, ok := v.json.(map[string]any)
		if !ok {
			return nil, fail(path, "expected an object for type '%s', but found %s", d.Name, v.describe(c.vars))
		}
		for k, x := range obj {
			fields[k] = inValue{json: x, isJSON: true}
			order = append(order, k)
		}
		sort.Strings(order)
	case v.lit.Kind == ast.ObjectValue:
		for _, ch := range v.lit.Children {
			fields[ch.Name] = inValue{lit: ch.Value}
			order = append(order, ch.Name)
		}
	default:
		return nil, fail(path, "expected an object for type '%s', but found %s", d.Name, v.describe(c.vars))
	}
	for _, k := range order {
		if d.Fields.ForName(k) == nil {
			return nil, fail(path+"."+k, "field '%s' not found in type: '%s'", k, d.Name)
		}
	}
	out := make(map[string]any, len(fields))
	for _, f := range d.Fields {
		x, given := fields[f.Name]
		at := path + "." + f.Name
		if !given {
			if f.DefaultValue != nil {
				x, given = inValue{lit: f.DefaultValue}, true
			} else if f.Type.NonNull {
				return nil, fail(path+"."+f.Name, "missing required field '%s'", f.Name)
			} else {
				continue
			}
		}
		if unset, err := c.unsetOptional(f.Type, x, f.DefaultValue != nil, at); err != nil {
			return nil, err
		} else if unset {
			continue
		}
		refuses := strings.HasSuffix(d.Name, "_comparison_exp") && f.Name != "_is_null" || f.Directives.ForName(schema.RefusesNull) != nil
		if refuses && isNullLiteral(c, x) {
			return nil, fail(at, "unexpected null value for type '%s'", f.Type.Name())
		}
		saved := c.column
		c.column = columnValued(d.Name, f.Name)
		val, err := c.coerce(f.Type, x, at)
		c.column = saved
		if err != nil {
			return nil, err
		}
		out[f.Name] = val
	}
	return out, nil
}

// isBoolExp: d is a table's boolean expression (<table>_bool_exp).
func isBoolExp(d *ast.Definition) bool {
	return d != nil && d.Kind == ast.InputObject && d.Fields.ForName("_and") != nil && d.Fields.ForName("_or") != nil && d.Fields.ForName("_not") != nil
}

// columnValued reports whether a field of an input type holds a column's
// value, which Hasura parses as Postgres would (its columnParser goes
// through JSON): a string is accepted for any type, Postgres reads it.
func columnValued(typeName, field string) bool {
	switch {
	case strings.HasSuffix(typeName, "_comparison_exp"):
		switch field {
		case "_is_null", "_has_key", "_has_keys_any", "_has_keys_all":
			return false
		}
		return true
	case strings.HasSuffix(typeName, "_insert_input"), strings.HasSuffix(typeName, "_set_input"),
		strings.HasSuffix(typeName, "_inc_input"), strings.HasSuffix(typeName, "_pk_columns_input"),
		strings.HasSuffix(typeName, "_stream_cursor_value_input"): // a stream's cursor (stream.go)
		return true
	}
	return false
}

func (c *coercer) enum(d *ast.Definition, v inValue, path string) (any, *errAt) {
	var name string
	switch {
	case v.isJSON:
		s, ok := v.json.(string)
		if !ok {
			return nil, fail(path, "expected an enum value for type '%s', but found %s", d.Name, v.describe(c.vars))
		}
		name = s
	case v.lit.Kind == ast.EnumValue:
		name = v.lit.Raw
	default:
		return nil, fail(path, "expected an enum value for type '%s', but found %s", d.Name, v.describe(c.vars))
	}
	if d.EnumValues.ForName(name) == nil {
		names := make([]string, len(d.EnumValues))
		for i, e := range d.EnumValues {
			names[i] = "'" + e.Name + "'"
		}
		return nil, fail(path, "expected one of the values [%s] for type '%s', but found '%s'", strings.Join(names, ", "), d.Name, name)
	}
	return name, nil
}

// scalar coerces the built-in scalars strictly and Postgres scalars
// loosely: for those, any JSON value goes on to Postgres, which parses
// it as the column's type (so Hasura's and Postgres's rules agree).
func (c *coercer) scalar(name string, v inValue, path string) (any, *errAt) {
	val := v.json
	if !v.isJSON {
		val = c.literal(v.lit)
	}
	mismatch := func(what string) (any, *errAt) {
		return nil, fail(path, "expected %s for type '%s', but found %s", what, name, v.describe(c.vars))
	}
	if _, isString := val.(string); isString && c.column {
		return val, nil
	}
	switch name {
	case "Int":
		n, ok := val.(json.Number)
		if !ok {
			return mismatch("a 32-bit integer")
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || i < math.MinInt32 || i > math.MaxInt32 {
			if f, ferr := strconv.ParseFloat(string(n), 64); ferr == nil && f == math.Trunc(f) && f >= math.MinInt32 && f <= math.MaxInt32 {
				return json.Number(strconv.FormatInt(int64(f), 10)), nil
			}
			return nil, &errAt{path: path, msg: fmt.Sprintf("The value %s lies outside the bounds or is not an integer. Maybe it is a float, or is there integer overflow?", scientific(string(n))), code: "parse-failed"}
		}
		return n, nil
	case "Float":
		if _, ok := val.(json.Number); !ok {
			return mismatch("a float")
		}
		return val, nil
	case "String":
		if _, ok := val.(string); !ok {
			return mismatch("a string")
		}
		return val, nil
	case "Boolean":
		if _, ok := val.(bool); !ok {
			return mismatch("a boolean")
		}
		return val, nil
	case "ID":
		switch x := val.(type) {
		case string:
			return x, nil
		case json.Number:
			if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return string(x), nil
			}
		}
		return mismatch("a String or a 32-bit integer")
	}
	if !v.isJSON && v.lit.Kind == ast.EnumValue {
		return v.lit.Raw, nil
	}
	return val, nil
}

// literal is a GraphQL literal as a Go value, variables inside it (a
// jsonb object built from variables, say) replaced by their values.
func (c *coercer) literal(v *ast.Value) any {
	switch v.Kind {
	case ast.IntValue, ast.FloatValue:
		return json.Number(v.Raw)
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return v.Raw
	case ast.BooleanValue:
		return v.Raw == "true"
	case ast.ListValue:
		out := make([]any, len(v.Children))
		for i, ch := range v.Children {
			out[i] = c.literal(ch.Value)
		}
		return out
	case ast.ObjectValue:
		out := make(map[string]any, len(v.Children))
		for _, ch := range v.Children {
			out[ch.Name] = c.literal(ch.Value)
		}
		return out
	case ast.Variable:
		if vr := c.vars[v.Raw]; vr != nil {
			return vr.value
		}
	}
	return nil
}

// isNullLiteral: null given directly or through a variable.
func isNullLiteral(c *coercer, v inValue) bool {
	if !v.isJSON && v.lit.Kind == ast.Variable {
		if vr := c.vars[v.lit.Raw]; vr != nil && vr.present {
			return vr.value == nil
		}
		return false
	}
	return isNullValue(v)
}

// scientific writes a number as Haskell's Data.Scientific shows it, as
// Hasura's messages carry it: 2147483648 is "2.147483648e9", 1.5 "1.5".
func scientific(n string) string {
	f, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return n
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	if x < -1 || x > 6 {
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		return mant + "e" + strconv.Itoa(x)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
