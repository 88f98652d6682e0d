package graphql

import (
	"bytes"
	"encoding/json"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/strata-dev/strata/engine/metadata"
)

// The allow-list (HASURA_GRAPHQL_ENABLE_ALLOWLIST): a non-admin request
// runs only if its document, normalized, is one of the queries of an
// allow-listed query collection, as Hasura's allowlistAllowsQuery decides.
// Normalizing parses the document and drops every __typename field, so
// whitespace, comments and typenames a client library adds do not
// matter; anything else (names, aliases, arguments, order) does.
//
// Collections scoped to roles count for those roles too: Hasura CE
// ignores them (its mode is "global only"), EE honours them; we follow EE,
// which is what role-based allow-lists in metadata mean.

// allowlist is the inlined allow-list of one metadata snapshot.
type allowlist struct {
	global map[string]bool
	roles  map[string]map[string]bool
}

func (a *allowlist) allows(role string, doc *ast.QueryDocument) bool {
	q := normalizedQuery(doc)
	return a.global[q] || a.roles[role][q]
}

// allowlistOf inlines md's allow-list: collection names to their queries.
// Queries that do not parse cannot match anything and are skipped.
func allowlistOf(md *metadata.Metadata) *allowlist {
	a := &allowlist{global: map[string]bool{}, roles: map[string]map[string]bool{}}
	var collections []struct {
		Name       string `json:"name"`
		Definition struct {
			Queries []struct {
				Query string `json:"query"`
			} `json:"queries"`
		} `json:"definition"`
	}
	var entries []struct {
		Collection string `json:"collection"`
		Scope      *struct {
			Global bool     `json:"global"`
			Roles  []string `json:"roles"`
		} `json:"scope"`
	}
	if md == nil || json.Unmarshal(md.QueryCollections, &collections) != nil || json.Unmarshal(md.Allowlist, &entries) != nil {
		return a
	}
	queries := map[string][]string{}
	for _, c := range collections {
		for _, q := range c.Definition.Queries {
			if doc, err := parser.ParseQuery(&ast.Source{Input: q.Query}); err == nil {
				queries[c.Name] = append(queries[c.Name], normalizedQuery(doc))
			}
		}
	}
	for _, e := range entries {
		if e.Scope == nil || e.Scope.Global {
			for _, q := range queries[e.Collection] {
				a.global[q] = true
			}
			continue
		}
		for _, role := range e.Scope.Roles {
			if a.roles[role] == nil {
				a.roles[role] = map[string]bool{}
			}
			for _, q := range queries[e.Collection] {
				a.roles[role][q] = true
			}
		}
	}
	return a
}

// normalizedQuery prints doc canonically without its __typename fields.
// It works on a copy of the selection sets: doc is the caller's.
func normalizedQuery(doc *ast.QueryDocument) string {
	out := &ast.QueryDocument{}
	for _, op := range doc.Operations {
		c := *op
		c.SelectionSet = withoutTypename(op.SelectionSet)
		out.Operations = append(out.Operations, &c)
	}
	for _, f := range doc.Fragments {
		c := *f
		c.SelectionSet = withoutTypename(f.SelectionSet)
		out.Fragments = append(out.Fragments, &c)
	}
	var b bytes.Buffer
	formatter.NewFormatter(&b, formatter.WithIndent(" ")).FormatQueryDocument(out)
	return b.String()
}

func withoutTypename(set ast.SelectionSet) ast.SelectionSet {
	out := make(ast.SelectionSet, 0, len(set))
	for _, s := range set {
		switch x := s.(type) {
		case *ast.Field:
			if x.Name == "__typename" {
				continue
			}
			c := *x
			c.SelectionSet = withoutTypename(x.SelectionSet)
			out = append(out, &c)
		case *ast.InlineFragment:
			c := *x
			c.SelectionSet = withoutTypename(x.SelectionSet)
			out = append(out, &c)
		default:
			out = append(out, s)
		}
	}
	return out
}

// allowed is the snapshot's allow-list, inlined on first use.
func (st *modelState) allowed() *allowlist {
	st.allowOnce.Do(func() { st.allow = allowlistOf(st.model.Snapshot.Metadata) })
	return st.allow
}
