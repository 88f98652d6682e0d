package schema

// Where a role's permissions on a table come from. Every schema feature
// asks here (permsOf), so a table's select, insert, update and delete
// permissions are resolved once per role build, the same way for the
// schema and for the SQL compiled against it (the compiler reads what the
// schema's Table carries).

import (
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
)

// tablePerms are a role's permissions on one table, resolved: nil where it
// has none of a kind.
type tablePerms struct {
	sel *selectPerm
	ins *metadata.InsertPermission
	upd *metadata.UpdatePermission
	del *metadata.DeletePermission
	// conflicts are the kinds ("insert", "update", "delete") an inherited
	// role could not inherit because its parents' permissions differ.
	conflicts []string
}

// permResolver resolves roles' permissions on the tables of sources; an
// inherited role's are derived from its parents', each resolved once.
type permResolver struct {
	in   *inheritance
	memo map[permKey]*tablePerms
}

type permKey struct {
	source string
	table  metadata.QualifiedName
	role   string
}

func newPermResolver(in *inheritance) *permResolver {
	return &permResolver{in: in, memo: map[permKey]*tablePerms{}}
}

// perms returns role's permissions on mt of src (cat: its catalog entry,
// against which column lists resolve).
func (r *permResolver) perms(src string, mt *metadata.Table, cat *catalog.Table, role string) *tablePerms {
	k := permKey{src, mt.Table, role}
	if p, ok := r.memo[k]; ok {
		return p
	}
	// Inheritance holds no cycle (newInheritance leaves them out); the
	// placeholder only keeps a bug from recursing forever.
	r.memo[k] = &tablePerms{}
	p := r.resolve(src, mt, cat, role)
	r.memo[k] = p
	return p
}

func (r *permResolver) resolve(src string, mt *metadata.Table, cat *catalog.Table, role string) *tablePerms {
	p := &tablePerms{}
	var ownSel *metadata.SelectPermission
	for _, x := range mt.SelectPermissions {
		if x.Role == role {
			ownSel = &x.Permission
		}
	}
	for _, x := range mt.InsertPermissions {
		if x.Role == role {
			p.ins = &x.Permission
		}
	}
	for _, x := range mt.UpdatePermissions {
		if x.Role == role {
			p.upd = &x.Permission
		}
	}
	for _, x := range mt.DeletePermissions {
		if x.Role == role {
			p.del = &x.Permission
		}
	}
	if ownSel != nil {
		p.sel = ownSelectPerm(ownSel, cat)
	}
	parents := r.in.parentsOf(role)
	if len(parents) == 0 {
		return p
	}
	inherited := make([]*tablePerms, len(parents))
	for i, parent := range parents {
		inherited[i] = r.perms(src, mt, cat, parent)
	}
	if ownSel == nil {
		sels := make([]*selectPerm, 0, len(inherited))
		for _, ip := range inherited {
			if ip.sel != nil {
				sels = append(sels, ip.sel)
			}
		}
		p.sel = combineSelectPerms(sels)
	}
	if p.ins == nil {
		var ok bool
		if p.ins, ok = inheritSame(inherited, func(ip *tablePerms) *metadata.InsertPermission { return ip.ins }, func(x *metadata.InsertPermission) string { return insertKey(x, cat) }); !ok {
			p.conflicts = append(p.conflicts, "insert")
		}
	}
	if p.upd == nil {
		var ok bool
		if p.upd, ok = inheritSame(inherited, func(ip *tablePerms) *metadata.UpdatePermission { return ip.upd }, func(x *metadata.UpdatePermission) string { return updateKey(x, cat) }); !ok {
			p.conflicts = append(p.conflicts, "update")
		}
	}
	if p.del == nil {
		var ok bool
		if p.del, ok = inheritSame(inherited, func(ip *tablePerms) *metadata.DeletePermission { return ip.del }, deleteKey); !ok {
			p.conflicts = append(p.conflicts, "delete")
		}
	}
	return p
}

// inheritSame is Hasura's CheckPermission monoid: parents without the
// permission do not count; the others must all have the same one (as key
// says), which is inherited. ok is false on a conflict.
func inheritSame[P any](parents []*tablePerms, get func(*tablePerms) *P, key func(*P) string) (perm *P, ok bool) {
	var k string
	for _, ip := range parents {
		x := get(ip)
		if x == nil {
			continue
		}
		if perm == nil {
			perm, k = x, key(x)
			continue
		}
		if key(x) != k {
			return nil, false
		}
	}
	return perm, true
}
