package api

// Inherited roles: a role made of other roles.

import (
	"context"

	"github.com/strata-dev/strata/engine/apierr"
)

func addInheritedRole(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	name, err := o.name("role_name")
	if err != nil {
		return nil, err
	}
	set, err := o.names("role_set", false)
	if err != nil {
		return nil, err
	}
	// role_set is a set: duplicates collapse.
	roles := make([]string, 0, len(set))
	seen := map[string]bool{}
	for _, r := range set {
		if !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	if seen[name] {
		return nil, badRequest(apierr.CodeInvalidParams, "an inherited role name cannot be in the role combination")
	}
	irs, err := t.inheritedRoles()
	if err != nil {
		return nil, err
	}
	role := inheritedRole{RoleName: name, RoleSet: roles}
	// Hasura inserts into an ordered map: a role of the same name is
	// replaced where it stands.
	if i := irs.find(func(r *inheritedRole) bool { return r.RoleName == name }); i >= 0 {
		irs[i] = &entry[inheritedRole]{val: role, ok: true}
	} else {
		irs = irs.add(role)
	}
	if err := irs.store(&t.md.InheritedRoles); err != nil {
		return nil, err
	}
	// A parent the metadata does not know makes the role inconsistent,
	// which refuses the operation (inherited_roles_cache.go).
	t.target = inheritedRoleObject(name)
	t.changed = true
	return success, nil
}

func dropInheritedRole(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	name, err := o.name("role_name")
	if err != nil {
		return nil, err
	}
	irs, err := t.inheritedRoles()
	if err != nil {
		return nil, err
	}
	byName := func(r *inheritedRole) bool { return r.RoleName == name }
	if irs.find(byName) < 0 {
		return nil, notExists("\"%s\" inherited role doesn't exist", name)
	}
	if err := irs.removeIf(byName).store(&t.md.InheritedRoles); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}
