package graphql

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/schema"
)

// Remote source relationships join rows of two databases, so the engine
// joins them, as Hasura's remote joins do:
//
//  1. The query of the table's source puts, where the relationship's
//     value goes, a placeholder object holding the join's index and the
//     row's join values: {"<joinMarker>": 0, "v": [1]}.
//  2. Each join is compiled, with the target source's compiler, into one
//     statement over the list of every row's join values (a jsonb
//     parameter), answering one JSON array of the values, in order.
//  3. After the query, the placeholders' join values are sent to their
//     joins' statements and the answers put in their places. A join
//     within a join's rows leaves placeholders of its own: they are
//     resolved in the next round.
//
// Only queries join: a mutation's response or a subscription refuses the
// fields.

// remoteJoin is one relationship's statement on its target source. Its
// first parameter (after the session) is the join values.
type remoteJoin struct {
	source string
	sql    string
	params []any
}

// joinValues stands, in a remote join's parameters, for the join values
// the statement runs on.
type joinValues struct{}

// joinMarker is the key of a placeholder. The random part keeps a JSON
// column's content from passing for one.
var joinMarker = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "__strata_remote_join_" + hex.EncodeToString(b)
}()

// remoteJoinsDepth bounds the rounds of joins within joins.
const remoteJoinsDepth = 16

// remote compiles a remote source relationship field of the row alias
// into its placeholder, and its join into a statement of the plan.
func (c *compiler) remote(m *schema.Field, alias string, args map[string]any, sub ast.SelectionSet, path string) (string, *errAt) {
	if c.joins == nil || c.mux {
		return "", &errAt{path: path, msg: "remote source relationships are supported in queries only", code: "not-supported"}
	}
	t, r := m.Table, m.Rel
	tc := &compiler{coercer: c.coercer, s: c.s, session: c.session, stringify: c.stringify, joins: c.joins}
	values := tc.param(joinValues{})
	k := tc.alias()
	// conds joins the target's rows (inner) to a row's join values: the
	// n-th value, as text, cast to the type of the column it meets.
	conds := func(inner string) []string {
		out := make([]string, len(r.On))
		for i, p := range r.On {
			value := "(" + k + ".v->>" + strconv.Itoa(i) + ")"
			if cc, ok := t.Base.Catalog.Column(p[1]); ok {
				value += "::" + schema.ColumnSQLType(cc)
			}
			out[i] = inner + "." + quoteIdent(p[1]) + " = " + value
		}
		return out
	}
	from := tableRef(t.Name.Schema, t.Name.Name)
	var expr string
	switch m.Kind {
	case schema.RemoteObjectRelField:
		inner := tc.alias()
		obj, err := tc.object(t, inner, sub, path)
		if err != nil {
			return "", err
		}
		where := conds(inner)
		if t.Filter != nil {
			where = append(where, tc.permFilter(t, inner))
		}
		expr = "(SELECT " + obj + " FROM " + from + " AS " + inner + " WHERE " + strings.Join(where, " AND ") + " LIMIT 1)"
	default:
		q, err := tc.tableQuery(t, from, args, path)
		if err != nil {
			return "", err
		}
		q.conds = append(conds(q.alias), q.conds...)
		if m.Kind == schema.RemoteArrayAggregateField {
			expr, err = tc.aggregate(t, q, sub, path)
		} else {
			expr, err = tc.rows(t, q, sub, path)
		}
		if err != nil {
			return "", err
		}
	}
	sql := "SELECT coalesce(json_agg(" + expr + " ORDER BY " + k + ".i), '[]') FROM (SELECT $1::text) AS _session, jsonb_array_elements(" + values + "::text::jsonb) WITH ORDINALITY AS " + k + "(v, i)"
	*c.joins = append(*c.joins, &remoteJoin{source: t.Source, sql: sql, params: tc.params})
	keys := make([]string, len(r.On))
	for i, p := range r.On {
		keys[i] = "to_jsonb(" + alias + "." + quoteIdent(p[0]) + ")"
	}
	return "json_build_object(" + quoteLiteral(joinMarker) + ", " + strconv.Itoa(len(*c.joins)-1) + ", 'v', jsonb_build_array(" + strings.Join(keys, ", ") + "))", nil
}

// placeholder is a remote join's placeholder in a result.
type placeholder struct {
	start, end int // its bytes
	join       int
	values     json.RawMessage // nil when a join value is null
}

// placeholders finds the placeholders of a JSON value, in order.
func placeholders(b []byte) []placeholder {
	var out []placeholder
	key := []byte(`"` + joinMarker + `"`)
	for from := 0; ; {
		i := bytes.Index(b[from:], key)
		if i < 0 {
			return out
		}
		i += from
		start := bytes.LastIndexByte(b[:i], '{')
		end := valueEnd(b, start)
		from = i + len(key)
		var obj map[string]json.RawMessage
		if start < 0 || end < 0 || json.Unmarshal(b[start:end], &obj) != nil {
			continue
		}
		p := placeholder{start: start, end: end}
		if json.Unmarshal(obj[joinMarker], &p.join) != nil {
			continue
		}
		var vals []json.RawMessage
		_ = json.Unmarshal(obj["v"], &vals)
		p.values = obj["v"]
		for _, v := range vals {
			if string(v) == "null" {
				p.values = nil
			}
		}
		out = append(out, p)
		from = end
	}
}

// valueEnd is the index just past the JSON object or array at i; -1 when
// it does not end.
func valueEnd(b []byte, i int) int {
	if i < 0 {
		return -1
	}
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// remoteJoins resolves the placeholders of a query's results.
func (p *plan) remoteJoins(ctx context.Context, m *schema.Model, session string, results [][][]byte) *apierr.Error {
	for range remoteJoinsDepth {
		// The cells with placeholders, in order: the answers go back in
		// the order the join values were sent.
		type cell struct {
			value *[]byte
			ps    []placeholder
		}
		var found []cell
		keys := map[int][]json.RawMessage{}
		for _, row := range results {
			for j := range row {
				ps := placeholders(row[j])
				if len(ps) > 0 {
					found = append(found, cell{&row[j], ps})
				}
				for _, ph := range ps {
					if ph.values != nil {
						keys[ph.join] = append(keys[ph.join], ph.values)
					}
				}
			}
		}
		if len(found) == 0 {
			return nil
		}
		answers := map[int][]json.RawMessage{}
		for join, vals := range keys {
			rows, aerr := p.joins[join].run(ctx, m, session, vals)
			if aerr != nil {
				return aerr
			}
			answers[join] = rows
		}
		for _, c := range found {
			var out bytes.Buffer
			last := 0
			for _, ph := range c.ps {
				out.Write((*c.value)[last:ph.start])
				if ph.values == nil || len(answers[ph.join]) == 0 {
					out.WriteString("null")
				} else {
					out.Write(answers[ph.join][0])
					answers[ph.join] = answers[ph.join][1:]
				}
				last = ph.end
			}
			out.Write((*c.value)[last:])
			*c.value = out.Bytes()
		}
	}
	return &apierr.Error{Status: 400, Code: "not-supported", Message: "remote source relationships nest too deep", Path: "$"}
}

// run answers a join for the join values of its rows, one value each.
func (j *remoteJoin) run(ctx context.Context, m *schema.Model, session string, vals []json.RawMessage) ([]json.RawMessage, *apierr.Error) {
	pool, aerr := sourcePool(m, j.source)
	if aerr != nil {
		return nil, aerr
	}
	list, _ := json.Marshal(vals)
	args := []any{session}
	for _, prm := range j.params {
		if _, ok := prm.(joinValues); ok {
			prm = string(list)
		}
		args = append(args, prm)
	}
	var raw []byte
	if err := pool.QueryRow(ctx, j.sql, args...).Scan(&raw); err != nil {
		return nil, dbError(err)
	}
	var out []json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != len(vals) {
		return nil, apierr.Internal()
	}
	return out, nil
}
