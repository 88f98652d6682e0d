package api

import (
	"context"
	"encoding/json"

	"github.com/strata-dev/strata/engine/apierr"
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
	_, r, list, err := t.relationship(ctx, req, &a)
	if err != nil {
		return nil, err
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
