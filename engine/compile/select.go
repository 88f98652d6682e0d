package compile

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

// Statement is one SQL statement and its parameters; it returns one row
// with one JSON column, the response body.
type Statement struct {
	SQL    string
	Params []any
}

// selectArgs are the v1 select's arguments (also a nested relationship's).
type selectArgs struct {
	Table   metadata.QualifiedName `json:"table"`
	Columns json.RawMessage        `json:"columns"`
	Where   json.RawMessage        `json:"where"`
	OrderBy json.RawMessage        `json:"order_by"`
	Limit   *int64                 `json:"limit"`
	Offset  *int64                 `json:"offset"`
}

// V1Select compiles the v1 data API's select, for the admin role: the rows
// of a table (columns, nested relationships, where, order_by, limit,
// offset) as a JSON array built by Postgres.
func V1Select(s *Schema, args json.RawMessage) (*Statement, error) {
	var a selectArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, badExp("$.args", "%s", err.Error())
	}
	t, ok := s.Tables[a.Table]
	if !ok {
		return nil, notTracked(a.Table)
	}
	q := &query{}
	sql, err := q.selectRows(t, a, "$.args", nil)
	if err != nil {
		return nil, err
	}
	return &Statement{SQL: "SELECT " + sql, Params: q.params}, nil
}

// selectRows is the expression for a JSON array of t's rows matching a;
// join, when set, ties the rows to a parent (a relationship).
func (q *query) selectRows(t *Table, a selectArgs, path string, join func(alias string) string) (string, error) {
	alias := q.alias()
	obj, err := q.rowObject(t, alias, a.Columns, path+".columns")
	if err != nil {
		return "", err
	}
	var where []string
	if join != nil {
		where = append(where, join(alias))
	}
	if !isNull(a.Where) {
		cond, err := q.boolExp(t, alias, a.Where, path+".where")
		if err != nil {
			return "", err
		}
		where = append(where, cond)
	}
	var b strings.Builder
	b.WriteString("SELECT " + obj + " AS j FROM " + tableRef(t) + " AS " + alias)
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	order, err := orderBy(t, alias, a.OrderBy, path+".order_by")
	if err != nil {
		return "", err
	}
	b.WriteString(order)
	if a.Limit != nil {
		b.WriteString(" LIMIT " + strconv.FormatInt(*a.Limit, 10))
	}
	if a.Offset != nil {
		b.WriteString(" OFFSET " + strconv.FormatInt(*a.Offset, 10))
	}
	rows := q.alias()
	return "coalesce(json_agg(" + rows + ".j), '[]') FROM (" + b.String() + ") AS " + rows, nil
}

// rowObject builds json_build_object over the selected columns: names,
// "*" for all, or {name, columns, where, ...} for a relationship.
func (q *query) rowObject(t *Table, alias string, raw json.RawMessage, path string) (string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return "", badExp(path, "expected Array, but encountered %s", aeson.Kind(raw))
	}
	var fields []string
	add := func(name, expr string) { fields = append(fields, quoteLiteral(name), expr) }
	for i, it := range items {
		at := fmt.Sprintf("%s[%d]", path, i)
		var name string
		if json.Unmarshal(it, &name) == nil {
			if name == "*" {
				for _, c := range t.Catalog.Columns {
					add(c.Name, v1Value(alias, c))
				}
				continue
			}
			c, ok := t.Catalog.Column(name)
			if !ok {
				return "", noColumn(at, name)
			}
			add(name, v1Value(alias, c))
			continue
		}
		var sub struct {
			selectArgs
			Name  string `json:"name"`
			Alias string `json:"alias"`
		}
		if err := json.Unmarshal(it, &sub); err != nil || sub.Name == "" {
			return "", badExp(at, "expected a column name or a relationship object")
		}
		rel, ok := t.Rels[sub.Name]
		if !ok {
			return "", noColumn(at, sub.Name)
		}
		join := func(inner string) string {
			conds := make([]string, len(rel.On))
			for k, on := range rel.On {
				conds[k] = columnRef(alias, on[0]) + " = " + columnRef(inner, on[1])
			}
			return strings.Join(conds, " AND ")
		}
		arr, err := q.selectRows(rel.Remote, sub.selectArgs, at, join)
		if err != nil {
			return "", err
		}
		key := sub.Name
		if sub.Alias != "" {
			key = sub.Alias
		}
		if rel.Array {
			add(key, "(SELECT "+arr+")")
		} else {
			add(key, "(SELECT "+arr+")->0")
		}
	}
	return "json_build_object(" + strings.Join(fields, ", ") + ")", nil
}

// v1Value is a column as the v1 API writes it: numbers JSON cannot carry
// exactly (bigint, numeric, double precision, money) as strings, as
// Hasura's v1 select does.
func v1Value(alias string, c *catalog.Column) string {
	ref := columnRef(alias, c.Name)
	if c.TypeName.Schema == "pg_catalog" && !c.IsArray {
		switch c.TypeName.Name {
		case "int8", "numeric", "float8", "money":
			return ref + "::text"
		}
	}
	return ref
}

// orderBy reads v1's order_by: "col", "+col", "-col", or objects
// {column, type: asc|desc, nulls: first|last}.
func orderBy(t *Table, alias string, raw json.RawMessage, path string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var items []json.RawMessage
	if aeson.Kind(raw) != "Array" {
		items = []json.RawMessage{raw}
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return "", badExp(path, "%s", err.Error())
	}
	parts := make([]string, 0, len(items))
	for i, it := range items {
		at := fmt.Sprintf("%s[%d]", path, i)
		var col, dir, nulls string
		var s string
		if json.Unmarshal(it, &s) == nil {
			dir = "ASC"
			switch {
			case strings.HasPrefix(s, "+"):
				s = s[1:]
			case strings.HasPrefix(s, "-"):
				s, dir = s[1:], "DESC"
			}
			col = s
		} else {
			var o struct{ Column, Type, Nulls string }
			if err := json.Unmarshal(it, &o); err != nil || o.Column == "" {
				return "", badExp(at, "expected a column or {column, type, nulls}")
			}
			col, dir = o.Column, strings.ToUpper(o.Type)
			if dir == "" {
				dir = "ASC"
			}
			if dir != "ASC" && dir != "DESC" {
				return "", badExp(at+".type", "expected asc or desc, encountered %q", o.Type)
			}
			switch strings.ToLower(o.Nulls) {
			case "":
			case "first":
				nulls = " NULLS FIRST"
			case "last":
				nulls = " NULLS LAST"
			default:
				return "", badExp(at+".nulls", "expected first or last, encountered %q", o.Nulls)
			}
		}
		if _, ok := t.Catalog.Column(col); !ok {
			return "", noColumn(at, col)
		}
		parts = append(parts, columnRef(alias, col)+" "+dir+nulls)
	}
	return " ORDER BY " + strings.Join(parts, ", "), nil
}

// V1Count compiles the v1 count: {"count": n}, over distinct columns when
// asked.
func V1Count(s *Schema, args json.RawMessage) (*Statement, error) {
	var a struct {
		Table    metadata.QualifiedName `json:"table"`
		Where    json.RawMessage        `json:"where"`
		Distinct []string               `json:"distinct"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, badExp("$.args", "%s", err.Error())
	}
	t, ok := s.Tables[a.Table]
	if !ok {
		return nil, notTracked(a.Table)
	}
	q := &query{}
	alias := q.alias()
	count := "count(*)"
	if len(a.Distinct) > 0 {
		refs := make([]string, len(a.Distinct))
		for i, c := range a.Distinct {
			if _, ok := t.Catalog.Column(c); !ok {
				return nil, noColumn(fmt.Sprintf("$.args.distinct[%d]", i), c)
			}
			refs[i] = columnRef(alias, c)
		}
		count = "count(DISTINCT (" + strings.Join(refs, ", ") + "))"
	}
	sql := "SELECT json_build_object('count', " + count + ") FROM " + tableRef(t) + " AS " + alias
	if !isNull(a.Where) {
		cond, err := q.boolExp(t, alias, a.Where, "$.args.where")
		if err != nil {
			return nil, err
		}
		sql += " WHERE " + cond
	}
	return &Statement{SQL: sql, Params: q.params}, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func isNull(b json.RawMessage) bool {
	s := strings.TrimSpace(string(b))
	return s == "" || s == "null"
}

func notTracked(q metadata.QualifiedName) error {
	name := q.Name
	if q.Schema != "public" {
		name = q.Schema + "." + q.Name
	}
	e := badExp("$.args.table", "table %q does not exist", name)
	e.Code = "not-exists"
	return e
}
