package graphql

// Cell-level redaction, for inherited roles. A column (or scalar computed
// field) an inherited role may select, but not on every row it sees,
// carries the condition under which its value shows (schema.Column.Redact:
// some parent that has the column lets the row through). Wherever the
// role reads the value, as Hasura does (withRedactionExp in
// Backends/Postgres/Translate/BoolExp.hs), it reads
//
//	CASE WHEN <condition on the row> THEN <value> ELSE NULL END
//
// instead: in the selection, in where, order_by and distinct_on, in
// aggregates and in the primary key of *_by_pk fields. Every other role
// has no redaction, and its SQL is exactly what it was without this.

import (
	"strings"

	"github.com/strata-dev/strata/engine/schema"
)

// redactionKey identifies a redacted expression within one statement.
type redactionKey struct {
	t     *schema.Table
	field string
	expr  string
}

// columnRef is column col of row alias as the role reads it.
func (c *compiler) columnRef(t *schema.Table, alias string, col *schema.Column) string {
	return c.redact(t, col.Name, col.Redact, alias, alias+"."+quoteIdent(col.Name))
}

// redact wraps expr, a value of field of t's row alias, in its redaction
// cond (nil: none). The same value compiles to the same text within a
// statement: distinct_on must find its columns at the head of order_by,
// and the condition's parameters are then not repeated.
func (c *compiler) redact(t *schema.Table, field string, cond any, alias, expr string) string {
	if cond == nil {
		return expr
	}
	k := redactionKey{t, field, expr}
	if e, ok := c.redactions[k]; ok {
		return e
	}
	// The condition is about this row, whatever expression it sits in
	// (a column comparison's "$" is the row itself).
	outer := c.rootAlias
	c.rootAlias = ""
	e := "CASE WHEN " + c.permExp(t, alias, cond) + " THEN " + expr + " ELSE NULL END"
	c.rootAlias = outer
	if c.redactions == nil {
		c.redactions = map[redactionKey]string{}
	}
	c.redactions[k] = e
	return e
}

// redactedColumns is the select list that stands for alias.* where the
// rows are aggregated: the role's columns, redacted, under their own
// names. "" when t redacts nothing (alias.* then).
func (c *compiler) redactedColumns(t *schema.Table, alias string) string {
	if !t.Redacts {
		return ""
	}
	cols := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		cols[i] = c.columnRef(t, alias, col) + " AS " + quoteIdent(col.Name)
	}
	return strings.Join(cols, ", ")
}
