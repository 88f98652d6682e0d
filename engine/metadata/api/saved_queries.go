package api

// Saved queries as schema-cache objects: every query of every collection
// is checked against the admin schema each time the schema cache is
// built, and one that no longer fits is an inconsistent object, as in
// Hasura's getInconsistentQueryCollections (RQL/Types/SchemaCache/Build.hs).
// An operation that makes one inconsistent fails; get_inconsistent_metadata
// and /healthz report those made so by changes outside the engine.

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/strata-dev/strata/engine/metadata"
	"github.com/strata-dev/strata/engine/schema"
	"github.com/strata-dev/strata/engine/schemacache"
)

// validateSavedQueries is the schema cache's validator: the inconsistent
// objects of snap's saved queries, in collection order. With no saved
// query it builds nothing.
func validateSavedQueries(ctx context.Context, snap *schemacache.Snapshot) []schemacache.InconsistentObject {
	queries := savedQueries(snap.Metadata)
	if len(queries) == 0 {
		return nil
	}
	// The snapshot holds the enum rows its build read (through the
	// request's transactions): building the schema reads no database.
	admin := schema.NewModel(snap).Role("admin", false).AST
	inAllowlist := globalAllowlist(snap.Metadata)
	var out []schemacache.InconsistentObject
	for _, q := range queries {
		errs := diagnoseQuery(admin, q.doc)
		if len(errs) == 0 {
			continue
		}
		reason := `In query collection "` + q.collection + `" the query "` + q.Name + `" is invalid with the following error(s): ` + dquoteList(errs)
		if eps := endpointsRunning(snap.Metadata, q.Query); len(eps) > 0 {
			reason += ". This query is being used in the following REST endpoint(s): " + dquoteList(eps)
		}
		if inAllowlist[printQuery(q.doc, false)] {
			reason += ". This query is in allowlist."
		}
		out = append(out, schemacache.InconsistentObject{
			Definition: q.listedQuery,
			Reason:     "Inconsistent object: " + reason,
			Name:       savedQueryObject(q.collection, q.Name),
			Type:       "query_collections",
		})
	}
	return out
}

// savedQueryObject names a saved query in inconsistencies.
func savedQueryObject(collection, query string) string {
	return "query_collections " + query + " in " + collection
}

// savedQuery is one query of a collection, parsed.
type savedQuery struct {
	listedQuery
	collection string
	doc        *ast.QueryDocument
}

// savedQueries lists md's queries in collection order. A query that does
// not parse is left out: operations store only queries that parse.
func savedQueries(md *metadata.Metadata) []savedQuery {
	cols, err := loadSection[queryCollection](md.QueryCollections, "query_collections")
	if err != nil {
		return nil
	}
	var out []savedQuery
	for _, c := range cols {
		if !c.ok {
			continue
		}
		for _, raw := range c.val.Definition.Queries {
			var q listedQuery
			if json.Unmarshal(raw, &q) != nil {
				continue
			}
			doc, err := parser.ParseQuery(&ast.Source{Input: q.Query})
			if err != nil {
				continue
			}
			out = append(out, savedQuery{listedQuery: q, collection: c.val.Name, doc: doc})
		}
	}
	return out
}

// endpointsRunning names the REST endpoints that serve exactly this query
// text, once per method, as Hasura lists them from its (per-method)
// endpoint table. Endpoints that do not resolve serve nothing.
func endpointsRunning(md *metadata.Metadata, query string) []string {
	eps, err := loadSection[restEndpoint](md.RestEndpoints, "rest_endpoints")
	if err != nil || len(eps) == 0 {
		return nil
	}
	cols, err := loadSection[queryCollection](md.QueryCollections, "query_collections")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range eps {
		if !e.ok {
			continue
		}
		if q, reason := resolveEndpoint(e.val, cols); reason == "" && q == query {
			for range e.val.Methods {
				out = append(out, e.val.Name)
			}
		}
	}
	return out
}

// globalAllowlist is the set of the queries of collections allow-listed
// for every role, printed canonically without their __typename fields
// (Hasura's NormalizedQuery). A saved query is "in allowlist" when its
// own print is one of them: one that selects __typename never is.
func globalAllowlist(md *metadata.Metadata) map[string]bool {
	var entries []struct {
		Collection string `json:"collection"`
		Scope      *struct {
			Global bool `json:"global"`
		} `json:"scope"`
	}
	if json.Unmarshal(md.Allowlist, &entries) != nil || len(entries) == 0 {
		return nil
	}
	global := map[string]bool{}
	for _, e := range entries {
		if e.Scope == nil || e.Scope.Global {
			global[e.Collection] = true
		}
	}
	out := map[string]bool{}
	for _, q := range savedQueries(md) {
		if global[q.collection] {
			out[printQuery(q.doc, true)] = true
		}
	}
	return out
}

// printQuery prints doc canonically, so that two documents differing
// only in layout print the same; normalized drops __typename fields where
// Hasura's normalizeQuery does (not inside fragments of a selection).
func printQuery(doc *ast.QueryDocument, normalized bool) string {
	if normalized {
		c := &ast.QueryDocument{}
		for _, op := range doc.Operations {
			o := *op
			o.SelectionSet = withoutTypename(op.SelectionSet)
			c.Operations = append(c.Operations, &o)
		}
		for _, f := range doc.Fragments {
			fc := *f
			fc.SelectionSet = withoutTypename(f.SelectionSet)
			c.Fragments = append(c.Fragments, &fc)
		}
		doc = c
	}
	var b bytes.Buffer
	formatter.NewFormatter(&b, formatter.WithIndent(" ")).FormatQueryDocument(doc)
	return b.String()
}

func withoutTypename(set ast.SelectionSet) ast.SelectionSet {
	out := make(ast.SelectionSet, 0, len(set))
	for _, s := range set {
		f, ok := s.(*ast.Field)
		if !ok {
			out = append(out, s)
			continue
		}
		if f.Name == "__typename" {
			continue
		}
		c := *f
		c.SelectionSet = withoutTypename(f.SelectionSet)
		out = append(out, &c)
	}
	return out
}
