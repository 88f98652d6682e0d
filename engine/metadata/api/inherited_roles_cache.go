package api

// Inherited roles in the schema cache, as Hasura's buildSchemaCache has
// them (RQL/DDL/Schema/Cache.hs):
//
//   - a cycle among them fails the build itself, whatever the operation
//     and allow_inconsistent_metadata: 400 cyclic-dependency
//     (schema.CheckInheritedRoles, run before every commit);
//   - one whose role_set names a role the metadata does not know is an
//     inconsistent object, "inherited role <name>", so add_inherited_role
//     refuses it with its reason (resolveInheritedRole);
//   - a permission one cannot inherit, its parents' differing, is an
//     informational inconsistency (ConflictingInheritedPermission): listed
//     by get_inconsistent_metadata, tied to no metadata object, so no
//     operation fails for it but replace_metadata without
//     allow_inconsistent_metadata, which refuses any inconsistency.

import (
	"context"

	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schema"
	"github.com/strata-dev/strata/engine/schemacache"
)

// validateSnapshot is the schema cache's validator: the inconsistencies
// only this package's dependencies can find.
func validateSnapshot(ctx context.Context, snap *schemacache.Snapshot) []schemacache.InconsistentObject {
	out := inheritedRoleInconsistencies(snap.Metadata)
	out = append(out, inheritanceConflicts(snap)...)
	return append(out, validateSavedQueries(ctx, snap)...)
}

// inheritedRoleObject names an inherited role in inconsistencies.
func inheritedRoleObject(role string) string { return "inherited role " + role }

// inheritedRoleInconsistencies are the inherited roles with a parent the
// metadata does not know, in metadata order.
func inheritedRoleInconsistencies(md *metadata.Metadata) []schemacache.InconsistentObject {
	if md == nil {
		return nil
	}
	roles, err := loadSection[inheritedRole](md.InheritedRoles, "inherited_roles")
	if err != nil {
		return nil // refused on the way in
	}
	var out []schemacache.InconsistentObject
	for _, e := range roles {
		if !e.ok {
			continue
		}
		r := e.val
		missing := schema.MissingParentRoles(md, r.RoleName)
		if missing == "" {
			continue
		}
		out = append(out, schemacache.InconsistentObject{
			Definition: r,
			Reason:     "Inconsistent object: in inherited role " + r.RoleName + ": " + missing,
			Name:       inheritedRoleObject(r.RoleName),
			Type:       "inherited_role",
		})
	}
	return out
}

// inheritanceConflicts are the snapshot's permissions inherited roles
// could not inherit (schema.Conflicts), as informational inconsistencies.
func inheritanceConflicts(snap *schemacache.Snapshot) []schemacache.InconsistentObject {
	conflicts := schema.Conflicts(snap)
	out := make([]schemacache.InconsistentObject, 0, len(conflicts))
	for _, c := range conflicts {
		out = append(out, schemacache.InconsistentObject{
			Entity: map[string]string{
				"permission_type": c.Kind,
				"source":          c.Source,
				"table":           schemacache.DisplayName(c.Table),
			},
			Reason: c.Reason(),
			Name:   c.Role,
			Type:   "inherited role permission inconsistency",
			Source: c.Source,
		})
	}
	return out
}
