package graphql

// Streaming subscriptions (<table>_stream), multiplexed as Hasura does it
// (Execute/Subscription/Poll/StreamingQuery.hs, and
// Translate/Select/Streaming.hs for the SQL).
//
// A stream field answers the rows after its cursor value, in cursor
// order, at most batch_size of them "with ties" (the rows sharing the
// batch's last cursor value all come in that batch, so the next batch's
// "after" skips none of them), filtered by where and the role's row
// filter. Each subscriber gets every batch that is not empty, and its
// cursor moves on to the batch's last cursor value.
//
// Subscribers of one query shape (source, role, relay flag, multiplexed
// SQL) share a poller, and within it those with the same session
// variables, values and cursor share a cohort, exactly as live queries
// do (live.go) — the cursor is simply the cohort's last value: the
// multiplexed compile of a stream field reads it as _sub.vars->>-1, so
// the statement is live.go's unnest of cohorts joined laterally, one per
// batch of cohorts per refetch, and each row carries the cohort's rows
// and its new cursor value (as text, which the cast back reads exactly).
// A cohort whose cursor moves gets a new key; if another cohort already
// stands there (same session, values and cursor: the same future) the
// two merge.
//
// As for live queries, and unlike Hasura: a new subscriber's first batch
// is fetched at once, by the same statement for its cohort alone, and a
// cohort that makes a batch's statement fail (a cursor value Postgres
// cannot read, say) is polled alone from then on, so that it does not
// fail the others. Errors are sent every round, and do not move the
// cursor. Batches are never dropped or merged on the way to the client:
// they are queued (subscriptions.Result.Stream).
//
// The compile and the plan are here, the pollers in stream_poller.go
// (and pollers.go, what they share with live queries').

import (
	"encoding/json"
	"strconv"
	"sync"
	"unique"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/schema"
)

// streamCursor is a stream field's cursor argument.
type streamCursor struct {
	col   *schema.Column
	value any // the initial value: as coerced, nil for null
	desc  bool
}

// streamCursorArg reads the cursor argument: Hasura takes the columns of
// every (non-null) cursor input together, and wants exactly one.
func streamCursorArg(t *schema.Table, args map[string]any, path string) (*streamCursor, *errAt) {
	var found []*streamCursor
	items, _ := args["cursor"].([]any)
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		desc := m["ordering"] == "DESC"
		initial, _ := m["initial_value"].(map[string]any)
		for _, f := range sortedKeys(initial) {
			if col := t.ByField[f]; col != nil {
				found = append(found, &streamCursor{col: col, value: initial[f], desc: desc})
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fail(path+".args", "one streaming column field is expected")
	case 1:
		return found[0], nil
	}
	return nil, fail(path+".args", "multiple column cursors are not supported yet")
}

// stream compiles a <table>_stream field into the JSON array of its
// batch. Multiplexed (mux), it is [batch, the last row's cursor value as
// text], and the cursor value is the cohort's last value: the cursor's
// parameter is compiled last, so that the plan's values end with it.
func (c *compiler) stream(t *schema.Table, args map[string]any, sub ast.SelectionSet, path string) (string, *errAt) {
	cur, err := streamCursorArg(t, args, path)
	if err != nil {
		return "", err
	}
	limit := int64(0)
	if n, ok := args["batch_size"].(json.Number); ok {
		limit, _ = n.Int64()
	}
	q, err := c.tableQuery(t, tableRef(t.Name.Schema, t.Name.Name), map[string]any{"where": args["where"]}, path)
	if err != nil {
		return "", err
	}
	if q.limit != "" { // the permission's limit
		if l, _ := strconv.ParseInt(q.limit, 10, 64); l < limit {
			limit = l
		}
		q.limit = ""
	}
	obj, err := c.object(t, q.alias, sub, path)
	if err != nil {
		return "", err
	}
	k := c.columnRef(t, q.alias, cur.col)
	op, dir := " > ", " ASC"
	if cur.desc {
		op, dir = " < ", " DESC"
	}
	var after string
	if c.mux {
		n := len(c.params)
		c.value(cur.value, cur.col.SQLType, false)
		if len(c.params) == n { // null: no parameter of its own
			c.params = append(c.params, nil)
		}
		after = "(_sub.vars->>-1)::" + cur.col.SQLType
	} else {
		after = c.value(cur.value, cur.col.SQLType, false)
	}
	q.conds = append(q.conds, k+op+after)
	q.order = []string{k + dir}
	r := c.alias()
	from := " FROM (SELECT " + obj + " AS j, " + k + " AS k" + q.tail() + " FETCH FIRST " + strconv.FormatInt(limit, 10) + " ROWS WITH TIES) AS " + r
	rows := "coalesce(json_agg(" + r + ".j ORDER BY " + r + ".k" + dir + "), '[]')"
	if !c.mux {
		return "(SELECT " + rows + from + ")", nil
	}
	last := "(array_agg(" + r + ".k::text ORDER BY " + r + ".k" + dir + "))[count(*)]"
	return "(SELECT json_build_array(" + rows + ", " + last + ")" + from + ")", nil
}

// streamTwin is what a stream subscription's plan adds to it, on first
// use (kept in the plan's liveTwin).
type streamTwin struct {
	once   sync.Once
	is     bool   // the subscription is a stream
	sql    string // interned: (cohort id, batch, new cursor) per cohort
	values string // the plan's values before the cursor, as a JSON array
	cursor *string
	err    *errAt
}

// streamPlan tells whether a subscription plan is a stream's and, if
// so, compiles its multiplexed statement.
func (e *Engine) streamPlan(st *modelState, pl *plan, role string, req *Request, relay bool) *streamTwin {
	tw := &pl.live.stream
	tw.once.Do(func() {
		if tw.is = isStream(st.model, role, req, relay); !tw.is {
			return
		}
		mp, err := compileRequest(st.model, role, req, relay, compileOpts{stringify: e.StringifyNumbers, mux: true})
		switch {
		case err != nil:
			tw.err = err
		case len(mp.stmts) != 1 || len(pl.stmts) != 1 || len(mp.stmts[0].params) == 0:
			tw.err = &errAt{path: "$", msg: "stream cannot be multiplexed", code: apierr.CodeUnexpected}
		default:
			params := mp.stmts[0].params
			v, _ := json.Marshal(params[:len(params)-1])
			tw.values = string(v)
			switch c := params[len(params)-1].(type) {
			case string:
				tw.cursor = &c
			case *string:
				tw.cursor = c
			case nil:
			default:
				tw.err = &errAt{path: "$", msg: "stream cursor cannot be multiplexed", code: apierr.CodeUnexpected}
			}
			// The batch and the cursor out of the [batch, cursor] array:
			// -> on json returns the element's very text.
			tw.sql = unique.Make("SELECT _s.id, _s.c0->0, _s.c0->>1 FROM (" + mp.stmts[0].sql + ") AS _s(id, c0)").Value()
		}
	})
	return tw
}

// isStream: the request's operation is a subscription to a stream field.
func isStream(m *schema.Model, role string, req *Request, relay bool) bool {
	doc, err := parseDocument(req.Query)
	if err != nil {
		return false
	}
	op, err := selectOperation(doc, req.OperationName)
	if err != nil || op.Operation != ast.Subscription {
		return false
	}
	vars, err := bindVariables(op, req.Variables)
	if err != nil {
		return false
	}
	s := m.Role(role, relay)
	if s.AST.Subscription == nil {
		return false
	}
	co := &coercer{schema: s.AST, vars: vars}
	fields, err := co.collect(op.SelectionSet, s.AST.Subscription.Name, nil, "$")
	if err != nil || len(fields) != 1 {
		return false
	}
	f := s.Field(s.AST.Subscription.Name, fields[0].field.Name)
	return f != nil && f.Kind == schema.RootStream
}

// cursorVars is a cohort's values: the plan's, then the cursor.
func cursorVars(values string, cursor *string) string {
	cur := "null"
	if cursor != nil {
		cur = jsonString(*cursor)
	}
	if values == "[]" {
		return "[" + cur + "]"
	}
	return values[:len(values)-1] + "," + cur + "]"
}
