package metadata

// A small toolkit to rebuild an object the way Hasura's export does:
// Hasura parses each metadata object into a Haskell value (filling in
// defaults) and encodes it back either field by field, in a fixed order
// (the *ToOrdJSON functions of Hasura.RQL.Types.Metadata.Serialization),
// or through aeson's plain encoder (AO.toOrdered), whose objects have their
// keys sorted. The sections Strata stores verbatim are rebuilt from their
// decoded JSON with the shapes in export_*.go.
//
// Keys a shape does not know. Hasura's parsers ignore keys they do not
// know, so its export drops them. Strata keeps them instead, after the
// known keys, sorted (in a key-sorted object they simply sort in with the
// rest): a shape here may lag a newer Hasura, and dropping a field Strata
// does not know yet would lose a user's configuration on a round trip
// through Strata. Only a document Hasura would have silently trimmed comes
// out different. The same holds for values of the wrong kind (a list where
// an object belongs, ...): Hasura would reject the document, Strata passes
// them through unchanged.

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// decodeValue decodes JSON into nil, bool, json.Number, string, []any or
// map[string]any. Numbers keep their text.
func decodeValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// ordered is an object whose keys keep the order they were added in, as
// Hasura's AO.Value objects. A map[string]any is written with its keys
// sorted, as aeson's own objects.
type ordered []member

type member struct {
	key string
	val any
}

func (o ordered) MarshalJSON() ([]byte, error) { return marshalValue(o) }

// conv turns a present value into its export form.
type conv func(v any) any

// field says how one known key is exported: out gets the key's value and
// whether it is present, and returns the value to write, or false to
// leave the key out.
type field struct {
	key string
	out func(v any, present bool) (any, bool)
}

// asIs exports a value as aeson encodes a plain JSON value: unchanged,
// objects with sorted keys.
func asIs(v any) any { return v }

// required: written when present (null included), whatever it holds.
func required(key string, c conv) field {
	return field{key, func(v any, present bool) (any, bool) {
		if !present {
			return nil, false
		}
		return c(v), true
	}}
}

// optional: a Maybe field Hasura leaves out when Nothing (absent or null
// on input).
func optional(key string, c conv) field {
	return field{key, func(v any, present bool) (any, bool) {
		if v == nil {
			return nil, false
		}
		return c(v), true
	}}
}

// nullable: a Maybe field aeson's generic encoder writes as null.
func nullable(key string, c conv) field {
	return field{key, func(v any, present bool) (any, bool) {
		if v == nil {
			return nil, true
		}
		return c(v), true
	}}
}

// defaulted: absent or null reads as def, and is written.
func defaulted(key string, def any, c conv) field {
	return field{key, func(v any, present bool) (any, bool) {
		if v == nil {
			return def, true
		}
		return c(v), true
	}}
}

// nonEmpty: a list Hasura leaves out when empty (absent and null read as
// empty).
func nonEmpty(key string, c conv) field {
	return field{key, func(v any, present bool) (any, bool) {
		if l, ok := v.([]any); v == nil || ok && len(l) == 0 {
			return nil, false
		}
		return c(v), true
	}}
}

// onlyIfTrue: a boolean defaulting to false that Hasura writes only when
// true.
func onlyIfTrue(key string) field {
	return field{key, func(v any, present bool) (any, bool) {
		if v == nil || v == false {
			return nil, false
		}
		return v, true
	}}
}

// unlessDefault: absent or null reads as def; left out when equal to it.
func unlessDefault(key string, def any, c conv) field {
	return field{key, func(v any, present bool) (any, bool) {
		if v == nil {
			return nil, false
		}
		out := c(v)
		if equalJSON(out, def) {
			return nil, false
		}
		return out, true
	}}
}

// inOrder builds an object Hasura writes field by field: the known keys in
// the given order, then the unknown ones, sorted. A value that is not an
// object is kept as it is.
func inOrder(fields ...field) conv {
	return func(v any) any {
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		return inOrderObject(obj, fields)
	}
}

func inOrderObject(obj map[string]any, fields []field) ordered {
	out := make(ordered, 0, len(fields))
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.key] = true
		val, present := obj[f.key]
		if w, ok := f.out(val, present); ok {
			out = append(out, member{f.key, w})
		}
	}
	for _, k := range sortedKeys(obj) {
		if !known[k] {
			out = append(out, member{k, obj[k]})
		}
	}
	return out
}

// keySorted builds an object aeson's generic encoder writes: the known
// fields with their defaults, unknown keys kept, all keys sorted on
// output. A value that is not an object is kept as it is.
func keySorted(fields ...field) conv {
	return func(v any) any {
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		return keySortedObject(obj, fields)
	}
}

func keySortedObject(obj map[string]any, fields []field) map[string]any {
	out := make(map[string]any, len(obj))
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.key] = true
		val, present := obj[f.key]
		if w, ok := f.out(val, present); ok {
			out[f.key] = w
		}
	}
	for k, val := range obj {
		if !known[k] {
			out[k] = val
		}
	}
	return out
}

// listOf exports every element of a list.
func listOf(c conv) conv {
	return func(v any) any {
		l, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = c(e)
		}
		return out
	}
}

// sortedBy exports every element of a list and orders them by the string
// at key, stably, as Hasura's sortOn on a name (Text compares as its
// UTF-8 bytes, like Go strings). Elements without one sort first.
func sortedBy(key string, c conv) conv {
	return func(v any) any {
		l, ok := v.([]any)
		if !ok {
			return v
		}
		type keyed struct {
			key string
			val any
		}
		ks := make([]keyed, len(l))
		for i, e := range l {
			ks[i] = keyed{stringAt(e, key), c(e)}
		}
		sort.SliceStable(ks, func(i, j int) bool { return ks[i].key < ks[j].key })
		out := make([]any, len(ks))
		for i, k := range ks {
			out[i] = k.val
		}
		return out
	}
}

func stringAt(v any, key string) string {
	if obj, ok := v.(map[string]any); ok {
		if s, ok := obj[key].(string); ok {
			return s
		}
	}
	return ""
}

// integer writes an integral number as aeson writes an Int (or a whole
// DiffTime): 10.0 and 1e1 become 10. Other values are kept.
func integer(v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	neg, digits, exp, ok := normalNumber(string(n))
	if !ok || exp < 0 || exp > 1024 {
		return v
	}
	if digits == "" {
		return json.Number("0")
	}
	sign := ""
	if neg {
		sign = "-"
	}
	return json.Number(sign + digits + strings.Repeat("0", exp))
}

// graphQLType writes a GraphQL type reference as Hasura's printer does:
// [Name!]!, without blanks.
func graphQLType(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ','
	}), "")
}

// equalJSON compares two decoded values, numbers by value.
func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		nx, dx, ex, ok1 := normalNumber(string(x))
		ny, dy, ey, ok2 := normalNumber(string(y))
		if !ok1 || !ok2 {
			return x == y
		}
		return nx == ny && dx == dy && ex == ey
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equalJSON(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// num is a JSON number literal.
func num(s string) json.Number { return json.Number(s) }
