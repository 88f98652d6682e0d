package api

// Query collections: create/drop a collection, add/drop a query in one.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
)

func createQueryCollection(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	name, err := o.name("name")
	if err != nil {
		return nil, err
	}
	def, err := o.object("definition")
	if err != nil {
		return nil, err
	}
	items, err := def.array("queries")
	if err != nil {
		return nil, err
	}
	queries := make([]json.RawMessage, 0, len(items))
	var names []string
	for i, it := range items {
		q, err := asObject(it, fmt.Sprintf("%s[%d]", def.at("queries"), i))
		if err != nil {
			return nil, err
		}
		lq, err := parseListedQuery(q, "name", "query")
		if err != nil {
			return nil, err
		}
		b, err := aeson.Marshal(lq)
		if err != nil {
			return nil, err
		}
		queries = append(queries, b)
		names = append(names, lq.Name)
	}
	comment, err := o.optText("comment")
	if err != nil {
		return nil, err
	}
	cols, err := t.collections()
	if err != nil {
		return nil, err
	}
	if cols.find(byCollectionName(name)) >= 0 {
		return nil, badRequest(apierr.CodeAlreadyExists, "query collection with name \"%s\" already exists", name).WithPath("$.args.name")
	}
	if dups := duplicates(names); len(dups) > 0 {
		return nil, badRequest(apierr.CodeNotSupported, "found duplicate query names %s", dquoteList(dups)).WithPath("$.args.definition.queries")
	}
	cols = cols.add(queryCollection{Name: name, Definition: collectionDef{Queries: queries}, Comment: comment})
	if err := cols.store(&t.md.QueryCollections); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}

func parseListedQuery(o jobj, nameKey, queryKey string) (listedQuery, error) {
	name, err := o.name(nameKey)
	if err != nil {
		return listedQuery{}, err
	}
	query, err := o.gqlQuery(queryKey)
	if err != nil {
		return listedQuery{}, err
	}
	return listedQuery{Name: name, Query: query}, nil
}

// duplicates lists the names that occur more than once, in order of first
// occurrence.
func duplicates(names []string) []string {
	seen := map[string]int{}
	var out []string
	for _, n := range names {
		seen[n]++
		if seen[n] == 2 {
			out = append(out, n)
		}
	}
	return out
}

// collectionNotExists is getCollectionDef's error.
func collectionNotExists(name string) *apierr.Error {
	return notExists("query collection with name \"%s\" does not exist", name)
}

func dropQueryCollection(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	name, err := o.name("collection")
	if err != nil {
		return nil, err
	}
	cascade, err := o.boolean("cascade")
	if err != nil {
		return nil, err
	}
	cols, err := t.collections()
	if err != nil {
		return nil, err
	}
	if cols.find(byCollectionName(name)) < 0 {
		return nil, collectionNotExists(name).WithPath("$.args.collection")
	}
	al, err := t.allowlist()
	if err != nil {
		return nil, err
	}
	if al.find(inAllowlist(name)) >= 0 && !cascade {
		return nil, badRequest("dependency-error", "query collection with name \"%s\" is present in the allowlist; cannot proceed to drop. "+
			"please use cascade to confirm you wish to drop it from the allowlist as well", name).WithPath("$.args.collection")
	}
	eps, err := t.restEndpoints()
	if err != nil {
		return nil, err
	}
	usesCollection := func(e *restEndpoint) bool { return e.Definition.Query.CollectionName == name }
	if users := endpointNames(eps, usesCollection); len(users) > 0 && !cascade {
		return nil, badRequest("dependency-error", "query collection with name \"%s\" is used by the rest endpoint(s) %s; cannot proceed to drop. "+
			"please use cascade to confirm you wish to drop the rest endpoint(s) as well", name, dquoteList(users)).WithPath("$.args.collection")
	}
	if err := al.removeIf(inAllowlist(name)).store(&t.md.Allowlist); err != nil {
		return nil, err
	}
	if err := eps.removeIf(usesCollection).store(&t.md.RestEndpoints); err != nil {
		return nil, err
	}
	if err := cols.removeIf(byCollectionName(name)).store(&t.md.QueryCollections); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}

func endpointNames(eps section[restEndpoint], match func(*restEndpoint) bool) []string {
	var out []string
	for _, e := range eps {
		if e.ok && match(&e.val) {
			out = append(out, e.val.Name)
		}
	}
	return out
}

func addQueryToCollection(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	collName, err := o.name("collection_name")
	if err != nil {
		return nil, err
	}
	lq, err := parseListedQuery(o, "query_name", "query")
	if err != nil {
		return nil, err
	}
	cols, err := t.collections()
	if err != nil {
		return nil, err
	}
	i := cols.find(byCollectionName(collName))
	if i < 0 {
		return nil, collectionNotExists(collName)
	}
	c := cols[i]
	if _, ok := c.val.findQuery(lq.Name); ok {
		return nil, badRequest(apierr.CodeAlreadyExists, "query with name \"%s\" already exists in collection \"%s\"", lq.Name, collName)
	}
	b, err := aeson.Marshal(lq)
	if err != nil {
		return nil, err
	}
	c.val.Definition.Queries = append(c.val.Definition.Queries, b)
	c.raw = nil
	if err := cols.store(&t.md.QueryCollections); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}

func dropQueryFromCollection(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	collName, err := o.name("collection_name")
	if err != nil {
		return nil, err
	}
	queryName, err := o.name("query_name")
	if err != nil {
		return nil, err
	}
	cols, err := t.collections()
	if err != nil {
		return nil, err
	}
	i := cols.find(byCollectionName(collName))
	if i < 0 {
		return nil, collectionNotExists(collName)
	}
	c := cols[i]
	if _, ok := c.val.findQuery(queryName); !ok {
		return nil, badRequest(apierr.CodeNotFound, "query with name \"%s\" not found in collection \"%s\"", queryName, collName)
	}
	eps, err := t.restEndpoints()
	if err != nil {
		return nil, err
	}
	if users := endpointNames(eps, func(e *restEndpoint) bool {
		return e.Definition.Query.CollectionName == collName && e.Definition.Query.QueryName == queryName
	}); len(users) > 0 {
		return nil, badRequest("dependency-error", "query with name \"%s\" in collection \"%s\" is used by the rest endpoint(s) %s; cannot proceed to drop",
			queryName, collName, dquoteList(users))
	}
	kept := make([]json.RawMessage, 0, len(c.val.Definition.Queries))
	for _, q := range c.val.Definition.Queries {
		if queryNameOf(q) != queryName {
			kept = append(kept, q)
		}
	}
	c.val.Definition.Queries = kept
	c.raw = nil
	if err := cols.store(&t.md.QueryCollections); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}
