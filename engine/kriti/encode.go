package kriti

import (
	"maps"
	"slices"

	"github.com/strata-dev/strata/engine/aeson"
)

// Encode writes a value as Hasura's JSON library (aeson) does: compact,
// object keys in code point order, numbers in Scientific's notation
// ("1.0" stays "1.0", 1e2 is "100", 0.01 is "1.0e-2") and only the
// escapes aeson makes. Kriti uses it to put non-string values into
// string templates, and a transform to write a request body.
func Encode(v any) []byte {
	return appendJSON(nil, v)
}

func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case string:
		return aeson.AppendString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = aeson.AppendString(b, k)
			b = append(b, ':')
			b = appendJSON(b, x[k])
		}
		return append(b, '}')
	}
	if n, ok := asNumber(v); ok {
		return append(b, aesonNumber(n)...)
	}
	// Not a JSON value: the variables held something encoding/json would
	// not have produced. Null is the least surprising stand-in.
	return append(b, "null"...)
}
