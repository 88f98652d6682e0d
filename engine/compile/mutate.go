package compile

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/metadata"
)

// V1Update compiles the v1 update for admins: $set, $inc, $mul and
// $default over the rows matching where (required, as in Hasura), with
// {"affected_rows", "returning"} built by Postgres.
func V1Update(s *Schema, args json.RawMessage) (*Statement, error) {
	a, t, err := mutationArgs(s, args)
	if err != nil {
		return nil, err
	}
	q := &query{}
	alias := q.alias()
	var sets []string
	for _, op := range []string{"set", "inc", "mul"} {
		raw, ok := first(a, "$"+op, "_"+op)
		if !ok {
			continue
		}
		var cols map[string]json.RawMessage
		if err := json.Unmarshal(raw, &cols); err != nil {
			return nil, badExp("$.args.$"+op, "expected Object, but encountered %s", aeson.Kind(raw))
		}
		for _, name := range sortedKeys(cols) {
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
	if raw, ok := first(a, "$default", "_default"); ok {
		var cols []string
		if err := json.Unmarshal(raw, &cols); err != nil {
			return nil, badExp("$.args.$default", "expected Array, but encountered %s", aeson.Kind(raw))
		}
		for i, name := range cols {
			if _, ok := t.Catalog.Column(name); !ok {
				return nil, noColumn(fmt.Sprintf("$.args.$default[%d]", i), name)
			}
			sets = append(sets, ident(name)+" = DEFAULT")
		}
	}
	if len(sets) == 0 {
		return nil, badExp("$.args", "atleast one of $set, $inc, $mul or $default is expected")
	}
	cond, err := q.boolExp(t, alias, a["where"], "$.args.where")
	if err != nil {
		return nil, err
	}
	returning, err := returningList(t, alias, a["returning"])
	if err != nil {
		return nil, err
	}
	sql := "UPDATE " + tableRef(t) + " AS " + alias + " SET " + strings.Join(sets, ", ") + " WHERE " + cond
	return mutationResult(sql, returning, q), nil
}

// V1Delete compiles the v1 delete for admins.
func V1Delete(s *Schema, args json.RawMessage) (*Statement, error) {
	a, t, err := mutationArgs(s, args)
	if err != nil {
		return nil, err
	}
	q := &query{}
	alias := q.alias()
	cond, err := q.boolExp(t, alias, a["where"], "$.args.where")
	if err != nil {
		return nil, err
	}
	returning, err := returningList(t, alias, a["returning"])
	if err != nil {
		return nil, err
	}
	return mutationResult("DELETE FROM "+tableRef(t)+" AS "+alias+" WHERE "+cond, returning, q), nil
}

// mutationArgs reads an update's or delete's arguments: the tracked table
// and a where, which Hasura requires (reporting its absence at "$").
func mutationArgs(s *Schema, args json.RawMessage) (map[string]json.RawMessage, *Table, error) {
	var a map[string]json.RawMessage
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, nil, badExp("$.args", "%s", err.Error())
	}
	var name metadata.QualifiedName
	if err := json.Unmarshal(a["table"], &name); err != nil {
		return nil, nil, badExp("$.args.table", "%s", err.Error())
	}
	t, ok := s.Tables[name]
	if !ok {
		return nil, nil, notTracked(name)
	}
	if _, ok := a["where"]; !ok {
		return nil, nil, badExp("$", `key "where" not found`)
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
	for i, name := range cols {
		c, ok := t.Catalog.Column(name)
		if !ok {
			return "", noColumn(fmt.Sprintf("$.args.returning[%d]", i), name)
		}
		fields = append(fields, quoteLiteral(name), v1Value(alias, c))
	}
	return "json_build_object(" + strings.Join(fields, ", ") + ")", nil
}

// mutationResult wraps a data-modifying statement so Postgres answers
// {"affected_rows": n[, "returning": [...]]}.
func mutationResult(stmt, returning string, q *query) *Statement {
	if returning == "" {
		return &Statement{SQL: "WITH m AS (" + stmt + " RETURNING 1) SELECT json_build_object('affected_rows', count(*)) FROM m", Params: q.params}
	}
	return &Statement{SQL: "WITH m AS (" + stmt + " RETURNING " + returning + " AS r) SELECT json_build_object('affected_rows', count(*), 'returning', coalesce(json_agg(r), '[]')) FROM m", Params: q.params}
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
