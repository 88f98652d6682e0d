package graphql

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/schema"
)

// compiler turns the root fields of one source into one SQL statement
// whose columns are the fields' JSON values. $1 is always the session (a
// JSON object of the x-hasura-* variables), so every user of a role runs
// the same statement text.
//
// A multiplexed compiler (mux, live queries: see live.go) reads the
// session and its own values from the columns of the row of _sub, one row
// per cohort of subscribers, instead: the session variables from
// _sub.session (jsonb), the whole session from _sub.session_text (the very
// text $1 would carry) and the n-th value from element n of _sub.vars (a
// jsonb array), so one statement text serves every cohort. Only these
// references differ between the two: the SQL around them is the same code.
type compiler struct {
	*coercer
	s        *schema.Schema
	resolved *compile.Schema
	params   []any
	session  map[string]bool
	mux      bool
	n        int
	// stringify writes big numbers as strings.
	stringify bool
	// rootAlias is the row a boolean expression being compiled is about.
	rootAlias string
	// joins collects the plan's remote joins (remote_join.go); nil where
	// they are not supported.
	joins *[]*remoteJoin
	// redactions are the redacted values compiled so far (redact.go).
	redactions map[redactionKey]string
}

// bigNumbers are the scalars HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES
// turns into strings.
var bigNumbers = map[string]bool{"bigint": true, "numeric": true, "float8": true, "money": true}

// out is a value as the response carries it.
func (c *compiler) out(expr, scalar string) string {
	if c.stringify && bigNumbers[scalar] {
		return "(" + expr + ")::text"
	}
	return expr
}

func (c *compiler) param(v any) string {
	c.params = append(c.params, v)
	if c.mux {
		i := strconv.Itoa(len(c.params) - 1)
		if _, list := v.([]*string); list {
			// The text[] a list parameter would be (its order does not
			// matter: lists only go to = ANY).
			return "ARRAY(SELECT jsonb_array_elements_text(_sub.vars->" + i + "))"
		}
		return "(_sub.vars->>" + i + ")"
	}
	return "$" + strconv.Itoa(len(c.params)+1)
}

// sessionVar is a session variable as text: from $1, or from the
// cohort's session in a multiplexed statement.
func (c *compiler) sessionVar(name string) string {
	c.session[name] = true
	if c.mux {
		return "(_sub.session->>" + quoteLiteral(name) + ")"
	}
	return "($1::json->>" + quoteLiteral(name) + ")"
}

// wholeSession is the session as the json argument of a function.
func (c *compiler) wholeSession() string {
	c.session[wholeSessionKey] = true
	if c.mux {
		return "_sub.session_text::json"
	}
	return "$1::json"
}

// wholeSessionKey marks, among the session variables a plan reads, that
// it reads the whole session (a function's session argument).
const wholeSessionKey = "\x00session"

func (c *compiler) alias() string {
	c.n++
	return "_" + strconv.Itoa(c.n)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func tableRef(schemaName, name string) string { return quoteIdent(schemaName) + "." + quoteIdent(name) }

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// scalarText is a value as the text Postgres parses for a column.
func scalarText(v any) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	case json.Number:
		s = string(x)
	case bool:
		s = strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		s = string(b)
	}
	return &s
}

// value is a SQL expression for v as type typ. In a permission filter a
// string naming a session variable reads it from $1.
func (c *compiler) value(v any, typ string, perm bool) string {
	if s, ok := v.(string); ok && perm && isSessionVar(s) {
		return "(" + c.sessionVar(strings.ToLower(s)) + "::" + typ + ")"
	}
	if v == nil {
		return "NULL::" + typ
	}
	switch {
	case typ == "json" || typ == "jsonb":
		b, _ := json.Marshal(v)
		return c.param(string(b)) + "::text::" + typ
	case isGeo(typ):
		if m, ok := v.(map[string]any); ok {
			b, _ := json.Marshal(m)
			e := "ST_GeomFromGeoJSON(" + c.param(string(b)) + "::text)"
			if typ == "geography" {
				e += "::geography"
			}
			return e
		}
	case strings.HasSuffix(typ, "[]"):
		if items, ok := v.([]any); ok {
			return c.param(arrayLiteral(items)) + "::text::" + typ
		}
	}
	if n, ok := v.(json.Number); ok {
		switch {
		case typ == "money":
			// money reads no exponent: -2E-2 goes as -0.02.
			v = json.Number(plainDecimal(string(n)))
		case compile.IsNumeric(typ):
			// As Hasura sends it, so results keep the same scale: 1.1 as
			// 1.1000, 1E-30 as 1.0e-30 (its Scientific's text).
			s := string(n)
			if m, e, ok := strings.Cut(strings.ToLower(s), "e"); ok && !strings.Contains(m, ".") {
				s = m + ".0e" + e
			}
			v = json.Number(compile.NumericText(s))
		}
	}
	return c.param(*scalarText(v)) + "::text::" + typ
}

// plainDecimal writes a number in exponent form without the exponent.
func plainDecimal(n string) string {
	mant, exp, ok := strings.Cut(strings.ToLower(n), "e")
	if !ok {
		return n
	}
	e, err := strconv.Atoi(exp)
	if err != nil {
		return n
	}
	scale := 0
	if dot := strings.IndexByte(mant, '.'); dot >= 0 {
		scale = len(mant) - dot - 1
	}
	r, ok := new(big.Rat).SetString(n)
	if !ok {
		return n
	}
	return r.FloatString(max(0, scale-e))
}

// arrayLiteral writes a Postgres array literal: {"a","b"}.
func arrayLiteral(items []any) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		if inner, ok := it.([]any); ok {
			b.WriteString(arrayLiteral(inner))
			continue
		}
		t := scalarText(it)
		if t == nil {
			b.WriteString("NULL")
			continue
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(*t))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// jsonObject builds a JSON object from (key, expression) pairs in order.
// json_build_object takes at most 100 arguments; wider objects go through
// row_to_json over a sub-select, whose column names Postgres truncates at
// 63 bytes, so that form is kept for when it is needed.
func jsonObject(pairs [][2]string) string {
	if len(pairs) <= 50 {
		var b strings.Builder
		b.WriteString("json_build_object(")
		for i, p := range pairs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteLiteral(p[0]) + ", " + p[1])
		}
		b.WriteString(")")
		return b.String()
	}
	// Chunks of 50 merged: json_build_object of chunks, flattened by
	// concatenating their text without the braces.
	var parts []string
	for i := 0; i < len(pairs); i += 50 {
		end := min(i+50, len(pairs))
		// Exactly the outer braces go: trimming every trailing '}' would
		// eat those of a nested object that ends the chunk.
		parts = append(parts, "regexp_replace("+jsonObject(pairs[i:end])+"::text, '^\\{|\\}$', '', 'g')")
	}
	return "('{' || concat_ws(', ', " + strings.Join(parts, ", ") + ") || '}')::json"
}

// rowsQuery is a selection of rows: FROM, WHERE, ORDER BY, LIMIT...
type rowsQuery struct {
	from     string // FROM item, aliased
	alias    string
	conds    []string
	order    []string
	distinct []string
	limit    string
	offset   string
}

func (q *rowsQuery) tail() string {
	var b strings.Builder
	b.WriteString(" FROM " + q.from)
	if len(q.conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(q.conds, " AND "))
	}
	if len(q.order) > 0 {
		b.WriteString(" ORDER BY " + strings.Join(q.order, ", "))
	}
	if q.limit != "" {
		b.WriteString(" LIMIT " + q.limit)
	}
	if q.offset != "" {
		b.WriteString(" OFFSET " + q.offset)
	}
	return b.String()
}

func (q *rowsQuery) selectList(expr string) string {
	if len(q.distinct) > 0 {
		return "SELECT DISTINCT ON (" + strings.Join(q.distinct, ", ") + ") " + expr
	}
	return "SELECT " + expr
}

// tableQuery applies the role's row filter and limit and the arguments
// (where, order_by, distinct_on, limit, offset) to rows of t.
func (c *compiler) tableQuery(t *schema.Table, from string, args map[string]any, path string) (*rowsQuery, *errAt) {
	a := c.alias()
	q := &rowsQuery{from: from + " AS " + a, alias: a}
	if t.Filter != nil {
		q.conds = append(q.conds, c.permFilter(t, a))
	}
	if w, ok := args["where"]; ok && w != nil {
		q.conds = append(q.conds, c.boolExp(scope{role: t, base: t.Base}, a, w))
	}
	if ob, ok := args["order_by"].([]any); ok {
		for _, item := range ob {
			q.order = append(q.order, c.orderBy(t, a, item)...)
		}
	}
	if d, ok := args["distinct_on"].([]any); ok && len(d) > 0 {
		var cols []string
		for _, f := range d {
			cols = append(cols, c.columnRef(t, a, t.ByField[f.(string)]))
		}
		if len(q.order) > 0 {
			for i, col := range cols {
				if i >= len(q.order) || !strings.HasPrefix(q.order[i], col+" ") {
					return nil, fail(path+".args", `"distinct_on" columns must match initial "order_by" columns`)
				}
			}
		} else {
			for _, col := range cols {
				q.order = append(q.order, col+" ASC")
			}
		}
		q.distinct = cols
	}
	limit := int64(-1)
	if l, ok := args["limit"].(json.Number); ok {
		limit, _ = l.Int64()
	}
	if t.Limit != nil && (limit < 0 || *t.Limit < limit) {
		limit = *t.Limit
	}
	if limit >= 0 {
		q.limit = strconv.FormatInt(limit, 10)
	}
	if o, ok := args["offset"].(json.Number); ok {
		q.offset = string(o)
	}
	return q, nil
}

var orderings = map[string]string{
	"asc": "ASC NULLS LAST", "asc_nulls_first": "ASC NULLS FIRST", "asc_nulls_last": "ASC NULLS LAST",
	"desc": "DESC NULLS FIRST", "desc_nulls_first": "DESC NULLS FIRST", "desc_nulls_last": "DESC NULLS LAST",
}

// orderBy compiles one order_by object into ORDER BY items.
func (c *compiler) orderBy(t *schema.Table, alias string, v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for _, k := range sortedKeys(m) {
		val := m[k]
		if val == nil {
			continue
		}
		if col, ok := t.ByField[k]; ok {
			out = append(out, c.columnRef(t, alias, col)+" "+orderings[val.(string)])
			continue
		}
		if cf, ok := t.Computed[k]; ok && cf.Function.Returns == nil {
			out = append(out, c.computedScalar(t, cf, alias, nil)+" "+orderings[val.(string)])
			continue
		}
		if r, ok := t.Rels[k]; ok && !r.Array {
			inner := c.alias()
			for _, o := range c.orderBy(r.Remote, inner, val) {
				expr, dir := splitOrder(o)
				out = append(out, "(SELECT "+expr+" FROM "+tableRef(r.Remote.Name.Schema, r.Remote.Name.Name)+" AS "+inner+" WHERE "+strings.Join(c.relConds(r, alias, inner), " AND ")+" LIMIT 1) "+dir)
			}
			continue
		}
		if strings.HasSuffix(k, "_aggregate") {
			name := strings.TrimSuffix(k, "_aggregate")
			if r, ok := t.Rels[name]; ok && r.Array {
				inner := c.alias()
				from := tableRef(r.Remote.Name.Schema, r.Remote.Name.Name) + " AS " + inner + " WHERE " + strings.Join(c.relConds(r, alias, inner), " AND ")
				out = append(out, c.aggregateOrder(r.Remote, inner, from, val)...)
				continue
			}
			if cf, ok := t.Computed[name]; ok && cf.Function.Returns != nil {
				inner := c.alias()
				from := c.computedCall(cf, alias, nil) + " AS " + inner
				if cf.Function.Returns.Filter != nil {
					from += " WHERE " + c.permFilter(cf.Function.Returns, inner)
				}
				out = append(out, c.aggregateOrder(cf.Function.Returns, inner, from, val)...)
			}
		}
	}
	return out
}

// aggregateOrder orders by aggregates of related rows.
func (c *compiler) aggregateOrder(t *schema.Table, inner, from string, v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for _, op := range sortedKeys(m) {
		if op == "count" {
			if dir, ok := m[op].(string); ok {
				out = append(out, "(SELECT count(*) FROM "+from+") "+orderings[dir])
			}
			continue
		}
		cols, _ := m[op].(map[string]any)
		for _, f := range sortedKeys(cols) {
			col, dir := t.ByField[f], cols[f]
			if col == nil || dir == nil {
				continue
			}
			out = append(out, "(SELECT "+aggSQL[op]+"("+c.columnRef(t, inner, col)+") FROM "+from+") "+orderings[dir.(string)])
		}
	}
	return out
}

func splitOrder(o string) (expr, dir string) {
	for _, d := range []string{" ASC NULLS LAST", " ASC NULLS FIRST", " DESC NULLS FIRST", " DESC NULLS LAST", " ASC"} {
		if strings.HasSuffix(o, d) {
			return strings.TrimSuffix(o, d), strings.TrimPrefix(d, " ")
		}
	}
	return o, ""
}

// relConds joins a relationship's remote rows (inner) to the row (outer),
// with the remote table's row filter.
func (c *compiler) relConds(r *schema.Relationship, outer, inner string) []string {
	conds := joinConds(outer, inner, r.On)
	if r.Remote.Filter != nil {
		conds = append(conds, c.permFilter(r.Remote, inner))
	}
	return conds
}

// computedScalar is a scalar computed field of t's row alias as the role
// reads it (redacted for an inherited role that may not on every row).
func (c *compiler) computedScalar(t *schema.Table, cf *schema.ComputedField, alias string, args map[string]any) string {
	return c.redact(t, cf.Field, cf.Redact, alias, c.computedCall(cf, alias, args))
}

// computedCall calls a computed field's function for the row alias.
func (c *compiler) computedCall(cf *schema.ComputedField, alias string, args map[string]any) string {
	return c.functionCall(cf.Function, args, map[int]string{cf.TableArg: alias})
}

// functionCall calls a function with named arguments; fixed are the
// arguments the engine fills (a computed field's row).
func (c *compiler) functionCall(f *schema.Function, args map[string]any, fixed map[int]string) string {
	var parts []string
	for i, a := range f.Catalog.Args {
		e, ok := fixed[i]
		if !ok && a.Name != "" && a.Name == f.SessionArg {
			e, ok = c.wholeSession(), true
		}
		if !ok {
			continue
		}
		// Named when it has a name: the row argument need not come first.
		if a.Name != "" {
			e = quoteIdent(a.Name) + " => " + e
		}
		parts = append(parts, e)
	}
	// Named for the rest, so defaults apply to those not given.
	for _, a := range f.Args {
		v, ok := args[a.Name]
		if !ok {
			continue
		}
		parts = append(parts, quoteIdent(a.Name)+" => "+c.value(v, a.SQLType, false))
	}
	return tableRef(f.Name.Schema, f.Name.Name) + "(" + strings.Join(parts, ", ") + ")"
}

// fieldArgs checks a field's arguments against its definition and
// coerces them.
func (c *compiler) fieldArgs(f *ast.Field, def *ast.FieldDefinition, path string) (map[string]any, *errAt) {
	for _, a := range f.Arguments {
		if def.Arguments.ForName(a.Name) == nil {
			return nil, fail(path, "'%s' has no argument named '%s'", def.Name, a.Name)
		}
	}
	out := map[string]any{}
	for _, ad := range def.Arguments {
		at := path + ".args." + ad.Name
		given := f.Arguments.ForName(ad.Name)
		if given == nil {
			if ad.Type.NonNull && ad.DefaultValue == nil {
				return nil, fail(at, "missing required field '%s'", ad.Name)
			}
			continue
		}
		if unset, err := c.unsetOptional(ad.Type, inValue{lit: given.Value}, false, at); err != nil {
			return nil, err
		} else if unset {
			continue
		}
		if parse := c.countArg(ad); parse != nil {
			v, err := parse(inValue{lit: given.Value}, at)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out[ad.Name] = v
			}
			continue
		}
		v, err := c.coerce(ad.Type, inValue{lit: given.Value}, at)
		if err != nil {
			return nil, err
		}
		out[ad.Name] = v
	}
	return out, nil
}

// countArg is the parser of the Int arguments Hasura reads its own way:
// offset, and limit/first/last; nil for every other argument.
func (c *compiler) countArg(ad *ast.ArgumentDefinition) func(inValue, string) (any, *errAt) {
	if ad.Type.NamedType != "Int" {
		return nil
	}
	switch ad.Name {
	case "offset":
		return c.offset
	case "limit", "first", "last", "batch_size": // batch_size: a stream's (stream.go)
		return c.nonNegativeInt
	}
	return nil
}

// intArgValue resolves such an argument's variable, if any, and returns
// its value; nil when it is absent or null.
func (c *compiler) intArgValue(v inValue, path string) (inValue, any, *errAt) {
	v, ok, err := c.peel(&ast.Type{NamedType: "Int"}, v, false)
	if err != nil {
		return v, nil, fail(path, "%s", err.Error())
	}
	if !ok || isNullValue(v) {
		return v, nil, nil
	}
	if v.isJSON {
		return v, v.json, nil
	}
	return v, c.literal(v.lit), nil
}

// offset takes an integer or a string holding one (Hasura parses it as
// a bigint).
func (c *compiler) offset(v inValue, path string) (any, *errAt) {
	v, val, err := c.intArgValue(v, path)
	if err != nil || val == nil {
		return nil, err
	}
	var text string
	switch x := val.(type) {
	case json.Number:
		text = string(x)
	case string:
		text = x
	}
	n, perr := strconv.ParseInt(text, 10, 64)
	if perr != nil {
		return nil, &errAt{path: path, msg: "expected an integer for type 'Int', but found " + v.describe(c.vars), code: "parse-failed"}
	}
	return json.Number(strconv.FormatInt(n, 10)), nil
}

// nonNegativeInt is Hasura's parser for limit.
func (c *compiler) nonNegativeInt(v inValue, path string) (any, *errAt) {
	v, val, err := c.intArgValue(v, path)
	if err != nil || val == nil {
		return nil, err
	}
	n, isNum := val.(json.Number)
	i, perr := n.Int64()
	if !isNum || perr != nil || i < 0 || i > 1<<31-1 || !v.isJSON && v.lit.Kind != ast.IntValue {
		return nil, fail(path, "expected a non-negative 32-bit integer for type 'Int', but found %s", v.describe(c.vars))
	}
	return n, nil
}

// object compiles a selection on a table row (alias) into a JSON object.
func (c *compiler) object(t *schema.Table, alias string, set ast.SelectionSet, path string) (string, *errAt) {
	typeName := t.TypeName
	def := c.s.AST.Types[typeName]
	fields, err := c.collect(set, typeName, def.Interfaces, path)
	if err != nil {
		return "", err
	}
	pairs := make([][2]string, 0, len(fields))
	for _, cf := range fields {
		if cf.field.Name == "__typename" {
			pairs = append(pairs, [2]string{cf.key, quoteLiteral(typeName)})
			continue
		}
		at, fd, meaning, args, err := c.resolve(def, cf, path)
		if err != nil {
			return "", err
		}
		var expr string
		switch meaning.Kind {
		case schema.ColumnField:
			if len(cf.sub) > 0 {
				return "", fail(at, "unexpected subselection set for non-object field")
			}
			expr = c.out(c.redact(t, meaning.Column.Name, meaning.Column.Redact, alias, columnOut(alias, meaning.Column, args)), meaning.Column.Scalar)
		case schema.NodeIDField:
			expr = nodeID(t, alias)
		case schema.ComputedScalarField:
			if len(cf.sub) > 0 {
				return "", fail(at, "unexpected subselection set for non-object field")
			}
			fargs, _ := args["args"].(map[string]any)
			expr = c.out(c.computedScalar(t, meaning.Computed, alias, fargs), meaning.Computed.Scalar)
		default:
			if len(cf.sub) == 0 {
				return "", fail(at, "missing selection set for '%s'", fd.Type.Name())
			}
			expr, err = c.nested(meaning, alias, args, cf.sub, at)
			if err != nil {
				return "", err
			}
		}
		pairs = append(pairs, [2]string{cf.key, expr})
	}
	return jsonObject(pairs), nil
}

// resolve finds what a selected field of an object type is and checks
// its arguments.
func (c *compiler) resolve(def *ast.Definition, cf *collected, path string) (string, *ast.FieldDefinition, *schema.Field, map[string]any, *errAt) {
	f := cf.field
	at := path + ".selectionSet." + f.Name
	fd := def.Fields.ForName(f.Name)
	meaning := c.s.Field(def.Name, f.Name)
	if fd == nil || meaning == nil {
		return "", nil, nil, nil, fail(at, "field '%s' not found in type: '%s'", f.Name, def.Name)
	}
	args, err := c.fieldArgs(f, fd, at)
	return at, fd, meaning, args, err
}

// columnOut is a column as it goes into the response: GeoJSON for
// PostGIS types, a json path applied when asked.
func columnOut(alias string, col *schema.Column, args map[string]any) string {
	ref := alias + "." + quoteIdent(col.Name)
	switch col.Scalar {
	case "geometry", "geography":
		// 15 digits and the long-form CRS, as Hasura writes GeoJSON.
		return "ST_AsGeoJSON(" + ref + ", 15, 4)::json"
	}
	if p, ok := args["path"].(string); ok {
		return ref + " #> " + quoteLiteral(jsonPath(p))
	}
	return ref
}

// jsonPath turns "$.a.b[0]" into the text[] literal {a,b,0}.
func jsonPath(p string) string {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "$"), ".")
	var parts []string
	for _, seg := range strings.Split(p, ".") {
		for seg != "" {
			i := strings.IndexByte(seg, '[')
			if i < 0 {
				parts = append(parts, seg)
				break
			}
			if i > 0 {
				parts = append(parts, seg[:i])
			}
			j := strings.IndexByte(seg, ']')
			if j < i {
				break
			}
			parts = append(parts, strings.Trim(seg[i+1:j], `"'`))
			seg = seg[j+1:]
		}
	}
	for i, s := range parts {
		parts[i] = `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// nested compiles relationship, computed-set and aggregate fields.
func (c *compiler) nested(m *schema.Field, alias string, args map[string]any, sub ast.SelectionSet, path string) (string, *errAt) {
	t := m.Table
	switch m.Kind {
	case schema.ObjectRelField:
		inner := c.alias()
		obj, err := c.object(t, inner, sub, path)
		if err != nil {
			return "", err
		}
		return "(SELECT " + obj + " FROM " + tableRef(t.Name.Schema, t.Name.Name) + " AS " + inner + " WHERE " + strings.Join(c.relConds(m.Rel, alias, inner), " AND ") + " LIMIT 1)", nil
	case schema.ArrayRelField, schema.ArrayRelAggregateField, schema.ArrayRelConnectionField:
		q, err := c.tableQuery(t, tableRef(t.Name.Schema, t.Name.Name), args, path)
		if err != nil {
			return "", err
		}
		q.conds = append(joinConds(alias, q.alias, m.Rel.On), q.conds...)
		switch m.Kind {
		case schema.ArrayRelAggregateField:
			return c.aggregate(t, q, sub, path)
		case schema.ArrayRelConnectionField:
			return c.connection(t, q, args, sub, path)
		}
		return c.rows(t, q, sub, path)
	case schema.RemoteObjectRelField, schema.RemoteArrayRelField, schema.RemoteArrayAggregateField:
		return c.remote(m, alias, args, sub, path)
	case schema.ComputedSetField:
		fargs, _ := args["args"].(map[string]any)
		q, err := c.tableQuery(t, c.computedCall(m.Computed, alias, fargs), args, path)
		if err != nil {
			return "", err
		}
		return c.rows(t, q, sub, path)
	}
	return "", fail(path, "unsupported field")
}

// rows is a JSON array of the rows of q.
func (c *compiler) rows(t *schema.Table, q *rowsQuery, sub ast.SelectionSet, path string) (string, *errAt) {
	obj, err := c.object(t, q.alias, sub, path)
	if err != nil {
		return "", err
	}
	r := c.alias()
	return "(SELECT coalesce(json_agg(" + r + ".j), '[]') FROM (" + q.selectList(obj+" AS j") + q.tail() + ") AS " + r + ")", nil
}

// one is the first row of q as a JSON object, or null.
func (c *compiler) one(t *schema.Table, q *rowsQuery, sub ast.SelectionSet, path string) (string, *errAt) {
	obj, err := c.object(t, q.alias, sub, path)
	if err != nil {
		return "", err
	}
	q.limit = "1"
	return "(" + q.selectList(obj) + q.tail() + ")", nil
}

var aggSQL = map[string]string{"avg": "avg", "stddev": "stddev", "stddev_pop": "stddev_pop", "stddev_samp": "stddev_samp", "sum": "sum", "var_pop": "var_pop", "var_samp": "var_samp", "variance": "variance", "max": "max", "min": "min"}

// aggregate is a <table>_aggregate object over the rows of q.
func (c *compiler) aggregate(t *schema.Table, q *rowsQuery, sub ast.SelectionSet, path string) (string, *errAt) {
	typeName := t.Derived("_aggregate")
	fields, err := c.collect(sub, typeName, nil, path)
	if err != nil {
		return "", err
	}
	r := c.alias()
	var nodes string
	pairs := make([][2]string, 0, len(fields))
	for _, cf := range fields {
		f := cf.field
		at := path + ".selectionSet." + f.Name
		switch f.Name {
		case "__typename":
			pairs = append(pairs, [2]string{cf.key, quoteLiteral(typeName)})
		case "nodes":
			if nodes == "" {
				obj, err := c.object(t, q.alias, cf.sub, at)
				if err != nil {
					return "", err
				}
				nodes = obj
			}
			pairs = append(pairs, [2]string{cf.key, "coalesce(json_agg(" + r + ".j), '[]')"})
		case "aggregate":
			expr, err := c.aggregateFields(t, r, cf.sub, at)
			if err != nil {
				return "", err
			}
			pairs = append(pairs, [2]string{cf.key, expr})
		default:
			return "", fail(at, "field '%s' not found in type: '%s'", f.Name, typeName)
		}
	}
	cols := q.alias + ".*"
	if redacted := c.redactedColumns(t, q.alias); redacted != "" {
		cols = redacted
	}
	if nodes != "" {
		cols += ", " + nodes + " AS j"
	}
	return "(SELECT " + jsonObject(pairs) + " FROM (" + q.selectList(cols) + q.tail() + ") AS " + r + ")", nil
}

func (c *compiler) aggregateFields(t *schema.Table, r string, set ast.SelectionSet, path string) (string, *errAt) {
	typeName := t.Derived("_aggregate_fields")
	def := c.s.AST.Types[typeName]
	fields, err := c.collect(set, typeName, nil, path)
	if err != nil {
		return "", err
	}
	var pairs [][2]string
	for _, cf := range fields {
		if cf.field.Name == "__typename" {
			pairs = append(pairs, [2]string{cf.key, quoteLiteral(typeName)})
			continue
		}
		at, _, m, args, err := c.resolve(def, cf, path)
		if err != nil {
			return "", err
		}
		if m.Kind == schema.CountField {
			pairs = append(pairs, [2]string{cf.key, countExpr(t, r, args)})
			continue
		}
		opType := t.Derived("_" + m.Op + "_fields")
		opFields, err := c.collect(cf.sub, opType, nil, at)
		if err != nil {
			return "", err
		}
		var inner [][2]string
		for _, of := range opFields {
			if of.field.Name == "__typename" {
				inner = append(inner, [2]string{of.key, quoteLiteral(opType)})
				continue
			}
			om := c.s.Field(opType, of.field.Name)
			if om == nil {
				return "", fail(at+".selectionSet."+of.field.Name, "field '%s' not found in type: '%s'", of.field.Name, opType)
			}
			scalar := schema.AggregateScalar(m.Op, om.Column)
			inner = append(inner, [2]string{of.key, c.out(aggSQL[m.Op]+"("+r+"."+quoteIdent(om.Column.Name)+")", scalar)})
		}
		pairs = append(pairs, [2]string{cf.key, jsonObject(inner)})
	}
	return jsonObject(pairs), nil
}

func countExpr(t *schema.Table, r string, args map[string]any) string {
	cols, _ := args["columns"].([]any)
	distinct, _ := args["distinct"].(bool)
	if len(cols) == 0 {
		if distinct {
			return "count(DISTINCT " + r + ".*)"
		}
		return "count(*)"
	}
	refs := make([]string, len(cols))
	for i, f := range cols {
		refs[i] = r + "." + quoteIdent(t.ByField[f.(string)].Name)
	}
	expr := strings.Join(refs, ", ")
	if len(refs) > 1 {
		expr = "(" + expr + ")"
	}
	if distinct {
		return "count(DISTINCT " + expr + ")"
	}
	return "count(" + expr + ")"
}

// nodeID is the relay global id: base64 of [1, schema, table, pk...] as
// Postgres prints json_build_array, which is what Hasura encodes.
func nodeID(t *schema.Table, alias string) string {
	parts := []string{"1", quoteLiteral(t.Name.Schema), quoteLiteral(t.Name.Name)}
	for _, c := range t.PK {
		parts = append(parts, alias+"."+quoteIdent(c.Name))
	}
	return "translate(encode(convert_to(json_build_array(" + strings.Join(parts, ", ") + ")::text, 'UTF8'), 'base64'), E'\\n', '')"
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
