package schema

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// Conflict is an insert, update or delete permission an inherited role
// could not inherit on a table, its parents' differing, and that it does
// not define itself: it has none of that kind there. Hasura lists each in
// get_inconsistent_metadata (ConflictingInheritedPermission), purely as
// information: no metadata object is at fault, so no operation fails
// for it and none can drop it, except replace_metadata without
// allow_inconsistent_metadata, which refuses any inconsistency.
type Conflict struct {
	Role   string
	Source string
	Table  metadata.QualifiedName
	Kind   string // "insert", "update" or "delete"
}

// Reason is Hasura's text for the conflict.
func (c Conflict) Reason() string {
	return fmt.Sprintf("Could not inherit permission for the role '%s' for the entity: '%s permission, table: %s, source: '%s''",
		c.Role, c.Kind, schemacache.DisplayName(c.Table), c.Source)
}

// MarshalJSON is the conflict as get_inconsistent_metadata lists it:
// not the usual definition/name/reason/type, but
//
//	{"entity": {"permission_type", "source", "table"}, "name": <role>,
//	 "reason": ..., "type": "inherited role permission inconsistency"}
func (c Conflict) MarshalJSON() ([]byte, error) {
	type entity struct {
		PermissionType string `json:"permission_type"`
		Source         string `json:"source"`
		Table          string `json:"table"`
	}
	return json.Marshal(struct {
		Entity entity `json:"entity"`
		Name   string `json:"name"`
		Reason string `json:"reason"`
		Type   string `json:"type"`
	}{entity{c.Kind, c.Source, schemacache.DisplayName(c.Table)}, c.Role, c.Reason(), "inherited role permission inconsistency"})
}

// Conflicts lists the snapshot's conflicts: by inherited role in metadata
// order, then source name, then table in metadata order, then kind.
func Conflicts(snap *schemacache.Snapshot) []Conflict {
	in := newInheritance(snap.Metadata)
	if in == nil {
		return nil
	}
	names := make([]string, 0, len(snap.Sources))
	for name, ss := range snap.Sources {
		if ss.Catalog != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	r := newPermResolver(in)
	var out []Conflict
	for _, role := range readInheritedRoles(snap.Metadata) {
		if len(in.parentsOf(role.Name)) == 0 {
			continue
		}
		for _, name := range names {
			ss := snap.Sources[name]
			for _, mt := range ss.Metadata.Tables {
				cat, ok := ss.Catalog.Table(mt.Table.Schema, mt.Table.Name)
				if !ok {
					continue
				}
				for _, kind := range r.perms(name, mt, cat, role.Name).conflicts {
					out = append(out, Conflict{Role: role.Name, Source: name, Table: mt.Table, Kind: kind})
				}
			}
		}
	}
	return out
}
