package schema

import (
	"sort"
	"sync"

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

// NewModel resolves a snapshot's sources. Sources that are inconsistent
// are left out, as Hasura leaves them out of the schema. It reads no
// database: the snapshot holds what the build read, enum tables' rows
// included.
func NewModel(snap *schemacache.Snapshot) *Model {
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
		for table, rows := range ss.Enums {
			if src.Resolved.Tables[table] != nil {
				src.Enums[table] = enumValues(rows)
			}
		}
		m.Sources = append(m.Sources, src)
	}
	return m
}

// enumValues are an enum table's rows as its enum type's values (the
// build left out the tables whose values are not all GraphQL names).
func enumValues(rows []schemacache.EnumRow) []EnumValue {
	out := make([]EnumValue, len(rows))
	for i, r := range rows {
		out[i] = EnumValue{Value: r.Value, Comment: r.Comment}
	}
	return out
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
