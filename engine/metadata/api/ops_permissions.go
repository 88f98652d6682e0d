package api

import (
	"context"
	"encoding/json"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/auth"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// permKind knows one kind of permission's place in a table.
type permKind interface {
	name() string
	has(tbl *metadata.Table, role string) bool
	add(tbl *metadata.Table, role string, raw json.RawMessage, comment *string) error
	drop(tbl *metadata.Table, role string) bool
	setComment(tbl *metadata.Table, role string, comment *string) bool
}

// perms implements permKind over one of Table's permission lists.
type perms[P metadata.InsertPermission | metadata.SelectPermission | metadata.UpdatePermission | metadata.DeletePermission] struct {
	kind string
	list func(*metadata.Table) *[]*metadata.Permission[P]
}

func (k perms[P]) name() string { return k.kind }

func (k perms[P]) find(tbl *metadata.Table, role string) *metadata.Permission[P] {
	for _, p := range *k.list(tbl) {
		if p.Role == role {
			return p
		}
	}
	return nil
}

func (k perms[P]) has(tbl *metadata.Table, role string) bool { return k.find(tbl, role) != nil }

func (k perms[P]) add(tbl *metadata.Table, role string, raw json.RawMessage, comment *string) error {
	body, err := metadata.ParsePermissionBody[P](raw)
	if err != nil {
		return err
	}
	l := k.list(tbl)
	*l = append(*l, &metadata.Permission[P]{Role: role, Permission: body, Comment: comment})
	return nil
}

func (k perms[P]) drop(tbl *metadata.Table, role string) bool {
	l := k.list(tbl)
	for i, p := range *l {
		if p.Role == role {
			*l = append((*l)[:i], (*l)[i+1:]...)
			return true
		}
	}
	return false
}

func (k perms[P]) setComment(tbl *metadata.Table, role string, comment *string) bool {
	p := k.find(tbl, role)
	if p != nil {
		p.Comment = comment
	}
	return p != nil
}

var (
	insertPerms permKind = perms[metadata.InsertPermission]{"insert", func(t *metadata.Table) *[]*metadata.Permission[metadata.InsertPermission] {
		return &t.InsertPermissions
	}}
	selectPerms permKind = perms[metadata.SelectPermission]{"select", func(t *metadata.Table) *[]*metadata.Permission[metadata.SelectPermission] {
		return &t.SelectPermissions
	}}
	updatePerms permKind = perms[metadata.UpdatePermission]{"update", func(t *metadata.Table) *[]*metadata.Permission[metadata.UpdatePermission] {
		return &t.UpdatePermissions
	}}
	deletePerms permKind = perms[metadata.DeletePermission]{"delete", func(t *metadata.Table) *[]*metadata.Permission[metadata.DeletePermission] {
		return &t.DeletePermissions
	}}
	permKinds = map[string]permKind{"insert": insertPerms, "select": selectPerms, "update": updatePerms, "delete": deletePerms}
)

type permissionArgs struct {
	Source     string                 `json:"source"`
	Table      metadata.QualifiedName `json:"table"`
	Role       string                 `json:"role"`
	Permission json.RawMessage        `json:"permission"`
	Comment    *string                `json:"comment"`
	Type       string                 `json:"type"` // set_permission_comment
}

func (t *txn) permissionTable(ctx context.Context, req *request, a *permissionArgs) (*metadata.Table, *metadata.Source, error) {
	if err := decodeArgs(req.Args, a); err != nil {
		return nil, nil, err
	}
	if a.Role == "" {
		return nil, nil, badRequest(apierr.CodeParseFailed, `key "role" not found`)
	}
	src, _, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
	return tbl, src, err
}

func createPermission(k permKind) opFunc {
	return func(ctx context.Context, t *txn, req *request) (any, error) {
		var a permissionArgs
		tbl, src, err := t.permissionTable(ctx, req, &a)
		if err != nil {
			return nil, err
		}
		// admin holds every permission implicitly, so Hasura answers as if
		// one were defined.
		if a.Role == auth.AdminRole || k.has(tbl, a.Role) {
			return nil, badRequest(apierr.CodeAlreadyExists, "%s permission already defined on table %q with role %q", k.name(), schemacache.DisplayName(a.Table), a.Role)
		}
		if err := k.add(tbl, a.Role, a.Permission, a.Comment); err != nil {
			sub, msg := metadata.Within(err)
			return nil, badRequest(apierr.CodeParseFailed, "%s", msg).WithPath("$.args.permission" + sub)
		}
		t.changed = true
		t.target = schemacache.PermissionObject(src.Name, a.Table, a.Role, k.name())
		return success, nil
	}
}

func dropPermission(k permKind) opFunc {
	return func(ctx context.Context, t *txn, req *request) (any, error) {
		var a permissionArgs
		tbl, _, err := t.permissionTable(ctx, req, &a)
		if err != nil {
			return nil, err
		}
		if !k.drop(tbl, a.Role) {
			return nil, notExists("%s permission on %q for role %q does not exist", k.name(), schemacache.DisplayName(a.Table), a.Role)
		}
		t.changed = true
		return success, nil
	}
}

func setPermissionComment(ctx context.Context, t *txn, req *request) (any, error) {
	var a permissionArgs
	tbl, _, err := t.permissionTable(ctx, req, &a)
	if err != nil {
		return nil, err
	}
	k, ok := permKinds[a.Type]
	if !ok {
		return nil, badRequest(apierr.CodeParseFailed, "expected one of insert, select, update, delete for type, encountered %q", a.Type).WithPath("$.args.type")
	}
	if !k.setComment(tbl, a.Role, a.Comment) {
		return nil, notExists("%s permission on %q for role %q does not exist", k.name(), schemacache.DisplayName(a.Table), a.Role)
	}
	t.changed = true
	return success, nil
}
