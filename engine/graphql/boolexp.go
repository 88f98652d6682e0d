package graphql

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/schema"
)

// Boolean expressions come from two places with different keys: a
// GraphQL `where` names fields as the role's schema does (custom names,
// only what the role may see, and a relationship brings the remote
// table's own row filter with it), while a permission filter from
// metadata names Postgres columns and relationships of the whole table
// and may compare with session variables. scope hides the difference.
type scope struct {
	role *schema.Table  // GraphQL where; nil for a permission filter
	base *compile.Table // always set
	// computed are the computed fields a permission filter may use.
	computed map[string]*schema.ComputedField
}

// computedField resolves a key to a computed field.
func (s scope) computedField(key string) (*schema.ComputedField, bool) {
	if s.role != nil {
		cf, ok := s.role.Computed[key]
		return cf, ok
	}
	cf, ok := s.computed[key]
	return cf, ok
}

// column resolves a key to a column name and its SQL type.
func (s scope) column(key string) (name, typ string, ok bool) {
	if s.role != nil {
		c, ok := s.role.ByField[key]
		if !ok {
			return "", "", false
		}
		return c.Name, c.SQLType, true
	}
	c, ok := s.base.Catalog.Column(key)
	if !ok {
		return "", "", false
	}
	return c.Name, schema.ColumnSQLType(c), true
}

// rel resolves a key to a relationship: its join pairs and the remote
// scope.
func (s scope) rel(key string) (on [][2]string, remote scope, ok bool) {
	if s.role != nil {
		r, ok := s.role.Rels[key]
		if !ok {
			return nil, scope{}, false
		}
		return r.On, scope{role: r.Remote, base: r.Remote.Base}, true
	}
	r, ok := s.base.Rels[key]
	if !ok {
		return nil, scope{}, false
	}
	return r.On, scope{base: r.Remote}, true
}

// boolExp compiles an expression over the row `alias` of scope s.
func (c *compiler) boolExp(s scope, alias string, v any) string {
	if c.rootAlias == "" {
		// A column comparison may name a column of the row the whole
		// expression is about: ["$", "col"].
		c.rootAlias = alias
		defer func() { c.rootAlias = "" }()
	}
	obj, _ := v.(map[string]any)
	var conds []string
	for _, k := range sortedKeys(obj) {
		val := obj[k]
		switch k {
		case "_and", "$and", "_or", "$or":
			items, ok := val.([]any)
			if !ok {
				items = []any{val}
			}
			if len(items) == 0 {
				if k[1:] == "and" {
					conds = append(conds, "true")
				} else {
					conds = append(conds, "false")
				}
				continue
			}
			parts := make([]string, len(items))
			for i, it := range items {
				parts[i] = "(" + c.boolExp(s, alias, it) + ")"
			}
			conds = append(conds, "("+strings.Join(parts, map[bool]string{true: " AND ", false: " OR "}[k[1:] == "and"])+")")
		case "_not", "$not":
			conds = append(conds, "NOT ("+c.boolExp(s, alias, val)+")")
		case "_exists", "$exists":
			conds = append(conds, c.exists(val))
		default:
			conds = append(conds, c.fieldExp(s, alias, k, val))
		}
	}
	if len(conds) == 0 {
		return "true"
	}
	return strings.Join(conds, " AND ")
}

// exists is a permission's _exists: {_table, _where} over any table of
// the source, unrelated to the row.
func (c *compiler) exists(v any) string {
	obj, _ := v.(map[string]any)
	raw, _ := json.Marshal(obj["_table"])
	var q struct{ Schema, Name string }
	var name string
	if json.Unmarshal(raw, &name) == nil {
		q.Schema, q.Name = "public", name
	} else {
		_ = json.Unmarshal(raw, &q)
	}
	if c.resolved == nil {
		return "false"
	}
	for qn, t := range c.resolved.Tables {
		if qn.Schema == q.Schema && qn.Name == q.Name {
			a := c.alias()
			return "EXISTS (SELECT 1 FROM " + tableRef(t.Name.Schema, t.Name.Name) + " AS " + a + " WHERE " + c.boolExp(scope{base: t}, a, obj["_where"]) + ")"
		}
	}
	return "false"
}

func (c *compiler) fieldExp(s scope, alias, key string, val any) string {
	if on, remote, ok := s.rel(key); ok {
		a := c.alias()
		conds := joinConds(alias, a, on)
		if remote.role != nil && remote.role.Filter != nil {
			conds = append(conds, c.permFilter(remote.role, a))
		}
		conds = append(conds, c.boolExp(remote, a, val))
		return "EXISTS (SELECT 1 FROM " + tableRef(remote.base.Name.Schema, remote.base.Name.Name) + " AS " + a + " WHERE " + strings.Join(conds, " AND ") + ")"
	}
	if cf, ok := s.computedField(key); ok {
		if cf.Function.Returns == nil {
			ref := c.computedCall(cf, alias, nil)
			if s.role != nil {
				ref = c.computedScalar(s.role, cf, alias, nil)
			}
			return c.comparisons(ref, cf.ReturnSQL, val, s.role == nil)
		}
		remote := cf.Function.Returns
		a := c.alias()
		inner := scope{base: remote.Base, computed: remote.AllComputed}
		var conds []string
		if s.role != nil {
			inner = scope{role: remote, base: remote.Base}
			if remote.Filter != nil {
				conds = append(conds, c.permFilter(remote, a))
			}
		}
		conds = append(conds, c.boolExp(inner, a, val))
		return "EXISTS (SELECT 1 FROM " + c.computedCall(cf, alias, nil) + " AS " + a + " WHERE " + strings.Join(conds, " AND ") + ")"
	}
	name, typ, ok := s.column(key)
	if !ok {
		return "false"
	}
	ref := alias + "." + quoteIdent(name)
	if s.role != nil {
		ref = c.columnRef(s.role, alias, s.role.ByField[key])
	}
	return c.comparisons(ref, typ, val, s.role == nil)
}

func joinConds(outer, inner string, on [][2]string) []string {
	conds := make([]string, 0, len(on)+2)
	for _, p := range on {
		conds = append(conds, outer+"."+quoteIdent(p[0])+" = "+inner+"."+quoteIdent(p[1]))
	}
	return conds
}

// permFilter is a role's row filter on a table, over alias.
func (c *compiler) permFilter(t *schema.Table, alias string) string {
	return c.permExp(t, alias, t.Filter)
}

// permExp is a permission's boolean expression (a filter or a check, from
// metadata: Postgres names, session variables) on a row of t; nil is true.
func (c *compiler) permExp(t *schema.Table, alias string, exp any) string {
	if exp == nil {
		return "true"
	}
	return c.boolExp(scope{base: t.Base, computed: t.AllComputed}, alias, exp)
}

var simpleOps = map[string]string{
	"eq": "=", "neq": "<>", "ne": "<>", "gt": ">", "lt": "<", "gte": ">=", "lte": "<=",
	"like": "LIKE", "nlike": "NOT LIKE", "ilike": "ILIKE", "nilike": "NOT ILIKE",
	"similar": "SIMILAR TO", "nsimilar": "NOT SIMILAR TO",
	"regex": "~", "nregex": "!~", "iregex": "~*", "niregex": "!~*",
	"contains": "@>", "contained_in": "<@",
}

var columnOps = map[string]string{"ceq": "=", "cne": "<>", "cneq": "<>", "cgt": ">", "clt": "<", "cgte": ">=", "clte": "<="}

var geoFuncs = map[string]string{
	"st_contains": "ST_Contains", "st_crosses": "ST_Crosses", "st_equals": "ST_Equals",
	"st_intersects": "ST_Intersects", "st_overlaps": "ST_Overlaps", "st_touches": "ST_Touches",
	"st_within": "ST_Within", "st_3d_intersects": "ST_3DIntersects",
}

// comparisons compiles {op: value, ...} on ref (of SQL type typ); a bare
// value means equality (the v1 permission syntax).
func (c *compiler) comparisons(ref, typ string, val any, perm bool) string {
	ops, isObj := val.(map[string]any)
	if !isObj || (typ == "jsonb" || typ == "json") && !hasOperatorKeys(ops) {
		return ref + " = " + c.value(val, typ, perm)
	}
	var conds []string
	for _, k := range sortedKeys(ops) {
		v := ops[k]
		op := strings.TrimLeft(k, "_$")
		switch {
		case op == "is_null":
			if b, _ := v.(bool); b {
				conds = append(conds, ref+" IS NULL")
			} else {
				conds = append(conds, ref+" IS NOT NULL")
			}
		case op == "in" || op == "nin":
			conds = append(conds, c.in(ref, typ, v, op == "nin", perm))
		case op == "has_key":
			conds = append(conds, ref+" ? "+c.value(v, "text", perm))
		case op == "has_keys_any" || op == "has_keys_all":
			sym := map[bool]string{true: " ?| ", false: " ?& "}[op == "has_keys_any"]
			conds = append(conds, ref+sym+c.value(v, "text[]", perm))
		case op == "cast":
			m, _ := v.(map[string]any)
			for _, target := range sortedKeys(m) {
				if target == "String" {
					conds = append(conds, c.comparisons(ref+"::text", "text", m[target], perm))
				}
			}
		case op == "st_d_within" || op == "st_3d_d_within":
			m, _ := v.(map[string]any)
			fn := map[bool]string{true: "ST_DWithin", false: "ST_3DDWithin"}[op == "st_d_within"]
			args := ref + ", " + c.value(m["from"], typ, perm) + ", " + c.value(m["distance"], "float8", perm)
			if typ == "geography" {
				sph := m["use_spheroid"]
				if sph == nil {
					sph = true
				}
				args += ", " + c.value(sph, "boolean", perm)
			}
			conds = append(conds, fn+"("+args+")")
		case geoFuncs[op] != "":
			conds = append(conds, geoFuncs[op]+"("+ref+", "+c.value(v, typ, perm)+")")
		case columnOps[op] != "":
			prefix := ref[:strings.LastIndex(ref, ".")+1]
			other, _ := v.(string)
			if path, ok := v.([]any); ok && len(path) == 2 && path[0] == "$" {
				other, _ = path[1].(string)
				prefix = c.rootAlias + "."
			}
			conds = append(conds, ref+" "+columnOps[op]+" "+prefix+quoteIdent(other))
		case simpleOps[op] != "":
			t := typ
			if op == "like" || op == "nlike" || op == "ilike" || op == "nilike" || op == "similar" || op == "nsimilar" || strings.Contains(op, "regex") {
				if t != "citext" && t != "bpchar" {
					t = "text"
				}
			}
			conds = append(conds, ref+" "+simpleOps[op]+" "+c.value(v, t, perm))
		default:
			conds = append(conds, "false")
		}
	}
	if len(conds) == 0 {
		return "true"
	}
	return strings.Join(conds, " AND ")
}

func hasOperatorKeys(m map[string]any) bool {
	for k := range m {
		if strings.HasPrefix(k, "_") || strings.HasPrefix(k, "$") {
			return true
		}
	}
	return len(m) == 0
}

// sortedKeys: keys are visited in order so equal inputs give equal SQL.
func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// in is `_in`/`_nin`: one array parameter, so lists of any length share
// a plan; session variables in the list (permissions) go one by one.
func (c *compiler) in(ref, typ string, v any, negate, perm bool) string {
	if s, ok := v.(string); ok && perm && isSessionVar(s) {
		// A session variable holding a Postgres array literal: {a,b}.
		cond := ref + " = ANY(" + c.value(s, typ+"[]", perm) + ")"
		if negate {
			return "NOT (" + cond + ")"
		}
		return cond
	}
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var cond string
	switch {
	case len(items) == 0:
		cond = "false"
	case perm && anySessionVar(items) || typ == "json" || typ == "jsonb" || strings.HasSuffix(typ, "[]") || isGeo(typ):
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = c.value(it, typ, perm)
		}
		cond = ref + " IN (" + strings.Join(parts, ", ") + ")"
	default:
		texts := make([]*string, len(items))
		for i, it := range items {
			texts[i] = scalarText(it)
		}
		cond = ref + " = ANY(" + c.param(texts) + "::text[]::" + typ + "[])"
	}
	if negate {
		return "NOT (" + cond + ")"
	}
	return cond
}

func anySessionVar(items []any) bool {
	for _, it := range items {
		if s, ok := it.(string); ok && isSessionVar(s) {
			return true
		}
	}
	return false
}

func isSessionVar(s string) bool {
	return len(s) >= 9 && strings.EqualFold(s[:9], "x-hasura-")
}

func isGeo(typ string) bool { return typ == "geometry" || typ == "geography" }
