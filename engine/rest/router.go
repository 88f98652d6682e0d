package rest

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/strata-dev/strata/engine/metadata"
)

// methodOrder is Hasura's EndpointMethod order, used wherever methods
// are listed.
var methodOrder = []string{"GET", "POST", "PUT", "DELETE", "PATCH"}

// endpoint is a REST endpoint whose query resolved.
type endpoint struct {
	Name    string
	URL     string // the template: author/:id
	Methods []string
	Comment *string
	Query   string // the stored query's text
	// doc is the parsed query; nil when it does not parse (the GraphQL
	// engine then reports why when the endpoint is called).
	doc *ast.QueryDocument
	// params are the template's variable names, in order.
	params []string
}

// router matches request paths against the endpoints' URL templates the
// way Hasura's endpoint trie does (RQL/Types/Endpoint/Trie.hs).
type router struct {
	root      *node
	endpoints []*endpoint // in metadata order
}

type node struct {
	lit   map[string]*node
	param *node
	// methods maps a method to the endpoints serving it at this node;
	// nil for a node no template ends at.
	methods map[string][]*endpoint
}

func (n *node) child(seg string) *node {
	if strings.HasPrefix(seg, ":") {
		if n.param == nil {
			n.param = &node{}
		}
		return n.param
	}
	if n.lit == nil {
		n.lit = map[string]*node{}
	}
	c := n.lit[seg]
	if c == nil {
		c = &node{}
		n.lit[seg] = c
	}
	return c
}

// The raw metadata entries, as the metadata API stores them.
type rawEndpoint struct {
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	Methods    []string `json:"methods"`
	Comment    *string  `json:"comment"`
	Definition struct {
		Query struct {
			CollectionName string `json:"collection_name"`
			QueryName      string `json:"query_name"`
		} `json:"query"`
	} `json:"definition"`
}

type rawCollection struct {
	Name       string `json:"name"`
	Definition struct {
		Queries []struct {
			Name  string `json:"name"`
			Query string `json:"query"`
		} `json:"queries"`
	} `json:"definition"`
}

// buildRouter resolves the metadata's REST endpoints against its query
// collections. An endpoint whose collection or query is missing, whose
// query has no definition or is a subscription is inconsistent: Hasura
// leaves it out of the router, so it answers "Endpoint not found".
func buildRouter(md *metadata.Metadata) *router {
	r := &router{root: &node{}}
	if md == nil {
		return r
	}
	var eps []rawEndpoint
	var cols []rawCollection
	_ = json.Unmarshal(md.RestEndpoints, &eps)
	_ = json.Unmarshal(md.QueryCollections, &cols)
	queries := map[[2]string]string{}
	for _, c := range cols {
		for _, q := range c.Definition.Queries {
			k := [2]string{c.Name, q.Name}
			if _, dup := queries[k]; !dup {
				queries[k] = q.Query
			}
		}
	}
	for _, raw := range eps {
		q, ok := queries[[2]string{raw.Definition.Query.CollectionName, raw.Definition.Query.QueryName}]
		if !ok || raw.URL == "" {
			continue
		}
		ep := &endpoint{Name: raw.Name, URL: raw.URL, Methods: raw.Methods, Comment: raw.Comment, Query: q}
		if doc, err := parser.ParseQuery(&ast.Source{Input: q}); err == nil {
			if len(doc.Operations)+len(doc.Fragments) == 0 {
				continue
			}
			if len(doc.Operations) == 1 && len(doc.Fragments) == 0 && doc.Operations[0].Operation == ast.Subscription {
				continue
			}
			ep.doc = doc
		}
		n := r.root
		for _, seg := range strings.Split(raw.URL, "/") {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				ep.params = append(ep.params, name)
			}
			n = n.child(seg)
		}
		if n.methods == nil {
			n.methods = map[string][]*endpoint{}
		}
		for _, m := range raw.Methods {
			if !slices.Contains(n.methods[m], ep) {
				n.methods[m] = append(n.methods[m], ep)
			}
		}
		r.endpoints = append(r.endpoints, ep)
	}
	return r
}

// matchKind is the outcome of a match, as Hasura's MatchResult.
type matchKind int

const (
	matchNotFound matchKind = iota
	matchMissingKey
	matchFound
	matchAmbiguous
)

type match struct {
	kind    matchKind
	ep      *endpoint
	values  []string // the path's values of the template's variables
	allowed []string // matchMissingKey: the methods the path does serve
}

// combine is MatchResult's semigroup: two hits are ambiguous, a hit
// beats a path served with other methods, whose methods add up.
func combine(a, b match) match {
	switch {
	case a.kind == matchAmbiguous || b.kind == matchAmbiguous:
		return match{kind: matchAmbiguous}
	case a.kind == matchFound && b.kind == matchFound:
		return match{kind: matchAmbiguous}
	case a.kind == matchFound:
		return a
	case b.kind == matchFound:
		return b
	case a.kind == matchMissingKey && b.kind == matchMissingKey:
		return match{kind: matchMissingKey, allowed: append(append([]string(nil), a.allowed...), b.allowed...)}
	case a.kind == matchNotFound:
		return b
	}
	return a
}

// match finds the endpoint for a method and the path's segments. Every
// template the path fits counts: a literal segment does not take
// precedence over a variable (creating endpoints refuses templates that
// could both match a request).
func (r *router) match(method string, segs []string) match {
	out := match{kind: matchNotFound}
	var walk func(n *node, i int, values []string)
	walk = func(n *node, i int, values []string) {
		if i == len(segs) {
			if n.methods != nil {
				out = combine(out, result(n, method, values))
			}
			return
		}
		if c := n.lit[segs[i]]; c != nil {
			walk(c, i+1, values)
		}
		if n.param != nil {
			walk(n.param, i+1, append(values[:len(values):len(values)], segs[i]))
		}
	}
	walk(r.root, 0, nil)
	return out
}

func result(n *node, method string, values []string) match {
	switch eps := n.methods[method]; len(eps) {
	case 0:
		var allowed []string
		for _, m := range methodOrder {
			if len(n.methods[m]) > 0 {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) == 0 {
			return match{kind: matchNotFound}
		}
		return match{kind: matchMissingKey, allowed: allowed}
	case 1:
		return match{kind: matchFound, ep: eps[0], values: values}
	}
	return match{kind: matchAmbiguous}
}
