package api

// REST endpoints: a URL template bound to a query of a collection.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/schemacache"
)

var endpointMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH"}

func parseEndpoint(req *request) (restEndpoint, error) {
	var ep restEndpoint
	o, err := argsObject(req.Args)
	if err != nil {
		return ep, err
	}
	if ep.Name, err = o.name("name"); err != nil {
		return ep, err
	}
	if ep.URL, err = o.name("url"); err != nil {
		return ep, err
	}
	methods, err := o.array("methods")
	if err != nil {
		return ep, err
	}
	if len(methods) == 0 {
		return ep, parseFailed(o.at("methods"), "parsing NonEmpty failed, unexpected empty list")
	}
	for i, m := range methods {
		var s string
		if aeson.Kind(m) != "String" || json.Unmarshal(m, &s) != nil || !slices.Contains(endpointMethods, s) {
			return ep, parseFailed(fmt.Sprintf("%s[%d]", o.at("methods"), i),
				`expected one of the tags ["GET","POST","PUT","DELETE","PATCH"], but found tag %s`, bytes.TrimSpace(m))
		}
		ep.Methods = append(ep.Methods, s)
	}
	def, err := o.object("definition")
	if err != nil {
		return ep, err
	}
	ref, err := def.object("query")
	if err != nil {
		return ep, err
	}
	if ep.Definition.Query.CollectionName, err = ref.name("collection_name"); err != nil {
		return ep, err
	}
	if ep.Definition.Query.QueryName, err = ref.name("query_name"); err != nil {
		return ep, err
	}
	if ep.Comment, err = o.optText("comment"); err != nil {
		return ep, err
	}
	return ep, nil
}

func createRestEndpoint(_ context.Context, t *txn, req *request) (any, error) {
	ep, err := parseEndpoint(req)
	if err != nil {
		return nil, err
	}
	eps, err := t.restEndpoints()
	if err != nil {
		return nil, err
	}
	if eps.find(func(e *restEndpoint) bool { return e.Name == ep.Name }) >= 0 {
		return nil, badRequest(apierr.CodeAlreadyExists, "Endpoint with name: %s already exists", ep.Name)
	}
	cols, err := t.collections()
	if err != nil {
		return nil, err
	}
	if err := checkEndpoint(ep, eps, cols); err != nil {
		return nil, err
	}
	if err := eps.add(ep).store(&t.md.RestEndpoints); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}

// checkEndpoint finds the inconsistencies Hasura's schema cache would
// record for a new endpoint, and fails as its buildSchemaCacheFor does:
// invalid-configuration when the endpoint itself is inconsistent.
func checkEndpoint(ep restEndpoint, eps section[restEndpoint], cols section[queryCollection]) error {
	def, _ := aeson.Marshal(ep)
	own := func(reason string) error {
		e := badRequest(apierr.CodeInvalidConfig, "%s", reason)
		e.Internal = []schemacache.InconsistentObject{{
			Definition: json.RawMessage(def), Reason: reason, Name: "rest_endpoint " + ep.Name, Type: "rest_endpoint",
		}}
		return e
	}
	query, reason := resolveEndpoint(ep, cols)
	if reason != "" {
		return own("Inconsistent object: in endpoint " + ep.Name + ": " + reason)
	}
	segments := strings.Split(ep.URL, "/")
	for _, s := range segments {
		if s == "" || s == ":" {
			return own("Empty segments or unnamed variables are not allowed: " + ep.URL)
		}
	}
	seen := map[string]bool{}
	for _, s := range segments {
		if strings.HasPrefix(s, ":") {
			if seen[s] {
				return own("Duplicate variables found in endpoint path: " + ep.URL)
			}
			seen[s] = true
		}
	}
	return checkAmbiguity(ep, query, eps, cols)
}

// resolveEndpoint finds the query an endpoint runs; reason says why it
// cannot be served.
func resolveEndpoint(ep restEndpoint, cols section[queryCollection]) (string, string) {
	ref := ep.Definition.Query
	i := cols.find(byCollectionName(ref.CollectionName))
	if i < 0 {
		return "", "collection with name " + ref.CollectionName + " does not exist"
	}
	q, ok := cols[i].val.findQuery(ref.QueryName)
	if !ok {
		return "", "query with name " + ref.QueryName + " does not exist in collection " + ref.CollectionName
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: q.Query})
	if err != nil {
		return q.Query, "" // stored without being parsed: nothing more to check
	}
	switch n := len(doc.Operations) + len(doc.Fragments); {
	case n == 0:
		return "", "query with name " + ref.QueryName + " has no definitions."
	case n > 1:
		return "", "query with name " + ref.QueryName + " has multiple definitions."
	case len(doc.Operations) == 1 && doc.Operations[0].Operation == ast.Subscription:
		return "", "query with name " + ref.QueryName + " is a subscription"
	}
	return q.Query, ""
}

// checkAmbiguity fails when a request could match the new endpoint and
// another one: same method, same number of segments, and each pair of
// segments equal or one of them a variable. Hasura groups the endpoints
// involved (by name) and reports the group on its first endpoint.
func checkAmbiguity(ep restEndpoint, query string, eps section[restEndpoint], cols section[queryCollection]) error {
	type resolved struct {
		ep    restEndpoint
		query string
	}
	var others []resolved
	for _, e := range eps {
		if !e.ok {
			continue
		}
		if q, reason := resolveEndpoint(e.val, cols); reason == "" {
			others = append(others, resolved{e.val, q})
		}
	}
	group := []resolved{{ep, query}}
	in := map[string]bool{ep.Name: true}
	for grew := true; grew; {
		grew = false
		for _, o := range others {
			if in[o.ep.Name] {
				continue
			}
			for _, g := range group {
				if endpointsOverlap(g.ep, o.ep) {
					group = append(group, o)
					in[o.ep.Name] = true
					grew = true
					break
				}
			}
		}
	}
	if len(group) == 1 {
		return nil
	}
	sort.Slice(group, func(i, j int) bool { return group[i].ep.Name < group[j].ep.Name })
	urls := make([]string, len(group))
	conflicts := make([]any, len(group))
	for i, g := range group {
		urls[i] = g.ep.URL
		conflicts[i] = map[string]any{
			"comment": g.ep.Comment, "definition": map[string]string{"query": g.query},
			"methods": g.ep.Methods, "name": g.ep.Name, "url": g.ep.URL,
		}
	}
	reason := "Ambiguous URL paths: " + strings.Join(urls, ", ")
	internal := []any{map[string]any{"reason": reason, "conflicts": conflicts}}
	var e *apierr.Error
	if group[0].ep.Name == ep.Name {
		e = badRequest(apierr.CodeInvalidConfig, "%s", reason)
	} else {
		e = badRequest(apierr.CodeUnexpected, "cannot continue due to new inconsistent metadata")
	}
	e.Internal = internal
	return e
}

func endpointsOverlap(a, b restEndpoint) bool {
	shared := false
	for _, m := range a.Methods {
		for _, n := range b.Methods {
			shared = shared || m == n
		}
	}
	if !shared {
		return false
	}
	as, bs := strings.Split(a.URL, "/"), strings.Split(b.URL, "/")
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		if as[i] != bs[i] && !strings.HasPrefix(as[i], ":") && !strings.HasPrefix(bs[i], ":") {
			return false
		}
	}
	return true
}

func dropRestEndpoint(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	name, err := o.name("name")
	if err != nil {
		return nil, err
	}
	eps, err := t.restEndpoints()
	if err != nil {
		return nil, err
	}
	byName := func(e *restEndpoint) bool { return e.Name == name }
	if eps.find(byName) < 0 {
		return nil, notExists("endpoint with name: %s does not exist", name)
	}
	if err := eps.removeIf(byName).store(&t.md.RestEndpoints); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}
