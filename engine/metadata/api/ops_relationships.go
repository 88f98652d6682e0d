package api

import (
	"context"
	"encoding/json"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

type relationshipArgs struct {
	Source  string                 `json:"source"`
	Table   metadata.QualifiedName `json:"table"`
	Name    string                 `json:"name"`
	Using   json.RawMessage        `json:"using"`
	Comment *string                `json:"comment"`
}

// createRelationship adds an object or array relationship. Whether it fits
// the database is decided by the consistency check at commit, which makes
// its error the operation's (invalid-configuration), as in Hasura.
func createRelationship(array bool) opFunc {
	return func(ctx context.Context, t *txn, req *request) (any, error) {
		var a relationshipArgs
		if err := decodeArgs(req.Args, &a); err != nil {
			return nil, err
		}
		if a.Name == "" {
			return nil, badRequest(apierr.CodeParseFailed, `key "name" not found`)
		}
		if isNull(a.Using) {
			return nil, badRequest(apierr.CodeParseFailed, `key "using" not found`)
		}
		if _, err := schemacache.ParseUsing(a.Using); err != nil {
			return nil, badRequest(apierr.CodeParseFailed, "%s", err.Error()).WithPath("$.args.using")
		}
		src, cat, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
		if err != nil {
			return nil, err
		}
		if _, _, ok := findRelationship(tbl, a.Name); ok {
			return nil, badRequest(apierr.CodeAlreadyExists, "relationship %q already exists in table %q", a.Name, schemacache.DisplayName(a.Table))
		}
		if cat != nil {
			if ct, ok := cat.Table(a.Table.Schema, a.Table.Name); ok {
				for _, c := range ct.Columns {
					if c.Name == a.Name {
						return nil, badRequest(apierr.CodeAlreadyExists, "column/relationship %q of table %q already exists", a.Name, schemacache.DisplayName(a.Table))
					}
				}
			}
		}
		r := &metadata.Relationship{Name: a.Name, Using: a.Using, Comment: a.Comment}
		if array {
			tbl.ArrayRelationships = append(tbl.ArrayRelationships, r)
		} else {
			tbl.ObjectRelationships = append(tbl.ObjectRelationships, r)
		}
		t.changed = true
		t.target = schemacache.RelationshipObject(src.Name, a.Table, array, a.Name)
		return success, nil
	}
}

// findRelationship returns a relationship of a table and the list holding it.
func findRelationship(tbl *metadata.Table, name string) (*metadata.Relationship, *[]*metadata.Relationship, bool) {
	for _, list := range []*[]*metadata.Relationship{&tbl.ObjectRelationships, &tbl.ArrayRelationships} {
		for _, r := range *list {
			if r.Name == name {
				return r, list, true
			}
		}
	}
	return nil, nil, false
}

type namedRelationshipArgs struct {
	Source       string                 `json:"source"`
	Table        metadata.QualifiedName `json:"table"`
	Relationship string                 `json:"relationship"`
	Name         string                 `json:"name"`
	NewName      string                 `json:"new_name"`
	Comment      *string                `json:"comment"`
	Cascade      bool                   `json:"cascade"`
}

// relationship finds the relationship named by args (`relationship` on
// drop, `name` on rename and comment).
func (t *txn) relationship(ctx context.Context, req *request, a *namedRelationshipArgs) (*metadata.Table, *metadata.Relationship, *[]*metadata.Relationship, error) {
	if err := decodeArgs(req.Args, a); err != nil {
		return nil, nil, nil, err
	}
	name := a.Relationship
	if name == "" {
		name = a.Name
	}
	_, _, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
	if err != nil {
		return nil, nil, nil, err
	}
	r, list, ok := findRelationship(tbl, name)
	if !ok {
		return nil, nil, nil, notExists("relationship %q does not exist in table %q", name, schemacache.DisplayName(a.Table))
	}
	return tbl, r, list, nil
}

func dropRelationship(ctx context.Context, t *txn, req *request) (any, error) {
	var a namedRelationshipArgs
	tbl, r, list, err := t.relationship(ctx, req, &a)
	if err != nil {
		return nil, err
	}
	// The permissions that filter through it go with it, with cascade.
	src, cat, err := t.source(ctx, t.sourceOf(req, a.Source))
	if err != nil {
		return nil, err
	}
	uses := func(p schemacache.PermissionDeps) bool {
		return p.DependsOn(func(d schemacache.Dependency) bool {
			return d.Kind == schemacache.DepRelationship && d.Table == tbl.Table && d.Name == r.Name
		})
	}
	if deps := permissionDependents(src, schemacache.PermissionDependencies(src, cat), uses, a.Cascade); len(deps) > 0 && !a.Cascade {
		return nil, dependencyError(deps)
	}
	*list = without(*list, r)
	t.changed = true
	return success, nil
}

func renameRelationship(ctx context.Context, t *txn, req *request) (any, error) {
	var a namedRelationshipArgs
	tbl, r, _, err := t.relationship(ctx, req, &a)
	if err != nil {
		return nil, err
	}
	if a.NewName == "" {
		return nil, badRequest(apierr.CodeParseFailed, `key "new_name" not found`)
	}
	if _, _, clash := findRelationship(tbl, a.NewName); clash {
		return nil, badRequest(apierr.CodeAlreadyExists, "relationship %q already exists in table %q", a.NewName, schemacache.DisplayName(tbl.Table))
	}
	src, cat, err := t.source(ctx, t.sourceOf(req, a.Source))
	if err != nil {
		return nil, err
	}
	renameRelationshipInPermissions(src, cat, tbl.Table, r.Name, a.NewName)
	r.Name = a.NewName
	t.changed = true
	return success, nil
}

func setRelationshipComment(ctx context.Context, t *txn, req *request) (any, error) {
	var a namedRelationshipArgs
	_, r, _, err := t.relationship(ctx, req, &a)
	if err != nil {
		return nil, err
	}
	r.Comment = a.Comment
	t.changed = true
	return success, nil
}

// renameRelationshipInPermissions renames a relationship of table in the
// boolean expressions of every permission that names it, on its own table
// or reaching it through other relationships and _exists, as Hasura's
// renameRelationshipInMetadata does. It runs before the rename: the walk
// follows relationships by their current names.
func renameRelationshipInPermissions(src *metadata.Source, cat *catalog.Catalog, table metadata.QualifiedName, from, to string) {
	if cat == nil {
		return // not connected: relationships cannot be followed
	}
	var walk func(cur metadata.QualifiedName, v any) any
	walk = func(cur metadata.QualifiedName, v any) any {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			switch k {
			case "_and", "_or", "$and", "$or":
				if list, ok := e.([]any); ok {
					for i := range list {
						list[i] = walk(cur, list[i])
					}
				}
			case "_not", "$not":
				e = walk(cur, e)
			case "_exists", "$exists":
				if x, ok := e.(map[string]any); ok {
					var other metadata.QualifiedName
					if raw, err := json.Marshal(x["_table"]); err == nil && json.Unmarshal(raw, &other) == nil {
						x["_where"] = walk(other, x["_where"])
					}
				}
			default:
				if remote, ok := remoteTable(src, cat, cur, k); ok {
					e = walk(remote, e)
					if cur == table && k == from {
						k = to
					}
				}
			}
			out[k] = e
		}
		return out
	}
	for _, tbl := range src.Tables {
		rewritePermissionExps(tbl, func(v any) any { return walk(tbl.Table, v) })
	}
}
