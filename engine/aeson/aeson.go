// Package aeson holds the JSON conventions Hasura's clients see, named
// after the Haskell library that sets them: how values are written (no
// HTML escaping) and how a value's kind is named in parse errors
// ("expected Object, but encountered Array").
package aeson

import (
	"bytes"
	"encoding/json"
	"reflect"
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

// TypeMismatch is aeson's message for a JSON value of the wrong kind that
// encoding/json reports as te: "parsing Int failed, expected Number, but
// encountered String". The parser is named after the Haskell type Hasura
// reads (Int, Text, Bool, [] for lists; Object for anything else).
func TypeMismatch(te *json.UnmarshalTypeError) string {
	name, want := "Object", "Object"
	if te.Type != nil {
		switch te.Type.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			name, want = "Int", "Number"
		case reflect.Float32, reflect.Float64:
			name, want = "Double", "Number"
		case reflect.String:
			name, want = "Text", "String"
		case reflect.Bool:
			name, want = "Bool", "Boolean"
		case reflect.Slice, reflect.Array:
			name, want = "[]", "Array"
		}
	}
	got := map[string]string{"string": "String", "number": "Number", "object": "Object", "array": "Array", "bool": "Boolean", "null": "Null"}[te.Value]
	if got == "" {
		// encoding/json names a number it could not fit by its text
		// ("number 1.5"): still a Number.
		got = "Number"
	}
	return "parsing " + name + " failed, expected " + want + ", but encountered " + got
}
