package schema

// A role's select permission on a table, resolved: the metadata's own, or
// an inherited role's, derived from its parents' as Hasura derives it
// (CombinedSelPermInfo and combinedSelPermInfoToSelPermInfo in
// Hasura.Table.Cache):
//
//   - rows: those any parent's filter lets through (an OR);
//   - columns and scalar computed fields: the union; a field some parent
//     lacks, or that a parent itself only shows on some rows, is "redacted":
//     its value is null on a row unless one of the parents that has it
//     lets the row through (Hasura compiles CASE WHEN <that> THEN col
//     ELSE NULL END), and the schema shows it nullable;
//   - limit: the largest of the parents' limits (a parent without one does
//     not lift it);
//   - aggregations: if any parent allows them;
//   - query_root_fields and subscription_root_fields: the union, all when
//     a parent does not narrow them.

import (
	"slices"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

type selectPerm struct {
	// columns maps the columns the role may select (Postgres names) to
	// their redaction: nil when the value shows on every row the role
	// sees, else the boolean expression (metadata form) a row must meet
	// for it to show. computed does the same for computed fields.
	columns  map[string]any
	computed map[string]any
	// filter is the row filter, decoded; nil means every row.
	filter   any
	limit    *int64
	allowAgg bool
	// queryRootFields and subscriptionRootFields: nil allows every kind.
	queryRootFields, subscriptionRootFields []string
}

// computedField says whether the permission lists a computed field, and
// its redaction; nil (admin) lists none.
func (p *selectPerm) computedField(name string) (redact any, listed bool) {
	if p == nil {
		return nil, false
	}
	redact, listed = p.computed[name]
	return redact, listed
}

// ownSelectPerm resolves a select permission of the metadata against the
// table's columns.
func ownSelectPerm(p *metadata.SelectPermission, cat *catalog.Table) *selectPerm {
	sp := &selectPerm{
		columns:                map[string]any{},
		computed:               map[string]any{},
		filter:                 boolFilter(p.Filter),
		limit:                  p.Limit,
		allowAgg:               p.AllowAggregations,
		queryRootFields:        p.QueryRootFields,
		subscriptionRootFields: p.SubscriptionRootFields,
	}
	allowed := columnSet(p.Columns, cat)
	for _, c := range cat.Columns {
		if allowed(c.Name) {
			sp.columns[c.Name] = nil
		}
	}
	for _, name := range p.ComputedFields {
		sp.computed[name] = nil
	}
	return sp
}

// combineSelectPerms derives an inherited role's select permission from
// its parents' (those that have one); nil when none has.
func combineSelectPerms(parents []*selectPerm) *selectPerm {
	if len(parents) == 0 {
		return nil
	}
	sp := &selectPerm{
		columns:  combineFields(parents, func(p *selectPerm) map[string]any { return p.columns }),
		computed: combineFields(parents, func(p *selectPerm) map[string]any { return p.computed }),
	}
	filters := make([]any, 0, len(parents))
	everyRow := false
	for _, p := range parents {
		if p.filter == nil {
			everyRow = true
		}
		filters = append(filters, p.filter)
		if p.limit != nil && (sp.limit == nil || *p.limit > *sp.limit) {
			sp.limit = p.limit
		}
		sp.allowAgg = sp.allowAgg || p.allowAgg
	}
	if !everyRow {
		sp.filter = orExp(filters)
	}
	sp.queryRootFields = unionRootFields(parents, func(p *selectPerm) []string { return p.queryRootFields })
	sp.subscriptionRootFields = unionRootFields(parents, func(p *selectPerm) []string { return p.subscriptionRootFields })
	return sp
}

// combineFields unions the parents' columns (or computed fields). A field
// every parent has, unredacted, stays unredacted; any other shows where a
// parent that has it would show it: its filter, and its own redaction.
func combineFields(parents []*selectPerm, fields func(*selectPerm) map[string]any) map[string]any {
	out := map[string]any{}
	var names []string
	for _, p := range parents {
		for name := range fields(p) {
			if _, seen := out[name]; !seen {
				out[name] = nil
				names = append(names, name)
			}
		}
	}
	for _, name := range names {
		var terms []any
		redacted := false
		for _, p := range parents {
			redact, ok := fields(p)[name]
			if !ok {
				redacted = true
				continue
			}
			if redact != nil {
				redacted = true
			}
			terms = append(terms, andExp(redact, p.filter))
		}
		if redacted {
			out[name] = orExp(terms)
		}
	}
	return out
}

// unionRootFields: nil (every kind) when any parent allows every kind.
func unionRootFields(parents []*selectPerm, list func(*selectPerm) []string) []string {
	out := []string{}
	for _, p := range parents {
		l := list(p)
		if l == nil {
			return nil
		}
		for _, k := range l {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// andExp is both expressions (nil is true); {} when both are true.
func andExp(a, b any) any {
	switch {
	case a == nil && b == nil:
		return map[string]any{}
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return map[string]any{"_and": []any{a, b}}
}

// orExp is any of the expressions (nil among them is true).
func orExp(exps []any) any {
	items := make([]any, len(exps))
	for i, e := range exps {
		if e == nil {
			e = map[string]any{}
		}
		items[i] = e
	}
	if len(items) == 1 {
		return items[0]
	}
	return map[string]any{"_or": items}
}
