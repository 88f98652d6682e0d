// Package apierr is the engine's error value and its two Hasura wire shapes:
//
//	{"path":"$","error":"...","code":"..."}                        metadata, query, config APIs
//	{"errors":[{"message":"...","extensions":{"path":"$","code":"..."}}]}  GraphQL endpoints
//
// Every client-visible failure goes through here so the codes and statuses
// stay those of Hasura v2 (server/src-lib/Hasura/Base/Error.hs).
package apierr

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/strata-dev/strata/engine/aeson"
)

// Codes used by Hasura v2. Only the ones the engine emits are listed.
const (
	CodeAccessDenied     = "access-denied"
	CodeAlreadyExists    = "already-exists"
	CodeAlreadyTracked   = "already-tracked"
	CodeBadRequest       = "bad-request"
	CodeConflict         = "conflict"
	CodeConstraintError  = "constraint-error"
	CodeDataException    = "data-exception"
	CodeInvalidConfig    = "invalid-configuration"
	CodeInvalidJSON      = "invalid-json"
	CodeInvalidParams    = "invalid-params"
	CodeMethodNotAllowed = "method-not-allowed"
	CodeNotExists        = "not-exists"
	CodeNotFound         = "not-found"
	CodeNotSupported     = "not-supported"
	CodeParseFailed      = "parse-failed"
	CodePermissionDenied = "permission-denied"
	CodePostgresError    = "postgres-error"
	CodeUnexpected       = "unexpected"
	CodeValidationFailed = "validation-failed"
)

// Error is a client-visible error. Internal carries detail that is only
// shown to admins in dev mode; it is never written by default.
type Error struct {
	Status   int    // HTTP status
	Code     string // Hasura error code
	Message  string
	Path     string // JSON path of the offending input, "$" when unknown
	Internal any    // optional detail for dev mode / admin internal errors
}

func (e *Error) Error() string { return e.Message }

// New builds an Error with path "$".
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Path: "$"}
}

// BadRequest is a 400 with the given code.
func BadRequest(code, format string, args ...any) *Error {
	return New(http.StatusBadRequest, code, format, args...)
}

// Internal is Hasura's 500 "unexpected" with a generic message; the real
// cause stays in the log.
func Internal() *Error {
	return New(http.StatusInternalServerError, CodeUnexpected, "an unexpected error occurred")
}

// As returns err as *Error, mapping anything else to Internal.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal()
}

// WithPath returns a copy of e with the JSON path set.
func (e *Error) WithPath(path string) *Error {
	c := *e
	c.Path = path
	return &c
}

type restBody struct {
	Path     string `json:"path"`
	Error    string `json:"error"`
	Code     string `json:"code"`
	Internal any    `json:"internal,omitempty"`
}

// WriteREST writes e in the metadata/query API shape with its real status.
func WriteREST(w http.ResponseWriter, e *Error, showInternal bool) {
	b := restBody{Path: pathOr(e.Path), Error: e.Message, Code: e.Code}
	if showInternal {
		b.Internal = e.Internal
	}
	writeJSON(w, e.Status, b)
}

type gqlExtensions struct {
	Path     string `json:"path"`
	Code     string `json:"code"`
	Internal any    `json:"internal,omitempty"`
}

type gqlError struct {
	Extensions gqlExtensions `json:"extensions"`
	Message    string        `json:"message"`
}

// GraphQLBody is e in the GraphQL errors shape.
func GraphQLBody(e *Error, showInternal bool) any {
	ext := gqlExtensions{Path: pathOr(e.Path), Code: e.Code}
	if showInternal {
		ext.Internal = e.Internal
	}
	return map[string][]gqlError{"errors": {{Extensions: ext, Message: e.Message}}}
}

// WriteGraphQL writes e in the GraphQL errors shape. /v1/graphql and relay
// answer 200 for every error (Hasura's maybeMod200); /v1alpha1/graphql keeps
// the real status: realStatus says which.
func WriteGraphQL(w http.ResponseWriter, e *Error, realStatus, showInternal bool) {
	status := http.StatusOK
	if realStatus {
		status = e.Status
	}
	writeJSON(w, status, GraphQLBody(e, showInternal))
}

func pathOr(p string) string {
	if p == "" {
		return "$"
	}
	return p
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	b, err := aeson.Marshal(v)
	if err != nil {
		b = []byte(`{"path":"$","error":"an unexpected error occurred","code":"unexpected"}`)
	}
	_, _ = w.Write(b)
}
