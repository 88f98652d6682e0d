package tenantapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
)

// A small GraphQL executor over gqlparser's AST: the request is parsed and
// validated against the schema by gqlparser (the engine's library), then
// each root field calls its resolver and the result is projected onto the
// selection set (aliases, fragments, @skip/@include, __typename).
//
// Resolvers return plain data: obj for objects, slices, scalars, nil, or a
// fieldFunc for a field computed on demand with its own arguments.

// obj is an object value: field name to value.
type obj map[string]any

// fieldFunc is a field value computed when selected, with its arguments.
type fieldFunc func(ctx context.Context, args map[string]any) (any, error)

// resolver answers one root field.
type resolver func(ctx context.Context, args map[string]any) (any, error)

// Error is an error for the client with a Hasura-style code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error codes.
const (
	CodeValidation     = "validation-failed"
	CodeInvalidJSON    = "invalid-json"
	CodeInvalidHeaders = "invalid-headers"
	CodeInvalidToken   = "invalid-token"
	CodeNotFound       = "not-found"
	CodeAlreadyExists  = "already-exists"
	CodeConflict       = "conflict"
	CodeNotSupported   = "not-supported"
	CodeDatabase       = "database-error"
	CodeUnexpected     = "unexpected"
)

// gqlError is one entry of a response's errors, in Hasura's shape.
type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

func newGQLError(code, path, message string) gqlError {
	ext := map[string]any{"code": code}
	if path != "" {
		ext["path"] = path
	}
	return gqlError{Message: message, Extensions: ext}
}

// Request is a GraphQL request body.
type Request struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// Response is a GraphQL response: data, or (as Hasura answers) errors
// alone.
type Response struct {
	Data   any        `json:"data,omitempty"`
	Errors []gqlError `json:"errors,omitempty"`
}

// executor runs requests against one schema.
type executor struct {
	schema     *ast.Schema
	query      map[string]resolver
	mutation   map[string]resolver
	unexpected func(ctx context.Context, err error) // reports errors that are not *Error
}

func newExecutor(sdl string, query, mutation map[string]resolver) (*executor, error) {
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: sdl})
	if err != nil {
		return nil, err
	}
	for name, fields := range map[string]map[string]resolver{"Query": query, "Mutation": mutation} {
		def := schema.Types[name]
		for f := range fields {
			if def == nil || def.Fields.ForName(f) == nil {
				return nil, fmt.Errorf("resolver for %s.%s, which the schema does not have", name, f)
			}
		}
		if def != nil {
			for _, f := range def.Fields {
				if _, ok := fields[f.Name]; !ok && !strings.HasPrefix(f.Name, "__") {
					return nil, fmt.Errorf("no resolver for %s.%s", name, f.Name)
				}
			}
		}
	}
	return &executor{schema: schema, query: query, mutation: mutation}, nil
}

// fail is a response with one error.
func fail(code, path, format string, args ...any) *Response {
	return &Response{Errors: []gqlError{newGQLError(code, path, fmt.Sprintf(format, args...))}}
}

// Execute parses, validates and runs one request. Any error answers
// errors alone, as Hasura does; mutations run in order and stop at the
// first that fails.
func (e *executor) Execute(ctx context.Context, req Request) (resp *Response) {
	if strings.TrimSpace(req.Query) == "" {
		return fail(CodeValidation, "$", "the request has no query")
	}
	doc, errs := gqlparser.LoadQuery(e.schema, req.Query)
	if len(errs) > 0 {
		out := &Response{}
		for _, err := range errs {
			out.Errors = append(out.Errors, newGQLError(CodeValidation, errPath(err), err.Message))
		}
		return out
	}
	var op *ast.OperationDefinition
	switch {
	case req.OperationName != "":
		op = doc.Operations.ForName(req.OperationName)
		if op == nil {
			return fail(CodeValidation, "$", "no operation named %q in the document", req.OperationName)
		}
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	default:
		return fail(CodeValidation, "$", "exactly one operation has to be present in the document when operationName is not specified")
	}
	vars, err := validator.VariableValues(e.schema, op, req.Variables)
	if err != nil {
		var gerr *gqlerror.Error
		if errors.As(err, &gerr) {
			return fail(CodeValidation, errPath(gerr), "%s", gerr.Message)
		}
		return fail(CodeValidation, "$.variables", "%v", err)
	}
	root, resolvers := e.schema.Query, e.query
	if op.Operation == ast.Mutation {
		root, resolvers = e.schema.Mutation, e.mutation
	}
	if root == nil || op.Operation == ast.Subscription {
		return fail(CodeValidation, "$", "%s operations are not supported", op.Operation)
	}

	defer func() {
		// gqlparser's ArgumentMap panics on values it cannot convert;
		// validation should have caught them, but never crash a request.
		if r := recover(); r != nil {
			resp = fail(CodeUnexpected, "$", "cannot execute the request: %v", r)
		}
	}()
	x := &execution{e: e, doc: doc, vars: vars}
	data := orderedObj{}
	for _, f := range x.collect(op.SelectionSet, root.Name) {
		path := "$.selectionSet." + f.Alias
		var v any
		var err error
		switch f.Name {
		case "__typename":
			v = root.Name
		case "__schema":
			v, err = x.complete(ctx, f, f.Definition.Type, introspectSchema(e.schema), path)
		case "__type":
			v, err = x.complete(ctx, f, f.Definition.Type, introspectTypeByName(e.schema, fmt.Sprint(f.ArgumentMap(vars)["name"])), path)
		default:
			v, err = resolvers[f.Name](ctx, f.ArgumentMap(vars))
			if err == nil {
				v, err = x.complete(ctx, f, f.Definition.Type, v, path)
			}
		}
		if err != nil {
			return &Response{Errors: []gqlError{e.toGQLError(ctx, err, path)}}
		}
		data = append(data, kv{f.Alias, v})
	}
	return &Response{Data: data}
}

func (e *executor) toGQLError(ctx context.Context, err error, path string) gqlError {
	var ce *Error
	if errors.As(err, &ce) {
		return newGQLError(ce.Code, path, ce.Message)
	}
	if e.unexpected != nil {
		e.unexpected(ctx, err)
	}
	return newGQLError(CodeUnexpected, path, "internal error; the operator's log has the details")
}

func errPath(err *gqlerror.Error) string {
	if len(err.Path) == 0 {
		return "$"
	}
	return "$." + err.Path.String()
}

type execution struct {
	e    *executor
	doc  *ast.QueryDocument
	vars map[string]any
}

// collect flattens a selection set for an object type: fragments are
// inlined, @skip/@include applied, and fields with the same response key
// merged (their selection sets concatenated), in order.
func (x *execution) collect(set ast.SelectionSet, typeName string) []*ast.Field {
	var out []*ast.Field
	byKey := map[string]*ast.Field{}
	var walk func(set ast.SelectionSet, visited map[string]bool)
	walk = func(set ast.SelectionSet, visited map[string]bool) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if !x.included(s.Directives) {
					continue
				}
				if prev, ok := byKey[s.Alias]; ok {
					merged := *prev
					merged.SelectionSet = append(append(ast.SelectionSet{}, prev.SelectionSet...), s.SelectionSet...)
					*prev = merged
					continue
				}
				cp := *s
				byKey[s.Alias] = &cp
				out = append(out, &cp)
			case *ast.InlineFragment:
				if x.included(s.Directives) && (s.TypeCondition == "" || s.TypeCondition == typeName) {
					walk(s.SelectionSet, visited)
				}
			case *ast.FragmentSpread:
				if !x.included(s.Directives) || visited[s.Name] {
					continue
				}
				def := s.Definition
				if def == nil {
					def = x.doc.Fragments.ForName(s.Name)
				}
				if def == nil || (def.TypeCondition != "" && def.TypeCondition != typeName) {
					continue
				}
				v := map[string]bool{s.Name: true}
				for k := range visited {
					v[k] = true
				}
				walk(def.SelectionSet, v)
			}
		}
	}
	walk(set, map[string]bool{})
	return out
}

func (x *execution) included(dirs ast.DirectiveList) bool {
	if d := dirs.ForName("skip"); d != nil && d.ArgumentMap(x.vars)["if"] == true {
		return false
	}
	if d := dirs.ForName("include"); d != nil && d.ArgumentMap(x.vars)["if"] != true {
		return false
	}
	return true
}

// complete shapes a resolved value as the field's type asks.
func (x *execution) complete(ctx context.Context, f *ast.Field, typ *ast.Type, v any, path string) (any, error) {
	if fn, ok := v.(fieldFunc); ok {
		var err error
		if v, err = fn(ctx, f.ArgumentMap(x.vars)); err != nil {
			return nil, err
		}
	}
	if isNil(v) {
		if typ.NonNull {
			return nil, fmt.Errorf("field %s: unexpected null for a non-null %s", path, typ.String())
		}
		return nil, nil
	}
	if typ.Elem != nil {
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice {
			return nil, fmt.Errorf("field %s: want a list, got %T", path, v)
		}
		out := make([]any, rv.Len())
		for i := range out {
			item, err := x.complete(ctx, f, typ.Elem, rv.Index(i).Interface(), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = item
		}
		return out, nil
	}
	def := x.e.schema.Types[typ.NamedType]
	if def == nil {
		return nil, fmt.Errorf("field %s: unknown type %s", path, typ.NamedType)
	}
	if def.Kind != ast.Object {
		return v, nil // scalars and enums are written as they are
	}
	o, ok := v.(obj)
	if !ok {
		return nil, fmt.Errorf("field %s: want an object, got %T", path, v)
	}
	out := orderedObj{}
	for _, sf := range x.collect(f.SelectionSet, def.Name) {
		sub := path + "." + sf.Alias
		if sf.Name == "__typename" {
			out = append(out, kv{sf.Alias, def.Name})
			continue
		}
		val, err := x.complete(ctx, sf, sf.Definition.Type, o[sf.Name], sub)
		if err != nil {
			return nil, err
		}
		out = append(out, kv{sf.Alias, val})
	}
	return out, nil
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func:
		return rv.IsNil() && rv.Kind() != reflect.Slice // an empty list is a list
	}
	return false
}

// orderedObj is an object written with its keys in selection order.
type orderedObj []kv

type kv struct {
	k string
	v any
}

func (o orderedObj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
