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
	"encoding/json"
	"fmt"

	"github.com/strata-dev/strata/engine/aeson"
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
