// Package aeson holds the JSON conventions Hasura's clients see, named
// after the Haskell library that sets them: how values are written (no
// HTML escaping) and how a value's kind is named in parse errors
// ("expected Object, but encountered Array").
package aeson

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Kind names the kind of a JSON value as aeson's error messages do. An
// absent value is "Null", as aeson reads a missing optional value.
func Kind(raw []byte) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "Null"
	}
	switch t[0] {
	case '{':
		return "Object"
	case '[':
		return "Array"
	case '"':
		return "String"
	case 't', 'f':
		return "Boolean"
	case 'n':
		return "Null"
	}
	return "Number"
}

// Marshal is json.Marshal without HTML escaping: aeson writes <, > and &
// as they are, and a query text must come back byte for byte. Unlike
// json.Marshal it also leaves the output of MarshalJSON methods unescaped.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// AppendString appends s as a JSON string the way aeson escapes it:
// backslash, quote and control characters only; everything else,
// non-ASCII included, is written as is, and invalid UTF-8 becomes U+FFFD
// (text cannot hold it).
func AppendString(b []byte, s string) []byte {
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
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
