package transform

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/kriti"
)

// SessionVariables are a request's session variables as templates see
// them: only x-hasura-* names, compared case-insensitively (stored case
// folded). Nil means the request has none: $session_variables is null.
type SessionVariables map[string]string

// NewSessionVariables keeps the x-hasura-* variables of m, as Hasura
// reads session variables (others are dropped).
func NewSessionVariables(m map[string]string) SessionVariables {
	sv := SessionVariables{}
	// Names equal but for case are one variable: the last in key order
	// wins, so the answer does not depend on map order.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if name, ok := sessionVariableName(k); ok {
			sv[name] = m[k]
		}
	}
	return sv
}

// sessionVariableName is a name's folded form, if it is a session
// variable's.
func sessionVariableName(name string) (string, bool) {
	f := kriti.CaseFold(name)
	return f, strings.HasPrefix(f, "x-hasura-")
}

// Get finds a variable by name, ignoring case.
func (sv SessionVariables) Get(name string) (string, bool) {
	key, ok := sessionVariableName(name)
	if !ok || sv == nil {
		return "", false
	}
	v, ok := sv[key]
	return v, ok
}

// value is $session_variables: an object, or null when there are none.
func (sv SessionVariables) value() any {
	if sv == nil {
		return nil
	}
	m := make(map[string]any, len(sv))
	for k, v := range sv {
		m[k] = v
	}
	return m
}

// functions are the Kriti functions of a request with these variables:
// getSessionVariable(name), null for null.
func (sv SessionVariables) functions() kriti.Funcs {
	return kriti.Funcs{"getSessionVariable": func(arg any) (any, error) {
		switch name := arg.(type) {
		case nil:
			return nil, nil
		case string:
			if v, ok := sv.Get(name); ok {
				return v, nil
			}
			return nil, errors.New(`Session variable "` + name + `" not found`)
		}
		return nil, errors.New("Session variable name should be a string")
	}}
}
