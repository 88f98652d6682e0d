package kriti

import (
	"slices"
	"unicode/utf8"
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
		return appendString(b, x)
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
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
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

// appendString escapes as aeson: backslash, quote and control
// characters only; everything else, non-ASCII included, is written as is.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '"':
				b = append(b, '\\', '"')
			case c >= 0x20:
				b = append(b, c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Text cannot hold invalid UTF-8; decoding it would have
			// replaced the byte.
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// sortedKeys lists an object's keys in aeson's order (byte order of
// UTF-8 is code point order).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
