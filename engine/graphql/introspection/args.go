package introspection

import (
	"encoding/json"
	"reflect"

	"github.com/vektah/gqlparser/v2/ast"
)

// input is an argument value after variables are looked up: a GraphQL
// literal, a JSON-ish value from the variables, or an absent variable.
type input struct {
	lit    *ast.Value
	json   any
	isJSON bool
	absent bool
	varRef *ast.Value // the variable reference, when the value came from one
}

func (c *compiler) resolve(v *ast.Value) input {
	if v == nil {
		return input{absent: true}
	}
	if v.Kind != ast.Variable {
		return input{lit: v}
	}
	if val, ok := c.vars[v.Raw]; ok {
		return input{json: val, isJSON: true, varRef: v}
	}
	if vd := v.VariableDefinition; vd != nil && vd.DefaultValue != nil {
		return input{lit: vd.DefaultValue, varRef: v}
	}
	return input{absent: true, varRef: v}
}

// isNull reports a literal null or a JSON null.
func (in input) isNull() bool {
	if in.isJSON {
		return in.json == nil
	}
	return in.lit != nil && in.lit.Kind == ast.NullValue
}

// typeCheck is Hasura's isVariableUsageAllowed (TypeChecking.hs), run when
// the caller's validator left the variable's definition on the reference.
func typeCheck(v *ast.Value, loc *ast.Type, locHasDefault bool) string {
	if v == nil || v.Kind != ast.Variable || v.VariableDefinition == nil || v.VariableDefinition.Type == nil {
		return ""
	}
	vd := v.VariableDefinition
	vt := vd.Type
	ok := false
	switch {
	case !loc.NonNull, vt.NonNull, locHasDefault:
		ok = compatible(loc, vt)
	case vd.DefaultValue != nil && vd.DefaultValue.Kind != ast.NullValue:
		ok = compatible(loc, vt)
	}
	if ok {
		return ""
	}
	return "variable " + quote(v.Raw) + " is declared as " + quote(vt.String()) +
		", but used where " + quote(loc.String()) + " is expected"
}

// compatible compares shapes and names, ignoring nullability at every
// level, as Hasura's areTypesCompatible does.
func compatible(a, b *ast.Type) bool {
	for {
		if a == nil || b == nil {
			return a == b
		}
		if a.Elem == nil || b.Elem == nil {
			return a.Elem == nil && b.Elem == nil && a.NamedType == b.NamedType
		}
		a, b = a.Elem, b.Elem
	}
}

var (
	typeBoolean = &ast.Type{NamedType: "Boolean"}
	typeString  = &ast.Type{NamedType: "String", NonNull: true}
)

// includeDeprecatedArg parses includeDeprecated: Boolean = false (Hasura:
// fieldWithDefault … (nullable boolean) <&> fromMaybe False).
func (c *compiler) includeDeprecatedArg(args ast.ArgumentList) (bool, *Error) {
	a := args.ForName("includeDeprecated")
	if a == nil {
		return false, nil
	}
	if msg := typeCheck(a.Value, typeBoolean, true); msg != "" {
		return false, c.errorf(msg, "args", "includeDeprecated")
	}
	in := c.resolve(a.Value)
	switch {
	case in.absent, in.isNull():
		return false, nil
	case in.isJSON:
		if b, ok := in.json.(bool); ok {
			return b, nil
		}
	case in.lit.Kind == ast.BooleanValue:
		return in.lit.Raw == "true", nil
	}
	return false, c.errorf("expected a boolean for type 'Boolean', but found "+describe(in), "args", "includeDeprecated")
}

// nameArg parses __type's name: String! (Hasura: field _name Nothing string).
func (c *compiler) nameArg(args ast.ArgumentList) (string, *Error) {
	a := args.ForName("name")
	if a == nil {
		return "", c.errorf("missing required field 'name'", "args", "name")
	}
	if msg := typeCheck(a.Value, typeString, false); msg != "" {
		return "", c.errorf(msg, "args", "name")
	}
	in := c.resolve(a.Value)
	switch {
	case in.absent:
		name := ""
		if in.varRef != nil {
			name = in.varRef.Raw
		}
		return "", c.errorf("no variable value specified for non-nullable variable no value specified for variable "+quote(name), "args", "name")
	case in.isJSON:
		if s, ok := in.json.(string); ok {
			return s, nil
		}
	case in.lit.Kind == ast.StringValue || in.lit.Kind == ast.BlockValue:
		return in.lit.Raw, nil
	}
	return "", c.errorf("expected a string for type 'String', but found "+describe(in), "args", "name")
}

// describe names a value's kind as Hasura's describeValue does.
func describe(in input) string {
	if in.isJSON {
		return DescribeJSON(in.json)
	}
	if in.lit == nil {
		return "null"
	}
	return DescribeLiteral(in.lit.Kind)
}

// DescribeJSON names the kind of a decoded JSON value (a variable's) as
// Hasura's describeValue does in "expected ..., but found ..." messages.
func DescribeJSON(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		switch reflect.ValueOf(v).Kind() {
		case reflect.Slice, reflect.Array:
			return "a list"
		case reflect.String:
			return "a string"
		case reflect.Bool:
			return "a boolean"
		case reflect.Map, reflect.Struct, reflect.Pointer:
			return "an object"
		}
		return "a number"
	}
}

// DescribeLiteral names the kind of a GraphQL literal as Hasura's
// describeValue does (a variable is the caller's to resolve).
func DescribeLiteral(k ast.ValueKind) string {
	switch k {
	case ast.IntValue:
		return "an integer"
	case ast.FloatValue:
		return "a float"
	case ast.StringValue, ast.BlockValue:
		return "a string"
	case ast.BooleanValue:
		return "a boolean"
	case ast.EnumValue:
		return "an enum value"
	case ast.ListValue:
		return "a list"
	case ast.ObjectValue:
		return "an object"
	}
	return "null"
}
