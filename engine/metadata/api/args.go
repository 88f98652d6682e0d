package api

// Argument parsing with aeson-like errors at exact JSON paths, used by the
// operations on collections, the allowlist, REST endpoints and roles.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
)

type jobj struct {
	m    map[string]json.RawMessage
	path string
}

func parseFailed(path, format string, args ...any) *apierr.Error {
	return apierr.BadRequest(apierr.CodeParseFailed, format, args...).WithPath(path)
}

func argsObject(args json.RawMessage) (jobj, error) {
	var m map[string]json.RawMessage
	if err := decodeArgs(args, &m); err != nil {
		return jobj{}, err
	}
	return jobj{m, "$.args"}, nil
}

func asObject(raw json.RawMessage, path string) (jobj, error) {
	var m map[string]json.RawMessage
	if aeson.Kind(raw) != "Object" || json.Unmarshal(raw, &m) != nil {
		return jobj{}, parseFailed(path, "parsing Object failed, expected Object, but encountered %s", aeson.Kind(raw))
	}
	return jobj{m, path}, nil
}

func (o jobj) at(key string) string { return o.path + "." + key }

func (o jobj) require(key string) (json.RawMessage, error) {
	v, ok := o.m[key]
	if !ok {
		return nil, parseFailed(o.path, "key %q not found", key)
	}
	return v, nil
}

func (o jobj) present(key string) bool {
	v, ok := o.m[key]
	return ok && !isNull(v)
}

// name is a required non-empty string: Hasura's names are NonEmptyText.
func (o jobj) name(key string) (string, error) {
	v, err := o.require(key)
	if err != nil {
		return "", err
	}
	return nonEmptyText(v, o.at(key))
}

func nonEmptyText(v json.RawMessage, path string) (string, error) {
	var s string
	if aeson.Kind(v) != "String" || json.Unmarshal(v, &s) != nil {
		return "", parseFailed(path, "parsing Text failed, expected String, but encountered %s", aeson.Kind(v))
	}
	if s == "" {
		return "", parseFailed(path, "empty string not allowed")
	}
	return s, nil
}

// optText is an optional string; absent and null are nil.
func (o jobj) optText(key string) (*string, error) {
	if !o.present(key) {
		return nil, nil
	}
	v := o.m[key]
	var s string
	if aeson.Kind(v) != "String" || json.Unmarshal(v, &s) != nil {
		return nil, parseFailed(o.at(key), "parsing Text failed, expected String, but encountered %s", aeson.Kind(v))
	}
	return &s, nil
}

func (o jobj) boolean(key string) (bool, error) {
	v, err := o.require(key)
	if err != nil {
		return false, err
	}
	var b bool
	if aeson.Kind(v) != "Boolean" || json.Unmarshal(v, &b) != nil {
		return false, parseFailed(o.at(key), "parsing Bool failed, expected Boolean, but encountered %s", aeson.Kind(v))
	}
	return b, nil
}

func (o jobj) object(key string) (jobj, error) {
	v, err := o.require(key)
	if err != nil {
		return jobj{}, err
	}
	return asObject(v, o.at(key))
}

func (o jobj) array(key string) ([]json.RawMessage, error) {
	v, err := o.require(key)
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if aeson.Kind(v) != "Array" || json.Unmarshal(v, &items) != nil {
		return nil, parseFailed(o.at(key), "parsing [] failed, expected Array, but encountered %s", aeson.Kind(v))
	}
	return items, nil
}

// names is a required list of names; nonEmpty makes it Hasura's NonEmpty.
func (o jobj) names(key string, nonEmpty bool) ([]string, error) {
	items, err := o.array(key)
	if err != nil {
		return nil, err
	}
	if nonEmpty && len(items) == 0 {
		return nil, parseFailed(o.at(key), "parsing NonEmpty failed, unexpected empty list")
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, err := nonEmptyText(it, fmt.Sprintf("%s[%d]", o.at(key), i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// gqlQuery is a GraphQL query given as a string, which must parse as an
// executable document.
func (o jobj) gqlQuery(key string) (string, error) {
	v, err := o.require(key)
	if err != nil {
		return "", err
	}
	var s string
	if aeson.Kind(v) != "String" || json.Unmarshal(v, &s) != nil {
		return "", parseFailed(o.at(key), "expecting String for GraphQL query")
	}
	if _, err := parser.ParseQuery(&ast.Source{Input: s}); err != nil {
		msg := err.Error()
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			msg = ge.Message
		}
		return "", parseFailed(o.at(key), "not a valid graphql query: %s", msg)
	}
	return s, nil
}

func dquoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	return strings.Join(q, ", ")
}
