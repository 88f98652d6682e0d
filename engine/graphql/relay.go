package graphql

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/schema"
)

// Relay connections page through rows in a total order: the order_by
// given, then the primary key. A cursor is base64 of a JSON object of the
// row's order columns, written by Postgres (json_build_object) as Hasura
// writes it, so cursors are interchangeable with Hasura's.

type orderCol struct {
	field string // key in the cursor
	ref   string // SQL expression
	typ   string // SQL type, to read the cursor's value as
	desc  bool
}

// connection compiles a Relay connection over the rows of q.
func (c *compiler) connection(t *schema.Table, q *rowsQuery, args map[string]any, sub ast.SelectionSet, path string) (string, *errAt) {
	first, hasFirst := args["first"].(json.Number)
	last, hasLast := args["last"].(json.Number)
	if hasFirst && hasLast {
		return "", fail(path+".args", `"first" and "last" are not allowed at once`)
	}
	after, hasAfter := args["after"].(string)
	before, hasBefore := args["before"].(string)
	if hasAfter && hasBefore {
		return "", fail(path+".args", `"after" and "before" are not allowed at once`)
	}
	// The total order: order_by columns of t itself, then the key.
	var cols []orderCol
	for _, o := range q.order {
		expr, dir := splitOrder(o)
		if name, typ, ok := c.orderedColumn(t, q.alias, expr); ok {
			cols = append(cols, orderCol{field: name, ref: expr, typ: typ, desc: strings.HasPrefix(dir, "DESC")})
		}
	}
	for _, pk := range t.PK {
		ref := c.columnRef(t, q.alias, pk)
		if !containsRef(cols, ref) {
			q.order = append(q.order, ref+" ASC NULLS LAST")
			cols = append(cols, orderCol{field: pk.Name, ref: ref, typ: pk.SQLType})
		}
	}
	pairs := make([][2]string, len(cols))
	for i, oc := range cols {
		pairs[i] = [2]string{oc.field, oc.ref}
	}
	cursor := "translate(encode(convert_to(" + jsonObject(pairs) + "::text, 'UTF8'), 'base64'), E'\\n', '')"
	for _, cur := range []struct {
		text  string
		given bool
		after bool
	}{{after, hasAfter, true}, {before, hasBefore, false}} {
		if !cur.given {
			continue
		}
		cond, err := c.cursorCondition(cols, cur.text, cur.after, path)
		if err != nil {
			return "", err
		}
		q.conds = append(q.conds, cond)
	}
	// last n: take them from the end, then restore the order.
	reverse := hasLast
	limit := int64(-1)
	if hasFirst {
		limit, _ = first.Int64()
	}
	if hasLast {
		limit, _ = last.Int64()
		for i, o := range q.order {
			q.order[i] = flipOrder(o)
		}
	}
	if limit >= 0 {
		q.limit = strconv.FormatInt(limit+1, 10) // one more tells whether there is a next page
	}

	connType := t.Derived("Connection")
	fields, err := c.collect(sub, connType, nil, path)
	if err != nil {
		return "", err
	}
	r := c.alias()
	innerCols := []string{cursor + " AS c"}
	n := 0
	var out [][2]string
	for _, cf := range fields {
		at := path + ".selectionSet." + cf.field.Name
		switch cf.field.Name {
		case "__typename":
			out = append(out, [2]string{cf.key, quoteLiteral(connType)})
		case "pageInfo":
			pi, err := c.pageInfo(t, r, cf.sub, at, limit, hasFirst, hasLast, hasAfter, hasBefore)
			if err != nil {
				return "", err
			}
			out = append(out, [2]string{cf.key, pi})
		case "edges":
			edgeType := t.Derived("Edge")
			efields, err := c.collect(cf.sub, edgeType, nil, at)
			if err != nil {
				return "", err
			}
			var edge [][2]string
			for _, ef := range efields {
				switch ef.field.Name {
				case "__typename":
					edge = append(edge, [2]string{ef.key, quoteLiteral(edgeType)})
				case "cursor":
					edge = append(edge, [2]string{ef.key, r + ".c"})
				case "node":
					obj, err := c.object(t, q.alias, ef.sub, at+".selectionSet.node")
					if err != nil {
						return "", err
					}
					n++
					innerCols = append(innerCols, obj+" AS j"+strconv.Itoa(n))
					edge = append(edge, [2]string{ef.key, r + ".j" + strconv.Itoa(n)})
				default:
					return "", fail(at+".selectionSet."+ef.field.Name, "field '%s' not found in type: '%s'", ef.field.Name, edgeType)
				}
			}
			order := r + ".n"
			if reverse {
				order += " DESC"
			}
			out = append(out, [2]string{cf.key, "coalesce(json_agg(" + jsonObject(edge) + " ORDER BY " + order + ") FILTER (WHERE " + pageFilter(r, limit) + "), '[]')"})
		default:
			return "", fail(at, "field '%s' not found in type: '%s'", cf.field.Name, connType)
		}
	}
	// row_number must follow the ORDER BY: window functions run before it.
	inner := q.selectList(strings.Join(innerCols, ", ")+", row_number() OVER (ORDER BY "+strings.Join(q.order, ", ")+") AS n") + q.tail()
	return "(SELECT " + jsonObject(out) + " FROM (" + inner + ") AS " + r + ")", nil
}

// pageFilter keeps the page's rows, not the one fetched to look ahead.
func pageFilter(r string, limit int64) string {
	if limit < 0 {
		return "true"
	}
	return r + ".n <= " + strconv.FormatInt(limit, 10)
}

func (c *compiler) pageInfo(t *schema.Table, r string, sub ast.SelectionSet, path string, limit int64, first, last, after, before bool) (string, *errAt) {
	fields, err := c.collect(sub, "PageInfo", nil, path)
	if err != nil {
		return "", err
	}
	more := "false"
	if limit >= 0 {
		more = "(count(*) > " + strconv.FormatInt(limit, 10) + ")"
	}
	inPage := pageFilter(r, limit)
	startCursor := "(array_agg(" + r + ".c ORDER BY " + r + ".n) FILTER (WHERE " + inPage + "))[1]"
	endCursor := "(array_agg(" + r + ".c ORDER BY " + r + ".n DESC) FILTER (WHERE " + inPage + "))[1]"
	if last {
		startCursor, endCursor = endCursor, startCursor
	}
	var out [][2]string
	for _, f := range fields {
		var expr string
		switch f.field.Name {
		case "__typename":
			expr = "'PageInfo'"
		case "hasNextPage":
			expr = "false"
			if first {
				expr = more
			} else if before {
				expr = "true"
			}
		case "hasPreviousPage":
			expr = "false"
			if last {
				expr = more
			} else if after {
				expr = "true"
			}
		case "startCursor":
			expr = "coalesce(" + startCursor + ", '')"
		case "endCursor":
			expr = "coalesce(" + endCursor + ", '')"
		default:
			return "", fail(path+".selectionSet."+f.field.Name, "field '%s' not found in type: 'PageInfo'", f.field.Name)
		}
		out = append(out, [2]string{f.key, expr})
	}
	return jsonObject(out), nil
}

func containsRef(cols []orderCol, ref string) bool {
	for _, c := range cols {
		if c.ref == ref {
			return true
		}
	}
	return false
}

func flipOrder(o string) string {
	expr, dir := splitOrder(o)
	flipped := map[string]string{
		"ASC NULLS LAST": "DESC NULLS FIRST", "ASC NULLS FIRST": "DESC NULLS LAST",
		"DESC NULLS FIRST": "ASC NULLS LAST", "DESC NULLS LAST": "ASC NULLS FIRST", "ASC": "DESC NULLS FIRST",
	}[dir]
	return expr + " " + flipped
}

// cursorCondition: rows strictly after (or before) the cursor's row in
// the total order.
// orderedColumn is the column of t's row alias an ORDER BY expression is,
// if it is one: plain, or as the role reads it redacted (the very text
// columnRef gave it; nothing new is compiled here).
func (c *compiler) orderedColumn(t *schema.Table, alias, expr string) (name, typ string, ok bool) {
	if strings.HasPrefix(expr, alias+".") {
		name := strings.Trim(strings.TrimPrefix(expr, alias+"."), `"`)
		if col, ok := t.Base.Catalog.Column(name); ok {
			return name, schema.ColumnSQLType(col), true
		}
	}
	for _, col := range t.Columns {
		if col.Redact == nil {
			continue
		}
		if e, done := c.redactions[redactionKey{t, col.Name, alias + "." + quoteIdent(col.Name)}]; done && e == expr {
			return col.Name, col.SQLType, true
		}
	}
	return "", "", false
}

func (c *compiler) cursorCondition(cols []orderCol, cursor string, after bool, path string) (string, *errAt) {
	raw, err := base64.StdEncoding.DecodeString(cursor)
	var values map[string]any
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err = dec.Decode(&values)
	}
	if err != nil {
		return "", fail(path, "the cursor is invalid")
	}
	var ors []string
	for k := range cols {
		var ands []string
		for i := 0; i < k; i++ {
			ands = append(ands, cols[i].ref+" IS NOT DISTINCT FROM "+c.cursorValue(values, cols[i]))
		}
		op := ">"
		if cols[k].desc == after {
			op = "<"
		}
		ands = append(ands, cols[k].ref+" "+op+" "+c.cursorValue(values, cols[k]))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	if len(ors) == 0 {
		return "true", nil
	}
	return "(" + strings.Join(ors, " OR ") + ")", nil
}

func (c *compiler) cursorValue(values map[string]any, oc orderCol) string {
	return c.value(values[oc.field], oc.typ, false)
}

// node compiles the Relay node(id:) field: the id names the table and
// primary key of one row.
func (c *compiler) node(args map[string]any, sub ast.SelectionSet, path string) (string, *errAt) {
	id, _ := args["id"].(string)
	t, pk, err := c.decodeNodeID(id)
	if err != nil {
		if strings.HasPrefix(err.Error(), "value of column") {
			return "", &errAt{path: path, msg: err.Error(), code: "parse-failed"}
		}
		return "", &errAt{path: path + ".args.id", msg: err.Error(), code: "validation-failed"}
	}
	if t == nil {
		return "NULL::json", nil
	}
	q, aerr := c.tableQuery(t, tableRef(t.Name.Schema, t.Name.Name), nil, path)
	if aerr != nil {
		return "", aerr
	}
	for i, col := range t.PK {
		q.conds = append(q.conds, c.columnRef(t, q.alias, col)+" = "+c.value(pk[i], col.SQLType, false))
	}
	return c.one(t, q, sub, path)
}

// decodeNodeID reads base64 of [1, "schema", "table", pk values...].
func (c *compiler) decodeNodeID(id string) (*schema.Table, []any, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(id))
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(id), "="))
	}
	var parts []any
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err = dec.Decode(&parts)
	}
	if err != nil {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			return nil, nil, fmt.Errorf("invalid node id: Error in $: parsing node id failed, expected Array, but encountered %s", aeson.Kind(raw))
		}
		return nil, nil, fmt.Errorf("invalid node id: Error in $: Failed reading: not a valid json value at '%s'", latin1(raw))
	}
	if len(parts) == 0 {
		return nil, nil, fmt.Errorf("invalid node id: Error in $: unexpected GUID format, needs to be an array with at least one element")
	}
	version, ok := parts[0].(json.Number)
	if !ok {
		return nil, nil, fmt.Errorf("invalid node id: Error in $: unexpected GUID format, needs to start with a version number")
	}
	if string(version) != "1" {
		f, _ := version.Float64()
		return nil, nil, fmt.Errorf("invalid node id: Error in $: unsupported GUID version: %s", strconv.FormatFloat(f, 'f', 1, 64))
	}
	if len(parts) < 4 {
		return nil, nil, fmt.Errorf("invalid node id: Error in $: GUID version 1: expecting schema name, table name and at least one column value")
	}
	schemaName, _ := parts[1].(string)
	tableName, _ := parts[2].(string)
	var t *schema.Table
	for _, nt := range c.s.NodeTables {
		if nt.Name.Schema == schemaName && nt.Name.Name == tableName {
			t = nt
		}
	}
	if t == nil {
		return nil, nil, nil
	}
	values := parts[3:]
	if len(values) < len(t.PK) {
		var missing []string
		for _, col := range t.PK[len(values):] {
			missing = append(missing, "'"+col.Name+"'")
		}
		return nil, nil, fmt.Errorf("invalid node id: primary key columns [%s] are missing", strings.Join(missing, ", "))
	}
	if len(values) > len(t.PK) {
		extra := make([]string, 0)
		for _, v := range values[len(t.PK):] {
			b, _ := json.Marshal(v)
			extra = append(extra, string(b))
		}
		return nil, nil, fmt.Errorf("invalid node id: unexpected column values [%s]", strings.Join(extra, ", "))
	}
	for i, col := range t.PK {
		if col.Scalar == "String" {
			if _, ok := values[i].(string); !ok {
				return nil, nil, fmt.Errorf("value of column '%s' in node id: parsing Text failed, expected String, but encountered %s", col.Name, describeJSONKind(values[i]))
			}
		}
	}
	return t, values, nil
}

func describeJSONKind(v any) string {
	switch v.(type) {
	case json.Number:
		return "Number"
	case string:
		return "String"
	case bool:
		return "Boolean"
	case nil:
		return "Null"
	case []any:
		return "Array"
	}
	return "Object"
}

// latin1 shows bytes as Hasura's error does: one character per byte.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
