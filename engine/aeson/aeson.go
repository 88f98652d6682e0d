// Package aeson holds the JSON conventions Hasura's clients see, named
// after the Haskell library that sets them: how values are written (no
// HTML escaping) and how a value's kind is named in parse errors
// ("expected Object, but encountered Array").
package aeson

import (
	"bytes"
	"encoding/json"
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
