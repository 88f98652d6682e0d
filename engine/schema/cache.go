package schema

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-dev/strata/engine/compile"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// Model is the role-independent part of the schema for one snapshot;
// role schemas are derived from it on first use and kept.
type Model struct {
	Snapshot *schemacache.Snapshot
	Sources  []*Source
	// inherit are the metadata's inherited roles (inherited.go).
	inherit *inheritance

	mu    sync.Mutex
	roles map[roleKey]*Schema
}

type roleKey struct {
	role  string
	relay bool
}

// NewModel resolves a snapshot's sources and reads its enum tables' rows
// (the one thing the catalog does not hold). Sources that are
// inconsistent are left out, as Hasura leaves them out of the schema.
func NewModel(ctx context.Context, snap *schemacache.Snapshot) *Model {
	m := &Model{Snapshot: snap, roles: map[roleKey]*Schema{}, inherit: newInheritance(snap.Metadata)}
	names := make([]string, 0, len(snap.Sources))
	for name := range snap.Sources {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ss := snap.Sources[name]
		if ss.Catalog == nil {
			continue
		}
		src := &Source{Name: name, Metadata: ss.Metadata, Catalog: ss.Catalog, Resolved: compile.BuildSchema(ss.Metadata, ss.Catalog), Enums: map[metadata.QualifiedName][]EnumValue{}}
		for _, t := range ss.Metadata.Tables {
			if !t.IsEnum || src.Resolved.Tables[t.Table] == nil {
				continue
			}
			vals, err := loadEnum(ctx, ss.Pool, src.Resolved.Tables[t.Table])
			if err == nil {
				src.Enums[t.Table] = vals
			}
		}
		m.Sources = append(m.Sources, src)
	}
	return m
}

// loadEnum reads an enum table: its single-column text primary key is the
// value, its other text column (if any) the description.
func loadEnum(ctx context.Context, pool *pgxpool.Pool, t *compile.Table) ([]EnumValue, error) {
	pk := t.Catalog.PrimaryKey
	if pk == nil || len(pk.Columns) != 1 {
		return nil, fmt.Errorf("enum table %s needs a single-column primary key", t.Name)
	}
	comment := "NULL"
	for _, c := range t.Catalog.Columns {
		if c.Name != pk.Columns[0] {
			comment = pgx.Identifier{c.Name}.Sanitize() + "::text"
			break
		}
	}
	sql := fmt.Sprintf("SELECT %s::text, %s FROM %s ORDER BY 1", pgx.Identifier{pk.Columns[0]}.Sanitize(), comment, pgx.Identifier{t.Name.Schema, t.Name.Name}.Sanitize())
	rows, err := pool.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EnumValue
	for rows.Next() {
		var v EnumValue
		if err := rows.Scan(&v.Value, &v.Comment); err != nil {
			return nil, err
		}
		if IsName(v.Value) {
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

// Role returns the schema of a role (relay: the /v1beta1/relay schema),
// building it on first use.
func (m *Model) Role(role string, relay bool) *Schema {
	k := roleKey{role, relay}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.roles[k]; ok {
		return s
	}
	s := build(m.Sources, m.inherit, role, relay)
	m.roles[k] = s
	return s
}
