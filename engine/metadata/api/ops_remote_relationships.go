package api

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/catalog"
	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schemacache"
)

// Remote relationships from a table to a table of another source
// (`to_source`), as Hasura's RQL/DDL/RemoteRelationship.hs: create and
// update put the relationship under its name (create replaces one of the
// same name, as Hasura's insert does), delete removes it.

func init() {
	for _, prefix := range []string{"", "pg_"} {
		metadataOps[prefix+"create_remote_relationship"] = putRemoteRelationship(false)
		metadataOps[prefix+"update_remote_relationship"] = putRemoteRelationship(true)
		metadataOps[prefix+"delete_remote_relationship"] = deleteRemoteRelationship
	}
}

type remoteRelationshipArgs struct {
	Source     string                 `json:"source"`
	Table      metadata.QualifiedName `json:"table"`
	Name       string                 `json:"name"`
	Definition json.RawMessage        `json:"definition"`
}

func putRemoteRelationship(update bool) opFunc {
	return func(ctx context.Context, t *txn, req *request) (any, error) {
		var a remoteRelationshipArgs
		if err := decodeArgs(req.Args, &a); err != nil {
			return nil, err
		}
		if a.Name == "" {
			return nil, badRequest(apierr.CodeParseFailed, `key "name" not found`)
		}
		if isNull(a.Definition) {
			return nil, badRequest(apierr.CodeParseFailed, "create_remote_relationship expects exactly one of: remote_schema, definition")
		}
		ts, err := metadata.ParseToSource(a.Definition)
		if err != nil {
			pe := err.(*metadata.ParseError)
			return nil, apierr.BadRequest(apierr.CodeParseFailed, "%s", pe.Message).WithPath("$.args.definition" + pe.Path[1:])
		}
		src, cat, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
		if err != nil {
			return nil, err
		}
		rels := tbl.RemoteRelationshipList()
		i := slices.IndexFunc(rels, func(r metadata.RemoteRelationship) bool { return r.Name == a.Name })
		if update && i < 0 {
			return nil, notExists("remote relationship %q does not exist in table %q", a.Name, schemacache.DisplayName(a.Table))
		}
		if _, _, clash := findRelationship(tbl, a.Name); clash {
			return nil, badRequest(apierr.CodeAlreadyExists, "relationship %q already exists in table %q", a.Name, schemacache.DisplayName(a.Table))
		}
		if err := t.checkToSource(ctx, req, ts, cat, a.Table); err != nil {
			return nil, err
		}
		def, _ := json.Marshal(map[string]metadata.ToSource{"to_source": ts})
		if i < 0 {
			rels = append(rels, metadata.RemoteRelationship{Name: a.Name, Definition: def})
		} else {
			rels[i].Definition = def
		}
		tbl.SetRemoteRelationships(rels)
		t.changed = true
		t.target = "remote relationship " + a.Name + " of " + schemacache.DisplayName(a.Table) + " in source " + src.Name
		return success, nil
	}
}

// checkToSource: the target is a tracked table of an existing source and
// the mapping's columns exist on both sides (when the catalogs are at
// hand).
func (t *txn) checkToSource(ctx context.Context, req *request, ts metadata.ToSource, here *catalog.Catalog, table metadata.QualifiedName) error {
	_, there, _, err := t.trackedTableOf(ctx, req, ts.Source, ts.Table)
	if err != nil {
		return err
	}
	for _, side := range []struct {
		cat   *catalog.Catalog
		table metadata.QualifiedName
		col   func([2]string) string
	}{{here, table, func(p [2]string) string { return p[0] }}, {there, ts.Table, func(p [2]string) string { return p[1] }}} {
		if side.cat == nil {
			continue
		}
		ct, ok := side.cat.Table(side.table.Schema, side.table.Name)
		if !ok {
			continue
		}
		for _, p := range ts.Pairs() {
			if _, ok := ct.Column(side.col(p)); !ok {
				return notExists("column %q does not exist in table %q", side.col(p), schemacache.DisplayName(side.table))
			}
		}
	}
	return nil
}

func deleteRemoteRelationship(ctx context.Context, t *txn, req *request) (any, error) {
	var a remoteRelationshipArgs
	if err := decodeArgs(req.Args, &a); err != nil {
		return nil, err
	}
	_, _, tbl, err := t.trackedTableOf(ctx, req, a.Source, a.Table)
	if err != nil {
		return nil, err
	}
	rels := tbl.RemoteRelationshipList()
	i := slices.IndexFunc(rels, func(r metadata.RemoteRelationship) bool { return r.Name == a.Name })
	if i < 0 {
		return nil, notExists("remote relationship %q does not exist in table %q", a.Name, schemacache.DisplayName(a.Table))
	}
	tbl.SetRemoteRelationships(slices.Delete(rels, i, i+1))
	t.changed = true
	return success, nil
}
