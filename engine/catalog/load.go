package catalog

// loadSQL is the one catalog statement. $1 (text[], NULL or empty for all)
// is Options.Schemas, $2 (bool) Options.IncludeSystemSchemas. It returns a
// single json value:
//
//	{"tables": [...], "functions": [...], "enums": [...], "domains": [...]}
//
// Plan shape, chosen to stay linear in the catalog's size whatever the
// planner's estimates (pg_catalog statistics are often stale or default):
// columns and keys are aggregated per relation up front (GROUP BY) and
// joined once; comments are correlated lookups on pg_description's unique
// index, never a join a misestimate could turn into a nested loop over all
// descriptions. The resulting cost estimate stays under the default
// jit_above_cost (100000) up to roughly a thousand tables; past that a
// server with jit=on adds its compile time (~100 ms) to the load. "char"
// codes (relkind, typtype, ...) are passed through and mapped in Go.
const loadSQL = `
WITH RECURSIVE
ns AS (
  SELECT n.oid, n.nspname
  FROM pg_catalog.pg_namespace n
  WHERE CASE WHEN cardinality($1::text[]) > 0 THEN n.nspname = ANY ($1::text[])
             ELSE $2::bool OR NOT (n.nspname LIKE 'pg\_%' OR n.nspname IN ('information_schema', 'hdb_catalog'))
        END
),
-- Every type, named as its element type if it is an array (the test
-- format_type uses: typelem set, varlena, not plain storage, which leaves
-- out int2vector/oidvector/point).
ty AS NOT MATERIALIZED (
  SELECT t.oid, bn.nspname AS schema, b.typname AS name, b.typtype AS kind, (b.oid <> t.oid) AS is_array
  FROM pg_catalog.pg_type t
  JOIN pg_catalog.pg_type b
    ON b.oid = CASE WHEN t.typelem <> 0 AND t.typlen = -1 AND t.typstorage <> 'p' THEN t.typelem ELSE t.oid END
  JOIN pg_catalog.pg_namespace bn ON bn.oid = b.typnamespace
),
rel AS (
  SELECT c.oid, ns.nspname, c.relname, c.relkind, c.relispartition,
         (SELECT d.description FROM pg_catalog.pg_description d
           WHERE d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0) AS comment
  FROM pg_catalog.pg_class c
  JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
),
col AS (
  SELECT a.attrelid,
         json_agg(json_build_object(
           'name', a.attname,
           'num', a.attnum,
           'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
           'type_oid', a.atttypid::int8,
           'type_schema', ty.schema,
           'type_name', ty.name,
           'type_kind', ty.kind,
           'is_array', ty.is_array,
           'not_null', a.attnotnull,
           'default', pg_catalog.pg_get_expr(ad.adbin, ad.adrelid),
           'identity', a.attidentity,
           'generated', a.attgenerated,
           'comment', (SELECT d.description FROM pg_catalog.pg_description d
                        WHERE d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::regclass
                          AND d.objsubid = a.attnum)
         ) ORDER BY a.attnum) AS cols
  FROM rel
  JOIN pg_catalog.pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN ty ON ty.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  GROUP BY a.attrelid
),
-- Keys. A foreign key that references a partitioned table is cloned, under
-- the same name and on the same referencing table, once per partition of
-- the referenced table (conparentid = the original): those clones are
-- dropped. The clones Postgres makes on each partition of a referencing
-- partitioned table have a different conrelid and are kept.
con AS (
  SELECT c.oid, c.conrelid, c.conname, c.contype, c.confupdtype, c.confdeltype,
         c.conkey, c.confrelid, c.confkey, rn.nspname AS ref_schema, rc.relname AS ref_name
  FROM pg_catalog.pg_constraint c
  JOIN rel ON rel.oid = c.conrelid
  LEFT JOIN pg_catalog.pg_class rc ON rc.oid = c.confrelid
  LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
  WHERE c.contype IN ('p', 'u', 'f')
    AND NOT (c.contype = 'f' AND EXISTS (
      SELECT 1 FROM pg_catalog.pg_constraint p WHERE p.oid = c.conparentid AND p.conrelid = c.conrelid))
),
-- Key columns in constraint order, conkey[i] zipped with confkey[i] by a
-- two-array unnest (confkey is NULL, so padded, for p and u). A flat join,
-- not a subquery per constraint.
conkey AS (
  SELECT c.oid,
         json_agg(a.attname ORDER BY k.ord) AS cols,
         json_agg(fa.attname ORDER BY k.ord) FILTER (WHERE c.contype = 'f') AS ref_cols
  FROM con c
  CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(num, ref_num, ord)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
  LEFT JOIN pg_catalog.pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = k.ref_num
  GROUP BY c.oid
),
keys AS (
  SELECT conrelid,
         json_agg(json_build_object('name', conname, 'columns', cols))
           FILTER (WHERE contype = 'p') AS pk,
         json_agg(json_build_object('name', conname, 'columns', cols) ORDER BY conname)
           FILTER (WHERE contype = 'u') AS uniques,
         json_agg(json_build_object(
           'name', conname, 'columns', cols,
           'ref_schema', ref_schema, 'ref_name', ref_name, 'ref_columns', ref_cols,
           'on_update', confupdtype, 'on_delete', confdeltype) ORDER BY conname)
           FILTER (WHERE contype = 'f') AS fks
  FROM con
  LEFT JOIN conkey ON conkey.oid = con.oid
  GROUP BY conrelid
),
fn AS (
  SELECT p.oid, ns.nspname, p.proname, p.provolatile, p.proretset, p.prorettype,
         p.proargtypes, p.proallargtypes, p.proargmodes, p.proargnames, p.pronargs, p.pronargdefaults,
         l.lanname,
         (SELECT d.description FROM pg_catalog.pg_description d
           WHERE d.objoid = p.oid AND d.classoid = 'pg_catalog.pg_proc'::regclass AND d.objsubid = 0) AS comment
  FROM pg_catalog.pg_proc p
  JOIN ns ON ns.oid = p.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
  WHERE p.prokind = 'f'
),
-- Input arguments: IN (i), INOUT (b), VARIADIC (v). proargmodes NULL means
-- all IN; the last pronargdefaults inputs have defaults.
arg AS (
  SELECT x.oid,
         json_agg(json_build_object(
           'name', x.name,
           'mode', x.mode,
           'type', pg_catalog.format_type(x.typ, NULL),
           'type_schema', ty.schema,
           'type_name', ty.name,
           'type_kind', ty.kind,
           'is_array', ty.is_array,
           'has_default', x.inpos > x.pronargs - x.pronargdefaults
         ) ORDER BY x.ord) AS args
  FROM (
    SELECT f.oid, a.typ, a.ord, f.pronargs, f.pronargdefaults,
           COALESCE(f.proargnames[a.ord], '') AS name,
           COALESCE(f.proargmodes[a.ord], 'i') AS mode,
           row_number() OVER (PARTITION BY f.oid ORDER BY a.ord) AS inpos
    FROM fn f
    CROSS JOIN LATERAL unnest(COALESCE(f.proallargtypes, f.proargtypes::oid[])) WITH ORDINALITY AS a(typ, ord)
    WHERE COALESCE(f.proargmodes[a.ord], 'i') IN ('i', 'b', 'v')
  ) x
  JOIN ty ON ty.oid = x.typ
  GROUP BY x.oid
),
-- Domains, resolved through domains over domains to the type underneath.
dom (oid, base) AS (
  SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t WHERE t.typtype = 'd'
  UNION ALL
  SELECT dom.oid, b.typbasetype
  FROM dom JOIN pg_catalog.pg_type b ON b.oid = dom.base AND b.typtype = 'd'
)
SELECT json_build_object(
  'tables', COALESCE((
    SELECT json_agg(json_build_object(
             'schema', rel.nspname,
             'name', rel.relname,
             'oid', rel.oid::int8,
             'kind', rel.relkind,
             'comment', rel.comment,
             'columns', col.cols,
             'pk', keys.pk,
             'uniques', keys.uniques,
             'fks', keys.fks,
             'writable', CASE WHEN rel.relkind IN ('r', 'p') THEN 28
                              WHEN rel.relkind IN ('v', 'f') THEN pg_catalog.pg_relation_is_updatable(rel.oid::regclass, true)
                              ELSE 0 END,
             'parent_schema', pn.nspname,
             'parent_name', pc.relname
           ) ORDER BY rel.nspname, rel.relname)
    FROM rel
    LEFT JOIN col ON col.attrelid = rel.oid
    LEFT JOIN keys ON keys.conrelid = rel.oid
    LEFT JOIN pg_catalog.pg_inherits i ON rel.relispartition AND i.inhrelid = rel.oid
    LEFT JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
    LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
  ), '[]'::json),
  'functions', COALESCE((
    SELECT json_agg(json_build_object(
             'schema', fn.nspname,
             'name', fn.proname,
             'oid', fn.oid::int8,
             'comment', fn.comment,
             'args', arg.args,
             'identity_args', pg_catalog.pg_get_function_identity_arguments(fn.oid),
             'ret_schema', rt.schema,
             'ret_name', rt.name,
             'ret_kind', rt.kind,
             'ret_is_array', rt.is_array,
             'returns_set', fn.proretset,
             'returns_table', COALESCE(rc.relkind IN ('r', 'v', 'm', 'f', 'p'), false),
             'volatility', fn.provolatile,
             'language', fn.lanname
           ) ORDER BY fn.nspname, fn.proname, pg_catalog.pg_get_function_identity_arguments(fn.oid))
    FROM fn
    LEFT JOIN arg ON arg.oid = fn.oid
    JOIN ty rt ON rt.oid = fn.prorettype
    LEFT JOIN pg_catalog.pg_type rtt ON rtt.oid = fn.prorettype
    LEFT JOIN pg_catalog.pg_class rc ON rc.oid = rtt.typrelid
  ), '[]'::json),
  'enums', COALESCE((
    SELECT json_agg(json_build_object(
             'schema', ns.nspname,
             'name', t.typname,
             'labels', (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder)
                          FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
           ) ORDER BY ns.nspname, t.typname)
    FROM pg_catalog.pg_type t
    JOIN ns ON ns.oid = t.typnamespace
    WHERE t.typtype = 'e'
  ), '[]'::json),
  'domains', COALESCE((
    SELECT json_agg(json_build_object(
             'schema', ns.nspname,
             'name', t.typname,
             'type', pg_catalog.format_type(t.typbasetype, t.typtypmod),
             'base_schema', bt.schema,
             'base_name', bt.name,
             'base_kind', bt.kind,
             'base_is_array', bt.is_array,
             'not_null', t.typnotnull,
             'default', t.typdefault
           ) ORDER BY ns.nspname, t.typname)
    FROM pg_catalog.pg_type t
    JOIN ns ON ns.oid = t.typnamespace
    JOIN dom ON dom.oid = t.oid
    JOIN pg_catalog.pg_type b ON b.oid = dom.base AND b.typtype <> 'd'
    JOIN ty bt ON bt.oid = b.oid
    WHERE t.typtype = 'd'
  ), '[]'::json)
)`
