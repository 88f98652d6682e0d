package compile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
)

// query accumulates one statement's parameters and table aliases.
type query struct {
	params []any
	next   int
}

// param adds a value and returns its placeholder.
func (q *query) param(v any) string {
	q.params = append(q.params, v)
	return "$" + strconv.Itoa(len(q.params))
}

// alias returns a fresh table alias.
func (q *query) alias() string {
	a := "_" + strconv.Itoa(q.next)
	q.next++
	return a
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func tableRef(t *Table) string { return pgx.Identifier{t.Name.Schema, t.Name.Name}.Sanitize() }

// columnRef is alias."column".
func columnRef(alias, column string) string { return alias + "." + ident(column) }

// comparison operators, by their name without the `_` (GraphQL, v1) or
// `$` (v1) prefix.
var comparisons = map[string]string{
	"eq": "=", "ne": "<>", "neq": "<>", "gt": ">", "lt": "<", "gte": ">=", "lte": "<=",
	"like": "LIKE", "nlike": "NOT LIKE", "ilike": "ILIKE", "nilike": "NOT ILIKE",
	"similar": "SIMILAR TO", "nsimilar": "NOT SIMILAR TO",
	"regex": "~", "iregex": "~*", "nregex": "!~", "niregex": "!~*",
}

// operatorName strips a boolean expression key's `_` or `$` prefix.
func operatorName(key string) (string, bool) {
	if strings.HasPrefix(key, "_") || strings.HasPrefix(key, "$") {
		return key[1:], true
	}
	return "", false
}

// boolExp compiles a Hasura boolean expression over t (as alias) into a
// SQL condition. Keys are visited in sorted order so equal expressions
// give equal SQL (one prepared statement).
func (q *query) boolExp(t *Table, alias string, raw json.RawMessage, path string) (string, error) {
	if aeson.Kind(raw) != "Object" {
		return "", badExp(path, "expected Object, but encountered %s", aeson.Kind(raw))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", badExp(path, "%s", err.Error())
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var conds []string
	for _, k := range keys {
		v, at := obj[k], path+"."+k
		var cond string
		var err error
		switch op, isOp := operatorName(k); {
		case isOp && op == "and", isOp && op == "or":
			cond, err = q.junction(t, alias, v, at, op)
		case isOp && op == "not":
			var inner string
			if inner, err = q.boolExp(t, alias, v, at); err == nil {
				cond = "NOT (" + inner + ")"
			}
		default:
			cond, err = q.field(t, alias, k, v, at)
		}
		if err != nil {
			return "", err
		}
		conds = append(conds, cond)
	}
	if len(conds) == 0 {
		return "TRUE", nil
	}
	return strings.Join(conds, " AND "), nil
}

// junction is _and / _or over a list of expressions (an object is taken
// as a list of one, as Hasura does).
func (q *query) junction(t *Table, alias string, raw json.RawMessage, path, op string) (string, error) {
	var items []json.RawMessage
	if aeson.Kind(raw) == "Object" {
		items = []json.RawMessage{raw}
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return "", badExp(path, "expected Array, but encountered %s", aeson.Kind(raw))
	}
	if len(items) == 0 {
		if op == "and" {
			return "TRUE", nil
		}
		return "FALSE", nil
	}
	parts := make([]string, len(items))
	for i, it := range items {
		c, err := q.boolExp(t, alias, it, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return "", err
		}
		parts[i] = "(" + c + ")"
	}
	return "(" + strings.Join(parts, " "+strings.ToUpper(op)+" ") + ")", nil
}

// field compiles `column: {op: value}`, `column: value` (equality) or
// `relationship: {expression}`.
func (q *query) field(t *Table, alias, name string, raw json.RawMessage, path string) (string, error) {
	if rel, ok := t.Rels[name]; ok {
		inner := q.alias()
		join := make([]string, 0, len(rel.On)+1)
		for _, on := range rel.On {
			join = append(join, columnRef(alias, on[0])+" = "+columnRef(inner, on[1]))
		}
		cond, err := q.boolExp(rel.Remote, inner, raw, path)
		if err != nil {
			return "", err
		}
		join = append(join, cond)
		return "EXISTS (SELECT 1 FROM " + tableRef(rel.Remote) + " AS " + inner + " WHERE " + strings.Join(join, " AND ") + ")", nil
	}
	col, ok := t.Catalog.Column(name)
	if !ok {
		return "", noColumn(path, name)
	}
	ref := columnRef(alias, name)
	if aeson.Kind(raw) != "Object" {
		return q.compare(ref, col.Type, "=", raw), nil
	}
	var ops map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ops); err != nil {
		return "", badExp(path, "%s", err.Error())
	}
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var conds []string
	for _, k := range keys {
		v, at := ops[k], path+"."+k
		op, isOp := operatorName(k)
		if !isOp {
			return "", badExp(at, "expecting an operator, found %q", k)
		}
		switch op {
		case "in", "nin":
			var items []json.RawMessage
			if err := json.Unmarshal(v, &items); err != nil {
				return "", badExp(at, "expected Array, but encountered %s", aeson.Kind(v))
			}
			texts := make([]*string, len(items))
			for i, it := range items {
				texts[i] = scalarText(it, col.Type)
			}
			c := ref + " = ANY(" + q.param(texts) + "::text[]::" + col.Type + "[])"
			if op == "nin" {
				c = "NOT (" + c + ")"
			}
			conds = append(conds, c)
		case "is_null":
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return "", badExp(at, "expected Bool, but encountered %s", aeson.Kind(v))
			}
			if b {
				conds = append(conds, ref+" IS NULL")
			} else {
				conds = append(conds, ref+" IS NOT NULL")
			}
		default:
			sqlOp, ok := comparisons[op]
			if !ok {
				return "", badExp(at, "unknown operator %q", k)
			}
			conds = append(conds, q.compare(ref, col.Type, sqlOp, v))
		}
	}
	if len(conds) == 0 {
		return "TRUE", nil
	}
	return strings.Join(conds, " AND "), nil
}

// compare is ref OP value, the value cast from its text to the column's
// type so Postgres parses it exactly as it would a literal.
func (q *query) compare(ref, typ, op string, value json.RawMessage) string {
	castTo := typ
	if strings.Contains(op, "LIKE") || strings.Contains(op, "SIMILAR") || strings.Contains(op, "~") {
		castTo = "text" // pattern operators take text patterns
		ref = ref + "::text"
	}
	return ref + " " + op + " " + q.param(scalarText(value, typ)) + "::text::" + castTo
}

// scalarText is a JSON value as the text Postgres should parse: a string's
// contents, JSON itself for json/jsonb columns, the literal otherwise; nil
// for null.
func scalarText(v json.RawMessage, typ string) *string {
	t := bytes.TrimSpace(v)
	if string(t) == "null" || len(t) == 0 {
		return nil
	}
	if typ == "json" || typ == "jsonb" {
		s := string(t)
		return &s
	}
	var s string
	if json.Unmarshal(t, &s) == nil {
		return &s
	}
	s = string(t)
	if IsNumeric(typ) {
		s = NumericText(s)
	}
	return &s
}

func badExp(path, format string, args ...any) *apierr.Error {
	return &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeParseFailed, Message: fmt.Sprintf(format, args...), Path: path}
}

// noColumn is Hasura's answer for a column a role may not see, which for
// the data API includes one that does not exist.
func noColumn(path, name string) *apierr.Error {
	return &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodePermissionDenied, Message: fmt.Sprintf("no such column exists: %q", name), Path: path}
}
