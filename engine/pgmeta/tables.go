package pgmeta

import (
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// The tables' SQL. A table's fields come from two places: the catalog
// (names, keys, relationships, columns: tablesCatalogSource) and its files
// and statistics (bytes, size, row estimates: tableStats). The list is
// answered from a cache of the catalog part (see tablecache.go) plus a
// fresh read of the rest; GET /pg/tables/:id, and the cache's tests, use
// tablesSource, both parts in one query.

// tablesCatalogSource is a table's fields that come from the catalog, in
// postgres-meta's order but without bytes, size and the row estimates.
//
// The primary keys, foreign keys and comments are joined, read once for
// the selected tables rather than by a subquery (or obj_description call)
// per table; the foreign keys are grouped by the tables on both ends.
func tablesCatalogSource(q *qb, f *filter) string {
	src := `
WITH t AS MATERIALIZED (
  SELECT c.oid, c.relname, nc.nspname, c.relrowsecurity, c.relforcerowsecurity, c.relreplident
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace nc ON nc.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p')
    AND NOT pg_catalog.pg_is_other_temp_schema(nc.oid)
    AND (pg_catalog.pg_has_role(c.relowner, 'USAGE')
         OR pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
         OR pg_catalog.has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
    AND ` + q.idCond("c.oid", f) + `
    AND ` + q.schemaCond("nc.nspname", f) + `
),
pk AS (
  SELECT t.oid,
    json_agg(json_build_object('schema', t.nspname, 'table_name', t.relname, 'name', a.attname, 'table_id', t.oid::int8)
      ORDER BY pg_catalog.array_position(i.indkey::int2[], a.attnum)) AS keys
  FROM t
  JOIN pg_catalog.pg_index i ON i.indrelid = t.oid AND i.indisprimary
  JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey::int2[])
  GROUP BY t.oid
),
fk AS (
  SELECT fk.conrelid, fk.confrelid, sn.nspname, sc.relname, fk.conname, k.ord,
    json_build_object(
      'id', fk.oid::int8,
      'constraint_name', fk.conname,
      'source_schema', sn.nspname,
      'source_table_name', sc.relname,
      'source_column_name', sa.attname,
      'target_table_schema', tn.nspname,
      'target_table_name', tc.relname,
      'target_column_name', ta.attname
    ) AS obj
  FROM pg_catalog.pg_constraint fk
  CROSS JOIN LATERAL unnest(fk.conkey, fk.confkey) WITH ORDINALITY AS k(src, tgt, ord)
  JOIN pg_catalog.pg_class sc ON sc.oid = fk.conrelid
  JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace
  JOIN pg_catalog.pg_attribute sa ON sa.attrelid = fk.conrelid AND sa.attnum = k.src
  JOIN pg_catalog.pg_class tc ON tc.oid = fk.confrelid
  JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
  JOIN pg_catalog.pg_attribute ta ON ta.attrelid = fk.confrelid AND ta.attnum = k.tgt
  WHERE fk.contype = 'f'
    AND (fk.conrelid IN (SELECT oid FROM t) OR fk.confrelid IN (SELECT oid FROM t))
),
rel AS (
  SELECT e.rel, json_agg(fk.obj ORDER BY fk.nspname, fk.relname, fk.conname, fk.ord) AS relationships
  FROM fk
  CROSS JOIN LATERAL (VALUES (fk.conrelid), (nullif(fk.confrelid, fk.conrelid))) AS e(rel)
  WHERE e.rel IS NOT NULL
  GROUP BY e.rel
)
SELECT
  t.oid::int8 AS id,
  t.nspname AS schema,
  t.relname AS name,
  t.relrowsecurity AS rls_enabled,
  t.relforcerowsecurity AS rls_forced,
  CASE t.relreplident WHEN 'd' THEN 'DEFAULT' WHEN 'i' THEN 'INDEX' WHEN 'f' THEN 'FULL' ELSE 'NOTHING' END AS replica_identity,
  d.description AS comment,
  coalesce(pk.keys, '[]') AS primary_keys,
  coalesce(rel.relationships, '[]') AS relationships
FROM t
LEFT JOIN pg_catalog.pg_description d
  ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
LEFT JOIN pk ON pk.oid = t.oid
LEFT JOIN rel ON rel.rel = t.oid`
	return withColumns(src, f)
}

// tableStats reads the fields of the table whose OID is the expression id
// that are not in the catalog. They change without a transaction (files
// grow, VACUUM truncates, statistics are flushed), so they are never
// cached. The size is computed once for bytes and size.
func tableStats(id string) string {
	return `
SELECT b.bytes, pg_catalog.pg_size_pretty(b.bytes) AS size,
  pg_catalog.pg_stat_get_live_tuples(` + id + `::oid) AS live_rows_estimate,
  pg_catalog.pg_stat_get_dead_tuples(` + id + `::oid) AS dead_rows_estimate
FROM (SELECT pg_catalog.pg_total_relation_size(` + id + `::oid)::int8 AS bytes OFFSET 0) b`
}

// tableHead and tableTail are the catalog fields before and after the
// stats, in postgres-meta's order.
const (
	tableHead = "s.id, s.schema, s.name, s.rls_enabled, s.rls_forced, s.replica_identity"
	tableTail = "s.comment, s.primary_keys, s.relationships"
)

func tableTailFields(f *filter) string {
	if f.includeColumns {
		return tableTail + ", s.columns"
	}
	return tableTail
}

// tablesSource is every field of a table in one query.
func tablesSource(q *qb, f *filter) string {
	return `
SELECT ` + tableHead + `, v.bytes, v.size, v.live_rows_estimate, v.dead_rows_estimate, ` + tableTailFields(f) + `
FROM (` + tablesCatalogSource(q, f) + `) s
CROSS JOIN LATERAL (` + tableStats("s.id") + `) v`
}

// tablesPageSQL reads a page of the list for the cache: per table its ID,
// the catalog fields before and after the stats as JSON objects, and the
// stats; with the catalog state (stateSQL) they were read in. The one row
// of an empty list has only the state.
func tablesPageSQL(f *filter, state string) (string, []any) {
	q := &qb{}
	src := tablesCatalogSource(q, f)
	var page strings.Builder
	page.WriteString("SELECT * FROM (" + src + ") s ORDER BY " + orderBy("s", kinds["tables"].order))
	if f.limit > 0 {
		page.WriteString(" LIMIT " + q.p(f.limit) + "::int8")
	}
	if f.offset > 0 {
		page.WriteString(" OFFSET " + q.p(f.offset) + "::int8")
	}
	return `
SELECT st.state, x.id, x.head, x.tail, x.bytes, x.size, x.live_rows_estimate, x.dead_rows_estimate
FROM (SELECT ` + state + ` AS state) st
LEFT JOIN LATERAL (
  SELECT s.schema, s.name, s.id, row_to_json(h)::text AS head, row_to_json(tl)::text AS tail, v.*
  FROM (` + page.String() + `) s
  CROSS JOIN LATERAL (SELECT ` + tableHead + `) h
  CROSS JOIN LATERAL (SELECT ` + tableTailFields(f) + `) tl
  CROSS JOIN LATERAL (` + tableStats("s.id") + `) v
) x ON true
ORDER BY ` + orderBy("x", kinds["tables"].order), q.args
}

// tablesStatsSQL reads the stats of the tables $1 (in that order) if the
// catalog state is still $2; else its one row has only the state.
func tablesStatsSQL(state string) string {
	return `
SELECT st.state, v.id, v.bytes, v.size, v.live_rows_estimate, v.dead_rows_estimate
FROM (SELECT ` + state + ` AS state) st
LEFT JOIN LATERAL (
  SELECT u.ord, u.id, z.*
  FROM unnest($1::int8[]) WITH ORDINALITY AS u(id, ord)
  CROSS JOIN LATERAL (` + tableStats("u.id") + `) z
  WHERE st.state = $2::text
) v ON true
ORDER BY v.ord`
}

// stateSQL is what the catalog fields of a table depend on besides the
// catalog's rows: an equal state means an equal answer.
//
// The catalog is read through MVCC, and every change to the rows read here
// is made by a transaction with an ID. Two snapshots that are equal
// (xmin, xmax and the transactions in progress) see exactly the same
// committed transactions, so the same catalog rows. (VACUUM and ANALYZE
// update some pg_class columns in place, without an ID, but none that is
// read here.) Snapshots are cluster-wide, which also covers roles and
// their memberships (the privilege filters); any write anywhere in the
// cluster changes it, which costs a recomputation, never a wrong answer.
//
// The rest is the session's: the database and user, its temporary schema
// if it holds anything (a session's own temporary tables are listed; an
// empty one, as a pooled connection's is after DISCARD ALL, changes
// nothing), and the settings that change how pg_get_expr / format_type
// write defaults, checks and types (the search path, date, time zone and
// number formats).
func stateSQL(pg *pgconn.PgConn) string {
	snapshot := "pg_catalog.pg_current_snapshot()::text"
	if serverMajor(pg) < 13 {
		snapshot = "pg_catalog.txid_current_snapshot()::text"
	}
	return `pg_catalog.concat_ws(E'\n', ` + snapshot + `, current_database(), current_user, ` + ownTempSchema + `, ` + settingsState + `)`
}

const ownTempSchema = `CASE
    WHEN pg_catalog.pg_my_temp_schema() = 0 THEN 0
    WHEN EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.relnamespace = pg_catalog.pg_my_temp_schema()) THEN pg_catalog.pg_my_temp_schema()::int8
    ELSE 0
  END`

// settingsState lists the settings that change the text of an expression.
var settingsState = func() string {
	names := []string{"search_path", "DateStyle", "IntervalStyle", "TimeZone", "extra_float_digits",
		"bytea_output", "standard_conforming_strings", "quote_all_identifiers", "lc_monetary"}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = "pg_catalog.current_setting('" + n + "')"
	}
	return strings.Join(parts, ", ")
}()

// serverMajor is the server's major version from its server_version
// ("15.4 (Debian ...)", "9.6.24"); 0 if unknown.
func serverMajor(pg *pgconn.PgConn) int {
	v := pg.ParameterStatus("server_version")
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		v = v[:end]
	}
	n, _ := strconv.Atoi(v)
	return n
}
