package schemacache

// Enum tables (is_enum) as Hasura's schema cache builds them
// (fetchAndValidateEnumValues, Backends/Postgres/DDL/Table.hs): each
// build reads their rows, and a table that cannot be an enum (its shape,
// no rows, a value that is not a GraphQL name) is an inconsistent object,
// left out of the schema. Reading them through a metadata request's open
// transaction (Reads.Conns), the build sees what its run_sql did, so such
// a run_sql is refused like any other that breaks the metadata.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

// EnumRow is a row of an enum table: its single-column primary key is
// the value, its other column, if any, the description.
type EnumRow struct {
	Value   string
	Comment *string
}

// enumTables reads src's enum tables that cat has: the rows of those that
// can be enums, and an inconsistency for each of the others.
func enumTables(ctx context.Context, q Querier, src *metadata.Source, cat *catalog.Catalog) (map[metadata.QualifiedName][]EnumRow, []InconsistentObject) {
	rows := map[metadata.QualifiedName][]EnumRow{}
	var bad []InconsistentObject
	for _, t := range src.Tables {
		ct := lookup(cat, t.Table)
		if !t.IsEnum || ct == nil {
			continue // a missing table is Check's to report
		}
		r, problems := readEnum(ctx, q, ct)
		if len(problems) > 0 {
			reason := "the table " + dquote(DisplayName(t.Table)) + " cannot be used as an enum " + reasonList(problems)
			bad = append(bad, inconsistent(src.Name, "table", TableObject(src.Name, t.Table), reason, t.Table))
			continue
		}
		rows[t.Table] = r
	}
	return rows, bad
}

// withoutTables is src without the tables objs report: Hasura leaves an
// inconsistent table out of the schema, and what refers to it finds it
// untracked.
func withoutTables(src *metadata.Source, objs []InconsistentObject) *metadata.Source {
	if len(objs) == 0 {
		return src
	}
	gone := map[metadata.QualifiedName]bool{}
	for _, o := range objs {
		if q, ok := o.Definition.(metadata.QualifiedName); ok {
			gone[q] = true
		}
	}
	cp := *src
	cp.Tables = nil
	for _, t := range src.Tables {
		if !gone[t.Table] {
			cp.Tables = append(cp.Tables, t)
		}
	}
	return &cp
}

// readEnum checks an enum table's shape and reads its rows, ordered by
// value; problems are Hasura's reasons why it cannot be an enum, in its
// order.
func readEnum(ctx context.Context, q Querier, t *catalog.Table) (rows []EnumRow, problems []string) {
	text := pgType{name: "text"}
	var key *catalog.Column
	switch pk := t.PrimaryKey; {
	case pk == nil || len(pk.Columns) == 0:
		problems = append(problems, "the table must have a primary key")
	case len(pk.Columns) > 1:
		problems = append(problems, fmt.Sprintf("the table’s primary key must not span multiple columns (%s)", sortedList(pk.Columns)))
	default:
		c, ok := t.Column(pk.Columns[0])
		if ok && columnType(c) == text {
			key = c
		} else if ok {
			problems = append(problems, typeMismatch("primary key", c))
		}
	}
	var others []string
	var comment *catalog.Column
	for _, c := range t.Columns {
		if key == nil || c.Name != key.Name {
			others = append(others, c.Name)
			comment = c
		}
	}
	switch {
	case len(others) > 1:
		comment = nil
		problems = append(problems, fmt.Sprintf("the table must have exactly one primary key and optionally one comment column, not %d columns (%s)", len(others), sortedList(others)))
	case comment != nil && columnType(comment) != text:
		problems = append(problems, typeMismatch("comment column", comment))
		comment = nil
	}
	if key == nil {
		return nil, problems
	}
	commentSQL := "NULL"
	if comment != nil {
		commentSQL = pgx.Identifier{comment.Name}.Sanitize()
	}
	sql := fmt.Sprintf("SELECT %s, %s FROM %s ORDER BY 1", pgx.Identifier{key.Name}.Sanitize(), commentSQL, pgx.Identifier{t.Name.Schema, t.Name.Name}.Sanitize())
	rows, err := queryEnum(ctx, q, sql)
	if err != nil {
		return nil, append(problems, "postgres error: "+postgresMessage(err))
	}
	if len(rows) == 0 {
		problems = append(problems, "the table must have at least one row")
	}
	var badNames []string
	for _, r := range rows {
		if !enumValueName.MatchString(r.Value) || r.Value == "true" || r.Value == "false" || r.Value == "null" {
			badNames = append(badNames, r.Value)
		}
	}
	if len(badNames) > 0 {
		problems = append(problems, "the "+invalidValues(badNames))
	}
	return rows, problems
}

func queryEnum(ctx context.Context, q Querier, sql string) ([]EnumRow, error) {
	rs, err := q.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []EnumRow
	for rs.Next() {
		var r EnumRow
		if err := rs.Scan(&r.Value, &r.Comment); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// enumValueName is a GraphQL name; true, false and null are not enum
// values either.
var enumValueName = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)

// invalidValues words the values that are not GraphQL names as Hasura
// does, the last one quoted (and with two, both).
func invalidValues(values []string) string {
	slices.Sort(values)
	n := len(values)
	switch n {
	case 1:
		return "value " + dquote(values[0]) + " is not a valid GraphQL enum value name"
	case 2:
		return "values " + dquote(values[0]) + " and " + dquote(values[1]) + " are not valid GraphQL enum value names"
	}
	return "values " + strings.Join(values[:n-1], ", ") + ", and " + dquote(values[n-1]) + " are not valid GraphQL enum value names"
}

func typeMismatch(what string, c *catalog.Column) string {
	return "the table’s " + what + " (" + dquote(c.Name) + ") must have type \"text\", not type " + dquote(columnType(c).String())
}

// reasonList is Hasura's makeReasonMessage.
func reasonList(problems []string) string {
	if len(problems) == 1 {
		return "because " + problems[0]
	}
	var b strings.Builder
	b.WriteString("for the following reasons:\n")
	for _, p := range problems {
		b.WriteString("  • " + p + "\n")
	}
	return b.String()
}

func sortedList(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	return strings.Join(s, ", ")
}

func postgresMessage(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	return err.Error()
}
