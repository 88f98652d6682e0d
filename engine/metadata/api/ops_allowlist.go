package api

// The allowlist: which query collections may run, and for which roles.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
)

// parseScope reads an AllowlistScope: {global: true} or {global: false,
// roles: [...]}.
func parseScope(raw json.RawMessage, path string) (allowlistScope, error) {
	o, err := asObject(raw, path)
	if err != nil {
		return allowlistScope{}, parseFailed(path, "parsing AllowlistScope failed, expected Object, but encountered %s", aeson.Kind(raw))
	}
	global, err := o.boolean("global")
	if err != nil {
		return allowlistScope{}, err
	}
	if global {
		if o.present("roles") {
			if _, err := o.names("roles", true); err != nil {
				return allowlistScope{}, err
			}
			return allowlistScope{}, parseFailed(path, "roles are not allowed when global is true")
		}
		return allowlistScope{Global: true}, nil
	}
	roles, err := o.names("roles", true)
	if err != nil {
		return allowlistScope{}, err
	}
	if len(duplicates(roles)) > 0 {
		return allowlistScope{}, parseFailed(path, "duplicate roles are not allowed")
	}
	return allowlistScope{Roles: roles}, nil
}

// collectionAndScope reads {collection, scope}; scope defaults to global
// unless required.
func collectionAndScope(req *request, scopeRequired bool) (string, allowlistScope, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return "", allowlistScope{}, err
	}
	name, err := o.name("collection")
	if err != nil {
		return "", allowlistScope{}, err
	}
	scope := allowlistScope{Global: true}
	if scopeRequired {
		if _, err := o.require("scope"); err != nil {
			return "", allowlistScope{}, err
		}
	}
	if _, ok := o.m["scope"]; ok && (scopeRequired || !isNull(o.m["scope"])) {
		if scope, err = parseScope(o.m["scope"], o.at("scope")); err != nil {
			return "", allowlistScope{}, err
		}
	}
	return name, scope, nil
}

// assertCollectionDefined is Hasura's check, at $.args.collection.
func (t *txn) assertCollectionDefined(name string) error {
	cols, err := t.collections()
	if err != nil {
		return err
	}
	if cols.find(byCollectionName(name)) < 0 {
		return collectionNotExists(name).WithPath("$.args.collection")
	}
	return nil
}

func addCollectionToAllowlist(_ context.Context, t *txn, req *request) (any, error) {
	name, scope, err := collectionAndScope(req, false)
	if err != nil {
		return nil, err
	}
	if err := t.assertCollectionDefined(name); err != nil {
		return nil, err
	}
	al, err := t.allowlist()
	if err != nil {
		return nil, err
	}
	if al.find(inAllowlist(name)) >= 0 {
		// Hasura answers 200 with this message and changes nothing.
		return map[string]string{"message": fmt.Sprintf("collection \"%s\" already exists in the allowlist, scope ignored;"+
			" to change scope, use update_scope_of_collection_in_allowlist", name)}, nil
	}
	if err := al.add(allowlistEntry{Collection: name, Scope: scope}).store(&t.md.Allowlist); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}

func notInAllowlist(name string) *apierr.Error {
	return badRequest(apierr.CodeNotFound, "collection \"%s\" doesn't exist in the allowlist", name)
}

func dropCollectionFromAllowlist(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	name, err := o.name("collection")
	if err != nil {
		return nil, err
	}
	if err := t.assertCollectionDefined(name); err != nil {
		return nil, err
	}
	al, err := t.allowlist()
	if err != nil {
		return nil, err
	}
	if al.find(inAllowlist(name)) < 0 {
		return nil, notInAllowlist(name)
	}
	if err := al.removeIf(inAllowlist(name)).store(&t.md.Allowlist); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}

func updateScopeOfCollectionInAllowlist(_ context.Context, t *txn, req *request) (any, error) {
	name, scope, err := collectionAndScope(req, true)
	if err != nil {
		return nil, err
	}
	if err := t.assertCollectionDefined(name); err != nil {
		return nil, err
	}
	al, err := t.allowlist()
	if err != nil {
		return nil, err
	}
	i := al.find(inAllowlist(name))
	if i < 0 {
		return nil, notInAllowlist(name)
	}
	al[i].val.Scope = scope
	al[i].raw = nil
	if err := al.store(&t.md.Allowlist); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}
