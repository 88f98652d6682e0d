package compile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/metadata"
)

// V1Update compiles the v1 update for admins: $set, $inc, $mul and
// $default over the rows matching where (required, as in Hasura), with
// {"affected_rows", "returning"} built by Postgres.
func V1Update(s *Schema, args json.RawMessage) (*Statement, error) {
	return V1UpdateFor(s, args, nil)
}

// V1UpdateFor compiles the v1 update under a role's update permission p
// (nil: the admin's): only its columns, never its presets (which are
// set instead), only rows of its filter, and the new rows must pass its
// check.
func V1UpdateFor(s *Schema, args json.RawMessage, p *Perm) (*Statement, error) {
	a, t, err := mutationArgs(s, args, "$.args.table")
	if err != nil {
		return nil, err
	}
	q := &query{}
	alias := q.alias()
	var sets []string
	for _, op := range []string{"set", "inc", "mul"} {
		raw, ok := first(a, "$"+op, "_"+op)
		if !ok && op == "set" {
			raw, ok = a["values"] // Hasura's older name of $set
		}
		if !ok || isNull(raw) {
			continue
		}
		var cols map[string]json.RawMessage
		if err := json.Unmarshal(raw, &cols); err != nil {
			return nil, badExp("$.args.$"+op, "expected Object, but encountered %s", aeson.Kind(raw))
		}
		for _, name := range sortedKeys(cols) {
			if err := p.updatable(name, "$.args"+pathKey("$"+op)); err != nil {
				return nil, err
			}
			c, ok := t.Catalog.Column(name)
			if !ok {
				return nil, noColumn("$.args.$"+op+"."+name, name)
			}
			value := q.param(scalarText(cols[name], c.Type)) + "::text::" + c.Type
			switch op {
			case "inc":
				value = columnRef(alias, name) + " + " + value
			case "mul":
				value = columnRef(alias, name) + " * " + value
			}
			sets = append(sets, ident(name)+" = "+value)
		}
	}
	if raw, ok := first(a, "$default", "_default"); ok && !isNull(raw) {
		var cols []string
		if err := json.Unmarshal(raw, &cols); err != nil {
			return nil, badExp("$.args.$default", "expected Array, but encountered %s", aeson.Kind(raw))
		}
		for i, name := range cols {
			if err := p.updatable(name, "$.args"+pathKey("$default")); err != nil {
				return nil, err
			}
			if _, ok := t.Catalog.Column(name); !ok {
				return nil, noColumn(fmt.Sprintf("$.args.$default[%d]", i), name)
			}
			sets = append(sets, ident(name)+" = DEFAULT")
		}
	}
	if err := checkReturning(p, a["returning"]); err != nil {
		return nil, err
	}
	returning, err := returningList(t, alias, a["returning"])
	if err != nil {
		return nil, err
	}
	presets, err := q.presetSets(t, p)
	if err != nil {
		return nil, err
	}
	sets = append(presets, sets...)
	if len(sets) == 0 {
		return nil, &apierr.Error{Status: http.StatusBadRequest, Code: codeUnexpectedPayload, Message: "atleast one of $set, $inc, $mul has to be present", Path: "$.args"}
	}
	cond, err := q.rowsOf(t, alias, a["where"], p)
	if err != nil {
		return nil, err
	}
	var check string
	if p != nil {
		if check, err = q.permCondition(t, alias, p.Check); err != nil {
			return nil, err
		}
	}
	sql := "UPDATE " + tableRef(t) + " AS " + alias + " SET " + strings.Join(sets, ", ") + " WHERE " + cond
	return mutationResult(sql, returning, check, q), nil
}

// updatable refuses a column the role may not update: one its
// permission presets, or one outside its columns. The admin (nil) may
// update any column.
func (p *Perm) updatable(column, path string) error {
	if p == nil {
		return nil
	}
	if _, preset := p.Presets[column]; preset {
		return &apierr.Error{Status: http.StatusBadRequest, Code: apierr.CodeNotSupported, Path: path,
			Message: fmt.Sprintf("column %q is not updatable for role %q; its value is predefined in permission", column, p.Role)}
	}
	if !p.Columns[column] {
		return p.denied("update", column, path)
	}
	return nil
}

// presetSets are the SET items of a permission's presets, in column
// order.
func (q *query) presetSets(t *Table, p *Perm) ([]string, error) {
	if p == nil {
		return nil, nil
	}
	var sets []string
	for _, name := range sortedKeys(p.Presets) {
		c, ok := t.Catalog.Column(name)
		if !ok {
			return nil, noColumn("$.args", name)
		}
		sets = append(sets, ident(name)+" = "+q.param(scalarText(p.Presets[name], c.Type))+"::text::"+c.Type)
	}
	return sets, nil
}

// rowsOf is the condition on the rows an update or delete changes: the
// request's where, ANDed with the permission's filter.
func (q *query) rowsOf(t *Table, alias string, where json.RawMessage, p *Perm) (string, error) {
	cond, err := q.boolExp(t, alias, where, "$.args.where")
	if err != nil {
		return "", err
	}
	if p == nil {
		return cond, nil
	}
	filter, err := q.permCondition(t, alias, p.Filter)
	if err != nil || filter == "" {
		return cond, err
	}
	return "(" + cond + ") AND (" + filter + ")", nil
}

// V1Delete compiles the v1 delete for admins.
func V1Delete(s *Schema, args json.RawMessage) (*Statement, error) {
	return V1DeleteFor(s, args, nil)
}

// V1DeleteFor compiles the v1 delete under a role's delete permission p
// (nil: the admin's): only rows of its filter.
func V1DeleteFor(s *Schema, args json.RawMessage, p *Perm) (*Statement, error) {
	// Hasura looks a delete's table up without a path of its own.
	a, t, err := mutationArgs(s, args, "$.args")
	if err != nil {
		return nil, err
	}
	q := &query{}
	alias := q.alias()
	if err := checkReturning(p, a["returning"]); err != nil {
		return nil, err
	}
	returning, err := returningList(t, alias, a["returning"])
	if err != nil {
		return nil, err
	}
	cond, err := q.rowsOf(t, alias, a["where"], p)
	if err != nil {
		return nil, err
	}
	return mutationResult("DELETE FROM "+tableRef(t)+" AS "+alias+" WHERE "+cond, returning, "", q), nil
}

// mutationArgs reads an update's or delete's arguments: a where, which
// Hasura requires (reporting its absence at "$", while parsing), and the
// tracked table (not found: an error at tablePath).
func mutationArgs(s *Schema, args json.RawMessage, tablePath string) (map[string]json.RawMessage, *Table, error) {
	var a map[string]json.RawMessage
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, nil, badExp("$.args", "%s", err.Error())
	}
	var name metadata.QualifiedName
	if err := json.Unmarshal(a["table"], &name); err != nil {
		return nil, nil, badExp("$.args.table", "%s", err.Error())
	}
	if _, ok := a["where"]; !ok {
		return nil, nil, badExp("$", `key "where" not found`)
	}
	t, ok := s.Tables[name]
	if !ok {
		e := notTracked(name).(*apierr.Error)
		e.Path = tablePath
		return nil, nil, e
	}
	return a, t, nil
}

// returningList is the json_build_object of the returning columns ("" for
// none), values written as the v1 API writes them.
func returningList(t *Table, alias string, raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var cols []string
	if err := json.Unmarshal(raw, &cols); err != nil {
		return "", badExp("$.args.returning", "expected Array, but encountered %s", aeson.Kind(raw))
	}
	fields := make([]string, 0, 2*len(cols))
	for _, name := range cols {
		c, ok := t.Catalog.Column(name)
		if !ok {
			return "", noColumn("$.args.returning", name)
		}
		fields = append(fields, quoteLiteral(name), v1Value(alias, c))
	}
	return "json_build_object(" + strings.Join(fields, ", ") + ")", nil
}

func first(m map[string]json.RawMessage, keys ...string) (json.RawMessage, bool) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v, true
		}
	}
	return nil, false
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
