package graphql

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/schema"
	"github.com/strata-dev/strata/engine/schemacache"
)

// Mutations compile into steps: statements that run in order, each on
// one table, each answering one row. A root field whose work fits one
// statement (no nested insert, no relationship in what it returns) is
// one step that also builds the field's JSON, and a request of one such
// field runs without an explicit transaction: that is the fast path.
// Otherwise, as Hasura does, the field's steps run in a transaction per
// source (every root field of the request in the same one, so they
// commit or roll back together), values produced by a step flow into
// later ones as parameters (the key of a row inserted through an object
// relationship into the row that references it), and a last step reads
// the mutated rows back from their values, where relationships see what
// the earlier statements wrote.
//
// A step's row is: the field's JSON when the step builds it, the number
// of rows it affected, those rows as the text of an array of the table's
// row type, the permission check guard, then the column values later
// steps read.
const (
	colOutput = iota
	colCount
	colRows
	colGuard
	colExtra
)

// checkMarker is in the error Postgres raises when a row fails a
// permission check (the guard casts a text holding it to int, an error
// that cannot be folded away at plan time and aborts the statement, so
// nothing it wrote survives even without a transaction).
const checkMarker = "strata-permission-check-failed"

const checkFailed = "check constraint of an insert/update permission has failed"

// mstep is one statement of a mutation.
type mstep struct {
	sql string // "" for a step with nothing to do: no rows affected
	// params follow $1 (the session); colRef, rowsRef and countRef are
	// resolved from earlier steps when the step runs.
	params []any
	path   string // errors of the step point here
	// noRow, when set, is the error if the step affects no row (a later
	// step needs a value from it).
	noRow, noRowPath string
}

type colRef struct{ step, col int }

// rowsRef: the rows of these steps, one array literal of their type.
type rowsRef []int

// countRef: the sum of these steps' affected rows.
type countRef []int

// mutField is a root field of a mutation.
type mutField struct {
	key    string
	ns     string // the response key of the namespace it is in, if any
	static []byte
	source string
	steps  []*mstep
	// outputs are the steps whose first column is the field's value;
	// list wraps them in a JSON array (update_many).
	outputs []int
	list    bool
}

// mutator compiles one root field into steps.
type mutator struct {
	root  *compiler
	steps []*mstep
}

// stepCompiler is a compiler for a new statement: its own parameters,
// the operation's coercer and session.
func (m *mutator) stepCompiler() *compiler {
	r := m.root
	return &compiler{coercer: r.coercer, s: r.s, resolved: r.resolved, session: r.session, stringify: r.stringify}
}

func (m *mutator) add(st *mstep) int {
	m.steps = append(m.steps, st)
	return len(m.steps) - 1
}

func stepsFrom(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// compileMutation compiles a mutation root field.
func (c *compiler) mutation(f *schema.Field, args map[string]any, sub ast.SelectionSet, path string) (*mutField, *errAt) {
	m := &mutator{root: c}
	t := f.Table
	mf := &mutField{source: t.Source}
	single := f.Kind == schema.RootInsertOne || f.Kind == schema.RootUpdateByPK || f.Kind == schema.RootDeleteByPK
	flat := m.flatOutput(t, single, sub, path)
	finish := func(levels []int, from int, inline bool) *errAt {
		if inline {
			mf.outputs = append(mf.outputs, levels[0])
			return nil
		}
		rc := m.stepCompiler()
		rowsParam := rc.param(rowsRef(levels))
		countParam := rc.param(countRef(stepsFrom(from, len(m.steps))))
		out, err := rc.mutationOutput(t, single, "unnest("+rowsParam+"::text::"+rowType(t)+"[])", countParam+"::text::int", sub, path)
		if err != nil {
			return err
		}
		// Every parameter is named in FROM: the selection may use neither.
		sql := "SELECT " + out + " FROM (SELECT $1::text, " + rowsParam + "::text, " + countParam + "::text) AS _session"
		mf.outputs = append(mf.outputs, m.add(&mstep{sql: sql, params: rc.params, path: path}))
		return nil
	}
	// outFor is what a step builds when it can build the field's value.
	outFor := func(single bool) *output {
		if !flat {
			return nil
		}
		return &output{t: t, single: single, sub: sub, path: path}
	}
	// done finishes a field of one mutating step.
	done := func(st int, err *errAt) *errAt {
		if err != nil {
			return err
		}
		return finish([]int{st}, st, flat && m.steps[st].sql != "")
	}
	switch f.Kind {
	case schema.RootInsert, schema.RootInsertOne:
		var objs []any
		at := path + ".args.objects"
		if single {
			objs, at = []any{args["object"]}, path+".args.object"
		} else {
			objs, _ = args["objects"].([]any)
		}
		oc, _ := args["on_conflict"].(map[string]any)
		var out *output
		if !hasNested(t, objs) {
			out = outFor(single)
		}
		levels, err := m.insertRows(t, objs, oc, nil, at, path+".args.on_conflict", out, !single)
		if err != nil {
			return nil, err
		}
		if err := finish(levels, 0, out != nil && len(objs) > 0); err != nil {
			return nil, err
		}
	case schema.RootUpdate, schema.RootUpdateByPK:
		if err := done(m.update(t, args, single, outFor(single), path)); err != nil {
			return nil, err
		}
	case schema.RootUpdateMany:
		mf.list = true
		updates, _ := args["updates"].([]any)
		for i, u := range updates {
			ua, _ := u.(map[string]any)
			if err := done(m.update(t, ua, false, outFor(false), fmt.Sprintf("%s.args.updates[%d]", path, i))); err != nil {
				return nil, err
			}
		}
	case schema.RootDelete, schema.RootDeleteByPK:
		if err := done(m.delete(t, args, single, outFor(single), path)); err != nil {
			return nil, err
		}
	default:
		return nil, fail(path, "unsupported mutation field")
	}
	mf.steps = m.steps
	return mf, nil
}

// output is what an inline step builds: the field's value.
type output struct {
	t      *schema.Table
	single bool
	sub    ast.SelectionSet
	path   string
}

// flatOutput reports whether the field's selection reads only the
// mutated rows' own columns, so the statement that mutates can build it.
func (m *mutator) flatOutput(t *schema.Table, single bool, sub ast.SelectionSet, path string) bool {
	c := m.root
	if single {
		return c.flatRow(t, sub, path)
	}
	fields, err := c.collect(sub, t.Derived("_mutation_response"), nil, path)
	if err != nil {
		return false
	}
	for _, cf := range fields {
		if cf.field.Name == "returning" && !c.flatRow(t, cf.sub, path) {
			return false
		}
	}
	return true
}

func (c *compiler) flatRow(t *schema.Table, sub ast.SelectionSet, path string) bool {
	def := c.s.AST.Types[t.TypeName]
	if def == nil {
		return true
	}
	fields, err := c.collect(sub, t.TypeName, def.Interfaces, path)
	if err != nil {
		return false
	}
	for _, cf := range fields {
		if cf.field.Name == "__typename" {
			continue
		}
		m := c.s.Field(t.TypeName, cf.field.Name)
		if m != nil && m.Kind != schema.ColumnField && m.Kind != schema.NodeIDField {
			return false
		}
	}
	return true
}

func rowType(t *schema.Table) string { return tableRef(t.Name.Schema, t.Name.Name) }

func hasNested(t *schema.Table, objs []any) bool {
	for _, o := range objs {
		obj, _ := o.(map[string]any)
		for k, v := range obj {
			if _, ok := t.Insert.Rels[k]; ok && v != nil {
				return true
			}
		}
	}
	return false
}

// mutationOutput is the JSON of the field over the mutated rows (rows: a
// FROM item of the table's row type) and their count.
func (c *compiler) mutationOutput(t *schema.Table, single bool, rows, affected string, sub ast.SelectionSet, path string) (string, *errAt) {
	if single {
		r := c.alias()
		obj, err := c.object(t, r, sub, path)
		if err != nil {
			return "", err
		}
		return "(SELECT " + obj + " FROM " + rows + " AS " + r + " LIMIT 1)", nil
	}
	typeName := t.Derived("_mutation_response")
	def := c.s.AST.Types[typeName]
	fields, err := c.collect(sub, typeName, nil, path)
	if err != nil {
		return "", err
	}
	pairs := make([][2]string, 0, len(fields))
	for _, cf := range fields {
		if cf.field.Name == "__typename" {
			pairs = append(pairs, [2]string{cf.key, quoteLiteral(typeName)})
			continue
		}
		at, _, meaning, _, err := c.resolve(def, cf, path)
		if err != nil {
			return "", err
		}
		switch meaning.Kind {
		case schema.AffectedRowsField:
			if len(cf.sub) > 0 {
				return "", fail(at, "unexpected subselection set for non-object field")
			}
			pairs = append(pairs, [2]string{cf.key, affected})
		case schema.ReturningField:
			if len(cf.sub) == 0 {
				return "", fail(at, "missing selection set for '%s'", t.TypeName)
			}
			r := c.alias()
			obj, err := c.object(t, r, cf.sub, at)
			if err != nil {
				return "", err
			}
			pairs = append(pairs, [2]string{cf.key, "(SELECT coalesce(json_agg(" + obj + "), '[]') FROM " + rows + " AS " + r + ")"})
		}
	}
	return jsonObject(pairs), nil
}

// mutationStep wraps a data-modifying statement (RETURNING the row as
// _row and its check as _ok) into a step's row.
func (c *compiler) mutationStep(dml string, check bool, out *output, extras []string) (string, *errAt) {
	cols := []string{"NULL::json", "count(*)::text", "array_agg(_row)::text", "NULL::text"}
	if out != nil {
		affected := "count(*)"
		rows := "unnest((SELECT array_agg(_row) FROM _m))"
		expr, err := c.mutationOutput(out.t, out.single, rows, affected, out.sub, out.path)
		if err != nil {
			return "", err
		}
		cols[colOutput] = expr
		// The step answers for itself: no later step reads its rows.
		cols[colRows] = "NULL::text"
	}
	if check {
		cols[colGuard] = "CASE WHEN NOT bool_and(coalesce(_ok, false)) THEN (('" + checkMarker + " ' || count(*))::int)::text END"
	}
	for _, col := range extras {
		cols = append(cols, "(array_agg((_row)."+quoteIdent(col)+"::text))[1]")
	}
	return "WITH _m AS (" + dml + ") SELECT " + strings.Join(cols, ", ") + " FROM _m, (SELECT $1::text) AS _session", nil
}

func quotedList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = jsonString(c)
	}
	return strings.Join(q, ", ")
}

// insertRows inserts objects into t. fixed are columns whose values the
// parent insert determines (Postgres column name to a colRef). It
// returns the steps holding the rows of this level. Objects without
// nested inserts go in one statement; with them, one object at a time
// (each needs the keys of the rows it relates to).
func (m *mutator) insertRows(t *schema.Table, objs []any, oc map[string]any, fixed map[string]any, path, ocPath string, out *output, indexed bool) ([]int, *errAt) {
	at := func(i int) string {
		if indexed {
			return fmt.Sprintf("%s[%d]", path, i)
		}
		return path
	}
	if !hasNested(t, objs) {
		rows := make([]map[string]any, len(objs))
		for i, o := range objs {
			rows[i], _ = o.(map[string]any)
			if err := determined(t, rows[i], fixed, at(i)); err != nil {
				return nil, err
			}
		}
		st, err := m.insertStep(t, rows, oc, fixed, nil, path, ocPath, out)
		if err != nil {
			return nil, err
		}
		return []int{st}, nil
	}
	var levels []int
	for i, o := range objs {
		obj, _ := o.(map[string]any)
		st, err := m.insertObject(t, obj, oc, fixed, nil, at(i), ocPath)
		if err != nil {
			return nil, err
		}
		levels = append(levels, st)
	}
	return levels, nil
}

// determined refuses values for columns the parent insert sets.
func determined(t *schema.Table, obj map[string]any, fixed map[string]any, path string) *errAt {
	var clash []string
	for _, c := range t.Insert.Columns {
		if _, given := obj[c.Field]; given {
			if _, ok := fixed[c.Name]; ok {
				clash = append(clash, c.Name)
			}
		}
	}
	if len(clash) > 0 {
		return &errAt{path: path, code: "validation-failed", msg: "cannot insert " + quotedList(clash) + " columns as their values are already being determined by parent insert"}
	}
	return nil
}

// insertObject inserts one object and what it nests: the rows its object
// relationships point to first, then itself, then its array
// relationships' rows. need are columns later steps read from its row.
func (m *mutator) insertObject(t *schema.Table, obj map[string]any, oc map[string]any, fixed map[string]any, need []string, path, ocPath string) (int, *errAt) {
	if err := determined(t, obj, fixed, path); err != nil {
		return 0, err
	}
	own := map[string]any{}
	cols := map[string]any{}
	for k, v := range fixed {
		cols[k] = v
	}
	var arrays []*schema.Relationship
	for _, k := range sortedKeys(obj) {
		r, isRel := t.Insert.Rels[k]
		if !isRel {
			own[k] = obj[k]
			continue
		}
		if obj[k] == nil {
			continue
		}
		if r.Array || r.AfterParent {
			arrays = append(arrays, r)
		}
	}
	for _, k := range sortedKeys(obj) {
		r, isRel := t.Insert.Rels[k]
		if !isRel || r.Array || r.AfterParent || obj[k] == nil {
			continue
		}
		relPath := path + "." + k
		// The relationship determines its local columns: the object, the
		// parent and an earlier relationship may not set them too.
		var clash []string
		for _, on := range r.On {
			_, fixedByOther := cols[on[0]]
			given := false
			if col := columnByName(t, on[0]); col != nil && t.Insert.ByField[col.Field] == col {
				_, given = own[col.Field]
			}
			if fixedByOther || given {
				clash = append(clash, on[0])
			}
		}
		if len(clash) > 0 {
			return 0, &errAt{path: relPath, code: "validation-failed", msg: fmt.Sprintf("cannot insert object relationship %s as %s column values are already determined", jsonString(k), quotedList(clash))}
		}
		in, _ := obj[k].(map[string]any)
		data, _ := in["data"].(map[string]any)
		roc, _ := in["on_conflict"].(map[string]any)
		remote := make([]string, len(r.On))
		for i, on := range r.On {
			remote[i] = on[1]
		}
		st, err := m.insertObject(r.Remote, data, roc, nil, remote, relPath+".data", relPath+".on_conflict")
		if err != nil {
			return 0, err
		}
		m.steps[st].noRow = fmt.Sprintf("cannot proceed to insert object relation %s since insert to table %s affects zero rows", jsonString(k), jsonString(schemacache.DisplayName(r.Remote.Name)))
		m.steps[st].noRowPath = relPath
		for i, on := range r.On {
			cols[on[0]] = colRef{st, colExtra + i}
		}
	}
	for _, r := range arrays {
		for _, on := range r.On {
			need = append(need, on[0])
		}
	}
	st, err := m.insertStep(t, []map[string]any{own}, oc, cols, need, path, ocPath, nil)
	if err != nil {
		return 0, err
	}
	if len(arrays) > 0 {
		m.steps[st].noRow = fmt.Sprintf("cannot proceed to insert array relations since insert to table %s affects zero rows", jsonString(schemacache.DisplayName(t.Name)))
		m.steps[st].noRowPath = path
	}
	extra := map[string]int{}
	for i, n := range need {
		if _, ok := extra[n]; !ok {
			extra[n] = colExtra + i
		}
	}
	for _, r := range arrays {
		in, _ := obj[r.Field].(map[string]any)
		data, _ := in["data"].([]any)
		if one, ok := in["data"].(map[string]any); ok {
			data = []any{one} // an object relationship written after its parent
		}
		roc, _ := in["on_conflict"].(map[string]any)
		childFixed := map[string]any{}
		for _, on := range r.On {
			childFixed[on[1]] = colRef{st, extra[on[0]]}
		}
		relPath := path + "." + r.Field
		if len(data) == 0 {
			continue
		}
		if _, err := m.insertRows(r.Remote, data, roc, childFixed, relPath+".data", relPath+".on_conflict", nil, true); err != nil {
			return 0, err
		}
	}
	return st, nil
}

// insertStep is one INSERT of rows into t.
func (m *mutator) insertStep(t *schema.Table, rows []map[string]any, oc map[string]any, fixed map[string]any, need []string, path, ocPath string, out *output) (int, *errAt) {
	if len(rows) == 0 {
		return m.add(&mstep{path: path}), nil
	}
	c := m.stepCompiler()
	ip := t.Insert
	// Columns in table order: given in any row, preset, or fixed.
	var cols []*schema.Column
	for _, col := range t.AllColumns {
		_, preset := ip.Set[col.Name]
		_, fix := fixed[col.Name]
		given := false
		if ic, ok := ip.ByField[col.Field]; ok && ic == col {
			for _, r := range rows {
				if _, ok := r[col.Field]; ok {
					given = true
					break
				}
			}
		}
		if preset || fix || given {
			cols = append(cols, col)
		}
	}
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = quoteIdent(col.Name)
	}
	var values []string
	for _, r := range rows {
		vals := make([]string, len(cols))
		for i, col := range cols {
			switch {
			case fixed[col.Name] != nil:
				vals[i] = c.param(fixed[col.Name]) + "::text::" + col.SQLType
			case hasKey(ip.Set, col.Name):
				vals[i] = c.value(ip.Set[col.Name], col.SQLType, true)
			default:
				v, ok := r[col.Field]
				if !ok {
					vals[i] = "DEFAULT"
				} else {
					vals[i] = c.value(v, col.SQLType, false)
				}
			}
		}
		values = append(values, "("+strings.Join(vals, ", ")+")")
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + tableRef(t.Name.Schema, t.Name.Name) + " AS _t")
	if len(cols) == 0 {
		// Every column takes its default.
		first := t.Catalog.Columns[0].Name
		b.WriteString(" (" + quoteIdent(first) + ") VALUES ")
		for i := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(DEFAULT)")
		}
	} else {
		b.WriteString(" (" + strings.Join(names, ", ") + ") VALUES " + strings.Join(values, ", "))
	}
	upsert := false
	if oc != nil {
		clause, isUpdate, err := c.onConflict(t, oc, ocPath)
		if err != nil {
			return 0, err
		}
		upsert = isUpdate
		b.WriteString(clause)
	}
	check := ""
	if ip.Check != nil {
		check = c.permExp(t, "_t", ip.Check)
	}
	if upsert && t.Update != nil && t.Update.Check != nil {
		// A row the upsert updated answers to the update permission.
		ins := check
		if ins == "" {
			ins = "true"
		}
		check = "CASE WHEN _t.xmax = 0 THEN " + ins + " ELSE " + c.permExp(t, "_t", t.Update.Check) + " END"
	}
	b.WriteString(" RETURNING _t AS _row")
	if check != "" {
		b.WriteString(", (" + check + ") AS _ok")
	}
	sql, err := c.mutationStep(b.String(), check != "", out, need)
	if err != nil {
		return 0, err
	}
	return m.add(&mstep{sql: sql, params: c.params, path: path}), nil
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// onConflict compiles an on_conflict argument; isUpdate when it updates.
func (c *compiler) onConflict(t *schema.Table, oc map[string]any, path string) (string, bool, *errAt) {
	name, _ := oc["constraint"].(string)
	target := " ON CONFLICT ON CONSTRAINT " + quoteIdent(name)
	fields, _ := oc["update_columns"].([]any)
	if len(fields) == 0 {
		return target + " DO NOTHING", false, nil
	}
	var sets []string
	for _, f := range fields {
		fn, _ := f.(string)
		if t.Update == nil || t.Update.ByField[fn] == nil {
			return "", false, fail(path, "erroneous column name")
		}
		col := t.Update.ByField[fn]
		sets = append(sets, quoteIdent(col.Name)+" = EXCLUDED."+quoteIdent(col.Name))
	}
	for _, k := range sortedKeys(t.Update.Set) {
		col := columnByName(t, k)
		if col == nil {
			continue
		}
		sets = append(sets, quoteIdent(k)+" = "+c.value(t.Update.Set[k], col.SQLType, true))
	}
	var conds []string
	if t.Update.Filter != nil {
		conds = append(conds, c.permExp(t, "_t", t.Update.Filter))
	}
	if w, ok := oc["where"]; ok && w != nil {
		conds = append(conds, c.boolExp(scope{role: t, base: t.Base}, "_t", w))
	}
	clause := target + " DO UPDATE SET " + strings.Join(sets, ", ")
	if len(conds) > 0 {
		clause += " WHERE " + strings.Join(conds, " AND ")
	}
	return clause, true, nil
}

func columnByName(t *schema.Table, name string) *schema.Column {
	for _, c := range t.AllColumns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// rowFilter is the WHERE of an update or delete: the permission's filter
// and the user's where (or the primary key, for the by_pk fields).
func (c *compiler) rowFilter(t *schema.Table, perm any, args map[string]any, byPK bool) string {
	var conds []string
	if perm != nil {
		conds = append(conds, c.permExp(t, "_t", perm))
	}
	if byPK {
		pk := args
		if p, ok := args["pk_columns"].(map[string]any); ok {
			pk = p
		}
		for _, col := range t.PK {
			conds = append(conds, c.columnRef(t, "_t", col)+" = "+c.value(pk[col.Field], col.SQLType, false))
		}
	} else if w, ok := args["where"]; ok && w != nil {
		conds = append(conds, c.boolExp(scope{role: t, base: t.Base}, "_t", w))
	}
	if len(conds) == 0 {
		return "true"
	}
	return strings.Join(conds, " AND ")
}

// updateOperators maps each operator to the SET expression it makes of
// the current value and the given one.
var updateOperators = map[string]func(ref, val string) string{
	"_set":            func(_, v string) string { return v },
	"_inc":            func(r, v string) string { return r + " + " + v },
	"_append":         func(r, v string) string { return r + " || " + v },
	"_prepend":        func(r, v string) string { return v + " || " + r },
	"_delete_key":     func(r, v string) string { return r + " - " + v },
	"_delete_elem":    func(r, v string) string { return r + " - " + v },
	"_delete_at_path": func(r, v string) string { return r + " #- " + v },
}

// operandType is the SQL type of an operator's values.
func operandType(op string, col *schema.Column) string {
	switch op {
	case "_delete_key":
		return "text"
	case "_delete_elem":
		return "int"
	case "_delete_at_path":
		return "text[]"
	}
	return col.SQLType
}

func (m *mutator) update(t *schema.Table, args map[string]any, byPK bool, out *output, path string) (int, *errAt) {
	c := m.stepCompiler()
	up := t.Update
	given := map[string]map[string]any{}
	anyOp := false
	for op := range updateOperators {
		if v, ok := args[op]; ok {
			anyOp = true
			if obj, ok := v.(map[string]any); ok {
				given[op] = obj
			}
		}
	}
	if !anyOp && len(up.Set) == 0 {
		return 0, fail(path+".args", "at least any one of _set, _inc, _prepend, _append, _delete_key, _delete_elem, _delete_at_path is expected")
	}
	var sets, dups []string
	for _, col := range up.Columns {
		var ops []string
		for op, obj := range given {
			if _, ok := obj[col.Field]; ok {
				ops = append(ops, op)
			}
		}
		if len(ops) == 0 {
			continue
		}
		if len(ops) > 1 {
			dups = append(dups, "'"+col.Name+"'")
			continue
		}
		op := ops[0]
		ref := "_t." + quoteIdent(col.Name)
		sets = append(sets, quoteIdent(col.Name)+" = "+updateOperators[op](ref, c.value(given[op][col.Field], operandType(op, col), false)))
	}
	if len(dups) > 0 {
		return 0, fail(path+".args", "Column found in multiple operators: [%s].", strings.Join(dups, ", "))
	}
	if len(sets) == 0 && len(up.Set) == 0 {
		return m.add(&mstep{path: path}), nil
	}
	for _, k := range sortedKeys(up.Set) {
		if col := columnByName(t, k); col != nil {
			sets = append(sets, quoteIdent(k)+" = "+c.value(up.Set[k], col.SQLType, true))
		}
	}
	dml := "UPDATE " + tableRef(t.Name.Schema, t.Name.Name) + " AS _t SET " + strings.Join(sets, ", ") + " WHERE " + c.rowFilter(t, up.Filter, args, byPK) + " RETURNING _t AS _row"
	if up.Check != nil {
		dml += ", (" + c.permExp(t, "_t", up.Check) + ") AS _ok"
	}
	sql, err := c.mutationStep(dml, up.Check != nil, out, nil)
	if err != nil {
		return 0, err
	}
	// Hasura reports a failed update check at the root.
	return m.add(&mstep{sql: sql, params: c.params, path: "$"}), nil
}

func (m *mutator) delete(t *schema.Table, args map[string]any, byPK bool, out *output, path string) (int, *errAt) {
	c := m.stepCompiler()
	dml := "DELETE FROM " + tableRef(t.Name.Schema, t.Name.Name) + " AS _t WHERE " + c.rowFilter(t, t.Delete.Filter, args, byPK) + " RETURNING _t AS _row"
	sql, err := c.mutationStep(dml, false, out, nil)
	if err != nil {
		return 0, err
	}
	return m.add(&mstep{sql: sql, params: c.params, path: "$"}), nil
}

// joinArrays merges Postgres array literals ({a,b} and {c} -> {a,b,c});
// absent (NULL) arrays are skipped.
func joinArrays(arrays []*string) *string {
	var parts []string
	for _, a := range arrays {
		if a == nil || len(*a) < 2 {
			continue
		}
		if inner := (*a)[1 : len(*a)-1]; inner != "" {
			parts = append(parts, inner)
		}
	}
	s := "{" + strings.Join(parts, ",") + "}"
	return &s
}

func sumCounts(counts []*string) string {
	total := 0
	for _, c := range counts {
		if c != nil {
			n, _ := strconv.Atoi(*c)
			total += n
		}
	}
	return strconv.Itoa(total)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// executeMutation runs a mutation's steps and writes {"data": ...}. One
// root field of one step runs as a single statement (atomic by itself);
// anything more runs in a transaction per source, committed only when
// every field succeeded.
func executeMutation(ctx context.Context, m *schema.Model, p *plan, session string, out *bytes.Buffer) *apierr.Error {
	steps := 0
	for _, f := range p.mutation {
		steps += len(f.steps)
	}
	txs := map[string]pgx.Tx{}
	defer func() {
		for _, tx := range txs {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	values := make([][]byte, len(p.mutation))
	for fi, f := range p.mutation {
		if f.static != nil {
			values[fi] = f.static
			continue
		}
		pool, aerr := sourcePool(m, f.source)
		if aerr != nil {
			return aerr
		}
		var q querier = pool
		if steps > 1 {
			tx := txs[f.source]
			if tx == nil {
				var err error
				if tx, err = pool.Begin(ctx); err != nil {
					return dbError(err)
				}
				txs[f.source] = tx
			}
			q = tx
		}
		results := make([][]*string, len(f.steps))
		for si, st := range f.steps {
			if st.sql == "" {
				zero := "0"
				results[si] = []*string{nil, &zero, nil, nil}
				continue
			}
			args := make([]any, 0, len(st.params)+1)
			args = append(args, session)
			for _, prm := range st.params {
				args = append(args, resolveParam(prm, results))
			}
			row, err := queryRow(ctx, q, st.sql, args)
			if err != nil {
				e := dbError(err)
				if strings.Contains(e.Message, checkMarker) {
					e.Code, e.Message = "permission-error", checkFailed
				}
				if e.Status < http.StatusInternalServerError {
					e.Path = st.path
				}
				return e
			}
			results[si] = row
			if st.noRow != "" && (row[colCount] == nil || *row[colCount] == "0") {
				return &apierr.Error{Status: http.StatusBadRequest, Code: "not-supported", Message: st.noRow, Path: st.noRowPath}
			}
		}
		var v bytes.Buffer
		if f.list {
			v.WriteByte('[')
		}
		for i, o := range f.outputs {
			if i > 0 {
				v.WriteByte(',')
			}
			if r := results[o][colOutput]; r != nil {
				v.WriteString(*r)
			} else {
				v.WriteString("null")
			}
		}
		if f.list {
			v.WriteByte(']')
		}
		values[fi] = v.Bytes()
	}
	for src, tx := range txs {
		if err := tx.Commit(ctx); err != nil {
			return dbError(err)
		}
		delete(txs, src)
	}
	writeMutationData(out, p.mutation, values)
	return nil
}

// queryRow runs a step and returns its one row as text.
func queryRow(ctx context.Context, q querier, sql string, args []any) ([]*string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*string
	if rows.Next() {
		for _, raw := range rows.RawValues() {
			if raw == nil {
				out = append(out, nil)
				continue
			}
			s := string(raw)
			out = append(out, &s)
		}
	}
	rows.Close()
	return out, rows.Err()
}

// resolveParam turns a reference to earlier steps into its value.
func resolveParam(p any, results [][]*string) any {
	switch r := p.(type) {
	case colRef:
		if row := results[r.step]; r.col < len(row) && row[r.col] != nil {
			return *row[r.col]
		}
		return nil
	case rowsRef:
		arrays := make([]*string, 0, len(r))
		for _, s := range r {
			if row := results[s]; colRows < len(row) {
				arrays = append(arrays, row[colRows])
			}
		}
		return *joinArrays(arrays)
	case countRef:
		counts := make([]*string, 0, len(r))
		for _, s := range r {
			if row := results[s]; colCount < len(row) {
				counts = append(counts, row[colCount])
			}
		}
		return sumCounts(counts)
	}
	return p
}
