package api

// Query collections, the allowlist, REST endpoints and inherited roles.
//
// The model keeps these sections verbatim (json.RawMessage). An operation
// loads the section it needs as a list of entries, changes the entries it
// must and stores the list back: untouched entries keep their exact bytes,
// new or changed ones are encoded from the small typed views below, whose
// field order is Hasura's export order. Lists keep insertion order; an
// emptied section is stored as nil so the export leaves it out.
//
// Errors and messages follow Hasura v2 (Hasura.RQL.DDL.QueryCollection,
// .Endpoint, .InheritedRoles and the schema cache's endpoint checks).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/strata-dev/strata/engine/aeson"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/strata-dev/strata/engine/apierr"
	"github.com/strata-dev/strata/engine/schemacache"
)

// ---- typed views of the sections ----

// queryCollection is an entry of query_collections.
type queryCollection struct {
	Name       string        `json:"name"`
	Definition collectionDef `json:"definition"`
	Comment    *string       `json:"comment,omitempty"`
}

// collectionDef keeps its queries verbatim: only their names are read.
type collectionDef struct {
	Queries []json.RawMessage `json:"queries"`
}

// listedQuery is one query of a collection.
type listedQuery struct {
	Name  string `json:"name"`
	Query string `json:"query"`
}

// allowlistEntry is an entry of allowlist.
type allowlistEntry struct {
	Collection string         `json:"collection"`
	Scope      allowlistScope `json:"scope"`
}

type allowlistScope struct {
	Global bool     `json:"global"`
	Roles  []string `json:"roles,omitempty"`
}

// restEndpoint is an entry of rest_endpoints, in Hasura's (key-sorted)
// export form: comment is written, null when absent.
type restEndpoint struct {
	Comment    *string     `json:"comment"`
	Definition endpointDef `json:"definition"`
	Methods    []string    `json:"methods"`
	Name       string      `json:"name"`
	URL        string      `json:"url"`
}

type endpointDef struct {
	Query queryRef `json:"query"`
}

type queryRef struct {
	CollectionName string `json:"collection_name"`
	QueryName      string `json:"query_name"`
}

// inheritedRole is an entry of inherited_roles.
type inheritedRole struct {
	RoleName string   `json:"role_name"`
	RoleSet  []string `json:"role_set"`
}

// ---- sections ----

// entry is one element of a section: its stored bytes and its decoded view.
type entry[T any] struct {
	raw json.RawMessage // as stored; nil once val is new or changed
	val T
	ok  bool // val holds the decoded entry (undecodable ones never match)
}

type section[T any] []*entry[T]

// loadSection decodes a verbatim section. An absent, null or empty one is
// an empty list.
func loadSection[T any](raw json.RawMessage, key string) (section[T], error) {
	t := bytes.TrimSpace(raw)
	switch string(t) {
	case "", "null", "[]", "{}":
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(t, &items); err != nil {
		return nil, fmt.Errorf("metadata section %s is not an array: %w", key, err)
	}
	s := make(section[T], 0, len(items))
	for _, it := range items {
		e := &entry[T]{raw: it}
		e.ok = json.Unmarshal(it, &e.val) == nil
		s = append(s, e)
	}
	return s, nil
}

// find returns the index of the first decoded entry that matches, or -1.
func (s section[T]) find(match func(*T) bool) int {
	for i, e := range s {
		if e.ok && match(&e.val) {
			return i
		}
	}
	return -1
}

func (s section[T]) add(v T) section[T] { return append(s, &entry[T]{val: v, ok: true}) }

// removeIf drops every decoded entry that matches.
func (s section[T]) removeIf(match func(*T) bool) section[T] {
	out := s[:0]
	for _, e := range s {
		if !(e.ok && match(&e.val)) {
			out = append(out, e)
		}
	}
	return out
}

// store writes the section back into its model field.
func (s section[T]) store(dst *json.RawMessage) error {
	if len(s) == 0 {
		*dst = nil
		return nil
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, e := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		if e.raw != nil {
			b.Write(e.raw)
			continue
		}
		v, err := aeson.Marshal(e.val)
		if err != nil {
			return err
		}
		b.Write(v)
	}
	b.WriteByte(']')
	*dst = b.Bytes()
	return nil
}

func (t *txn) collections() (section[queryCollection], error) {
	return loadSection[queryCollection](t.md.QueryCollections, "query_collections")
}

func (t *txn) allowlist() (section[allowlistEntry], error) {
	return loadSection[allowlistEntry](t.md.Allowlist, "allowlist")
}

func (t *txn) restEndpoints() (section[restEndpoint], error) {
	return loadSection[restEndpoint](t.md.RestEndpoints, "rest_endpoints")
}

func (t *txn) inheritedRoles() (section[inheritedRole], error) {
	return loadSection[inheritedRole](t.md.InheritedRoles, "inherited_roles")
}

func byCollectionName(name string) func(*queryCollection) bool {
	return func(c *queryCollection) bool { return c.Name == name }
}

func inAllowlist(name string) func(*allowlistEntry) bool {
	return func(a *allowlistEntry) bool { return a.Collection == name }
}

// queryNameOf reads the name of a verbatim listed query ("" if it has none).
func queryNameOf(raw json.RawMessage) string {
	var q struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(raw, &q)
	return q.Name
}

// findQuery returns a collection's query by name.
func (c *queryCollection) findQuery(name string) (listedQuery, bool) {
	for _, raw := range c.Definition.Queries {
		var q listedQuery
		if json.Unmarshal(raw, &q) == nil && q.Name == name {
			return q, true
		}
	}
	return listedQuery{}, false
}

// ---- argument parsing, with aeson-like errors at JSON paths ----

type jobj struct {
	m    map[string]json.RawMessage
	path string
}

func parseFailed(path, format string, args ...any) *apierr.Error {
	return apierr.BadRequest(apierr.CodeParseFailed, format, args...).WithPath(path)
}

func argsObject(args json.RawMessage) (jobj, error) {
	var m map[string]json.RawMessage
	if err := decodeArgs(args, &m); err != nil {
		return jobj{}, err
	}
	return jobj{m, "$.args"}, nil
}

func asObject(raw json.RawMessage, path string) (jobj, error) {
	var m map[string]json.RawMessage
	if aeson.Kind(raw) != "Object" || json.Unmarshal(raw, &m) != nil {
		return jobj{}, parseFailed(path, "parsing Object failed, expected Object, but encountered %s", aeson.Kind(raw))
	}
	return jobj{m, path}, nil
}

func (o jobj) at(key string) string { return o.path + "." + key }

func (o jobj) require(key string) (json.RawMessage, error) {
	v, ok := o.m[key]
	if !ok {
		return nil, parseFailed(o.path, "key %q not found", key)
	}
	return v, nil
}

func (o jobj) present(key string) bool {
	v, ok := o.m[key]
	return ok && !isNull(v)
}

// name is a required non-empty string: Hasura's names are NonEmptyText.
func (o jobj) name(key string) (string, error) {
	v, err := o.require(key)
	if err != nil {
		return "", err
	}
	return nonEmptyText(v, o.at(key))
}

func nonEmptyText(v json.RawMessage, path string) (string, error) {
	var s string
	if aeson.Kind(v) != "String" || json.Unmarshal(v, &s) != nil {
		return "", parseFailed(path, "parsing Text failed, expected String, but encountered %s", aeson.Kind(v))
	}
	if s == "" {
		return "", parseFailed(path, "empty string not allowed")
	}
	return s, nil
}

// optText is an optional string; absent and null are nil.
func (o jobj) optText(key string) (*string, error) {
	if !o.present(key) {
		return nil, nil
	}
	v := o.m[key]
	var s string
	if aeson.Kind(v) != "String" || json.Unmarshal(v, &s) != nil {
		return nil, parseFailed(o.at(key), "parsing Text failed, expected String, but encountered %s", aeson.Kind(v))
	}
	return &s, nil
}

func (o jobj) boolean(key string) (bool, error) {
	v, err := o.require(key)
	if err != nil {
		return false, err
	}
	var b bool
	if aeson.Kind(v) != "Boolean" || json.Unmarshal(v, &b) != nil {
		return false, parseFailed(o.at(key), "parsing Bool failed, expected Boolean, but encountered %s", aeson.Kind(v))
	}
	return b, nil
}

func (o jobj) object(key string) (jobj, error) {
	v, err := o.require(key)
	if err != nil {
		return jobj{}, err
	}
	return asObject(v, o.at(key))
}

func (o jobj) array(key string) ([]json.RawMessage, error) {
	v, err := o.require(key)
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if aeson.Kind(v) != "Array" || json.Unmarshal(v, &items) != nil {
		return nil, parseFailed(o.at(key), "parsing [] failed, expected Array, but encountered %s", aeson.Kind(v))
	}
	return items, nil
}

// names is a required list of names; nonEmpty makes it Hasura's NonEmpty.
func (o jobj) names(key string, nonEmpty bool) ([]string, error) {
	items, err := o.array(key)
	if err != nil {
		return nil, err
	}
	if nonEmpty && len(items) == 0 {
		return nil, parseFailed(o.at(key), "parsing NonEmpty failed, unexpected empty list")
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, err := nonEmptyText(it, fmt.Sprintf("%s[%d]", o.at(key), i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// gqlQuery is a GraphQL query given as a string, which must parse as an
// executable document.
func (o jobj) gqlQuery(key string) (string, error) {
	v, err := o.require(key)
	if err != nil {
		return "", err
	}
	var s string
	if aeson.Kind(v) != "String" || json.Unmarshal(v, &s) != nil {
		return "", parseFailed(o.at(key), "expecting String for GraphQL query")
	}
	if _, err := parser.ParseQuery(&ast.Source{Input: s}); err != nil {
		msg := err.Error()
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			msg = ge.Message
		}
		return "", parseFailed(o.at(key), "not a valid graphql query: %s", msg)
	}
	return s, nil
}

func dquoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	return strings.Join(q, ", ")
}

// ---- query collections ----

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

// ---- allowlist ----

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

// ---- REST endpoints ----

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

// ---- inherited roles ----

func addInheritedRole(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	name, err := o.name("role_name")
	if err != nil {
		return nil, err
	}
	set, err := o.names("role_set", false)
	if err != nil {
		return nil, err
	}
	// role_set is a set: duplicates collapse.
	roles := make([]string, 0, len(set))
	seen := map[string]bool{}
	for _, r := range set {
		if !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	if seen[name] {
		return nil, badRequest(apierr.CodeInvalidParams, "an inherited role name cannot be in the role combination")
	}
	irs, err := t.inheritedRoles()
	if err != nil {
		return nil, err
	}
	role := inheritedRole{RoleName: name, RoleSet: roles}
	// Hasura inserts into an ordered map: a role of the same name is
	// replaced where it stands.
	if i := irs.find(func(r *inheritedRole) bool { return r.RoleName == name }); i >= 0 {
		irs[i] = &entry[inheritedRole]{val: role, ok: true}
	} else {
		irs = irs.add(role)
	}
	if err := irs.store(&t.md.InheritedRoles); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}

func dropInheritedRole(_ context.Context, t *txn, req *request) (any, error) {
	o, err := argsObject(req.Args)
	if err != nil {
		return nil, err
	}
	name, err := o.name("role_name")
	if err != nil {
		return nil, err
	}
	irs, err := t.inheritedRoles()
	if err != nil {
		return nil, err
	}
	byName := func(r *inheritedRole) bool { return r.RoleName == name }
	if irs.find(byName) < 0 {
		return nil, notExists("\"%s\" inherited role doesn't exist", name)
	}
	if err := irs.removeIf(byName).store(&t.md.InheritedRoles); err != nil {
		return nil, err
	}
	t.changed = true
	return success, nil
}
