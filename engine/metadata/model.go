// Package metadata is the engine's model of Hasura metadata (the `version: 3`
// document that export_metadata returns and replace_metadata takes).
//
// Encoding follows Hasura's own serializer (metadataToOrdJSON): the objects
// it builds field by field keep that field order, empty lists and default
// values are left out, lists are sorted (sources by name, tables by
// schema then name, relationships by name, permissions by role), and every
// value it passes through aeson's plain encoder (filters, checks, `using`,
// table configuration, qualified names) comes out with its keys sorted,
// recursively. So Strata's export of a document Hasura exported is the same
// bytes, and export(replace(export(x))) is stable.
//
// Sections Strata does not act on yet (actions, remote schemas, cron
// triggers, ...) are kept verbatim: never dropped, never reordered.
package metadata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// CurrentVersion is the metadata format version Strata exports.
const CurrentVersion = 3

// Metadata is the whole document.
type Metadata struct {
	Sources []*Source

	// Sections kept verbatim until Strata models them, in Hasura's
	// top-level order.
	RemoteSchemas              json.RawMessage
	QueryCollections           json.RawMessage
	Allowlist                  json.RawMessage
	Actions                    json.RawMessage
	CustomTypes                json.RawMessage
	CronTriggers               json.RawMessage
	RestEndpoints              json.RawMessage
	APILimits                  json.RawMessage
	MetricsConfig              json.RawMessage
	InheritedRoles             json.RawMessage
	GraphQLSchemaIntrospection json.RawMessage
	Network                    json.RawMessage
	BackendConfigs             json.RawMessage
	OpenTelemetry              json.RawMessage
}

// rawSections pairs each verbatim section with its key, in export order.
func (m *Metadata) rawSections() []struct {
	key string
	val *json.RawMessage
} {
	return []struct {
		key string
		val *json.RawMessage
	}{
		{"remote_schemas", &m.RemoteSchemas},
		{"query_collections", &m.QueryCollections},
		{"allowlist", &m.Allowlist},
		{"actions", &m.Actions},
		{"custom_types", &m.CustomTypes},
		{"cron_triggers", &m.CronTriggers},
		{"rest_endpoints", &m.RestEndpoints},
		{"api_limits", &m.APILimits},
		{"metrics_config", &m.MetricsConfig},
		{"inherited_roles", &m.InheritedRoles},
		{"graphql_schema_introspection", &m.GraphQLSchemaIntrospection},
		{"network", &m.Network},
		{"backend_configs", &m.BackendConfigs},
		{"opentelemetry", &m.OpenTelemetry},
	}
}

// Source is one database and what is tracked in it.
type Source struct {
	Name      string
	Kind      string // "postgres"
	Tables    []*Table
	Functions []*Function
	// Configuration holds connection_info and friends, verbatim for now.
	Configuration json.RawMessage
	// Kept verbatim.
	NativeQueries    json.RawMessage
	StoredProcedures json.RawMessage
	LogicalModels    json.RawMessage
	QueryTags        json.RawMessage
	Customization    json.RawMessage
	HealthCheck      json.RawMessage
}

// QualifiedName is a schema-qualified table or function name. In input it
// may be a bare string (schema public) or {schema, name}.
type QualifiedName struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

func (q QualifiedName) String() string { return q.Schema + "." + q.Name }

// Less orders as Hasura does: by schema, then name.
func (q QualifiedName) Less(o QualifiedName) bool {
	if q.Schema != o.Schema {
		return q.Schema < o.Schema
	}
	return q.Name < o.Name
}

// UnmarshalJSON accepts "name" or {"schema": ..., "name": ...}.
func (q *QualifiedName) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*q = QualifiedName{Schema: "public", Name: s}
		return nil
	}
	var o struct {
		Schema *string `json:"schema"`
		Name   *string `json:"name"`
	}
	if err := json.Unmarshal(b, &o); err != nil || o.Name == nil {
		return fmt.Errorf("expected a name or an object with schema and name")
	}
	*q = QualifiedName{Schema: "public", Name: *o.Name}
	if o.Schema != nil {
		q.Schema = *o.Schema
	}
	return nil
}

// MarshalJSON writes {"name","schema"}: Hasura encodes it through aeson's
// plain object encoder, which sorts keys.
func (q QualifiedName) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"schema": q.Schema, "name": q.Name})
}

// Table is a tracked table or view.
type Table struct {
	Table               QualifiedName
	IsEnum              bool
	Configuration       json.RawMessage // custom_name, custom_root_fields, column_config: key-sorted
	ObjectRelationships []*Relationship
	ArrayRelationships  []*Relationship
	ComputedFields      []*ComputedField
	RemoteRelationships json.RawMessage
	InsertPermissions   []*Permission[InsertPermission]
	SelectPermissions   []*Permission[SelectPermission]
	UpdatePermissions   []*Permission[UpdatePermission]
	DeletePermissions   []*Permission[DeletePermission]
	EventTriggers       json.RawMessage
	ApolloFederation    json.RawMessage
	LogicalModel        json.RawMessage
}

// Relationship is an object or array relationship.
type Relationship struct {
	Name    string
	Using   json.RawMessage // foreign_key_constraint_on or manual_configuration
	Comment *string
}

// ComputedField is a function exposed as a field of a table.
type ComputedField struct {
	Name       string
	Definition json.RawMessage
	Comment    *string
}

// Permission is a role's permission of one kind, with its comment.
type Permission[P any] struct {
	Role       string
	Permission P
	Comment    *string
}

// InsertPermission is the `permission` of an insert permission.
type InsertPermission struct {
	Check         json.RawMessage // boolean expression
	Set           json.RawMessage // column presets
	Columns       json.RawMessage // list of columns or "*"
	BackendOnly   bool
	ValidateInput json.RawMessage
}

// SelectPermission is the `permission` of a select permission.
type SelectPermission struct {
	Columns                json.RawMessage // list of columns or "*"
	ComputedFields         []string
	Filter                 json.RawMessage
	Limit                  *int64
	AllowAggregations      bool
	QueryRootFields        []string // nil = all allowed
	SubscriptionRootFields []string // nil = all allowed
}

// UpdatePermission is the `permission` of an update permission.
type UpdatePermission struct {
	Columns       json.RawMessage
	Filter        json.RawMessage
	Check         json.RawMessage
	Set           json.RawMessage
	BackendOnly   bool
	ValidateInput json.RawMessage
}

// DeletePermission is the `permission` of a delete permission.
type DeletePermission struct {
	Filter        json.RawMessage
	BackendOnly   bool
	ValidateInput json.RawMessage
}

// Function is a tracked SQL function.
type Function struct {
	Function      QualifiedName
	Configuration json.RawMessage
	Permissions   json.RawMessage
	Comment       *string
}

// Empty is the metadata of a fresh engine.
func Empty() *Metadata { return &Metadata{} }

// Source returns the source with the given name.
func (m *Metadata) Source(name string) (*Source, bool) {
	for _, s := range m.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Table returns a tracked table of the source.
func (s *Source) Table(q QualifiedName) (*Table, bool) {
	for _, t := range s.Tables {
		if t.Table == q {
			return t, true
		}
	}
	return nil, false
}

// sortAll puts every list in Hasura's export order.
func (m *Metadata) sortAll() {
	sort.SliceStable(m.Sources, func(i, j int) bool { return m.Sources[i].Name < m.Sources[j].Name })
	for _, s := range m.Sources {
		sort.SliceStable(s.Tables, func(i, j int) bool { return s.Tables[i].Table.Less(s.Tables[j].Table) })
		sort.SliceStable(s.Functions, func(i, j int) bool { return s.Functions[i].Function.Less(s.Functions[j].Function) })
		for _, t := range s.Tables {
			byName := func(rs []*Relationship) {
				sort.SliceStable(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
			}
			byName(t.ObjectRelationships)
			byName(t.ArrayRelationships)
			sort.SliceStable(t.ComputedFields, func(i, j int) bool { return t.ComputedFields[i].Name < t.ComputedFields[j].Name })
			sortByRole(t.InsertPermissions)
			sortByRole(t.SelectPermissions)
			sortByRole(t.UpdatePermissions)
			sortByRole(t.DeletePermissions)
		}
	}
}

func sortByRole[P any](ps []*Permission[P]) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Role < ps[j].Role })
}

// String is a short description for logs.
func (m *Metadata) String() string {
	n := 0
	for _, s := range m.Sources {
		n += len(s.Tables)
	}
	names := make([]string, len(m.Sources))
	for i, s := range m.Sources {
		names[i] = s.Name
	}
	return fmt.Sprintf("metadata{sources: [%s], tables: %d}", strings.Join(names, ","), n)
}

// isEmptyJSON reports whether a raw value is absent, null, {} or [].
func isEmptyJSON(b json.RawMessage) bool {
	t := bytes.TrimSpace(b)
	switch string(t) {
	case "", "null", "{}", "[]":
		return true
	}
	return false
}
