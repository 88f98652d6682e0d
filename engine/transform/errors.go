package transform

import (
	"encoding/json"
	"strings"

	"github.com/strata-dev/strata/engine/kriti"
)

// Error is a transform's own failure (not a template's): Hasura's
// "TransformationError", or the "Request Initialization Error" of a bad
// webhook URL.
type Error struct {
	Code    string // "TransformationError" when empty
	Message string
	// Value is the offending value; written only if HasValue.
	Value    any
	HasValue bool
}

func (e *Error) Error() string { return e.Message }

// MarshalJSON writes the error as Hasura does, keys in aeson's order.
func (e *Error) MarshalJSON() ([]byte, error) {
	code := e.Code
	if code == "" {
		code = "TransformationError"
	}
	b := append([]byte(`{"error_code":`), kriti.Encode(code)...)
	b = append(b, `,"message":`...)
	b = append(b, kriti.Encode(e.Message)...)
	if e.HasValue {
		b = append(b, `,"value":`...)
		b = append(b, kriti.Encode(e.Value)...)
	}
	return append(b, '}'), nil
}

// Errors is Hasura's TransformErrorBundle: the template and transform
// errors of a request, which Hasura lists in an error's "internal". Its
// elements are *kriti.Error and *Error.
type Errors []error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// MarshalJSON writes the list (never null), each element as it writes
// itself: encoding/json would escape '<' and '&' in messages, which
// Hasura does not.
func (es Errors) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, e := range es {
		if i > 0 {
			b = append(b, ',')
		}
		m, ok := e.(json.Marshaler)
		if !ok {
			m = &Error{Message: e.Error()}
		}
		j, err := m.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b = append(b, j...)
	}
	return append(b, ']'), nil
}
