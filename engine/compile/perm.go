package compile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/strata-dev/strata/engine/apierr"
)

// Perm is a role's permission for one v1 insert, update or delete, as
// Hasura's RQL/DML applies it. Its boolean expressions and presets carry
// the session's values already (no session variable is left in them).
// The admin compiles with a nil *Perm: every column, every row, no check.
type Perm struct {
	Role string
	// Columns are the columns the role may give values to (insert,
	// update): a column missing here is refused.
	Columns map[string]bool
	// Presets are the values the permission gives columns (JSON); the
	// role may not give those columns itself.
	Presets map[string]json.RawMessage
	// Filter is the rows the role may change (update, delete, and the
	// update of an upsert), ANDed to where. Nil: every row.
	Filter json.RawMessage
	// Check is what every new or changed row must satisfy, or nothing is
	// written. Nil: no check.
	Check json.RawMessage
	// Select are the columns the role may select, which returning may
	// name.
	Select map[string]bool
	// Update is the role's update permission, for an insert's
	// on_conflict; nil: the role may not upsert.
	Update *Perm
}

// Hasura error codes the v1 mutations answer with.
const (
	codeUnexpectedPayload = "unexpected-payload"
	codePermissionError   = "permission-error"
)

// checkMarker is in the error Postgres raises when a row fails a
// permission check: the guard casts a text holding it to int, which
// aborts the statement, so nothing it wrote stays.
const checkMarker = "strata-v1-permission-check-failed"

// CheckFailure is Hasura's error for a failed insert or update check,
// when pgMessage (a Postgres error's message) is the guard's.
func CheckFailure(pgMessage string) (*apierr.Error, bool) {
	if !strings.Contains(pgMessage, checkMarker) {
		return nil, false
	}
	return &apierr.Error{Status: http.StatusBadRequest, Code: codePermissionError, Message: "check constraint of an insert/update permission has failed", Path: "$.args"}, true
}

// mutationResult wraps a data-modifying statement so Postgres answers
// {"affected_rows": n[, "returning": [...]]}; returning is the row
// object ("" for none) and check, when set, the condition every written
// row must meet (NULL fails it, as in the GraphQL mutations).
func mutationResult(stmt, returning, check string, q *query) *Statement {
	ret := "1"
	result := "json_build_object('affected_rows', count(*))"
	if returning != "" {
		ret = returning
		result = "json_build_object('affected_rows', count(*), 'returning', coalesce(json_agg(r), '[]'))"
	}
	ret += " AS r"
	if check != "" {
		ret += ", (" + check + ") AS ok"
		// count(*) keeps the cast from being folded at plan time.
		result = "CASE WHEN bool_and(coalesce(ok, false)) IS FALSE THEN (('" + checkMarker + " ' || count(*))::int)::text::json ELSE " + result + " END"
	}
	return &Statement{SQL: "WITH m AS (" + stmt + " RETURNING " + ret + ") SELECT " + result + " FROM m", Params: q.params}
}

// permCondition compiles a permission's boolean expression over t (as
// alias); "" when there is none.
func (q *query) permCondition(t *Table, alias string, exp json.RawMessage) (string, error) {
	if isNull(exp) {
		return "", nil
	}
	return q.boolExp(t, alias, exp, "$.args")
}

// checkReturning refuses the returning columns a role may not select,
// before anything else reads them (Hasura's checkRetCols).
func checkReturning(p *Perm, raw json.RawMessage) error {
	if p == nil || isNull(raw) {
		return nil
	}
	var cols []string
	if json.Unmarshal(raw, &cols) != nil {
		return nil // returningList reports the shape
	}
	for _, c := range cols {
		if !p.Select[c] {
			return p.denied("select", c, "$.args.returning")
		}
	}
	return nil
}

// denied is Hasura's answer for a column outside the role's permission.
func (p *Perm) denied(action, column, path string) *apierr.Error {
	return &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodePermissionDenied,
		Message: fmt.Sprintf("role %q does not have permission to %s column %q", p.Role, action, column), Path: path}
}

// pathKey is an object key in a JSON path as Hasura writes it: .key for
// plain names, ["key"] for others (such as "$set").
func pathKey(key string) string {
	plain := key != ""
	for i, r := range key {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '-')) {
			plain = false
			break
		}
	}
	if plain {
		return "." + key
	}
	b, _ := json.Marshal(key)
	return "[" + string(b) + "]"
}
